#!/usr/bin/python3
"""Training-step benchmark of the Hugging Face formulation of XLM-R, the reference that
`ordertune bench train` is measured against (tests/bench/train_bench.sh runs both).

The model is a compact, faithful copy of transformers' eager XLMRobertaForTokenClassification
(modeling_xlm_roberta.py, as of transformers 4.4x), in plain torch.nn because transformers is not
installed here: separate query/key/value Linear layers, explicit attention with HF's additive
mask ((1 - mask) * finfo.min), dropout on the attention probabilities and after every sublayer,
exact (erf) GELU, post-LN, dropout + Linear token-classification head, CrossEntropyLoss.
One step = forward + backward + clip_grad_norm_(1.0) + torch.optim.AdamW with the param groups
of HF's Trainer (no weight decay on biases and LayerNorm weights) + zero_grad(set_to_none=True).

Prints ONE JSON line with the same keys as `ordertune bench train --json`:
FLOPs per token = 6 * N_matmul + 12 * L * T * H (PaLM, Chowdhery et al. 2022, appendix B),
N_matmul = the weights of the encoder's Linear layers plus the classifier's weight.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, a):
        self.vocab_size = a.vocab
        self.hidden_size = a.hidden
        self.num_hidden_layers = a.layers
        self.num_attention_heads = a.heads
        self.intermediate_size = a.ffn
        self.max_position_embeddings = a.seq + 2
        self.type_vocab_size = 1
        self.layer_norm_eps = 1e-5
        self.hidden_dropout_prob = 0.1
        self.attention_probs_dropout_prob = 0.1
        self.pad_token_id = 1
        self.initializer_range = 0.02


class XLMRobertaEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size,
                                                padding_idx=c.pad_token_id)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.padding_idx = c.pad_token_id

    def forward(self, input_ids):
        # create_position_ids_from_input_ids
        mask = input_ids.ne(self.padding_idx).int()
        position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx
        token_type_ids = torch.zeros_like(input_ids)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class XLMRobertaSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_attention_heads = c.num_attention_heads
        self.attention_head_size = c.hidden_size // c.num_attention_heads
        self.all_head_size = c.hidden_size
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.attention_probs_dropout_prob)

    def transpose_for_scores(self, x):
        x = x.view(x.size()[:-1] + (self.num_attention_heads, self.attention_head_size))
        return x.permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        query_layer = self.transpose_for_scores(self.query(hidden_states))
        key_layer = self.transpose_for_scores(self.key(hidden_states))
        value_layer = self.transpose_for_scores(self.value(hidden_states))
        attention_scores = torch.matmul(query_layer, key_layer.transpose(-1, -2))
        attention_scores = attention_scores / math.sqrt(self.attention_head_size)
        attention_scores = attention_scores + attention_mask
        attention_probs = nn.functional.softmax(attention_scores, dim=-1)
        attention_probs = self.dropout(attention_probs)
        context_layer = torch.matmul(attention_probs, value_layer)
        context_layer = context_layer.permute(0, 2, 1, 3).contiguous()
        return context_layer.view(context_layer.size()[:-2] + (self.all_head_size,))


class XLMRobertaSelfOutput(nn.Module):  # also XLMRobertaOutput with (intermediate, hidden)
    def __init__(self, c, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, hidden_states, input_tensor):
        hidden_states = self.dropout(self.dense(hidden_states))
        return self.LayerNorm(hidden_states + input_tensor)


class XLMRobertaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = XLMRobertaSelfAttention(c)
        self.output = XLMRobertaSelfOutput(c, c.hidden_size)

    def forward(self, hidden_states, attention_mask):
        return self.output(self.self(hidden_states, attention_mask), hidden_states)


class XLMRobertaIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, hidden_states):
        return F.gelu(self.dense(hidden_states))  # ACT2FN["gelu"]: exact erf GELU


class XLMRobertaLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = XLMRobertaAttention(c)
        self.intermediate = XLMRobertaIntermediate(c)
        self.output = XLMRobertaSelfOutput(c, c.intermediate_size)

    def forward(self, hidden_states, attention_mask):
        attention_output = self.attention(hidden_states, attention_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class XLMRobertaEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([XLMRobertaLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, hidden_states, attention_mask):
        for layer_module in self.layer:
            hidden_states = layer_module(hidden_states, attention_mask)
        return hidden_states


class XLMRobertaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = XLMRobertaEmbeddings(c)
        self.encoder = XLMRobertaEncoder(c)

    def forward(self, input_ids, attention_mask):
        # get_extended_attention_mask
        extended = attention_mask[:, None, None, :].to(torch.float32)
        extended = (1.0 - extended) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(input_ids), extended)


class XLMRobertaForTokenClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.num_labels = num_labels
        self.roberta = XLMRobertaModel(c)  # add_pooling_layer=False
        self.dropout = nn.Dropout(c.hidden_dropout_prob)
        self.classifier = nn.Linear(c.hidden_size, num_labels)
        for m in self.modules():  # _init_weights
            if isinstance(m, nn.Linear):
                m.weight.data.normal_(0.0, c.initializer_range)
                m.bias.data.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.data.normal_(0.0, c.initializer_range)
                if m.padding_idx is not None:
                    m.weight.data[m.padding_idx].zero_()

    def forward(self, input_ids, attention_mask, labels):
        sequence_output = self.dropout(self.roberta(input_ids, attention_mask))
        logits = self.classifier(sequence_output)
        return nn.CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--labels", type=int, default=8)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", action="store_true", help="print the autograd profile to stderr")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    c = Config(a)
    model = XLMRobertaForTokenClassification(c, a.labels)
    model.train()
    # HF Trainer.get_decay_parameter_names: everything but biases and LayerNorm weights decays.
    decay = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            if not isinstance(module, nn.LayerNorm) and "bias" not in full:
                decay.add(full)
    params = dict(model.named_parameters())
    groups = [
        {"params": [params[n] for n in params if n in decay], "weight_decay": 0.01},
        {"params": [params[n] for n in params if n not in decay], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=1e-5, betas=(0.9, 0.999), eps=1e-8)

    # Random ids without padding (ids >= 3 skip <s>, <pad>, </s>), random labels.
    ids = torch.randint(3, a.vocab, (a.batch, a.seq), dtype=torch.int64)
    mask = torch.ones(a.batch, a.seq, dtype=torch.int64)
    labels = torch.randint(0, a.labels, (a.batch, a.seq), dtype=torch.int64)

    def step():
        loss = model(ids, mask, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    for _ in range(a.warmup):
        step()
    times, cpu_times, faults = [], [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        loss = step()
        cpu_times.append(time.process_time() - c0)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
        times.append(time.perf_counter() - t0)
    if a.profile:
        with torch.autograd.profiler.profile() as prof:
            step()
        import sys
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40), file=sys.stderr)

    H, L, T, B = a.hidden, a.layers, a.seq, a.batch
    n_matmul = L * (4 * H * H + 2 * H * a.ffn) + H * a.labels
    flops_per_token = 6 * n_matmul + 12 * L * T * H
    step_s = statistics.median(times)
    gflops = flops_per_token * B * T / 1e9
    print(json.dumps({
        "impl": "pytorch-hf-eager",
        "torch": torch.__version__,
        "device": "cpu",
        "dtype": "fp32",
        "threads": torch.get_num_threads(),
        "layers": L, "hidden": H, "heads": a.heads, "ffn": a.ffn, "vocab": a.vocab,
        "seq": T, "batch": B, "labels": a.labels, "steps": a.steps, "warmup": a.warmup,
        "params": sum(p.numel() for p in model.parameters()),
        "n_matmul": n_matmul,
        "flops_per_token": flops_per_token,
        "step_ms": step_s * 1e3,
        "step_ms_min": min(times) * 1e3,
        "step_cpu_ms": statistics.median(cpu_times) * 1e3,
        "page_faults_per_step": statistics.median(faults),
        "tokens_per_s": B * T / step_s,
        "gflops_per_step": gflops,
        "gflop_s": gflops / step_s,
        "mfu": None,
        "loss": float(loss),
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()

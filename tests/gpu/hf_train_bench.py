"""Training-step benchmark of Hugging Face transformers' XLMRobertaForTokenClassification on a
GPU, the reference that `ordertune bench train --device cuda --dtype bf16` is measured against
(tests/gpu/smoke.sh runs both at the same shape).

It mirrors what `bench train` times (src/apps/commands/bench.cpp, run_train_bench): a
token-classification model of the given shape, randomly initialised, fp32 weights, train mode
(dropout 0.1 on hidden states and attention probabilities, as XLM-R's config and ordertune's
defaults); random ids in [3, vocab) (no <s>, <pad>, </s>: no padding) and random labels, the
same batch every step. One step = forward under bf16 autocast (--dtype bf16) + cross-entropy on
the logits as float32 + backward + gradient norm clipped to 1.0 + AdamW (lr 1e-5, betas
0.9/0.999, eps 1e-8, weight decay 0.01 except on biases and LayerNorm weights, as HF's Trainer;
torch.optim.AdamW(fused=True)) + zero_grad(set_to_none=True). Attention is SDPA
(attn_implementation="sdpa"); the attention mask is all ones, as a tokenizer gives for unpadded
rows (transformers then drops it and SDPA may take its flash kernel). `--warmup` untimed steps,
then `--steps` timed ones, each ended by loss.item() and torch.cuda.synchronize(); the median
counts.

Prints ONE JSON line with the keys of `ordertune bench train --json` that apply: tokens_per_s,
step_ms, flops_per_token (6 N_matmul + 12 L T H, N_matmul = the Linear weights of the encoder and
the classifier's weight), gflop_s, mfu (against --peak-tflops, default 989 = H100/H200 SXM dense
bf16), peak_cuda_mb, loss.
Cost: XLM-R large at B=32, T=256 needs ~40 GB of GPU memory and well under a minute.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("layers", 4), ("hidden", 256), ("heads", 4), ("ffn", 1024),
                          ("vocab", 8000), ("seq", 128), ("batch", 16), ("labels", 8),
                          ("steps", 8), ("warmup", 2), ("seed", 0)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--device", default="cuda")
    p.add_argument("--dtype", choices=("fp32", "bf16"), default="bf16")
    p.add_argument("--peak-tflops", type=float, default=0.0)
    a = p.parse_args()

    from transformers import XLMRobertaConfig, XLMRobertaForTokenClassification

    device = torch.device(a.device)
    torch.manual_seed(a.seed)
    config = XLMRobertaConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                              num_attention_heads=a.heads, intermediate_size=a.ffn,
                              max_position_embeddings=a.seq + 2, type_vocab_size=1,
                              layer_norm_eps=1e-5, pad_token_id=1, num_labels=a.labels,
                              hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    config._attn_implementation = "sdpa"
    model = XLMRobertaForTokenClassification(config).to(device)
    model.train()
    assert model.config._attn_implementation == "sdpa", model.config._attn_implementation

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
    fused = device.type == "cuda"
    optimizer = torch.optim.AdamW(groups, lr=1e-5, betas=(0.9, 0.999), eps=1e-8, fused=fused)

    ids = torch.randint(3, a.vocab, (a.batch, a.seq), dtype=torch.int64, device=device)
    mask = torch.ones(a.batch, a.seq, dtype=torch.int64, device=device)
    labels = torch.randint(0, a.labels, (a.batch * a.seq,), dtype=torch.int64, device=device)
    bf16 = a.dtype == "bf16"

    def step():
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=ids, attention_mask=mask).logits
        loss = nn.functional.cross_entropy(logits.view(-1, a.labels).float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    sync()
    times = []
    loss = 0.0
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step().item()
        sync()
        times.append(time.perf_counter() - t0)

    H, L, T, B = a.hidden, a.layers, a.seq, a.batch
    n_matmul = L * (4 * H * H + 2 * H * a.ffn) + H * a.labels
    flops_per_token = 6 * n_matmul + 12 * L * T * H
    step_s = statistics.median(times)
    gflops = flops_per_token * B * T / 1e9
    peak = a.peak_tflops or (989.0 if bf16 else 67.0)
    import transformers
    print(json.dumps({
        "impl": "transformers-sdpa",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": str(device),
        "dtype": a.dtype,
        "layers": L, "hidden": H, "heads": a.heads, "ffn": a.ffn, "vocab": a.vocab,
        "seq": T, "batch": B, "labels": a.labels, "steps": a.steps, "warmup": a.warmup,
        "params": sum(p.numel() for p in model.parameters()),
        "n_matmul": n_matmul,
        "flops_per_token": flops_per_token,
        "step_ms": step_s * 1e3,
        "step_ms_min": min(times) * 1e3,
        "tokens_per_s": B * T / step_s,
        "gflops_per_step": gflops,
        "gflop_s": gflops / step_s,
        "peak_tflops": peak if device.type == "cuda" else None,
        "mfu": gflops / step_s / (peak * 1e3) if device.type == "cuda" else None,
        "peak_cuda_mb": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "loss": loss,
    }))


if __name__ == "__main__":
    main()

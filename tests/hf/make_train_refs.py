"""Training references from transformers + torch.optim (issue 14, section 4; llm.c's check that a
training loop is the one the paper used).

Ten optimizer steps of the Hugging Face recipe on fixed batches, from the initial weights of a
small random XLM-R with dropout off (hidden_dropout_prob = attention_probs_dropout_prob = 0, and
the heads' dropout follows hidden_dropout_prob):

  model         XLMRobertaForSequenceClassification (3 labels) or XLMRobertaForQuestionAnswering,
                float32, attn_implementation="eager", its own loss (labels / start_positions and
                end_positions): the mean cross-entropy of a micro-batch, for QA the mean of the
                start and end cross-entropies
  accumulation  2 micro-batches of 4 items per step, each loss divided by 2 before backward
                (Trainer's recipe; with equal micro-batches it equals ordertune's sum over the
                step's items divided by their number)
  clipping      torch.nn.utils.clip_grad_norm_(max_grad_norm); the norm it returns (before
                clipping) is recorded
  optimizer     torch.optim.AdamW(betas (0.9, 0.999), eps 1e-8, single-tensor path), weight decay
                on Trainer.get_decay_parameter_names (not on biases and LayerNorm weights)
  schedule      get_linear_schedule_with_warmup(warmup = round(warmup_fraction * steps), steps)

The data: 8 items of distinct lengths, so that ordertune's length-bucketed batching forms the same
two micro-batches every step (the 4 shortest and the 4 longest, each sorted by length); the order
of the two within a step changes nothing, as two gradients or losses add commutatively.

Written per case into DIR/<case>/: init/ (the checkpoint, save_pretrained, F32), data.json (the
items and the settings) and expected.safetensors (loss, grad_norm and learning_rate per step in
float64, and every parameter after the last step as "final.<name>").

  --write DIR   the committed set (tests/data/hf/train), read by tests/engine/hf_train.test.cpp
  --check       the `hf` CTest label: regenerates into a temporary folder and compares with the
                committed set (weights, curves and final parameters; the loop run with SDPA
                attention is compared too, as a measure of how float32 rounding alone moves the
                results), then runs the engine tests "[hf][train]" on the regenerated set
                (ORDERTUNE_HF_TRAIN_REFS).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_model_common as hc  # noqa: E402

CHECK = "train"

SHAPE = dict(vocab_size=48, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=48, max_position_embeddings=24, layer_norm_eps=1e-5,
             type_vocab_size=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)

SETTINGS = dict(lr=1e-3, batch_size=4, grad_accum=2, max_steps=10, warmup_fraction=0.2,
                weight_decay=0.01)

# max_grad_norm lies inside the range of each case's gradient norms, so that some steps are
# clipped and others not.
CASES = {
    "cls": dict(class_name="XLMRobertaForSequenceClassification", num_labels=3, seed=21,
                max_grad_norm=0.7),
    "qa": dict(class_name="XLMRobertaForQuestionAnswering", num_labels=2, seed=22,
               max_grad_norm=1.58),
}


def zero_gradient_parameters(case, layers):
    """Parameters whose gradient is zero analytically, so that what Adam does with them is
    normalised float32 rounding noise, different in any two implementations: every attention
    key bias (softmax ignores a constant added to all scores of a query), and for QA the
    qa_outputs bias and the last layer's output LayerNorm bias (the span cross-entropy ignores a
    constant added to every position's start or end logit, which is what they add)."""
    names = [f"roberta.encoder.layer.{i}.attention.self.key.bias" for i in range(layers)]
    if case == "qa":
        names += ["qa_outputs.bias", f"roberta.encoder.layer.{layers - 1}.output.LayerNorm.bias"]
    return names

# Tolerances, float32 throughout: relative for losses, gradient norms and weights (per tensor,
# max |difference| / max |value|); the parameters with a zero gradient are bounded apart.
TOLERANCES = dict(loss=1e-5, grad_norm=1e-5, learning_rate=1e-12, weights=1e-5)


def noise_bound(learning_rates):
    """How far apart two runs can put a parameter whose gradient is pure noise: Adam moves it by
    lr * |m_hat| / (sqrt(v_hat) + eps) per update, and that ratio is 1 at the first update and
    about 1 or less afterwards (up to 2 for gradients that flip sign every step), so each run
    moves it by at most 2 * sum(lr) and two runs differ by at most 4 * sum(lr). It shows that
    these parameters got only noise-driven updates, not that they agree."""
    return 4 * float(sum(learning_rates))


def make_data(case, generator):
    """8 items with distinct lengths: token rows and targets (a label, or start and end)."""
    lengths = sorted(torch.randperm(16, generator=generator)[:8].add(5).tolist())
    order = torch.randperm(8, generator=generator).tolist()  # items not stored by length
    items = []
    for i in order:
        n = lengths[i]
        body = torch.randint(4, SHAPE["vocab_size"], (n - 2,), generator=generator).tolist()
        item = {"input_ids": [0] + body + [2]}
        if case == "cls":
            item["label"] = int(torch.randint(0, 3, (1,), generator=generator))
        else:
            start = int(torch.randint(1, n - 1, (1,), generator=generator))
            end = min(n - 2, start + int(torch.randint(0, 3, (1,), generator=generator)))
            item["start"], item["end"] = (0, 0) if i == 0 else (start, end)  # one "no answer"
        items.append(item)
    return items


def micro_batches(items, batch_size):
    """The two micro-batches every step: items by length, cut into batch_size."""
    order = sorted(range(len(items)), key=lambda i: len(items[i]["input_ids"]))
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


def tensors_of(items, which):
    width = max(len(items[i]["input_ids"]) for i in which)
    ids = torch.ones(len(which), width, dtype=torch.int64)
    mask = torch.zeros(len(which), width, dtype=torch.int64)
    for r, i in enumerate(which):
        row = items[i]["input_ids"]
        ids[r, :len(row)] = torch.tensor(row)
        mask[r, :len(row)] = 1
    return ids, mask


def train(case, init_dir, items, settings, attn="eager"):
    """The reference loop; returns the per-step curves and the final parameters."""
    import transformers
    from transformers import Trainer, get_linear_schedule_with_warmup

    model = getattr(transformers, CASES[case]["class_name"]).from_pretrained(
        init_dir, dtype=torch.float32, attn_implementation=attn)
    model.train()
    decay = set(Trainer.get_decay_parameter_names(None, model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if n in decay], "weight_decay": settings["weight_decay"]},
         {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}],
        lr=settings["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=False)
    steps = settings["max_steps"]
    warmup = round(settings["warmup_fraction"] * steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, steps)
    accum = settings["grad_accum"]
    batches = micro_batches(items, settings["batch_size"])
    assert len(batches) == accum, "every step sees the whole split"
    losses, norms, lrs = [], [], []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr()[0])
        step_loss = 0.0
        for which in batches:
            ids, mask = tensors_of(items, which)
            if case == "cls":
                labels = torch.tensor([items[i]["label"] for i in which])
                out = model(input_ids=ids, attention_mask=mask, labels=labels)
            else:
                out = model(input_ids=ids, attention_mask=mask,
                            start_positions=torch.tensor([items[i]["start"] for i in which]),
                            end_positions=torch.tensor([items[i]["end"] for i in which]))
            (out.loss / accum).backward()
            step_loss += out.loss.item() / accum
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                    settings["max_grad_norm"]).item())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(step_loss)
    out = {"loss": torch.tensor(losses, dtype=torch.float64),
           "grad_norm": torch.tensor(norms, dtype=torch.float64),
           "learning_rate": torch.tensor(lrs, dtype=torch.float64)}
    out.update({f"final.{n}": p.detach().clone() for n, p in named})
    return out


def write_case(case, root):
    import transformers

    spec = CASES[case]
    g = torch.Generator().manual_seed(spec["seed"])
    config = transformers.XLMRobertaConfig(num_labels=spec["num_labels"], **SHAPE)
    model = getattr(transformers, spec["class_name"])(config)
    hc.randomize(model, g, std=0.05)
    d = os.path.join(root, case)
    model.save_pretrained(os.path.join(d, "init"))
    items = make_data(case, g)
    settings = dict(SETTINGS, max_grad_norm=spec["max_grad_norm"])
    hc.write_json(os.path.join(d, "data.json"),
                  {"task": "classification" if case == "cls" else "extractive_qa",
                   "labels": ["0", "1", "2"] if case == "cls" else [], "settings": settings,
                   "items": items, "versions": hc.versions(),
                   "zero_gradient": zero_gradient_parameters(case, SHAPE["num_hidden_layers"])})
    hc.save_tensors(os.path.join(d, "expected.safetensors"),
                    train(case, os.path.join(d, "init"), items, settings))


def relative_weights(a, b, names):
    """Worst over tensors of max |a - b| / max |b| (the tensor's scale)."""
    return max(hc.worst_abs(a[n], b[n]) / b[n].abs().max().item() for n in names)


def compare(case, got, want, what, zero_gradient):
    ok = True
    for key in ("loss", "grad_norm"):
        worst = ((got[key] - want[key]).abs() / want[key].abs()).max().item()
        ok &= hc.report(CHECK, f"{case} {key} per step ({what}, relative)", worst, TOLERANCES[key])
    worst = hc.worst_abs(got["learning_rate"], want["learning_rate"])
    ok &= hc.report(CHECK, f"{case} learning rate per step ({what})", worst,
                    TOLERANCES["learning_rate"])
    weights = [k for k in want if k.startswith("final.")]
    noise = ["final." + n for n in zero_gradient]
    others = [k for k in weights if k not in noise]
    ok &= hc.report(CHECK, f"{case} weights after the last step ({what}, relative)",
                    relative_weights(got, want, others), TOLERANCES["weights"])
    ok &= hc.report(CHECK, f"{case} zero-gradient parameters ({what}, absolute)",
                    max(hc.worst_abs(got[k], want[k]) for k in noise),
                    noise_bound(want["learning_rate"].tolist()))
    return ok


def check(committed, engine_tests):
    hc.quiet_transformers()
    ok = True
    with tempfile.TemporaryDirectory(prefix="ordertune-hf-train-") as tmp:
        for case in CASES:
            write_case(case, tmp)
            new = os.path.join(tmp, case)
            old = os.path.join(committed, case)
            a = hc.load_tensors(os.path.join(new, "init", "model.safetensors"))
            b = hc.load_tensors(os.path.join(old, "init", "model.safetensors"))
            worst = max(hc.worst_abs(a[k], b[k]) for k in b) if sorted(a) == sorted(b) else 1e9
            ok &= hc.report(CHECK, f"{case} regenerated initial weights", worst, 0.0)
            same_data = hc.read_json(os.path.join(new, "data.json"))["items"] == \
                hc.read_json(os.path.join(old, "data.json"))["items"]
            ok &= hc.report(CHECK, f"{case} regenerated data", 0.0 if same_data else 1.0, 0.0)
            want = hc.load_tensors(os.path.join(old, "expected.safetensors"))
            data = hc.read_json(os.path.join(old, "data.json"))
            ok &= compare(case, hc.load_tensors(os.path.join(new, "expected.safetensors")), want,
                          "regenerated", data["zero_gradient"])
            ok &= compare(case, train(case, os.path.join(old, "init"), data["items"],
                                      data["settings"], "sdpa"),
                          want, "transformers sdpa vs eager", data["zero_gradient"])
        if engine_tests:
            env = dict(os.environ, ORDERTUNE_HF_TRAIN_REFS=tmp)
            command = [engine_tests, "[hf][train]"]
            print(f"hf:{CHECK} running {' '.join(command)}", flush=True)
            rc = subprocess.run(command, env=env).returncode
            print(f"hf:{CHECK} engine tests exit status {rc}")
            ok &= rc == 0
    print(f"hf:{CHECK} {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--write", metavar="DIR", help="write the committed set into DIR")
    p.add_argument("--check", action="store_true", help="compare (the hf CTest label)")
    p.add_argument("--committed", default=os.path.join(here, "..", "data", "hf", CHECK))
    p.add_argument("--engine-tests", help="the engine_tests executable")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.write:
        hc.quiet_transformers()
        shutil.rmtree(args.write, ignore_errors=True)
        for case in CASES:
            write_case(case, args.write)
            e = hc.load_tensors(os.path.join(args.write, case, "expected.safetensors"))
            print(f"wrote {case}: loss {[round(x, 4) for x in e['loss'].tolist()]}, "
                  f"grad norm {[round(x, 3) for x in e['grad_norm'].tolist()]}")
        return 0
    if args.check:
        return check(os.path.abspath(args.committed), args.engine_tests)
    p.error("give --write DIR or --check")


if __name__ == "__main__":
    sys.exit(main())

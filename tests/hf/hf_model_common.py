"""Helpers shared by the Hugging Face reference generators of tests/hf/ (issue 14).

Run with the interpreter of the torch venv (.venv/bin/python: torch, transformers, safetensors).
Nothing here imports ordertune: the references come from transformers alone.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file


def versions():
    """The library versions a reference was made with (recorded in the manifests)."""
    import tokenizers
    import transformers

    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "torch": torch.__version__}


def randomize(model, generator, std=0.1):
    """Overwrites every parameter with random values: transformers initialises biases to 0 and
    LayerNorm to (1, 0), under which a loader that skipped a bias or swapped LayerNorm weight and
    bias would still match. LayerNorm weights become 1 + noise so the layers stay well scaled."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator) * std
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                p.copy_(1.0 + noise)
            else:
                p.copy_(noise)


def padded_batch(generator, lengths, vocab_size, width=None):
    """<s> body </s> rows of the given total lengths, padded with <pad> = 1 to `width` (default
    the longest): input_ids and attention_mask, int64. Body ids avoid the specials 0-3."""
    width = width or max(lengths)
    ids = torch.ones(len(lengths), width, dtype=torch.int64)
    mask = torch.zeros(len(lengths), width, dtype=torch.int64)
    for i, n in enumerate(lengths):
        body = torch.randint(4, vocab_size, (n - 2,), generator=generator)
        ids[i, :n] = torch.cat([torch.tensor([0]), body, torch.tensor([2])])
        mask[i, :n] = 1
    return ids, mask


def save_tensors(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, path)


def load_tensors(path):
    return load_file(path)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
        f.write("\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


def worst_abs(a, b):
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0


def report(check, what, worst, tolerance):
    """One line per comparison, as every hf check prints it; returns whether it passed."""
    ok = worst <= tolerance
    print(f"hf:{check} {what:<58} worst difference {worst:.3g} (tolerance {tolerance:g}) "
          f"{'ok' if ok else 'FAILED'}", flush=True)
    return ok


def quiet_transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)

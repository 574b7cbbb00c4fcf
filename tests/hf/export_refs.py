"""`ordertune export --model` against Hugging Face transformers (issue 14, §2 and §5).

Default mode writes tests/data/hf/export/ (committed; tests/engine/hf_tokenizer.test.cpp reads it
without Python): tokenizer.json and tokenizer_config.json as transformers'
XLMRobertaTokenizer.save_pretrained writes them for tests/data/tokenizer/tiny.model (built the way
AutoTokenizer.from_pretrained builds it from a folder with only sentencepiece.bpe.model), and
meta.json with the versions.

--check regenerates those files into a temporary folder and compares them with the committed
ones, then, with --ordertune BIN, runs the round trip on a real sweep node:
  1. a small demo sweep (tests/e2e/lib/small_demo.sh's config, 1 rank) and
     `ordertune export --model` of the order mnli>squad_v1;
  2. the exported tokenizer.json equals transformers' save_pretrained for the exported
     sentencepiece.bpe.model; AutoModel.from_pretrained and AutoTokenizer.from_pretrained on the
     folder: no missing or
     unexpected keys, no warnings (transformers' logger and Python's warnings are captured);
  3. tokenizer: AutoTokenizer's ids on the demo's XNLI test sentences (pairs, truncated to the
     config's max_length) equal the ids in the data cache that the sweep trained on;
  4. model: every hidden state of AutoModel (fp32) equals `ordertune forward` on the exported
     folder to 1e-5 (max absolute difference over real tokens; padding positions are no output),
     on the cache's first sequences;
  5. bf16 export (`--dtype bf16`): read as fp32 by both, again 1e-5; run in bfloat16 by
     transformers (its default for that folder) against ordertune's fp32 outputs of the fp32
     export, BF16_TOLERANCE (absolute; the relative size is printed too).
Prints the worst difference of every comparison; exits non-zero on any failure.

Usage: .venv/bin/python tests/hf/export_refs.py [--check --ordertune build/ordertune]
Cost: seconds; the round trip about a minute (the small demo sweep on one core).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(SOURCE, "tests", "data", "hf", "export")
TINY_MODEL = os.path.join(SOURCE, "tests", "data", "tokenizer", "tiny.model")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with h5py (the venv has none)
MODEL_MAX_LENGTH = 512  # what ordertune writes for XLM-R's 514 positions
# A bf16 export run in bfloat16 by transformers against ordertune's fp32 outputs: bfloat16 keeps
# 8 significant bits (relative rounding 2^-9 per operation), so after the weights' rounding and a
# few layers of bfloat16 arithmetic hidden states differ by a few 1e-2 (0.036 on the demo model,
# whose hidden states reach 4.0).
BF16_TOLERANCE = 0.1


def make_references(out_dir: str, workdir: str) -> None:
    tok = hf_common.load_hf_tokenizer_from_spm(TINY_MODEL, os.path.join(workdir, "spm-only"))
    tok.model_max_length = MODEL_MAX_LENGTH
    saved = os.path.join(workdir, "saved")
    tok.save_pretrained(saved)
    os.makedirs(out_dir, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(saved, name), os.path.join(out_dir, name))
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump({"versions": hf_common.versions(), "model": "tests/data/tokenizer/tiny.model",
                   "files": sorted(os.listdir(saved))}, f, indent=1)
        f.write("\n")


def compare_references(committed: str, fresh: str) -> bool:
    ok = True
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(committed, name)) as a, open(os.path.join(fresh, name)) as b:
            ja, jb = json.load(a), json.load(b)
        worst = hf_common.Worst(f"regenerated {name}: top-level keys differing from the committed file")
        keys = sorted(set(ja) | set(jb))
        bad = [k for k in keys if ja.get(k) != jb.get(k)]
        worst.add(len(bad), ", ".join(bad) or "-")
        ok &= worst.report()
    return ok


@contextlib.contextmanager
def captured_warnings():
    """Every warning transformers emits (its logger at WARNING and Python's warnings)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_warning()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    got: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield got
    logger.removeHandler(handler)
    got += [line for line in stream.getvalue().splitlines() if line.strip()]
    got += [str(w.message) for w in caught]


def read_h5(path: str, datasets: list[str]) -> dict:
    """Datasets of an HDF5 file through Debian's python3 (h5py), as nested lists."""
    code = ("import h5py, json, sys\nf = h5py.File(sys.argv[1], 'r')\n"
            "print(json.dumps({k: f[k][()].tolist() for k in sys.argv[2:]}))\n")
    out = subprocess.run([SYSTEM_PYTHON, "-c", code, path, *datasets], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def round_trip(ordertune: str, work: str) -> bool:
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    small = subprocess.run(["bash", "-c", f'. "{SOURCE}/tests/e2e/lib/small_demo.sh" && '
                            f'small_demo_config "{SOURCE}" "{work}/demo.toml"'], cwd=work)
    if small.returncode != 0:
        return False

    def run(*args: str) -> None:
        r = subprocess.run([ordertune, *args], cwd=work, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"ordertune {' '.join(args)} failed (exit {r.returncode}):\n{r.stderr[-2000:]}")

    run("prepare", "--config", "demo.toml")
    run("sweep", "--config", "demo.toml", "--results", "r.h5")
    model_dir = os.path.join(work, "model")
    run("export", "--results", "r.h5", "--replicate", "0", "--order", "mnli>squad_v1", "--model", model_dir)
    print("exported files: " + " ".join(sorted(os.listdir(model_dir))))

    ok = True
    # The exported tokenizer.json against transformers' own for the exported sentencepiece model.
    ref = hf_common.load_hf_tokenizer_from_spm(os.path.join(model_dir, "sentencepiece.bpe.model"),
                                               os.path.join(work, "spm-only"))
    ref.save_pretrained(os.path.join(work, "ref-saved"))
    with open(os.path.join(work, "ref-saved", "tokenizer.json")) as a, open(os.path.join(model_dir, "tokenizer.json")) as b:
        ja, jb = json.load(a), json.load(b)
    w = hf_common.Worst("export tokenizer.json: top-level entries differing from transformers' save_pretrained")
    bad = [k for k in sorted(set(ja) | set(jb)) if ja.get(k) != jb.get(k)]
    w.add(len(bad), ", ".join(bad) or f"{len(jb['model']['vocab'])} pieces")
    ok &= w.report()
    with captured_warnings() as got:
        model, info = AutoModel.from_pretrained(model_dir, output_loading_info=True)
        tok = AutoTokenizer.from_pretrained(model_dir)
    problems = sum(len(v) for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"))
    w = hf_common.Worst("export loading: missing + unexpected + mismatched keys and warnings")
    w.add(problems + len(got), f"{info}; warnings {got}" if problems or got else f"{type(model).__name__}, {type(tok).__name__}")
    ok &= w.report()

    # Tokenizer: the cache's XNLI test ids (what the sweep evaluated) against AutoTokenizer.
    cache = os.path.join(work, "cache", "demo.h5")
    max_length = 128  # configs/demo.toml data.max_length
    w = hf_common.Worst("export tokenizer: XNLI test pairs whose ids differ from the data cache")
    first_ids: list[list[int]] = []
    bad: list[str] = []
    total = 0
    for lang in ("en", "sa", "sb", "sc"):
        base = f"tasks/xnli/test/{lang}"
        ids = read_h5(cache, [f"{base}/input_ids", f"{base}/input_ids_offsets"])
        values, offsets = ids[f"{base}/input_ids"], ids[f"{base}/input_ids_offsets"]
        cached = [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
        first_ids += cached[:2]
        with open(os.path.join(work, "data", "demo", "xtreme", "xnli", f"test-{lang}.tsv"), encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f]
        for i, r in enumerate(rows):
            got = tok(r[0], r[1], truncation="longest_first", max_length=max_length)["input_ids"]
            total += 1
            if got != cached[i]:
                bad.append(f"{lang} row {i}")
    w.add(len(bad), f"{total} pairs" + (f"; first: {bad[0]}" if bad else ""))
    ok &= w.report()

    # Model: hidden states of the first cached sequences through both.
    seqs = first_ids
    with open(os.path.join(work, "ids.txt"), "w") as f:
        for s in seqs:
            f.write(" ".join(map(str, s)) + "\n")
    run("forward", "--model", model_dir, "--inputs", "ids.txt", "--out", "hidden.h5")
    ours = np.array(read_h5(os.path.join(work, "hidden.h5"), ["hidden_states"])["hidden_states"], dtype=np.float32)
    width = max(len(s) for s in seqs)
    input_ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    model.eval()
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
    theirs = torch.stack(out.hidden_states).numpy()
    keep = mask.numpy().astype(bool)[None, :, :, None]  # padding positions are not outputs
    diff = np.abs(np.where(keep, ours - theirs, 0.0))
    w = hf_common.Worst("export model: |hidden states of ordertune forward - AutoModel| (fp32)", 1e-5)
    w.add(float(diff.max()), f"{diff.shape[0]} layers x {diff.shape[1]} sequences x {width} tokens")
    ok &= w.report()

    # bf16 export (--dtype bf16): the same weights rounded to bfloat16. Read as fp32 by both, the
    # outputs agree as tightly as the fp32 export's; read as bfloat16 by transformers (its
    # default, dtype "auto" from config.json) the arithmetic is bfloat16's (8 significant bits),
    # compared with ordertune's fp32 outputs of the fp32 export: BF16_TOLERANCE.
    bf16_dir = os.path.join(work, "model-bf16")
    run("export", "--results", "r.h5", "--replicate", "0", "--order", "mnli>squad_v1", "--model", bf16_dir,
        "--dtype", "bf16")
    run("forward", "--model", bf16_dir, "--inputs", "ids.txt", "--out", "hidden-bf16.h5")
    ours16 = np.array(read_h5(os.path.join(work, "hidden-bf16.h5"), ["hidden_states"])["hidden_states"],
                      dtype=np.float32)
    with captured_warnings() as got:
        m32 = AutoModel.from_pretrained(bf16_dir, dtype=torch.float32).eval()
        m16 = AutoModel.from_pretrained(bf16_dir).eval()
    w = hf_common.Worst("export bf16 loading: warnings; dtype transformers picks")
    w.add(len(got) + int(m16.dtype != torch.bfloat16), f"{m16.dtype}; warnings {got}")
    ok &= w.report()
    with torch.no_grad():
        t32 = torch.stack(m32(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states)
        t16 = torch.stack(m16(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states)
    d32 = np.abs(np.where(keep, ours16 - t32.numpy(), 0.0))
    w = hf_common.Worst("export bf16 model read as fp32: |ordertune forward - AutoModel|", 1e-5)
    w.add(float(d32.max()), "same bf16-rounded weights, fp32 arithmetic in both")
    ok &= w.report()
    d16 = np.abs(np.where(keep, ours - t16.float().numpy(), 0.0))
    scale = float(np.abs(np.where(keep, ours, 0.0)).max())
    w = hf_common.Worst("export bf16 model in bfloat16: |AutoModel - ordertune fp32 of the fp32 export|",
                        BF16_TOLERANCE)
    w.add(float(d16.max()), f"largest |hidden state| {scale:.3g}; relative {float(d16.max()) / scale:.3g}")
    ok &= w.report()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare")
    ap.add_argument("--ordertune", help="with --check: the ordertune executable for the round trip")
    args = ap.parse_args()
    if args.ordertune and not os.access(args.ordertune, os.X_OK):
        print(f"--ordertune {args.ordertune}: expected an executable, found none", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        if not args.check:
            make_references(DATA, work)
            return 0
        fresh = os.path.join(work, "fresh")
        make_references(fresh, work)
        ok = compare_references(DATA, fresh)
        if args.ordertune:
            trip = os.path.join(work, "trip")
            os.makedirs(trip)
            ok &= round_trip(os.path.abspath(args.ordertune), trip)
        print("hf:export " + ("passed" if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

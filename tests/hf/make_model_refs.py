"""Forward references of XLM-R checkpoints from Hugging Face transformers (issue 14, section 3).

Builds random small XLMRobertaConfig models in two shapes ("h32": hidden 32, 4 heads of 8,
2 layers, XLM-R's layer_norm_eps 1e-5 and one token type; "h36": hidden 36, 4 heads of the odd
size 9, 2 layers, feed-forward 37, transformers' defaults 1e-12 and two token types), from XLMRobertaModel and
from every XLMRobertaFor* class ordertune has a head for, with every parameter random (not
transformers' zero biases), saves them with save_pretrained and records what transformers
computes on padded batches:

  encoder (XLMRobertaModel)   hidden_states [L+1, B, T, H] (output_hidden_states), the same for
                              an unpadded batch, the retrieval embedding (mean over non-padding
                              tokens of hidden_states[k], k = round(14 / 24 * L), xtreme's
                              layer 14 of 24) and, with a pooler, the dual-encoder embedding
                              (torch.nn.functional.normalize of pooler_output)
  sequence_classification     logits [B, labels]
  token_classification        logits [B, T, labels]
  question_answering          stack(start_logits, end_logits) [B, T, 2]
  multiple_choice             logits [B, C] of input_ids [B, C, T]
  masked_lm                   logits [B, T, V] (decoder tied to the word embeddings)

The references are computed in float32 with attn_implementation="eager" (transformers' own
attention arithmetic); the SDPA path's distance from it is printed too.

  --write DIR   the committed set (tests/data/hf/model): F32 checkpoints of every class for
                both shapes, their expected outputs and manifest.json. Small: the default test
                run reads it without pip or network (tests/engine/hf_model.test.cpp).
  --check       the `hf` CTest label: (1) regenerates the checkpoints from their seeds and
                compares them with the committed ones, (2) recomputes every expected output from
                the committed checkpoints with the installed transformers and compares, (3)
                writes the variants that are not committed (BF16, F16, sharded, without pooler,
                all saved by save_pretrained) with their expected outputs into a temporary
                folder and runs the engine tests "[hf][model]" on committed cases and variants
                (ORDERTUNE_HF_MODEL_REFS names the folder). Every comparison prints its worst
                difference.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_model_common as hc  # noqa: E402

CHECK = "model"
# Float32 forward of the same network: only the order of float operations differs.
TOLERANCE = 1e-5

SHAPES = {
    "h32": dict(vocab_size=48, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=48, max_position_embeddings=24, layer_norm_eps=1e-5,
                type_vocab_size=1),
    "h36": dict(vocab_size=48, hidden_size=36, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=37, max_position_embeddings=24),
}

# name, transformers class, ordertune head kind, num_labels
CLASSES = [
    ("model", "XLMRobertaModel", "encoder", 0),
    ("seqcls", "XLMRobertaForSequenceClassification", "sequence_classification", 3),
    ("tokcls", "XLMRobertaForTokenClassification", "token_classification", 5),
    ("qa", "XLMRobertaForQuestionAnswering", "question_answering", 2),
    ("mc", "XLMRobertaForMultipleChoice", "multiple_choice", 0),
    ("mlm", "XLMRobertaForMaskedLM", "masked_lm", 0),
]


def config_for(shape, num_labels):
    from transformers import XLMRobertaConfig

    kwargs = dict(SHAPES[shape])
    if num_labels:
        kwargs["num_labels"] = num_labels
    return XLMRobertaConfig(**kwargs)


def model_class(name):
    import transformers

    return getattr(transformers, name)


def seed_of(shape, name):
    return 1000 * (list(SHAPES).index(shape) + 1) + [c[0] for c in CLASSES].index(name)


def inputs_for(shape):
    """The padded batches of a shape: fixed by its seed, independent of the model."""
    vocab = SHAPES[shape]["vocab_size"]
    g = torch.Generator().manual_seed(7 + list(SHAPES).index(shape))
    ids, mask = hc.padded_batch(g, [12, 9, 5, 3], vocab)  # three rows padded, one full
    full_ids, _ = hc.padded_batch(g, [7, 7], vocab)  # nothing padded (no mask at all)
    mc = [hc.padded_batch(g, [int(n) for n in torch.randint(3, 11, (3,), generator=g)], vocab, 10)
          for _ in range(2)]
    return {"input_ids": ids, "attention_mask": mask, "unpadded_input_ids": full_ids,
            "mc_input_ids": torch.stack([m[0] for m in mc]),
            "mc_attention_mask": torch.stack([m[1] for m in mc])}


def retrieval_layer(layers):
    return max(1, round(14 * layers / 24))


def mean_pool(hidden, mask):
    m = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1)


def expected_outputs(kind, directory, inputs, attn="eager", pooler=True):
    """What transformers computes with the checkpoint in `directory` (float32, eval mode).
    pooler=False loads an XLMRobertaModel without one (add_pooling_layer), as a checkpoint saved
    without it is meant to be used (loaded with one, transformers would initialise it randomly)."""
    name = hc.read_json(os.path.join(directory, "config.json"))["architectures"][0]
    extra = {"add_pooling_layer": False} if kind == "encoder" and not pooler else {}
    model = model_class(name).from_pretrained(directory, dtype=torch.float32,
                                              attn_implementation=attn, **extra)
    model.eval()
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    out = {"input_ids": ids, "attention_mask": mask}
    with torch.no_grad():
        if kind == "encoder":
            o = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            hidden = torch.stack(o.hidden_states)
            out["hidden_states"] = hidden
            layer = retrieval_layer(model.config.num_hidden_layers)
            out["retrieval"] = mean_pool(hidden[layer], mask)
            if o.pooler_output is not None:
                out["dual_encoder"] = F.normalize(o.pooler_output, p=2, dim=1)
            full = inputs["unpadded_input_ids"]
            out["unpadded_input_ids"] = full
            out["unpadded_hidden_states"] = torch.stack(
                model(input_ids=full, output_hidden_states=True).hidden_states)
        elif kind == "question_answering":
            o = model(input_ids=ids, attention_mask=mask)
            out["logits"] = torch.stack([o.start_logits, o.end_logits], dim=-1)
        elif kind == "multiple_choice":
            ids, mask = inputs["mc_input_ids"], inputs["mc_attention_mask"]
            out = {"input_ids": ids, "attention_mask": mask,
                   "logits": model(input_ids=ids, attention_mask=mask).logits}
        else:
            out["logits"] = model(input_ids=ids, attention_mask=mask).logits
    return out


def make_checkpoint(shape, name, class_name, num_labels, directory):
    """A random model of the class, saved in float32 by save_pretrained."""
    model = model_class(class_name)(config_for(shape, num_labels))
    hc.randomize(model, torch.Generator().manual_seed(seed_of(shape, name)))
    model.save_pretrained(directory)


def case(shape, name, kind, num_labels, directory, dtype="F32", pooler=None):
    layers = SHAPES[shape]["num_hidden_layers"]
    return {"name": f"{shape}/{directory}", "checkpoint": f"{shape}/{directory}", "kind": kind,
            "num_labels": num_labels, "dtype": dtype,
            "pooler": (kind in ("encoder", "multiple_choice")) if pooler is None else pooler,
            "retrieval_layer": retrieval_layer(layers),
            "expected": f"{shape}/{directory}.expected.safetensors", "tolerance": TOLERANCE}


def write_committed(root):
    """The committed set: F32 checkpoints of every class, both shapes, with expected outputs."""
    cases = []
    for shape in SHAPES:
        inputs = inputs_for(shape)
        for name, class_name, kind, num_labels in CLASSES:
            c = case(shape, name, kind, num_labels, name)
            directory = os.path.join(root, c["checkpoint"])
            make_checkpoint(shape, name, class_name, num_labels, directory)
            hc.save_tensors(os.path.join(root, c["expected"]),
                            expected_outputs(kind, directory, inputs))
            cases.append(c)
    hc.write_json(os.path.join(root, "manifest.json"), {"versions": hc.versions(), "cases": cases})
    return cases


def write_variants(committed, root):
    """Variants of each shape's XLMRobertaModel saved by save_pretrained: BF16 and F16 weights,
    sharded (model.safetensors.index.json), and without the pooler; plus a BF16 masked LM (tied
    decoder). transformers computes their outputs in float32 from the stored values."""
    from transformers import XLMRobertaModel

    cases = []
    for shape in SHAPES:
        inputs = inputs_for(shape)
        source = os.path.join(committed, shape, "model")
        for variant, dtype in (("bf16", torch.bfloat16), ("f16", torch.float16)):
            d = f"model-{variant}"
            XLMRobertaModel.from_pretrained(source, dtype=dtype).save_pretrained(
                os.path.join(root, shape, d))
            cases.append(case(shape, "model", "encoder", 0, d, dtype=variant.upper()))
        XLMRobertaModel.from_pretrained(source, dtype=torch.float32).save_pretrained(
            os.path.join(root, shape, "model-sharded"), max_shard_size="40KB")
        cases.append(case(shape, "model", "encoder", 0, "model-sharded"))
        XLMRobertaModel.from_pretrained(source, dtype=torch.float32,
                                        add_pooling_layer=False).save_pretrained(
            os.path.join(root, shape, "model-nopooler"))
        cases.append(case(shape, "model", "encoder", 0, "model-nopooler", pooler=False))
        mlm = model_class("XLMRobertaForMaskedLM").from_pretrained(
            os.path.join(committed, shape, "mlm"), dtype=torch.bfloat16)
        mlm.save_pretrained(os.path.join(root, shape, "mlm-bf16"))
        cases.append(case(shape, "mlm", "masked_lm", 0, "mlm-bf16", dtype="BF16"))
        for c in cases[-5:]:
            hc.save_tensors(os.path.join(root, c["expected"]),
                            expected_outputs(c["kind"], os.path.join(root, c["checkpoint"]),
                                             inputs, pooler=c["pooler"]))
    return cases


def check(committed, engine_tests):
    hc.quiet_transformers()
    manifest = hc.read_json(os.path.join(committed, "manifest.json"))
    print(f"hf:{CHECK} committed with {manifest['versions']}; installed {hc.versions()}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="ordertune-hf-model-") as tmp:
        # (1) The generator still writes the committed checkpoints and references.
        regen = os.path.join(tmp, "regen")
        cases = write_committed(regen)
        if [c["name"] for c in cases] != [c["name"] for c in manifest["cases"]]:
            hc.fail(f"hf:{CHECK}: the generator's cases differ from {committed}/manifest.json")
        for c in cases:
            a = hc.load_tensors(os.path.join(regen, c["checkpoint"], "model.safetensors"))
            b = hc.load_tensors(os.path.join(committed, c["checkpoint"], "model.safetensors"))
            if sorted(a) != sorted(b):
                hc.fail(f"hf:{CHECK}: {c['name']}: regenerated tensor names differ")
            worst = max(hc.worst_abs(a[k], b[k]) for k in a)
            ok &= hc.report(CHECK, f"{c['name']} regenerated weights", worst, 0.0)
        # (2) The installed transformers computes the committed expected outputs.
        live = os.path.join(tmp, "live")
        for c in manifest["cases"]:
            shape = c["name"].split("/")[0]
            shutil.copytree(os.path.join(committed, c["checkpoint"]),
                            os.path.join(live, c["checkpoint"]))
            got = expected_outputs(c["kind"], os.path.join(live, c["checkpoint"]),
                                   inputs_for(shape), pooler=c["pooler"])
            want = hc.load_tensors(os.path.join(committed, c["expected"]))
            worst = max(hc.worst_abs(got[k], want[k]) for k in want)
            ok &= hc.report(CHECK, f"{c['name']} outputs recomputed", worst, c["tolerance"] / 10)
            sdpa = expected_outputs(c["kind"], os.path.join(live, c["checkpoint"]),
                                    inputs_for(shape), attn="sdpa", pooler=c["pooler"])
            worst = max(hc.worst_abs(sdpa[k], want[k]) for k in want
                        if k not in ("input_ids", "attention_mask"))
            ok &= hc.report(CHECK, f"{c['name']} transformers sdpa vs eager", worst, c["tolerance"])
            shutil.copyfile(os.path.join(committed, c["expected"]), os.path.join(live, c["expected"]))
        # (3) ordertune against every case, the variants included.
        variants = write_variants(committed, live)
        hc.write_json(os.path.join(live, "manifest.json"),
                      {"versions": hc.versions(), "cases": manifest["cases"] + variants})
        if engine_tests:
            env = dict(os.environ, ORDERTUNE_HF_MODEL_REFS=live)
            command = [engine_tests, "[hf][model]"]
            print(f"hf:{CHECK} running {' '.join(command)} on {len(manifest['cases'])} committed "
                  f"cases and {len(variants)} variants", flush=True)
            rc = subprocess.run(command, env=env).returncode
            print(f"hf:{CHECK} engine tests exit status {rc}")
            ok &= rc == 0
    print(f"hf:{CHECK} {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "data", "hf", CHECK)
    p.add_argument("--write", metavar="DIR", help="write the committed set into DIR")
    p.add_argument("--check", action="store_true", help="compare (the hf CTest label)")
    p.add_argument("--committed", default=default, help="the committed set (default: %(default)s)")
    p.add_argument("--engine-tests", help="the engine_tests executable to run on all cases")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.write:
        hc.quiet_transformers()
        shutil.rmtree(args.write, ignore_errors=True)
        for c in write_committed(args.write):
            print(f"wrote {c['name']} ({c['kind']})")
        return 0
    if args.check:
        return check(os.path.abspath(args.committed), args.engine_tests)
    p.error("give --write DIR or --check")


if __name__ == "__main__":
    sys.exit(main())

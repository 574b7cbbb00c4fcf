"""Forward parity of `ordertune forward` with Hugging Face transformers on a GPU, fp32 and bf16
(tests/gpu/smoke.sh runs it in two steps around the two `ordertune forward` runs).

  python3 tests/gpu/forward_parity.py make DIR [--device cuda]
      A random XLMRobertaConfig model (4 layers, hidden 256, 4 heads, ffn 1024, vocab 5000; weights
      drawn with initializer_range 0.1 so that attention is far from uniform), saved with
      save_pretrained (safetensors) in DIR/model, and DIR/inputs.txt: 6 sequences of token ids of
      different lengths (the batch is padded).
  python3 tests/gpu/forward_parity.py compare DIR FP32.h5 BF16.h5 [--device cuda]
      transformers' XLMRobertaModel (no pooler) of DIR/model in eval mode, eager and SDPA
      attention, fp32 and under torch.autocast(bf16), every layer's hidden states on the same
      padded batch; compared with ordertune's (hidden_states [L+1, B, T, H] of FP32.h5 and
      BF16.h5, read with h5py) at unpadded positions. Prints one JSON object:
        fp32_max_abs_diff  max over layers and both attentions of |ordertune fp32 - HF fp32|;
                           passes at <= 1e-4 (fp32 on a GPU: summation order only)
        bf16_max_abs_diff  |ordertune bf16 - HF fp32 (SDPA)|, against
        hf_bf16_max_abs_diff  |HF bf16 - HF fp32|, the larger of eager and SDPA: transformers'
                           own bf16 error. Passes at bf16_max_abs_diff <= 2 * hf_bf16_max_abs_diff
                           (autocast rounds the same matmuls to bf16; their rounding differs)
        per_layer_*        the same maxima per layer
      exit status 0 when both pass, 1 otherwise.
Cost: a few seconds on a GPU; the model is 10 MB.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

LAYERS, HIDDEN, HEADS, FFN, VOCAB, MAX_POS = 4, 256, 4, 1024, 5000, 130
FP32_BOUND = 1e-4
BF16_FACTOR = 2.0


def make(a):
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                              num_attention_heads=HEADS, intermediate_size=FFN,
                              max_position_embeddings=MAX_POS, type_vocab_size=1,
                              layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                              initializer_range=0.1)
    model = XLMRobertaModel(config, add_pooling_layer=False)
    model.save_pretrained(os.path.join(a.dir, "model"), safe_serialization=True)
    rng = np.random.default_rng(1)
    with open(os.path.join(a.dir, "inputs.txt"), "w") as f:
        for length in (5, 17, 64, 100, 128, 33):  # up to MAX_POS - pad - 1 tokens
            body = rng.integers(3, VOCAB, size=length - 2)
            f.write(" ".join(map(str, [0, *body.tolist(), 2])) + "\n")
    print(f"forward_parity: model in {a.dir}/model, inputs in {a.dir}/inputs.txt")


def padded_batch(path):
    rows = [list(map(int, line.split())) for line in open(path) if line.strip()]
    T = max(map(len, rows))
    ids = torch.full((len(rows), T), 1, dtype=torch.int64)
    mask = torch.zeros((len(rows), T), dtype=torch.int64)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
        mask[b, :len(r)] = 1
    return ids, mask


def hf_hidden(model_dir, attn, bf16, ids, mask, device):
    from transformers import XLMRobertaModel

    model = XLMRobertaModel.from_pretrained(model_dir, add_pooling_layer=False,
                                            attn_implementation=attn).to(device).eval()
    with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                                         enabled=bf16):
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                    output_hidden_states=True)
    return torch.stack([h.float() for h in out.hidden_states]).cpu()


def worst(a, b, mask):
    """Max |a - b| per layer at unpadded positions ([L+1, B, T, H] each, mask [B, T])."""
    keep = mask.bool()
    return [float((a[i] - b[i])[keep].abs().max()) for i in range(a.shape[0])]


def compare(a):
    import h5py

    device = torch.device(a.device)
    model_dir = os.path.join(a.dir, "model")
    ids, mask = padded_batch(os.path.join(a.dir, "inputs.txt"))
    ours = {}
    for dtype, path in (("fp32", a.fp32), ("bf16", a.bf16)):
        with h5py.File(path, "r") as f:
            ours[dtype] = torch.from_numpy(f["hidden_states"][:])
            assert (f["attention_mask"][:] == mask.numpy()).all(), f"{path}: another padding"
    ref = {(attn, bf16): hf_hidden(model_dir, attn, bf16, ids, mask, device)
           for attn in ("eager", "sdpa") for bf16 in (False, True)}
    for h in list(ours.values()) + list(ref.values()):
        assert h.shape == (LAYERS + 1, *ids.shape, HIDDEN), h.shape
    fp32_layers = [max(x, y) for x, y in zip(worst(ours["fp32"], ref[("eager", False)], mask),
                                             worst(ours["fp32"], ref[("sdpa", False)], mask))]
    bf16_layers = worst(ours["bf16"], ref[("sdpa", False)], mask)
    hf_bf16_layers = [max(x, y) for x, y in zip(worst(ref[("eager", True)], ref[("eager", False)], mask),
                                                worst(ref[("sdpa", True)], ref[("sdpa", False)], mask))]
    # Sanity of the comparison: HF's two fp32 attentions agree, and a bf16 run differs from fp32.
    hf_eager_vs_sdpa = max(worst(ref[("eager", False)], ref[("sdpa", False)], mask))
    r = {
        "model": f"random XLM-R L={LAYERS} H={HIDDEN} A={HEADS} F={FFN} V={VOCAB}",
        "batch": list(ids.shape),
        "device": str(device),
        "fp32_max_abs_diff": max(fp32_layers),
        "fp32_bound": FP32_BOUND,
        "bf16_max_abs_diff": max(bf16_layers),
        "hf_bf16_max_abs_diff": max(hf_bf16_layers),
        "bf16_bound": BF16_FACTOR * max(hf_bf16_layers),
        "hf_eager_vs_sdpa_fp32": hf_eager_vs_sdpa,
        "per_layer_fp32": fp32_layers,
        "per_layer_bf16": bf16_layers,
        "per_layer_hf_bf16": hf_bf16_layers,
    }
    r["fp32_ok"] = r["fp32_max_abs_diff"] <= FP32_BOUND
    r["bf16_ok"] = max(hf_bf16_layers) > 0 and r["bf16_max_abs_diff"] <= r["bf16_bound"]
    r["ok"] = r["fp32_ok"] and r["bf16_ok"]
    print(json.dumps(r))
    return 0 if r["ok"] else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    c = sub.add_parser("compare")
    c.add_argument("dir")
    c.add_argument("fp32")
    c.add_argument("bf16")
    c.add_argument("--device", default="cuda")
    a = p.parse_args()
    if a.cmd == "make":
        os.makedirs(a.dir, exist_ok=True)
        make(a)
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(main())

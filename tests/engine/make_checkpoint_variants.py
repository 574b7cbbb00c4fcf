#!/usr/bin/python3
"""Writes variants of a Hugging Face XLM-R checkpoint for the loader tests of weights.cpp.

Independent of ordertune and of torch: the safetensors format is read and written here with
numpy and the standard library only, following the specification at
https://huggingface.co/docs/safetensors (8-byte little-endian header length N, N bytes of JSON
{name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {...}}, then the raw
little-endian data; offsets are relative to the end of the header).

usage: make_checkpoint_variants.py SOURCE_DIR OUT_DIR

SOURCE_DIR holds config.json and model.safetensors (F32, keys "roberta.*" plus "lm_head.*").
Each variant is a folder under OUT_DIR with config.json and its weights:

  f32/          the source tensors rewritten with a header of 8k+3 bytes, so that every tensor
                starts at an address that is NOT a multiple of 4 (the loader must cope)
  stripped/     XLMRobertaModel layout: "roberta." prefix removed, lm_head dropped
  f16/          every tensor as F16 (numpy's float16 cast rounds to nearest even)
  f16_as_f32/   F32 tensors holding exactly the F16 values of f16/
  bf16/         every tensor as BF16, rounded to nearest even with integer arithmetic
  bf16_as_f32/  F32 tensors holding exactly the BF16 values of bf16/
  sharded/      two shards model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  wrong_shape/  roberta.encoder.layer.1.attention.self.query.weight stored as [64, 16]
  missing/      roberta.encoder.layer.2.output.dense.bias left out
  truncated/    model.safetensors cut 1000 bytes short
  bad_header/   model.safetensors whose header is not JSON
  pytorch_bin/  only a pytorch_model.bin (content irrelevant)
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16}  # BF16 handled as uint16 bit patterns


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{path}: {name}: expected F32 source, found {info['dtype']}"
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"]).copy()
    return tensors


def write_safetensors(path, tensors, header_remainder=0):
    """tensors: list of (name, dtype tag, numpy array). The header is padded with spaces so that
    its length is 8k + header_remainder (the specification allows trailing whitespace)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, tag, array in tensors:
        blob = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": tag, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((header_remainder - len(text)) % 8)
    assert len(text) % 8 == header_remainder
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest, ties to even."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    assert not np.isnan(x).any()
    lsb = (bits >> 16) & 1
    rounded = (bits + 0x7FFF + lsb) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def variant(out, name, source_dir):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(os.path.join(source_dir, "config.json"), os.path.join(d, "config.json"))
    return d


def main():
    source_dir, out = sys.argv[1], sys.argv[2]
    src = read_safetensors(os.path.join(source_dir, "model.safetensors"))
    names = list(src)
    st = "model.safetensors"

    write_safetensors(os.path.join(variant(out, "f32", source_dir), st),
                      [(n, "F32", src[n]) for n in names], header_remainder=3)

    stripped = [(n[len("roberta."):], "F32", src[n]) for n in names if n.startswith("roberta.")]
    assert len(stripped) < len(names)  # lm_head dropped
    write_safetensors(os.path.join(variant(out, "stripped", source_dir), st), stripped)

    f16 = {n: src[n].astype(np.float16) for n in names}
    write_safetensors(os.path.join(variant(out, "f16", source_dir), st), [(n, "F16", f16[n]) for n in names])
    write_safetensors(os.path.join(variant(out, "f16_as_f32", source_dir), st),
                      [(n, "F32", f16[n].astype(np.float32)) for n in names])

    bf16 = {n: to_bf16_bits(src[n]) for n in names}
    write_safetensors(os.path.join(variant(out, "bf16", source_dir), st), [(n, "BF16", bf16[n]) for n in names])
    write_safetensors(os.path.join(variant(out, "bf16_as_f32", source_dir), st),
                      [(n, "F32", bf16_bits_to_f32(bf16[n])) for n in names])
    # The BF16 values must really differ from the F32 ones, or the dtype tests prove nothing.
    assert any(not np.array_equal(bf16_bits_to_f32(bf16[n]), src[n]) for n in names)

    d = variant(out, "sharded", source_dir)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for shard, keys in shards.items():
        write_safetensors(os.path.join(d, shard), [(n, "F32", src[n]) for n in keys])
        weight_map.update({n: shard for n in keys})
    total = sum(src[n].nbytes for n in names)
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    wrong = "roberta.encoder.layer.1.attention.self.query.weight"
    assert src[wrong].shape == (32, 32)
    write_safetensors(os.path.join(variant(out, "wrong_shape", source_dir), st),
                      [(n, "F32", src[n].reshape(64, 16) if n == wrong else src[n]) for n in names])

    gone = "roberta.encoder.layer.2.output.dense.bias"
    assert gone in src
    write_safetensors(os.path.join(variant(out, "missing", source_dir), st),
                      [(n, "F32", src[n]) for n in names if n != gone])

    d = variant(out, "truncated", source_dir)
    write_safetensors(os.path.join(d, st), [(n, "F32", src[n]) for n in names])
    size = os.path.getsize(os.path.join(d, st))
    with open(os.path.join(d, st), "r+b") as f:
        f.truncate(size - 1000)

    d = variant(out, "bad_header", source_dir)
    with open(os.path.join(d, st), "wb") as f:
        junk = b"{not json at all"
        f.write(struct.pack("<Q", len(junk)) + junk + b"\0" * 64)

    d = variant(out, "pytorch_bin", source_dir)
    with open(os.path.join(d, "pytorch_model.bin"), "wb") as f:
        f.write(b"PK\x03\x04 not a real torch zip")


if __name__ == "__main__":
    main()

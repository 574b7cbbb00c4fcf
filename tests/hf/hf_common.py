"""Shared helpers of the Hugging Face reference generators (tests/hf/*.py, issue 14).

Run with the interpreter of the torch venv (.venv/bin/python: transformers, tokenizers, torch,
sentencepiece, safetensors as pinned in setup/requirements-torch.txt). Nothing here downloads:
every tokenizer and model is built from files of the checkout.

What lives here:
  * a reader of sentencepiece's ModelProto wire format. transformers builds an XLM-R tokenizer from
    a `sentencepiece.bpe.model` through `SentencePieceExtractor`, which needs the protobuf package;
    the pinned venv has no protobuf, so `install_proto_shim()` gives transformers a module with the
    one class it uses (`ModelProto.ParseFromString`) and transformers' own conversion code runs
    unchanged. The reader is checked against the sentencepiece package's own API (pieces, scores,
    piece types) every time it is used (`check_against_sentencepiece`).
  * `versions()`: the library versions every reference file records.
  * `Worst`: tracks and prints the worst difference of one comparison.
"""

from __future__ import annotations

import json
import os
import sys
import types

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


# ---- sentencepiece ModelProto ------------------------------------------------------------------
# sentencepiece_model.proto: ModelProto {1: repeated SentencePiece pieces; 2: TrainerSpec;
# 3: NormalizerSpec; ...}; SentencePiece {1: string piece; 2: float score; 3: Type type (default
# NORMAL = 1)}; TrainerSpec {3: model_type (UNIGRAM = 1), 40: unk_id, 41: bos_id, 42: eos_id,
# 43: pad_id}; NormalizerSpec {1: name; 2: bytes precompiled_charsmap; 3: add_dummy_prefix (true);
# 4: remove_extra_whitespaces (true); 5: escape_whitespaces (true)}.


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """Yields (field number, wire type, value) of one message; value is int, bytes or float bits."""
    import struct

    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack("<f", buf[pos : pos + 4])[0], pos + 4
        else:
            raise ValueError(f"sentencepiece model: unsupported protobuf wire type {wire}")
        yield number, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


class _Piece:
    def __init__(self, buf: bytes):
        self.piece, self.score, self.type = "", 0.0, 1
        for number, _, value in _fields(buf):
            if number == 1:
                self.piece = value.decode("utf-8")
            elif number == 2:
                self.score = value
            elif number == 3:
                self.type = value


class _TrainerSpec:
    def __init__(self, buf: bytes):
        self.model_type, self.unk_id, self.bos_id, self.eos_id, self.pad_id = 1, 0, 1, 2, -1
        names = {3: "model_type", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
        for number, _, value in _fields(buf):
            if number in names:
                setattr(self, names[number], _signed(value))


class _NormalizerSpec:
    def __init__(self, buf: bytes):
        self.name, self.precompiled_charsmap = "", b""
        self.add_dummy_prefix = self.remove_extra_whitespaces = self.escape_whitespaces = True
        for number, _, value in _fields(buf):
            if number == 1:
                self.name = value.decode("utf-8")
            elif number == 2:
                self.precompiled_charsmap = bytes(value)
            elif number == 3:
                self.add_dummy_prefix = bool(value)
            elif number == 4:
                self.remove_extra_whitespaces = bool(value)
            elif number == 5:
                self.escape_whitespaces = bool(value)


class ModelProto:
    """The part of sentencepiece's ModelProto that transformers' SentencePieceExtractor reads."""

    def __init__(self):
        self.pieces: list[_Piece] = []
        self.trainer_spec = _TrainerSpec(b"")
        self.normalizer_spec = _NormalizerSpec(b"")

    def ParseFromString(self, buf: bytes) -> None:  # noqa: N802 (protobuf's name)
        for number, _, value in _fields(buf):
            if number == 1:
                self.pieces.append(_Piece(value))
            elif number == 2:
                self.trainer_spec = _TrainerSpec(value)
            elif number == 3:
                self.normalizer_spec = _NormalizerSpec(value)

    @classmethod
    def FromString(cls, buf: bytes) -> "ModelProto":  # noqa: N802
        m = cls()
        m.ParseFromString(buf)
        return m


def check_against_sentencepiece(model_path: str) -> None:
    """Exits with one line if this reader and the sentencepiece package disagree on the model."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=model_path)
    with open(model_path, "rb") as f:
        proto = ModelProto.FromString(f.read())
    if len(proto.pieces) != sp.get_piece_size():
        sys.exit(f"{model_path}: proto reader found {len(proto.pieces)} pieces, sentencepiece {sp.get_piece_size()}")
    for i, p in enumerate(proto.pieces):
        kind = 2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else None
        if p.piece != sp.id_to_piece(i) or abs(p.score - sp.get_score(i)) > 0 or (kind and p.type != kind):
            sys.exit(f"{model_path}: proto reader and sentencepiece disagree on piece {i}")
    if proto.trainer_spec.unk_id != sp.unk_id():
        sys.exit(f"{model_path}: proto reader found unk_id {proto.trainer_spec.unk_id}, sentencepiece {sp.unk_id()}")


def install_proto_shim() -> None:
    """Lets transformers read sentencepiece models without the protobuf package (see above)."""
    import transformers.convert_slow_tokenizer as conv
    from transformers.utils import import_utils

    if import_utils.is_protobuf_available():
        return  # transformers' own protobuf classes
    shim = types.ModuleType("ordertune_sentencepiece_model_pb2")
    shim.ModelProto = ModelProto
    conv.import_protobuf = lambda error_message="": shim
    # requires_backends(self, "protobuf") in SentencePieceExtractor checks the package itself.
    original = conv.requires_backends

    def requires_backends(obj, backends):
        backends = [backends] if isinstance(backends, str) else list(backends)
        return original(obj, [b for b in backends if b != "protobuf"])

    conv.requires_backends = requires_backends


def load_hf_tokenizer_from_spm(model_path: str, workdir: str):
    """transformers' XLMRobertaTokenizer built from a bare sentencepiece model, exactly as
    AutoTokenizer.from_pretrained builds it from a folder holding only sentencepiece.bpe.model
    (SentencePieceExtractor + XLMRobertaConverter.convert_from_spm + XLMRobertaTokenizer)."""
    import shutil

    from transformers import AutoTokenizer

    check_against_sentencepiece(model_path)
    install_proto_shim()
    os.makedirs(workdir, exist_ok=True)
    shutil.copyfile(model_path, os.path.join(workdir, "sentencepiece.bpe.model"))
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"model_type": "xlm-roberta"}, f)
    with open(os.path.join(workdir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "XLMRobertaTokenizer"}, f)
    return AutoTokenizer.from_pretrained(workdir)


def versions() -> dict:
    import tokenizers
    import transformers

    out = {"python": sys.version.split()[0], "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__}
    for name in ("sentencepiece", "torch", "safetensors"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            pass
    return out


class Worst:
    """The worst difference of one comparison, printed as one line: `worst <name>: <value> (<where>)`."""

    def __init__(self, name: str, tolerance: float = 0.0):
        self.name, self.tolerance, self.value, self.where, self.count = name, tolerance, 0.0, "", 0

    def add(self, value: float, where: str) -> None:
        self.count += 1
        if value > self.value or not self.where:
            self.value, self.where = value, where

    @property
    def ok(self) -> bool:
        return self.value <= self.tolerance

    def report(self) -> bool:
        verdict = "ok" if self.ok else "FAIL"
        over = f" over {self.count} comparisons" if self.count > 1 else ""
        print(f"worst {self.name}: {self.value:g}{over} (tolerance {self.tolerance:g}; "
              f"{self.where or '-'}): {verdict}")
        return self.ok

"""Reference tokenizations from Hugging Face transformers for ordertune's tokenizer (issue 14, §2).

What it writes (tests/data/hf/tokenizer/, committed; the default test run reads them without
pip or network: tests/unit/hf_tokenizer.test.cpp, tags [tokenizer][hf]):
  sentences.jsonl  the inputs: the demo suite's sentences (demo.txt) and the committed
                   multilingual set (multilingual.txt) with the generated special cases (runs of
                   whitespace, NFKC-sensitive characters, empty strings, very long words, ...)
  singles.jsonl    per sentence: XLMRobertaTokenizer's ids with <s> ... </s>, and the fast
                   tokenizer's offset mapping (characters, [begin, end) per token, specials
                   dropped)
  pairs.jsonl      per pair: ids of <s> A </s></s> B </s>, and the ids truncated longest-first to
                   max_length (HF truncation="longest_first")
  meta.json        the versions used, the model, the counts and the documented differences

Every tokenizer is built from multilingual.model (a sentencepiece unigram model trained by
`--train-model` on the sentences with the options of XlmrTokenizer::train) the way
AutoTokenizer.from_pretrained builds it from a folder holding sentencepiece.bpe.model
(hf_common.load_hf_tokenizer_from_spm). transformers 5 has one XLM-R tokenizer class, backed by
`tokenizers` (XLMRobertaTokenizerFast is the same class); the references are its output, checked
equal for XLMRobertaTokenizer, XLMRobertaTokenizerFast and AutoTokenizer, and compared with the
sentencepiece package's own encoding under transformers 4's slow-tokenizer id mapping
(sp.encode + fairseq offset), the algorithm of the removed slow XLMRobertaTokenizer.

Usage (the venv's python, from anywhere):
  python tests/hf/tokenizer_refs.py --demo-root data/demo   # refresh demo.txt from a demo suite
  python tests/hf/tokenizer_refs.py --train-model           # retrain multilingual.model
  python tests/hf/tokenizer_refs.py                         # regenerate the reference files
  python tests/hf/tokenizer_refs.py --check --unit-tests build/tests/unit_tests
      regenerate into a temporary folder, compare with the committed files (ids exact, offsets
      exact), then run ordertune's comparison (unit_tests "[hf]") against the fresh references;
      prints the worst difference of every comparison and exits non-zero on any failure.
Cost: a few seconds (training the model: about 10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(SOURCE, "tests", "data", "hf", "tokenizer")
MODEL = os.path.join(DATA, "multilingual.model")
PAIR_MAX_LENGTH = 24  # small enough that most pairs are truncated
# An odd budget (max_length - 4 specials), where transformers' two truncations part ways on pairs
# of equal length: the Python one (PreTrainedTokenizer.truncate_sequences: transformers 4's slow
# tokenizers, transformers 5's Python backend, and transformers 2.x that xtreme's scripts ran)
# keeps the extra token in the first sequence, the tokenizers (Rust) one in the second.
# ordertune keeps it in the first (src/text/featurizer.cpp, truncate_longest_first).
PAIR_MAX_LENGTH_ODD = 25
VOCAB_SIZE = 2000
# The literal strings of XLM-R's special tokens: transformers splits raw text on them, ordertune
# never does (task text is data, not markup: src/text/tokenizer.cpp), so no sentence holds one.
SPECIAL_STRINGS = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")


# ---- inputs ------------------------------------------------------------------------------------


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if not line.startswith("# ")]


def collect_demo(root: str) -> list[str]:
    """Sentences of a generated demo suite (data/demo of configs/demo.toml): MLM lines of every
    language, NLI premises and hypotheses, QA questions and contexts, tagging sentences."""
    out: list[str] = []
    mlm = os.path.join(root, "mlm")
    for lang in ("en", "sa", "sb", "sc"):
        out += read_lines(os.path.join(mlm, f"{lang}.txt"))[:150]
    for lang in ("en", "sa", "sb", "sc"):
        for line in read_lines(os.path.join(root, "xtreme", "xnli", f"test-{lang}.tsv"))[:50]:
            out += line.split("\t")[:2]
    for lang in ("en", "sa", "sb", "sc"):
        with open(os.path.join(root, "xtreme", "xquad", f"xquad.{lang}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        for article in doc["data"][:1]:
            for para in article["paragraphs"][:10]:
                out.append(para["context"])
                out += [qa["question"] for qa in para["qas"][:3]]
    for lang in ("sa", "sb"):
        words: list[str] = []
        for line in read_lines(os.path.join(root, "xtreme", "udpos", f"test-{lang}.tsv")):
            if line.strip():
                words.append(line.split("\t")[0])
            elif words:
                out.append(" ".join(words))
                words = []
                if len(out) > 1100:
                    break
    return out[:1000]


def special_cases() -> list[str]:
    """Whitespace runs, NFKC-sensitive characters, empty strings, very long words, controls."""
    ws = [" ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2003", "\u2009", "\u202f", "\u205f",
          "\u1680", "\u2028", "\u2029", "\u0085", "\u000b", "\u000c", "\u200b", "\ufeff"]
    out = ["", " ", "  ", "\t", "\n", "   \t  \n ", "\u3000", "\u00a0\u00a0"]
    for w in ws:
        out += [f"a{w}b", f"a{w}{w}{w}b", f"{w}lead", f"trail{w}", f"x {w} y", f"{w}"]
    out += ["word    with     many      spaces", "tabs\t\tand\t\t\tnewlines\n\n\nmixed \t\n here",
            "  leading and trailing  ", "\u200d\u200c zero width joiners \u200e\u200f marks",
            "soft\u00adhyphen", "control \x01\x02\x1f\x7f characters", "bell\x07 and escape\x1b",
            "ﬁne ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ", "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３！", "①②③ ⑩ ⑳ ⒜ Ⓐ ⓐ",
            "㎏ ㎝ ㎡ ㍿ ㌀ ㋀", "x² y³ H₂O a⁵ ₁₂", "Ⅻ ⅻ Ⅳ ⅳ", "ｶﾀｶﾅ ﾊﾟﾋﾟ ｧ ｰ",
            "e\u0301 vs \u00e9, a\u0308 vs \u00e4, n\u0303 vs \u00f1", "\u212b \u00c5 A\u030a",
            "\u212a kelvin, \u2126 ohm, \u00b5 micro, \u03bc mu", "½ ¼ ¾ ⅓ ⅞", "™ ℠ ℡ ℅",
            "ℌ ℍ ℕ ℙ ℚ ℝ ℤ", "ǅ ǆ Ǆ ǈ Ǌ", "… ‥ ․", "ﷺ ﷻ ﷲ", "ſ ẛ ß ẞ", "𝐀𝐁𝐂 𝒜𝒞 𝔄𝔅 𝕬 𝟎𝟏𝟐",
            "ﾟ ﾞ ゛ ゜", "ｈｅｌｌｏ　ｗｏｒｌｄ", "ﺍﻟﻌﺮﺑﻴﺔ (presentation forms)",
            "Å ﬀ ① ㎏ x² in one line", "한 글 ㄱ ㄴ ㅏ ᄀ ᅡ 가", "ＡＢＣ－ＸＹＺ＿１２３"]
    long_words = ["a" * 300, "Donaudampfschiffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
                  "pneumonoultramicroscopicsilicovolcanoconiosis " * 3,
                  "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
                  "ภาษาไทย" * 40, "漢字" * 120, "😀" * 60, "абвгдежзийклмнопрстуфхцчшщъыьэюя" * 8,
                  "x" + "é" * 200 + "y", "1234567890" * 30, "-" * 200, "ab" * 250 + " end"]
    rng = random.Random(14)
    letters = "abcdefghijklmnopqrstuvwxyzäöüßéèçñøåœ"
    long_words += ["".join(rng.choice(letters) for _ in range(n)) for n in (100, 257, 511, 1000)]
    return out + long_words


def multilingual_set(lines: list[str]) -> list[str]:
    """The committed multilingual lines and deterministic variants of them, plus special_cases."""
    rng = random.Random(2026)
    out = list(lines)
    out += [s.lower() for s in lines] + [s.upper() for s in lines]
    out += ["  ".join(s.split(" ")) for s in lines]
    out += ["\t" + s + "  " for s in lines]
    out += ["\u00a0".join(s.split(" ")) for s in lines]
    out += [unicodedata.normalize("NFD", s) for s in lines]
    out += [unicodedata.normalize("NFKC", s) for s in lines]
    out += [a + " " + b for a, b in zip(lines, lines[1:])]
    words = sorted({w for s in lines for w in s.split()})
    out += words
    for _ in range(200):
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))))
    return out + special_cases() + ["only A", "only B", "short", "x " * 100, "b"]


def build_sentences() -> list[dict]:
    demo = read_lines(os.path.join(DATA, "demo.txt"))
    multi = multilingual_set(read_lines(os.path.join(DATA, "multilingual.txt")))
    seen, out = set(), []
    for source, texts in (("demo", demo), ("multilingual", multi)):
        for t in texts:
            if t in seen:
                continue
            seen.add(t)
            if any(s in t for s in SPECIAL_STRINGS):
                sys.exit(f"sentence holds a special token's literal string: {t!r}")
            out.append({"source": source, "text": t})
    return out


def build_pairs(sentences: list[dict]) -> list[tuple[int, int]]:
    """Pairs of sentence indices: demo neighbours (NLI premise and hypothesis), random
    multilingual pairs, and pairs with empty and very long sides. Sentences on which transformers
    and sentencepiece differ (slow_difference) are left out: ordertune follows sentencepiece."""
    index = {s["text"]: i for i, s in enumerate(sentences)}
    usable = [i for i, s in enumerate(sentences) if not slow_difference(s["text"])]
    demo = [i for i in usable if sentences[i]["source"] == "demo"]
    multi = [i for i in usable if sentences[i]["source"] == "multilingual"]
    rng = random.Random(7)
    pairs = list(zip(demo[0:400:2], demo[1:400:2]))
    pairs += [(rng.choice(multi), rng.choice(multi)) for _ in range(300)]
    extra = [("", ""), ("", "only B"), ("only A", ""), ("a" * 300, "b"), ("short", "x " * 100)]
    pairs += [(index[a], index[b]) for a, b in extra]
    return pairs


def slow_difference(text: str) -> str:
    """Why transformers 5's XLM-R tokenizer may tokenize `text` unlike sentencepiece (which
    XLM-R was trained with, transformers 4's slow XLMRobertaTokenizer used and ordertune uses),
    or "" when it must not:
      * U+0085 (NEL): the WhitespaceSplit pre-tokenizer of transformers 5's XLMRobertaTokenizer
        splits on it (Rust's char::is_whitespace); sentencepiece's nmt_nfkc keeps it as a
        character (an <unk> piece);
      * text not in NFC: tokenizers' Precompiled normalizer applies sentencepiece's charsmap per
        grapheme, sentencepiece to the longest match over the whole string, so decomposed
        sequences (e + U+0301, Hangul jamo, kana + U+3099) normalize differently."""
    if "\x85" in text:
        return "U+0085 is whitespace to transformers 5's WhitespaceSplit, a character to sentencepiece"
    if unicodedata.normalize("NFC", text) != text:
        return "not NFC: tokenizers' Precompiled normalizer works per grapheme, sentencepiece on the string"
    return ""


# ---- references --------------------------------------------------------------------------------


def fairseq_ids_from_sentencepiece(sp, text: str) -> list[int]:
    """transformers 4's slow XLMRobertaTokenizer: sp_model.encode(text, out_type=str), each
    piece -> PieceToId + fairseq_offset (1), sentencepiece's unk (0) -> <unk> (3); <s> .. </s>."""
    ids = [sp.piece_to_id(p) for p in sp.encode(text, out_type=str)]
    return [0] + [i + 1 if i != 0 else 3 for i in ids] + [2]


def pair_ids(tok, a: str, b: str, max_length: int | None = None) -> list[int]:
    """<s> A </s></s> B </s> by transformers' tokenizer, longest-first truncated to max_length.
    tokenizer(a, "") treats an empty second text as none and returns a single sequence; ordertune
    keeps the pair layout for every example of a pair task (<s> A </s></s></s>), so pairs with an
    empty B are encoded by the same tokenizer's backend (its pair template) instead."""
    if b:
        kwargs = {"truncation": "longest_first", "max_length": max_length} if max_length else {}
        return tok(a, b, **kwargs)["input_ids"]
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    if max_length:
        backend.enable_truncation(max_length, strategy="longest_first")
    else:
        backend.no_truncation()
    return backend.encode(a, b).ids


def python_truncation(tok, a: str, b: str, max_length: int) -> list[int]:
    """<s> A </s></s> B </s> truncated by transformers' Python longest_first
    (tokenization_python.PreTrainedTokenizer.truncate_sequences) on the tokenizer's own ids."""
    import types

    from transformers.tokenization_python import PreTrainedTokenizer

    ids_a = tok(a, add_special_tokens=False)["input_ids"]
    ids_b = tok(b, add_special_tokens=False)["input_ids"]
    remove = len(ids_a) + len(ids_b) + 4 - max_length
    if remove > 0:
        side = types.SimpleNamespace(truncation_side="right")
        ids_a, ids_b, _ = PreTrainedTokenizer.truncate_sequences(side, ids_a, ids_b, remove, "longest_first")
    return [tok.cls_token_id] + ids_a + [tok.sep_token_id] * 2 + ids_b + [tok.sep_token_id]


def make_references(out_dir: str, workdir: str) -> dict:
    import sentencepiece as spm
    import transformers

    tok = hf_common.load_hf_tokenizer_from_spm(MODEL, os.path.join(workdir, "spm-only"))
    # The same tokenizer saved and reloaded under each name transformers offers for it.
    saved = os.path.join(workdir, "saved")
    tok.save_pretrained(saved)
    others = {"XLMRobertaTokenizer": transformers.XLMRobertaTokenizer.from_pretrained(saved),
              "XLMRobertaTokenizerFast": transformers.XLMRobertaTokenizerFast.from_pretrained(saved),
              "AutoTokenizer": transformers.AutoTokenizer.from_pretrained(saved)}
    sp = spm.SentencePieceProcessor(model_file=MODEL)

    sentences = build_sentences()
    pairs = build_pairs(sentences)
    os.makedirs(out_dir, exist_ok=True)
    differ_names, differ_slow, unexplained, odd_differs = 0, {}, [], 0
    with open(os.path.join(out_dir, "sentences.jsonl"), "w", encoding="utf-8") as f:
        for s in sentences:
            f.write(json.dumps(s, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(out_dir, "singles.jsonl"), "w", encoding="utf-8") as f:
        for i, s in enumerate(sentences):
            enc = tok(s["text"], return_offsets_mapping=True)
            ids = enc["input_ids"]
            for name, other in others.items():
                if other(s["text"])["input_ids"] != ids:
                    differ_names += 1
                    print(f"{name} differs from the converted tokenizer on sentence {i}")
            row = {"i": i, "ids": ids,
                   "offsets": [x for b, e in enc["offset_mapping"][1:-1] for x in (b, e)]}
            if unicodedata.normalize("NFC", s["text"]) != s["text"]:
                # A character composed from several (a + U+0301 -> á) is aligned by tokenizers'
                # Precompiled normalizer with the first of them only, by sentencepiece with all.
                row["offsets_differ"] = ("not NFC: the fast tokenizer's offsets of a composed "
                                         "character leave out its combining marks")
            elif s["text"] and tok.backend_tokenizer.normalizer.normalize_str(s["text"][0]) == "":
                # "\vlead": tokenizers' alignment of a deleted first character shifts the first
                # word's offsets onto it ((0, 2) for "le"); ordertune's cover "le" itself.
                row["offsets_differ"] = ("starts with a character the normalizer deletes: the fast "
                                         "tokenizer's offsets of the first word are shifted onto it")
            slow = fairseq_ids_from_sentencepiece(sp, s["text"])
            if slow != ids:
                reason = slow_difference(s["text"])
                if not reason:
                    unexplained.append(i)
                differ_slow[reason] = differ_slow.get(reason, 0) + 1
                # ordertune is checked against these (sentencepiece = the tokenizer XLM-R was
                # trained with), and the reason is printed by the test.
                row.update(ids_slow=slow, differs=reason)
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(out_dir, "pairs.jsonl"), "w", encoding="utf-8") as f:
        for a, b in pairs:
            ta, tb = sentences[a]["text"], sentences[b]["text"]
            full = pair_ids(tok, ta, tb)
            cut = pair_ids(tok, ta, tb, PAIR_MAX_LENGTH)
            for name, other in others.items():
                if pair_ids(other, ta, tb) != full:
                    differ_names += 1
                    print(f"{name} differs from the converted tokenizer on pair {a}, {b}")
            row = {"a": a, "b": b, "ids": full, "max_length": PAIR_MAX_LENGTH, "ids_truncated": cut,
                   "max_length_odd": PAIR_MAX_LENGTH_ODD}
            fast_odd = pair_ids(tok, ta, tb, PAIR_MAX_LENGTH_ODD)
            slow_odd = python_truncation(tok, ta, tb, PAIR_MAX_LENGTH_ODD)
            row["ids_truncated_odd"] = slow_odd
            if fast_odd != slow_odd:
                row["ids_truncated_odd_fast"] = fast_odd
                odd_differs += 1
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    if unexplained:
        sys.exit(f"transformers and sentencepiece differ on sentences {unexplained} for no known reason")
    meta = {
        "versions": hf_common.versions(),
        "model": "multilingual.model",
        "sentences": len(sentences),
        "demo_sentences": sum(s["source"] == "demo" for s in sentences),
        "pairs": len(pairs),
        "tokenizer_classes_equal": differ_names == 0,
        "transformers_differs_from_sentencepiece": differ_slow,
        "pairs_where_rust_and_python_longest_first_differ_at_max_length_odd": odd_differs,
    }
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(sentences)} sentences ({meta['demo_sentences']} from the demo), {len(pairs)} pairs; "
          f"transformers {transformers.__version__}")
    print(f"worst XLMRobertaTokenizer/XLMRobertaTokenizerFast/AutoTokenizer disagreement: {differ_names} "
          f"sequences; transformers differs from sentencepiece (documented) on "
          f"{sum(differ_slow.values())} of {len(sentences)} sentences")
    return meta


def train_model() -> None:
    """multilingual.model: unigram, XLM-R's special layout, options of XlmrTokenizer::train."""
    import sentencepiece as spm

    texts = [s["text"] for s in build_sentences()]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            # Training sees all but the special cases, so that some characters stay <unk>.
            held_out = set(special_cases())
            for t in texts:
                if t.strip() and t not in held_out:
                    f.write(t.replace("\n", " ") + "\n")
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=os.path.join(tmp, "m"), vocab_size=VOCAB_SIZE,
            model_type="unigram", unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
            input_sentence_size=0, shuffle_input_sentence=False, character_coverage=1.0,
            minloglevel=1)
        with open(os.path.join(tmp, "m.model"), "rb") as src, open(MODEL, "wb") as dst:
            dst.write(src.read())
    print(f"{MODEL}: {os.path.getsize(MODEL)} bytes, {VOCAB_SIZE} pieces")


def compare_files(committed: str, fresh: str) -> bool:
    """Committed reference files against freshly generated ones: equal line by line."""
    ok = True
    for name in ("sentences.jsonl", "singles.jsonl", "pairs.jsonl"):
        worst = hf_common.Worst(f"regenerated {name} lines differing from the committed file")
        with open(os.path.join(committed, name), encoding="utf-8") as a, \
                open(os.path.join(fresh, name), encoding="utf-8") as b:
            la, lb = a.readlines(), b.readlines()
        if len(la) != len(lb):
            worst.add(abs(len(la) - len(lb)), "line count")
        bad = [i for i, (x, y) in enumerate(zip(la, lb)) if x != y]
        worst.add(len(bad), f"line {bad[0] + 1}" if bad else "-")
        ok &= worst.report()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-root", help="refresh demo.txt from this generated demo suite (data/demo)")
    ap.add_argument("--train-model", action="store_true", help="retrain multilingual.model")
    ap.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare")
    ap.add_argument("--unit-tests", help="with --check: ordertune's unit_tests binary to run against the fresh files")
    args = ap.parse_args()
    if args.unit_tests and not os.access(args.unit_tests, os.X_OK):
        print(f"--unit-tests {args.unit_tests}: expected the unit_tests executable, found none", file=sys.stderr)
        return 2
    if args.demo_root:
        if not os.path.isdir(os.path.join(args.demo_root, "mlm")):
            print(f"{args.demo_root}: expected a demo suite (with mlm/), found none", file=sys.stderr)
            return 2
        with open(os.path.join(DATA, "demo.txt"), "w", encoding="utf-8") as f:
            f.write("# Sentences of the demo suite (data/demo of configs/demo.toml), collected by\n"
                    "# tests/hf/tokenizer_refs.py --demo-root data/demo.\n")
            for t in collect_demo(args.demo_root):
                f.write(t + "\n")
        return 0
    if args.train_model:
        train_model()
        return 0
    with tempfile.TemporaryDirectory() as work:
        if not args.check:
            make_references(DATA, work)
            return 0
        fresh = os.path.join(work, "fresh")
        make_references(fresh, work)
        ok = compare_files(DATA, fresh)
        if args.unit_tests:
            env = dict(os.environ, ORDERTUNE_HF_TOKENIZER_DATA=fresh)
            run = subprocess.run([args.unit_tests, "[tokenizer][hf]"], env=env, capture_output=True, text=True)
            for line in (run.stdout + run.stderr).splitlines():
                if line.startswith("worst ") or "FAILED" in line or "passed" in line or "failed" in line:
                    print(line)
            ok &= run.returncode == 0
        print("hf:tokenizer " + ("passed" if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

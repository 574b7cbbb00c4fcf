"""QA window features for ordertune's featurizer, as google-research/xtreme's run_squad.py makes
them with transformers' XLM-R tokenizer (issue 14, §2).

transformers 5 no longer ships a SQuAD feature conversion (transformers.data.processors.squad
was removed), and ordertune's QA windows follow xtreme's run_squad.py anyway, whose
third_party/processors/squad.py (a copy of transformers 2.x's squad_convert_example_to_features)
differs from the later transformers one. So the reference here is xtreme's algorithm, restated
below for transformers 5's tokenizer (its encode_plus(..., stride, return_overflowing_tokens)
call is written out as the window arithmetic it performs):
  * the context is split into words on xtreme's whitespace (" ", \\t, \\r, \\n, U+202F) and every
    word is tokenized on its own (tokenizer.tokenize(word));
  * the question is cut to its first max_query_length tokens (q);
  * window k starts at k * doc_stride context tokens and holds up to
    max_seq_length - q - 4 of them: <s> question </s></s> context </s>; the last window is the
    first that reaches the end of the context;
  * answer positions (training features): ordertune places them by character offsets as
    transformers' examples/pytorch/question-answering/run_qa.py does (the last token starting at
    or before the answer's start, the first token from the window's end on that ends at or after
    the answer's end; 0, 0 = <s> when the window does not hold the answer), with the fast
    tokenizer's offset mapping, both scans kept within the window's context tokens (run_qa.py's
    start scan runs on into </s> and padding, whose offsets are (0, 0), when the answer starts in
    the window's last token). These are the references. xtreme's run_squad.py instead maps the
    answer's words (char_to_word_offset) to their first sub-tokens and narrows them with
    _improve_answer_span; the two differ when a word is tokenized as a lone "▁" and pieces (xtreme
    starts at the "▁", run_qa.py at the first piece with characters): where they differ the
    xtreme positions are stored as well (xtreme_start_positions, xtreme_end_positions) and the
    test prints how many.
Semantic differences with ordertune, kept out of the inputs and listed in meta.json: a context
without tokens gets no window in xtreme (ordertune: one, so every example gets a prediction); a
doc_stride longer than a window skips tokens in xtreme (ordertune steps by the window); ordertune
tokenizes the context as one string and places answers by byte offsets (HF run_qa.py's rule),
which equals the per-word tokenization and _improve_answer_span for answers made of whole words
in NFC text without U+0085, which is what the inputs hold.

Writes tests/data/hf/qa/ (committed; tests/unit/hf_tokenizer.test.cpp reads it):
  examples.jsonl  question, context, answer text and its character start
  features.jsonl  per example and setting: the windows' ids and start/end positions
  meta.json       versions, settings, counts
Usage: .venv/bin/python tests/hf/qa_refs.py [--check --unit-tests build/tests/unit_tests]
       (--demo-root data/demo refreshes demo_qa.jsonl from a generated demo suite)
Cost: a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_common  # noqa: E402
import tokenizer_refs  # noqa: E402

SOURCE = tokenizer_refs.SOURCE
DATA = os.path.join(SOURCE, "tests", "data", "hf", "qa")
# (max_seq_length, doc_stride, max_query_length): small windows so that short contexts span many,
# and the demo's (configs/demo.toml qa_max_length, qa_stride, qa_max_query_length).
SETTINGS = [(48, 16, 12), (192, 64, 32)]


def is_whitespace(c: str) -> bool:  # xtreme's squad.py _is_whitespace
    return c in (" ", "\t", "\r", "\n") or ord(c) == 0x202F


def squad_words(context: str) -> tuple[list[str], list[int]]:
    """SquadExample.__init__: doc_tokens and char_to_word_offset."""
    doc_tokens: list[str] = []
    char_to_word: list[int] = []
    prev_ws = True
    for c in context:
        if is_whitespace(c):
            prev_ws = True
        else:
            if prev_ws:
                doc_tokens.append(c)
            else:
                doc_tokens[-1] += c
            prev_ws = False
        char_to_word.append(len(doc_tokens) - 1)
    return doc_tokens, char_to_word


def improve_answer_span(doc_tokens, start, end, tokenizer, answer):  # _improve_answer_span
    tok_answer = " ".join(tokenizer.tokenize(answer))
    for new_start in range(start, end + 1):
        for new_end in range(end, new_start - 1, -1):
            if " ".join(doc_tokens[new_start:new_end + 1]) == tok_answer:
                return new_start, new_end
    return start, end


def xtreme_features(tok, ex: dict, max_seq_length: int, doc_stride: int, max_query_length: int) -> dict:
    """squad_convert_example_to_features(is_training=True) of xtreme's squad.py, for XLM-R."""
    words, char_to_word = squad_words(ex["context"])
    start_word = char_to_word[ex["answer_start"]]
    end_word = char_to_word[min(ex["answer_start"] + len(ex["answer"]) - 1, len(char_to_word) - 1)]
    orig_to_tok, all_tokens = [], []
    for w in words:
        orig_to_tok.append(len(all_tokens))
        all_tokens += tok.tokenize(w)
    tok_start = orig_to_tok[start_word]
    tok_end = orig_to_tok[end_word + 1] - 1 if end_word < len(words) - 1 else len(all_tokens) - 1
    tok_start, tok_end = improve_answer_span(all_tokens, tok_start, tok_end, tok, ex["answer"])
    query = tok.encode(ex["question"], add_special_tokens=False)[:max_query_length]
    doc_ids = tok.convert_tokens_to_ids(all_tokens)
    # run_qa.py's offsets: the fast tokenizer's offset mapping of the whole context, which must
    # give the same tokens as the per-word tokenization (true for the inputs, see above).
    enc = tok(ex["context"], add_special_tokens=False, return_offsets_mapping=True)
    assert enc["input_ids"] == doc_ids, "per-word and whole-context tokens differ"
    offsets = enc["offset_mapping"]
    start_char, end_char = ex["answer_start"], ex["answer_start"] + len(ex["answer"])
    windows, starts, ends, x_starts, x_ends = [], [], [], [], []
    n = len(all_tokens)
    while len(windows) * doc_stride < n:
        begin = len(windows) * doc_stride
        length = min(n - begin, max_seq_length - len(query) - 4)
        windows.append([tok.cls_token_id] + query + [tok.sep_token_id] * 2 + doc_ids[begin:begin + length]
                       + [tok.sep_token_id])
        first = len(query) + 3  # <s> query </s></s>
        if tok_start >= begin and tok_end <= begin + length - 1:
            x_starts.append(tok_start - begin + first)
            x_ends.append(tok_end - begin + first)
        else:
            x_starts.append(0)
            x_ends.append(0)
        # transformers' examples/pytorch/question-answering/run_qa.py, prepare_train_features.
        window = offsets[begin:begin + length]
        if not window or not (window[0][0] <= start_char and window[-1][1] >= end_char):
            starts.append(0)
            ends.append(0)
        else:
            i = 0
            while i < len(window) and window[i][0] <= start_char:
                i += 1
            j = len(window) - 1
            while j >= 0 and window[j][1] >= end_char:  # run_qa stops at the </s> before the context
                j -= 1
            starts.append(first + i - 1)
            ends.append(first + j + 1)
        if begin + length >= n:  # nothing overflowed: encode_plus returned no overflowing_tokens
            break
    out = {"windows": windows, "start_positions": starts, "end_positions": ends}
    if (x_starts, x_ends) != (starts, ends):
        out.update(xtreme_start_positions=x_starts, xtreme_end_positions=x_ends)
    return out


def collect_demo_qa(root: str) -> list[dict]:
    out = []
    for lang in ("en", "sa", "sb", "sc"):
        with open(os.path.join(root, "xtreme", "xquad", f"xquad.{lang}.json"), encoding="utf-8") as f:
            doc = json.load(f)
        for article in doc["data"][:2]:
            for para in article["paragraphs"][:3]:
                for qa in para["qas"][:2]:
                    a = qa["answers"][0]
                    out.append({"question": qa["question"], "context": para["context"],
                                "answer": a["text"], "answer_start": a["answer_start"]})
    return out


def multilingual_qa() -> list[dict]:
    """Contexts of several multilingual sentences; the answer is a run of 1-3 whole words."""
    lines = [t for t in tokenizer_refs.read_lines(os.path.join(tokenizer_refs.DATA, "multilingual.txt"))
             if not tokenizer_refs.slow_difference(t)]
    rng = random.Random(11)
    out = []
    for _ in range(120):
        context = " ".join(rng.sample(lines, rng.randint(1, 6)))
        spans, pos = [], 0
        for w in context.split(" "):
            spans.append((pos, w))
            pos += len(w) + 1
        i = rng.randrange(len(spans))
        j = min(len(spans), i + rng.randint(1, 3))
        start = spans[i][0]
        answer = context[start:spans[j - 1][0] + len(spans[j - 1][1])]
        out.append({"question": rng.choice(lines), "context": context, "answer": answer, "answer_start": start})
    return out


def make_references(out_dir: str, workdir: str) -> None:
    tok = hf_common.load_hf_tokenizer_from_spm(tokenizer_refs.MODEL, os.path.join(workdir, "spm-only"))
    with open(os.path.join(DATA, "demo_qa.jsonl"), encoding="utf-8") as f:
        examples = [json.loads(line) for line in f]
    examples += multilingual_qa()
    os.makedirs(out_dir, exist_ok=True)
    windows, xtreme_differs = 0, 0
    with open(os.path.join(out_dir, "examples.jsonl"), "w", encoding="utf-8") as fe, \
            open(os.path.join(out_dir, "features.jsonl"), "w", encoding="utf-8") as ff:
        for i, ex in enumerate(examples):
            assert ex["context"][ex["answer_start"]:].startswith(ex["answer"]), ex
            fe.write(json.dumps(ex, ensure_ascii=False, separators=(",", ":")) + "\n")
            for max_seq, stride, max_query in SETTINGS:
                feat = xtreme_features(tok, ex, max_seq, stride, max_query)
                windows += len(feat["windows"])
                xtreme_differs += "xtreme_start_positions" in feat
                ff.write(json.dumps({"example": i, "max_seq_length": max_seq, "doc_stride": stride,
                                     "max_query_length": max_query, **feat}, separators=(",", ":")) + "\n")
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": hf_common.versions(), "model": "../tokenizer/multilingual.model",
                   "reference": "google-research/xtreme third_party/processors/squad.py "
                                "(squad_convert_example_to_features, is_training=True)",
                   "positions": "transformers' run_qa.py offset rule (xtreme's where equal)",
                   "feature_sets_where_xtreme_positions_differ": xtreme_differs,
                   "settings": SETTINGS, "examples": len(examples), "windows": windows}, f, indent=1)
        f.write("\n")
    print(f"{len(examples)} QA examples, {windows} windows over {len(SETTINGS)} settings; xtreme's answer "
          f"positions differ from run_qa.py's in {xtreme_differs} (example, setting) feature sets")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-root", help="refresh demo_qa.jsonl from this generated demo suite (data/demo)")
    ap.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare")
    ap.add_argument("--unit-tests", help="with --check: ordertune's unit_tests binary to run against the fresh files")
    args = ap.parse_args()
    if args.unit_tests and not os.access(args.unit_tests, os.X_OK):
        print(f"--unit-tests {args.unit_tests}: expected the unit_tests executable, found none", file=sys.stderr)
        return 2
    if args.demo_root:
        if not os.path.isdir(os.path.join(args.demo_root, "xtreme", "xquad")):
            print(f"{args.demo_root}: expected a demo suite (with xtreme/xquad/), found none", file=sys.stderr)
            return 2
        os.makedirs(DATA, exist_ok=True)
        with open(os.path.join(DATA, "demo_qa.jsonl"), "w", encoding="utf-8") as f:
            for ex in collect_demo_qa(args.demo_root):
                f.write(json.dumps(ex, ensure_ascii=False, separators=(",", ":")) + "\n")
        return 0
    with tempfile.TemporaryDirectory() as work:
        if not args.check:
            make_references(DATA, work)
            return 0
        fresh = os.path.join(work, "fresh")
        make_references(fresh, work)
        ok = True
        for name in ("examples.jsonl", "features.jsonl"):
            with open(os.path.join(DATA, name), encoding="utf-8") as a, open(os.path.join(fresh, name), encoding="utf-8") as b:
                la, lb = a.readlines(), b.readlines()
            bad = [i for i in range(max(len(la), len(lb))) if i >= len(la) or i >= len(lb) or la[i] != lb[i]]
            w = hf_common.Worst(f"regenerated qa {name} lines differing from the committed file")
            w.add(len(bad), f"line {bad[0] + 1}" if bad else "-")
            ok &= w.report()
        if args.unit_tests:
            env = dict(os.environ, ORDERTUNE_HF_QA_DATA=fresh)
            run = subprocess.run([args.unit_tests, "[qa][hf]"], env=env, capture_output=True, text=True)
            for line in (run.stdout + run.stderr).splitlines():
                if line.startswith("worst ") or "FAILED" in line or "passed" in line or "failed" in line:
                    print(line)
            ok &= run.returncode == 0
        print("hf:qa " + ("passed" if ok else "FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

// Tests of the featurizer (src/featurizer.cpp) on the tiny sentencepiece model of
// tests/data/tokenizer (see tokenizer.test.cpp). Expected ids were derived by hand from
// tiny.vocab / `spm_encode --output_format=id`, + 1 for fairseq's offset. The words used are
// single pieces, so a word is a token:
//   the 4  cat 45  dog 31  river 21  market 20  book 38  town 70  question 29  answer 30
//   a 11  in 8  morning 39  evening 67    "Paris" -> ▁ P a ri s = 5 65 15 61 7
//   "the cat sat on the mat" -> 4 45 28 55 14 16 4 74 52
//   "the market opened early" -> 4 20 14 60 56 32 5 23 12 13
// Layouts: <s>=0, </s>=2, <unk>=3.
#include <algorithm>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/text/featurizer.h"
#include "test_paths.h"

using namespace ordertune;

namespace {

const XlmrTokenizer& tiny_tokenizer() {
  static const XlmrTokenizer tok =
      XlmrTokenizer::from_file(testing::test_data() / "tokenizer" / "tiny.model");
  return tok;
}

TaskSpec spec_of(TaskType type, int num_choices = 0) {
  TaskSpec spec;
  spec.name = "t";
  spec.type = type;
  spec.num_choices = num_choices;
  return spec;
}

template <typename T>
std::vector<T> row(const Ragged<T>& r, size_t i) {
  return std::vector<T>(r.row(i), r.row(i) + r.row_size(i));
}

using Ids = std::vector<int32_t>;
using Offsets = std::vector<int64_t>;

}  // namespace

TEST_CASE("classification pairs are truncated longest-first", "[featurizer]") {
  const std::vector<std::string> labels = {"entailment", "neutral", "contradiction"};
  RawSplit raw;
  raw.type = TaskType::kClassification;
  raw.classification = {
      {"a", "the cat sat on the mat", "the dog", "neutral", {"train.jsonl", 1}},
      {"b", "the cat the dog the river", "the market opened early", "", {"train.jsonl", 2}},
      {"c", "the town", "a book", "contradiction", {"train.jsonl", 3}},
  };
  FeaturizerOptions opt;
  opt.max_length = 10;  // 6 tokens for A + B
  const auto f =
      Featurizer(tiny_tokenizer(), opt).featurize(spec_of(TaskType::kClassification), labels, raw);
  REQUIRE(f.type == TaskType::kClassification);
  const auto& c = f.classification;
  REQUIRE(c.input_ids.rows() == 3);
  // 9 + 2 tokens: only A is longer, it loses 5.
  CHECK(row(c.input_ids, 0) == Ids{0, 4, 45, 28, 55, 2, 2, 4, 31, 2});
  // 6 + 10: B loses 4 to tie at 6 + 6, then B, A, B, A, B, A: 3 + 3.
  CHECK(row(c.input_ids, 1) == Ids{0, 4, 45, 4, 2, 2, 4, 20, 14, 2});
  // Fits: untouched.
  CHECK(row(c.input_ids, 2) == Ids{0, 4, 70, 2, 2, 11, 38, 2});
  CHECK(c.labels == Ids{1, -1, 2});
  CHECK(c.ids == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("single-text classification is <s> A </s>", "[featurizer]") {
  RawSplit raw;
  raw.type = TaskType::kClassification;
  raw.classification = {{"a", "the cat sat on the mat", "", "1", {"sst.tsv", 2}},
                        {"b", "the dog", "", "0", {"sst.tsv", 3}}};
  FeaturizerOptions opt;
  opt.max_length = 5;
  const auto f = Featurizer(tiny_tokenizer(), opt)
                     .featurize(spec_of(TaskType::kClassification), {"0", "1"}, raw);
  CHECK(row(f.classification.input_ids, 0) == Ids{0, 4, 45, 28, 2});
  CHECK(row(f.classification.input_ids, 1) == Ids{0, 4, 31, 2});
  CHECK(f.classification.labels == Ids{1, 0});
}

TEST_CASE("an unknown label names the file, the line, the label set and the label",
          "[featurizer]") {
  RawSplit raw;
  raw.type = TaskType::kClassification;
  raw.classification = {{"a", "the cat", "the dog", "neutral", {"data/mnli/train.jsonl", 6}},
                        {"b", "the cat", "the dog", "maybe", {"data/mnli/train.jsonl", 7}}};
  const Featurizer featurizer(tiny_tokenizer(), FeaturizerOptions{});
  const std::vector<std::string> labels = {"entailment", "neutral", "contradiction"};
  REQUIRE_THROWS_AS(featurizer.featurize(spec_of(TaskType::kClassification), labels, raw),
                    DataError);
  REQUIRE_THROWS_WITH(
      featurizer.featurize(spec_of(TaskType::kClassification), labels, raw),
      "data/mnli/train.jsonl:7: expected a label in ['entailment', 'neutral', 'contradiction'], "
      "found 'maybe'");
}

TEST_CASE("tagging puts each word's tag on its first sub-token", "[featurizer]") {
  const std::vector<std::string> tags = {"DET", "NOUN", "PROPN", "X"};
  RawSplit raw;
  raw.type = TaskType::kTagging;
  // U+200B (zero-width space) is removed by sentencepiece's normalizer: no token -> <unk>.
  raw.tagging = {
      {"s1", {"the", "Paris", "\xE2\x80\x8B", "dog"}, {"DET", "PROPN", "X", "NOUN"}, {"en.tsv", 1}},
      {"s2", {"the", "cat"}, {}, {"en.tsv", 6}},
  };
  const auto spec = spec_of(TaskType::kTagging);

  SECTION("alignment, a word without tokens, an unlabeled sentence") {
    const auto f = Featurizer(tiny_tokenizer(), FeaturizerOptions{}).featurize(spec, tags, raw);
    const auto& t = f.tagging;
    REQUIRE(t.input_ids.rows() == 2);
    CHECK(row(t.input_ids, 0) == Ids{0, 4, 5, 65, 15, 61, 7, 3, 31, 2});
    CHECK(row(t.word_index, 0) == Ids{-1, 0, 1, -1, -1, -1, -1, 2, 3, -1});
    CHECK(row(t.word_labels, 0) == Ids{0, 2, 3, 1});
    CHECK(row(t.input_ids, 1) == Ids{0, 4, 45, 2});
    CHECK(row(t.word_index, 1) == Ids{-1, 0, 1, -1});
    CHECK(row(t.word_labels, 1) == Ids{-1, -1});
    CHECK(t.ids == std::vector<std::string>{"s1", "s2"});
  }
  SECTION("truncation keeps a label for every word, tokens only for those that fit") {
    FeaturizerOptions opt;
    opt.max_length = 6;  // 4 tokens: "the" and 3 of Paris's 5
    const auto f = Featurizer(tiny_tokenizer(), opt).featurize(spec, tags, raw);
    const auto& t = f.tagging;
    CHECK(row(t.input_ids, 0) == Ids{0, 4, 5, 65, 15, 2});
    CHECK(row(t.word_index, 0) == Ids{-1, 0, 1, -1, -1, -1});
    CHECK(row(t.word_labels, 0) == Ids{0, 2, 3, 1});
  }
  SECTION("an unknown tag and a tag count that differs from the word count") {
    raw.tagging[1].tags = {"DET", "VERB"};
    const Featurizer featurizer(tiny_tokenizer(), FeaturizerOptions{});
    REQUIRE_THROWS_WITH(featurizer.featurize(spec, tags, raw),
                        "en.tsv:6: expected a tag in ['DET', 'NOUN', 'PROPN', 'X'], found 'VERB'");
    raw.tagging[1].tags = {"DET"};
    REQUIRE_THROWS_WITH(featurizer.featurize(spec, tags, raw),
                        "en.tsv:6: expected one tag per word (2 words), found 1 tags");
  }
  SECTION("in a CoNLL-style file the unknown tag's own line is named, not its sentence's first") {
    raw.tagging[1].tags = {"DET", "VERB"};
    raw.tagging[1].line_per_word = true;  // as the conll reader marks its sentences
    const Featurizer featurizer(tiny_tokenizer(), FeaturizerOptions{});
    REQUIRE_THROWS_WITH(featurizer.featurize(spec, tags, raw),
                        "en.tsv:7: expected a tag in ['DET', 'NOUN', 'PROPN', 'X'], found 'VERB'");
  }
  SECTION("collect_labels: the sorted set of tags") {
    raw.tagging[1].tags = {"DET", "ADJ"};
    CHECK(collect_labels(raw) == std::vector<std::string>{"ADJ", "DET", "NOUN", "PROPN", "X"});
  }
}

TEST_CASE("an open tag set maps a tag the training split lacks to its last entry, counted",
          "[featurizer]") {
  // CCG: the tag set is the training split's plus kUnseenTag; a dev tag outside it was once fatal.
  RawSplit raw;
  raw.type = TaskType::kTagging;
  raw.tagging = {{"s1", {"the", "cat", "", "sat"}, {"NP/N", "N", "N", "S\\NP"}, {"ccg.dev", 3}}};
  const Featurizer featurizer(tiny_tokenizer(), FeaturizerOptions{});
  const std::vector<std::string> open = {"N", "NP/N", kUnseenTag};
  int64_t unseen = 0;
  const auto f = featurizer.featurize(spec_of(TaskType::kTagging), open, raw, &unseen);
  CHECK(unseen == 1);
  CHECK(row(f.tagging.word_labels, 0) == Ids{1, 0, 0, 2});  // S\NP -> <unseen> (index 2)
  // The empty word (PAN-X strips a whitespace-only token to "") keeps its tag and gets <unk>.
  const Ids index = row(f.tagging.word_index, 0);
  const auto at = std::find(index.begin(), index.end(), 2) - index.begin();
  REQUIRE(at < static_cast<std::ptrdiff_t>(index.size()));
  CHECK(row(f.tagging.input_ids, 0)[static_cast<size_t>(at)] == 3);  // <unk>
  // A closed set still refuses it.
  const std::vector<std::string> closed = {"N", "NP/N"};
  CHECK_THROWS_WITH(featurizer.featurize(spec_of(TaskType::kTagging), closed, raw),
                    Catch::Contains("ccg.dev:3: expected a tag in ['N', 'NP/N'], found 'S\\NP'"));
}

TEST_CASE("multiple choice is one (prompt, choice) pair per choice", "[featurizer]") {
  RawSplit raw;
  raw.type = TaskType::kMultipleChoice;
  raw.multiple_choice = {
      {"q1", "the cat", {"the dog", "the river", "the market"}, 2, {"mc.jsonl", 1}},
      {"q2", "in the morning", {"a book", "the town", "the evening"}, -1, {"mc.jsonl", 2}},
  };
  const Featurizer featurizer(tiny_tokenizer(), FeaturizerOptions{});

  SECTION("layout, example-major") {
    const auto f = featurizer.featurize(spec_of(TaskType::kMultipleChoice), {}, raw);
    const auto& mc = f.multiple_choice;
    CHECK(mc.num_choices == 3);
    REQUIRE(mc.input_ids.rows() == 6);
    CHECK(row(mc.input_ids, 0) == Ids{0, 4, 45, 2, 2, 4, 31, 2});
    CHECK(row(mc.input_ids, 1) == Ids{0, 4, 45, 2, 2, 4, 21, 2});
    CHECK(row(mc.input_ids, 2) == Ids{0, 4, 45, 2, 2, 4, 20, 2});
    CHECK(row(mc.input_ids, 3) == Ids{0, 8, 4, 39, 2, 2, 11, 38, 2});
    CHECK(row(mc.input_ids, 5) == Ids{0, 8, 4, 39, 2, 2, 4, 67, 2});
    CHECK(mc.labels == Ids{2, -1});
  }
  SECTION("a different number of choices is an error at the example") {
    raw.multiple_choice[1].choices.pop_back();
    REQUIRE_THROWS_WITH(
        featurizer.featurize(spec_of(TaskType::kMultipleChoice), {}, raw),
        "mc.jsonl:2: expected 3 choices (as the split's first example has), found 2 choices");
    raw.multiple_choice[1].choices.push_back("the town");
    REQUIRE_THROWS_WITH(featurizer.featurize(spec_of(TaskType::kMultipleChoice, 4), {}, raw),
                        "mc.jsonl:1: expected 4 choices (as the task specifies), found 3 choices");
  }
}

// The context "the cat the dog the river the market the book the town" is 12 one-piece words:
// token k is word k, at bytes  0 4 8 12 16 20 26 30 37 41 46 50  (ends 3 7 11 15 19 25 29 36 40
// 45 49 54). The question "the question the answer" is cut to 2 tokens (4 29), so a window is
// <s> 4 29 </s></s> context </s> and its context starts at token 5. qa_max_length = 11 leaves
// W = 11 - 2 - 4 = 5 context tokens a window.
TEST_CASE("QA windows follow run_squad's doc_stride", "[featurizer]") {
  const std::string context = "the cat the dog the river the market the book the town";
  RawSplit raw;
  raw.type = TaskType::kExtractiveQA;
  QAExample e;
  e.id = "q1";
  e.question = "the question the answer";
  e.context = context;
  e.where = {"squad.json", 3};
  raw.qa = {e, e, e};
  raw.qa[0].answer_texts = {"river the market"};  // tokens 5..7
  raw.qa[0].answer_starts = {20};
  raw.qa[1].answer_texts = {"book the town", "book"};  // tokens 9..11
  raw.qa[1].answer_starts = {41, 41};
  raw.qa[2].is_impossible = true;
  FeaturizerOptions opt;
  opt.qa_max_length = 11;
  opt.qa_max_query_length = 2;

  SECTION("overlapping windows: stride 3 -> starts 0, 3, 6, 9") {
    opt.qa_stride = 3;
    const auto f =
        Featurizer(tiny_tokenizer(), opt).featurize(spec_of(TaskType::kExtractiveQA), {}, raw);
    const auto& qa = f.qa;
    REQUIRE(qa.input_ids.rows() == 12);  // 4 windows per example
    CHECK(qa.window_example == Ids{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
    CHECK(row(qa.input_ids, 0) == Ids{0, 4, 29, 2, 2, 4, 45, 4, 31, 4, 2});
    CHECK(row(qa.input_ids, 1) == Ids{0, 4, 29, 2, 2, 31, 4, 21, 4, 20, 2});
    CHECK(row(qa.input_ids, 2) == Ids{0, 4, 29, 2, 2, 4, 20, 4, 38, 4, 2});
    CHECK(row(qa.input_ids, 3) == Ids{0, 4, 29, 2, 2, 38, 4, 70, 2});  // last: 3 tokens
    CHECK(row(qa.token_start, 1) == Offsets{-1, -1, -1, -1, -1, 12, 16, 20, 26, 30, -1});
    CHECK(row(qa.token_end, 1) == Offsets{-1, -1, -1, -1, -1, 15, 19, 25, 29, 36, -1});
    CHECK(row(qa.token_start, 3) == Offsets{-1, -1, -1, -1, -1, 41, 46, 50, -1});
    CHECK(row(qa.token_end, 3) == Offsets{-1, -1, -1, -1, -1, 45, 49, 54, -1});
    // Example 0: "river the market" (tokens 5..7) lies only in the second window [3, 8):
    // at 5 + (5 - 3) = 7 .. 9.
    // Example 1: "book the town" (9..11) is cut by the end of window [6, 11), found in [9, 12).
    // Example 2: impossible -> <s> everywhere.
    CHECK(qa.start_positions == Ids{0, 7, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0});
    CHECK(qa.end_positions == Ids{0, 9, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0});
    // The examples themselves, with every gold answer.
    CHECK(qa.ids == std::vector<std::string>{"q1", "q1", "q1"});
    CHECK(qa.contexts[1] == context);
    CHECK(row(qa.answer_texts, 1) == std::vector<std::string>{"book the town", "book"});
    CHECK(row(qa.answer_starts, 1) == Offsets{41, 41});
    CHECK(qa.answer_texts.row_size(2) == 0);
    CHECK(qa.is_impossible == std::vector<uint8_t>{0, 0, 1});
  }
  SECTION("stride = window: no overlap, an answer across a boundary is in no window") {
    opt.qa_stride = 5;
    raw.qa[0].answer_texts = {"the river"};  // tokens 4..5, across windows [0, 5) and [5, 10)
    raw.qa[0].answer_starts = {16};
    raw.qa.resize(1);
    const auto f =
        Featurizer(tiny_tokenizer(), opt).featurize(spec_of(TaskType::kExtractiveQA), {}, raw);
    REQUIRE(f.qa.input_ids.rows() == 3);  // [0, 5) [5, 10) [10, 12)
    CHECK(row(f.qa.input_ids, 2) == Ids{0, 4, 29, 2, 2, 4, 70, 2});
    CHECK(f.qa.start_positions == Ids{0, 0, 0});
    CHECK(f.qa.end_positions == Ids{0, 0, 0});
  }
  SECTION("a short context is one window; the answer is found inside a token's bytes") {
    raw.qa.resize(1);
    raw.qa[0].context = "the cat sat on the mat";  // ▁the ▁cat ▁s at ▁o n ▁the ▁ma t
    raw.qa[0].answer_texts = {"sat"};  // bytes 8..11 = tokens "▁s" (8..9) "at" (9..11)
    raw.qa[0].answer_starts = {8};
    opt.qa_max_length = 64;
    const auto f =
        Featurizer(tiny_tokenizer(), opt).featurize(spec_of(TaskType::kExtractiveQA), {}, raw);
    REQUIRE(f.qa.input_ids.rows() == 1);
    CHECK(f.qa.start_positions == Ids{7});  // 5 + 2
    CHECK(f.qa.end_positions == Ids{8});
  }
  SECTION("an answer outside the context is a data error") {
    raw.qa[0].answer_starts = {50};
    REQUIRE_THROWS_WITH(
        Featurizer(tiny_tokenizer(), opt).featurize(spec_of(TaskType::kExtractiveQA), {}, raw),
        "squad.json:3: expected an answer inside the context (54 bytes), found answer "
        "'river the market' at byte 50");
  }
}

TEST_CASE("retrieval items and MLM lines", "[featurizer]") {
  FeaturizerOptions opt;
  opt.max_length = 6;
  const Featurizer featurizer(tiny_tokenizer(), opt);
  SECTION("retrieval: single texts, and pairs where the list has contexts") {
    RawSplit raw;
    raw.type = TaskType::kRetrieval;
    raw.retrieval.queries = {{"q0", "the cat", "", "en"}, {"q1", "the dog", "", "de"}};
    raw.retrieval.candidates = {{"c0", "the river", "the market opened early", "en"}};
    raw.retrieval.gold = {{1, 0}};
    const auto f = featurizer.featurize(spec_of(TaskType::kRetrieval), {}, raw);
    const auto& r = f.retrieval;
    CHECK(row(r.query_ids, 0) == Ids{0, 4, 45, 2});
    CHECK(row(r.query_ids, 1) == Ids{0, 4, 31, 2});
    CHECK(r.query_languages == std::vector<std::string>{"en", "de"});
    // 2 + 10 in a budget of 2: B loses 8 to tie, then B and A one each.
    CHECK(row(r.candidate_ids, 0) == Ids{0, 4, 2, 2, 4, 2});
    CHECK(r.candidate_keys == std::vector<std::string>{"c0"});
    CHECK(r.gold_query == Offsets{1});
    CHECK(r.gold_candidate == Offsets{0});
  }
  SECTION("MLM: <s> line </s>, truncated") {
    RawSplit raw;
    raw.type = TaskType::kMLM;
    raw.mlm_lines = {"the cat sat on the mat", "a book"};
    const auto f = featurizer.featurize(spec_of(TaskType::kMLM), {}, raw);
    CHECK(row(f.mlm.input_ids, 0) == Ids{0, 4, 45, 28, 55, 2});
    CHECK(row(f.mlm.input_ids, 1) == Ids{0, 11, 38, 2});
  }
}

TEST_CASE("featurizer settings are validated", "[featurizer]") {
  FeaturizerOptions opt;
  opt.qa_max_length = 60;
  opt.qa_max_query_length = 64;
  REQUIRE_THROWS_AS(Featurizer(tiny_tokenizer(), opt), ConfigError);
  REQUIRE_THROWS_WITH(Featurizer(tiny_tokenizer(), opt), Catch::Contains("qa_max_length"));
  opt = FeaturizerOptions{};
  opt.qa_stride = 0;
  REQUIRE_THROWS_WITH(Featurizer(tiny_tokenizer(), opt), Catch::Contains("qa_stride"));
}

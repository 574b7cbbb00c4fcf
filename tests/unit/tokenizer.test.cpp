// Tests of the XLM-R tokenizer (src/tokenizer.cpp) on a tiny sentencepiece model.
//
// tests/data/tokenizer/tiny.model was made by the sentencepiece CLI (command in README.md there)
// and tiny.vocab lists its pieces in id order. Every expected id below was derived by hand:
// sentencepiece ids from `spm_encode --output_format=id` / tiny.vocab, then XLM-R's fairseq
// mapping (id + 1; sentencepiece's <unk> 0 -> 3), as Hugging Face's XLMRobertaTokenizer does.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <sentencepiece_processor.h>

#include "ordertune/base/error.h"
#include "ordertune/text/tokenizer.h"
#include "test_paths.h"

using ordertune::XlmrTokenizer;
namespace fs = std::filesystem;

namespace {

fs::path tiny_model() {
  return ordertune::testing::test_data() / "tokenizer" / "tiny.model";
}
fs::path tiny_corpus() {
  return ordertune::testing::test_data() / "tokenizer" / "corpus.txt";
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("special ids, vocabulary size and <mask> follow fairseq's layout", "[tokenizer]") {
  const auto tok = XlmrTokenizer::from_file(tiny_model());
  // tiny.vocab has 96 sentencepiece pieces: + <pad> (fairseq offset) + <mask> = 98.
  CHECK(tok.vocab_size() == 98);
  CHECK(tok.mask_id() == 97);
  CHECK(XlmrTokenizer::kBos == 0);
  CHECK(XlmrTokenizer::kPad == 1);
  CHECK(XlmrTokenizer::kEos == 2);
  CHECK(XlmrTokenizer::kUnk == 3);
  CHECK(tok.id_to_piece(0) == "<s>");
  CHECK(tok.id_to_piece(1) == "<pad>");
  CHECK(tok.id_to_piece(2) == "</s>");
  CHECK(tok.id_to_piece(3) == "<unk>");
  CHECK(tok.id_to_piece(97) == "<mask>");
  // sentencepiece id 3 "▁the" -> 4, 44 "▁cat" -> 45, 95 "w" (last piece) -> 96.
  CHECK(tok.id_to_piece(4) == "▁the");
  CHECK(tok.id_to_piece(45) == "▁cat");
  CHECK(tok.id_to_piece(96) == "w");
}

TEST_CASE("encode maps sentencepiece ids with the fairseq offset", "[tokenizer]") {
  const auto tok = XlmrTokenizer::from_file(tiny_model());
  SECTION("known pieces") {
    // spm: ▁the ▁cat ▁s at ▁o n ▁the ▁ma t = 3 44 27 54 13 15 3 73 51
    CHECK(tok.encode("the cat sat on the mat") ==
          std::vector<int32_t>{4, 45, 28, 55, 14, 16, 4, 74, 52});
  }
  SECTION("sentencepiece's <unk> (id 0) becomes XLM-R's <unk> 3, not 1") {
    // spm: ▁the ▁ 12 ▁ x ▁dog = 3 4 0 4 0 30 ("12" and "x" are not in the model)
    CHECK(tok.encode("the 12 x dog") == std::vector<int32_t>{4, 5, 3, 5, 3, 31});
  }
  SECTION("empty and blank text give no ids") {
    CHECK(tok.encode("").empty());
    CHECK(tok.encode("   ").empty());
  }
  SECTION("a literal special-token string is text, not a special token") {
    for (int32_t id : tok.encode("<mask> <s>")) {
      CHECK(id != tok.mask_id());
      CHECK(id != XlmrTokenizer::kBos);
    }
  }
}

TEST_CASE("encode_with_offsets gives byte ranges of the original text", "[tokenizer]") {
  const auto tok = XlmrTokenizer::from_file(tiny_model());
  std::vector<int32_t> ids;
  std::vector<int64_t> begins, ends;

  SECTION("non-ASCII text") {
    // "the café in Zürich": é and ü are 2 bytes each; 20 bytes in all.
    // spm: ▁the ▁ca f é ▁in ▁ Z ü ri ch = 3 43 21 65 7 4 86 88 60 74
    tok.encode_with_offsets("the caf\xC3\xA9 in Z\xC3\xBCrich", &ids, &begins, &ends);
    CHECK(ids == std::vector<int32_t>{4, 44, 22, 66, 8, 5, 87, 89, 61, 75});
    // A leading "▁" covers no byte: "▁ca" starts at 'c' (4), not at the space (3); the lone
    // "▁" before "Z" is empty at 13.
    CHECK(begins == std::vector<int64_t>{0, 4, 6, 7, 10, 13, 13, 14, 16, 18});
    CHECK(ends == std::vector<int64_t>{3, 6, 7, 9, 12, 13, 14, 16, 18, 20});
  }
  SECTION("runs of whitespace, tabs and a no-break space are not covered") {
    // "  the \t  cat\xC2\xA0dog": the=2..5, cat=9..12, NBSP=12..14, dog=14..17
    tok.encode_with_offsets("  the \t  cat\u00A0dog", &ids, &begins, &ends);
    CHECK(ids == std::vector<int32_t>{4, 45, 31});
    CHECK(begins == std::vector<int64_t>{2, 9, 14});
    CHECK(ends == std::vector<int64_t>{5, 12, 17});
  }
  SECTION("the output vectors are replaced, not appended to") {
    tok.encode_with_offsets("the cat", &ids, &begins, &ends);
    tok.encode_with_offsets("dog", &ids, &begins, &ends);
    CHECK(ids == std::vector<int32_t>{31});
    CHECK(begins == std::vector<int64_t>{0});
    CHECK(ends == std::vector<int64_t>{3});
  }
  SECTION("ids equal encode()") {
    const std::string text = "the market opened early";
    tok.encode_with_offsets(text, &ids, &begins, &ends);
    CHECK(ids == tok.encode(text));
    // spm: ▁the ▁market ▁o p en ed ▁ ear l y = 3 19 13 59 55 31 4 22 11 12
    CHECK(ids == std::vector<int32_t>{4, 20, 14, 60, 56, 32, 5, 23, 12, 13});
  }
}

TEST_CASE("loading errors name the model file", "[tokenizer]") {
  ordertune::testing::ScratchDir dir("tok");
  SECTION("missing file") {
    const auto missing = dir / "nope.model";
    REQUIRE_THROWS_AS(XlmrTokenizer::from_file(missing), ordertune::DataError);
    REQUIRE_THROWS_WITH(XlmrTokenizer::from_file(missing),
                        Catch::Contains(missing.string()) && Catch::Contains("no such file"));
  }
  SECTION("not a model") {
    const auto bad = dir / "bad.model";
    std::ofstream(bad) << "this is not a sentencepiece model\n";
    REQUIRE_THROWS_AS(XlmrTokenizer::from_file(bad), ordertune::DataError);
    REQUIRE_THROWS_WITH(
        XlmrTokenizer::from_file(bad),
        Catch::Contains(bad.string()) && Catch::Contains("expected a sentencepiece model"));
  }
  SECTION("serialized bytes round-trip") {
    const auto tok = XlmrTokenizer::from_file(tiny_model());
    CHECK(tok.serialized() == read_bytes(tiny_model()));
    const auto copy = XlmrTokenizer::from_bytes(tok.serialized());
    CHECK(copy.encode("the cat sat") == tok.encode("the cat sat"));
    CHECK(copy.vocab_size() == tok.vocab_size());
    REQUIRE_THROWS_AS(XlmrTokenizer::from_bytes("garbage"), ordertune::DataError);
  }
}

TEST_CASE("train() matches the sentencepiece CLI and is deterministic", "[tokenizer]") {
  ordertune::testing::ScratchDir dir("tok-train");
  const auto prefix = dir / "m";
  XlmrTokenizer::train({tiny_corpus()}, 96, prefix);
  const std::string first = read_bytes(prefix.string() + ".model");
  REQUIRE(!first.empty());

  SECTION("same pieces in the same order as spm_train with the same options") {
    const auto ours = XlmrTokenizer::from_bytes(first);
    const auto cli = XlmrTokenizer::from_file(tiny_model());
    REQUIRE(ours.vocab_size() == cli.vocab_size());
    for (int32_t id = 0; id < cli.vocab_size(); ++id) {
      INFO("id " << id);
      CHECK(ours.id_to_piece(id) == cli.id_to_piece(id));
    }
  }
  SECTION("training again gives the same bytes") {
    XlmrTokenizer::train({tiny_corpus()}, 96, prefix);
    CHECK(read_bytes(prefix.string() + ".model") == first);
  }
  SECTION("sentencepiece's own error message comes through") {
    REQUIRE_THROWS_AS(XlmrTokenizer::train({tiny_corpus()}, 5000, dir / "big"),
                      ordertune::LibraryError);
    REQUIRE_THROWS_WITH(XlmrTokenizer::train({tiny_corpus()}, 5000, dir / "big"),
                        Catch::Contains("Vocabulary size too high"));
  }
  SECTION("a missing input file is a data error naming it") {
    REQUIRE_THROWS_WITH(XlmrTokenizer::train({dir / "absent.txt"}, 96, dir / "x"),
                        Catch::Contains("absent.txt") && Catch::Contains("no such file"));
  }
}

// ---- speed: ordertune vs the sentencepiece CLI ----------------------------------------------
// Hidden; run with tests/bench/tokenize_bench.sh (or `unit_tests "[bench]"`). Prints the
// ratio, asserts only that both produce the same ids (the CLI's ids + the fairseq mapping).

namespace {

// Deterministic multilingual-looking text: Zipf-distributed words made of syllables, some with
// accents and some CJK, 8..24 words a line.
void write_bench_corpus(const fs::path& path, int lines, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> syllables = {"ka",
                                              "to",
                                              "re",
                                              "mi",
                                              "su",
                                              "an",
                                              "der",
                                              "ing",
                                              "tion",
                                              "el",
                                              "la",
                                              "cr\xC3\xA9",
                                              "\xC3\xBC"
                                              "ber",
                                              "stra",
                                              "ne",
                                              "qu",
                                              "ol",
                                              "vo",
                                              "zh",
                                              "\xE6\x97\xA5",
                                              "\xE6\x9C\xAC",
                                              "\xD0\xB4\xD0\xB0",
                                              "pre",
                                              "ment",
                                              "ar",
                                              "is",
                                              "on",
                                              "\xC3\xB1"
                                              "o",
                                              "ly",
                                              "sch"};
  std::vector<std::string> words;
  for (int i = 0; i < 5000; ++i) {
    std::string w;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) w += syllables[rng() % syllables.size()];
    words.push_back(w);
  }
  std::vector<double> weights;
  for (size_t i = 0; i < words.size(); ++i) weights.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> zipf(weights.begin(), weights.end());
  std::ofstream out(path);
  for (int l = 0; l < lines; ++l) {
    const int n = 8 + static_cast<int>(rng() % 17);
    for (int k = 0; k < n; ++k) out << (k ? " " : "") << words[zipf(rng)];
    out << (rng() % 3 == 0 ? ", 1984.\n" : ".\n");
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("tokenizer speed vs spm_encode", "[.bench][tokenizer_bench]") {
  const int lines = 100000;
  ordertune::testing::ScratchDir dir("tok-bench");
  const auto corpus = dir / "bench.txt";
  write_bench_corpus(corpus, lines, /*seed=*/1234);
  // An XLM-R-like model for this text (a real vocabulary, not the 96-piece test model).
  XlmrTokenizer::train({corpus}, 2500, dir / "bench");
  const auto model = dir / "bench.model";
  const auto tok = XlmrTokenizer::from_file(model);

  std::vector<std::string> text;
  {
    std::ifstream in(corpus);
    for (std::string line; std::getline(in, line);) text.push_back(line);
  }
  REQUIRE(text.size() == static_cast<size_t>(lines));

  // The CLI: one process encoding the whole file to ids (what a shell pipeline would do).
  const auto cli_out = dir / "cli.ids";
  const std::string command = "spm_encode --model='" + model.string() + "' --output_format=id < '" +
                              corpus.string() + "' > '" + cli_out.string() + "'";
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(std::system(command.c_str()) == 0);
  const double cli_s = seconds_since(t0);

  // Ours: ids only, then ids + byte offsets (the QA path), reusing the output buffers.
  std::vector<int32_t> ids;
  std::vector<int64_t> begins, ends;
  size_t tokens = 0;
  t0 = std::chrono::steady_clock::now();
  for (const auto& line : text) {
    tok.encode_with_offsets(line, &ids, nullptr, nullptr);
    tokens += ids.size();
  }
  const double ids_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (const auto& line : text) tok.encode_with_offsets(line, &ids, &begins, &ends);
  const double offsets_s = seconds_since(t0);

  // sentencepiece's library straight (its plain ids API, a fresh vector a line): our overhead.
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(model.string()).ok());
  std::vector<int> sp_ids;
  t0 = std::chrono::steady_clock::now();
  for (const auto& line : text) {
    sp_ids = sp.EncodeAsIds(line);
  }
  const double lib_s = seconds_since(t0);

  // Same ids as the CLI (+1, <unk> -> 3) on every line.
  std::ifstream in(cli_out);
  size_t mismatches = 0, l = 0;
  for (std::string row; std::getline(in, row); ++l) {
    std::istringstream s(row);
    std::vector<int32_t> expected;
    for (int32_t id; s >> id;) expected.push_back(id == 0 ? 3 : id + 1);
    if (l < text.size() && tok.encode(text[l]) != expected) ++mismatches;
  }
  CHECK(l == text.size());
  CHECK(mismatches == 0);

  std::printf(
      "tokenize_bench: %d lines, %zu tokens, model of %d pieces\n"
      "  spm_encode CLI (whole process, ids to file): %.3f s\n"
      "  sentencepiece library EncodeAsIds:           %.3f s  ratio %.2f\n"
      "  ordertune encode (ids):                      %.3f s  ratio %.2f\n"
      "  ordertune encode (ids + byte offsets):       %.3f s  ratio %.2f\n"
      "  (ratio = ordertune time / spm_encode time; < 1 is faster)\n",
      lines, tokens, tok.vocab_size() - 2, cli_s, lib_s, lib_s / cli_s, ids_s, ids_s / cli_s,
      offsets_s, offsets_s / cli_s);
}

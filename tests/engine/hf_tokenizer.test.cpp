// The tokenizer files of `ordertune export --model` (src/sweep/hf_tokenizer.cpp) against what
// transformers' XLMRobertaTokenizer.save_pretrained writes for the same sentencepiece model
// (issue 14, §2). The references in tests/data/hf/export/ come from tests/hf/export_refs.py
// (transformers 5, see meta.json there); this test needs no Python.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/sweep/hf_tokenizer.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path reference(const char* name) {
  return ordertune::testing::test_data() / "hf" / "export" / name;
}

const fs::path& tiny_model() {
  static const fs::path path = ordertune::testing::test_data() / "tokenizer" / "tiny.model";
  return path;
}

}  // namespace

TEST_CASE("tokenizer.json equals transformers' save_pretrained", "[weights][hf]") {
  const json ours =
      json::parse(ordertune::hf_tokenizer_json(read_bytes(tiny_model()), "tiny").dump());
  const json theirs = json::parse(read_bytes(reference("tokenizer.json")));
  std::string differing;
  for (const auto& [key, value] : theirs.items()) {
    if (!ours.contains(key) || ours[key] != value)
      differing += (differing.empty() ? "" : ", ") + key;
  }
  for (const auto& [key, value] : ours.items()) {
    if (!theirs.contains(key)) differing += (differing.empty() ? "" : ", ") + key + " (extra)";
  }
  std::printf(
      "worst export tokenizer.json: %s top-level entries differ from transformers' "
      "(tolerance none)\n",
      differing.empty() ? "no" : differing.c_str());
  CHECK(differing.empty());
  CHECK(ours == theirs);
}

TEST_CASE("tokenizer_config.json holds transformers' values", "[weights][hf]") {
  const json ours = json::parse(ordertune::hf_tokenizer_config_json(512).dump());
  const json theirs = json::parse(read_bytes(reference("tokenizer_config.json")));
  std::string differing;
  for (const auto& [key, value] : ours.items()) {
    if (!theirs.contains(key) || theirs[key] != value) differing += " " + key;
  }
  // Keys transformers adds that describe its own load, not the tokenizer: is_local and
  // local_files_only (how this copy was read), unk_id (sentencepiece's <unk> id 0, recorded by
  // its extractor; the vocabulary's <unk> is tokenizer.json's unk_id 3) and extra_special_tokens
  // (sentencepiece's control pieces <s> and </s>, special tokens already). Anything else missing
  // fails.
  std::string missing;
  for (const auto& [key, value] : theirs.items()) {
    if (!ours.contains(key) && key != "is_local" && key != "local_files_only" && key != "unk_id" &&
        key != "extra_special_tokens")
      missing += " " + key;
  }
  std::printf("worst export tokenizer_config.json: differing keys:%s; missing keys:%s\n",
              differing.empty() ? " none" : differing.c_str(),
              missing.empty() ? " none" : missing.c_str());
  CHECK(differing.empty());
  CHECK(missing.empty());
}

TEST_CASE("save_hf_tokenizer writes the three files; a bad model gives one line", "[weights][hf]") {
  ordertune::testing::ScratchDir dir("hf-tokenizer");
  const std::string model = read_bytes(tiny_model());
  ordertune::save_hf_tokenizer(model, "tiny", 512, dir.path());
  CHECK(read_bytes(dir / "sentencepiece.bpe.model") == model);
  CHECK(json::parse(read_bytes(dir / "tokenizer.json"))["model"]["vocab"].size() == 98);
  CHECK(json::parse(read_bytes(dir / "tokenizer_config.json"))["model_max_length"] == 512);

  ordertune::testing::ScratchDir bad("hf-tokenizer-bad");
  try {
    ordertune::save_hf_tokenizer("not a sentencepiece model", "cache.h5:/tokenizer/model", 512,
                                 bad.path());
    FAIL("no error for a bad model");
  } catch (const ordertune::DataError& e) {
    const std::string what = e.what();
    CHECK(what.find("cache.h5:/tokenizer/model") == 0);
    CHECK(what.find("expected") != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
  CHECK(!fs::exists(bad / "tokenizer.json"));
  // Empty bytes parse as a model without pieces: not XLM-R's layout.
  CHECK_THROWS_AS(ordertune::hf_tokenizer_json("", "empty"), ordertune::DataError);
}

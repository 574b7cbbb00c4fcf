// hf_tokenizer — Hugging Face tokenizer files from an XLM-R sentencepiece model (hf_tokenizer.h).
//
// What transformers does with the same model, and so what is written here
// (transformers 5: tokenization_utils_tokenizers.py _convert_from_sentencepiece,
// convert_slow_tokenizer.py SentencePieceExtractor and XLMRobertaConverter.convert_from_spm,
// models/xlm_roberta/tokenization_xlm_roberta.py):
//   vocab   <s> 0, <pad> 1, </s> 2, <unk> 3 (score 0), then sentencepiece pieces 3.. with their
//           scores (id = sentencepiece id + 1, fairseq's offset), then <mask> (score 0);
//   model   Unigram, unk_id 3, no byte fallback;
//   normalizer  Precompiled with the model's charsmap (base64), none when the charsmap is empty;
//   pre_tokenizer  WhitespaceSplit, then Metaspace("▁", prepend_scheme "always", split);
//   post_processor  <s> $A </s> and <s> $A </s> </s> $B </s>;
//   decoder Metaspace as the pre-tokenizer; the five specials as added tokens.
// tests/engine/hf_tokenizer.test.cpp compares the output with transformers' save_pretrained
// (tests/data/hf/export_tokenizer/, written by tests/hf/export_refs.py).
#include "ordertune/sweep/hf_tokenizer.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "ordertune/base/error.h"

namespace ordertune {
namespace {

using ordered_json = nlohmann::ordered_json;

// ---- the protobuf wire format (just what sentencepiece_model.proto needs) ----------------------

struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;     // wire 0
  std::string_view bytes;  // wire 2
  uint32_t fixed32 = 0;    // wire 5
};

class WireReader {
 public:
  WireReader(std::string_view buf, const std::string& source) : buf_(buf), source_(source) {}

  bool next(Field* f) {
    if (pos_ >= buf_.size()) return false;
    const uint64_t key = varint();
    f->number = static_cast<uint32_t>(key >> 3);
    f->wire = static_cast<uint32_t>(key & 7);
    switch (f->wire) {
      case 0:
        f->varint = varint();
        break;
      case 1:
        take(8);
        break;
      case 2: {
        const uint64_t n = varint();
        f->bytes = take(n);
        break;
      }
      case 5: {
        const std::string_view b = take(4);
        std::memcpy(&f->fixed32, b.data(), 4);  // little-endian, as x86 and ARM hosts
        break;
      }
      default:
        bad(fmt::format("protobuf wire type {}", f->wire));
    }
    return true;
  }

 private:
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= buf_.size()) bad("a truncated varint");
      const auto b = static_cast<unsigned char>(buf_[pos_++]);
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) return value;
    }
    bad("an over-long varint");
  }
  std::string_view take(uint64_t n) {
    if (n > buf_.size() - pos_) bad("a field running past the end of the model");
    const std::string_view out = buf_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  [[noreturn]] void bad(const std::string& found) const {
    throw_data_error(source_, 0, "a sentencepiece model (protobuf)", found);
  }

  std::string_view buf_;
  size_t pos_ = 0;
  const std::string& source_;
};

struct Piece {
  std::string text;
  float score = 0;
  uint64_t type = 1;  // NORMAL; UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6
};

struct SpmModel {
  std::vector<Piece> pieces;
  std::string charsmap;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
  int64_t unk_id = 0;
};

SpmModel parse_model(const std::string& bytes, const std::string& source) {
  SpmModel m;
  WireReader top(bytes, source);
  Field f;
  while (top.next(&f)) {
    if (f.number == 1 && f.wire == 2) {  // repeated SentencePiece pieces
      Piece p;
      WireReader r(f.bytes, source);
      Field g;
      while (r.next(&g)) {
        if (g.number == 1 && g.wire == 2) p.text = std::string(g.bytes);
        if (g.number == 2 && g.wire == 5) std::memcpy(&p.score, &g.fixed32, 4);
        if (g.number == 3 && g.wire == 0) p.type = g.varint;
      }
      m.pieces.push_back(std::move(p));
    } else if (f.number == 2 && f.wire == 2) {  // TrainerSpec
      WireReader r(f.bytes, source);
      Field g;
      while (r.next(&g)) {
        if (g.number == 40 && g.wire == 0) m.unk_id = static_cast<int64_t>(g.varint);
      }
    } else if (f.number == 3 && f.wire == 2) {  // NormalizerSpec
      WireReader r(f.bytes, source);
      Field g;
      while (r.next(&g)) {
        if (g.number == 2 && g.wire == 2) m.charsmap = std::string(g.bytes);
        if (g.number == 3 && g.wire == 0) m.add_dummy_prefix = g.varint != 0;
        if (g.number == 4 && g.wire == 0) m.remove_extra_whitespaces = g.varint != 0;
        if (g.number == 5 && g.wire == 0) m.escape_whitespaces = g.varint != 0;
      }
    }
  }
  // XLM-R's layout, which fairseq's id mapping (and transformers' converter, which drops the
  // first three pieces) relies on.
  const auto piece_is = [&](size_t i, const char* text, uint64_t type) {
    return m.pieces.size() > i && m.pieces[i].text == text && m.pieces[i].type == type;
  };
  if (m.unk_id != 0 || !piece_is(0, "<unk>", 2) || !piece_is(1, "<s>", 3) ||
      !piece_is(2, "</s>", 3)) {
    throw_data_error(source, 0,
                     "a sentencepiece model with XLM-R's layout (<unk>, <s>, </s> at ids 0, 1, 2)",
                     fmt::format("{} pieces, <unk> at id {}", m.pieces.size(), m.unk_id));
  }
  if (!m.add_dummy_prefix || !m.remove_extra_whitespaces || !m.escape_whitespaces) {
    throw_data_error(source, 0,
                     "sentencepiece's default whitespace handling (dummy prefix, extra whitespace "
                     "removed, whitespace escaped), which XLMRobertaTokenizer assumes",
                     "a model that turns one of them off");
  }
  return m;
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

ordered_json added_token(int64_t id, const char* content) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

ordered_json metaspace() {
  return {{"type", "Metaspace"},
          {"replacement", "\xE2\x96\x81"},
          {"prepend_scheme", "always"},
          {"split", true}};
}

ordered_json special(const char* id) {
  return {{"SpecialToken", {{"id", id}, {"type_id", 0}}}};
}

ordered_json sequence(const char* id) {
  return {{"Sequence", {{"id", id}, {"type_id", 0}}}};
}

}  // namespace

ordered_json hf_tokenizer_json(const std::string& sentencepiece_model, const std::string& source) {
  const SpmModel m = parse_model(sentencepiece_model, source);
  const auto mask_id = static_cast<int64_t>(m.pieces.size()) + 1;

  ordered_json vocab = ordered_json::array();
  for (const char* s : {"<s>", "<pad>", "</s>", "<unk>"})
    vocab.push_back(ordered_json::array({s, 0.0}));
  for (size_t i = 3; i < m.pieces.size(); ++i)
    vocab.push_back(
        ordered_json::array({m.pieces[i].text, static_cast<double>(m.pieces[i].score)}));
  vocab.push_back(ordered_json::array({"<mask>", 0.0}));

  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] =
      ordered_json::array({added_token(0, "<s>"), added_token(1, "<pad>"), added_token(2, "</s>"),
                           added_token(3, "<unk>"), added_token(mask_id, "<mask>")});
  if (m.charsmap.empty()) {
    j["normalizer"] = nullptr;
  } else {
    j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", base64(m.charsmap)}};
  }
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       ordered_json::array({ordered_json{{"type", "WhitespaceSplit"}}, metaspace()})}};
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", ordered_json::array({special("<s>"), sequence("A"), special("</s>")})},
      {"pair", ordered_json::array({special("<s>"), sequence("A"), special("</s>"), special("</s>"),
                                    sequence("B"), special("</s>")})},
      {"special_tokens",
       {{"</s>",
         {{"id", "</s>"},
          {"ids", ordered_json::array({2})},
          {"tokens", ordered_json::array({"</s>"})}}},
        {"<s>",
         {{"id", "<s>"},
          {"ids", ordered_json::array({0})},
          {"tokens", ordered_json::array({"<s>"})}}}}}};
  j["decoder"] = metaspace();
  j["model"] = {{"type", "Unigram"}, {"unk_id", 3}, {"vocab", vocab}, {"byte_fallback", false}};
  return j;
}

ordered_json hf_tokenizer_config_json(int64_t model_max_length) {
  return {{"add_prefix_space", true},
          {"backend", "tokenizers"},
          {"bos_token", "<s>"},
          {"cls_token", "<s>"},
          {"eos_token", "</s>"},
          {"mask_token", "<mask>"},
          {"model_max_length", model_max_length},
          {"pad_token", "<pad>"},
          {"sep_token", "</s>"},
          {"tokenizer_class", "XLMRobertaTokenizer"},
          {"unk_token", "<unk>"}};
}

void save_hf_tokenizer(const std::string& sentencepiece_model, const std::string& source,
                       int64_t model_max_length, const std::filesystem::path& dir) {
  // Everything is built before anything is written: a bad model leaves no partial tokenizer.
  const std::string tokenizer = hf_tokenizer_json(sentencepiece_model, source).dump(2) + "\n";
  const std::string config = hf_tokenizer_config_json(model_max_length).dump(2) + "\n";
  std::filesystem::create_directories(dir);
  const auto write = [&](const char* name, const std::string& bytes) {
    const std::filesystem::path path = dir / name;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw DataError(path.string() + ": cannot write");
  };
  write("sentencepiece.bpe.model", sentencepiece_model);
  write("tokenizer.json", tokenizer);
  write("tokenizer_config.json", config);
}

}  // namespace ordertune

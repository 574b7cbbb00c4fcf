// tokenizer — XLM-R's sentencepiece tokenizer with fairseq's id mapping.
//
// The id mapping is Hugging Face's XLMRobertaTokenizer (transformers,
// models/xlm_roberta/tokenization_xlm_roberta.py): fairseq_tokens_to_ids = {<s>: 0, <pad>: 1,
// </s>: 2, <unk>: 3}, fairseq_offset = 1, a sentencepiece id of 0 (its <unk>) becomes
// unk_token_id, <mask> = len(sp_model) + fairseq_offset, vocab_size = len(sp_model) + 2.
// sentencepiece's ids 1 and 2 (its own <s>, </s>) are control symbols that encoding never emits.
//
// Deliberate difference: HF's slow tokenizer first splits raw text on the literal strings of its
// special tokens ("<s>", "<mask>", ...). Task text is data, not markup, so we never do; a literal
// "<mask>" in a sentence is tokenized as the characters it is.
#include "ordertune/text/tokenizer.h"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include "ordertune/base/error.h"

namespace ordertune {
namespace {

constexpr int32_t kSentencePieceUnk = 0;  // XLM-R's sentencepiece.bpe.model has <unk> at id 0

// Byte length of the UTF-8 sequence starting with `lead` (1 for a stray continuation byte).
size_t utf8_length(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// One encoding result buffer per thread: sentencepiece clears and refills it, and protobuf keeps
// the piece objects and their string capacity, so steady-state encoding allocates no pieces.
sentencepiece::ImmutableSentencePieceText& thread_scratch() {
  thread_local sentencepiece::ImmutableSentencePieceText scratch;
  return scratch;
}

}  // namespace

struct XlmrTokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  std::string serialized;
  int32_t piece_size = 0;
  // Characters (UTF-8) the model's normalizer turns into nothing when they stand alone:
  // whitespace (which becomes the "▁" of the next piece) and what nmt_nfkc deletes (U+200B,
  // U+FEFF, soft hyphen, most controls). Asked of sentencepiece once per character.
  mutable std::mutex vanishing_mutex;
  mutable std::unordered_map<std::string, bool> vanishing;

  bool vanishes(std::string_view character) const {
    std::lock_guard<std::mutex> lock(vanishing_mutex);
    const std::string key(character);
    const auto it = vanishing.find(key);
    if (it != vanishing.end()) return it->second;
    sentencepiece::ImmutableSentencePieceText probe;
    const bool gone =
        processor.Encode(absl::string_view(key.data(), key.size()), probe.mutable_proto()).ok() &&
        probe.pieces_size() == 0;
    vanishing.emplace(key, gone);
    return gone;
  }

  // Encodes text; fills ids (and, when non-null, trimmed byte ranges). Clears the outputs.
  void encode(std::string_view text, std::vector<int32_t>* ids, std::vector<int64_t>* begins,
              std::vector<int64_t>* ends) const {
    sentencepiece::ImmutableSentencePieceText& spt = thread_scratch();
    const auto status =
        processor.Encode(absl::string_view(text.data(), text.size()), spt.mutable_proto());
    if (!status.ok()) {
      throw LibraryError(fmt::format("sentencepiece: encoding failed: {}", status.ToString()));
    }
    const size_t n = spt.pieces_size();
    ids->clear();
    ids->reserve(n);
    if (begins != nullptr) {
      begins->clear();
      begins->reserve(n);
    }
    if (ends != nullptr) {
      ends->clear();
      ends->reserve(n);
    }
    for (size_t i = 0; i < n; ++i) {
      const auto piece = spt.pieces(static_cast<int>(i));
      const auto sp_id = static_cast<int32_t>(piece.id());
      ids->push_back(sp_id == kSentencePieceUnk ? kUnk : sp_id + kFairseqOffset);
      if (begins == nullptr && ends == nullptr) continue;
      size_t begin = piece.begin();
      size_t end = piece.end();
      // sentencepiece's alignment gives a piece the characters its normalization consumed: the
      // whitespace before "▁word" (the meta symbol's surface) and characters the normalizer
      // deletes next to it (U+200B, U+FEFF, ...). None of them is part of the word, so a range
      // starts and ends at a character that survives normalization; a piece that is only "▁"
      // covers no byte. This is what the offsets of HF's fast XLM-R tokenizer cover
      // (tests/unit/hf_tokenizer.test.cpp) and keeps answer spans clean.
      while (begin < end) {
        const size_t len =
            std::min(utf8_length(static_cast<unsigned char>(text[begin])), end - begin);
        if (!vanishes(text.substr(begin, len))) break;
        begin += len;
      }
      while (end > begin) {
        size_t last = end - 1;
        while (last > begin && (static_cast<unsigned char>(text[last]) & 0xC0) == 0x80) --last;
        if (!vanishes(text.substr(last, end - last))) break;
        end = last;
      }
      // One character that normalizes to several (NFKC: "ﬁ" -> "fi", "½" -> "1⁄2") may end up in
      // several pieces; sentencepiece aligns it with the last of them and leaves the others
      // empty. Each of them comes from that character, so each covers it, as in the fast
      // tokenizer's offsets. A lone "▁" stays empty: it stands for whitespace.
      if (begin == end && begin < text.size() && piece.piece() != "\xE2\x96\x81") {
        end = std::min(text.size(), begin + utf8_length(static_cast<unsigned char>(text[begin])));
      }
      if (begins != nullptr) begins->push_back(static_cast<int64_t>(begin));
      if (ends != nullptr) ends->push_back(static_cast<int64_t>(end));
    }
  }
};

XlmrTokenizer::XlmrTokenizer() : impl_(std::make_unique<Impl>()) {}
XlmrTokenizer::XlmrTokenizer(XlmrTokenizer&&) noexcept = default;
XlmrTokenizer& XlmrTokenizer::operator=(XlmrTokenizer&&) noexcept = default;
XlmrTokenizer::~XlmrTokenizer() = default;

namespace {

// Loads serialized model bytes; `source` names the file (or the cache) in error messages.
void load_model(sentencepiece::SentencePieceProcessor* processor, const std::string& bytes,
                const std::string& source) {
  const auto status = processor->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw_data_error(
        source, 0, "a sentencepiece model",
        fmt::format("{} bytes that sentencepiece rejects ({})", bytes.size(), status.ToString()));
  }
  if (processor->unk_id() != kSentencePieceUnk) {
    throw_data_error(source, 0, "a sentencepiece model with <unk> at id 0 (XLM-R's layout)",
                     fmt::format("<unk> at id {}", processor->unk_id()));
  }
}

}  // namespace

XlmrTokenizer XlmrTokenizer::from_file(const std::filesystem::path& model_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    throw_data_error(
        model_path.string(), 0, "a sentencepiece model file",
        std::filesystem::exists(model_path, ec) ? "something that is not a file" : "no such file");
  }
  std::ifstream in(model_path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in.good() && !in.eof()) {
    throw_data_error(model_path.string(), 0, "a readable sentencepiece model file", "a read error");
  }
  XlmrTokenizer tokenizer;
  tokenizer.impl_->serialized = bytes.str();
  load_model(&tokenizer.impl_->processor, tokenizer.impl_->serialized, model_path.string());
  tokenizer.impl_->piece_size = tokenizer.impl_->processor.GetPieceSize();
  return tokenizer;
}

XlmrTokenizer XlmrTokenizer::from_bytes(const std::string& serialized_model) {
  XlmrTokenizer tokenizer;
  tokenizer.impl_->serialized = serialized_model;
  load_model(&tokenizer.impl_->processor, tokenizer.impl_->serialized, "<serialized model>");
  tokenizer.impl_->piece_size = tokenizer.impl_->processor.GetPieceSize();
  return tokenizer;
}

int32_t XlmrTokenizer::vocab_size() const {
  return impl_->piece_size + kFairseqOffset + 1;
}

int32_t XlmrTokenizer::mask_id() const {
  return impl_->piece_size + kFairseqOffset;
}

const std::string& XlmrTokenizer::serialized() const {
  return impl_->serialized;
}

std::vector<int32_t> XlmrTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  impl_->encode(text, &ids, nullptr, nullptr);
  return ids;
}

// begins / ends may be null when only ids are wanted (the featurizer's allocation-free path:
// the output vectors keep their capacity from call to call).
void XlmrTokenizer::encode_with_offsets(std::string_view text, std::vector<int32_t>* ids,
                                        std::vector<int64_t>* begins,
                                        std::vector<int64_t>* ends) const {
  OT_CHECK(ids != nullptr, "encode_with_offsets needs an ids vector");
  impl_->encode(text, ids, begins, ends);
}

std::string XlmrTokenizer::id_to_piece(int32_t id) const {
  OT_CHECK(id >= 0 && id < vocab_size(), "id {} outside the vocabulary [0, {})", id, vocab_size());
  switch (id) {
    case kBos:
      return "<s>";
    case kPad:
      return "<pad>";
    case kEos:
      return "</s>";
    case kUnk:
      return "<unk>";
    default:
      break;
  }
  if (id == mask_id()) return "<mask>";
  return impl_->processor.IdToPiece(id - kFairseqOffset);
}

void XlmrTokenizer::train(const std::vector<std::filesystem::path>& text_files, int vocab_size,
                          const std::filesystem::path& model_prefix) {
  if (text_files.empty()) {
    throw LibraryError("sentencepiece training: no input text files given");
  }
  std::string inputs;
  for (const auto& file : text_files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      throw_data_error(file.string(), 0, "a text file to train sentencepiece on", "no such file");
    }
    // sentencepiece takes its inputs as one comma-separated list.
    if (file.string().find(',') != std::string::npos) {
      throw_data_error(file.string(), 0,
                       "a path without ',' (sentencepiece separates input files with commas)",
                       "a ','");
    }
    if (!inputs.empty()) inputs += ',';
    inputs += file.string();
  }
  // XLM-R's layout (unk 0, bos 1, eos 2, no pad: the fairseq mapping adds <pad> itself) and a
  // unigram model like XLM-R's. Deterministic: every input sentence is used, in file order, on
  // one thread (sentencepiece samples and shuffles only when input_sentence_size > 0).
  const std::unordered_map<std::string, std::string> args = {
      {"input", inputs},
      {"model_prefix", model_prefix.string()},
      {"vocab_size", std::to_string(vocab_size)},
      {"model_type", "unigram"},
      {"unk_id", "0"},
      {"bos_id", "1"},
      {"eos_id", "2"},
      {"pad_id", "-1"},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"character_coverage", "1.0"},
      {"minloglevel", "1"},  // no per-iteration INFO lines; warnings and errors still show
  };
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    throw LibraryError(fmt::format("sentencepiece training of '{}.model' failed: {}",
                                   model_prefix.string(), status.ToString()));
  }
}

}  // namespace ordertune

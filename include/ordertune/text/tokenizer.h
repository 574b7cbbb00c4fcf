// tokenizer — XLM-R's sentencepiece tokenizer with fairseq's id mapping (prepare binary only).
//
// Ids equal Hugging Face's XLMRobertaTokenizer on the same sentencepiece.bpe.model:
//   <s>=0, <pad>=1, </s>=2, <unk>=3, then sentencepiece piece p -> id(p) + 1 (fairseq_offset),
//   except sentencepiece's own <unk> (id 0) -> 3, and <mask> = sentencepiece size + 1 (last).
// This binary links sentencepiece and must never link LibTorch (src/DESIGN.md, 1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ordertune {

class XlmrTokenizer {
 public:
  static constexpr int32_t kBos = 0;  // <s>
  static constexpr int32_t kPad = 1;  // <pad>
  static constexpr int32_t kEos = 2;  // </s>
  static constexpr int32_t kUnk = 3;  // <unk>
  static constexpr int32_t kFairseqOffset = 1;

  // Loads a sentencepiece model; throws DataError naming the file if it is missing or invalid.
  static XlmrTokenizer from_file(const std::filesystem::path& model_path);
  static XlmrTokenizer from_bytes(const std::string& serialized_model);

  XlmrTokenizer(XlmrTokenizer&&) noexcept;
  XlmrTokenizer& operator=(XlmrTokenizer&&) noexcept;
  ~XlmrTokenizer();

  int32_t vocab_size() const;             // sentencepiece size + fairseq offset + 1 (<mask>), as HF
  int32_t mask_id() const;                // vocab_size() - 1
  const std::string& serialized() const;  // the model bytes (stored in the data cache)

  // XLM-R ids of text, without special tokens.
  std::vector<int32_t> encode(std::string_view text) const;
  // The same, plus each piece's [begin, end) BYTE range in text: sentencepiece's own alignment,
  // trimmed to start and end at characters that survive normalization (whitespace before
  // "▁word" and characters the normalizer deletes are no part of a piece; a lone "▁" covers no
  // byte). The characters covered are those of HF's fast tokenizer's offset mapping.
  void encode_with_offsets(std::string_view text, std::vector<int32_t>* ids,
                           std::vector<int64_t>* begins, std::vector<int64_t>* ends) const;
  // The piece string of an XLM-R id (for logs and tests).
  std::string id_to_piece(int32_t id) const;

  // Trains a sentencepiece model on UTF-8 text files (one sentence per line) with XLM-R's
  // special-token layout (unk=0, bos=1, eos=2, no pad), deterministic: one thread, no
  // sampling or shuffling of the input. Writes <model_prefix>.model. Throws LibraryError with
  // sentencepiece's message on failure.
  static void train(const std::vector<std::filesystem::path>& text_files, int vocab_size,
                    const std::filesystem::path& model_prefix);

 private:
  XlmrTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordertune

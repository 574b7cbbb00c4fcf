// hf_tokenizer — the Hugging Face tokenizer files of an XLM-R sentencepiece model, written by
// `ordertune export --model` next to the encoder so that the folder loads with
// `AutoTokenizer.from_pretrained` (issue 14).
//
// The sweep binary never links sentencepiece (src/DESIGN.md, decision 1), so the model's
// protobuf (sentencepiece_model.proto: its pieces with scores and types, and the normalizer's
// precompiled character map) is read here from its wire format. The files are those transformers'
// XLMRobertaTokenizer.save_pretrained writes for the same model (transformers 5: tokenizers'
// Unigram with fairseq's ids, the Precompiled normalizer, WhitespaceSplit + Metaspace, the
// <s> A </s></s> B </s> template), plus the sentencepiece model itself as
// sentencepiece.bpe.model (as on the Hub, for sentencepiece users and older transformers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ordertune {

// tokenizer.json for the serialized sentencepiece model. Throws DataError naming `source` when
// the bytes are not a sentencepiece model with XLM-R's layout (<unk>, <s>, </s> at 0, 1, 2; the
// whitespace handling XLMRobertaTokenizer assumes: dummy prefix, extra whitespace removed).
nlohmann::ordered_json hf_tokenizer_json(const std::string& sentencepiece_model,
                                         const std::string& source);

// tokenizer_config.json: XLMRobertaTokenizer, its special tokens and model_max_length.
nlohmann::ordered_json hf_tokenizer_config_json(int64_t model_max_length);

// Writes DIR/sentencepiece.bpe.model, DIR/tokenizer.json and DIR/tokenizer_config.json.
void save_hf_tokenizer(const std::string& sentencepiece_model, const std::string& source,
                       int64_t model_max_length, const std::filesystem::path& dir);

}  // namespace ordertune

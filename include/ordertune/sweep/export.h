// export — a finished node of a results file in the formats others read:
//   --predictions DIR  the XTREME-R submission layout, DIR/<task>/test-<lang>.<ext>, from the
//                      compact predictions of the order's target leaves (evaluate.h) and the
//                      strings of the data cache (label names, ids, contexts):
//                        xnli, pawsx, xcopa   one label per line (.tsv)
//                        udpos, panx          one tag per word, a blank line after each sentence
//                        xquad, mlqa, tydiqa  JSON {question id: answer text}
//                        tatoeba              per English sentence the index of its nearest
//                                             sentence in the other language
//                        bucc2018             "source-id<TAB>target-id" per mined pair >= threshold
//                        mewslix, lareqa      JSON {query id: [20 candidate ids, best first]}
//                      ready for `ordertune score` (submission.h) and the leaderboard.
//   --model DIR        the order's encoder as a Hugging Face directory (config.json +
//                      model.safetensors, XLMRobertaModel keys), when output.checkpoints kept it,
//                      with the data cache's tokenizer (sentencepiece.bpe.model, tokenizer.json,
//                      tokenizer_config.json: hf_tokenizer.h), so that AutoModel and
//                      AutoTokenizer.from_pretrained load the folder.
// The data cache named by the config stored in the results file must be present.
#pragma once

#include <filesystem>
#include <string>

#include "ordertune/config/config.h"

namespace ordertune {

struct ExportOptions {
  std::filesystem::path results;
  int replicate = 0;                   // --replicate
  std::string order;                   // "a>b", "" = baseline
  std::filesystem::path predictions;   // "" = not asked
  std::filesystem::path model;         // "" = not asked
  Precision dtype = Precision::kFp32;  // --dtype: model.safetensors in fp32 or bf16
};

// Writes what was asked; throws ConfigError (unknown order, seed) or DataError (node not
// finished, encoder not kept) with one line naming the file.
void run_export(const ExportOptions& options);

}  // namespace ordertune

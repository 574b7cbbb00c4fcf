// featurizer — turns read examples (task_reader.h) into token features (data_cache.h).
//
// The conventions follow Hugging Face / google-research/xtreme:
//   single text:  <s> A </s>             pair: <s> A </s></s> B </s>   (XLM-R / RoBERTa)
//   pairs are truncated longest-first to max_length;
//   tagging: every word is tokenized on its own, its tag goes to its first sub-token, the rest
//     are ignored (xtreme's utils_tag.py; a word that yields no token becomes <unk>);
//   multiple choice: one pair (prompt, choice) per choice;
//   QA: <s> question </s></s> context-window </s> windows of qa_max_length tokens with a stride
//     of qa_stride context tokens (run_squad's doc_stride), question cut to qa_max_query_length,
//     answers located by byte offsets; an answer outside the window maps to <s> (index 0).
//   retrieval and MLM: <s> text </s> (retrieval items with a context: a pair).
// Unknown labels raise DataError at the example's file and line.
#pragma once

#include <string>
#include <vector>

#include "ordertune/config/task_registry.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/data/task_reader.h"
#include "ordertune/text/tokenizer.h"

namespace ordertune {

struct FeaturizerOptions {
  int max_length = 256;          // tokens per sequence, specials included
  int qa_max_length = 384;       // tokens per QA window, specials included
  int qa_stride = 128;           // doc_stride: context tokens between window starts
  int qa_max_query_length = 64;  // question tokens kept
};

class Featurizer {
 public:
  Featurizer(const XlmrTokenizer& tokenizer, FeaturizerOptions options);
  // labels: the task's label set in index order (classification and tagging). A set whose last
  // entry is kUnseenTag (an open tag set, collected from the training split) takes a tag outside
  // it as that entry, counted in *unseen (when given); any other set refuses it (DataError).
  // candidates = false: a retrieval split's candidates are not tokenized (the cache links an
  // identical set stored before; data_cache.h), its candidate_* features stay empty.
  SplitFeatures featurize(const TaskSpec& spec, const std::vector<std::string>& labels,
                          const RawSplit& raw, int64_t* unseen = nullptr,
                          bool candidates = true) const;

 private:
  const XlmrTokenizer& tokenizer_;
  FeaturizerOptions options_;
};

// The last tag of an open tag set (CCG supertags): what a dev or test tag that the training split
// does not have becomes. It is never a gold tag in training, so such words count as wrong.
inline constexpr const char* kUnseenTag = "<unseen>";

// The sorted set of labels (classification) or tags (tagging) seen in a split; for tasks whose
// label set is open (CCG supertags).
std::vector<std::string> collect_labels(const RawSplit& split);

}  // namespace ordertune

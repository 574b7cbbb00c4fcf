// evaluate — predictions of a trained model on one (task, split, language) of the data cache, and
// their scores with the official XTREME metrics (metrics.h: the same code `ordertune score` runs).
//
// Predictions are kept in a compact, fixed-size form that the results file stores and
// `ordertune export --predictions` turns back into the XTREME-R submission files (the strings
// come from the cache: label names, example ids, contexts):
//   classification, multiple choice   label index per example
//   tagging                           tag index per word (the cache's word rows); -1 where the
//                                     word was cut by truncation (scored as "O" when the label
//                                     set has it, else as the first label)
//   extractive QA                     [start, end) byte span per example in its context; the
//                                     best span over the example's windows by start + end logit
//                                     (at most 30 tokens, end >= start, both in the context,
//                                     starts and ends among each window's 20 best), as
//                                     transformers' run_qa postprocessing and xtreme's run_squad
//   retrieval                         Mewsli-X and LAReQA: the 20 best candidate indices per
//                                     query (-1 past the candidates); Tatoeba: per English
//                                     sentence (a candidate in the cache) the index of its
//                                     nearest sentence of the other language (a query), as
//                                     xtreme's predictions; BUCC: the mined (source, target)
//                                     pairs, their margin scores and the threshold chosen on
//                                     the dev gold (retrieval.h); pairs scoring >= it count
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ordertune/data/data_cache.h"
#include "ordertune/model/heads.h"
#include "ordertune/scoring/metrics.h"

namespace ordertune {

inline constexpr int64_t kQaMaxAnswerTokens = 30;  // run_squad / run_qa max_answer_length
inline constexpr int64_t kQaBestSize = 20;         // n_best_size
inline constexpr int64_t kRankedCandidates = 20;   // Mewsli-X / LAReQA: mAP@20

struct Predictions {
  TaskType type = TaskType::kClassification;
  std::vector<int32_t> labels;  // classification / multiple choice per example; tagging per word
  std::vector<int64_t> spans;   // QA: start0, end0, start1, end1, ... (-1, -1: empty answer)
  int64_t k = 0;                // retrieval: entries per row of `ranked` (BUCC: 2, a pair)
  std::vector<int64_t> ranked;  // retrieval: rows of k (see above)
  std::vector<float> scores;    // BUCC: margin score of each mined pair
  double threshold = 0.0;       // BUCC: pairs with score >= threshold are predicted
};

// The embeddings of the last candidate set predict_retrieval ranked against, kept between the
// languages of a target leaf: Mewsli-X ranks every language's mentions against the same ~1M
// entities and LAReQA against one multilingual pool, so a leaf embeds its candidates once instead
// of once per language and split (22 times for Mewsli-X's dev and test).
struct CandidateEmbeddings {
  uint64_t key = 0;  // hash of the candidates' token ids and the embedding layer
  torch::Tensor embeddings;
  int64_t reused = 0;  // rankings served from `embeddings`
};

struct EvalOptions {
  int64_t batch_size = 32;       // sequences per forward
  int64_t retrieval_layer = -1;  // -1: default_retrieval_layer
  bool dual_encoder = false;     // rankings (map@20) from the L2-normalised pooler output of a
                                 // fine-tuned dual encoder (heads.h) instead of mean pooling
  CandidateEmbeddings* candidates = nullptr;  // reuse across splits with the same candidates
                                              // and encoder (nullptr: embed every time)
};

// The best answer of a QA example so far, in bytes of its context (-1: none yet).
struct AnswerSpan {
  double score = -std::numeric_limits<double>::infinity();
  int64_t start = -1, end = -1;
};
// Folds one window into `best`: among the window's kQaBestSize best start and end tokens (ties
// to the lower index), pairs with both tokens in the context (token_start/token_end >= 0),
// end >= start and at most kQaMaxAnswerTokens tokens; score = start + end logit; a pair replaces
// `best` only when strictly better (so the earlier window wins ties).
void update_best_span(const float* start_logits, const float* end_logits, int64_t tokens,
                      const int64_t* token_start, const int64_t* token_end, AnswerSpan* best);

// How many values and scores the predictions of a split take in the compact form of Predictions
// (known from the split before predicting: the results file's layout is static).
struct PredictionSize {
  int64_t values = 0, scores = 0;
};
PredictionSize prediction_size(const CachedTask& task, const SplitFeatures& split);
// The same from the counts that decide it (the cache's metadata gives them without loading the
// split): `items` = examples (classification, multiple choice, QA), words (tagging) or queries
// (retrieval); `candidates` = retrieval candidates.
PredictionSize prediction_size(const CachedTask& task, int64_t items, int64_t candidates);

// Predicts with a classification, multiple-choice, tagging or QA model (eval mode, no grad).
Predictions predict(XlmrForTaskImpl& model, const SplitFeatures& split, const EvalOptions& options);

// Retrieval tasks: embeds queries and candidates with the encoder (retrieval.h) and ranks.
// `metric` is the task's ("accuracy": Tatoeba, "bucc_f1", "map@20"); BUCC uses `threshold`
// (choose it with choose_bucc_threshold on the dev split).
Predictions predict_retrieval(XlmrEncoderImpl& encoder, const SplitFeatures& split, Metric metric,
                              const EvalOptions& options, double threshold = 0.0);
// The BUCC threshold that maximises F1 on a labelled (dev) split.
double choose_bucc_threshold(XlmrEncoderImpl& encoder, const SplitFeatures& dev,
                             const EvalOptions& options);

// Scores predictions against the split's labels with the task's metric:
//   accuracy (classification, multiple choice, tagging with metric "accuracy", Tatoeba),
//   seqeval_f1, squad (SQuAD rules), mlqa (MLQA rules for `language`), bucc_f1, map@20.
// Throws DataError when the split has no labels.
MetricSet score_predictions(const CachedTask& task, const std::string& language,
                            const SplitFeatures& split, const Predictions& predictions);

// The label strings of tagging predictions, sentence by sentence (missing words filled as above).
std::vector<std::vector<std::string>> tag_strings(const CachedTask& task,
                                                  const SplitFeatures& split,
                                                  const std::vector<int32_t>& word_labels);
// The answer text of each QA example.
std::vector<std::string> answer_strings(const SplitFeatures& split,
                                        const std::vector<int64_t>& spans);

}  // namespace ordertune

// Small in-memory task splits with learnable rules, for trainer tests (engine and MPI).
// Token ids are in [4, vocab - 1) (no specials, no <mask>); every row is <s> ... </s>.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordertune/data/data_cache.h"
#include "ordertune/train/batching.h"
#include "ordertune/train/trainer.h"

namespace ordertune::testing {

// Random body tokens of a row, lengths in [min_len, max_len].
inline std::vector<int32_t> random_row(SplitMix64& rng, int64_t vocab, int64_t min_len,
                                       int64_t max_len) {
  const int64_t n =
      min_len + static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_len - min_len + 1)));
  std::vector<int32_t> row{0};
  for (int64_t i = 0; i < n; ++i)
    row.push_back(4 + static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab - 5))));
  row.push_back(2);
  return row;
}

// Classification: label 1 when token 4 or 5 occurs in the row, else 0.
inline SplitFeatures classification_split(int64_t n, int64_t vocab, uint64_t seed) {
  SplitMix64 rng(seed);
  SplitFeatures s;
  s.type = TaskType::kClassification;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int32_t> row = random_row(rng, vocab, 3, 12);
    bool hit = false;
    for (size_t t = 1; t + 1 < row.size(); ++t) hit = hit || row[t] == 4 || row[t] == 5;
    s.classification.input_ids.push_row(row);
    s.classification.labels.push_back(hit ? 1 : 0);
    s.classification.ids.push_back(std::to_string(i));
  }
  return s;
}

// Tagging: one word per token; tag 1 for ids below vocab / 2, else 0. Every third token is a
// continuation sub-token (no label) to exercise first-sub-token labelling.
inline SplitFeatures tagging_split(int64_t n, int64_t vocab, uint64_t seed) {
  SplitMix64 rng(seed);
  SplitFeatures s;
  s.type = TaskType::kTagging;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t> row = random_row(rng, vocab, 2, 10);
    std::vector<int32_t> word_index(row.size(), -1), labels;
    int32_t word = 0;
    for (size_t t = 1; t + 1 < row.size(); ++t) {
      if (t % 3 == 0) continue;  // continuation
      word_index[t] = word++;
      labels.push_back(row[t] < vocab / 2 ? 1 : 0);
    }
    s.tagging.input_ids.push_row(row);
    s.tagging.word_index.push_row(word_index);
    s.tagging.word_labels.push_row(labels);
    s.tagging.ids.push_back(std::to_string(i));
  }
  return s;
}

// Retrieval pairs (a dual encoder's training data): query i is a random row; its candidate holds
// the query's tokens translated (id t -> t ^ 1, so no token is shared and an untrained encoder
// ranks near chance) in reverse order, plus two random ones; gold pairs (i, i).
inline SplitFeatures retrieval_split(int64_t n, int64_t vocab, uint64_t seed) {
  SplitMix64 rng(seed);
  SplitFeatures s;
  s.type = TaskType::kRetrieval;
  RetrievalFeatures& r = s.retrieval;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t> query = random_row(rng, vocab, 4, 8);
    std::vector<int32_t> candidate;
    for (auto t = query.rbegin() + 1; t != query.rend() - 1; ++t) {
      const int32_t translated = *t ^ 1;
      candidate.push_back(translated >= 4 && translated < vocab - 1 ? translated : *t);
    }
    for (int k = 0; k < 2; ++k)
      candidate.push_back(4 + static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab - 5))));
    candidate.insert(candidate.begin(), 0);
    candidate.push_back(2);
    r.query_ids.push_row(query);
    r.candidate_ids.push_row(candidate);
    r.query_keys.push_back("q" + std::to_string(i));
    r.candidate_keys.push_back("c" + std::to_string(i));
    r.query_languages.push_back("en");
    r.candidate_languages.push_back("en");
    r.gold_query.push_back(i);
    r.gold_candidate.push_back(i);
  }
  return s;
}

inline StageTask stage_task(const std::string& name, SplitFeatures train,
                            std::vector<std::string> labels, Metric metric = Metric::kAccuracy) {
  StageTask t;
  t.name = name;
  t.info.name = name;
  t.info.type = train.type;
  t.info.labels = std::move(labels);
  t.info.metric = metric;
  t.train = std::move(train);
  return t;
}

}  // namespace ordertune::testing

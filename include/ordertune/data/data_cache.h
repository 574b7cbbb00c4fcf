// data_cache — the tokenized data cache: written once by ordertune-prepare, read by every rank.
//
// One HDF5 file. Layout (every group and dataset carries a "description" attribute):
//   /                          attrs format_version, created_by, settings (JSON: featurizer
//                              settings and the tokenizer's vocab_size), tokenizer_hash
//   /tokenizer/model           uint8[]  the sentencepiece model bytes (XLM-R fairseq id mapping)
//   /tasks/<task>              attrs type, format, metric, labels (JSON array), content_hash,
//                              num_choices, train_task
//   /tasks/<task>/<split>/<lang>/...   the features below, by task type
// Ragged arrays are stored flat as <name> plus <name>_offsets (int64, rows + 1, from 0).
// A retrieval task whose languages share one candidate set (Mewsli-X's ~1M entities, LAReQA's
// multilingual pool) stores it once: the candidate_* datasets of the other languages are HDF5
// hard links to the first's, read like any dataset.
// Token ids are int32 XLM-R ids (<s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=vocab-1).
// Byte offsets point into the UTF-8 contexts stored alongside.
//
// The cache is written to "<path>.tmp-<pid>" and renamed over <path> only when complete, so a
// failed or interrupted prepare never leaves a half cache or damages an existing one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ordertune/config/config.h"
#include "ordertune/config/task_registry.h"

namespace ordertune {

inline constexpr int kCacheFormatVersion = 1;
inline constexpr int32_t kIgnoreLabel = -100;  // loss ignore index (PyTorch convention)

// A list of variable-length rows stored flat: row i is values[offsets[i] .. offsets[i+1]).
template <typename T>
struct Ragged {
  std::vector<T> values;
  std::vector<int64_t> offsets{0};

  size_t rows() const { return offsets.size() - 1; }
  int64_t row_size(size_t i) const { return offsets[i + 1] - offsets[i]; }
  const T* row(size_t i) const { return values.data() + offsets[i]; }
  template <typename It>
  void push_row(It begin, It end) {
    values.insert(values.end(), begin, end);
    offsets.push_back(static_cast<int64_t>(values.size()));
  }
  void push_row(const std::vector<T>& r) { push_row(r.begin(), r.end()); }
};

struct ClassificationFeatures {
  Ragged<int32_t> input_ids;    // <s> A </s></s> B </s>, truncated longest-first
  std::vector<int32_t> labels;  // label index; -1 = unlabeled
  std::vector<std::string> ids;
};

struct MultipleChoiceFeatures {
  int32_t num_choices = 0;
  Ragged<int32_t> input_ids;    // rows = examples × num_choices, example-major
  std::vector<int32_t> labels;  // right choice; -1 = unlabeled
  std::vector<std::string> ids;
};

struct TaggingFeatures {
  Ragged<int32_t> input_ids;    // <s> subwords </s>, truncated
  Ragged<int32_t> word_index;   // per token: index of the word it starts, -1 otherwise
  Ragged<int32_t> word_labels;  // per WORD: tag index, -1 = unlabeled; rows cover every word,
                                // including words cut by truncation (they get no prediction)
  std::vector<std::string> ids;
};

struct QAFeatures {
  // Examples.
  std::vector<std::string> ids;
  std::vector<std::string> questions;
  std::vector<std::string> contexts;
  Ragged<std::string> answer_texts;  // per example, all gold answers
  Ragged<int64_t> answer_starts;     // per example, byte offsets into the context
  std::vector<uint8_t> is_impossible;
  // Windows (SQuAD-style doc stride): <s> question </s></s> context-part </s>.
  Ragged<int32_t> input_ids;
  Ragged<int64_t> token_start;           // per token: byte offset in the context, -1 outside it
  Ragged<int64_t> token_end;             // per token: end byte offset (exclusive), -1 outside it
  std::vector<int32_t> window_example;   // example index of each window
  std::vector<int32_t> start_positions;  // token index of the first answer (train); 0 (<s>) if
  std::vector<int32_t> end_positions;    // the answer is not inside the window or impossible
};

struct RetrievalFeatures {
  Ragged<int32_t> query_ids;  // token ids per query
  std::vector<std::string> query_keys;
  std::vector<std::string> query_languages;
  Ragged<int32_t> candidate_ids;  // token ids per candidate
  std::vector<std::string> candidate_keys;
  std::vector<std::string> candidate_languages;
  std::vector<int64_t> gold_query;  // gold (query, candidate) index pairs
  std::vector<int64_t> gold_candidate;
};

struct MLMFeatures {
  Ragged<int32_t> input_ids;  // <s> line </s>, truncated
};

// One (task, split, language) of the cache.
struct SplitFeatures {
  TaskType type = TaskType::kClassification;
  ClassificationFeatures classification;
  MultipleChoiceFeatures multiple_choice;
  TaggingFeatures tagging;
  QAFeatures qa;
  RetrievalFeatures retrieval;
  MLMFeatures mlm;
  size_t size() const;  // examples (queries for retrieval, lines for MLM)
};

// Task-level facts stored with the cache.
struct CachedTask {
  std::string name;
  TaskType type = TaskType::kClassification;
  std::string format;
  Metric metric = Metric::kAccuracy;
  std::string train_task;
  std::vector<std::string> labels;
  int32_t num_choices = 0;
  std::string content_hash;  // hash of input files + spec + settings + tokenizer
  std::string test_path;     // the test split's path template it was read from ("" = none)
  std::map<std::string, std::vector<std::string>> languages;  // split -> languages in the cache
};

// Whether the split has gold labels (xtreme's downloads hide most test labels).
bool has_labels(const SplitFeatures& split);

// The languages a target is evaluated in: its test split's, else its dev split's (a task whose
// download has no test split). The one rule for the runner and the cost model.
std::vector<std::string> target_languages(const CachedTask& info);

// Whether a task has labels in (split, language): in the cache for plan and sweep, in the raw
// files for `prepare --check`.
using LabelledFn = std::function<bool(const std::string& split, const std::string& language)>;

// The split a target is scored on in `language`, the one rule for plan, sweep, results layout and
// `prepare --check`: one split for all the target's languages, since its score averages them and
// dev and test are never averaged together: test where the test split of every language that is
// not [targets.<task>] unscored has labels, else dev; "" (predictions only) where that split has
// no labels in `language`, for an unscored language, and for a target with score = "none".
std::string scoring_split(const SweepConfig& config, const std::string& target,
                          const std::vector<std::string>& languages, const LabelledFn& labelled,
                          const std::string& language);

// The languages of a target that have no labelled split and are not knowingly unscored (unscored,
// score = "none"): plan and sweep refuse them, since such a leaf would cost GPU time and give no
// score.
std::vector<std::string> unscorable_languages(const SweepConfig& config, const std::string& target,
                                              const std::vector<std::string>& languages,
                                              const LabelledFn& labelled);

// One line for the refusal: the target, its languages without labels, and how to supply them
// (the gold release, or unscored / score = "none"); `where` names what was looked at.
std::string unscorable_message(const SweepConfig& config, const std::string& target,
                               const std::vector<std::string>& languages,
                               const std::vector<std::string>& missing, const std::string& where);

// The settings that change the tokenized output of every task (data.max_length and the rest), as
// JSON: prepare stores them in the cache's "settings" attribute (with the tokenizer's vocab_size).
std::string featurizer_settings_json(const DataConfig& data);

class CacheReader;
// Refuses (DataError, one line) a cache prepared with other settings than `config`'s: each
// featurizer setting, and each used task's type, metric, label set, choices and train task. It
// names the setting and both values. (A cache prepared by another config was once used unchecked:
// the results file then claimed settings its data did not have.)
void check_cache_matches(const CacheReader& cache, const SweepConfig& config);

// Labels of a task in a cache (reads each split it is asked about).
LabelledFn labelled_in_cache(const CacheReader& cache, const std::string& task);

// The targets' scoring in a cache, for `ordertune plan`: throws ConfigError (one line,
// unscorable_message) for a target with languages it cannot score, else returns
// "TARGET on SPLIT" per target ("TARGET unscored" for score = "none").
std::vector<std::string> check_scoring(const CacheReader& cache, const SweepConfig& config);

class CacheWriter {
 public:
  // Creates "<path>.tmp-<pid>"; commit() renames it over path.
  explicit CacheWriter(const std::filesystem::path& path);
  ~CacheWriter();  // removes the temporary file unless committed
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  void write_header(const std::string& settings_json, const std::string& tokenizer_model_bytes,
                    const std::string& tokenizer_hash);
  void begin_task(const CachedTask& task);
  // candidates_of: "split/language" of this task, written before, whose retrieval candidates
  // are these split's too: they are linked to, not written again (features' candidate_* members
  // are then not used).
  void write_split(const std::string& task, const std::string& split, const std::string& language,
                   const SplitFeatures& features, const std::string& candidates_of = "");
  // Copies a task unchanged from an existing cache (it was up to date).
  void copy_task_from(const std::filesystem::path& old_cache, const std::string& task);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class CacheReader {
 public:
  // Opens read-only; throws DataError if missing or not a cache of this format version.
  explicit CacheReader(const std::filesystem::path& path);
  ~CacheReader();
  CacheReader(const CacheReader&) = delete;
  CacheReader& operator=(const CacheReader&) = delete;

  const std::string& settings_json() const;
  const std::string& tokenizer_hash() const;
  std::string tokenizer_model() const;
  std::vector<std::string> task_names() const;
  bool has_task(const std::string& task) const;
  CachedTask task(const std::string& task) const;  // throws DataError if absent
  bool has_split(const std::string& task, const std::string& split, const std::string& lang) const;
  SplitFeatures read_split(const std::string& task, const std::string& split,
                           const std::string& language) const;
  // Elements of one dataset of a split (e.g. "input_ids", "labels", "input_ids_offsets"), from
  // its metadata only: what the cost model counts without reading the features.
  int64_t dataset_size(const std::string& task, const std::string& split,
                       const std::string& language, const std::string& dataset) const;
  // has_labels(read_split(...)), reading the split's label dataset only (plan and the sweep's
  // start ask this of every target language on every rank).
  bool split_has_labels(const std::string& task, const std::string& split,
                        const std::string& language) const;
  // The row lengths of one ragged dataset of a split (from its offsets only).
  std::vector<int64_t> row_sizes(const std::string& task, const std::string& split,
                                 const std::string& language, const std::string& dataset) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordertune

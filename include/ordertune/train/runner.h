// runner — the work of one node of a sweep on one rank (group): the root model, an intermediate
// stage, a target (fine-tune on English, predict and score every language). The sweep's
// scheduler decides which node runs where; `ordertune run` runs one path with these directly.
//
// Data come from the cache only (never raw files, never sentencepiece). Splits are loaded once
// per process and kept (a rank runs many nodes over the same tasks).
//
// Seeds (src/DESIGN.md, decision 6): a node's seed is derived from (sweep seed, replicate,
// path) by node_seed(); the root (tiny MLM pretraining or the checkpoint) is shared by all
// replicates of a sweep, derived from the sweep seed alone, so replicates differ in the
// intermediate and target training only (as the study's seeds do with one pretrained XLM-R).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/plan/plan.h"
#include "ordertune/train/evaluate.h"
#include "ordertune/train/trainer.h"

namespace ordertune {

class TaskData {
 public:
  // Opens the cache named by the config and checks that it holds every task the config uses.
  explicit TaskData(const SweepConfig& config);
  ~TaskData();

  const SweepConfig& config() const { return config_; }
  const CacheReader& cache() const { return *cache_; }
  int64_t vocab_size() const { return vocab_size_; }  // XLM-R ids, <mask> included
  int32_t mask_id() const { return static_cast<int32_t>(vocab_size_ - 1); }

  // A split (cached after the first read); empty features when the cache lacks it.
  const SplitFeatures& split(const std::string& task, const std::string& split,
                             const std::string& language);
  bool has_split(const std::string& task, const std::string& split,
                 const std::string& language) const;

  // The English training (and dev, where present) data of a task, capped by
  // train.max_train_examples / max_eval_examples (the first N examples).
  StageTask stage_task(const std::string& task);
  // A stage of an order: a task or a mixture, with its [train.<stage>] settings.
  StageSpec stage(const std::string& stage_name);
  // The MLM pretraining of the tiny model (model.tiny.pretrain_*).
  StageSpec pretraining_stage();

 private:
  const SweepConfig& config_;
  std::unique_ptr<CacheReader> cache_;
  int64_t vocab_size_ = 0;
  std::map<std::string, SplitFeatures> splits_;
};

// The root encoder: the checkpoint (model.checkpoint), or the tiny model initialised from the
// sweep seed and pretrained with MLM (its curve returned in *pretraining).
XlmrEncoder make_root_encoder(TaskData& data, const torch::Device& device, const TrainHooks& hooks,
                              StageResult* pretraining);

// A deep copy of an encoder (same architecture, same device, own storage).
XlmrEncoder copy_encoder(const XlmrEncoder& encoder);

// Whether a target is fine-tuned before prediction: every task type but retrieval, and the
// retrieval targets whose cache holds an English training split (Mewsli-X, LAReQA: a dual
// encoder, heads.h); Tatoeba and BUCC are evaluated straight from the encoder, as in xtreme.
bool target_trains(TaskData& data, const std::string& target);
// The English fine-tuning stage of a target that trains: its train_task's training data, its
// own [train.<target>] settings, model selection on its own English dev split where present
// (not for retrieval: xtreme evaluates the last dual-encoder checkpoint).
StageSpec target_stage(TaskData& data, const std::string& target);

// What a node of the plan writes, known from the cache before it runs: the lengths of its
// curves and, for a target leaf, the split each language is scored on, the metric keys, and the
// prediction size of every test split. The results file's static layout (src/DESIGN.md,
// decision 4) is made of these.
struct NodeOutputs {
  int64_t steps = 0;        // optimizer steps (planned_steps)
  int64_t evaluations = 0;  // English dev evaluations (planned_evaluations)
  struct Scored {
    std::string language, split;
  };
  std::vector<Scored> scored;            // languages with labels, in target_languages order
  std::vector<std::string> metric_keys;  // per scored language
  struct Predicted {
    std::string language;
    PredictionSize size;
  };
  std::vector<Predicted> predictions;  // languages with a test split
};
// Every node's outputs, index = node id (stage specs are built once per stage).
std::vector<NodeOutputs> node_outputs(TaskData& data, const Plan& plan);

// Fine-tunes a copy of `encoder` on the target's English training data (its train_task's when
// set; none for Tatoeba and BUCC) and predicts every language of its test split (dev where the
// cache has no test split), scoring every split that has labels (BUCC: threshold chosen on dev).
TargetResult run_target(const XlmrEncoder& encoder, TaskData& data, const std::string& target,
                        uint64_t seed, const TrainHooks& hooks = {});

// Parses an order written "a>b>c" ("" = the baseline); ConfigError naming `what` when a stage is
// neither a task nor a mixture of the config.
std::vector<std::string> parse_order(const std::string& text, const SweepConfig& config,
                                     const std::string& what);
std::string order_string(const std::vector<std::string>& order);

// `ordertune run`: the root, every stage of one order, then every target, on this rank alone,
// without a results file. Returns one JSON object: per stage and target the steps, seconds,
// steps/s, tokens/s, last loss and dev scores; per target and language the metrics; and
// "score", the mean of the targets' scores (XTREME-R's overall number over these targets).
nlohmann::json run_path(TaskData& data, const std::vector<std::string>& order, int replicate,
                        const torch::Device& device);

}  // namespace ordertune

// trainer — one stage of a path: fine-tune the encoder with fresh task head(s) on one task, a
// multi-task mixture, or masked language modelling; then the heads are dropped and the encoder
// goes on (src/DESIGN.md, decision 3; jiant's "partial" loading).
//
// The recipe is jiant's / Hugging Face Trainer's:
//   AdamW (no decay on biases and LayerNorm weights; optim.h) over flat parameter buffers;
//   learning rate linear from 0 over warmup = round(warmup_fraction * steps) steps, then linear
//     down to 0 at the last step (get_linear_schedule_with_warmup: update k uses lr * k / warmup
//     while k < warmup, else lr * (steps - k) / (steps - warmup));
//   gradient accumulation over grad_accum micro-batches of batch_size items;
//   clipping to max_grad_norm (clip_grad_norm_); steps = max_steps, or ceil(epochs * steps per
//     epoch) with ceil(batches / grad_accum) steps per epoch;
//   evaluation on the English dev split every eval_every steps (0: at each epoch end) and at the
//     end; select = "best" keeps the weights of the best dev score, "last" the final ones.
// Loss of a step: the sum of per-item losses (per labelled token for tagging and MLM; the mean of
// start and end cross-entropy for QA windows) over all of the step's micro-batches, divided by
// their number. For one micro-batch this is the usual mean; unlike a mean per micro-batch it does
// not depend on how a step is cut into micro-batches or split over the ranks of a group.
//
// Mixtures (jiant's multi-task samplers): each optimizer step trains one member task, drawn with
// probability proportional to its training items ("proportional"), to items^(1/T)
// ("temperature"), or uniformly; each member has its own head. Steps per epoch = the sum of the
// members' steps per epoch.
//
// Determinism (decision 6): head initialisation, data order, task sampling, MLM masks and dropout
// all derive from the stage seed passed in; with a fixed thread count a stage is bitwise
// reproducible on CPU. A group of G ranks (Communicator) splits every micro-batch into contiguous
// slices (batching.h), sums gradients and loss terms, and reproduces one rank's numbers to
// rounding.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/model/heads.h"
#include "ordertune/scoring/metrics.h"
#include "ordertune/train/evaluate.h"

namespace ordertune {

class Communicator;

// One task as a stage trains it.
struct StageTask {
  std::string name;
  CachedTask info;      // type, labels, metric
  SplitFeatures train;  // English training split
  bool has_dev = false;
  SplitFeatures dev;  // English dev split
};

struct StageSpec {
  std::string name;                             // stage name in orders (task or mixture)
  std::vector<StageTask> tasks;                 // one, or the members of a mixture
  Sampling sampling = Sampling::kProportional;  // proportional | temperature | uniform
  double temperature = 2.0;
  TrainConfig settings;          // lr, batch, epochs, ... for this stage
  int32_t mask_id = -1;          // MLM: <mask> id (vocab_size - 1)
  int64_t eval_batch_size = 64;  // sequences per evaluation forward
};

struct EvalRecord {
  int64_t step = 0;  // optimizer steps done when evaluated
  std::string task;
  MetricSet metrics;   // official keys, percent
  double score = 0.0;  // task_score (QA: (EM + F1) / 2; MLM: masked-token accuracy)
};

struct StageResult {
  int64_t steps = 0;                  // optimizer steps
  std::vector<float> losses;          // per step
  std::vector<float> learning_rates;  // per step
  std::vector<float> grad_norms;      // per step, before clipping
  std::vector<int32_t> step_tasks;    // per step: index into StageSpec::tasks
  std::vector<EvalRecord> evals;
  int64_t selected_step = 0;  // the step whose weights were kept
  int64_t tokens = 0;         // non-padding training tokens processed (all ranks)
  double train_seconds = 0.0;
  double eval_seconds = 0.0;
};

// A stage at a step boundary: everything train_stage needs to continue exactly as if it had not
// stopped (resume after a signal or a crash). Member data positions are not stored: they are
// replayed from the seed (cheap), and dropout is seeded per micro-batch of each step, so no
// generator state is needed.
struct TrainerSnapshot {
  int64_t step = 0;                   // optimizer steps done
  torch::Tensor weights;              // the flat parameter buffer: encoder and heads (optim.h)
  torch::Tensor exp_avg, exp_avg_sq;  // AdamW moments, same layout
  torch::Tensor best_weights;         // select = "best": weights of the best dev score so far
  double best_score = -std::numeric_limits<double>::infinity();
  StageResult result;  // curves, dev evaluations, tokens and seconds so far
};

struct TrainHooks {
  Communicator* group = nullptr;  // data-parallel group; nullptr = this rank alone
  // Micro-batch parallelism (the sweep's root pretraining on every rank): the grad_accum
  // micro-batches of a step are divided over the ranks of `spread` in contiguous runs, each
  // micro-batch computed whole by one rank, and their gradients and loss sums are added in
  // micro-batch order along a chain of the ranks (rank r adds its own to rank r - 1's partial
  // sum), then broadcast from the last. Every operation is the one a lone rank does, in the same
  // order, so the result is bitwise that of one rank training alone (with the same thread count)
  // for any number of ranks; ranks beyond grad_accum only pass the sum on. Exclusive with `group`.
  Communicator* spread = nullptr;
  // Called after every optimizer step (progress); return false to stop at this step boundary
  // (signals): the result then has steps < planned and `stopped` set by the caller's logic.
  std::function<bool(int64_t step, int64_t steps, const StageResult&)> on_step;
  // Resume checkpoints: on_snapshot gets the state every `snapshot_every` steps (0: never) and
  // at a boundary where on_step stopped the stage; never after the last step.
  int64_t snapshot_every = 0;
  std::function<void(const TrainerSnapshot&)> on_snapshot;
  // Continue from this snapshot instead of step 0 (same stage, seed and group layout).
  const TrainerSnapshot* resume_from = nullptr;
  // Called once per member with its model (the shared encoder and the member's fresh head)
  // before training starts, e.g. to load the head's initial weights from an XLMRobertaFor*
  // checkpoint; the parity tests against transformers (issue 14) start both from the same
  // weights this way. The module must keep its parameters' shapes, dtype and device.
  std::function<void(size_t member, XlmrForTaskImpl& model)> init_member;
};

// The head that trains a task type (classification -> sequence classification, ...).
HeadOptions head_for(const CachedTask& task);

// Optimizer steps the stage will take.
int64_t planned_steps(const StageSpec& stage);
// How many times train_stage evaluates on dev (0 when a member has no dev split; stage_steps.h).
int64_t planned_evaluations(const StageSpec& stage);
// Learning-rate multiplier of update k (0-based) of `steps` with `warmup` warmup steps.
double linear_schedule(int64_t k, int64_t steps, int64_t warmup);

// Trains the encoder in place (it must already be on its device); returns the curves and dev
// evaluations. With select = "best" and a dev split, the encoder ends with the best weights.
// `models`, if given, receives each member's model (the encoder with its trained head) for
// prediction; otherwise the heads are dropped.
StageResult train_stage(XlmrEncoder& encoder, const StageSpec& stage, uint64_t seed,
                        const TrainHooks& hooks = {}, std::vector<XlmrForTask>* models = nullptr);

// Dev evaluation of one task with a given head (used by train_stage and by target fine-tuning).
EvalRecord evaluate_task(XlmrForTaskImpl& model, const StageTask& task, const SplitFeatures& split,
                         int64_t batch_size, int32_t mask_id);

// A target: fine-tune on English (train_stage on a copy of the encoder), then predict every
// language; the result per language keeps predictions and, where the split has labels, metrics.
struct LanguageResult {
  std::string language;
  bool has_test = false;
  Predictions predictions;   // on the test split (what a submission holds)
  std::string scored_split;  // the split `metrics` come from: test when it has labels, else
                             // dev when that has labels, else "" (nothing to score)
  MetricSet metrics;
};
struct TargetResult {
  std::string task;
  StageResult training;  // empty for encoder-only tasks (Tatoeba, BUCC)
  std::vector<LanguageResult> languages;
  MetricSet averaged;  // over scored languages
  double score = 0.0;  // task_score of the average
};

}  // namespace ordertune

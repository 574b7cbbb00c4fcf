#include "ordertune/train/trainer.h"

#include <array>
#include <chrono>
#include <cmath>
#include <limits>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/dist/reduce.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/plan/stage_steps.h"
#include "ordertune/train/batching.h"
#include "ordertune/train/optim.h"
#include "ordertune/train/retrieval.h"

namespace ordertune {

namespace {

constexpr int kSpreadTag = 7201;  // the partial sums of a spread step, rank r - 1 -> r

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Seed of the masks of MLM evaluation: fixed, so dev accuracy compares across steps and nodes.
constexpr uint64_t kMlmEvalSeed = 0x6d6c6d2d646576ULL;

// One member task of a stage while it trains: its model (shared encoder + own head) and its
// position in the epoch's batches.
struct Member {
  const StageTask* task = nullptr;
  XlmrForTask model{nullptr};
  std::vector<int64_t> lengths;
  std::vector<std::vector<int64_t>> batches;  // this epoch's micro-batches
  size_t next = 0;
  int64_t epoch = -1;
  uint64_t data_seed = 0;
  int64_t steps_per_epoch = 0;

  const std::vector<int64_t>& next_micro_batch(int64_t batch_size) {
    if (next >= batches.size()) {
      ++epoch;
      batches = bucketed_batches(lengths, batch_size,
                                 derive_seed(data_seed, "epoch", static_cast<uint64_t>(epoch)));
      next = 0;
    }
    return batches[next++];
  }
};

// An epoch of the stage: its members' epochs (stage_steps.h).
int64_t steps_per_epoch_of(const StageSpec& stage) {
  int64_t per_epoch = 0;
  for (const StageTask& t : stage.tasks)
    per_epoch += member_steps_per_epoch(item_count(t.train), stage.settings);
  return per_epoch;
}

// Sum of the per-item (per-token) losses of a batch.
torch::Tensor loss_sum(XlmrForTaskImpl& model, TaskType type, const Batch& b,
                       const torch::Device& device) {
  // The mask stays on the host: the encoder decides there whether the batch has padding.
  const torch::Tensor ids = to_device(b.input_ids, device), &mask = b.attention_mask;
  const torch::Tensor labels = to_device(b.labels, device);
  namespace F = torch::nn::functional;
  const auto sum = F::CrossEntropyFuncOptions().reduction(torch::kSum);
  switch (type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
      return F::cross_entropy(model.forward(ids, mask).to(torch::kFloat32), labels, sum);
    case TaskType::kTagging: {
      const torch::Tensor logits = model.forward(ids, mask).to(torch::kFloat32);
      return F::cross_entropy(
          logits.reshape({-1, logits.size(-1)}), labels.reshape({-1}),
          F::CrossEntropyFuncOptions().reduction(torch::kSum).ignore_index(kIgnoreLabel));
    }
    case TaskType::kExtractiveQA: {
      const torch::Tensor logits = model.forward(ids, mask).to(torch::kFloat32);  // [B, T, 2]
      const torch::Tensor start = F::cross_entropy(logits.select(2, 0), labels.select(1, 0), sum);
      const torch::Tensor end = F::cross_entropy(logits.select(2, 1), labels.select(1, 1), sum);
      return (start + end) / 2;
    }
    case TaskType::kMLM: {
      // The LM head only where a token was selected: [B, T, V] logits would need V = 250k floats
      // per token for XLM-R.
      const torch::Tensor hidden = model.roberta->forward(ids, mask).last_hidden_state;
      const torch::Tensor selected = labels.ne(kIgnoreLabel);
      const torch::Tensor h = hidden.index({selected});
      const torch::Tensor x =
          model.lm_norm->forward(torch::gelu(ordertune::linear(h, model.lm_dense)));
      const torch::Tensor logits =
          torch::linear(x, model.roberta->embeddings->word_embeddings->weight, model.lm_bias);
      return F::cross_entropy(logits.to(torch::kFloat32), labels.index({selected}),
                              F::CrossEntropyFuncOptions().reduction(torch::kSum));
    }
    case TaskType::kRetrieval: {
      // Dual encoder (xtreme's BertForRetrieval): each query against every candidate of the
      // micro-batch, its own the target, over logit_scale * cosine similarity; one direction.
      const torch::Tensor q = model.forward(ids, mask);
      const torch::Tensor c = model.forward(to_device(b.candidate_ids, device), b.candidate_mask);
      return in_batch_softmax_loss(q.to(torch::kFloat32), c.to(torch::kFloat32),
                                   model.logit_scale) *
             static_cast<double>(q.size(0));
    }
  }
  throw ConfigError(std::string("cannot train a ") + choice_name(type) + " task as a stage");
}

// Masked-token accuracy on a split with fixed masks.
EvalRecord evaluate_mlm(XlmrForTaskImpl& model, const StageTask& task, const SplitFeatures& split,
                        int64_t batch_size, int32_t mask_id) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const torch::Device device = model.roberta->embeddings->word_embeddings->weight.device();
  BatchOptions o;
  o.mlm_seed = kMlmEvalSeed;
  o.mask_id = mask_id;
  o.vocab_size = static_cast<int32_t>(model.roberta->config().vocab_size);
  int64_t correct = 0, total = 0;
  for (const auto& items : sorted_batches(item_lengths(split), batch_size)) {
    const Batch b = make_batch(split, items, o);
    const torch::Tensor labels = to_device(b.labels, device);
    const torch::Tensor hidden =
        model.roberta->forward(to_device(b.input_ids, device), b.attention_mask).last_hidden_state;
    const torch::Tensor selected = labels.ne(kIgnoreLabel);
    const torch::Tensor x = model.lm_norm->forward(
        torch::gelu(ordertune::linear(hidden.index({selected}), model.lm_dense)));
    const torch::Tensor logits =
        torch::linear(x, model.roberta->embeddings->word_embeddings->weight, model.lm_bias);
    correct += logits.argmax(-1).eq(labels.index({selected})).sum().item<int64_t>();
    total += selected.sum().item<int64_t>();
  }
  model.train(was_training);
  EvalRecord r;
  r.task = task.name;
  r.score = total > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0;
  r.metrics = {{"accuracy", r.score}};
  return r;
}

void check_settings(const StageSpec& stage) {
  const TrainConfig& s = stage.settings;
  OT_CHECK(s.batch_size > 0 && s.grad_accum > 0, "stage {}: bad batch settings", stage.name);
  if (stage.tasks.empty()) throw ConfigError("stage " + stage.name + ": no tasks");
  for (const StageTask& t : stage.tasks) {
    if (item_count(t.train) == 0)
      throw DataError("stage " + stage.name + ": task " + t.name +
                      " has no English training items in the cache");
    if (t.info.type == TaskType::kMLM && stage.mask_id < 0)
      throw ConfigError("stage " + stage.name + ": MLM needs the tokenizer's <mask> id");
  }
}

// Draws the member task of an optimizer step.
size_t draw_member(const StageSpec& stage, const std::vector<double>& cumulative, uint64_t seed,
                   int64_t step) {
  if (cumulative.size() == 1) return 0;
  const double u = SplitMix64(derive_seed(seed, "task", static_cast<uint64_t>(step))).uniform() *
                   cumulative.back();
  for (size_t i = 0; i < cumulative.size(); ++i)
    if (u < cumulative[i]) return i;
  (void)stage;
  return cumulative.size() - 1;
}

}  // namespace

HeadOptions head_for(const CachedTask& task) {
  HeadOptions h;
  switch (task.type) {
    case TaskType::kClassification:
      h.kind = HeadKind::kSequenceClassification;
      break;
    case TaskType::kMultipleChoice:
      h.kind = HeadKind::kMultipleChoice;
      break;
    case TaskType::kExtractiveQA:
      h.kind = HeadKind::kQuestionAnswering;
      break;
    case TaskType::kTagging:
      h.kind = HeadKind::kTokenClassification;
      break;
    case TaskType::kMLM:
      h.kind = HeadKind::kMaskedLM;
      break;
    case TaskType::kRetrieval:
      h.kind = HeadKind::kDualEncoder;
      break;  // trained: Mewsli-X, LAReQA
  }
  h.num_labels = std::max<int64_t>(1, static_cast<int64_t>(task.labels.size()));
  return h;
}

int64_t planned_steps(const StageSpec& stage) {
  return stage_steps(steps_per_epoch_of(stage), stage.settings);
}

namespace {

bool all_have_dev(const StageSpec& stage) {
  return std::all_of(stage.tasks.begin(), stage.tasks.end(),
                     [](const StageTask& t) { return t.has_dev; });
}

}  // namespace

int64_t planned_evaluations(const StageSpec& stage) {
  if (!all_have_dev(stage)) return 0;
  const int64_t per_epoch = steps_per_epoch_of(stage);
  return evaluation_count(stage_steps(per_epoch, stage.settings), per_epoch, stage.settings);
}

double linear_schedule(int64_t k, int64_t steps, int64_t warmup) {
  if (k < warmup) return static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, warmup));
  return std::max(0.0, static_cast<double>(steps - k) /
                           static_cast<double>(std::max<int64_t>(1, steps - warmup)));
}

EvalRecord evaluate_task(XlmrForTaskImpl& model, const StageTask& task, const SplitFeatures& split,
                         int64_t batch_size, int32_t mask_id) {
  if (task.info.type == TaskType::kMLM)
    return evaluate_mlm(model, task, split, batch_size, mask_id);
  EvalOptions o;
  o.batch_size = batch_size;
  EvalRecord r;
  r.task = task.name;
  r.metrics = score_predictions(task.info, "en", split, predict(model, split, o));
  r.score = task_score(r.metrics);
  return r;
}

namespace {

// A stage's members with fresh heads on one encoder, under one module (the flat parameter
// buffer spans encoder and heads), and the cumulative sampling weights of a mixture.
struct StageModels {
  std::shared_ptr<torch::nn::Module> container;
  std::vector<Member> members;
  std::vector<double> cumulative;  // member i is drawn with weight cumulative[i] - cumulative[i-1]
  bool uses_pooler = false;        // a head trains the pooler (multiple choice)
};

StageModels make_stage_models(XlmrEncoder& encoder, const StageSpec& stage, uint64_t seed,
                              const torch::Device& device, const TrainHooks& hooks) {
  // Heads: fresh, initialised from the stage seed (the same on every rank of the group).
  torch::manual_seed(derive_seed(seed, "heads"));
  StageModels out;
  out.container = std::make_shared<torch::nn::Module>("Stage");
  out.container->register_module("roberta", encoder);
  out.members.resize(stage.tasks.size());
  for (size_t i = 0; i < stage.tasks.size(); ++i) {
    const StageTask& t = stage.tasks[i];
    Member& m = out.members[i];
    m.task = &t;
    HeadOptions head = head_for(t.info);
    out.uses_pooler = out.uses_pooler || head_uses_pooler(head.kind);
    m.model = XlmrForTask(encoder, head);
    m.model->to(device);
    if (hooks.init_member) hooks.init_member(i, *m.model);
    out.container->register_module("task" + std::to_string(i), m.model);
    m.lengths = item_lengths(t.train);
    m.data_seed = derive_seed(seed, "data:" + t.name);
    m.steps_per_epoch = member_steps_per_epoch(item_count(t.train), stage.settings);
    const double items = static_cast<double>(item_count(t.train));
    const double weight = stage.sampling == Sampling::kUniform ? 1.0
                          : stage.sampling == Sampling::kTemperature
                              ? std::pow(items, 1.0 / stage.temperature)
                              : items;
    out.cumulative.push_back((out.cumulative.empty() ? 0.0 : out.cumulative.back()) + weight);
  }
  return out;
}

// One step's micro-batches as this rank computes them: its part of each (a slice of the rows in a
// group; whole micro-batches of its own run when spread), and the step's global loss normaliser.
struct StepBatches {
  std::vector<Batch> local;
  std::vector<std::pair<int64_t, int64_t>> slices;  // rows of each local batch in its micro-batch
  std::vector<int> micro;                           // index of each among the step's micro-batches
  double terms = 0;                                 // loss terms of the whole step (all ranks)
  double tokens = 0;                                // non-padding tokens of the local batches
};

StepBatches step_batches(Member& m, const TrainConfig& s, const BatchOptions& bo, bool spreading,
                         std::pair<int64_t, int64_t> owned, int group_rank, int group_size) {
  StepBatches out;
  for (int a = 0; a < s.grad_accum; ++a) {
    const std::vector<int64_t>& micro = m.next_micro_batch(s.batch_size);
    int64_t longest = 0;
    for (int64_t item : micro) longest = std::max(longest, m.lengths[static_cast<size_t>(item)]);
    const auto slice = spreading
                           ? std::pair<int64_t, int64_t>{0, a >= owned.first && a < owned.second
                                                                ? static_cast<int64_t>(micro.size())
                                                                : 0}
                           : slice_rows(static_cast<int64_t>(micro.size()), group_rank, group_size);
    const std::vector<int64_t> mine(micro.begin() + slice.first, micro.begin() + slice.second);
    out.terms += static_cast<double>(count_loss_terms(m.task->train, micro, bo));
    if (mine.empty()) continue;
    BatchOptions lo = bo;
    lo.pad_to = longest;
    out.local.push_back(make_batch(m.task->train, mine, lo));
    out.slices.push_back(slice);
    out.micro.push_back(a);
    out.tokens += static_cast<double>(out.local.back().tokens);
  }
  return out;
}

// The pooler trains only with a multiple-choice head (Hugging Face's other heads leave it out):
// freezes it otherwise, returning what it froze (thawed when the stage ends).
std::vector<torch::Tensor> freeze_unused_pooler(XlmrEncoder& encoder, const StageModels& staged) {
  std::vector<torch::Tensor> frozen;
  if (!encoder->pooler.is_empty() && !staged.uses_pooler)
    for (auto& p : encoder->pooler->parameters())
      if (p.requires_grad()) {
        p.set_requires_grad(false);
        frozen.push_back(p);
      }
  staged.container->train();
  return frozen;
}

// One stage's training on this rank: its members' models and the optimizer over one flat
// buffer, the selection state and the curves. train_stage() resumes it if asked, runs its steps
// and finishes it; each step is draw -> forward/backward -> reduce -> update -> record.
class StageRun {
 public:
  StageRun(XlmrEncoder& encoder, const StageSpec& stage, uint64_t seed, const TrainHooks& hooks);
  void resume(const TrainerSnapshot& snap);
  void run();
  StageResult finish(std::vector<XlmrForTask>* models);

 private:
  // Forward and backward of this rank's micro-batches; returns the loss sum they add to the
  // step, as a float64 scalar on the device (spread ranks after the first keep theirs apart in
  // spread_loss_sums_). Nothing in it waits for the device.
  torch::Tensor forward_backward(Member& m, const StepBatches& b, uint64_t dropout_seed);
  // Sums gradients and [loss, tokens] over the group or along the spread chain, and returns the
  // summed gradients' norm. stats[0] arrives as this rank's loss sum on the device; the loss and
  // the norm are read together, the step's one wait for the device (two when spreading: the
  // chain sends host losses ahead of the gradients).
  double reduce(const torch::Tensor& local_loss, std::array<double, 2>& stats);
  void step(int64_t step);
  void evaluate_all(int64_t step);
  void snapshot(int64_t done);
  double train_seconds_so_far() const {
    return prior_train_seconds_ + (now_seconds() - start_) -
           (result_.eval_seconds - prior_eval_seconds_);
  }

  XlmrEncoder& encoder_;
  const StageSpec& stage_;
  const TrainConfig& s_;
  const uint64_t seed_;
  const TrainHooks& hooks_;
  const torch::Device device_;
  Communicator* group_;
  const int group_rank_, group_size_;
  const bool spreading_;
  const int spread_rank_, spread_size_;
  StageModels staged_;
  std::vector<torch::Tensor> frozen_;
  FlatParameters flat_;
  AdamW optimizer_;

  StageResult result_;
  const int64_t steps_, warmup_, per_epoch_;
  const bool can_select_, select_best_;
  double best_score_ = -std::numeric_limits<double>::infinity();
  torch::Tensor best_weights_;
  int64_t first_step_ = 0;
  double prior_train_seconds_ = 0, prior_eval_seconds_ = 0, start_ = 0;

  // Spreading: the micro-batches this rank computes each step, and on ranks after the first a
  // gradient buffer for each (they wait for the partial sum of the ranks before).
  std::pair<int64_t, int64_t> owned_;
  std::vector<torch::Tensor> spread_grads_;
  std::vector<torch::Tensor> spread_loss_sums_;
};

AdamWOptions adamw_options(const TrainConfig& s) {
  AdamWOptions ao;
  ao.lr = s.lr;
  ao.weight_decay = s.weight_decay;
  return ao;
}

StageRun::StageRun(XlmrEncoder& encoder, const StageSpec& stage, uint64_t seed,
                   const TrainHooks& hooks)
    : encoder_(encoder),
      stage_(stage),
      s_(stage.settings),
      seed_(seed),
      hooks_(hooks),
      device_(encoder->embeddings->word_embeddings->weight.device()),
      group_(hooks.group),
      group_rank_(hooks.group ? hooks.group->rank() : 0),
      group_size_(hooks.group ? hooks.group->size() : 1),
      spreading_(hooks.spread && hooks.spread->size() > 1),
      spread_rank_(spreading_ ? hooks.spread->rank() : 0),
      spread_size_(spreading_ ? hooks.spread->size() : 1),
      staged_(make_stage_models(encoder, stage, seed, device_, hooks)),
      frozen_(freeze_unused_pooler(encoder, staged_)),
      flat_(*staged_.container),
      optimizer_(flat_, adamw_options(s_)),
      steps_(planned_steps(stage)),
      warmup_(static_cast<int64_t>(std::llround(s_.warmup_fraction * static_cast<double>(steps_)))),
      per_epoch_(steps_per_epoch_of(stage)),
      can_select_(all_have_dev(stage)),
      select_best_(s_.select == Selection::kBest && can_select_),
      owned_(slice_rows(s_.grad_accum, spread_rank_, spread_size_)) {
  if (spreading_ && spread_rank_ > 0)
    for (int64_t a = owned_.first; a < owned_.second; ++a)
      spread_grads_.push_back(torch::empty_like(flat_.grad()));
}

// The snapshot's weights, moments, selection state and curves; the members' data positions are
// replayed (draws and batch orders derive from the seed and the step).
void StageRun::resume(const TrainerSnapshot& snap) {
  const int64_t numel = flat_.data().numel();
  if (snap.weights.numel() != numel || snap.exp_avg.numel() != numel ||
      snap.exp_avg_sq.numel() != numel || snap.step <= 0 || snap.step >= steps_ ||
      snap.result.steps != snap.step)
    throw DataError(fmt::format(
        "stage {}: resume snapshot does not fit: expected {} parameters and a step in [1, {}), "
        "found {} parameters at step {}",
        stage_.name, numel, steps_, snap.weights.numel(), snap.step));
  torch::NoGradGuard no_grad;
  flat_.data().copy_(snap.weights);
  optimizer_.exp_avg.copy_(snap.exp_avg);
  optimizer_.exp_avg_sq.copy_(snap.exp_avg_sq);
  optimizer_.set_steps(snap.step);
  if (snap.best_weights.defined()) best_weights_ = snap.best_weights.clone();
  best_score_ = snap.best_score;
  result_ = snap.result;
  first_step_ = snap.step;
  clear_autocast_cache();
  for (int64_t k = 0; k < first_step_; ++k) {
    Member& m = staged_.members[draw_member(stage_, staged_.cumulative, seed_, k)];
    for (int a = 0; a < s_.grad_accum; ++a) m.next_micro_batch(s_.batch_size);
  }
}

void StageRun::run() {
  clear_autocast_cache();  // weights may have been loaded since the last forward
  prior_train_seconds_ = result_.train_seconds;
  prior_eval_seconds_ = result_.eval_seconds;
  start_ = now_seconds();
  for (int64_t k = first_step_; k < steps_; ++k) {
    step(k);
    if (can_select_ && evaluates_after(k + 1, steps_, per_epoch_, s_)) evaluate_all(k + 1);
    const bool go = !hooks_.on_step || hooks_.on_step(k + 1, steps_, result_);
    const bool periodic = hooks_.snapshot_every > 0 && (k + 1) % hooks_.snapshot_every == 0;
    if (hooks_.on_snapshot && k + 1 < steps_ && (!go || periodic)) snapshot(k + 1);
    if (!go) break;
  }
  result_.train_seconds = train_seconds_so_far();
}

torch::Tensor StageRun::forward_backward(Member& m, const StepBatches& b, uint64_t dropout_seed) {
  torch::Tensor loss_total =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  spread_loss_sums_.clear();
  for (size_t i = 0; i < b.local.size(); ++i) {
    // Dropout is seeded per micro-batch, so that a resumed stage, or a rank computing only
    // this micro-batch, draws the masks a lone rank draws.
    seed_dropout(derive_seed(dropout_seed, "micro", static_cast<uint64_t>(b.micro[i])),
                 b.slices[i].first, device_);
    const DropoutRows rows(b.slices[i].first, b.slices[i].second - b.slices[i].first);
    const torch::Tensor sum = loss_sum(*m.model, m.task->info.type, b.local[i], device_);
    if (b.terms > 0) (sum / b.terms).backward();
    // float64 sums of the float32 losses: what adding them on the host would give.
    const torch::Tensor loss = sum.detach().to(torch::kFloat64);
    if (spreading_ && spread_rank_ > 0) {
      // Kept apart: they are added to the partial sum of the ranks before this one.
      spread_grads_[i].copy_(flat_.grad());
      spread_loss_sums_.push_back(loss);
      flat_.zero_grad();
    } else {
      loss_total += loss;
    }
  }
  return loss_total;
}

double StageRun::reduce(const torch::Tensor& local_loss, std::array<double, 2>& stats) {
  torch::Tensor g = flat_.grad();
  if (spreading_) {  // the root, spread over every rank, has no group
    // Rank 0 accumulated its micro-batches from zero, as a lone rank does; the chain adds the
    // others' in micro-batch order (dist/reduce.h). spread_grads_ holds one buffer per owned
    // micro-batch (allocated once per stage), each filled this step.
    const double local_tokens = stats[1];
    std::vector<double> losses;
    if (spread_rank_ > 0 && !spread_loss_sums_.empty()) {  // ranks past the micro-batches: none
      const torch::Tensor host = torch::stack(spread_loss_sums_).cpu();
      losses.assign(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
    } else if (spread_rank_ == 0) {
      stats[0] = local_loss.item<double>();
    }
    chain_sum(*hooks_.spread, g, stats, spread_grads_, losses,
              spread_rank_ > 0 ? local_tokens : 0.0, kSpreadTag);
    return flat_.grad_norm();
  }
  if (group_ && group_size_ > 1) all_reduce_buckets(*group_, g);  // device data
  const torch::Tensor host = torch::stack({local_loss, g.norm().to(torch::kFloat64)}).cpu();
  stats[0] = host[0].item<double>();
  if (group_ && group_size_ > 1) group_->all_reduce_sum_host(stats.data(), 2);  // host data
  return host[1].item<double>();
}

void StageRun::step(int64_t step) {
  const uint64_t dropout_seed = derive_seed(seed_, "dropout", static_cast<uint64_t>(step));
  const size_t mi = draw_member(stage_, staged_.cumulative, seed_, step);
  Member& m = staged_.members[mi];
  BatchOptions bo;
  bo.mlm_seed = derive_seed(derive_seed(seed_, "mlm"), "step", static_cast<uint64_t>(step));
  bo.mask_id = stage_.mask_id;
  bo.vocab_size = static_cast<int32_t>(encoder_->config().vocab_size);

  const StepBatches b = step_batches(m, s_, bo, spreading_, owned_, group_rank_, group_size_);
  const torch::Tensor local_loss = forward_backward(m, b, dropout_seed);
  std::array<double, 2> stats{0.0, b.tokens};  // [loss sum, tokens], host data
  const double grad_norm = reduce(local_loss, stats);
  const double lr = s_.lr * linear_schedule(step, steps_, warmup_);
  optimizer_.set_lr(lr);
  optimizer_.step(clip_coefficient(grad_norm, s_.max_grad_norm));
  flat_.zero_grad();
  clear_autocast_cache();  // the bf16 copies are of the old weights now

  result_.steps = step + 1;
  result_.losses.push_back(static_cast<float>(b.terms > 0 ? stats[0] / b.terms : 0.0));
  result_.learning_rates.push_back(static_cast<float>(lr));
  result_.grad_norms.push_back(static_cast<float>(grad_norm));
  result_.step_tasks.push_back(static_cast<int32_t>(mi));
  result_.tokens += static_cast<int64_t>(stats[1]);
}

void StageRun::evaluate_all(int64_t step) {
  const double t0 = now_seconds();
  double mean = 0.0;
  for (Member& m : staged_.members) {
    if (!m.task->has_dev) continue;
    EvalRecord r =
        evaluate_task(*m.model, *m.task, m.task->dev, stage_.eval_batch_size, stage_.mask_id);
    r.step = step;
    mean += r.score / static_cast<double>(staged_.members.size());
    log::info("{} step {}/{}: dev {} {:.2f}", stage_.name, step, steps_, m.task->name, r.score);
    result_.evals.push_back(std::move(r));
  }
  clear_autocast_cache();
  if (select_best_ && mean > best_score_) {
    best_score_ = mean;
    best_weights_ = flat_.data().clone();
    result_.selected_step = step;
  }
  result_.eval_seconds += now_seconds() - t0;
}

// The state after `done` steps, as views of the live buffers (valid during the hook's call).
void StageRun::snapshot(int64_t done) {
  TrainerSnapshot snap;
  snap.step = done;
  snap.weights = flat_.data();
  snap.exp_avg = optimizer_.exp_avg;
  snap.exp_avg_sq = optimizer_.exp_avg_sq;
  snap.best_weights = best_weights_;
  snap.best_score = best_score_;
  snap.result = result_;
  snap.result.train_seconds = train_seconds_so_far();
  hooks_.on_snapshot(snap);
}

StageResult StageRun::finish(std::vector<XlmrForTask>* models) {
  if (select_best_ && best_weights_.defined()) {
    torch::NoGradGuard no_grad;
    flat_.data().copy_(best_weights_);
  } else {
    result_.selected_step = result_.steps;
  }
  for (auto& p : frozen_) p.set_requires_grad(true);
  // The encoder's parameters are views of the flat buffer, which also holds the heads: give
  // them their own storage so the heads and optimizer state are freed with this scope.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : encoder_->parameters()) {
      p.mutable_grad() = torch::Tensor();
      p.set_data(p.detach().clone());
    }
  }
  clear_autocast_cache();
  if (models)
    for (Member& m : staged_.members) {
      m.model->eval();
      models->push_back(m.model);
    }
  return std::move(result_);
}

}  // namespace

StageResult train_stage(XlmrEncoder& encoder, const StageSpec& stage, uint64_t seed,
                        const TrainHooks& hooks, std::vector<XlmrForTask>* models) {
  check_settings(stage);
  OT_CHECK(!(hooks.group && hooks.spread), "stage {}: a group and micro-batch spreading together",
           stage.name);
  StageRun run(encoder, stage, seed, hooks);
  if (hooks.resume_from) run.resume(*hooks.resume_from);
  run.run();
  return run.finish(models);
}

}  // namespace ordertune

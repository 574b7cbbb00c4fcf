// Trainer: schedule, batching, MLM masks, data-parallel dropout slices, determinism, learning,
// model selection.
#include "engine/engine_test.h"
#include "engine/synthetic_tasks.h"

#include <ATen/autocast_mode.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "ordertune/base/error.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/plan/stage_steps.h"
#include "ordertune/sweep/resume.h"
#include "ordertune/train/batching.h"
#include "ordertune/train/evaluate.h"
#include "ordertune/train/optim.h"
#include "ordertune/train/trainer.h"

using namespace ordertune;
using ordertune::testing::small_test_config;

namespace {

XlmrEncoder fresh_encoder(uint64_t seed) {
  torch::manual_seed(seed);
  return XlmrEncoder(small_test_config());
}

std::vector<float> flat_weights(XlmrEncoder& e) {
  std::vector<float> out;
  for (const auto& p : e->parameters()) {
    const torch::Tensor c = p.detach().contiguous().view(-1);
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

StageSpec classification_stage(int64_t examples, uint64_t data_seed) {
  StageSpec stage;
  stage.name = "cls";
  stage.tasks.push_back(ordertune::testing::stage_task(
      "cls",
      ordertune::testing::classification_split(examples, small_test_config().vocab_size, data_seed),
      {"no", "yes"}));
  stage.settings.lr = 1e-3;
  stage.settings.batch_size = 8;
  stage.settings.epochs = 1;
  return stage;
}

}  // namespace

TEST_CASE(
    "linear schedule: warmup from 0, then linear decay to 0 (HF get_linear_schedule_with_warmup)",
    "[trainer]") {
  // 10 steps, 2 warmup: k/2 for k < 2, then (10 - k) / 8.
  CHECK(linear_schedule(0, 10, 2) == 0.0);
  CHECK(linear_schedule(1, 10, 2) == 0.5);
  CHECK(linear_schedule(2, 10, 2) == 1.0);
  CHECK(linear_schedule(6, 10, 2) == 0.5);
  CHECK(linear_schedule(9, 10, 2) == 0.125);
  // No warmup: the first update uses the full rate.
  CHECK(linear_schedule(0, 4, 0) == 1.0);
  CHECK(linear_schedule(3, 4, 0) == 0.25);
}

TEST_CASE("bucketed batches: every item once, deterministic per seed, far less padding",
          "[trainer][batching]") {
  SplitMix64 rng(7);
  std::vector<int64_t> lengths(1000);
  for (auto& l : lengths) l = 3 + static_cast<int64_t>(rng.below(200));
  const auto a = bucketed_batches(lengths, 16, 42), b = bucketed_batches(lengths, 16, 42),
             c = bucketed_batches(lengths, 16, 43);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int64_t> seen;
  int64_t padded = 0, tokens = 0;
  for (const auto& batch : a) {
    REQUIRE(!batch.empty());
    REQUIRE(batch.size() <= 16);
    int64_t longest = 0;
    for (int64_t i : batch) longest = std::max(longest, lengths[i]);
    for (int64_t i : batch) tokens += lengths[i];
    padded += longest * static_cast<int64_t>(batch.size());
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(1000);
  std::iota(all.begin(), all.end(), 0);
  CHECK(seen == all);
  // Random batches of 16 lengths uniform in [3, 203) pad to ~ the max of 16: about 1.8x the
  // tokens; bucketing within pools of 800 items must bring that close to 1.
  CHECK(static_cast<double>(padded) / static_cast<double>(tokens) < 1.1);
}

TEST_CASE("slice_rows splits a micro-batch into contiguous near-equal slices",
          "[trainer][batching]") {
  CHECK(slice_rows(10, 0, 3) == std::pair<int64_t, int64_t>(0, 4));
  CHECK(slice_rows(10, 1, 3) == std::pair<int64_t, int64_t>(4, 7));
  CHECK(slice_rows(10, 2, 3) == std::pair<int64_t, int64_t>(7, 10));
  CHECK(slice_rows(1, 1, 2) == std::pair<int64_t, int64_t>(1, 1));
}

TEST_CASE("tagging batches label first sub-tokens only; loss terms count them",
          "[trainer][batching]") {
  const SplitFeatures s = ordertune::testing::tagging_split(5, 50, 3);
  BatchOptions o;
  o.pad_to = 20;
  const Batch b = make_batch(s, {0, 1, 2, 3, 4}, o);
  CHECK(b.input_ids.size(1) == 20);
  int64_t labelled = 0;
  for (size_t r = 0; r < 5; ++r) {
    const int32_t* widx = s.tagging.word_index.row(r);
    for (int64_t t = 0; t < 20; ++t) {
      const int64_t label = b.labels[static_cast<int64_t>(r)][t].item<int64_t>();
      if (t < s.tagging.word_index.row_size(r) && widx[t] >= 0) {
        CHECK(label == s.tagging.word_labels.row(r)[widx[t]]);
        ++labelled;
      } else {
        CHECK(label == kIgnoreLabel);
      }
    }
  }
  CHECK(b.loss_terms == labelled);
  CHECK(count_loss_terms(s, {0, 1, 2, 3, 4}, o) == labelled);
}

TEST_CASE("MLM masks depend on the item only, never touch specials, and select about 15%",
          "[trainer][batching]") {
  SplitFeatures s;
  s.type = TaskType::kMLM;
  SplitMix64 rng(5);
  for (int i = 0; i < 400; ++i)
    s.mlm.input_ids.push_row(ordertune::testing::random_row(rng, 50, 20, 40));
  BatchOptions o;
  o.mlm_seed = 99;
  o.mask_id = 49;
  o.vocab_size = 50;
  std::vector<int64_t> all(400);
  std::iota(all.begin(), all.end(), 0);
  const Batch whole = make_batch(s, all, o);
  const Batch part = make_batch(s, {7, 3}, o);
  const int64_t T = whole.input_ids.size(1);
  using torch::indexing::Slice;
  const int64_t Tp = part.input_ids.size(1);
  CHECK(torch::equal(part.input_ids[0], whole.input_ids[7].index({Slice(0, Tp)})));
  CHECK(torch::equal(part.labels[1], whole.labels[3].index({Slice(0, Tp)})));
  // Specials (<s>=0, </s>=2, padding) are never selected.
  const torch::Tensor original = make_batch(s, all, BatchOptions{0, false}).input_ids;
  const torch::Tensor selected = whole.labels.ne(kIgnoreLabel);
  CHECK(original.index({selected}).ge(4).all().item<bool>());
  CHECK(torch::equal(whole.labels.index({selected}), original.index({selected})));
  const double rate = static_cast<double>(whole.loss_terms) /
                      static_cast<double>(original.ge(4).sum().item<int64_t>());
  CHECK(rate > 0.13);
  CHECK(rate < 0.17);
  // 80% of the selected become <mask>.
  const double masked =
      whole.input_ids.index({selected}).eq(49).to(torch::kFloat64).mean().item<double>();
  CHECK(masked > 0.75);
  CHECK(masked < 0.85);
  CHECK(count_loss_terms(s, all, o) == whole.loss_terms);
  (void)T;
}

TEST_CASE(
    "dropout of a batch slice under DropoutRows equals that slice of the whole batch's dropout",
    "[trainer][dropout]") {
  const torch::Tensor x = torch::randn({6, 5, 7});  // odd row size: odd element offsets too
  torch::manual_seed(11);
  const torch::Tensor whole = ordertune::dropout(x, 0.3, true);
  for (int64_t first : {1, 2, 3}) {
    torch::manual_seed(11);
    const DropoutRows rows(first, 2);
    const torch::Tensor part = ordertune::dropout(x.slice(0, first, first + 2), 0.3, true);
    CHECK(torch::equal(part, whole.slice(0, first, first + 2)));
  }
}

TEST_CASE("a stage is bitwise reproducible from its seed, and the seed matters", "[trainer]") {
  const StageSpec stage = classification_stage(64, 1);
  auto run = [&](uint64_t seed) {
    XlmrEncoder e = fresh_encoder(3);
    const StageResult r = train_stage(e, stage, seed);
    return std::make_pair(r.losses, flat_weights(e));
  };
  const auto a = run(10), b = run(10), c = run(11);
  CHECK(a.first.size() == 8);  // 64 items / batch 8, 1 epoch
  CHECK(a.first == b.first);
  CHECK(a.second == b.second);
  CHECK(a.first != c.first);
}

TEST_CASE("training learns a simple rule: dev accuracy rises above the majority class",
          "[trainer]") {
  StageSpec stage = classification_stage(512, 2);
  stage.settings.epochs = 4;
  stage.settings.lr = 3e-3;
  stage.settings.warmup_fraction = 0.1;
  stage.tasks[0].has_dev = true;
  stage.tasks[0].dev =
      ordertune::testing::classification_split(200, small_test_config().vocab_size, 9);
  XlmrEncoder e = fresh_encoder(4);
  const StageResult r = train_stage(e, stage, 5);
  REQUIRE(r.steps == 256);
  // Majority-class accuracy of the dev split, counted here.
  const auto& labels = stage.tasks[0].dev.classification.labels;
  const double ones = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  const double majority = 100.0 * std::max(ones, 200.0 - ones) / 200.0;
  REQUIRE(!r.evals.empty());
  CHECK(r.evals.back().score > majority + 10.0);
  const float first = std::accumulate(r.losses.begin(), r.losses.begin() + 16, 0.0f) / 16;
  const float last = std::accumulate(r.losses.end() - 16, r.losses.end(), 0.0f) / 16;
  CHECK(last < first * 0.8f);
}

TEST_CASE("select = best keeps the weights of the best dev evaluation", "[trainer]") {
  StageSpec stage = classification_stage(256, 2);
  stage.settings.epochs = 3;
  stage.settings.lr = 3e-3;
  stage.settings.eval_every = 8;
  stage.settings.select = Selection::kBest;
  stage.tasks[0].has_dev = true;
  stage.tasks[0].dev =
      ordertune::testing::classification_split(100, small_test_config().vocab_size, 9);
  XlmrEncoder e = fresh_encoder(4);
  const StageResult r = train_stage(e, stage, 6);
  double best = -1;
  int64_t best_step = -1;
  for (const EvalRecord& ev : r.evals)
    if (ev.score > best) {
      best = ev.score;
      best_step = ev.step;
    }
  CHECK(r.selected_step == best_step);
  // The kept encoder with a head re-trained from nothing is not comparable; but re-running the
  // same stage to the selected step with select = last must give the same encoder.
  StageSpec upto = stage;
  upto.settings.select = Selection::kLast;
  upto.settings.eval_every = 0;
  XlmrEncoder e2 = fresh_encoder(4);
  TrainHooks hooks;
  hooks.on_step = [&](int64_t step, int64_t, const StageResult&) { return step < best_step; };
  // Same schedule (planned steps unchanged), stopped at the selected step.
  train_stage(e2, upto, 6, hooks);
  CHECK(flat_weights(e) == flat_weights(e2));
}

TEST_CASE("a mixture stage trains every member with its own head, sampled proportionally",
          "[trainer]") {
  StageSpec stage;
  stage.name = "mix";
  const int64_t V = small_test_config().vocab_size;
  stage.tasks.push_back(ordertune::testing::stage_task(
      "a", ordertune::testing::classification_split(96, V, 1), {"no", "yes"}));
  stage.tasks.push_back(ordertune::testing::stage_task(
      "b", ordertune::testing::tagging_split(32, V, 2), {"lo", "hi"}));
  stage.settings.batch_size = 8;
  stage.settings.epochs = 4;
  XlmrEncoder e = fresh_encoder(1);
  const StageResult r = train_stage(e, stage, 3);
  // 12 + 4 steps per epoch.
  REQUIRE(r.steps == 64);
  const auto b_steps = std::count(r.step_tasks.begin(), r.step_tasks.end(), 1);
  CHECK(b_steps > 4);  // expected 16 of 64 (p = 32 / 128)
  CHECK(b_steps < 30);
  for (float l : r.losses) CHECK(std::isfinite(l));
}

TEST_CASE(
    "a stage stopped at a step boundary and resumed from its snapshot file ends as if never "
    "stopped",
    "[trainer][resume]") {
  // A mixture with accumulation, dev selection and dropout: every piece of state a resume must
  // restore (weights and heads, AdamW moments, best weights, curves, data positions, dropout).
  const int64_t V = small_test_config().vocab_size;
  StageSpec stage;
  stage.name = "mix";
  stage.tasks.push_back(ordertune::testing::stage_task(
      "a", ordertune::testing::classification_split(96, V, 1), {"no", "yes"}));
  stage.tasks.push_back(ordertune::testing::stage_task(
      "b", ordertune::testing::tagging_split(48, V, 2), {"lo", "hi"}));
  for (auto& t : stage.tasks) {
    t.has_dev = true;
    t.dev = t.train;
  }
  stage.settings.batch_size = 8;
  stage.settings.grad_accum = 2;
  stage.settings.epochs = 3;
  stage.settings.lr = 3e-3;
  stage.settings.eval_every = 4;
  stage.settings.select = Selection::kBest;
  REQUIRE(small_test_config().hidden_dropout_prob > 0);

  XlmrEncoder whole = fresh_encoder(1);
  const StageResult expected = train_stage(whole, stage, 3);
  REQUIRE(expected.steps == 27);  // (6 + 3) steps per epoch

  const auto dir =
      std::filesystem::temp_directory_path() / ("ot-resume-" + std::to_string(::getpid()));
  const ResumeStore store(dir / "r.h5", "hash", /*every=*/5);
  for (int64_t stop_at : {5, 13, 26}) {
    DYNAMIC_SECTION("stopped after step " << stop_at) {
      XlmrEncoder first = fresh_encoder(1);
      TrainHooks stop;
      stop.snapshot_every = store.every();
      stop.on_step = [&](int64_t step, int64_t, const StageResult&) { return step < stop_at; };
      int64_t saved = 0;
      stop.on_snapshot = [&](const TrainerSnapshot& s) {
        store.save(/*node=*/7, /*seed=*/3, s);
        saved = s.step;
      };
      train_stage(first, stage, 3, stop);
      CHECK(saved == stop_at);  // the periodic ones, then the stop's own

      const std::optional<TrainerSnapshot> snap = store.load(7, 3);
      REQUIRE(snap);
      CHECK(snap->step == stop_at);
      CHECK_FALSE(store.load(7, 4));  // another node's seed: ignored
      CHECK_FALSE(store.load(8, 3));  // no snapshot for that node
      // The parent encoder again (as the sweep reloads it): parameters outside the flat buffer
      // (the frozen pooler) come from it; the rest from the snapshot, which the losses of the
      // steps after stop_at could not match otherwise.
      XlmrEncoder resumed = fresh_encoder(1);
      TrainHooks resume;
      resume.resume_from = &*snap;
      const StageResult got = train_stage(resumed, stage, 3, resume);
      CHECK(got.losses == expected.losses);
      CHECK(got.learning_rates == expected.learning_rates);
      CHECK(got.step_tasks == expected.step_tasks);
      CHECK(got.selected_step == expected.selected_step);
      CHECK(got.tokens == expected.tokens);
      REQUIRE(got.evals.size() == expected.evals.size());
      for (size_t i = 0; i < got.evals.size(); ++i)
        CHECK(got.evals[i].score == expected.evals[i].score);
      CHECK(flat_weights(resumed) == flat_weights(whole));
      // A write that a kill interrupted leaves name.tmp-PID; removing the node's snapshot takes it
      // too.
      std::ofstream(store.path_of(7).string() + ".tmp-12345") << "half";
      store.remove(7);
      CHECK_FALSE(std::filesystem::exists(store.path_of(7)));
      CHECK_FALSE(std::filesystem::exists(store.path_of(7).string() + ".tmp-12345"));
    }
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a resume snapshot that does not fit the stage is refused with one line",
          "[trainer][resume]") {
  StageSpec stage = classification_stage(64, 1);
  XlmrEncoder e = fresh_encoder(3);
  TrainerSnapshot bad;
  bad.step = 2;
  bad.result.steps = 2;
  bad.weights = bad.exp_avg = bad.exp_avg_sq = torch::zeros({10});
  TrainHooks hooks;
  hooks.resume_from = &bad;
  CHECK_THROWS_WITH(train_stage(e, stage, 10, hooks),
                    Catch::Contains("resume snapshot does not fit") &&
                        Catch::Contains("found 10 parameters at step 2"));
}

TEST_CASE("a retrieval stage trains a dual encoder: in-batch softmax over pooler embeddings",
          "[trainer][retrieval]") {
  const int64_t V = small_test_config().vocab_size;
  StageSpec stage;
  stage.name = "pairs";
  stage.tasks.push_back(ordertune::testing::stage_task(
      "pairs", ordertune::testing::retrieval_split(256, V, 1), {}, Metric::kMap20));
  stage.settings.batch_size = 16;
  stage.settings.epochs = 8;
  stage.settings.lr = 3e-4;
  REQUIRE(head_for(stage.tasks[0].info).kind == HeadKind::kDualEncoder);
  REQUIRE(item_count(stage.tasks[0].train) == 256);  // one item per gold pair

  // Held-out pairs, ranked by the pooler embeddings (as Mewsli-X and LAReQA are evaluated).
  const SplitFeatures test = ordertune::testing::retrieval_split(100, V, 2);
  EvalOptions eo;
  eo.dual_encoder = true;
  auto top1 = [&](XlmrEncoder& e) {
    const Predictions p = predict_retrieval(*e, test, Metric::kMap20, eo);
    int64_t hits = 0;
    for (int64_t q = 0; q < 100; ++q) hits += p.ranked[static_cast<size_t>(q * p.k)] == q;
    return static_cast<double>(hits) / 100.0;
  };
  // Without dropout: in a randomly initialised 16-wide encoder the pooler outputs of the two
  // passes differ more through dropout than through content, and with logit_scale 100 the
  // dual encoder then collapses to equal embeddings (a pretrained encoder does not start there).
  torch::manual_seed(4);
  XlmrConfig cfg = small_test_config();
  cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0;
  XlmrEncoder e(cfg, EncoderOptions{/*with_pooler=*/true, false});
  const double before = top1(e);
  std::vector<XlmrForTask> models;
  const StageResult r = train_stage(e, stage, 5, {}, &models);
  REQUIRE(r.steps == 128);
  const double after = top1(e);
  INFO("top-1 before " << before << ", after " << after);
  CHECK(after > before + 0.1);
  CHECK(after > 0.15);  // chance is 0.01
  const float first = std::accumulate(r.losses.begin(), r.losses.begin() + 16, 0.0f) / 16;
  const float last = std::accumulate(r.losses.end() - 16, r.losses.end(), 0.0f) / 16;
  CHECK(last < first * 0.5f);
  // The first step's loss is the mean cross-entropy of 100 * cosine similarities between the 16
  // queries and 16 candidates of the batch; the untrained encoder's pooler outputs are nearly
  // equal (tanh of a tiny projection), so the softmax is near uniform: ln 16.
  CHECK(r.losses.front() == Approx(std::log(16.0)).margin(0.02));
  // logit_scale trains with the encoder (xtreme's nn.Parameter(100.0)).
  REQUIRE(models.size() == 1);
  CHECK(models[0]->logit_scale.item<double>() != 100.0);
}

TEST_CASE("the trainer runs the steps and evaluations the planner counts (stage_steps.h)",
          "[trainer][steps]") {
  // Two members of 37 and 20 items: the planner's arithmetic from item counts alone, against
  // what train_stage actually does (the results layout and the cost model use the planner's).
  struct Case {
    int batch, accum;
    double epochs;
    int64_t max_steps, eval_every;
  };
  for (const Case& c :
       {Case{4, 2, 1.5, 0, 0}, Case{8, 1, 1, 0, 3}, Case{4, 1, 2, 7, 0}, Case{16, 2, 0.3, 0, 0}}) {
    StageSpec stage;
    stage.name = "mix";
    const int64_t V = small_test_config().vocab_size;
    stage.tasks.push_back(ordertune::testing::stage_task(
        "a", ordertune::testing::classification_split(37, V, 1), {"no", "yes"}));
    stage.tasks.push_back(ordertune::testing::stage_task(
        "b", ordertune::testing::classification_split(20, V, 2), {"no", "yes"}));
    for (StageTask& t : stage.tasks) {
      t.has_dev = true;
      t.dev = ordertune::testing::classification_split(8, V, 3);
    }
    stage.settings.batch_size = c.batch;
    stage.settings.grad_accum = c.accum;
    stage.settings.epochs = c.epochs;
    stage.settings.max_steps = c.max_steps;
    stage.settings.eval_every = c.eval_every;
    const int64_t per_epoch =
        member_steps_per_epoch(37, stage.settings) + member_steps_per_epoch(20, stage.settings);
    const int64_t steps = stage_steps(per_epoch, stage.settings);
    XlmrEncoder e = fresh_encoder(1);
    const StageResult r = train_stage(e, stage, 5);
    INFO("batch " << c.batch << " x " << c.accum << ", epochs " << c.epochs << ", max_steps "
                  << c.max_steps << ", eval_every " << c.eval_every);
    CHECK(r.steps == steps);
    CHECK(planned_steps(stage) == steps);
    std::vector<int64_t> evaluated;
    for (const EvalRecord& ev : r.evals)
      if (evaluated.empty() || evaluated.back() != ev.step) evaluated.push_back(ev.step);
    CHECK(evaluated == evaluation_steps(steps, per_epoch, stage.settings));
    CHECK(static_cast<int64_t>(evaluated.size()) ==
          evaluation_count(steps, per_epoch, stage.settings));
  }
}

// ---- bf16 autocast (issue 13, defect 2) --------------------------------------------------------

namespace {

// model.dtype for this thread during a test; back to fp32 (autocast off) at the end.
struct PrecisionScope {
  explicit PrecisionScope(Precision p) { set_training_precision(p, torch::kCPU); }
  ~PrecisionScope() { set_training_precision(Precision::kFp32, torch::kCPU); }
};

// The encoder's last hidden state for the first rows of the stage's training split.
torch::Tensor hidden_of(XlmrEncoder& e, const StageSpec& stage) {
  const std::vector<int64_t> items{0, 1, 2, 3};
  const Batch b = make_batch(stage.tasks[0].train, items, BatchOptions{});
  torch::NoGradGuard no_grad;
  e->eval();
  return e->forward(b.input_ids, b.attention_mask).last_hidden_state.to(torch::kFloat32);
}

}  // namespace

#if TORCH_VERSION_MAJOR >= 2
TEST_CASE("bf16 on the CPU: a forward after training sees the trained weights, not cached copies",
          "[trainer][bf16]") {
  PrecisionScope bf16(Precision::kBf16);
  StageSpec stage = classification_stage(64, 1);
  stage.settings.lr = 3e-3;
  XlmrEncoder e = fresh_encoder(3);
  const torch::Tensor before = hidden_of(e, stage);
  train_stage(e, stage, 10);
  // As the trainer left autocast's cache, then with the cache emptied: LibTorch keeps the bf16
  // copy of each fp32 leaf parameter until clear_cache(), so without the trainer's clearing the
  // first forward would use copies of older weights.
  const torch::Tensor cached = hidden_of(e, stage);
  at::autocast::clear_cache();  // LibTorch's own call: the reference does not use the code tested
  const torch::Tensor fresh = hidden_of(e, stage);
  CHECK(torch::equal(cached, fresh));
  CHECK_FALSE(torch::equal(before, fresh));  // training changed the weights
}

TEST_CASE("bf16 on the CPU tracks fp32 training within a stated tolerance", "[trainer][bf16]") {
  StageSpec stage = classification_stage(512, 2);
  stage.settings.epochs = 2;
  stage.settings.lr = 3e-3;
  stage.settings.warmup_fraction = 0.1;
  auto run = [&](Precision p) {
    PrecisionScope scope(p);
    XlmrEncoder e = fresh_encoder(4);
    return train_stage(e, stage, 5).losses;
  };
  const std::vector<float> fp32 = run(Precision::kFp32), bf16 = run(Precision::kBf16);
  REQUIRE(fp32.size() == 128);
  REQUIRE(bf16.size() == fp32.size());
  auto mean = [](auto from, auto to) {
    return std::accumulate(from, to, 0.0) / static_cast<double>(to - from);
  };
  const double fp32_first = mean(fp32.begin(), fp32.begin() + 16);
  const double fp32_last = mean(fp32.end() - 16, fp32.end());
  const double bf16_last = mean(bf16.end() - 16, bf16.end());
  REQUIRE(fp32_last < fp32_first * 0.9);  // the fp32 run learns
  // Tolerance: bf16's final loss is within a quarter of fp32's loss drop of fp32's final loss
  // (bf16 keeps 8 bits of mantissa; training on stale bf16 copies would not learn at all).
  INFO("fp32 " << fp32_first << " -> " << fp32_last << ", bf16 -> " << bf16_last);
  CHECK(std::abs(bf16_last - fp32_last) < 0.25 * (fp32_first - fp32_last));
  CHECK(bf16 != fp32);  // autocast was on: bf16 arithmetic differs from fp32
}
#else
TEST_CASE("bf16 on the CPU needs LibTorch 2.x: with 1.13 it is a configuration error",
          "[trainer][bf16]") {
  REQUIRE_FALSE(cpu_bf16_supported());
  CHECK_THROWS_AS(set_training_precision(Precision::kBf16, torch::kCPU), ConfigError);
  CHECK_THROWS_WITH(set_training_precision(Precision::kBf16, torch::kCPU),
                    Catch::Matchers::Contains("expected a CUDA device, or LibTorch 2.x"));
  // The forward is unchanged by a cleared cache when autocast is off.
  const StageSpec stage = classification_stage(16, 1);
  XlmrEncoder e = fresh_encoder(3);
  const torch::Tensor a = hidden_of(e, stage);
  clear_autocast_cache();
  CHECK(torch::equal(a, hidden_of(e, stage)));
}
#endif

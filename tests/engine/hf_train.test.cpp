// The trainer against transformers + torch.optim (issue 14, section 4; llm.c's check that the
// training loop is the one the paper used): ten optimizer steps of ordertune's own train_stage
// (AdamW over the flat buffer with Hugging Face's weight-decay exclusions, linear warm-up and
// decay, clipping, accumulation of 2 micro-batches) against the same steps written with
// XLMRobertaFor*, torch.optim.AdamW, get_linear_schedule_with_warmup and clip_grad_norm_
// (tests/hf/make_train_refs.py; committed set tests/data/hf/train), from the same initial weights
// with dropout off: the loss and the gradient norm before clipping at every step, the learning
// rates, and every parameter after the last step.
//
// The split has 8 items of distinct lengths and a step takes 2 micro-batches of 4: train_stage's
// length-bucketed batching then forms the same two micro-batches every step (the 4 shortest, the
// 4 longest), which is what the reference trains on; their order within a step is the seed's but
// changes nothing (two gradients add commutatively).
//
// Parameters whose gradient is zero analytically (the attention key biases, and for QA the
// qa_outputs bias and the last layer's output LayerNorm bias: see zero_gradient_parameters in the
// script) get Adam updates of normalised rounding noise in both implementations, so they cannot
// agree; they are held to the bound of such updates (4 * the sum of the learning rates) instead.
#include "engine/hf_refs.h"

#include <algorithm>

#include "ordertune/model/weights.h"
#include "ordertune/train/trainer.h"

using namespace ordertune;
using namespace ordertune::testing;
namespace fs = std::filesystem;

namespace {

// Float32 throughout; relative differences (weights: per tensor, max |difference| / max |value|).
constexpr double kLossTolerance = 1e-5;
constexpr double kGradNormTolerance = 1e-5;
constexpr double kWeightTolerance = 1e-5;
constexpr double kLearningRateTolerance = 1e-6;  // StageResult keeps them as float

StageTask task_of(const std::string& name, const nlohmann::json& data) {
  StageTask t;
  t.name = name;
  t.info.name = name;
  t.info.type = data["task"].get<std::string>() == "classification" ? TaskType::kClassification
                                                                    : TaskType::kExtractiveQA;
  t.info.labels = data["labels"].get<std::vector<std::string>>();
  t.train.type = t.info.type;
  int32_t i = 0;
  for (const auto& item : data["items"]) {
    const auto ids = item["input_ids"].get<std::vector<int32_t>>();
    if (t.info.type == TaskType::kClassification) {
      t.train.classification.input_ids.push_row(ids);
      t.train.classification.labels.push_back(item["label"].get<int32_t>());
      t.train.classification.ids.push_back(std::to_string(i));
    } else {
      t.train.qa.input_ids.push_row(ids);
      t.train.qa.start_positions.push_back(item["start"].get<int32_t>());
      t.train.qa.end_positions.push_back(item["end"].get<int32_t>());
      t.train.qa.window_example.push_back(i);
      t.train.qa.ids.push_back(std::to_string(i));
    }
    ++i;
  }
  return t;
}

TrainConfig settings_of(const nlohmann::json& s) {
  TrainConfig c;
  c.lr = s["lr"].get<double>();
  c.batch_size = s["batch_size"].get<int>();
  c.grad_accum = s["grad_accum"].get<int>();
  c.max_steps = s["max_steps"].get<int64_t>();
  c.warmup_fraction = s["warmup_fraction"].get<double>();
  c.weight_decay = s["weight_decay"].get<double>();
  c.max_grad_norm = s["max_grad_norm"].get<double>();
  c.select = Selection::kLast;
  return c;
}

double worst_relative(const std::vector<float>& got, const torch::Tensor& want) {
  REQUIRE(static_cast<int64_t>(got.size()) == want.numel());
  const torch::Tensor g = torch::tensor(std::vector<double>(got.begin(), got.end()));
  return ((g - want).abs() / want.abs().clamp_min(1e-30)).max().item<double>();
}

}  // namespace

TEST_CASE("ten trainer steps equal transformers + torch.optim.AdamW + the linear schedule",
          "[hf][train][trainer]") {
  const fs::path refs = hf_refs("train", "ORDERTUNE_HF_TRAIN_REFS");
  for (const std::string name : {"cls", "qa"}) {
    INFO("case " << name);
    const fs::path dir = refs / name, init = dir / "init";
    const nlohmann::json data = read_json_file(dir / "data.json");
    const auto expected = read_expected(dir / "expected.safetensors");
    std::printf("hf:train %s: references of transformers %s, torch %s\n", name.c_str(),
                data["versions"]["transformers"].get<std::string>().c_str(),
                data["versions"]["torch"].get<std::string>().c_str());

    StageSpec stage;
    stage.name = name;
    stage.tasks.push_back(task_of(name, data));
    stage.settings = settings_of(data["settings"]);
    REQUIRE(planned_steps(stage) == data["settings"]["max_steps"].get<int64_t>());

    // The encoder and the head start from the checkpoint transformers started from (no pooler:
    // XLMRobertaForSequenceClassification and ...ForQuestionAnswering have none).
    const XlmrConfig config = read_hf_config((init / "config.json").string());
    REQUIRE(config.hidden_dropout_prob == 0.0);
    REQUIRE(config.attention_probs_dropout_prob == 0.0);
    EncoderOptions options;
    options.with_pooler = false;
    XlmrEncoder encoder(config, options);
    load_hf_weights(*encoder, init);
    std::vector<LoadReport> head_loads;
    TrainHooks hooks;
    hooks.init_member = [&](size_t, XlmrForTaskImpl& model) {
      head_loads.push_back(load_hf_weights(model, init));
    };
    std::vector<XlmrForTask> models;
    const StageResult r = train_stage(encoder, stage, /*seed=*/14, hooks, &models);
    REQUIRE(head_loads.size() == 1);
    CHECK(head_loads[0].initialized.empty());  // the head came from the checkpoint, not the seed
    CHECK(head_loads[0].unused.empty());
    REQUIRE(models.size() == 1);
    REQUIRE(r.steps == data["settings"]["max_steps"].get<int64_t>());

    const double loss = worst_relative(r.losses, expected_tensor(expected, "loss"));
    report_hf("train", name + " loss at every step (relative)", loss, kLossTolerance);
    CHECK(loss <= kLossTolerance);
    const double norm = worst_relative(r.grad_norms, expected_tensor(expected, "grad_norm"));
    report_hf("train", name + " gradient norm before clipping (relative)", norm,
              kGradNormTolerance);
    CHECK(norm <= kGradNormTolerance);
    const torch::Tensor lrs = expected_tensor(expected, "learning_rate");
    const torch::Tensor got_lrs =
        torch::tensor(std::vector<double>(r.learning_rates.begin(), r.learning_rates.end()));
    const double lr = (got_lrs - lrs).abs().max().item<double>() / lrs.abs().max().item<double>();
    report_hf("train", name + " learning rate at every step (relative)", lr,
              kLearningRateTolerance);
    CHECK(lr <= kLearningRateTolerance);

    // Every parameter after the last step, by its Hugging Face name.
    const auto zero = data["zero_gradient"].get<std::vector<std::string>>();
    const double noise_bound = 4 * lrs.sum().item<double>();
    double worst = 0.0, worst_noise = 0.0;
    std::string worst_name;
    int64_t compared = 0;
    for (const auto& p : models[0]->named_parameters()) {
      INFO(p.key());
      const torch::Tensor& want = expected_tensor(expected, "final." + p.key());
      const double diff = worst_difference(p.value().detach(), want);
      ++compared;
      if (std::find(zero.begin(), zero.end(), p.key()) != zero.end()) {
        worst_noise = std::max(worst_noise, diff);
        continue;
      }
      const double relative = diff / want.abs().max().item<double>();
      if (relative > worst) {
        worst = relative;
        worst_name = p.key();
      }
    }
    // Every tensor of the reference was compared (expected also holds the 3 curves).
    CHECK(compared + 3 == static_cast<int64_t>(expected.size()));
    report_hf("train", name + " weights after the last step (relative; " + worst_name + ")", worst,
              kWeightTolerance);
    CHECK(worst <= kWeightTolerance);
    report_hf("train", name + " zero-gradient parameters (absolute, noise bound)", worst_noise,
              noise_bound);
    CHECK(worst_noise <= noise_bound);
  }
}

#include "ordertune/train/runner.h"

#include <tuple>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/base/log.h"
#include "ordertune/model/weights.h"
#include "ordertune/plan/plan.h"
#include "ordertune/plan/stage_steps.h"
#include "ordertune/train/batching.h"

namespace ordertune {

// ---- TaskData -----------------------------------------------------------------------------------

TaskData::TaskData(const SweepConfig& config) : config_(config) {
  cache_ = std::make_unique<CacheReader>(config.cache_path());
  const std::string rerun =
      "; run `ordertune prepare --config " + config.path.string() + " --force`";
  nlohmann::json settings;
  try {
    settings = nlohmann::json::parse(cache_->settings_json());
  } catch (const nlohmann::json::exception&) {
    throw DataError(config.cache_path().string() + ": unreadable settings attribute" + rerun);
  }
  if (!settings.contains("vocab_size") || !settings["vocab_size"].is_number_integer())
    throw DataError(config.cache_path().string() +
                    ": expected a vocab_size setting, found none (written by an older prepare)" +
                    rerun);
  vocab_size_ = settings["vocab_size"].get<int64_t>();
  check_cache_matches(*cache_, config);
  for (const std::string& task : config.tasks_used())
    if (!cache_->has_task(task))
      throw DataError(config.cache_path().string() + ": expected task '" + task +
                      "' (used by the config), found none" + rerun);
}

TaskData::~TaskData() = default;

bool TaskData::has_split(const std::string& task, const std::string& split,
                         const std::string& language) const {
  return cache_->has_task(task) && cache_->has_split(task, split, language);
}

const SplitFeatures& TaskData::split(const std::string& task, const std::string& split,
                                     const std::string& language) {
  const std::string key = task + "/" + split + "/" + language;
  auto it = splits_.find(key);
  if (it != splits_.end()) return it->second;
  SplitFeatures features;
  if (has_split(task, split, language)) {
    features = cache_->read_split(task, split, language);
  } else {
    features.type = cache_->task(task).type;
    if (features.type == TaskType::kMultipleChoice)
      features.multiple_choice.num_choices = cache_->task(task).num_choices;
  }
  return splits_.emplace(key, std::move(features)).first->second;
}

namespace {

// The first n examples of a split (n <= 0: all).
SplitFeatures first_examples(const SplitFeatures& s, int64_t n) {
  if (n <= 0 || static_cast<int64_t>(s.size()) <= n) return s;
  SplitFeatures out;
  out.type = s.type;
  auto rows = [](const auto& ragged, size_t begin, size_t end, auto& into) {
    for (size_t r = begin; r < end; ++r)
      into.push_row(ragged.row(r), ragged.row(r) + ragged.row_size(r));
  };
  const size_t k = static_cast<size_t>(n);
  switch (s.type) {
    case TaskType::kClassification:
      rows(s.classification.input_ids, 0, k, out.classification.input_ids);
      out.classification.labels.assign(s.classification.labels.begin(),
                                       s.classification.labels.begin() + n);
      out.classification.ids.assign(s.classification.ids.begin(), s.classification.ids.begin() + n);
      break;
    case TaskType::kMultipleChoice: {
      const auto c = static_cast<size_t>(s.multiple_choice.num_choices);
      out.multiple_choice.num_choices = s.multiple_choice.num_choices;
      rows(s.multiple_choice.input_ids, 0, k * c, out.multiple_choice.input_ids);
      out.multiple_choice.labels.assign(s.multiple_choice.labels.begin(),
                                        s.multiple_choice.labels.begin() + n);
      out.multiple_choice.ids.assign(s.multiple_choice.ids.begin(),
                                     s.multiple_choice.ids.begin() + n);
      break;
    }
    case TaskType::kTagging:
      rows(s.tagging.input_ids, 0, k, out.tagging.input_ids);
      rows(s.tagging.word_index, 0, k, out.tagging.word_index);
      rows(s.tagging.word_labels, 0, k, out.tagging.word_labels);
      out.tagging.ids.assign(s.tagging.ids.begin(), s.tagging.ids.begin() + n);
      break;
    case TaskType::kMLM:
      rows(s.mlm.input_ids, 0, k, out.mlm.input_ids);
      break;
    case TaskType::kExtractiveQA: {
      const QAFeatures& q = s.qa;
      QAFeatures& o = out.qa;
      o.ids.assign(q.ids.begin(), q.ids.begin() + n);
      o.questions.assign(q.questions.begin(), q.questions.begin() + n);
      o.contexts.assign(q.contexts.begin(), q.contexts.begin() + n);
      rows(q.answer_texts, 0, k, o.answer_texts);
      rows(q.answer_starts, 0, k, o.answer_starts);
      o.is_impossible.assign(q.is_impossible.begin(), q.is_impossible.begin() + n);
      for (size_t w = 0; w < q.window_example.size(); ++w) {
        if (q.window_example[w] >= n) continue;
        rows(q.input_ids, w, w + 1, o.input_ids);
        rows(q.token_start, w, w + 1, o.token_start);
        rows(q.token_end, w, w + 1, o.token_end);
        o.window_example.push_back(q.window_example[w]);
        o.start_positions.push_back(q.start_positions[w]);
        o.end_positions.push_back(q.end_positions[w]);
      }
      break;
    }
    case TaskType::kRetrieval:
      return s;  // no cap: queries and candidates go together
  }
  return out;
}

}  // namespace

StageTask TaskData::stage_task(const std::string& task) {
  const TrainConfig& settings = config_.train_for(task);
  StageTask t;
  t.name = task;
  t.info = cache_->task(task);
  if (t.info.type == TaskType::kMLM) {
    // MLM learns from every language of the corpus: that is what makes the tiny model multilingual.
    t.train.type = TaskType::kMLM;
    for (const std::string& lang : t.info.languages[kSplitTrain]) {
      const SplitFeatures& part = split(task, kSplitTrain, lang);
      for (size_t r = 0; r < part.mlm.input_ids.rows(); ++r)
        t.train.mlm.input_ids.push_row(part.mlm.input_ids.row(r),
                                       part.mlm.input_ids.row(r) + part.mlm.input_ids.row_size(r));
    }
    t.train = first_examples(t.train, settings.max_train_examples);
    if (has_split(task, kSplitDev, "en")) {
      t.has_dev = true;
      t.dev = first_examples(split(task, kSplitDev, "en"), settings.max_eval_examples);
    }
    return t;
  }
  if (!has_split(task, kSplitTrain, "en"))
    throw DataError(config_.cache_path().string() + ": task '" + task +
                    "' has no English training split in the cache");
  t.train = first_examples(split(task, kSplitTrain, "en"), settings.max_train_examples);
  if (has_split(task, kSplitDev, "en")) {
    const SplitFeatures& dev = split(task, kSplitDev, "en");
    if (has_labels(dev)) {
      t.has_dev = true;
      t.dev = first_examples(dev, settings.max_eval_examples);
    }
  }
  return t;
}

StageSpec TaskData::stage(const std::string& stage_name) {
  StageSpec s;
  s.name = stage_name;
  s.settings = config_.train_for(stage_name);
  s.mask_id = mask_id();
  auto mixture = config_.mixtures.find(stage_name);
  if (mixture != config_.mixtures.end()) {
    for (const std::string& task : mixture->second.tasks) s.tasks.push_back(stage_task(task));
    s.sampling = mixture->second.sampling;
    s.temperature = mixture->second.temperature;
  } else {
    s.tasks.push_back(stage_task(stage_name));
  }
  return s;
}

namespace {

// The tiny model's MLM pretraining settings (model.tiny.pretrain_*).
TrainConfig pretraining_settings(const SweepConfig& config) {
  const TinyModelConfig& tiny = config.model.tiny;
  TrainConfig t = config.train_for(tiny.pretrain_task);
  t.lr = tiny.pretrain_lr;
  t.batch_size = tiny.pretrain_batch_size / tiny.micro_batches();
  t.grad_accum = tiny.micro_batches();
  t.max_steps = tiny.pretrain_steps;
  t.select = Selection::kLast;
  t.eval_every = 0;
  return t;
}

}  // namespace

StageSpec TaskData::pretraining_stage() {
  const TinyModelConfig& tiny = config_.model.tiny;
  StageSpec s;
  s.name = "pretrain:" + tiny.pretrain_task;
  s.tasks.push_back(stage_task(tiny.pretrain_task));
  s.settings = pretraining_settings(config_);
  s.mask_id = mask_id();
  return s;
}

// ---- models -------------------------------------------------------------------------------------

XlmrEncoder make_root_encoder(TaskData& data, const torch::Device& device, const TrainHooks& hooks,
                              StageResult* pretraining) {
  const SweepConfig& config = data.config();
  const uint64_t seed = root_seed(config.sweep.seed);
  torch::manual_seed(derive_seed(seed, "init"));  // new weights (a missing pooler) are seeded
  EncoderOptions options;
  options.with_pooler = true;
  options.activation_checkpointing = config.model.activation_checkpointing;
  if (!config.model.checkpoint.empty()) {
    root_model_config(config, data.vocab_size());  // checks positions and vocabulary first
    XlmrEncoder encoder = load_hf_encoder(config.model.checkpoint, options);
    encoder->to(device);
    return encoder;
  }
  XlmrEncoder encoder(tiny_model_config(config, data.vocab_size()), options);
  encoder->to(device);
  StageResult r = train_stage(encoder, data.pretraining_stage(), derive_seed(seed, "mlm"), hooks);
  if (pretraining) *pretraining = std::move(r);
  return encoder;
}

XlmrEncoder copy_encoder(const XlmrEncoder& encoder) {
  EncoderOptions options;
  options.with_pooler = !encoder->pooler.is_empty();
  XlmrEncoder copy(encoder->config(), options);
  const torch::Device device = encoder->embeddings->word_embeddings->weight.device();
  copy->to(device);
  torch::NoGradGuard no_grad;
  auto src = encoder->named_parameters();
  for (auto& p : copy->named_parameters()) p.value().copy_(src[p.key()]);
  copy->train(encoder->is_training());
  return copy;
}

// ---- targets ------------------------------------------------------------------------------------

bool target_trains(TaskData& data, const std::string& target) {
  const CachedTask info = data.cache().task(target);
  if (info.type != TaskType::kRetrieval) return true;
  return data.has_split(info.train_task.empty() ? target : info.train_task, kSplitTrain, "en");
}

StageSpec target_stage(TaskData& data, const std::string& target) {
  const SweepConfig& config = data.config();
  const CachedTask info = data.cache().task(target);
  const std::string train_name = info.train_task.empty() ? target : info.train_task;
  StageSpec stage;
  stage.name = target;
  stage.settings = config.train_for(target);
  stage.mask_id = data.mask_id();
  StageTask t = data.stage_task(train_name);
  if (train_name != target && t.info.labels != info.labels)
    throw DataError("target " + target + " trains on " + train_name +
                    ", whose labels differ from its own");
  t.name = target;
  t.info = info;
  // Model selection on the target's own English dev split where the cache has it.
  if (info.type != TaskType::kRetrieval && data.has_split(target, kSplitDev, "en") &&
      has_labels(data.split(target, kSplitDev, "en"))) {
    t.has_dev = true;
    t.dev = first_examples(data.split(target, kSplitDev, "en"), stage.settings.max_eval_examples);
  }
  stage.tasks.push_back(std::move(t));
  return stage;
}

namespace {

// ---- what a node writes, from the cache's metadata ------------------------------------------
// Every rank sizes the results layout at start: reading the splits themselves would load the
// whole cache (gigabytes of a real study's token ids) on every rank. These mirror stage_task /
// target_stage / planned_steps / prediction_size exactly (engine test node_outputs).

int64_t ragged_rows(const CacheReader& cache, const std::string& task, const std::string& split,
                    const std::string& lang, const std::string& ragged) {
  return std::max<int64_t>(0, cache.dataset_size(task, split, lang, ragged + "_offsets") - 1);
}

// A member of a stage as planned_steps sees it: item_count of its capped English training split,
// and whether it has a dev split to evaluate.
struct MemberShape {
  int64_t items = 0;
  bool has_dev = false;
};

// stage_task(task)'s shape.
MemberShape member_shape(TaskData& data, const std::string& task) {
  const CacheReader& cache = data.cache();
  const CachedTask info = cache.task(task);
  const int64_t cap = data.config().train_for(task).max_train_examples;
  auto capped = [cap](int64_t n) { return cap > 0 ? std::min(n, cap) : n; };
  MemberShape m;
  if (info.type == TaskType::kMLM) {
    int64_t rows = 0;
    const auto langs = info.languages.find(kSplitTrain);
    if (langs != info.languages.end())
      for (const std::string& lang : langs->second)
        rows += ragged_rows(cache, task, kSplitTrain, lang, "input_ids");
    m.items = capped(rows);
    m.has_dev = data.has_split(task, kSplitDev, "en");
    return m;
  }
  if (!data.has_split(task, kSplitTrain, "en"))
    throw DataError(data.config().cache_path().string() + ": task '" + task +
                    "' has no English training split in the cache");
  switch (info.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
      m.items = capped(cache.dataset_size(task, kSplitTrain, "en", "labels"));
      break;
    case TaskType::kTagging:
      m.items = capped(ragged_rows(cache, task, kSplitTrain, "en", "input_ids"));
      break;
    case TaskType::kRetrieval:
      m.items = cache.dataset_size(task, kSplitTrain, "en", "gold_query");
      break;
    case TaskType::kExtractiveQA: {
      // Windows; a cap counts the windows of its first examples (read only then).
      const int64_t examples = cache.dataset_size(task, kSplitTrain, "en", "ids");
      m.items = cap <= 0 || examples <= cap
                    ? ragged_rows(cache, task, kSplitTrain, "en", "input_ids")
                    : item_count(first_examples(data.split(task, kSplitTrain, "en"), cap));
      break;
    }
    case TaskType::kMLM:
      break;
  }
  m.has_dev =
      data.has_split(task, kSplitDev, "en") && cache.split_has_labels(task, kSplitDev, "en");
  return m;
}

std::pair<int64_t, int64_t> steps_and_evaluations(const std::vector<MemberShape>& members,
                                                  const TrainConfig& settings) {
  int64_t per_epoch = 0;
  bool all_dev = true;
  for (const MemberShape& m : members) {
    per_epoch += member_steps_per_epoch(m.items, settings);
    all_dev = all_dev && m.has_dev;
  }
  const int64_t steps = stage_steps(per_epoch, settings);
  return {steps, all_dev ? evaluation_count(steps, per_epoch, settings) : 0};
}

// prediction_size() of a cached split, from its datasets' extents.
PredictionSize cached_prediction_size(const CacheReader& cache, const CachedTask& t,
                                      const std::string& split, const std::string& lang) {
  switch (t.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
      return prediction_size(t, cache.dataset_size(t.name, split, lang, "labels"), 0);
    case TaskType::kTagging:
      return prediction_size(t, cache.dataset_size(t.name, split, lang, "word_labels"), 0);
    case TaskType::kExtractiveQA:
      return prediction_size(t, cache.dataset_size(t.name, split, lang, "ids"), 0);
    case TaskType::kRetrieval:
      return prediction_size(t, ragged_rows(cache, t.name, split, lang, "query_ids"),
                             ragged_rows(cache, t.name, split, lang, "candidate_ids"));
    case TaskType::kMLM:
      break;
  }
  return {0, 0};
}

// A target leaf's outputs: target_stage's steps (its train task's data, selected on its own
// English dev where labelled), the split each language is scored on, and the test predictions.
NodeOutputs target_outputs(TaskData& data, const std::string& target) {
  const SweepConfig& config = data.config();
  const CacheReader& cache = data.cache();
  const CachedTask info = cache.task(target);
  NodeOutputs o;
  if (target_trains(data, target)) {
    const std::string train_name = info.train_task.empty() ? target : info.train_task;
    if (train_name != target && cache.task(train_name).labels != info.labels)
      throw DataError("target " + target + " trains on " + train_name +
                      ", whose labels differ from its own");
    MemberShape m = member_shape(data, train_name);
    if (info.type != TaskType::kRetrieval && data.has_split(target, kSplitDev, "en") &&
        cache.split_has_labels(target, kSplitDev, "en"))
      m.has_dev = true;
    std::tie(o.steps, o.evaluations) = steps_and_evaluations({m}, config.train_for(target));
  }
  o.metric_keys = metric_keys(info.metric);
  const std::vector<std::string> languages = target_languages(info);
  const LabelledFn labelled = labelled_in_cache(cache, target);  // one memo for all languages
  for (const std::string& lang : languages) {
    const std::string split = scoring_split(config, target, languages, labelled, lang);
    if (!split.empty()) o.scored.push_back({lang, split});
    if (data.has_split(target, kSplitTest, lang))
      o.predictions.push_back({lang, cached_prediction_size(cache, info, kSplitTest, lang)});
  }
  return o;
}

}  // namespace

std::vector<NodeOutputs> node_outputs(TaskData& data, const Plan& plan) {
  const SweepConfig& config = data.config();
  std::map<std::string, std::pair<int64_t, int64_t>> by_stage;  // stage key -> steps, evaluations
  auto steps_of = [&](const std::string& key, auto make_members, const TrainConfig& settings) {
    auto it = by_stage.find(key);
    if (it != by_stage.end()) return it->second;
    return by_stage[key] = steps_and_evaluations(make_members(), settings);
  };
  std::map<std::string, NodeOutputs> by_target;
  std::vector<NodeOutputs> out(plan.nodes.size());
  for (size_t n = 0; n < plan.nodes.size(); ++n) {
    const PlanNode& node = plan.nodes[n];
    NodeOutputs& o = out[n];
    std::pair<int64_t, int64_t> se{0, 0};
    if (node.kind == NodeKind::kRoot && config.model.checkpoint.empty()) {
      se = steps_of(
          "root",
          [&] {
            return std::vector<MemberShape>{member_shape(data, config.model.tiny.pretrain_task)};
          },
          pretraining_settings(config));
    } else if (node.kind == NodeKind::kStage) {
      // TaskData::stage: a mixture's members, or the task.
      se = steps_of(
          "stage:" + node.stage,
          [&] {
            std::vector<MemberShape> members;
            const auto mixture = config.mixtures.find(node.stage);
            if (mixture == config.mixtures.end())
              return std::vector<MemberShape>{member_shape(data, node.stage)};
            for (const std::string& task : mixture->second.tasks)
              members.push_back(member_shape(data, task));
            return members;
          },
          config.train_for(node.stage));
    } else if (node.kind == NodeKind::kTarget) {
      // Every leaf of a target writes the same: worked out once per target (the triples study
      // has 17,580 leaves of 10 targets; PAN-X has 48 languages).
      auto known = by_target.find(node.stage);
      if (known == by_target.end())
        known = by_target.emplace(node.stage, target_outputs(data, node.stage)).first;
      o = known->second;
      continue;
    }
    o.steps = se.first;
    o.evaluations = se.second;
  }
  return out;
}

TargetResult run_target(const XlmrEncoder& encoder, TaskData& data, const std::string& target,
                        uint64_t seed, const TrainHooks& hooks) {
  const SweepConfig& config = data.config();
  const CachedTask info = data.cache().task(target);
  TargetResult result;
  result.task = target;
  EvalOptions eo;
  eo.retrieval_layer = config.model.retrieval_layer;

  std::vector<XlmrForTask> models;
  XlmrEncoder tuned{nullptr};
  if (target_trains(data, target)) {
    tuned = copy_encoder(encoder);
    result.training = train_stage(tuned, target_stage(data, target), seed, hooks, &models);
  }
  // Retrieval ranks with the fine-tuned dual encoder's pooler embeddings where it trained
  // (Mewsli-X, LAReQA), else with mean-pooled layer-k embeddings of the order's encoder.
  const XlmrEncoder& ranker = tuned ? tuned : encoder;
  eo.dual_encoder = info.type == TaskType::kRetrieval && tuned;
  CandidateEmbeddings candidates;  // one candidate set embedded once for all languages
  if (info.metric == Metric::kMap20) eo.candidates = &candidates;
  const std::vector<std::string> languages = target_languages(info);
  const LabelledFn labelled = labelled_in_cache(data.cache(), target);  // memoized
  std::vector<MetricSet> scored;
  for (const std::string& lang : languages) {
    LanguageResult lr;
    lr.language = lang;
    auto run_split = [&](const std::string& split_name) -> Predictions {
      const SplitFeatures& s = data.split(target, split_name, lang);
      if (info.type != TaskType::kRetrieval) return predict(*models.front(), s, eo);
      double threshold = 0.0;
      if (info.metric == Metric::kBuccF1) {
        if (!data.has_split(target, kSplitDev, lang) ||
            !has_labels(data.split(target, kSplitDev, lang)))
          throw DataError("bucc2018 (" + lang +
                          "): the cache has no labelled dev split to choose the mining threshold");
        threshold = choose_bucc_threshold(*ranker.ptr(), data.split(target, kSplitDev, lang), eo);
      }
      return predict_retrieval(*ranker.ptr(), s, info.metric, eo, threshold);
    };
    if (data.has_split(target, kSplitTest, lang)) {
      lr.has_test = true;
      lr.predictions = run_split(kSplitTest);
    }
    lr.scored_split = scoring_split(config, target, languages, labelled, lang);
    if (lr.scored_split == kSplitTest)
      lr.metrics =
          score_predictions(info, lang, data.split(target, kSplitTest, lang), lr.predictions);
    else if (lr.scored_split == kSplitDev)
      lr.metrics =
          score_predictions(info, lang, data.split(target, kSplitDev, lang), run_split(kSplitDev));
    if (!lr.scored_split.empty()) scored.push_back(lr.metrics);
    result.languages.push_back(std::move(lr));
  }
  if (!scored.empty()) {
    result.averaged = average_over_languages(scored);
    result.score = task_score(result.averaged);
  }
  return result;
}

// ---- one path
// ------------------------------------------------------------------------------------

std::vector<std::string> parse_order(const std::string& text, const SweepConfig& config,
                                     const std::string& what) {
  std::vector<std::string> order;
  if (text.empty()) return order;
  size_t begin = 0;
  while (true) {
    const size_t end = text.find('>', begin);
    const std::string stage =
        text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (stage.empty() || (!config.registry.contains(stage) && !config.mixtures.count(stage)))
      throw ConfigError(
          what + ": expected stages (tasks or mixtures of the config) joined by '>', found '" +
          stage + "' in '" + text + "'");
    order.push_back(stage);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return order;
}

std::string order_string(const std::vector<std::string>& order) {
  std::string out;
  for (const std::string& s : order) out += (out.empty() ? "" : ">") + s;
  return out;
}

namespace {

nlohmann::json stage_json(const std::string& name, const StageResult& r) {
  nlohmann::json j;
  j["stage"] = name;
  j["steps"] = r.steps;
  j["train_seconds"] = r.train_seconds;
  j["eval_seconds"] = r.eval_seconds;
  j["steps_per_s"] = r.train_seconds > 0 ? static_cast<double>(r.steps) / r.train_seconds : 0.0;
  j["tokens_per_s"] = r.train_seconds > 0 ? static_cast<double>(r.tokens) / r.train_seconds : 0.0;
  j["first_loss"] = r.losses.empty() ? 0.0 : r.losses.front();
  j["last_loss"] = r.losses.empty() ? 0.0 : r.losses.back();
  j["selected_step"] = r.selected_step;
  nlohmann::json dev = nlohmann::json::array();
  for (const EvalRecord& e : r.evals)
    dev.push_back({{"step", e.step}, {"task", e.task}, {"score", e.score}});
  j["dev"] = dev;
  return j;
}

void log_stage(const std::string& what, const StageResult& r) {
  log::info("{}: {} steps in {:.1f} s ({:.1f} steps/s, {:.0f} tokens/s), loss {:.3f} -> {:.3f}{}",
            what, r.steps, r.train_seconds,
            r.train_seconds > 0 ? static_cast<double>(r.steps) / r.train_seconds : 0.0,
            r.train_seconds > 0 ? static_cast<double>(r.tokens) / r.train_seconds : 0.0,
            r.losses.empty() ? 0.0 : r.losses.front(), r.losses.empty() ? 0.0 : r.losses.back(),
            r.evals.empty() ? std::string() : fmt::format(", dev {:.2f}", r.evals.back().score));
}

}  // namespace

nlohmann::json run_path(TaskData& data, const std::vector<std::string>& order, int replicate,
                        const torch::Device& device) {
  const SweepConfig& config = data.config();
  nlohmann::json out;
  out["order"] = order_string(order);
  out["replicate"] = replicate;
  StageResult pretraining;
  XlmrEncoder encoder = make_root_encoder(data, device, {}, &pretraining);
  if (pretraining.steps > 0) {
    log_stage("root (MLM pretraining)", pretraining);
    out["root"] = stage_json("pretrain:" + config.model.tiny.pretrain_task, pretraining);
  }
  std::vector<std::string> path;
  out["stages"] = nlohmann::json::array();
  for (const std::string& stage : order) {
    path.push_back(stage);
    const StageResult r =
        train_stage(encoder, data.stage(stage), node_seed(config.sweep.seed, replicate, path));
    log_stage(order_string(path), r);
    out["stages"].push_back(stage_json(stage, r));
  }
  const uint64_t seed = node_seed(config.sweep.seed, replicate, path);
  out["targets"] = nlohmann::json::array();
  double total = 0;
  int scored = 0;
  for (const std::string& target : config.targets) {
    // [targets.<task>] before: stages on a copy of the order's encoder, seeded as the sweep's
    // stage nodes of the same prefix (plan.h), then the target.
    XlmrEncoder pre{nullptr};
    std::vector<std::string> pre_path = path;
    for (const std::string& stage : config.target_options_for(target).before) {
      if (!pre) pre = copy_encoder(encoder);
      pre_path.push_back(stage);
      const StageResult r =
          train_stage(pre, data.stage(stage), node_seed(config.sweep.seed, replicate, pre_path));
      log_stage(order_string(pre_path) + " (before " + target + ")", r);
    }
    const TargetResult t = run_target(pre ? pre : encoder, data, target, target_seed(seed, target));
    if (t.training.steps > 0) log_stage(target, t.training);
    nlohmann::json j = stage_json(target, t.training);
    j["task"] = target;
    j["score"] = t.score;
    nlohmann::json langs = nlohmann::json::object();
    std::string line;
    for (const LanguageResult& l : t.languages) {
      nlohmann::json m = nlohmann::json::object();
      for (const MetricValue& metric : l.metrics) m[metric.name] = metric.value;
      if (!l.scored_split.empty()) {
        m["split"] = l.scored_split;
        line += fmt::format(" {} {:.1f}", l.language, task_score(l.metrics));
      }
      langs[l.language] = m;
    }
    j["languages"] = langs;
    log::info("{}: score {:.2f} ({})", target, t.score,
              line.empty() ? "no labels" : line.substr(1));
    if (!t.languages.empty() && !t.averaged.empty()) {
      total += t.score;
      ++scored;
    }
    out["targets"].push_back(j);
  }
  out["score"] = scored > 0 ? total / scored : 0.0;
  return out;
}

}  // namespace ordertune

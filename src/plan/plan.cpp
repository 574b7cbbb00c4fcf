#include "ordertune/plan/plan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/plan/stage_steps.h"

namespace ordertune {

// ---- seeds --------------------------------------------------------------------------------------

uint64_t node_seed(uint64_t sweep_seed, int replicate, const std::vector<std::string>& path) {
  Hasher h;
  h.update(&sweep_seed, sizeof sweep_seed).update(&replicate, sizeof replicate);
  for (const std::string& stage : path) h.field(stage);
  return derive_seed(h.digest(), "node");
}

uint64_t target_seed(uint64_t node, const std::string& target) {
  return derive_seed(node, "target:" + target);
}

uint64_t root_seed(uint64_t sweep_seed) {
  return derive_seed(sweep_seed, "root");
}

// ---- nodes --------------------------------------------------------------------------------------

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::kRoot:
      return "root";
    case NodeKind::kStage:
      return "stage";
    case NodeKind::kTarget:
      return "target";
  }
  return "?";
}

namespace {

std::string join_path(const std::vector<std::string>& path) {
  return fmt::format("{}", fmt::join(path, ">"));
}

// The lookup key of (replicate, path, target); node_name() of the node it finds.
std::string lookup_key(int replicate, const std::vector<std::string>& path,
                       const std::string& target) {
  if (path.empty() && target.empty()) return "root";
  std::string key = fmt::format("r{}/{}", replicate, join_path(path));
  if (!target.empty()) key += ":" + target;
  return key;
}

}  // namespace

std::string node_name(const PlanNode& node) {
  if (node.kind == NodeKind::kRoot) return "root";
  return lookup_key(node.replicate, node.path, node.kind == NodeKind::kTarget ? node.stage : "");
}

// ---- cost model: sizes --------------------------------------------------------------------------

namespace {

// Nominal sizes, used before `ordertune prepare` has written the cache (or for tasks it lacks).
// Training and dev sizes are the English sets as distributed (examples; QA windows are taken as
// one per question); `predict` and `candidates` are rough per-language sizes of the split a
// target predicts. Sources: the datasets' papers and XTREME's Table 1 (Hu et al. 2020,
// arXiv 2003.11080); XTREME-R (Ruder et al. 2021) for XCOPA, Mewsli-X, LAReQA.
// Tokens per sequence: `tokens` where given, else min(128, data.max_length) and
// data.qa_max_length for QA windows; multiple-choice items count every choice.
struct NominalTask {
  const char* name;
  int64_t train;        // English training examples
  int64_t dev;          // English dev examples
  int64_t predict;      // per language: examples (queries) of the split a target predicts
  int64_t candidates;   // per language: retrieval candidates encoded with the queries
  int tokens;           // tokens per sequence; 0 = the default above
  bool shared = false;  // one candidate set for every language: a leaf encodes it once
                        // (runner.h run_target, evaluate.h CandidateEmbeddings)
};

const NominalTask kNominalTasks[] = {
    // Intermediate tasks (jiant layouts).
    {"mnli", 392'702, 9'815, 0, 0, 0},
    {"qqp", 363'846, 40'430, 0, 0, 0},
    {"snli", 550'152, 9'842, 0, 0, 0},
    {"anli", 162'865, 3'200, 0, 0, 0},  // rounds 1-3: 16,946 + 45,460 + 100,459
    {"anli_r1", 16'946, 1'000, 0, 0, 0},
    {"anli_r2", 45'460, 1'000, 0, 0, 0},
    {"anli_r3", 100'459, 1'200, 0, 0, 0},
    {"ccg", 38'015, 1'913, 0, 0, 0},  // jiant's ccg.train (unverified; CCGbank 02-21 has 39,604)
    {"commonsenseqa", 9'741, 1'221, 0, 0, 0},
    {"cosmosqa", 25'262, 2'985, 0, 0, 0},
    {"hellaswag", 39'905, 10'042, 0, 0, 0},
    {"socialiqa", 33'410, 1'954, 0, 0, 0},  // Sap et al. 2019; XCOPA's pre-stage in XTREME-R
    {"squad_v1", 87'599, 10'570, 0, 0, 0},
    {"squad_v2", 130'319, 11'873, 0, 0, 0},
    // XTREME / XTREME-R targets.
    {"xnli", 392'702, 2'490, 5'010, 0, 0},  // train-en = MNLI's training set
    {"pawsx", 49'401, 2'000, 2'000, 0, 0},
    {"xcopa", 400, 100, 500, 0, 0},         // English COPA train
    {"udpos", 21'253, 3'974, 1'500, 0, 0},  // XTREME's English UD training sentences
    {"panx", 20'000, 10'000, 5'000, 0, 0},
    {"xquad", 0, 0, 1'190, 0, 0},  // trains on squad_v1
    {"mlqa", 0, 0, 5'500, 0, 0},   // trains on squad_v1
    {"tydiqa", 3'696, 0, 1'000, 0, 0},
    {"tatoeba", 0, 0, 1'000, 1'000, 32},
    {"bucc2018", 0, 0, 400'000, 400'000, 64},
    // Mewsli-X trains a dual encoder on English Wikipedia mention-entity pairs
    // (wikipedia_pairs-train.jsonl; the count is an unverified order of magnitude); LAReQA on
    // SQuAD v1.1's training questions with their answer sentences.
    {"mewslix", 115'000, 0, 2'500, 1'000'000, 64, true},  // ~1M candidate entity descriptions
    {"lareqa", 87'599, 0, 1'190, 13'000, 64, true},  // XQuAD-R: every language's sentences pooled
    {"mlm", 100'000, 1'000, 0, 0, 0},
};

const NominalTask* nominal_task(const std::string& name) {
  for (const NominalTask& t : kNominalTasks)
    if (name == t.name) return &t;
  return nullptr;
}

int64_t cap(int64_t n, int64_t limit) {
  return limit > 0 ? std::min(n, limit) : n;
}

// Languages a target predicts (runner.h's run_target: its test split, else its dev split),
// restricted to data.languages when set (English always kept).
std::vector<std::string> predicted_languages(const TaskSpec& spec, const DataConfig& data) {
  auto it = spec.languages.find(kSplitTest);
  if (it == spec.languages.end() || !spec.paths.count(kSplitTest))
    it = spec.languages.find(kSplitDev);
  if (it == spec.languages.end()) return {};
  std::vector<std::string> out;
  for (const std::string& lang : it->second)
    if (data.languages.empty() || lang == "en" ||
        std::find(data.languages.begin(), data.languages.end(), lang) != data.languages.end())
      out.push_back(lang);
  return out;
}

// Prediction values a target stores per predicted example (results.h's compact predictions).
double values_per_example(const TaskSpec& spec) {
  switch (spec.type) {
    case TaskType::kExtractiveQA:
      return 2;  // a span
    case TaskType::kRetrieval:
      return spec.metric == Metric::kMap20 ? 20 : 1;  // a ranking or a match
    default:
      return 1;
  }
}

TaskSize nominal_size(const std::string& name, const SweepConfig& config) {
  const TaskSpec& spec = config.registry.get(name);
  const NominalTask* n = nominal_task(name);
  const double choices = spec.type == TaskType::kMultipleChoice ? std::max(1, spec.num_choices) : 1;
  double tokens = spec.type == TaskType::kExtractiveQA ? config.data.qa_max_length
                                                       : std::min(128, config.data.max_length);
  if (n && n->tokens > 0) tokens = std::min(n->tokens, config.data.max_length);
  const int64_t limit = config.data.max_examples;
  TaskSize s;
  s.nominal = true;
  // A task outside the table (a [tasks.*] of the config) counts 10,000 examples per split.
  s.train_items = cap(n ? n->train : 10'000, limit);
  s.dev_items = cap(n ? n->dev : 1'000, limit);
  s.train_item_tokens = s.dev_item_tokens = tokens * choices;
  const auto langs = predicted_languages(spec, config.data);
  const double predict = static_cast<double>(cap(n ? n->predict : 1'000, limit));
  const double candidates = static_cast<double>(n ? n->candidates : 0);
  const double encoded = n && n->shared ? 1.0 : static_cast<double>(langs.size());
  s.predict_tokens =
      (static_cast<double>(langs.size()) * predict + encoded * candidates) * tokens * choices;
  s.predict_values = static_cast<double>(langs.size()) * predict * values_per_example(spec);
  if (spec.type == TaskType::kTagging) s.predict_values *= 20;  // a tag per word, ~20 words
  return s;
}

// Items and tokens of one cached split, counted as batching.h's item_count / item_lengths do
// (those live in the LibTorch engine; the plan is core): one item per example, per QA window, per
// MLM line, per retrieval query; a multiple-choice item is num_choices rows padded to the
// longest. Retrieval tokens include the candidates encoded with the queries. Counted from the
// datasets' extents (and multiple choice's row offsets), never their tokens: every rank prices
// the plan at start, and an XTREME-R cache holds gigabytes of token ids.
struct SplitSummary {
  int64_t items = 0;
  double tokens = 0;
  double values = 0;            // prediction values (results file estimate)
  double candidate_tokens = 0;  // retrieval: of `tokens`, the candidates'
};

SplitSummary summarize(const CacheReader& cache, const CachedTask& info, const std::string& split,
                       const std::string& lang) {
  SplitSummary out;
  auto size = [&](const std::string& dataset) {
    return cache.dataset_size(info.name, split, lang, dataset);
  };
  auto rows = [&](const std::string& ragged) {
    return std::max<int64_t>(0, size(ragged + "_offsets") - 1);
  };
  switch (info.type) {
    case TaskType::kClassification:
      out.items = size("labels");
      out.tokens = static_cast<double>(size("input_ids"));
      out.values = static_cast<double>(out.items);
      break;
    case TaskType::kMultipleChoice: {
      out.items = size("labels");
      const std::vector<int64_t> lengths = cache.row_sizes(info.name, split, lang, "input_ids");
      // Rows are example-major, num_choices per example (the split's own count: a task's spec
      // may leave it to the featurizer).
      const int64_t c = out.items > 0
                            ? std::max<int64_t>(1, static_cast<int64_t>(lengths.size()) / out.items)
                            : 1;
      for (int64_t i = 0; i < out.items; ++i) {
        int64_t longest = 0;
        for (int64_t j = 0; j < c && static_cast<size_t>(i * c + j) < lengths.size(); ++j)
          longest = std::max(longest, lengths[static_cast<size_t>(i * c + j)]);
        out.tokens += static_cast<double>(longest * c);
      }
      out.values = static_cast<double>(out.items);
      break;
    }
    case TaskType::kTagging:
      out.items = rows("input_ids");
      out.tokens = static_cast<double>(size("input_ids"));
      out.values = static_cast<double>(size("word_labels"));
      break;
    case TaskType::kExtractiveQA:
      out.items = rows("input_ids");
      out.tokens = static_cast<double>(size("input_ids"));
      out.values = 2.0 * static_cast<double>(size("ids"));
      break;
    case TaskType::kMLM:
      out.items = rows("input_ids");
      out.tokens = static_cast<double>(size("input_ids"));
      break;
    case TaskType::kRetrieval:
      out.items = rows("query_ids");
      out.tokens = static_cast<double>(size("query_ids") + size("candidate_ids"));
      out.candidate_tokens = static_cast<double>(size("candidate_ids"));
      out.values = static_cast<double>(out.items) * (info.metric == Metric::kMap20 ? 20 : 1);
      break;
  }
  return out;
}

TaskSize cached_size(const CacheReader& cache, const std::string& name) {
  const CachedTask info = cache.task(name);
  TaskSize s;
  s.nominal = false;
  auto add = [&](const std::string& split, const std::string& lang, int64_t* items,
                 double* tokens) {
    if (!cache.has_split(name, split, lang)) return SplitSummary{};
    const SplitSummary sum = summarize(cache, info, split, lang);
    if (items) *items += sum.items;
    if (tokens) *tokens += sum.tokens;
    return sum;
  };
  // Training: English (MLM: every language of the corpus, as TaskData::stage_task).
  double train_tokens = 0, dev_tokens = 0;
  std::vector<std::string> train_langs = {"en"};
  if (info.type == TaskType::kMLM && info.languages.count(kSplitTrain))
    train_langs = info.languages.at(kSplitTrain);
  for (const std::string& lang : train_langs) add(kSplitTrain, lang, &s.train_items, &train_tokens);
  add(kSplitDev, "en", &s.dev_items, &dev_tokens);
  if (s.train_items > 0) s.train_item_tokens = train_tokens / static_cast<double>(s.train_items);
  if (s.dev_items > 0) s.dev_item_tokens = dev_tokens / static_cast<double>(s.dev_items);
  // Prediction: every language of the test split, else the dev split (BUCC also mines its dev
  // split for the threshold).
  // Rankings (mAP@20: Mewsli-X, LAReQA) share one candidate set across languages and splits,
  // encoded once per leaf: its tokens count once.
  double shared_candidates = 0;
  if (info.type != TaskType::kMLM) {
    for (const std::string& lang : target_languages(info)) {
      SplitSummary sum = add(kSplitTest, lang, nullptr, &s.predict_tokens);
      if (!cache.has_split(name, kSplitTest, lang) || info.metric == Metric::kBuccF1) {
        const SplitSummary dev = add(kSplitDev, lang, nullptr, &s.predict_tokens);
        if (info.metric == Metric::kMap20) s.predict_tokens -= dev.candidate_tokens;
        shared_candidates = std::max(shared_candidates, dev.candidate_tokens);
        if (sum.values == 0) sum.values = dev.values;
      }
      if (info.metric == Metric::kMap20) s.predict_tokens -= sum.candidate_tokens;
      shared_candidates = std::max(shared_candidates, sum.candidate_tokens);
      s.predict_values += sum.values;
    }
  }
  if (info.metric == Metric::kMap20) s.predict_tokens += shared_candidates;
  return s;
}

// Training items and mean tokens of `task` as trained with English data under settings whose
// max_train_examples comes from the task's own [train.<task>] (TaskData::stage_task).
struct Trained {
  int64_t items = 0;
  double item_tokens = 0;
  int64_t dev_items = 0;
  double dev_tokens = 0;
};

Trained trained(const TaskSize& s, const TrainConfig& own) {
  Trained t;
  t.items = cap(s.train_items, own.max_train_examples);
  t.item_tokens = s.train_item_tokens;
  t.dev_items = cap(s.dev_items, own.max_eval_examples);
  t.dev_tokens = static_cast<double>(t.dev_items) * s.dev_item_tokens;
  return t;
}

// Seconds of training `members` with `settings`: the trainer's steps and English dev evaluations
// (stage_steps.h).
double training_seconds(const std::vector<Trained>& members, const TrainConfig& settings,
                        double tps) {
  int64_t per_epoch = 0, items = 0;
  double token_sum = 0, dev_tokens = 0;
  for (const Trained& m : members) {
    per_epoch += member_steps_per_epoch(m.items, settings);
    items += m.items;
    token_sum += static_cast<double>(m.items) * m.item_tokens;
    dev_tokens += m.dev_tokens;
  }
  if (items == 0) return 0.0;
  const int64_t steps = stage_steps(per_epoch, settings);
  const double mean_tokens = token_sum / static_cast<double>(items);
  const double train_tokens =
      static_cast<double>(steps) * settings.batch_size * settings.grad_accum * mean_tokens;
  const int64_t evaluations = evaluation_count(steps, per_epoch, settings);
  return train_tokens / tps + static_cast<double>(evaluations) * dev_tokens / (3.0 * tps);
}

}  // namespace

// ---- cost model ---------------------------------------------------------------------------------

std::string CostModel::key(const PlanNode& node) {
  switch (node.kind) {
    case NodeKind::kRoot:
      return "root";
    case NodeKind::kStage:
      return "stage:" + node.stage;
    case NodeKind::kTarget:
      return "target:" + node.stage;
  }
  return "?";
}

void CostModel::set_seconds(const std::string& key, double seconds) {
  seconds_[key] = seconds;
}

double CostModel::base_seconds(const std::string& key) const {
  auto it = seconds_.find(key);
  return it == seconds_.end() ? default_seconds_ : it->second;
}

void CostModel::observe(const std::string& key, double estimated_s, double measured_s) {
  if (!(estimated_s > 0) || !(measured_s > 0)) return;
  Tally& t = observed_[key];
  t.estimated += estimated_s;
  t.measured += measured_s;
  all_.estimated += estimated_s;
  all_.measured += measured_s;
  ++observations_;
}

double CostModel::correction(const std::string& key) const {
  auto it = observed_.find(key);
  if (it != observed_.end() && it->second.estimated > 0)
    return it->second.measured / it->second.estimated;
  return all_.estimated > 0 ? all_.measured / all_.estimated : 1.0;
}

CostModel CostModel::from_config(const SweepConfig& config) {
  CostModel m(0.0);
  const double tps = config.sweep.tokens_per_second;
  m.tokens_per_second_ = tps;

  // Every task whose size a node needs.
  std::set<std::string> names;
  for (const std::string& t : config.intermediate_tasks()) names.insert(t);
  for (const std::string& t : config.targets) {
    names.insert(t);
    const std::string& train = config.registry.get(t).train_task;
    if (!train.empty()) names.insert(train);
  }
  if (config.model.checkpoint.empty()) names.insert(config.model.tiny.pretrain_task);

  std::unique_ptr<CacheReader> cache;
  if (std::filesystem::exists(config.cache_path()))
    cache = std::make_unique<CacheReader>(config.cache_path());
  std::vector<std::string> nominal;
  for (const std::string& name : names) {
    if (cache && cache->has_task(name)) {
      m.tasks_[name] = cached_size(*cache, name);
    } else {
      m.tasks_[name] = nominal_size(name, config);
      nominal.push_back(name);
    }
  }
  m.nominal_ = !nominal.empty();
  if (!cache)
    m.source_ = fmt::format(
        "nominal: no data cache at {} yet (plan.cpp's table of English set sizes, "
        "{} tokens/s)",
        config.cache_path().string(), tps);
  else if (m.nominal_)
    m.source_ = fmt::format("cache {}, nominal for {} (not in the cache), {} tokens/s",
                            config.cache_path().string(), fmt::join(nominal, ", "), tps);
  else
    m.source_ = fmt::format("cache {}, {} tokens/s", config.cache_path().string(), tps);

  auto task_trained = [&](const std::string& name) {
    return trained(m.tasks_.at(name), config.train_for(name));
  };

  // Root.
  if (config.model.checkpoint.empty()) {
    const TinyModelConfig& tiny = config.model.tiny;
    TrainConfig s = config.train_for(tiny.pretrain_task);  // as TaskData::pretraining_stage
    s.batch_size = tiny.pretrain_batch_size / tiny.micro_batches();
    s.grad_accum = tiny.micro_batches();
    s.max_steps = tiny.pretrain_steps;
    s.eval_every = 0;
    m.seconds_["root"] = tiny.pretrain_steps > 0
                             ? training_seconds({task_trained(tiny.pretrain_task)}, s, tps)
                             : 0.0;
  } else {
    m.seconds_["root"] = kCheckpointLoadSeconds;
  }

  // Stages: tasks and mixtures named by the orders and the targets' pre-stages.
  std::set<std::string> stages(config.orders.stages.begin(), config.orders.stages.end());
  for (const auto& order : config.orders.explicit_orders) stages.insert(order.begin(), order.end());
  for (const auto& [target, options] : config.target_options)
    stages.insert(options.before.begin(), options.before.end());
  for (const std::string& stage : stages) {
    std::vector<Trained> members;
    auto mix = config.mixtures.find(stage);
    if (mix != config.mixtures.end())
      for (const std::string& t : mix->second.tasks) members.push_back(task_trained(t));
    else
      members.push_back(task_trained(stage));
    m.seconds_["stage:" + stage] = training_seconds(members, config.train_for(stage), tps);
  }

  // Targets: fine-tuning on the English training data of train_task (or their own), with the
  // target's own English dev for selection, then prediction of every language; retrieval
  // targets without training data (Tatoeba, BUCC) are evaluated straight from the encoder
  // (runner.h's target_trains).
  for (const std::string& target : config.targets) {
    const TaskSpec& spec = config.registry.get(target);
    const TaskSize& own = m.tasks_.at(target);
    double seconds = own.predict_tokens / (3.0 * tps);
    const std::string train_name = spec.train_task.empty() ? target : spec.train_task;
    if (spec.type != TaskType::kRetrieval || m.tasks_.at(train_name).train_items > 0) {
      Trained t = task_trained(train_name);
      t.dev_items = own.dev_items;  // selection on the target's own English dev, uncapped
      t.dev_tokens = static_cast<double>(own.dev_items) * own.dev_item_tokens;
      seconds += training_seconds({t}, config.train_for(target), tps);
    }
    m.seconds_["target:" + target] = seconds;
  }
  return m;
}

// ---- the plan -----------------------------------------------------------------------------------

double Plan::lower_bound_s(int workers) const {
  const double w = std::max(1, workers);
  const double root = nodes.empty() ? 0.0 : nodes[0].cost_s;
  return std::max(total_work_s / w, longest_path_s - root + root / w);
}

int64_t Plan::find_node(int replicate, const std::vector<std::string>& path,
                        const std::string& target) const {
  auto it = index_.find(lookup_key(replicate, path, target));
  return it == index_.end() ? -1 : it->second;
}

void Plan::finalize() {
  OT_CHECK(!nodes.empty() && nodes[0].kind == NodeKind::kRoot && nodes[0].parent == -1,
           "a plan starts with its root");
  index_.clear();
  stage_runs = target_runs = 0;
  total_work_s = longest_path_s = 0.0;
  for (PlanNode& n : nodes) {
    n.children.clear();
    if (n.kind != NodeKind::kTarget) n.order_end = false;
  }
  std::vector<double> path_cost(nodes.size(), 0.0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    PlanNode& n = nodes[i];
    OT_CHECK(n.id == static_cast<int64_t>(i), "node {} has id {}", i, n.id);
    if (i > 0) {
      OT_CHECK(n.kind != NodeKind::kRoot, "node {}: a plan has one root", i);
      OT_CHECK(n.parent >= 0 && n.parent < n.id, "node {} ({}): parent {} is not an earlier node",
               i, node_name(n), n.parent);
      PlanNode& p = nodes[static_cast<size_t>(n.parent)];
      OT_CHECK(p.kind != NodeKind::kTarget, "node {}: a target leaf cannot have children", i);
      p.children.push_back(n.id);
      if (n.kind == NodeKind::kTarget && n.path == p.path) p.order_end = true;
      path_cost[i] = path_cost[static_cast<size_t>(n.parent)];
    }
    path_cost[i] += n.cost_s;
    if (n.kind == NodeKind::kStage) ++stage_runs;
    if (n.kind == NodeKind::kTarget) ++target_runs;
    total_work_s += n.cost_s;
    longest_path_s = std::max(longest_path_s, path_cost[i]);
    const bool fresh =
        index_
            .emplace(lookup_key(n.replicate, n.path, n.kind == NodeKind::kTarget ? n.stage : ""),
                     n.id)
            .second;
    OT_CHECK(fresh || n.kind == NodeKind::kRoot, "node {} ({}) appears twice", i, node_name(n));
  }
  for (const PlanOrder& o : orders) {
    OT_CHECK(o.node >= 0 && o.node < static_cast<int64_t>(nodes.size()),
             "order node {} out of range", o.node);
    nodes[static_cast<size_t>(o.node)].order_end = true;
  }
  for (PlanNode& n : nodes)
    n.target_prestage = n.kind == NodeKind::kStage && !n.order_end && !n.children.empty() &&
                        std::all_of(n.children.begin(), n.children.end(), [&](int64_t c) {
                          return nodes[static_cast<size_t>(c)].kind == NodeKind::kTarget;
                        });
  naive_stage_runs = 0;
  for (const PlanOrder& o : orders) naive_stage_runs += static_cast<int64_t>(o.path.size());
  // Each target's pre-stages, trained once per order without sharing too.
  for (const PlanNode& n : nodes)
    if (n.kind == NodeKind::kTarget)
      for (int64_t p = n.parent; p > 0 && nodes[static_cast<size_t>(p)].path != n.path;
           p = nodes[static_cast<size_t>(p)].parent)
        ++naive_stage_runs;
}

namespace {

// Every order of one replicate, in the config's listing order.
std::vector<std::vector<std::string>> enumerate_orders(const SweepConfig& config) {
  const OrdersConfig& o = config.orders;
  std::vector<std::vector<std::string>> out;
  const std::string where = config.path.string();
  if (o.mode == OrdersMode::kExplicit) {
    std::set<std::vector<std::string>> seen;
    for (const auto& order : o.explicit_orders) {
      if (!seen.insert(order).second)
        throw ConfigError(
            fmt::format("{}: orders.explicit: expected distinct orders, got '{}' twice", where,
                        join_path(order)));
      out.push_back(order);
    }
    return out;
  }
  std::vector<int> lengths;
  if (o.mode == OrdersMode::kPermutations) {
    lengths = {static_cast<int>(o.stages.size())};
  } else {
    std::set<int> unique(o.lengths.begin(), o.lengths.end());  // [1, 1] = [1]: the same orders
    lengths.assign(unique.begin(), unique.end());
  }
  const size_t n = o.stages.size();
  for (int k : lengths) {
    if (k > static_cast<int>(n)) continue;  // no ordered selection of k from fewer stages
    // Ordered selections of k distinct stages, lexicographic in the listing order.
    std::vector<size_t> pick;
    std::vector<bool> used(n, false);
    std::vector<std::string> order;
    auto recurse = [&](auto&& self) -> void {
      if (static_cast<int>(order.size()) == k) {
        out.push_back(order);
        return;
      }
      for (size_t i = 0; i < n; ++i) {
        if (used[i]) continue;
        used[i] = true;
        order.push_back(o.stages[i]);
        self(self);
        order.pop_back();
        used[i] = false;
      }
    };
    recurse(recurse);
  }
  return out;
}

// Orders of one replicate the config asks for, counted without enumerating them (the size check).
double count_orders(const SweepConfig& config, double* stage_nodes) {
  const OrdersConfig& o = config.orders;
  *stage_nodes = 0;
  if (o.mode == OrdersMode::kExplicit) {
    for (const auto& order : o.explicit_orders) *stage_nodes += static_cast<double>(order.size());
    return static_cast<double>(o.explicit_orders.size());
  }
  const double n = static_cast<double>(o.stages.size());
  auto falling = [&](int k) {  // n * (n-1) * ... * (n-k+1)
    double p = 1;
    for (int i = 0; i < k; ++i) p *= (n - i);
    return std::max(0.0, p);
  };
  std::set<int> lengths(o.lengths.begin(), o.lengths.end());
  if (o.mode == OrdersMode::kPermutations) lengths = {static_cast<int>(o.stages.size())};
  double orders = 0;
  const int max_k = lengths.empty() ? 0 : *lengths.rbegin();
  for (int k : lengths) orders += falling(k);
  for (int k = 1; k <= max_k; ++k) *stage_nodes += falling(k);  // prefixes: at most every selection
  return orders;
}

}  // namespace

Plan build_plan(const SweepConfig& config, const CostModel& costs) {
  double stage_bound = 0;
  const double orders_per_replicate = count_orders(config, &stage_bound);
  double pre_stages = 0;  // [targets.<task>] before: at most that many stage nodes per order
  for (const std::string& target : config.targets)
    pre_stages += static_cast<double>(config.target_options_for(target).before.size());
  const double bound =
      1 + config.sweep.replicates *
              (stage_bound +
               orders_per_replicate * (static_cast<double>(config.targets.size()) + pre_stages));
  if (bound > static_cast<double>(kMaxPlanNodes))
    throw ConfigError(fmt::format(
        "{}: orders: expected a plan of at most {} nodes, got about {:.3g} ({:.3g} orders x {} "
        "replicates x {} targets); use fewer stages, lengths or replicates",
        config.path.string(), kMaxPlanNodes, bound, orders_per_replicate, config.sweep.replicates,
        config.targets.size()));
  const std::vector<std::vector<std::string>> orders = enumerate_orders(config);

  Plan plan;
  plan.targets = config.targets;
  plan.replicates = config.sweep.replicates;
  plan.costs = costs;
  auto add = [&](NodeKind kind, int64_t parent, int replicate, std::vector<std::string> path,
                 std::string stage, uint64_t seed) {
    PlanNode n;
    n.id = static_cast<int64_t>(plan.nodes.size());
    n.kind = kind;
    n.parent = parent;
    n.replicate = replicate;
    n.path = std::move(path);
    n.stage = std::move(stage);
    n.seed = seed;
    n.cost_s = costs.seconds(n);
    plan.nodes.push_back(std::move(n));
    return plan.nodes.back().id;
  };
  add(NodeKind::kRoot, -1, -1, {}, "", root_seed(config.sweep.seed));

  for (int r = 0; r < config.sweep.replicates; ++r) {
    // The replicate's prefix tree: one stage node per unique prefix, made on first use.
    std::map<std::vector<std::string>, int64_t> prefix_node;
    auto stage_node = [&](const std::vector<std::string>& prefix, int64_t parent) {
      auto it = prefix_node.find(prefix);
      if (it == prefix_node.end())
        it = prefix_node
                 .emplace(prefix, add(NodeKind::kStage, parent, r, prefix, prefix.back(),
                                      node_seed(config.sweep.seed, r, prefix)))
                 .first;
      return it->second;
    };
    std::vector<PlanOrder> replicate_orders;
    for (const auto& order : orders) {
      int64_t parent = 0;
      std::vector<std::string> prefix;
      for (const std::string& stage : order) {
        prefix.push_back(stage);
        parent = stage_node(prefix, parent);
      }
      replicate_orders.push_back({r, order, parent});
    }
    // A target's pre-stages ([targets.<task>] before) continue the order's prefix, sharing the
    // nodes of an order that ends the same way; its leaf hangs below them.
    // (Created before any leaf: parents are numbered before their children.)
    std::vector<int64_t> leaf_parents;  // per (order, target), in that order
    for (const PlanOrder& o : replicate_orders)
      for (const std::string& target : config.targets) {
        int64_t parent = o.node;
        std::vector<std::string> prefix = o.path;
        for (const std::string& stage : config.target_options_for(target).before) {
          prefix.push_back(stage);
          parent = stage_node(prefix, parent);
        }
        leaf_parents.push_back(parent);
      }
    // Target leaves under every order node (the baseline's under the root), or under their
    // pre-stages; a leaf's path is its order's.
    size_t next_leaf = 0;
    for (const PlanOrder& o : replicate_orders) {
      const uint64_t order_seed = node_seed(config.sweep.seed, r, o.path);
      for (const std::string& target : config.targets)
        add(NodeKind::kTarget, leaf_parents[next_leaf++], r, o.path, target,
            target_seed(order_seed, target));
      plan.orders.push_back(o);
    }
  }
  plan.finalize();
  return plan;
}

// ---- resources ----------------------------------------------------------------------------------

EncoderShape encoder_shape(const SweepConfig& config) {
  EncoderShape s;
  if (config.model.checkpoint.empty()) {
    // The tokenizer's ids: pieces + fairseq's offset + <mask> (XlmrTokenizer::vocab_size), from
    // the cache once prepare has written it.
    int64_t vocab = config.model.tiny.vocab_size + 2;
    s.source = "model.tiny";
    if (std::filesystem::exists(config.cache_path())) {
      const CacheReader cache(config.cache_path());
      const nlohmann::json settings = nlohmann::json::parse(cache.settings_json(), nullptr, false);
      if (settings.is_object() && settings.contains("vocab_size") &&
          settings["vocab_size"].is_number_integer()) {
        vocab = settings["vocab_size"].get<int64_t>();
        s.source = "model.tiny with the cache's vocabulary";
      }
    }
    s.config = tiny_model_config(config, vocab);
    return s;
  }
  const std::filesystem::path path = std::filesystem::path(config.model.checkpoint) / "config.json";
  if (!std::filesystem::exists(path)) {
    s.source = fmt::format("XLM-R large (nominal: {} does not exist yet)", path.string());
    return s;
  }
  s.config = read_hf_config(path.string());
  s.source = path.string();
  return s;
}

bool keeps_checkpoint(const PlanNode& node, CheckpointKeep keep) {
  if (node.kind == NodeKind::kTarget || keep == CheckpointKeep::kNone) return false;
  if (keep == CheckpointKeep::kAll) return true;
  return !node.children.empty() && !node.target_prestage;
}

ResourceEstimate estimate_resources(const Plan& plan, const SweepConfig& config,
                                    const EncoderShape& shape) {
  ResourceEstimate r;
  r.parameters = encoder_parameters(shape.config);
  for (const PlanNode& n : plan.nodes)
    if (keeps_checkpoint(n, config.output.checkpoints)) ++r.checkpoints_kept;
  const int64_t bytes_per_weight = config.output.checkpoint_dtype == Precision::kBf16 ? 2 : 4;
  double predictions = 0;
  for (const PlanNode& n : plan.nodes) {
    if (n.kind != NodeKind::kTarget) continue;
    auto it = plan.costs.tasks().find(n.stage);
    if (it != plan.costs.tasks().end()) predictions += it->second.predict_values;
  }
  r.results_file_bytes = r.checkpoints_kept * r.parameters * bytes_per_weight +
                         static_cast<int64_t>(plan.nodes.size()) * kNodeMetadataBytes +
                         static_cast<int64_t>(8.0 * predictions);
  r.memory_per_rank_bytes = r.parameters * 4 * 5;
  return r;
}

}  // namespace ordertune

// node_outputs (train/runner.h) sizes the results layout from the cache's metadata, so that a
// rank's start-up does not load every split (issue 15: a real study's cache holds gigabytes). It
// must agree exactly with what the trainer and the evaluator will do with the loaded splits:
// planned_steps / planned_evaluations of TaskData::stage, target_stage and the pretraining
// stage, and prediction_size of each test split. Also: a retrieval split whose candidates are
// linked to another language's (CacheWriter candidates_of) reads back the same candidates.
#include "engine/engine_test.h"

#include <nlohmann/json.hpp>

#include "engine/synthetic_tasks.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/plan/plan.h"
#include "ordertune/train/evaluate.h"
#include "ordertune/train/runner.h"
#include "test_paths.h"

using namespace ordertune;
using namespace ordertune::testing;

namespace {

constexpr int64_t kVocab = 64;

// Extractive QA: `windows[i]` windows for example i (answers in every window's first context
// token); `labelled` false blanks the answers as xtreme's test files do.
SplitFeatures qa_split(const std::vector<int>& windows, bool labelled, uint64_t seed) {
  SplitMix64 rng(seed);
  SplitFeatures s;
  s.type = TaskType::kExtractiveQA;
  QAFeatures& q = s.qa;
  for (size_t i = 0; i < windows.size(); ++i) {
    q.ids.push_back("q" + std::to_string(i));
    q.questions.push_back("question");
    q.contexts.push_back("context words");
    if (labelled) {
      q.answer_texts.push_row(std::vector<std::string>{"context"});
      q.answer_starts.push_row(std::vector<int64_t>{0});
    } else {
      q.answer_texts.push_row(std::vector<std::string>{});
      q.answer_starts.push_row(std::vector<int64_t>{});
    }
    q.is_impossible.push_back(0);
    for (int w = 0; w < windows[i]; ++w) {
      const std::vector<int32_t> row = random_row(rng, kVocab, 4, 9);
      q.input_ids.push_row(row);
      std::vector<int64_t> start(row.size(), -1), end(row.size(), -1);
      start[3] = 0;
      end[3] = 7;
      q.token_start.push_row(start);
      q.token_end.push_row(end);
      q.window_example.push_back(static_cast<int32_t>(i));
      q.start_positions.push_back(labelled ? 3 : 0);
      q.end_positions.push_back(labelled ? 3 : 0);
    }
  }
  return s;
}

SplitFeatures mlm_split(int64_t n, uint64_t seed) {
  SplitMix64 rng(seed);
  SplitFeatures s;
  s.type = TaskType::kMLM;
  for (int64_t i = 0; i < n; ++i) s.mlm.input_ids.push_row(random_row(rng, kVocab, 3, 9));
  return s;
}

SplitFeatures unlabelled(SplitFeatures s) {
  for (int32_t& l : s.classification.labels) l = -1;
  for (int32_t& l : s.tagging.word_labels.values) l = -1;
  s.retrieval.gold_query.clear();
  s.retrieval.gold_candidate.clear();
  return s;
}

// Every task the config uses, with splits of each type: a mixture of two classification tasks
// (one capped), QA with and without a cap, tagging, retrieval whose two languages share one
// candidate set (linked), MLM in two languages for the tiny model's pretraining.
void write_cache(const SweepConfig& config) {
  CacheWriter w(config.cache_path());
  nlohmann::json settings = nlohmann::json::parse(featurizer_settings_json(config.data));
  settings["vocab_size"] = kVocab;
  w.write_header(settings.dump(), "model", "hash");
  for (const std::string& name : config.tasks_used()) {
    const TaskSpec& spec = config.registry.get(name);
    CachedTask t;
    t.name = name;
    t.type = spec.type;
    t.format = spec.format;
    t.metric = spec.metric;
    t.labels = spec.labels;
    t.num_choices = spec.num_choices;
    t.train_task = spec.train_task;
    t.content_hash = "0";
    w.begin_task(t);
    if (name == "mnli") {
      w.write_split(name, kSplitTrain, "en", classification_split(37, kVocab, 1));
      w.write_split(name, kSplitDev, "en", classification_split(9, kVocab, 2));
    } else if (name == "qqp") {
      w.write_split(name, kSplitTrain, "en", classification_split(23, kVocab, 3));  // no dev
    } else if (name == "squad_v1") {
      w.write_split(name, kSplitTrain, "en", qa_split({1, 3, 2, 1, 4, 2, 2}, true, 4));
      w.write_split(name, kSplitDev, "en", qa_split({2, 1}, true, 5));
    } else if (name == "xquad") {
      w.write_split(name, kSplitTest, "de", qa_split({1, 2, 2}, false, 6));
      w.write_split(name, kSplitTest, "en", qa_split({3, 1}, true, 7));
    } else if (name == "udpos") {
      w.write_split(name, kSplitTrain, "en", tagging_split(29, kVocab, 8));
      w.write_split(name, kSplitDev, "en", tagging_split(6, kVocab, 9));
      w.write_split(name, kSplitDev, "de", tagging_split(5, kVocab, 10));
      w.write_split(name, kSplitTest, "de", unlabelled(tagging_split(7, kVocab, 11)));
    } else if (name == "mewslix") {
      w.write_split(name, kSplitTrain, "en", retrieval_split(19, kVocab, 12));
      const SplitFeatures dev = retrieval_split(8, kVocab, 13);
      w.write_split(name, kSplitDev, "de", dev);
      SplitFeatures queries_only = dev;  // the candidates come from dev/de's, linked
      queries_only.retrieval.candidate_ids = {};
      queries_only.retrieval.candidate_keys.clear();
      queries_only.retrieval.candidate_languages.clear();
      w.write_split(name, kSplitTest, "de", unlabelled(queries_only), "dev/de");
    } else if (name == "mlm") {
      w.write_split(name, kSplitTrain, "en", mlm_split(17, 14));
      w.write_split(name, kSplitTrain, "de", mlm_split(11, 15));
      w.write_split(name, kSplitDev, "en", mlm_split(4, 16));
    }
  }
  w.commit();
}

const char* kConfig = R"(
[sweep]
seed = 3
[model.tiny]
layers = 1
hidden = 16
heads = 2
ffn = 32
pretrain_steps = 0
[mixtures.pairs]
tasks = ["mnli", "qqp"]
[orders]
mode = "explicit"
explicit = [[], ["pairs"], ["squad_v1", "pairs"]]
[targets]
tasks = ["udpos", "xquad", "mewslix"]
[train]
batch_size = 2
grad_accum = 2
epochs = 1.5
eval_every = 3
select = "best"
[train.mnli]
max_train_examples = 30
[train.squad_v1]
max_train_examples = 5
[train.udpos]
epochs = 2.0
[train.mewslix]
batch_size = 4
[train.mlm]
max_train_examples = 20
)";

}  // namespace

TEST_CASE("node_outputs from the cache's metadata equals the trainer's and evaluator's sizes",
          "[runner]") {
  ScratchDir dir("node-outputs");
  SweepConfig config = parse_config(kConfig, "n.toml");
  config.data.cache = (dir / "c.h5").string();
  config.model.tiny.pretrain_steps = 0;  // planned from the corpus: epochs, not max_steps
  write_cache(config);
  TaskData data(config);
  const Plan plan = build_plan(config, CostModel(1.0));
  const std::vector<NodeOutputs> outputs = node_outputs(data, plan);
  REQUIRE(outputs.size() == plan.nodes.size());

  int stages = 0, targets = 0;
  for (size_t n = 0; n < plan.nodes.size(); ++n) {
    const PlanNode& node = plan.nodes[n];
    const NodeOutputs& o = outputs[n];
    INFO("node " << n << " " << node.stage);
    if (node.kind == NodeKind::kStage) {
      const StageSpec spec = data.stage(node.stage);  // the loaded splits
      CHECK(o.steps == planned_steps(spec));
      CHECK(o.evaluations == planned_evaluations(spec));
      CHECK(o.steps > 0);
      ++stages;
    } else if (node.kind == NodeKind::kTarget) {
      const CachedTask info = data.cache().task(node.stage);
      if (target_trains(data, node.stage)) {
        const StageSpec spec = target_stage(data, node.stage);
        CHECK(o.steps == planned_steps(spec));
        CHECK(o.evaluations == planned_evaluations(spec));
      } else {
        CHECK(o.steps == 0);
      }
      size_t predicted = 0;
      for (const std::string& lang : target_languages(info)) {
        if (!data.has_split(node.stage, kSplitTest, lang)) continue;
        REQUIRE(predicted < o.predictions.size());
        const PredictionSize want = prediction_size(info, data.split(node.stage, kSplitTest, lang));
        CHECK(o.predictions[predicted].language == lang);
        CHECK(o.predictions[predicted].size.values == want.values);
        CHECK(o.predictions[predicted].size.scores == want.scores);
        ++predicted;
      }
      CHECK(predicted == o.predictions.size());
      ++targets;
    }
  }
  CHECK(stages == 3);  // pairs; squad_v1; pairs below squad_v1
  CHECK(targets == 9);

  // The root: the tiny model's MLM pretraining over both languages' lines (capped).
  const StageSpec pretraining = data.pretraining_stage();
  CHECK(outputs[0].steps == planned_steps(pretraining));
  CHECK(outputs[0].evaluations == planned_evaluations(pretraining));
  CHECK(outputs[0].steps > 0);
}

TEST_CASE("a retrieval split linked to another's candidates reads them back", "[runner]") {
  ScratchDir dir("linked-candidates");
  SweepConfig config = parse_config(kConfig, "n.toml");
  config.data.cache = (dir / "c.h5").string();
  write_cache(config);
  const CacheReader cache(config.cache_path());
  const SplitFeatures dev = cache.read_split("mewslix", kSplitDev, "de");
  const SplitFeatures test = cache.read_split("mewslix", kSplitTest, "de");
  CHECK(test.retrieval.candidate_ids.values == dev.retrieval.candidate_ids.values);
  CHECK(test.retrieval.candidate_ids.offsets == dev.retrieval.candidate_ids.offsets);
  CHECK(test.retrieval.candidate_keys == dev.retrieval.candidate_keys);
  CHECK(test.retrieval.candidate_languages == dev.retrieval.candidate_languages);
  CHECK(test.retrieval.query_ids.rows() == 8);
  CHECK(test.retrieval.gold_query.empty());
  CHECK(cache.dataset_size("mewslix", kSplitTest, "de", "candidate_ids") ==
        static_cast<int64_t>(dev.retrieval.candidate_ids.values.size()));
}

// The split each language of a target leaf is scored on, as the results layout has it
// (train/runner.h node_outputs): one split for all the languages of a target, so that its score
// never averages dev and test (issue 15).
#include "engine/engine_test.h"

#include <map>

#include <nlohmann/json.hpp>

#include "ordertune/data/data_cache.h"
#include "ordertune/plan/plan.h"
#include "ordertune/train/runner.h"
#include "test_paths.h"

using namespace ordertune;

namespace {

// Two XNLI examples of one language; labelled or not.
SplitFeatures xnli_split(bool labelled) {
  SplitFeatures f;
  f.type = TaskType::kClassification;
  f.classification.input_ids.push_row({0, 10, 2, 2, 11, 2});
  f.classification.input_ids.push_row({0, 12, 2, 2, 13, 2});
  f.classification.labels = labelled ? std::vector<int32_t>{0, 2} : std::vector<int32_t>{-1, -1};
  f.classification.ids = {"a", "b"};
  return f;
}

// A cache for `config` whose xnli has dev (labelled) and test in en and de; `test_de_labelled`
// says whether de's test split has labels (en's has). The other tasks the config uses are
// present, empty.
void write_cache(const SweepConfig& config, bool test_de_labelled) {
  CacheWriter w(config.cache_path());
  nlohmann::json settings = nlohmann::json::parse(featurizer_settings_json(config.data));
  settings["vocab_size"] = 100;
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
    if (name != "xnli") continue;
    w.write_split(name, kSplitTrain, "en", xnli_split(true));
    for (const char* lang : {"en", "de"}) {
      w.write_split(name, kSplitDev, lang, xnli_split(true));
      w.write_split(name, kSplitTest, lang,
                    xnli_split(std::string(lang) == "en" || test_de_labelled));
    }
  }
  w.commit();
}

// language -> the split the xnli leaf scores it on ("" = not scored).
std::map<std::string, std::string> scored_splits(TaskData& data) {
  const Plan plan = build_plan(data.config(), CostModel(1.0));
  const std::vector<NodeOutputs> outputs = node_outputs(data, plan);
  std::map<std::string, std::string> out;
  for (size_t n = 0; n < plan.nodes.size(); ++n)
    if (plan.nodes[n].kind == NodeKind::kTarget)
      for (const NodeOutputs::Scored& s : outputs[n].scored) out[s.language] = s.split;
  return out;
}

}  // namespace

TEST_CASE("a target is scored on one split in every language: test only where all have labels",
          "[runner]") {
  testing::ScratchDir dir("score-split");
  SweepConfig config = parse_config("[targets]\ntasks = [\"xnli\"]\n", "x.toml");
  config.data.cache = (dir / "c.h5").string();

  SECTION("every test split labelled: test everywhere") {
    write_cache(config, /*test_de_labelled=*/true);
    TaskData data(config);
    const auto splits = scored_splits(data);
    CHECK(splits == std::map<std::string, std::string>{{"de", "test"}, {"en", "test"}});
  }
  SECTION("one language's test labels hidden: dev everywhere (en's test is not mixed in)") {
    write_cache(config, /*test_de_labelled=*/false);
    TaskData data(config);
    const auto splits = scored_splits(data);
    CHECK(splits == std::map<std::string, std::string>{{"de", "dev"}, {"en", "dev"}});
  }
}

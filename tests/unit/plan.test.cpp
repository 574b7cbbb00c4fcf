// Tests of plan.h: the prefix tree against trees counted by hand, seeds, topological order,
// lookup, the cost model (nominal, cached, refined) and the resource estimates.
#include <algorithm>
#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/plan/plan.h"
#include "test_paths.h"

using namespace ordertune;
using Catch::Matchers::Equals;

namespace {

// A config whose data cache does not exist: costs come from the nominal table.
SweepConfig config_of(const std::string& body) {
  return parse_config("[data]\ncache = \"/nonexistent/ordertune-plan-test.h5\"\n" + body, "x.toml");
}

int64_t count_kind(const Plan& plan, NodeKind kind) {
  return std::count_if(plan.nodes.begin(), plan.nodes.end(),
                       [&](const PlanNode& n) { return n.kind == kind; });
}

const char* kThreeStages = R"(
[sweep]
seed = 7
replicates = 2
[orders]
stages = ["mnli", "squad_v1", "hellaswag"]
lengths = [0, 1, 2]
[targets]
tasks = ["xnli", "udpos"]
)";

}  // namespace

TEST_CASE("k-permutation plans have the prefix tree counted by hand", "[plan]") {
  // 3 stages, k = 0, 1, 2, 2 replicates, 2 targets. Per replicate: prefixes 3 (k=1) + 3*2 (k=2);
  // orders 1 + 3 + 6 = 10, of total length 3*1 + 6*2 = 15; a target leaf per order and target.
  const Plan plan = build_plan(config_of(kThreeStages), CostModel());
  CHECK(plan.stage_runs == 2 * (3 + 6));
  CHECK(plan.naive_stage_runs == 2 * (3 + 12));
  CHECK(plan.target_runs == 2 * (1 + 3 + 6) * 2);
  CHECK(plan.nodes.size() == 1 + 18 + 40);
  CHECK(plan.orders.size() == 2 * 10);
  CHECK(count_kind(plan, NodeKind::kRoot) == 1);
  CHECK(count_kind(plan, NodeKind::kStage) == plan.stage_runs);

  // The root is shared; the baseline's leaves hang under it, one set per replicate.
  const PlanNode& root = plan.nodes[0];
  CHECK(root.kind == NodeKind::kRoot);
  CHECK(root.replicate == -1);
  CHECK(root.order_end);
  int baseline_leaves = 0;
  std::set<int> replicates;
  for (int64_t c : root.children)
    if (plan.nodes[c].kind == NodeKind::kTarget) {
      ++baseline_leaves;
      replicates.insert(plan.nodes[c].replicate);
      CHECK(plan.nodes[c].path.empty());
    }
  CHECK(baseline_leaves == 2 * 2);
  CHECK(replicates == std::set<int>{0, 1});

  // Every order ends at the node of its path, which carries one leaf per target.
  for (const PlanOrder& o : plan.orders) {
    const PlanNode& n = plan.nodes[o.node];
    CHECK(n.order_end);
    CHECK(n.path == o.path);
    int leaves = 0;
    for (int64_t c : n.children) {
      const PlanNode& leaf = plan.nodes[c];
      if (leaf.kind == NodeKind::kTarget && leaf.replicate == o.replicate) ++leaves;
    }
    CHECK(leaves == 2);
  }
}

TEST_CASE("nodes are in topological order with consistent links", "[plan]") {
  const Plan plan = build_plan(config_of(kThreeStages), CostModel());
  for (const PlanNode& n : plan.nodes) {
    INFO(node_name(n));
    CHECK(n.id == &n - plan.nodes.data());
    if (n.kind == NodeKind::kRoot) continue;
    REQUIRE(n.parent >= 0);
    CHECK(n.parent < n.id);
    const PlanNode& p = plan.nodes[n.parent];
    CHECK(std::count(p.children.begin(), p.children.end(), n.id) == 1);
    if (n.kind == NodeKind::kStage) {
      CHECK(n.path.back() == n.stage);
      CHECK(std::vector<std::string>(n.path.begin(), n.path.end() - 1) == p.path);
      CHECK(n.replicate >= 0);
    } else {
      CHECK(n.children.empty());
      CHECK(n.path == p.path);
    }
  }
}

TEST_CASE("explicit orders share their prefixes", "[plan]") {
  const Plan plan = build_plan(config_of(R"(
[orders]
mode = "explicit"
explicit = [["mnli", "qqp", "squad_v1"], ["mnli", "qqp", "hellaswag"], ["mnli"], ["qqp", "mnli"], []]
[targets]
tasks = ["xnli"]
)"),
                               CostModel());
  // Stage nodes: mnli, mnli>qqp, mnli>qqp>squad_v1, mnli>qqp>hellaswag, qqp, qqp>mnli.
  CHECK(plan.stage_runs == 6);
  CHECK(plan.naive_stage_runs == 3 + 3 + 1 + 2 + 0);
  CHECK(plan.target_runs == 5);
  CHECK(plan.nodes.size() == 1 + 6 + 5);
  CHECK(plan.nodes[plan.find_node(0, {"mnli"})].order_end);
  CHECK_FALSE(plan.nodes[plan.find_node(0, {"mnli", "qqp"})].order_end);
  CHECK_FALSE(plan.nodes[plan.find_node(0, {"qqp"})].order_end);
  CHECK(plan.nodes[plan.find_node(0, {"qqp", "mnli"})].order_end);
  CHECK(plan.nodes[plan.find_node(0, {"mnli", "qqp"})].children.size() == 2);
  CHECK(plan.find_node(0, {"squad_v1"}) == -1);
}

TEST_CASE("an order listed twice is refused with one line", "[plan]") {
  const SweepConfig c = config_of(R"(
[orders]
mode = "explicit"
explicit = [["mnli", "qqp"], ["qqp"], ["mnli", "qqp"]]
)");
  CHECK_THROWS_WITH(
      build_plan(c, CostModel()),
      Equals("x.toml: orders.explicit: expected distinct orders, got 'mnli>qqp' twice"));
}

TEST_CASE("a target's pre-stages continue its order's prefix and share an order's nodes",
          "[plan]") {
  // XTREME-R's XCOPA recipe: SIQA, then COPA. Orders [], [mnli], [mnli, socialiqa]; xnli has no
  // pre-stage. xcopa's leaf of [] hangs below socialiqa, of [mnli] below mnli>socialiqa (the
  // node of the third order, shared), of [mnli, socialiqa] below mnli>socialiqa>socialiqa.
  const SweepConfig config = config_of(R"(
[orders]
mode = "explicit"
explicit = [[], ["mnli"], ["mnli", "socialiqa"]]
[targets]
tasks = ["xnli", "xcopa"]
[targets.xcopa]
before = ["socialiqa"]
)");
  const Plan plan = build_plan(config, CostModel());
  const uint64_t seed = config.sweep.seed;
  // Stage nodes: mnli, mnli>socialiqa (orders), socialiqa, mnli>socialiqa>socialiqa (pre-stages).
  CHECK(plan.stage_runs == 4);
  CHECK(plan.target_runs == 6);
  CHECK(plan.nodes.size() == 1 + 4 + 6);
  const auto leaf = [&](const std::vector<std::string>& order, const std::string& target) {
    const int64_t id = plan.find_node(0, order, target);
    REQUIRE(id >= 0);
    return plan.nodes[static_cast<size_t>(id)];
  };
  const auto node = [&](const std::vector<std::string>& path) { return plan.find_node(0, path); };
  CHECK(leaf({}, "xnli").parent == 0);
  CHECK(leaf({}, "xcopa").parent == node({"socialiqa"}));
  CHECK(leaf({"mnli"}, "xnli").parent == node({"mnli"}));
  CHECK(leaf({"mnli"}, "xcopa").parent == node({"mnli", "socialiqa"}));
  CHECK(leaf({"mnli", "socialiqa"}, "xcopa").parent == node({"mnli", "socialiqa", "socialiqa"}));
  // The leaf keeps its order's path and seed; the pre-stage node is seeded by its own path.
  CHECK(leaf({"mnli"}, "xcopa").path == std::vector<std::string>{"mnli"});
  CHECK(leaf({"mnli"}, "xcopa").seed == target_seed(node_seed(seed, 0, {"mnli"}), "xcopa"));
  CHECK(plan.nodes[static_cast<size_t>(node({"socialiqa"}))].seed ==
        node_seed(seed, 0, {"socialiqa"}));
  // A node that only carries pre-stage leaves ends no order: a target's pre-stage, which
  // "interior" keeps out of the results file (its leaf takes it from memory); a shared one is an
  // order's node and kept.
  const PlanNode& pre = plan.nodes[static_cast<size_t>(node({"socialiqa"}))];
  const PlanNode& shared = plan.nodes[static_cast<size_t>(node({"mnli", "socialiqa"}))];
  CHECK_FALSE(pre.order_end);
  CHECK(pre.target_prestage);
  CHECK(shared.order_end);
  CHECK_FALSE(shared.target_prestage);
  CHECK_FALSE(keeps_checkpoint(pre, CheckpointKeep::kInterior));
  CHECK(keeps_checkpoint(pre, CheckpointKeep::kAll));
  CHECK(keeps_checkpoint(shared, CheckpointKeep::kInterior));
  // Parents before children.
  for (const PlanNode& n : plan.nodes) CHECK(n.parent < n.id);
  // The pre-stage is priced as a stage (Social IQa's nominal 33,410 training items for 3 epochs
  // at batch 4: thousands of seconds), not at the 1 s of a key the model does not know.
  const CostModel costs = CostModel::from_config(config);
  CHECK(costs.base_seconds("stage:socialiqa") > 1000);
  CHECK(build_plan(config, costs).nodes[static_cast<size_t>(node({"socialiqa"}))].cost_s ==
        costs.base_seconds("stage:socialiqa"));
}

TEST_CASE("a pre-stage must be a task or mixture that trains", "[plan][config]") {
  REQUIRE_THROWS_WITH(
      config_of("[targets]\ntasks = [\"xcopa\"]\n[targets.xcopa]\nbefore = [\"tatoeba\"]\n"),
      Catch::Contains("x.toml:6: targets.xcopa.before: expected intermediate tasks or mixtures "
                      "with a training split, got 'tatoeba'"));
  REQUIRE_THROWS_WITH(
      config_of("[targets]\ntasks = [\"xcopa\"]\n[targets.xcopa]\nbefore = [\"nope\"]\n"),
      Catch::Contains("got 'nope'"));
}

TEST_CASE("permutations mode orders every stage", "[plan]") {
  const Plan plan = build_plan(config_of(R"(
[orders]
mode = "permutations"
stages = ["mnli", "qqp", "squad_v1"]
[targets]
tasks = ["xnli"]
)"),
                               CostModel());
  // 3! = 6 orders of length 3; prefixes 3 + 6 + 6.
  CHECK(plan.orders.size() == 6);
  CHECK(plan.stage_runs == 3 + 6 + 6);
  CHECK(plan.naive_stage_runs == 6 * 3);
  CHECK(plan.target_runs == 6);
  CHECK_FALSE(plan.nodes[plan.find_node(0, {"mnli", "qqp"})].order_end);
}

TEST_CASE("a mixture is one stage that trains its members together", "[plan]") {
  const SweepConfig c = config_of(R"(
[model]
checkpoint = "models/none"
[mixtures.nli]
tasks = ["mnli", "snli"]
[orders]
stages = ["nli", "squad_v1"]
lengths = [1, 2]
)");
  const CostModel costs = CostModel::from_config(c);
  const Plan plan = build_plan(c, costs);
  CHECK(plan.stage_runs == 2 + 2);
  const int64_t nli = plan.find_node(0, {"nli"});
  REQUIRE(nli > 0);
  CHECK(plan.nodes[nli].stage == "nli");
  CHECK(CostModel::key(plan.nodes[nli]) == "stage:nli");
  // By hand from the nominal table: MNLI 392,702 + SNLI 550,152 examples, batch 4, 3 epochs:
  // steps = 3 * (98,176 + 137,538) = 707,142; 128 tokens per example at 20,000 tokens/s;
  // 3 dev evaluations (one per epoch) of 9,815 + 9,842 examples at a third of the speed.
  const double train = 707142.0 * 4 * 128 / 20000;
  const double eval = 3.0 * (9815 + 9842) * 128 / (3 * 20000.0);
  CHECK(plan.nodes[nli].cost_s == Approx(train + eval).epsilon(1e-12));
  CHECK(costs.nominal());
  CHECK(plan.nodes[0].cost_s == kCheckpointLoadSeconds);
}

TEST_CASE("seeds depend on (sweep seed, replicate, path) only", "[plan]") {
  const Plan a = build_plan(config_of(kThreeStages), CostModel());
  const Plan again = build_plan(config_of(kThreeStages), CostModel());
  const Plan reordered = build_plan(config_of(R"(
[sweep]
seed = 7
replicates = 2
[orders]
stages = ["hellaswag", "mnli", "squad_v1"]
lengths = [2, 0, 1]
[targets]
tasks = ["udpos", "xnli"]
)"),
                                    CostModel());
  REQUIRE(reordered.nodes.size() == a.nodes.size());
  std::set<uint64_t> distinct;
  for (const PlanNode& n : a.nodes) {
    INFO(node_name(n));
    CHECK(again.nodes[n.id].seed == n.seed);
    const int64_t twin =
        reordered.find_node(n.replicate, n.path, n.kind == NodeKind::kTarget ? n.stage : "");
    REQUIRE(twin >= 0);
    CHECK(reordered.nodes[twin].seed == n.seed);
    distinct.insert(n.seed);
    switch (n.kind) {
      case NodeKind::kRoot:
        CHECK(n.seed == root_seed(7));
        break;
      case NodeKind::kStage:
        CHECK(n.seed == node_seed(7, n.replicate, n.path));
        break;
      case NodeKind::kTarget:
        CHECK(n.seed == target_seed(node_seed(7, n.replicate, n.path), n.stage));
        break;
    }
  }
  CHECK(distinct.size() == a.nodes.size());  // replicates and targets all differ
  // The order of the nodes may differ, the set of names may not.
  std::set<std::string> names_a, names_b;
  for (const PlanNode& n : a.nodes) names_a.insert(node_name(n));
  for (const PlanNode& n : reordered.nodes) names_b.insert(node_name(n));
  CHECK(names_a == names_b);
}

TEST_CASE("node names are stable and find_node inverts them", "[plan]") {
  const Plan plan = build_plan(config_of(kThreeStages), CostModel());
  CHECK(node_name(plan.nodes[0]) == "root");
  CHECK(plan.find_node(0, {}) == 0);
  const int64_t stage = plan.find_node(0, {"mnli", "squad_v1"});
  REQUIRE(stage > 0);
  CHECK(node_name(plan.nodes[stage]) == "r0/mnli>squad_v1");
  const int64_t leaf = plan.find_node(1, {"mnli", "squad_v1"}, "xnli");
  REQUIRE(leaf > 0);
  CHECK(node_name(plan.nodes[leaf]) == "r1/mnli>squad_v1:xnli");
  CHECK(plan.nodes[leaf].parent == plan.find_node(1, {"mnli", "squad_v1"}));
  const int64_t baseline = plan.find_node(1, {}, "udpos");
  REQUIRE(baseline > 0);
  CHECK(node_name(plan.nodes[baseline]) == "r1/:udpos");
  CHECK(plan.nodes[baseline].parent == 0);
  CHECK(plan.find_node(2, {"mnli"}) == -1);           // no replicate 2
  CHECK(plan.find_node(0, {"mnli"}, "xquad") == -1);  // not a target of this sweep
  for (const PlanNode& n : plan.nodes)
    CHECK(plan.find_node(n.replicate, n.path, n.kind == NodeKind::kTarget ? n.stage : "") == n.id);
}

TEST_CASE("work, longest path and lower bound of a priced plan", "[plan]") {
  const SweepConfig c = config_of(R"(
[orders]
stages = ["mnli", "qqp"]
lengths = [0, 1, 2]
[targets]
tasks = ["xnli"]
)");
  CostModel costs;
  costs.set_seconds("root", 10);
  costs.set_seconds("stage:mnli", 100);
  costs.set_seconds("stage:qqp", 50);
  costs.set_seconds("target:xnli", 5);
  const Plan plan = build_plan(c, costs);
  // Stage nodes mnli, qqp, mnli>qqp, qqp>mnli; a leaf under root and each of them.
  CHECK(plan.nodes.size() == 1 + 4 + 5);
  CHECK(plan.total_work_s == Approx(10 + 2 * 100 + 2 * 50 + 5 * 5));
  CHECK(plan.longest_path_s == Approx(10 + 100 + 50 + 5));
  CHECK(plan.lower_bound_s(1) == Approx(335));
  CHECK(plan.lower_bound_s(2) == Approx(167.5));
  // Three workers: the longest path with the root's 10 s shared by all (rule 0 of scheduler.h).
  CHECK(plan.lower_bound_s(3) == Approx(155 + 10.0 / 3));

  // Checkpoints kept: interior = root + every stage node with children (here all 4 have a target
  // leaf: workers hand those encoders over through the file); all = root + every stage node.
  EncoderShape tiny;
  tiny.config.vocab_size = 2002;
  tiny.config.hidden_size = 64;
  tiny.config.num_hidden_layers = 2;
  tiny.config.num_attention_heads = 4;
  tiny.config.intermediate_size = 256;
  tiny.config.max_position_embeddings = 258;
  SweepConfig interior = c;
  const ResourceEstimate r = estimate_resources(plan, interior, tiny);
  CHECK(r.checkpoints_kept == 5);
  SweepConfig all = c;
  all.output.checkpoints = CheckpointKeep::kAll;
  all.output.checkpoint_dtype = Precision::kBf16;
  const ResourceEstimate ra = estimate_resources(plan, all, tiny);
  CHECK(ra.checkpoints_kept == 5);
  SweepConfig none = c;
  none.output.checkpoints = CheckpointKeep::kNone;
  CHECK(estimate_resources(plan, none, tiny).checkpoints_kept == 0);
  // Tiny model by hand: embeddings 2002*64 + 258*64 + 64 + 128 = 144,832; a layer 49,984;
  // pooler 4,160: 248,960 parameters.
  CHECK(r.parameters == 248'960);
  CHECK(r.memory_per_rank_bytes == 248'960LL * 4 * 5);
  CHECK(ra.results_file_bytes - r.results_file_bytes == 248'960LL * (5 * 2 - 5 * 4));
}

TEST_CASE("XLM-R large has 559,890,432 parameters", "[plan]") {
  CHECK(encoder_parameters(xlmr_large_config()) == 559'890'432);
}

TEST_CASE("costs come from the data cache when it exists", "[plan]") {
  testing::ScratchDir dir("plan");
  const auto cache = dir / "cache.h5";
  auto rows = [](int n, int length, int labelled) {
    SplitFeatures f;
    f.type = TaskType::kClassification;
    for (int i = 0; i < n; ++i) {
      f.classification.input_ids.push_row(std::vector<int32_t>(static_cast<size_t>(length), 5));
      f.classification.labels.push_back(labelled ? i % 3 : -1);
      f.classification.ids.push_back(std::to_string(i));
    }
    return f;
  };
  auto task = [](const std::string& name) {
    CachedTask t;
    t.name = name;
    t.type = TaskType::kClassification;
    t.format = "jsonl";
    t.metric = Metric::kAccuracy;
    t.labels = {"contradiction", "entailment", "neutral"};
    t.content_hash = "0";
    return t;
  };
  {
    CacheWriter w(cache);
    w.write_header("{\"vocab_size\":1002}", "model", "hash");
    w.begin_task(task("mnli"));
    w.write_split("mnli", "train", "en", rows(5, 10, 1));
    w.write_split("mnli", "dev", "en", rows(2, 10, 1));
    w.begin_task(task("xnli"));
    w.write_split("xnli", "train", "en", rows(4, 8, 1));
    w.write_split("xnli", "dev", "en", rows(2, 8, 1));
    w.write_split("xnli", "test", "en", rows(3, 8, 1));
    w.write_split("xnli", "test", "de", rows(3, 8, 1));
    w.commit();
  }
  const SweepConfig c = parse_config(fmt::format(R"(
[sweep]
tokens_per_second = 10.0
[model]
checkpoint = "models/none"
[data]
cache = "{}"
[orders]
stages = ["mnli"]
lengths = [1]
[targets]
tasks = ["xnli"]
[train]
batch_size = 2
epochs = 1.0
)",
                                                 cache.string()),
                                     "x.toml");
  const CostModel costs = CostModel::from_config(c);
  CHECK_FALSE(costs.nominal());
  const Plan plan = build_plan(c, costs);
  // mnli: ceil(5 / 2) = 3 steps of 2 items of 10 tokens at 10 tokens/s, one dev evaluation of
  // 2 x 10 tokens at a third of the speed.
  CHECK(plan.nodes[plan.find_node(0, {"mnli"})].cost_s == Approx(3 * 2 * 10 / 10.0 + 20 / 30.0));
  // xnli: 2 steps of 2 x 8 tokens, one dev evaluation (2 x 8), prediction of en and de (2 x 3 x 8).
  CHECK(plan.nodes[plan.find_node(0, {"mnli"}, "xnli")].cost_s ==
        Approx(2 * 2 * 8 / 10.0 + 16 / 30.0 + 48 / 30.0));
  // The tiny model would take the cache's vocabulary.
  SweepConfig tiny = c;
  tiny.model.checkpoint = "";
  CHECK(encoder_shape(tiny).config.vocab_size == 1002);
}

TEST_CASE("multiple-choice costs count every choice padded to the item's longest", "[plan]") {
  testing::ScratchDir dir("plan-mc");
  const auto cache = dir / "cache.h5";
  {
    SplitFeatures f;
    f.type = TaskType::kMultipleChoice;
    f.multiple_choice.num_choices = 2;
    // Three items of two choices: longest 6, 5 and 9 tokens.
    for (int length : {4, 6, 5, 5, 9, 2})
      f.multiple_choice.input_ids.push_row(std::vector<int32_t>(length, 5));
    f.multiple_choice.labels = {0, 1, 0};
    f.multiple_choice.ids = {"a", "b", "c"};
    CachedTask t;
    t.name = "hellaswag";
    t.type = TaskType::kMultipleChoice;
    t.format = "jsonl";
    t.metric = Metric::kAccuracy;
    t.num_choices = 0;  // left to the featurizer: the split's rows say 2
    t.content_hash = "0";
    CacheWriter w(cache);
    w.write_header("{\"vocab_size\":1002}", "model", "hash");
    w.begin_task(t);
    w.write_split("hellaswag", "train", "en", f);
    w.commit();
  }
  const CacheReader reader(cache);
  CHECK(reader.dataset_size("hellaswag", "train", "en", "input_ids") == 31);
  CHECK(reader.row_sizes("hellaswag", "train", "en", "input_ids") ==
        std::vector<int64_t>{4, 6, 5, 5, 9, 2});
  const SweepConfig c = parse_config(fmt::format(R"(
[sweep]
tokens_per_second = 10.0
[model]
checkpoint = "models/none"
[data]
cache = "{}"
[orders]
stages = ["hellaswag"]
lengths = [1]
[targets]
tasks = []
[train]
batch_size = 2
epochs = 1.0
)",
                                                 cache.string()),
                                     "x.toml");
  const CostModel costs = CostModel::from_config(c);
  const TaskSize& size = costs.tasks().at("hellaswag");
  CHECK(size.train_items == 3);
  CHECK(size.train_item_tokens == Approx(2.0 * (6 + 5 + 9) / 3));
  // ceil(3 / 2) = 2 steps of 2 items; no dev split, so no evaluation.
  const Plan plan = build_plan(c, costs);
  CHECK(plan.nodes[plan.find_node(0, {"hellaswag"})].cost_s == Approx(2 * 2 * (40.0 / 3) / 10.0));
}

TEST_CASE("run-time observations refine the cost model", "[plan]") {
  CostModel costs;
  CHECK(costs.correction("stage:a") == 1.0);
  costs.observe("stage:a", 100, 150);
  CHECK(costs.correction("stage:a") == Approx(1.5));
  CHECK(costs.correction("target:x") == Approx(1.5));  // unobserved: the overall ratio
  costs.observe("stage:b", 100, 50);
  CHECK(costs.correction("stage:b") == Approx(0.5));
  CHECK(costs.correction("stage:a") == Approx(1.5));
  CHECK(costs.correction("target:x") == Approx(1.0));
  costs.observe("stage:a", 200, 200);  // ratio of sums: 350 / 300
  CHECK(costs.correction("stage:a") == Approx(350.0 / 300.0));
  costs.observe("stage:a", 0, 10);   // ignored
  costs.observe("stage:a", 10, -1);  // ignored
  CHECK(costs.observations() == 3);
  PlanNode n;
  n.kind = NodeKind::kStage;
  n.stage = "b";
  n.cost_s = 40;
  CHECK(costs.estimate(n) == Approx(20));
}

TEST_CASE("sweep.tokens_per_second must be positive", "[plan][config]") {
  CHECK(parse_config("", "x.toml").sweep.tokens_per_second == 20000);
  CHECK_THROWS_WITH(parse_config("[sweep]\ntokens_per_second = 0\n", "x.toml"),
                    Equals("x.toml:2: sweep.tokens_per_second: expected a number > 0, got 0"));
}

TEST_CASE("oversized plans are refused before they are built", "[plan]") {
  const SweepConfig c = config_of(R"(
[orders]
mode = "permutations"
stages = ["mnli", "qqp", "snli", "anli", "ccg", "commonsenseqa", "cosmosqa", "hellaswag",
          "squad_v1", "squad_v2", "anli_r1", "anli_r2"]
[targets]
tasks = ["xnli"]
)");
  CHECK_THROWS_AS(build_plan(c, CostModel()), ConfigError);
}

TEST_CASE("the X-STILTs triples study has 3513 stage runs instead of 6753", "[plan]") {
  const SweepConfig c = load_config(testing::source_dir() / "configs" / "xtreme-r-triples.toml");
  const Plan plan = build_plan(c, CostModel());
  // Per replicate: 9 + 72 + 504 = 585 prefixes; order lengths 9*1 + 72*2 + 504*3 = 1665;
  // 1 + 9 + 72 + 504 = 586 orders, each with 10 target leaves and XCOPA's Social IQa pre-stage
  // (socialiqa is no stage of the orders: nothing to share), 586 more stage runs.
  CHECK(plan.stage_runs == 3 * (585 + 586));
  CHECK(plan.stage_runs == 3513);
  CHECK(plan.naive_stage_runs == 3 * (1665 + 586));
  CHECK(plan.target_runs == 3 * 586 * 10);
  CHECK(plan.nodes.size() == 1 + 3513 + 17580);
  const SweepConfig pairs = load_config(testing::source_dir() / "configs" / "xtreme-r-pairs.toml");
  const Plan p = build_plan(pairs, CostModel());
  CHECK(p.stage_runs == 3 * (9 + 72 + 82));
  CHECK(p.naive_stage_runs == 3 * (9 + 144 + 82));
  CHECK(p.target_runs == 3 * (1 + 9 + 72) * 10);
}

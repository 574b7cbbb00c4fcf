// plan — the static plan of a sweep: the prefix tree of stages per replicate with a target leaf
// under every order, node seeds, and what each node costs (src/DESIGN.md, decisions 4-6).
//
// Orders (config [orders]): "k_permutations" = every ordered selection of k distinct stages for
// each k in orders.lengths (k = 0 is the baseline, no intermediate stage); "permutations" = every
// order of all stages; "explicit" = orders.explicit. A stage is a task or a mixture name.
//
// The tree. Node 0 is the root: the pretrained encoder (XLM-R checkpoint, or the tiny model that
// ordertune pretrains), shared by all replicates, which differ only in intermediate and target
// training (runner.h). Per replicate, every unique prefix of an order is ONE stage node, trained
// once (decision 5): A>B>C and A>B>D share A and A>B. The node that ends an order ("order node";
// the root for the baseline) carries one target leaf per [targets] task; the baseline's leaves
// hang under the shared root, one set per replicate, each leaf with its replicate set. A target
// with pre-stages ([targets.<task>] before, e.g. XCOPA after SIQA) hangs below the stage nodes
// that continue its order's prefix with them (shared with an order that ends the same way); its
// path stays its order's.
// Nodes are numbered in a topological order: a parent's id is smaller than its children's (the
// root, then per replicate its stage nodes in order of first appearance, then its target leaves).
//
// Seeds (decision 6): the root's is root_seed(sweep.seed) (what make_root_encoder uses), a stage
// node's node_seed(sweep.seed, replicate, path), a target leaf's target_seed(<its order node's
// node_seed>, target): functions of the config only, never of the rank, the listing order in the
// config, or the node numbering.
//
// Costs. CostModel estimates a node's seconds from token counts and one throughput figure,
// sweep.tokens_per_second:
//   seconds = training tokens / tokens_per_second + evaluation tokens / (3 * tokens_per_second)
// (evaluation is a forward pass only: about a third of a training step's forward + backward).
//   training tokens = planned steps * batch_size * grad_accum * mean tokens per item, with
//     planned steps as trainer.h's planned_steps: max_steps, or ceil(epochs * sum over member
//     tasks of ceil(ceil(items / batch_size) / grad_accum)); a multiple-choice item counts all
//     its choices; a mixture's mean is over its members' items together;
//   evaluation tokens = English dev evaluations during training (one per epoch or per
//     eval_every steps, and at the end) and, for a target leaf, every language split it predicts
//     (its test split, else its dev split; retrieval: queries and candidates);
//   retrieval targets with training data (Mewsli-X, LAReQA) are fine-tuned as dual encoders and
//     cost their training too; those without (Tatoeba, BUCC) cost evaluation only
//     (runner.h's target_trains);
//   the root costs the tiny model's MLM pretraining (pretrain_steps * pretrain_batch_size * mean
//     MLM line length), or kCheckpointLoadSeconds to load a checkpoint.
// Item counts and lengths come from the data cache when it exists (the items batching.h trains
// on). Before `ordertune prepare`, the model falls back to a documented table of nominal
// English training-set sizes (plan.cpp) and nominal lengths, and says so (nominal()).
// At run time the sweep refines the model: observe() keeps, per cost key ("root", "stage:NAME",
// "target:NAME"), the ratio of measured to estimated seconds, which the scheduler applies to
// every node of that key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ordertune/config/config.h"
#include "ordertune/config/model_config.h"

namespace ordertune {

// ---- seeds ------------------------------------------------------------------------------------

// The seed of the node reached by `path` (stage names, root first) in replicate r: a function of
// (sweep seed, replicate, path) only, never of the rank that runs it.
uint64_t node_seed(uint64_t sweep_seed, int replicate, const std::vector<std::string>& path);
// The seed of a target leaf under a node.
uint64_t target_seed(uint64_t node_seed, const std::string& target);
// The seed of the root (tiny model initialisation and MLM pretraining), shared by all replicates;
// make_root_encoder (runner.cpp) derives exactly this: derive_seed(sweep_seed, "root").
uint64_t root_seed(uint64_t sweep_seed);

// ---- nodes ------------------------------------------------------------------------------------

enum class NodeKind : int8_t {
  kRoot = 0,    // the pretrained encoder
  kStage = 1,   // one intermediate stage on top of its parent's encoder
  kTarget = 2,  // fine-tune a copy on a target's English data, predict every language
};
const char* node_kind_name(NodeKind kind);  // "root", "stage", "target"

struct PlanNode {
  int64_t id = 0;  // index in Plan::nodes
  NodeKind kind = NodeKind::kRoot;
  int64_t parent = -1;            // -1 for the root
  int replicate = -1;             // -1 for the root (shared by all replicates)
  std::vector<std::string> path;  // stage names from the root; a target leaf: its order's path
  std::string stage;              // kStage: the stage it trains; kTarget: the target task
  uint64_t seed = 0;              // see the top of this file
  std::vector<int64_t> children;  // ids, ascending
  double cost_s = 0.0;            // estimated seconds (CostModel, before run-time refinement)
  bool order_end = false;         // root/stage: ends at least one order (target leaves below)
  // A stage node that ends no order and has only target leaves below: a target's pre-stage
  // ([targets.<task>] before). Its leaves take it from a worker's memory (scheduler.h rule 6),
  // so "interior" keeps it out of the results file.
  bool target_prestage = false;
};

// Whether the results file stores `node`'s encoder under output.checkpoints. A parent that no
// worker holds any more is read from the file, so the root and every stage node with children
// are kept under both "interior" and "all", except a target's pre-stage under "interior" (a
// copy stays in a worker's memory until its leaves have started: scheduler.h rule 6); "all"
// adds stage nodes without children and pre-stages; "none" keeps nothing. The one rule for the
// results layout, the scheduler and the resource estimate.
bool keeps_checkpoint(const PlanNode& node, CheckpointKeep keep);

// A stable, human-readable name: "root", "r0/mnli>squad_v1" (stage), "r1/mnli>squad_v1:xnli"
// (target), "r2/:xnli" (a target of the baseline order).
std::string node_name(const PlanNode& node);

// ---- cost model -------------------------------------------------------------------------------

// What the cost model knows of one task, from the cache or the nominal table.
struct TaskSize {
  int64_t train_items = 0;       // English training items (QA: windows), before caps
  double train_item_tokens = 0;  // mean tokens per training item (all choices of an item)
  int64_t dev_items = 0;         // English dev items (model selection during training)
  double dev_item_tokens = 0;    // mean tokens per dev item
  double predict_tokens = 0;     // target: tokens of every language split it predicts
  double predict_values = 0;     // target: prediction values stored (results file estimate)
  bool nominal = true;           // from the nominal table, not the cache
};

class CostModel {
 public:
  // Until set_seconds() is called, every key costs default_seconds (tests build trees by hand).
  explicit CostModel(double default_seconds = 1.0) : default_seconds_(default_seconds) {}
  // From the config: sizes from the data cache (config.data.cache) when it exists and holds the
  // task, else the nominal table; throughput sweep.tokens_per_second.
  static CostModel from_config(const SweepConfig& config);

  // The cost key of a node: "root", "stage:NAME", "target:NAME".
  static std::string key(const PlanNode& node);
  void set_seconds(const std::string& key, double seconds);
  double base_seconds(const std::string& key) const;  // before refinement
  double seconds(const PlanNode& node) const { return base_seconds(key(node)); }

  bool nominal() const { return nominal_; }              // any size came from the nominal table
  const std::string& source() const { return source_; }  // where the sizes came from (one line)
  double tokens_per_second() const { return tokens_per_second_; }
  const std::map<std::string, TaskSize>& tasks() const { return tasks_; }

  // Run-time refinement. A node of `key` estimated at `estimated_s` took `measured_s` (its
  // compute time, without waiting for weights). The correction of a key is the ratio of the sums
  // of its measured and estimated seconds (a ratio of sums, not a mean of ratios: one odd node
  // moves it little); a key not yet observed takes the ratio over all observations, and 1
  // before any. Non-positive inputs are ignored.
  void observe(const std::string& key, double estimated_s, double measured_s);
  double correction(const std::string& key) const;
  // Current estimate of a node: its planned cost times its key's correction.
  double estimate(const PlanNode& node) const { return node.cost_s * correction(key(node)); }
  int64_t observations() const { return observations_; }

 private:
  struct Tally {
    double estimated = 0.0, measured = 0.0;
  };
  double default_seconds_ = 1.0;
  double tokens_per_second_ = 0.0;
  bool nominal_ = false;
  std::string source_ = "set by hand";
  std::map<std::string, double> seconds_;
  std::map<std::string, TaskSize> tasks_;
  std::map<std::string, Tally> observed_;
  Tally all_;
  int64_t observations_ = 0;
};

// Loading a checkpoint into the root (the root's cost when model.checkpoint is set): XLM-R large
// is 2.2 GB of fp32 weights, read once.
inline constexpr double kCheckpointLoadSeconds = 60.0;

// ---- the plan ---------------------------------------------------------------------------------

struct PlanOrder {
  int replicate = 0;
  std::vector<std::string> path;  // [] = the baseline
  int64_t node = 0;               // the order node: the last stage of the path, or the root
};

struct Plan {
  std::vector<PlanNode> nodes;    // topological: parent id < child id; nodes[0] is the root
  std::vector<PlanOrder> orders;  // every order of every replicate
  std::vector<std::string> targets;
  int replicates = 1;
  CostModel costs;  // the model that priced the nodes (the scheduler refines it)

  // Filled by finalize().
  int64_t stage_runs = 0;        // kStage nodes: stage trainings with prefix sharing
  int64_t naive_stage_runs = 0;  // order lengths plus target pre-stages: without sharing
  int64_t target_runs = 0;       // kTarget nodes
  double total_work_s = 0.0;     // sum of node costs
  double longest_path_s = 0.0;   // max over leaves of the costs along the root-to-leaf path

  // max(total work / workers, longest path - root + root / workers): no schedule on `workers`
  // workers is faster (the root runs on all workers at once, scheduler.h rule 0; nothing else
  // can start before it ends).
  double lower_bound_s(int workers) const;
  // The node of (replicate, path) (target "" = the stage or root node; the root for an empty
  // path), or of the target leaf below it; -1 if the plan has none.
  int64_t find_node(int replicate, const std::vector<std::string>& path,
                    const std::string& target = "") const;

  // Recomputes children, order_end, counts, totals and the lookup index from nodes' kind,
  // parent, replicate, path, stage and cost_s (build_plan calls it; tests build small plans by
  // hand). Checks ids and the topological order.
  void finalize();

 private:
  std::map<std::string, int64_t> index_;  // lookup key -> id
};

// Refuses plans beyond this many nodes (ConfigError): a typo in lengths must not allocate
// millions of nodes. 9 stages, lengths 0-3, 10 targets, 3 replicates is 19,336 (21,094 with
// XCOPA's pre-stage).
inline constexpr int64_t kMaxPlanNodes = 20'000'000;

// The plan of a sweep config, priced by `costs`. ConfigError for orders listed twice (explicit)
// and for plans over kMaxPlanNodes.
Plan build_plan(const SweepConfig& config, const CostModel& costs);

// ---- resources --------------------------------------------------------------------------------

// The encoder's architecture as the planner knows it, and where that came from.
struct EncoderShape {
  XlmrConfig config = xlmr_large_config();
  std::string source = "XLM-R large (nominal)";
};

// The tiny model (its vocabulary from the cache's tokenizer when the cache exists, else
// model.tiny.vocab_size + 2: fairseq's offset and <mask>), or <model.checkpoint>/config.json, or
// XLM-R large when that file does not exist yet (source says which).
EncoderShape encoder_shape(const SweepConfig& config);

struct ResourceEstimate {
  int64_t parameters = 0;
  int64_t checkpoints_kept = 0;  // encoders stored in the results file (output.checkpoints)
  int64_t results_file_bytes = 0;
  int64_t memory_per_rank_bytes = 0;
};
// results_file_bytes = checkpoints kept * parameters * (4 fp32 | 2 bf16)
//                      + nodes * kNodeMetadataBytes + 8 * predicted values of all target leaves,
//   checkpoints kept: all = root + every stage node; interior = root + stage nodes with stage
//   children; none = 0.
// memory_per_rank_bytes = parameters * 4 bytes * 5: the held parent encoder, the working copy
//   being trained, its gradient and AdamW's two moments (fp32 everywhere; bf16 autocast keeps
//   fp32 weights). Activations are not included: they depend on batch and length (see
//   `ordertune bench train` for a measured peak). Data parallel groups replicate all five.
//   With output.checkpoints = "none", `ordertune plan --simulate` adds the encoders a worker
//   keeps for its peers at most (scheduler.h, rule 6: kept_encoders_max).
ResourceEstimate estimate_resources(const Plan& plan, const SweepConfig& config,
                                    const EncoderShape& shape);
inline constexpr int64_t kNodeMetadataBytes = 16 * 1024;  // plan row, status, timings, curves

}  // namespace ordertune

// results — the sweep's one results file: parallel HDF5 (MPI-IO), static layout
// (src/DESIGN.md, decision 4).
//
// Every dataset is created collectively when the sweep starts, sized from the plan and the data
// cache, contiguous and allocated at once, then flushed; afterwards ranks only write raw data,
// independently, into the rows of the nodes they own. A node's status is set to done last, after
// its data, so a crash at any moment leaves a readable file and an exact to-do list. The file is
// created as PATH.creating-PID and renamed when its layout is complete. h5py reads it while the
// sweep runs (the MPI-IO driver takes no file lock; the superblock is the default version).
//
// Layout (every dataset carries a "description" attribute; N = plan nodes):
//   /                      attrs format_version, created_by, sweep_name, config_hash, layout_hash
//   /config_text           uint8 [bytes]  the config file (bytes(f["config_text"][:]).decode())
//   /plan/{kind,parent,replicate,path,task,name,seed,estimated_seconds}   [N]
//                          kind 0 root, 1 stage, 2 target; path "a>b" ("" = root / baseline);
//                          task = stage trained or target; strings fixed-length, UTF-8
//   /nodes/status          int8 [N]  0 pending, 1 done (written last)
//   /nodes/{rank,start_time,end_time,train_seconds,eval_seconds,wait_seconds,tokens,steps} [N]
//   /curves/{offset [N+1], loss [S], lr [S]}       per-step loss and learning rate, node n's
//                                                  steps at offset[n] .. offset[n+1]
//   /dev/{offset [N+1], step [E], score [E]}       dev evaluations (mean over mixture members)
//   /metrics/{node,language,name,split} [M]        one row per (target leaf, language, metric)
//   /metrics/value         float64 [M]  official metric in percent (NaN until done / unscored)
//   /metrics/target_score  float64 [N]  XTREME-R task score of a target leaf (NaN otherwise)
//   /predictions/{node,language,offset [R+1],score_offset [R+1],threshold [R]}
//   /predictions/values    int64  test-split predictions per (target leaf, language), in the
//                          compact form of evaluate.h (labels, spans, rankings, BUCC pairs;
//                          padded with -1); /predictions/scores float32 (BUCC pair scores)
//   /checkpoints/row       int64 [N]  row of a node's encoder in weights, -1 if not kept
//   /checkpoints/{names,offsets,shapes}           the encoder's parameters (Hugging Face names
//                          without prefix), flat offsets and shapes ("1024,1024")
//   /checkpoints/weights   float32 or uint16 (bfloat16 bits) [C, parameters], attr dtype
//   /checkpoints/config    attr: the encoder's config.json text
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <hdf5.h>
#include <mpi.h>

#include "ordertune/config/config.h"
#include "ordertune/model/model.h"
#include "ordertune/model/weights.h"
#include "ordertune/plan/plan.h"
#include "ordertune/train/runner.h"
#include "ordertune/train/trainer.h"

namespace ordertune {

inline constexpr int kResultsFormatVersion = 1;

// Sizes of everything in the file, computed identically on every rank from the plan and cache.
struct ResultsLayout {
  std::vector<int64_t> curve_offset;  // [N+1]
  std::vector<int64_t> dev_offset;    // [N+1]
  struct MetricRow {
    int64_t node;
    std::string language, name, split;
  };
  std::vector<MetricRow> metrics;
  std::vector<int64_t> metric_offset;  // [N+1] rows of node n
  struct PredictionRow {
    int64_t node;
    std::string language;
    int64_t values, scores;
  };
  std::vector<PredictionRow> predictions;
  std::vector<int64_t> prediction_offset;  // [N+1] rows of node n
  std::vector<int64_t> checkpoint_row;     // [N], -1 = not kept
  int64_t checkpoints = 0;
  WeightDtype checkpoint_dtype = WeightDtype::kFloat32;
  std::vector<std::string> param_names;
  std::vector<int64_t> param_offsets;  // [P+1]
  std::vector<std::vector<int64_t>> param_shapes;
  std::string model_config_json;
  std::string hash() const;  // fingerprint of the sizes (resume check)
};

// Builds the layout from what each node writes (runner.h's node_outputs: its curve lengths, the
// metric rows and prediction sizes of a target leaf) and which encoders are kept
// (plan.h's keeps_checkpoint under output.checkpoints).
ResultsLayout make_results_layout(const Plan& plan, const std::vector<NodeOutputs>& outputs,
                                  const SweepConfig& config, const XlmrConfig& model);
// The checkpoint parameter table (names, flat offsets, shapes) of an encoder, into `layout`.
void set_checkpoint_parameters(ResultsLayout& layout, XlmrEncoderImpl& encoder);

// Every group and dataset of a results file, in creation order (results.cpp's schema table): a
// dataset has either static contents, written when the file is created, or a fill value and is
// written by the nodes as they finish. README's "results file" table documents it.
struct ResultsSchema {
  using Values = std::variant<std::monostate, std::vector<int8_t>, std::vector<int32_t>,
                              std::vector<int64_t>, std::vector<uint64_t>, std::vector<uint8_t>,
                              std::vector<double>, std::vector<std::string>>;
  using Fill = std::variant<std::monostate, int8_t, int32_t, int64_t, float, double>;
  using Attributes = std::vector<std::pair<std::string, std::string>>;
  struct Group {
    std::string path;  // "/plan"
    std::string description;
    Attributes attributes;
  };
  struct Dataset {
    std::string path;  // "/plan/kind"
    std::string description;
    std::vector<hsize_t> dims;
    hid_t type = -1;  // stored type when neither contents nor fill say it
    Values contents;  // static contents
    Fill fill;        // written by nodes, filled with this until then (none: never read unwritten)
    Attributes attributes;
  };
  Attributes attributes;  // of the file
  std::vector<Group> groups;
  std::vector<Dataset> datasets;
};
ResultsSchema results_schema(const SweepConfig& config, const Plan& plan,
                             const ResultsLayout& layout);

// What a finished node reports.
struct NodeRecord {
  int rank = 0;
  double start_time = 0, end_time = 0, train_seconds = 0, eval_seconds = 0, wait_seconds = 0;
  StageResult training;                  // stages and trained targets
  const TargetResult* target = nullptr;  // target leaves
};

class ResultsFile {
 public:
  // Collective over `comm`: creates the file with its full layout, or opens an existing one and
  // checks it belongs to this config (ConfigError naming the first differing setting) and
  // layout. Rank 0 holds an exclusive lock (PATH.lock) for the sweep's lifetime; a second
  // concurrent sweep on the same file is refused.
  static std::unique_ptr<ResultsFile> open_or_create(const std::filesystem::path& path,
                                                     MPI_Comm comm, const SweepConfig& config,
                                                     const Plan& plan, const ResultsLayout& layout);
  ~ResultsFile();  // collective close

  const std::vector<uint8_t>& done_at_open() const { return done_; }
  bool resumed() const { return resumed_; }

  // Independent writes by the rank that runs the node: its rank and start time when it starts
  // (so `ordertune status` can list running nodes), everything else and the done mark last.
  void mark_started(int64_t node, int rank, double start_time);
  void write_node(int64_t node, const NodeRecord& record);
  void write_checkpoint(int64_t node, XlmrEncoderImpl& encoder);
  bool has_checkpoint(int64_t node) const { return layout_.checkpoint_row[node] >= 0; }
  void read_checkpoint(int64_t node, XlmrEncoderImpl& encoder) const;

 private:
  ResultsFile() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ResultsLayout layout_;
  std::vector<uint8_t> done_;
  bool resumed_ = false;
};

// The settings (dotted keys) whose values differ between two config texts, none if none (comments
// and formatting do not count); file paths (output.results, data.cache) last.
std::vector<std::string> config_differences(const std::string& a, const std::string& b);

// ---- reading (serial; `ordertune status`, `results`, `export`)
// -----------------------------------

struct ResultsSummary {
  std::string sweep_name;
  int64_t nodes = 0, done = 0;
  double estimated_total_s = 0, estimated_done_s = 0;
  double first_start = 0, last_end = 0;
  std::vector<int64_t> unfinished_started;    // nodes with a start time but no done mark: running,
                                              // or interrupted when no sweep runs
  std::vector<std::string> unfinished_names;  // their names
  std::vector<int32_t> unfinished_ranks;      // and the ranks that started them
  // Per target, the splits its metrics score ("test", or "dev" where the test labels are hidden),
  // "+"-joined when its languages differ: "xnli" -> "test".
  std::map<std::string, std::string> target_splits;
};
ResultsSummary read_results_summary(const std::filesystem::path& path);

// Serial read access to a results file (also while a sweep writes it).
class ResultsReader {
 public:
  explicit ResultsReader(const std::filesystem::path& path);  // DataError if missing / not ours
  ~ResultsReader();
  const std::filesystem::path& path() const { return path_; }
  std::string config_text() const;
  // /plan and /nodes/status, one entry per node.
  std::vector<int8_t> kind, status;
  std::vector<int32_t> replicate;
  std::vector<int64_t> parent;
  std::vector<std::string> order, task;
  // The node of (replicate, order) (kind root/stage; the root for the baseline), -1 if none.
  int64_t find_order_node(int replicate, const std::string& order) const;

  struct PredictionRow {
    int64_t node;
    std::string language;
    int64_t offset, size, score_offset, scores;
    double threshold;
  };
  std::vector<PredictionRow> prediction_rows() const;
  std::vector<int64_t> prediction_values(const PredictionRow& row) const;
  std::vector<float> prediction_scores(const PredictionRow& row) const;
  // The kept encoder of a node (CheckpointError when it was not kept).
  bool has_checkpoint(int64_t node) const;
  XlmrEncoder read_encoder(int64_t node) const;

 private:
  std::filesystem::path path_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `ordertune results FILE --format csv`: header seed,order,target,language,split,metric,value; one
// row per finished metric; order "a>b>c" ("" = baseline); rows in plan order.
void write_results_csv(const std::filesystem::path& path, std::ostream& out);

}  // namespace ordertune

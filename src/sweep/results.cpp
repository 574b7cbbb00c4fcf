#include "ordertune/sweep/results.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/base/log.h"
#include "ordertune/data/h5.h"
#include "ordertune/dist/mpi_check.h"
#include "ordertune/model/torch_env.h"

namespace ordertune {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr int64_t kBf16Piece = int64_t{1} << 24;  // values per bf16 conversion piece (32 MiB)

// float <-> bfloat16 bits with c10::BFloat16's rounding (to nearest even; NaN -> 0x7FC0), free of
// branches so that the compiler vectorizes the loops (GCC 12 does at -O2).
void floats_to_bf16(const float* __restrict in, uint16_t* __restrict out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    uint32_t u;
    std::memcpy(&u, in + k, sizeof u);
    const uint32_t rounded = (u + (((u >> 16) & 1u) + 0x7FFFu)) >> 16;
    out[k] = static_cast<uint16_t>((u & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded);
  }
}
void bf16_to_floats(const uint16_t* __restrict in, float* __restrict out, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    const uint32_t u = static_cast<uint32_t>(in[k]) << 16;
    std::memcpy(out + k, &u, sizeof u);
  }
}

void transfer(const h5::Dataset& d, hid_t type, void* data, hsize_t offset, hsize_t count,
              int64_t row, bool write) {
  if (write)
    d.write(type, data, offset, count, row);
  else
    d.read(type, data, offset, count, row);
}

// An encoder's parameters to or from row `row` of /checkpoints/weights, one parameter at a time
// at its flat offset: float32 parameters on the CPU go straight from or into their own memory
// (no 2 GB staging copy of the whole encoder), or through a 32 MiB conversion buffer for bf16
// files; other devices go through a per-parameter buffer.
void transfer_encoder(const h5::Dataset& weights, int64_t row, bool bf16,
                      const std::vector<std::string>& names, const std::vector<int64_t>& offsets,
                      XlmrEncoderImpl& encoder, bool write) {
  torch::NoGradGuard no_grad;
  std::vector<uint16_t> bf16_buffer;
  auto params = encoder.named_parameters();
  for (size_t i = 0; i < names.size(); ++i) {
    torch::Tensor* found = params.find(names[i]);
    OT_CHECK(found != nullptr, "the encoder has no parameter {}", names[i]);
    torch::Tensor& p = *found;
    const int64_t n = offsets[i + 1] - offsets[i];
    OT_CHECK(p.numel() == n, "parameter {}: {} values, the checkpoint layout has {}", names[i],
             p.numel(), n);
    const auto at = static_cast<hsize_t>(offsets[i]);
    const bool cpu_fp32 =
        p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.is_contiguous();
    const hid_t type = bf16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_FLOAT;
    if (cpu_fp32 && !bf16) {
      transfer(weights, type, p.data_ptr(), at, static_cast<hsize_t>(n), row, write);
    } else if (cpu_fp32) {
      // bf16 rows: converted in pieces through one small buffer, on every thread.
      float* data = p.data_ptr<float>();
      const int64_t piece = std::min<int64_t>(n, kBf16Piece);
      if (static_cast<int64_t>(bf16_buffer.size()) < piece)
        bf16_buffer.resize(static_cast<size_t>(piece));
      uint16_t* buf = bf16_buffer.data();
      for (int64_t from = 0; from < n; from += piece) {
        const int64_t count = std::min(piece, n - from);
        if (write)
          at::parallel_for(0, count, 1 << 16, [&](int64_t b0, int64_t b1) {
            floats_to_bf16(data + from + b0, buf + b0, b1 - b0);
          });
        transfer(weights, type, buf, at + static_cast<hsize_t>(from), static_cast<hsize_t>(count),
                 row, write);
        if (!write)
          at::parallel_for(0, count, 1 << 16, [&](int64_t b0, int64_t b1) {
            bf16_to_floats(buf + b0, data + from + b0, b1 - b0);
          });
      }
    } else if (write) {
      torch::Tensor staged =
          p.detach().to(torch::kCPU, bf16 ? torch::kBFloat16 : torch::kFloat32).contiguous();
      weights.write(type, staged.data_ptr(), at, static_cast<hsize_t>(n), row);
    } else {
      torch::Tensor staged = torch::empty({n}, bf16 ? torch::kBFloat16 : torch::kFloat32);
      weights.read(type, staged.data_ptr(), at, static_cast<hsize_t>(n), row);
      p.copy_(staged.to(torch::kFloat32).view(p.sizes()).to(p.device(), p.scalar_type()));
    }
  }
}

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out;
  for (int64_t d : s) out += (out.empty() ? "" : ",") + std::to_string(d);
  return out;
}

// ---- config comparison ------------------------------------------------------------------------

void flatten(const toml::node& node, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  if (const toml::table* t = node.as_table()) {
    for (const auto& [k, v] : *t)
      flatten(v, prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str()), out);
    return;
  }
  std::ostringstream s;
  if (const toml::array* a = node.as_array())
    s << *a;
  else
    node.visit([&](const auto& v) { s << v; });
  (*out)[prefix] = s.str();
}

}  // namespace

std::vector<std::string> config_differences(const std::string& a, const std::string& b) {
  std::map<std::string, std::string> fa, fb;
  try {
    flatten(toml::parse(a), "", &fa);
    flatten(toml::parse(b), "", &fb);
  } catch (const toml::parse_error&) {
    return {"(unparsable config)"};
  }
  std::vector<std::string> out, paths;
  const auto add = [&](const std::string& key) {
    // Where files go says least about why two configs differ: listed last.
    (key.rfind("output.results", 0) == 0 || key.rfind("data.cache", 0) == 0 ? paths : out)
        .push_back(key);
  };
  for (const auto& [k, v] : fa) {
    auto it = fb.find(k);
    if (it == fb.end() || it->second != v) add(k);
  }
  for (const auto& [k, v] : fb)
    if (!fa.count(k)) add(k);
  out.insert(out.end(), paths.begin(), paths.end());
  return out;
}

// "" for an ordertune results file at `path`, else the one line that says what stands there
// instead (a directory, a data cache, ...): checked before HDF5 opens it for real.
static std::string results_file_problem(const std::filesystem::path& path) {
  const auto refuse = [&](const std::string& found) {
    return fmt::format("{}: expected an ordertune results file, found {}", path.string(), found);
  };
  const std::string other = describe_non_regular(path);
  if (!other.empty()) return refuse(other);
  if (!h5::is_hdf5(path))
    return refuse("a file that is not HDF5 (empty, cut short, or another format)");
  h5::File f;
  try {
    f = h5::File::open(path, false);
  } catch (const LibraryError&) {
    return refuse("an HDF5 file that cannot be opened (cut short or damaged)");
  }
  const h5::Group root = f.root();
  if (root.has_attr("created_by") && root.has_attr("config_hash") && root.exists("nodes") &&
      root.exists("plan"))
    return "";
  if (root.has_attr("format_version") && root.exists("tasks"))
    return refuse("a data cache (written by `ordertune prepare`; results go to output.results)");
  return refuse("an HDF5 file without the results layout");
}

static void expect_results_file(const std::filesystem::path& path) {
  const std::string problem = results_file_problem(path);
  if (!problem.empty()) throw ResultsError(problem);
}

// ---- layout -------------------------------------------------------------------------------------

std::string ResultsLayout::hash() const {
  Hasher h;
  auto vec = [&](const std::vector<int64_t>& v) { h.update(v.data(), v.size() * sizeof(int64_t)); };
  vec(curve_offset);
  vec(dev_offset);
  vec(metric_offset);
  vec(prediction_offset);
  vec(checkpoint_row);
  vec(param_offsets);
  for (const auto& m : metrics) h.field(m.language).field(m.name).field(m.split);
  for (const auto& p : predictions)
    h.field(p.language).update(&p.values, sizeof p.values).update(&p.scores, sizeof p.scores);
  h.field(std::to_string(static_cast<int>(checkpoint_dtype)));
  return h.hex();
}

ResultsLayout make_results_layout(const Plan& plan, const std::vector<NodeOutputs>& outputs,
                                  const SweepConfig& config, const XlmrConfig& model) {
  ResultsLayout L;
  const size_t N = plan.nodes.size();
  OT_CHECK(outputs.size() == N, "{} node outputs for {} nodes", outputs.size(), N);
  L.curve_offset.assign(1, 0);
  L.dev_offset.assign(1, 0);
  L.metric_offset.assign(1, 0);
  L.prediction_offset.assign(1, 0);
  L.checkpoint_row.assign(N, -1);
  for (size_t n = 0; n < N; ++n) {
    const PlanNode& node = plan.nodes[n];
    const NodeOutputs& out = outputs[n];
    for (const NodeOutputs::Scored& s : out.scored)
      for (const std::string& key : out.metric_keys)
        L.metrics.push_back({static_cast<int64_t>(n), s.language, key, s.split});
    for (const NodeOutputs::Predicted& p : out.predictions)
      L.predictions.push_back({static_cast<int64_t>(n), p.language, p.size.values, p.size.scores});
    L.curve_offset.push_back(L.curve_offset.back() + out.steps);
    L.dev_offset.push_back(L.dev_offset.back() + out.evaluations);
    L.metric_offset.push_back(static_cast<int64_t>(L.metrics.size()));
    L.prediction_offset.push_back(static_cast<int64_t>(L.predictions.size()));
    if (keeps_checkpoint(node, config.output.checkpoints)) L.checkpoint_row[n] = L.checkpoints++;
  }
  L.checkpoint_dtype = config.output.checkpoint_dtype == Precision::kBf16 ? WeightDtype::kBFloat16
                                                                          : WeightDtype::kFloat32;
  torch::manual_seed(0);
  XlmrEncoder probe(model, EncoderOptions{true, false});
  set_checkpoint_parameters(L, *probe);
  return L;
}

void set_checkpoint_parameters(ResultsLayout& L, XlmrEncoderImpl& encoder) {
  L.param_names.clear();
  L.param_shapes.clear();
  L.param_offsets.assign(1, 0);
  for (const auto& p : encoder.named_parameters()) {
    L.param_names.push_back(p.key());
    L.param_shapes.push_back(p.value().sizes().vec());
    L.param_offsets.push_back(L.param_offsets.back() + p.value().numel());
  }
}

namespace {

const float kNaNf = std::numeric_limits<float>::quiet_NaN();

// ---- the schema ---------------------------------------------------------------------------------
//
// Every group and dataset of a results file, in the order of creation: its path, stored type,
// shape and description, and either the value it is filled with (the datasets the nodes write as
// they finish) or its static contents (written once, when the file is created). README's
// "results file" table documents this list; a test checks that it names every dataset here.

ResultsSchema::Dataset static_column(std::string path, std::string description,
                                     ResultsSchema::Values values) {
  ResultsSchema::Dataset d;
  d.path = std::move(path);
  d.description = std::move(description);
  d.contents = std::move(values);
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (!std::is_same_v<V, std::monostate>) d.dims = {static_cast<hsize_t>(v.size())};
      },
      d.contents);
  return d;
}

template <typename T>
ResultsSchema::Dataset filled_column(std::string path, std::string description, int64_t rows,
                                     T fill) {
  ResultsSchema::Dataset d;
  d.path = std::move(path);
  d.description = std::move(description);
  d.dims = {static_cast<hsize_t>(rows)};
  d.fill = fill;
  return d;
}

void add_plan(ResultsSchema& s, const Plan& plan) {
  s.groups.push_back({"/plan", "the static plan: one row per node, parents before children", {}});
  std::vector<int8_t> kind;
  std::vector<int64_t> parent;
  std::vector<int32_t> replicate;
  std::vector<uint64_t> seed;
  std::vector<double> est;
  std::vector<std::string> path, task, name;
  for (const PlanNode& n : plan.nodes) {
    kind.push_back(static_cast<int8_t>(n.kind == NodeKind::kRoot    ? 0
                                       : n.kind == NodeKind::kStage ? 1
                                                                    : 2));
    parent.push_back(n.parent);
    replicate.push_back(n.replicate);
    seed.push_back(n.seed);
    est.push_back(n.cost_s);
    path.push_back(order_string(n.path));
    task.push_back(n.stage);
    name.push_back(node_name(n));
  }
  s.datasets.push_back(static_column(
      "/plan/kind", "0 root (pretrained model), 1 intermediate stage, 2 target leaf", kind));
  s.datasets.push_back(static_column("/plan/parent", "parent node (-1: none)", parent));
  s.datasets.push_back(
      static_column("/plan/replicate", "replicate (seed index); -1: the shared root", replicate));
  s.datasets.push_back(static_column(
      "/plan/path", "stages from the root joined by '>' ('' = root / baseline)", path));
  s.datasets.push_back(
      static_column("/plan/task", "stage trained (stage nodes) or target task (leaves)", task));
  s.datasets.push_back(static_column("/plan/name", "node name as in logs", name));
  s.datasets.push_back(
      static_column("/plan/seed", "node seed from (sweep seed, replicate, path)", seed));
  s.datasets.push_back(
      static_column("/plan/estimated_seconds", "cost model estimate at plan time", est));
}

void add_nodes(ResultsSchema& s, int64_t N) {
  s.groups.push_back(
      {"/nodes", "per-node status and timing, written by the rank that ran the node", {}});
  s.datasets.push_back(
      filled_column("/nodes/status",
                    "0 pending, 1 done (written after everything else of the node)", N, int8_t{0}));
  s.datasets.push_back(filled_column(
      "/nodes/rank",
      "MPI rank that ran the node (-1: not run; the root runs on every rank at once and says 0)", N,
      int32_t{-1}));
  for (const char* t : {"start_time", "end_time"})
    s.datasets.push_back(filled_column(std::string("/nodes/") + t,
                                       std::string(t) + " (Unix seconds; NaN: not run)", N, kNaN));
  const std::pair<const char*, const char*> seconds[] = {
      {"train_seconds", "training"},
      {"eval_seconds", "evaluating"},
      {"wait_seconds", "waiting for the parent's weights"}};
  for (const auto& [t, what] : seconds)
    s.datasets.push_back(
        filled_column(std::string("/nodes/") + t, std::string("seconds ") + what, N, kNaN));
  s.datasets.push_back(
      filled_column("/nodes/tokens", "non-padding training tokens", N, int64_t{0}));
  s.datasets.push_back(filled_column("/nodes/steps", "optimizer steps", N, int64_t{0}));
}

// /curves and /dev: per-step training curves and dev evaluations, rows by node offsets.
void add_curves(ResultsSchema& s, const ResultsLayout& L) {
  s.groups.push_back(
      {"/curves", "training curves; node n's steps are rows offset[n] .. offset[n+1]", {}});
  s.datasets.push_back(static_column("/curves/offset", "first row of each node", L.curve_offset));
  s.datasets.push_back(filled_column("/curves/loss", "training loss per optimizer step",
                                     L.curve_offset.back(), kNaNf));
  s.datasets.push_back(filled_column("/curves/lr", "learning rate per optimizer step",
                                     L.curve_offset.back(), kNaNf));
  s.groups.push_back(
      {"/dev",
       "English dev evaluations during training; node n's are rows offset[n] .. offset[n+1]",
       {}});
  s.datasets.push_back(static_column("/dev/offset", "first row of each node", L.dev_offset));
  s.datasets.push_back(filled_column("/dev/step", "optimizer steps done at the evaluation",
                                     L.dev_offset.back(), int64_t{0}));
  s.datasets.push_back(filled_column("/dev/score", "dev score (percent; mean over mixture members)",
                                     L.dev_offset.back(), kNaN));
}

void add_metrics(ResultsSchema& s, const ResultsLayout& L, int64_t N) {
  s.groups.push_back({"/metrics",
                      "zero-shot target metrics per (target leaf, language, metric), official "
                      "XTREME keys, percent",
                      {}});
  std::vector<int64_t> node;
  std::vector<std::string> language, name, split;
  for (const auto& m : L.metrics) {
    node.push_back(m.node);
    language.push_back(m.language);
    name.push_back(m.name);
    split.push_back(m.split);
  }
  const auto M = static_cast<int64_t>(L.metrics.size());
  s.datasets.push_back(static_column("/metrics/node", "target leaf node", node));
  s.datasets.push_back(static_column("/metrics/language", "language code", language));
  s.datasets.push_back(static_column("/metrics/name", "metric (evaluate.py key)", name));
  s.datasets.push_back(static_column(
      "/metrics/split", "split scored: test, or dev where the test split has no labels", split));
  s.datasets.push_back(
      filled_column("/metrics/value", "metric value in percent (NaN: not done)", M, kNaN));
  s.datasets.push_back(filled_column("/metrics/target_score",
                                     "XTREME-R task score of a target leaf: mean over languages "
                                     "(QA: (EM + F1) / 2); NaN otherwise",
                                     N, kNaN));
}

void add_predictions(ResultsSchema& s, const ResultsLayout& L) {
  s.groups.push_back(
      {"/predictions",
       "test-split predictions per (target leaf, language) for `ordertune export --predictions`",
       {}});
  std::vector<int64_t> node, offset{0}, score_offset{0};
  std::vector<std::string> language;
  for (const auto& p : L.predictions) {
    node.push_back(p.node);
    language.push_back(p.language);
    offset.push_back(offset.back() + p.values);
    score_offset.push_back(score_offset.back() + p.scores);
  }
  const auto R = static_cast<int64_t>(L.predictions.size());
  const int64_t values = offset.back(), scores = score_offset.back();
  s.datasets.push_back(static_column("/predictions/node", "target leaf node", node));
  s.datasets.push_back(static_column("/predictions/language", "language code", language));
  s.datasets.push_back(
      static_column("/predictions/offset", "first value of each row", std::move(offset)));
  s.datasets.push_back(static_column("/predictions/score_offset", "first score of each row",
                                     std::move(score_offset)));
  s.datasets.push_back(
      filled_column("/predictions/threshold", "BUCC mining threshold chosen on dev", R, kNaN));
  s.datasets.push_back(filled_column("/predictions/values",
                                     "labels per example or word, answer byte spans, candidate "
                                     "rankings or BUCC pairs (evaluate.h); -1 padding",
                                     values, int64_t{-1}));
  s.datasets.push_back(
      filled_column("/predictions/scores", "BUCC margin scores of the mined pairs", scores, kNaNf));
}

void add_checkpoints(ResultsSchema& s, const ResultsLayout& L) {
  s.groups.push_back({"/checkpoints",
                      "encoders kept by output.checkpoints; row[n] indexes weights",
                      {{"config", L.model_config_json}}});
  std::vector<std::string> shapes;
  for (const auto& shape : L.param_shapes) shapes.push_back(shape_string(shape));
  s.datasets.push_back(static_column(
      "/checkpoints/row", "row of the node's encoder in weights (-1: not kept)", L.checkpoint_row));
  s.datasets.push_back(static_column(
      "/checkpoints/names", "parameter names (Hugging Face XLMRobertaModel keys)", L.param_names));
  s.datasets.push_back(static_column("/checkpoints/offsets",
                                     "flat offset of each parameter in a row", L.param_offsets));
  s.datasets.push_back(
      static_column("/checkpoints/shapes", "parameter shapes, comma-separated", shapes));
  const bool bf16 = L.checkpoint_dtype == WeightDtype::kBFloat16;
  ResultsSchema::Dataset w;
  w.path = "/checkpoints/weights";
  w.description =
      bf16 ? "encoder parameters, bfloat16 bit patterns" : "encoder parameters, float32";
  w.type = bf16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_FLOAT;
  w.dims = {static_cast<hsize_t>(L.checkpoints), static_cast<hsize_t>(L.param_offsets.back())};
  w.attributes = {{"dtype", bf16 ? "bfloat16" : "float32"}};
  s.datasets.push_back(std::move(w));
}

// The stored type of a dataset: given, or that of its contents or fill.
h5::Handle stored_type(const ResultsSchema::Dataset& d) {
  if (d.type >= 0) return h5::copy_type(d.type);
  if (const auto* strings = std::get_if<std::vector<std::string>>(&d.contents))
    return h5::string_type(h5::string_width(*strings));
  hid_t native = -1;
  auto from = [&](const auto& v) {
    using V = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<V, std::monostate>) {
    } else if constexpr (std::is_arithmetic_v<V>) {
      native = h5::native_type<V>();
    } else if constexpr (!std::is_same_v<typename V::value_type, std::string>) {
      native = h5::native_type<typename V::value_type>();
    }
  };
  std::visit(from, d.contents);
  std::visit(from, d.fill);
  OT_CHECK(native >= 0, "results schema: {} has no type", d.path);
  return h5::copy_type(native);
}

// Every group and dataset of a new results file (collective: every rank in the same order),
// then its static contents, written by rank 0 once every dataset exists.
void create_from_schema(const h5::File& f, const ResultsSchema& schema, int rank) {
  const h5::Group root = f.root();
  for (const auto& [name, value] : schema.attributes) root.set_attr(name, value);
  for (const auto& g : schema.groups) {
    const h5::Group group = root.create_group(g.path.substr(1), g.description);
    for (const auto& [name, value] : g.attributes) group.set_attr(name, value);
  }
  std::vector<h5::Dataset> created;
  for (const auto& d : schema.datasets) {
    const h5::Handle type = stored_type(d);
    const void* fill = nullptr;
    std::visit(
        [&](const auto& v) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) fill = &v;
        },
        d.fill);
    created.push_back(
        root.create_dataset(d.path.substr(1), type.id(), d.dims, d.description, fill));
    for (const auto& [name, value] : d.attributes) created.back().set_attr(name, value);
  }
  if (rank != 0) return;
  for (size_t i = 0; i < schema.datasets.size(); ++i)
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::vector<std::string>>)
            created[i].write_strings(v);
          else if constexpr (!std::is_same_v<V, std::monostate>)
            created[i].write(v);
        },
        schema.datasets[i].contents);
}

// The bytes of the schema's datasets: what the file needs on disk (HDF5 allocates every dataset
// when the file is created), less its metadata.
uint64_t schema_bytes(const ResultsSchema& schema) {
  uint64_t total = 0;
  for (const auto& d : schema.datasets) {
    uint64_t n = 1;
    for (hsize_t dim : d.dims) n *= dim;
    total += n * h5::type_size(stored_type(d).id());
  }
  return total;
}

// "" when a results file of `bytes` fits at `path` (free space, and the process's file-size
// limit), else the one line that says what is missing.
std::string room_for(const std::filesystem::path& path, uint64_t bytes) {
  const auto mib = [](double b) { return b / (1 << 20); };
  std::error_code ec;
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const std::filesystem::space_info space = std::filesystem::space(dir, ec);
  if (!ec && space.available < bytes)
    return fmt::format(
        "{}: cannot create the results file: it needs about {:.1f} MiB, the disk has {:.1f} MiB "
        "free",
        path.string(), mib(static_cast<double>(bytes)), mib(static_cast<double>(space.available)));
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < bytes)
    return fmt::format(
        "{}: cannot create the results file: it needs about {:.1f} MiB, more than this process's "
        "file-size limit of {:.1f} MiB (ulimit -f)",
        path.string(), mib(static_cast<double>(bytes)), mib(static_cast<double>(limit.rlim_cur)));
  return "";
}

void broadcast_string(std::string* text, MPI_Comm comm) {
  int length = static_cast<int>(text->size());
  OT_MPI_CHECK(MPI_Bcast(&length, 1, MPI_INT, 0, comm));
  text->resize(static_cast<size_t>(length));
  if (length > 0) OT_MPI_CHECK(MPI_Bcast(text->data(), length, MPI_CHAR, 0, comm));
}

}  // namespace

ResultsSchema results_schema(const SweepConfig& config, const Plan& plan,
                             const ResultsLayout& layout) {
  ResultsSchema s;
  s.attributes = {
      {"description",
       "ordertune sweep results: plan, per-node status and timing, curves, dev and target "
       "metrics, predictions, checkpoints (see README: results file)"},
      {"created_by", "ordertune"},
      {"sweep_name", config.sweep.name},
      {"config_hash", config.hash},
      {"layout_hash", layout.hash()},
      {"format_version", std::to_string(kResultsFormatVersion)}};
  s.datasets.push_back(static_column("/config_text", "the sweep config file's bytes (UTF-8 TOML)",
                                     std::vector<uint8_t>(config.text.begin(), config.text.end())));
  const auto N = static_cast<int64_t>(plan.nodes.size());
  add_plan(s, plan);
  add_nodes(s, N);
  add_curves(s, layout);
  add_metrics(s, layout, N);
  add_predictions(s, layout);
  add_checkpoints(s, layout);
  return s;
}

// ---- the file -----------------------------------------------------------------------------------

struct ResultsFile::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  h5::File file;
  int lock_fd = -1;
  std::filesystem::path path;
  std::map<std::string, h5::Dataset> datasets;  // opened once

  const h5::Dataset& d(const std::string& name) {
    auto it = datasets.find(name);
    if (it == datasets.end()) it = datasets.emplace(name, file.root().open_dataset(name)).first;
    return it->second;
  }
};

namespace {

template <typename T>
std::vector<T> column(const h5::File& f, const std::string& path) {
  return f.root().open_dataset(path).read_all<T>();
}

std::vector<std::string> string_column(const h5::File& f, const std::string& path) {
  return f.root().open_dataset(path).read_strings();
}

}  // namespace

std::unique_ptr<ResultsFile> ResultsFile::open_or_create(const std::filesystem::path& path,
                                                         MPI_Comm comm, const SweepConfig& config,
                                                         const Plan& plan,
                                                         const ResultsLayout& layout) {
  std::unique_ptr<ResultsFile> r(new ResultsFile());
  r->impl_ = std::make_unique<Impl>();
  Impl& I = *r->impl_;
  I.comm = comm;
  I.path = path;
  OT_MPI_CHECK(MPI_Comm_rank(comm, &I.rank));
  r->layout_ = layout;

  // A directory or a device at the path is refused before a lock file is made beside it (every
  // rank alike: the same file system answers the same).
  const std::string other = describe_non_regular(path);
  if (!other.empty() && other != "no such file")
    throw ResultsError(
        fmt::format("{}: expected an ordertune results file, found {}", path.string(), other));

  // One writer: rank 0 holds LOCK for the sweep's lifetime (released by the kernel on exit), the
  // file's real path (symlinks and ".." resolved) + ".lock", so that every path to the file takes
  // the same lock. (Hard links and bind mounts name it by another real path: not covered.)
  int lock_state[2] = {0, 0};  // {0 held, 1 cannot create, 2 held by another; errno}
  std::string lock;
  if (I.rank == 0) {
    if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
    lock = std::filesystem::weakly_canonical(path).string() + ".lock";
    I.lock_fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (I.lock_fd < 0)
      lock_state[0] = 1, lock_state[1] = errno;
    else if (::flock(I.lock_fd, LOCK_EX | LOCK_NB) != 0)
      lock_state[0] = 2, lock_state[1] = errno;
  }
  OT_MPI_CHECK(MPI_Bcast(lock_state, 2, MPI_INT, 0, comm));
  if (lock_state[0] != 0) {
    broadcast_string(&lock, comm);
    if (lock_state[0] == 1)
      throw ConfigError(fmt::format("{}: cannot create the lock file {}: {}", path.string(), lock,
                                    std::strerror(lock_state[1])));
    throw ConfigError(path.string() + ": another sweep is writing this results file (its lock " +
                      lock + " is held); wait for it or use another --results");
  }

  int exists = I.rank == 0 ? std::filesystem::exists(path) : 0;
  OT_MPI_CHECK(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  if (exists) {
    // Rank 0 looks (one serial open, not one per rank), and every rank refuses alike: a refusal
    // must not leave one rank in a collective.
    std::string problem;
    if (I.rank == 0) problem = results_file_problem(path);
    broadcast_string(&problem, comm);
    if (!problem.empty()) throw ResultsError(problem);
    I.file = h5::File::open_parallel(path, comm);
    const h5::Group root = I.file.root();
    if (root.attr_string("config_hash") != config.hash) {
      const std::vector<uint8_t> bytes = column<uint8_t>(I.file, "/config_text");
      const std::string stored(bytes.begin(), bytes.end());
      std::vector<std::string> diff = config_differences(stored, config.text);
      if (!diff.empty()) {
        const size_t all = diff.size();
        if (diff.size() > 5) diff.resize(5);
        throw ConfigError(fmt::format(
            "{}: made by a different config ({} {}{} from {}); use another --results or "
            "output.results",
            path.string(), all == 1 ? "setting" : "settings", fmt::join(diff, ", "),
            all > diff.size() ? fmt::format(" and {} more differ", all - diff.size())
                              : (all == 1 ? " differs" : " differ"),
            config.path.string()));
      }
    }
    if (root.attr_string("layout_hash") != layout.hash())
      throw ConfigError(path.string() +
                        ": its layout differs from what this config and data cache "
                        "give (was the cache re-prepared?); use another --results");
    const std::vector<int8_t> status = column<int8_t>(I.file, "/nodes/status");
    r->done_.assign(status.begin(), status.end());
    r->resumed_ = true;
    return r;
  }
  // Create under a temporary name, complete the layout, then rename. First the room for it: on a
  // full disk MPI-IO and HDF5 print their own lines and leave a file HDF5 cannot close.
  const ResultsSchema schema = results_schema(config, plan, layout);
  std::string no_room;
  if (I.rank == 0) {
    const uint64_t data = schema_bytes(schema);  // HDF5's metadata adds ~3% on the demo
    no_room = room_for(path, data + data / 32 + (uint64_t{128} << 10));
  }
  broadcast_string(&no_room, comm);
  if (!no_room.empty()) throw ResultsError(no_room);
  std::string tmp = path.string() + ".creating";
  try {
    const h5::File f = h5::File::create_parallel(tmp, comm);
    create_from_schema(f, schema, I.rank);
    f.flush();
  } catch (const Error&) {
    std::error_code ec;
    if (I.rank == 0) std::filesystem::remove(tmp, ec);  // never a half file under any name
    throw;
  }
  OT_MPI_CHECK(MPI_Barrier(comm));
  if (I.rank == 0) std::filesystem::rename(tmp, path);
  OT_MPI_CHECK(MPI_Barrier(comm));
  I.file = h5::File::open_parallel(path, comm);
  r->done_.assign(plan.nodes.size(), 0);
  return r;
}

ResultsFile::~ResultsFile() {
  if (!impl_) return;
  impl_->datasets.clear();
  impl_->file.close();  // collective
  if (impl_->lock_fd >= 0) ::close(impl_->lock_fd);
}

void ResultsFile::mark_started(int64_t node, int rank, double start_time) {
  const auto n = static_cast<hsize_t>(node);
  const int32_t r = rank;
  impl_->d("/nodes/rank").write(H5T_NATIVE_INT32, &r, n, 1);
  impl_->d("/nodes/start_time").write(H5T_NATIVE_DOUBLE, &start_time, n, 1);
}

void ResultsFile::write_node(int64_t node, const NodeRecord& rec) {
  Impl& I = *impl_;
  const ResultsLayout& L = layout_;
  const auto n = static_cast<hsize_t>(node);
  // Curves and dev evaluations.
  const StageResult& t = rec.target ? rec.target->training : rec.training;
  const int64_t slots = L.curve_offset[node + 1] - L.curve_offset[node];
  const auto steps =
      static_cast<hsize_t>(std::min<int64_t>(slots, static_cast<int64_t>(t.losses.size())));
  I.d("/curves/loss").write(H5T_NATIVE_FLOAT, t.losses.data(), L.curve_offset[node], steps);
  I.d("/curves/lr").write(H5T_NATIVE_FLOAT, t.learning_rates.data(), L.curve_offset[node], steps);
  std::vector<int64_t> dev_step;
  std::vector<double> dev_score;
  for (size_t i = 0; i < t.evals.size();) {
    size_t j = i;
    double sum = 0;
    while (j < t.evals.size() && t.evals[j].step == t.evals[i].step) sum += t.evals[j++].score;
    dev_step.push_back(t.evals[i].step);
    dev_score.push_back(sum / static_cast<double>(j - i));
    i = j;
  }
  const auto dev_slots = static_cast<size_t>(L.dev_offset[node + 1] - L.dev_offset[node]);
  dev_step.resize(std::min(dev_step.size(), dev_slots));
  dev_score.resize(dev_step.size());
  I.d("/dev/step").write(H5T_NATIVE_INT64, dev_step.data(), L.dev_offset[node], dev_step.size());
  I.d("/dev/score")
      .write(H5T_NATIVE_DOUBLE, dev_score.data(), L.dev_offset[node], dev_score.size());

  if (rec.target) {
    const TargetResult& tr = *rec.target;
    std::map<std::string, const LanguageResult*> by_lang;
    for (const LanguageResult& l : tr.languages) by_lang[l.language] = &l;
    for (int64_t row = L.metric_offset[node]; row < L.metric_offset[node + 1]; ++row) {
      const auto& m = L.metrics[static_cast<size_t>(row)];
      auto it = by_lang.find(m.language);
      if (it == by_lang.end() || !has_metric(it->second->metrics, m.name)) continue;
      const double v = metric_value(it->second->metrics, m.name);
      I.d("/metrics/value").write(H5T_NATIVE_DOUBLE, &v, static_cast<hsize_t>(row), 1);
    }
    if (!tr.averaged.empty())
      I.d("/metrics/target_score").write(H5T_NATIVE_DOUBLE, &tr.score, n, 1);
    int64_t value_at = 0, score_at = 0;
    for (int64_t row = 0; row < L.prediction_offset[node]; ++row) {
      value_at += L.predictions[static_cast<size_t>(row)].values;
      score_at += L.predictions[static_cast<size_t>(row)].scores;
    }
    for (int64_t row = L.prediction_offset[node]; row < L.prediction_offset[node + 1]; ++row) {
      const auto& pr = L.predictions[static_cast<size_t>(row)];
      auto it = by_lang.find(pr.language);
      if (it != by_lang.end() && it->second->has_test) {
        const Predictions& p = it->second->predictions;
        std::vector<int64_t> values;
        if (p.type == TaskType::kExtractiveQA)
          values = p.spans;
        else if (p.type == TaskType::kRetrieval)
          values = p.ranked;
        else
          values.assign(p.labels.begin(), p.labels.end());
        values.resize(static_cast<size_t>(pr.values), -1);
        std::vector<float> scores = p.scores;
        scores.resize(static_cast<size_t>(pr.scores), std::numeric_limits<float>::quiet_NaN());
        I.d("/predictions/values").write(H5T_NATIVE_INT64, values.data(), value_at, values.size());
        I.d("/predictions/scores").write(H5T_NATIVE_FLOAT, scores.data(), score_at, scores.size());
        I.d("/predictions/threshold")
            .write(H5T_NATIVE_DOUBLE, &p.threshold, static_cast<hsize_t>(row), 1);
      }
      value_at += pr.values;
      score_at += pr.scores;
    }
  }
  const int32_t rank = rec.rank;
  I.d("/nodes/rank").write(H5T_NATIVE_INT32, &rank, n, 1);
  I.d("/nodes/start_time").write(H5T_NATIVE_DOUBLE, &rec.start_time, n, 1);
  I.d("/nodes/end_time").write(H5T_NATIVE_DOUBLE, &rec.end_time, n, 1);
  I.d("/nodes/train_seconds").write(H5T_NATIVE_DOUBLE, &rec.train_seconds, n, 1);
  I.d("/nodes/eval_seconds").write(H5T_NATIVE_DOUBLE, &rec.eval_seconds, n, 1);
  I.d("/nodes/wait_seconds").write(H5T_NATIVE_DOUBLE, &rec.wait_seconds, n, 1);
  I.d("/nodes/tokens").write(H5T_NATIVE_INT64, &t.tokens, n, 1);
  I.d("/nodes/steps").write(H5T_NATIVE_INT64, &t.steps, n, 1);
  // Everything of the node is in the file (each write above returned after MPI-IO handed it to
  // the file system, in order), so a process killed from here on leaves complete data; only now
  // is the node marked done. (MPI_File_sync would be stronger, against power loss, but it is
  // collective, and ranks finish nodes at different times.)
  const int8_t done = 1;
  I.d("/nodes/status").write(H5T_NATIVE_INT8, &done, n, 1);
}

void ResultsFile::write_checkpoint(int64_t node, XlmrEncoderImpl& encoder) {
  const int64_t row = layout_.checkpoint_row[static_cast<size_t>(node)];
  if (row < 0) return;
  transfer_encoder(impl_->d("/checkpoints/weights"), row,
                   layout_.checkpoint_dtype == WeightDtype::kBFloat16, layout_.param_names,
                   layout_.param_offsets, encoder, /*write=*/true);
}

void ResultsFile::read_checkpoint(int64_t node, XlmrEncoderImpl& encoder) const {
  const int64_t row = layout_.checkpoint_row[static_cast<size_t>(node)];
  OT_CHECK(row >= 0, "node {} has no checkpoint", node);
  transfer_encoder(impl_->d("/checkpoints/weights"), row,
                   layout_.checkpoint_dtype == WeightDtype::kBFloat16, layout_.param_names,
                   layout_.param_offsets, encoder, /*write=*/false);
  clear_autocast_cache();
}

// ---- reading ------------------------------------------------------------------------------------

ResultsSummary read_results_summary(const std::filesystem::path& path) {
  expect_results_file(path);
  const h5::File f = h5::File::open(path, false);
  ResultsSummary s;
  s.sweep_name = f.root().attr_string("sweep_name");
  const auto status = column<int8_t>(f, "/nodes/status");
  const auto est = column<double>(f, "/plan/estimated_seconds");
  const auto start = column<double>(f, "/nodes/start_time");
  const auto end = column<double>(f, "/nodes/end_time");
  const auto names = string_column(f, "/plan/name");
  const auto ranks = column<int32_t>(f, "/nodes/rank");
  s.nodes = static_cast<int64_t>(status.size());
  s.first_start = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < status.size(); ++i) {
    s.estimated_total_s += est[i];
    if (status[i] != 1 && std::isfinite(start[i])) {
      s.unfinished_started.push_back(static_cast<int64_t>(i));
      s.unfinished_names.push_back(names[i]);
      s.unfinished_ranks.push_back(ranks[i]);
    }
    if (status[i] == 1) {
      ++s.done;
      s.estimated_done_s += est[i];
      if (std::isfinite(start[i])) s.first_start = std::min(s.first_start, start[i]);
      if (std::isfinite(end[i])) s.last_end = std::max(s.last_end, end[i]);
    }
  }
  if (!std::isfinite(s.first_start)) s.first_start = 0;
  const auto task = string_column(f, "/plan/task");
  const auto mnode = column<int64_t>(f, "/metrics/node");
  const auto msplit = string_column(f, "/metrics/split");
  std::map<std::string, std::set<std::string>> splits;
  for (size_t i = 0; i < mnode.size(); ++i)
    splits[task[static_cast<size_t>(mnode[i])]].insert(msplit[i]);
  for (const auto& [target, set] : splits)
    s.target_splits[target] = fmt::format("{}", fmt::join(set, "+"));
  return s;
}

void write_results_csv(const std::filesystem::path& path, std::ostream& out) {
  expect_results_file(path);
  const h5::File f = h5::File::open(path, false);
  const auto status = column<int8_t>(f, "/nodes/status");
  const auto rep = column<int32_t>(f, "/plan/replicate");
  const auto paths = string_column(f, "/plan/path");
  const auto task = string_column(f, "/plan/task");
  const auto mnode = column<int64_t>(f, "/metrics/node");
  const auto mlang = string_column(f, "/metrics/language");
  const auto msplit = string_column(f, "/metrics/split");
  const auto mname = string_column(f, "/metrics/name");
  const auto value = column<double>(f, "/metrics/value");
  out << "seed,order,target,language,split,metric,value\n";
  for (size_t i = 0; i < mnode.size(); ++i) {
    const auto n = static_cast<size_t>(mnode[i]);
    if (status[n] != 1 || !std::isfinite(value[i])) continue;
    out << rep[n] << ',' << paths[n] << ',' << task[n] << ',' << mlang[i] << ',' << msplit[i] << ','
        << mname[i] << ',' << fmt::format("{:.17g}", value[i]) << '\n';
  }
}

// ---- ResultsReader --------------------------------------------------------------------------

struct ResultsReader::Impl {
  h5::File file;
};

ResultsReader::ResultsReader(const std::filesystem::path& path) : path_(path) {
  expect_results_file(path);
  impl_ = std::make_unique<Impl>();
  try {
    impl_->file = h5::File::open(path, false);
    const h5::File& f = impl_->file;
    if (f.root().attr_string("created_by") != "ordertune") throw DataError("");
    kind = column<int8_t>(f, "/plan/kind");
    status = column<int8_t>(f, "/nodes/status");
    replicate = column<int32_t>(f, "/plan/replicate");
    parent = column<int64_t>(f, "/plan/parent");
    order = string_column(f, "/plan/path");
    task = string_column(f, "/plan/task");
  } catch (const Error&) {
    throw DataError(path.string() +
                    ": expected an ordertune results file, found another HDF5 file or none");
  }
}

ResultsReader::~ResultsReader() = default;

std::string ResultsReader::config_text() const {
  const auto bytes = column<uint8_t>(impl_->file, "/config_text");
  return std::string(bytes.begin(), bytes.end());
}

int64_t ResultsReader::find_order_node(int r, const std::string& o) const {
  for (size_t n = 0; n < kind.size(); ++n) {
    if (o.empty() && kind[n] == 0) return static_cast<int64_t>(n);
    if (kind[n] == 1 && replicate[n] == r && order[n] == o) return static_cast<int64_t>(n);
  }
  return -1;
}

std::vector<ResultsReader::PredictionRow> ResultsReader::prediction_rows() const {
  const h5::File& f = impl_->file;
  const auto node = column<int64_t>(f, "/predictions/node");
  const auto lang = string_column(f, "/predictions/language");
  const auto off = column<int64_t>(f, "/predictions/offset");
  const auto soff = column<int64_t>(f, "/predictions/score_offset");
  const auto thr = column<double>(f, "/predictions/threshold");
  std::vector<PredictionRow> out;
  for (size_t i = 0; i < node.size(); ++i)
    out.push_back(
        {node[i], lang[i], off[i], off[i + 1] - off[i], soff[i], soff[i + 1] - soff[i], thr[i]});
  return out;
}

std::vector<int64_t> ResultsReader::prediction_values(const PredictionRow& row) const {
  std::vector<int64_t> v(static_cast<size_t>(row.size));
  impl_->file.root()
      .open_dataset("/predictions/values")
      .read(H5T_NATIVE_INT64, v.data(), static_cast<hsize_t>(row.offset), v.size());
  return v;
}

std::vector<float> ResultsReader::prediction_scores(const PredictionRow& row) const {
  std::vector<float> v(static_cast<size_t>(row.scores));
  impl_->file.root()
      .open_dataset("/predictions/scores")
      .read(H5T_NATIVE_FLOAT, v.data(), static_cast<hsize_t>(row.score_offset), v.size());
  return v;
}

bool ResultsReader::has_checkpoint(int64_t node) const {
  const auto rows = column<int64_t>(impl_->file, "/checkpoints/row");
  return rows[static_cast<size_t>(node)] >= 0;
}

XlmrEncoder ResultsReader::read_encoder(int64_t node) const {
  const h5::File& f = impl_->file;
  const auto rows = column<int64_t>(f, "/checkpoints/row");
  const int64_t row = rows[static_cast<size_t>(node)];
  if (row < 0)
    throw CheckpointError(path_.string() + ": node " + order[static_cast<size_t>(node)] +
                          " has no kept encoder (output.checkpoints)");
  const std::string config_json = f.root().open_group("checkpoints").attr_string("config");
  const std::filesystem::path tmp = std::filesystem::temp_directory_path() /
                                    ("ordertune-config-" + std::to_string(::getpid()) + ".json");
  { std::ofstream(tmp) << config_json; }
  const XlmrConfig config = read_hf_config(tmp.string());
  std::filesystem::remove(tmp);
  torch::manual_seed(0);
  XlmrEncoder e(config, EncoderOptions{true, false});
  const auto names = string_column(f, "/checkpoints/names");
  const auto offsets = column<int64_t>(f, "/checkpoints/offsets");
  const h5::Dataset w = f.root().open_dataset("/checkpoints/weights");
  const bool bf16 = w.element_size() == 2;
  transfer_encoder(w, row, bf16, names, offsets, *e, /*write=*/false);
  return e;
}

}  // namespace ordertune

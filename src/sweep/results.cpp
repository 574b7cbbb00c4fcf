#include "ordertune/sweep/results.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <ATen/Parallel.h>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/base/log.h"
#include "ordertune/data/h5.h"
#include "ordertune/dist/mpi_check.h"

namespace ordertune {

using h5::h5_check;
using h5::Handle;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- raw HDF5 helpers ---------------------------------------------------------------------------

Handle string_type(size_t length) {
  Handle t(h5_check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  h5_check(H5Tset_size(t.id(), std::max<size_t>(1, length)), "H5Tset_size");
  h5_check(H5Tset_strpad(t.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
  h5_check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

size_t longest(const std::vector<std::string>& v) {
  size_t n = 1;
  for (const auto& s : v) n = std::max(n, s.size());
  return n;
}

// A contiguous dataset, allocated at creation; `fill` (if given, a pointer of `type`) is written
// into the allocated space, otherwise the space is left unwritten (never read before written).
Handle create_dataset(hid_t parent, const std::string& name, hid_t type,
                      const std::vector<hsize_t>& dims, const std::string& description,
                      const void* fill = nullptr) {
  Handle space(h5_check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                        "H5Screate_simple " + name));
  Handle dcpl(h5_check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  h5_check(H5Pset_layout(dcpl.id(), H5D_CONTIGUOUS), "H5Pset_layout");
  h5_check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  if (fill) {
    h5_check(H5Pset_fill_value(dcpl.id(), type, fill), "H5Pset_fill_value");
    h5_check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_ALLOC), "H5Pset_fill_time");
  } else {
    h5_check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  }
  Handle d(h5_check(
      H5Dcreate2(parent, name.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
      "H5Dcreate2 " + name));
  h5::set_string_attr(d.id(), "description", description);
  return d;
}

Handle create_group(hid_t parent, const std::string& name, const std::string& description) {
  Handle g(h5_check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "H5Gcreate2 " + name));
  h5::set_string_attr(g.id(), "description", description);
  return g;
}

Handle open_dataset(hid_t file, const std::string& path) {
  return Handle(h5_check(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "H5Dopen2 " + path));
}

// HDF5's MPI-IO driver (1.10, as in Debian 12) fails any single read or write of 2 GiB or more
// ("can't convert from size to size_i": MPI-IO counts are int), and one fp32 encoder of XLM-R
// large is 2.24 GB. Every transfer is therefore cut into pieces of at most this many bytes.
constexpr hsize_t kMaxTransferBytes = hsize_t{1} << 30;

// Reads or writes elements [offset, offset + count) of a 1-D dataset, or (row >= 0) columns
// [offset, offset + count) of row `row` of a 2-D dataset, in pieces of at most kMaxTransferBytes.
void transfer_slab(hid_t dset, hid_t mem_type, void* data, hsize_t offset, hsize_t count,
                   int64_t row, bool write) {
  if (count == 0) return;
  Handle file_space(h5_check(H5Dget_space(dset), "H5Dget_space"));
  const hsize_t element = std::max<hsize_t>(1, H5Tget_size(mem_type));
  const hsize_t per_piece = std::max<hsize_t>(1, kMaxTransferBytes / element);
  for (hsize_t done = 0; done < count;) {
    hsize_t n = std::min(per_piece, count - done);
    hsize_t start[2] = {offset + done, 0}, cnt[2] = {n, 0};
    if (row >= 0) {
      start[0] = static_cast<hsize_t>(row);
      start[1] = offset + done;
      cnt[0] = 1;
      cnt[1] = n;
    }
    h5_check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start, nullptr, cnt, nullptr),
             "select");
    Handle mem_space(h5_check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
    char* piece = static_cast<char*>(data) + done * element;
    if (write)
      h5_check(H5Dwrite(dset, mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, piece),
               "H5Dwrite");
    else
      h5_check(H5Dread(dset, mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, piece),
               "H5Dread");
    done += n;
  }
}

void write_slab(hid_t dset, hid_t mem_type, const void* data, hsize_t offset, hsize_t count) {
  transfer_slab(dset, mem_type, const_cast<void*>(data), offset, count, /*row=*/-1, /*write=*/true);
}

void read_slab(hid_t dset, hid_t mem_type, void* data, hsize_t offset, hsize_t count) {
  transfer_slab(dset, mem_type, data, offset, count, /*row=*/-1, /*write=*/false);
}

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

// An encoder's parameters to or from row `row` of /checkpoints/weights, one parameter at a time
// at its flat offset: float32 parameters on the CPU go straight from or into their own memory
// (no 2 GB staging copy of the whole encoder), or through a 32 MiB conversion buffer for bf16
// files; other devices go through a per-parameter buffer.
void transfer_encoder(hid_t weights, int64_t row, bool bf16, const std::vector<std::string>& names,
                      const std::vector<int64_t>& offsets, XlmrEncoderImpl& encoder, bool write) {
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
      transfer_slab(weights, type, p.data_ptr(), at, static_cast<hsize_t>(n), row, write);
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
        transfer_slab(weights, type, buf, at + static_cast<hsize_t>(from),
                      static_cast<hsize_t>(count), row, write);
        if (!write)
          at::parallel_for(0, count, 1 << 16, [&](int64_t b0, int64_t b1) {
            bf16_to_floats(buf + b0, data + from + b0, b1 - b0);
          });
      }
    } else if (write) {
      torch::Tensor staged =
          p.detach().to(torch::kCPU, bf16 ? torch::kBFloat16 : torch::kFloat32).contiguous();
      transfer_slab(weights, type, staged.data_ptr(), at, static_cast<hsize_t>(n), row, true);
    } else {
      torch::Tensor staged = torch::empty({n}, bf16 ? torch::kBFloat16 : torch::kFloat32);
      transfer_slab(weights, type, staged.data_ptr(), at, static_cast<hsize_t>(n), row, false);
      p.copy_(staged.to(torch::kFloat32).view(p.sizes()).to(p.device(), p.scalar_type()));
    }
  }
}

template <typename T>
void write_all(hid_t dset, const std::vector<T>& v) {
  write_slab(dset, h5::native_type<T>(), v.data(), 0, v.size());
}

void write_strings(hid_t dset, const std::vector<std::string>& v) {
  if (v.empty()) return;
  Handle type(h5_check(H5Dget_type(dset), "H5Dget_type"));
  const size_t width = H5Tget_size(type.id());
  std::vector<char> buf(width * v.size(), '\0');
  for (size_t i = 0; i < v.size(); ++i)
    std::copy(v[i].begin(), v[i].end(), buf.begin() + i * width);
  write_slab(dset, type.id(), buf.data(), 0, v.size());
}

template <typename T>
std::vector<T> read_all(hid_t file, const std::string& path) {
  Handle d = open_dataset(file, path);
  Handle space(h5_check(H5Dget_space(d.id()), "H5Dget_space"));
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0)
    h5_check(H5Dread(d.id(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
             "H5Dread " + path);
  return out;
}

std::vector<std::string> read_strings(hid_t file, const std::string& path) {
  Handle d = open_dataset(file, path);
  Handle type(h5_check(H5Dget_type(d.id()), "H5Dget_type"));
  Handle space(h5_check(H5Dget_space(d.id()), "H5Dget_space"));
  const size_t width = H5Tget_size(type.id());
  const auto n = static_cast<size_t>(H5Sget_simple_extent_npoints(space.id()));
  std::vector<char> buf(width * n);
  if (n > 0)
    h5_check(H5Dread(d.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()),
             "H5Dread " + path);
  std::vector<std::string> out(n);
  for (size_t i = 0; i < n; ++i) {
    const char* p = buf.data() + i * width;
    out[i] = std::string(p, strnlen(p, width));
  }
  return out;
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

std::string first_config_difference(const std::string& a, const std::string& b) {
  std::map<std::string, std::string> fa, fb;
  try {
    flatten(toml::parse(a), "", &fa);
    flatten(toml::parse(b), "", &fb);
  } catch (const toml::parse_error&) {
    return "(unparsable config)";
  }
  for (const auto& [k, v] : fa) {
    auto it = fb.find(k);
    if (it == fb.end() || it->second != v) return k;
  }
  for (const auto& [k, v] : fb)
    if (!fa.count(k)) return k;
  return "";
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

// ---- the file -----------------------------------------------------------------------------------

struct ResultsFile::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  Handle file;
  int lock_fd = -1;
  std::filesystem::path path;
  std::map<std::string, Handle> datasets;  // opened once

  hid_t d(const std::string& name) {
    auto it = datasets.find(name);
    if (it == datasets.end()) it = datasets.emplace(name, open_dataset(file.id(), name)).first;
    return it->second.id();
  }
};

namespace {

Handle open_parallel(const std::filesystem::path& path, MPI_Comm comm, bool create) {
  Handle fapl(h5_check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  h5_check(H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  if (create)
    return Handle(h5_check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()),
                           "creating results file " + path.string()));
  return Handle(h5_check(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.id()),
                         "opening results file " + path.string()));
}

// The datasets of a new results file as they are created (collectively, by every rank in the
// same order), and their static contents, written by rank 0 once every dataset exists
// (independent raw writes). Keeps every handle open until then.
class LayoutWriter {
 public:
  explicit LayoutWriter(int rank) : rank_(rank) {}
  hid_t dataset(hid_t parent, const std::string& name, hid_t type, std::vector<hsize_t> dims,
                const std::string& desc, const void* fill = nullptr) {
    return keep(create_dataset(parent, name, type, dims, desc, fill));
  }
  hid_t group(hid_t parent, const std::string& name, const std::string& desc) {
    return keep(create_group(parent, name, desc));
  }
  hid_t keep(Handle h) {
    handles_.push_back(std::move(h));
    return handles_.back().id();
  }
  // `write` runs on rank 0 in write_contents(), in the order given.
  void later(std::function<void()> write) { writes_.push_back(std::move(write)); }
  void write_contents() {
    if (rank_ == 0)
      for (const auto& w : writes_) w();
  }

 private:
  int rank_;
  std::vector<Handle> handles_;
  std::vector<std::function<void()>> writes_;
};

const float kNaNf = std::numeric_limits<float>::quiet_NaN();

void create_plan_group(hid_t f, const Plan& plan, LayoutWriter& w) {
  const hsize_t N = plan.nodes.size();
  const hid_t g = w.group(f, "plan", "the static plan: one row per node, parents before children");
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
  const hid_t kind_d = w.dataset(g, "kind", H5T_NATIVE_INT8, {N},
                                 "0 root (pretrained model), 1 intermediate stage, 2 target leaf");
  const hid_t parent_d = w.dataset(g, "parent", H5T_NATIVE_INT64, {N}, "parent node (-1: none)");
  const hid_t rep_d = w.dataset(g, "replicate", H5T_NATIVE_INT32, {N},
                                "replicate (seed index); -1: the shared root");
  const hid_t ps = w.keep(string_type(longest(path))), ts = w.keep(string_type(longest(task))),
              ns = w.keep(string_type(longest(name)));
  const hid_t path_d =
      w.dataset(g, "path", ps, {N}, "stages from the root joined by '>' ('' = root / baseline)");
  const hid_t task_d =
      w.dataset(g, "task", ts, {N}, "stage trained (stage nodes) or target task (leaves)");
  const hid_t name_d = w.dataset(g, "name", ns, {N}, "node name as in logs");
  const hid_t seed_d =
      w.dataset(g, "seed", H5T_NATIVE_UINT64, {N}, "node seed from (sweep seed, replicate, path)");
  const hid_t est_d =
      w.dataset(g, "estimated_seconds", H5T_NATIVE_DOUBLE, {N}, "cost model estimate at plan time");
  w.later([=, kind = std::move(kind), parent = std::move(parent), replicate = std::move(replicate),
           seed = std::move(seed), est = std::move(est), path = std::move(path),
           task = std::move(task), name = std::move(name)] {
    write_all(kind_d, kind);
    write_all(parent_d, parent);
    write_all(rep_d, replicate);
    write_all(seed_d, seed);
    write_all(est_d, est);
    write_strings(path_d, path);
    write_strings(task_d, task);
    write_strings(name_d, name);
  });
}

void create_nodes_group(hid_t f, hsize_t N, LayoutWriter& w) {
  const hid_t g =
      w.group(f, "nodes", "per-node status and timing, written by the rank that ran the node");
  const int8_t zero8 = 0;
  const int32_t minus1 = -1;
  const int64_t zero64 = 0;
  w.dataset(g, "status", H5T_NATIVE_INT8, {N},
            "0 pending, 1 done (written after everything else of the node)", &zero8);
  w.dataset(
      g, "rank", H5T_NATIVE_INT32, {N},
      "MPI rank that ran the node (-1: not run; the root runs on every rank at once and says 0)",
      &minus1);
  for (const char* t : {"start_time", "end_time"})
    w.dataset(g, t, H5T_NATIVE_DOUBLE, {N}, std::string(t) + " (Unix seconds; NaN: not run)",
              &kNaN);
  for (const char* t : {"train_seconds", "eval_seconds", "wait_seconds"})
    w.dataset(g, t, H5T_NATIVE_DOUBLE, {N},
              std::string("seconds ") + (t[0] == 't'   ? "training"
                                         : t[0] == 'e' ? "evaluating"
                                                       : "waiting for the parent's weights"),
              &kNaN);
  w.dataset(g, "tokens", H5T_NATIVE_INT64, {N}, "non-padding training tokens", &zero64);
  w.dataset(g, "steps", H5T_NATIVE_INT64, {N}, "optimizer steps", &zero64);
}

// /curves and /dev: per-step training curves and dev evaluations, rows by node offsets.
void create_curve_groups(hid_t f, const ResultsLayout& L, hsize_t N, LayoutWriter& w) {
  const int64_t zero64 = 0;
  const hid_t curves_g =
      w.group(f, "curves", "training curves; node n's steps are rows offset[n] .. offset[n+1]");
  const hid_t co =
      w.dataset(curves_g, "offset", H5T_NATIVE_INT64, {N + 1}, "first row of each node");
  w.dataset(curves_g, "loss", H5T_NATIVE_FLOAT, {static_cast<hsize_t>(L.curve_offset.back())},
            "training loss per optimizer step", &kNaNf);
  w.dataset(curves_g, "lr", H5T_NATIVE_FLOAT, {static_cast<hsize_t>(L.curve_offset.back())},
            "learning rate per optimizer step", &kNaNf);
  const hid_t dev_g = w.group(
      f, "dev",
      "English dev evaluations during training; node n's are rows offset[n] .. offset[n+1]");
  const hid_t dvo = w.dataset(dev_g, "offset", H5T_NATIVE_INT64, {N + 1}, "first row of each node");
  w.dataset(dev_g, "step", H5T_NATIVE_INT64, {static_cast<hsize_t>(L.dev_offset.back())},
            "optimizer steps done at the evaluation", &zero64);
  w.dataset(dev_g, "score", H5T_NATIVE_DOUBLE, {static_cast<hsize_t>(L.dev_offset.back())},
            "dev score (percent; mean over mixture members)", &kNaN);
  w.later([co, dvo, &L] {
    write_all(co, L.curve_offset);
    write_all(dvo, L.dev_offset);
  });
}

void create_metrics_group(hid_t f, const ResultsLayout& L, hsize_t N, LayoutWriter& w) {
  const hid_t g = w.group(f, "metrics",
                          "zero-shot target metrics per (target leaf, language, metric), official "
                          "XTREME keys, percent");
  const hsize_t M = L.metrics.size();
  std::vector<int64_t> mnode;
  std::vector<std::string> mlang, mname, msplit;
  for (const auto& m : L.metrics) {
    mnode.push_back(m.node);
    mlang.push_back(m.language);
    mname.push_back(m.name);
    msplit.push_back(m.split);
  }
  const hid_t ls = w.keep(string_type(longest(mlang))), mn = w.keep(string_type(longest(mname))),
              ss = w.keep(string_type(5));
  const hid_t mnode_d = w.dataset(g, "node", H5T_NATIVE_INT64, {M}, "target leaf node");
  const hid_t mlang_d = w.dataset(g, "language", ls, {M}, "language code");
  const hid_t mname_d = w.dataset(g, "name", mn, {M}, "metric (evaluate.py key)");
  const hid_t msplit_d = w.dataset(g, "split", ss, {M},
                                   "split scored: test, or dev where the test split has no labels");
  w.dataset(g, "value", H5T_NATIVE_DOUBLE, {M}, "metric value in percent (NaN: not done)", &kNaN);
  w.dataset(g, "target_score", H5T_NATIVE_DOUBLE, {N},
            "XTREME-R task score of a target leaf: mean over languages (QA: (EM + F1) / 2); NaN "
            "otherwise",
            &kNaN);
  w.later([=, mnode = std::move(mnode), mlang = std::move(mlang), mname = std::move(mname),
           msplit = std::move(msplit)] {
    write_all(mnode_d, mnode);
    write_strings(mlang_d, mlang);
    write_strings(mname_d, mname);
    write_strings(msplit_d, msplit);
  });
}

void create_predictions_group(hid_t f, const ResultsLayout& L, LayoutWriter& w) {
  const hid_t g = w.group(
      f, "predictions",
      "test-split predictions per (target leaf, language) for `ordertune export --predictions`");
  const hsize_t R = L.predictions.size();
  std::vector<int64_t> pnode, poff{0}, psoff{0};
  std::vector<std::string> plang;
  for (const auto& p : L.predictions) {
    pnode.push_back(p.node);
    plang.push_back(p.language);
    poff.push_back(poff.back() + p.values);
    psoff.push_back(psoff.back() + p.scores);
  }
  const hid_t pls = w.keep(string_type(longest(plang)));
  const hid_t pnode_d = w.dataset(g, "node", H5T_NATIVE_INT64, {R}, "target leaf node");
  const hid_t plang_d = w.dataset(g, "language", pls, {R}, "language code");
  const hid_t poff_d = w.dataset(g, "offset", H5T_NATIVE_INT64, {R + 1}, "first value of each row");
  const hid_t psoff_d =
      w.dataset(g, "score_offset", H5T_NATIVE_INT64, {R + 1}, "first score of each row");
  w.dataset(g, "threshold", H5T_NATIVE_DOUBLE, {R}, "BUCC mining threshold chosen on dev", &kNaN);
  const int64_t m1 = -1;
  w.dataset(g, "values", H5T_NATIVE_INT64, {static_cast<hsize_t>(poff.back())},
            "labels per example or word, answer byte spans, candidate rankings or BUCC pairs "
            "(evaluate.h); -1 padding",
            &m1);
  w.dataset(g, "scores", H5T_NATIVE_FLOAT, {static_cast<hsize_t>(psoff.back())},
            "BUCC margin scores of the mined pairs", &kNaNf);
  w.later([=, pnode = std::move(pnode), plang = std::move(plang), poff = std::move(poff),
           psoff = std::move(psoff)] {
    write_all(pnode_d, pnode);
    write_strings(plang_d, plang);
    write_all(poff_d, poff);
    write_all(psoff_d, psoff);
  });
}

void create_checkpoints_group(hid_t f, const ResultsLayout& L, hsize_t N, LayoutWriter& w) {
  const hid_t g =
      w.group(f, "checkpoints", "encoders kept by output.checkpoints; row[n] indexes weights");
  h5::set_string_attr(g, "config", L.model_config_json);
  const hid_t row_d = w.dataset(g, "row", H5T_NATIVE_INT64, {N},
                                "row of the node's encoder in weights (-1: not kept)");
  const hid_t pns = w.keep(string_type(longest(L.param_names)));
  std::vector<std::string> shapes;
  for (const auto& s : L.param_shapes) shapes.push_back(shape_string(s));
  const hid_t shs = w.keep(string_type(longest(shapes)));
  const hid_t pn_d = w.dataset(g, "names", pns, {L.param_names.size()},
                               "parameter names (Hugging Face XLMRobertaModel keys)");
  const hid_t po_d = w.dataset(g, "offsets", H5T_NATIVE_INT64, {L.param_offsets.size()},
                               "flat offset of each parameter in a row");
  const hid_t sh_d =
      w.dataset(g, "shapes", shs, {shapes.size()}, "parameter shapes, comma-separated");
  const bool bf16 = L.checkpoint_dtype == WeightDtype::kBFloat16;
  const hid_t w_d =
      w.dataset(g, "weights", bf16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_FLOAT,
                {static_cast<hsize_t>(L.checkpoints), static_cast<hsize_t>(L.param_offsets.back())},
                bf16 ? "encoder parameters, bfloat16 bit patterns" : "encoder parameters, float32");
  h5::set_string_attr(w_d, "dtype", bf16 ? "bfloat16" : "float32");
  w.later([=, &L, shapes = std::move(shapes)] {
    write_all(row_d, L.checkpoint_row);
    write_strings(pn_d, L.param_names);
    write_all(po_d, L.param_offsets);
    write_strings(sh_d, shapes);
  });
}

// Every group and dataset of a new results file (collective), then its static contents.
void create_layout(hid_t f, const SweepConfig& config, const Plan& plan, const ResultsLayout& L,
                   int rank) {
  const hsize_t N = plan.nodes.size();
  h5::set_string_attr(f, "description",
                      "ordertune sweep results: plan, per-node status and timing, curves, dev and "
                      "target metrics, predictions, checkpoints (see README: results file)");
  h5::set_string_attr(f, "created_by", "ordertune");
  h5::set_string_attr(f, "sweep_name", config.sweep.name);
  h5::set_string_attr(f, "config_hash", config.hash);
  h5::set_string_attr(f, "layout_hash", L.hash());
  h5::set_string_attr(f, "format_version", std::to_string(kResultsFormatVersion));
  LayoutWriter w(rank);
  const hid_t text = w.dataset(f, "config_text", H5T_NATIVE_UINT8, {config.text.size()},
                               "the sweep config file's bytes (UTF-8 TOML)");
  w.later([text, &config] {
    write_slab(text, H5T_NATIVE_UINT8, config.text.data(), 0, config.text.size());
  });
  create_plan_group(f, plan, w);
  create_nodes_group(f, N, w);
  create_curve_groups(f, L, N, w);
  create_metrics_group(f, L, N, w);
  create_predictions_group(f, L, w);
  create_checkpoints_group(f, L, N, w);
  w.write_contents();
}

std::string read_text_attr(hid_t f, const char* name) {
  return h5::get_string_attr(f, name);
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

  // One writer: rank 0 holds PATH.lock for the sweep's lifetime (released by the kernel on exit).
  int locked = 1;
  if (I.rank == 0) {
    if (!path.parent_path().empty()) std::filesystem::create_directories(path.parent_path());
    const std::string lock = path.string() + ".lock";
    I.lock_fd = ::open(lock.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    locked = I.lock_fd >= 0 && ::flock(I.lock_fd, LOCK_EX | LOCK_NB) == 0;
  }
  OT_MPI_CHECK(MPI_Bcast(&locked, 1, MPI_INT, 0, comm));
  if (!locked)
    throw ConfigError(path.string() + ": another sweep is writing this results file (its lock " +
                      path.string() + ".lock is held); wait for it or use another --results");

  int exists = I.rank == 0 ? std::filesystem::exists(path) : 0;
  OT_MPI_CHECK(MPI_Bcast(&exists, 1, MPI_INT, 0, comm));
  if (exists) {
    I.file = open_parallel(path, comm, false);
    const std::string stored_hash = read_text_attr(I.file.id(), "config_hash");
    if (stored_hash != config.hash) {
      const std::vector<uint8_t> bytes = read_all<uint8_t>(I.file.id(), "/config_text");
      const std::string stored(bytes.begin(), bytes.end());
      const std::string diff = first_config_difference(stored, config.text);
      if (!diff.empty())
        throw ConfigError(path.string() + ": made by a different config (setting '" + diff +
                          "' differs from " + config.path.string() +
                          "); use another --results or output.results");
    }
    if (read_text_attr(I.file.id(), "layout_hash") != layout.hash())
      throw ConfigError(path.string() +
                        ": its layout differs from what this config and data cache "
                        "give (was the cache re-prepared?); use another --results");
    const std::vector<int8_t> status = read_all<int8_t>(I.file.id(), "/nodes/status");
    r->done_.assign(status.begin(), status.end());
    r->resumed_ = true;
    return r;
  }
  // Create under a temporary name, complete the layout, then rename.
  std::string tmp = path.string() + ".creating";
  {
    Handle f = open_parallel(tmp, comm, true);
    create_layout(f.id(), config, plan, layout, I.rank);
    h5_check(H5Fflush(f.id(), H5F_SCOPE_GLOBAL), "H5Fflush");
  }
  OT_MPI_CHECK(MPI_Barrier(comm));
  if (I.rank == 0) std::filesystem::rename(tmp, path);
  OT_MPI_CHECK(MPI_Barrier(comm));
  I.file = open_parallel(path, comm, false);
  r->done_.assign(plan.nodes.size(), 0);
  return r;
}

ResultsFile::~ResultsFile() {
  if (!impl_) return;
  impl_->datasets.clear();
  impl_->file.reset();  // collective
  if (impl_->lock_fd >= 0) ::close(impl_->lock_fd);
}

void ResultsFile::mark_started(int64_t node, int rank, double start_time) {
  const auto n = static_cast<hsize_t>(node);
  const int32_t r = rank;
  write_slab(impl_->d("/nodes/rank"), H5T_NATIVE_INT32, &r, n, 1);
  write_slab(impl_->d("/nodes/start_time"), H5T_NATIVE_DOUBLE, &start_time, n, 1);
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
  write_slab(I.d("/curves/loss"), H5T_NATIVE_FLOAT, t.losses.data(), L.curve_offset[node], steps);
  write_slab(I.d("/curves/lr"), H5T_NATIVE_FLOAT, t.learning_rates.data(), L.curve_offset[node],
             steps);
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
  write_slab(I.d("/dev/step"), H5T_NATIVE_INT64, dev_step.data(), L.dev_offset[node],
             dev_step.size());
  write_slab(I.d("/dev/score"), H5T_NATIVE_DOUBLE, dev_score.data(), L.dev_offset[node],
             dev_score.size());

  if (rec.target) {
    const TargetResult& tr = *rec.target;
    std::map<std::string, const LanguageResult*> by_lang;
    for (const LanguageResult& l : tr.languages) by_lang[l.language] = &l;
    for (int64_t row = L.metric_offset[node]; row < L.metric_offset[node + 1]; ++row) {
      const auto& m = L.metrics[static_cast<size_t>(row)];
      auto it = by_lang.find(m.language);
      if (it == by_lang.end() || !has_metric(it->second->metrics, m.name)) continue;
      const double v = metric_value(it->second->metrics, m.name);
      write_slab(I.d("/metrics/value"), H5T_NATIVE_DOUBLE, &v, static_cast<hsize_t>(row), 1);
    }
    if (!tr.averaged.empty())
      write_slab(I.d("/metrics/target_score"), H5T_NATIVE_DOUBLE, &tr.score, n, 1);
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
        write_slab(I.d("/predictions/values"), H5T_NATIVE_INT64, values.data(), value_at,
                   values.size());
        write_slab(I.d("/predictions/scores"), H5T_NATIVE_FLOAT, scores.data(), score_at,
                   scores.size());
        write_slab(I.d("/predictions/threshold"), H5T_NATIVE_DOUBLE, &p.threshold,
                   static_cast<hsize_t>(row), 1);
      }
      value_at += pr.values;
      score_at += pr.scores;
    }
  }
  const int32_t rank = rec.rank;
  write_slab(I.d("/nodes/rank"), H5T_NATIVE_INT32, &rank, n, 1);
  write_slab(I.d("/nodes/start_time"), H5T_NATIVE_DOUBLE, &rec.start_time, n, 1);
  write_slab(I.d("/nodes/end_time"), H5T_NATIVE_DOUBLE, &rec.end_time, n, 1);
  write_slab(I.d("/nodes/train_seconds"), H5T_NATIVE_DOUBLE, &rec.train_seconds, n, 1);
  write_slab(I.d("/nodes/eval_seconds"), H5T_NATIVE_DOUBLE, &rec.eval_seconds, n, 1);
  write_slab(I.d("/nodes/wait_seconds"), H5T_NATIVE_DOUBLE, &rec.wait_seconds, n, 1);
  write_slab(I.d("/nodes/tokens"), H5T_NATIVE_INT64, &t.tokens, n, 1);
  write_slab(I.d("/nodes/steps"), H5T_NATIVE_INT64, &t.steps, n, 1);
  // Everything of the node is in the file (each write above returned after MPI-IO handed it to
  // the file system, in order), so a process killed from here on leaves complete data; only now
  // is the node marked done. (MPI_File_sync would be stronger, against power loss, but it is
  // collective, and ranks finish nodes at different times.)
  const int8_t done = 1;
  write_slab(I.d("/nodes/status"), H5T_NATIVE_INT8, &done, n, 1);
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
}

// ---- reading ------------------------------------------------------------------------------------

ResultsSummary read_results_summary(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw DataError(path.string() + ": no such results file");
  const h5::File f = h5::File::open(path, false);
  ResultsSummary s;
  s.sweep_name = h5::get_string_attr(f.id(), "sweep_name");
  const auto status = read_all<int8_t>(f.id(), "/nodes/status");
  const auto est = read_all<double>(f.id(), "/plan/estimated_seconds");
  const auto start = read_all<double>(f.id(), "/nodes/start_time");
  const auto end = read_all<double>(f.id(), "/nodes/end_time");
  const auto names = read_strings(f.id(), "/plan/name");
  const auto ranks = read_all<int32_t>(f.id(), "/nodes/rank");
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
  return s;
}

void write_results_csv(const std::filesystem::path& path, std::ostream& out) {
  if (!std::filesystem::exists(path)) throw DataError(path.string() + ": no such results file");
  const h5::File f = h5::File::open(path, false);
  const auto status = read_all<int8_t>(f.id(), "/nodes/status");
  const auto rep = read_all<int32_t>(f.id(), "/plan/replicate");
  const auto paths = read_strings(f.id(), "/plan/path");
  const auto task = read_strings(f.id(), "/plan/task");
  const auto mnode = read_all<int64_t>(f.id(), "/metrics/node");
  const auto mlang = read_strings(f.id(), "/metrics/language");
  const auto mname = read_strings(f.id(), "/metrics/name");
  const auto value = read_all<double>(f.id(), "/metrics/value");
  out << "seed,order,target,language,metric,value\n";
  for (size_t i = 0; i < mnode.size(); ++i) {
    const auto n = static_cast<size_t>(mnode[i]);
    if (status[n] != 1 || !std::isfinite(value[i])) continue;
    out << rep[n] << ',' << paths[n] << ',' << task[n] << ',' << mlang[i] << ',' << mname[i] << ','
        << fmt::format("{:.17g}", value[i]) << '\n';
  }
}

// ---- ResultsReader --------------------------------------------------------------------------

struct ResultsReader::Impl {
  h5::File file;
};

ResultsReader::ResultsReader(const std::filesystem::path& path) : path_(path) {
  if (!std::filesystem::exists(path)) throw DataError(path.string() + ": no such results file");
  impl_ = std::make_unique<Impl>();
  try {
    impl_->file = h5::File::open(path, false);
    const hid_t f = impl_->file.id();
    if (h5::get_string_attr(f, "created_by") != "ordertune") throw DataError("");
    kind = read_all<int8_t>(f, "/plan/kind");
    status = read_all<int8_t>(f, "/nodes/status");
    replicate = read_all<int32_t>(f, "/plan/replicate");
    parent = read_all<int64_t>(f, "/plan/parent");
    order = read_strings(f, "/plan/path");
    task = read_strings(f, "/plan/task");
  } catch (const Error&) {
    throw DataError(path.string() +
                    ": expected an ordertune results file, found another HDF5 file or none");
  }
}

ResultsReader::~ResultsReader() = default;

std::string ResultsReader::config_text() const {
  const auto bytes = read_all<uint8_t>(impl_->file.id(), "/config_text");
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
  const hid_t f = impl_->file.id();
  const auto node = read_all<int64_t>(f, "/predictions/node");
  const auto lang = read_strings(f, "/predictions/language");
  const auto off = read_all<int64_t>(f, "/predictions/offset");
  const auto soff = read_all<int64_t>(f, "/predictions/score_offset");
  const auto thr = read_all<double>(f, "/predictions/threshold");
  std::vector<PredictionRow> out;
  for (size_t i = 0; i < node.size(); ++i)
    out.push_back(
        {node[i], lang[i], off[i], off[i + 1] - off[i], soff[i], soff[i + 1] - soff[i], thr[i]});
  return out;
}

std::vector<int64_t> ResultsReader::prediction_values(const PredictionRow& row) const {
  std::vector<int64_t> v(static_cast<size_t>(row.size));
  Handle d = open_dataset(impl_->file.id(), "/predictions/values");
  read_slab(d.id(), H5T_NATIVE_INT64, v.data(), static_cast<hsize_t>(row.offset), v.size());
  return v;
}

std::vector<float> ResultsReader::prediction_scores(const PredictionRow& row) const {
  std::vector<float> v(static_cast<size_t>(row.scores));
  Handle d = open_dataset(impl_->file.id(), "/predictions/scores");
  read_slab(d.id(), H5T_NATIVE_FLOAT, v.data(), static_cast<hsize_t>(row.score_offset), v.size());
  return v;
}

bool ResultsReader::has_checkpoint(int64_t node) const {
  const auto rows = read_all<int64_t>(impl_->file.id(), "/checkpoints/row");
  return rows[static_cast<size_t>(node)] >= 0;
}

XlmrEncoder ResultsReader::read_encoder(int64_t node) const {
  const hid_t f = impl_->file.id();
  const auto rows = read_all<int64_t>(f, "/checkpoints/row");
  const int64_t row = rows[static_cast<size_t>(node)];
  if (row < 0)
    throw CheckpointError(path_.string() + ": node " + order[static_cast<size_t>(node)] +
                          " has no kept encoder (output.checkpoints)");
  Handle ck(h5_check(H5Gopen2(f, "/checkpoints", H5P_DEFAULT), "H5Gopen2 /checkpoints"));
  const std::string config_json = h5::get_string_attr(ck.id(), "config");
  const std::filesystem::path tmp = std::filesystem::temp_directory_path() /
                                    ("ordertune-config-" + std::to_string(::getpid()) + ".json");
  { std::ofstream(tmp) << config_json; }
  const XlmrConfig config = read_hf_config(tmp.string());
  std::filesystem::remove(tmp);
  torch::manual_seed(0);
  XlmrEncoder e(config, EncoderOptions{true, false});
  const auto names = read_strings(f, "/checkpoints/names");
  const auto offsets = read_all<int64_t>(f, "/checkpoints/offsets");
  Handle w = open_dataset(f, "/checkpoints/weights");
  Handle type(h5_check(H5Dget_type(w.id()), "H5Dget_type"));
  const bool bf16 = H5Tget_size(type.id()) == 2;
  transfer_encoder(w.id(), row, bf16, names, offsets, *e, /*write=*/false);
  return e;
}

}  // namespace ordertune

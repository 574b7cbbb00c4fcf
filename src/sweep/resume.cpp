#include "ordertune/sweep/resume.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"

namespace ordertune {

namespace {

constexpr int64_t kSnapshotFormat = 1;

template <typename T>
torch::Tensor vector_tensor(const std::vector<T>& v, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(v.data()), {static_cast<int64_t>(v.size())}, type).clone();
}

template <typename T>
std::vector<T> tensor_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

std::string evals_json(const std::vector<EvalRecord>& evals) {
  nlohmann::json out = nlohmann::json::array();
  for (const EvalRecord& e : evals) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const MetricValue& m : e.metrics) metrics.push_back({m.name, m.value});
    out.push_back({{"step", e.step}, {"task", e.task}, {"score", e.score}, {"metrics", metrics}});
  }
  return out.dump();  // doubles round-trip exactly
}

std::vector<EvalRecord> evals_from_json(const std::string& text) {
  std::vector<EvalRecord> out;
  for (const auto& j : nlohmann::json::parse(text)) {
    EvalRecord e;
    e.step = j.at("step").get<int64_t>();
    e.task = j.at("task").get<std::string>();
    e.score = j.at("score").get<double>();
    for (const auto& m : j.at("metrics"))
      e.metrics.push_back({m.at(0).get<std::string>(), m.at(1).get<double>()});
    out.push_back(std::move(e));
  }
  return out;
}

c10::IValue read_value(torch::serialize::InputArchive& in, const std::string& key) {
  c10::IValue v;
  in.read(key, v);
  return v;
}

torch::Tensor read_tensor(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  in.read(key, t);
  return t;
}

// Writes `data` to `path` (created or truncated) and syncs it; false with errno set on any
// failure (ENOSPC, EFBIG under a file-size limit, EIO).
bool write_file_fully(const std::filesystem::path& path, const std::string& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      errno = err;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {  // EINVAL: a file that cannot be synced (a pipe)
    const int err = errno;
    ::close(fd);
    errno = err;
    return false;
  }
  return ::close(fd) == 0;
}

}  // namespace

ResumeStore::ResumeStore(const std::filesystem::path& results_path, std::string config_hash,
                         int64_t every)
    : dir_(results_path.string() + ".resume"),
      config_hash_(std::move(config_hash)),
      every_(every) {}

std::filesystem::path ResumeStore::path_of(int64_t node) const {
  return dir_ / ("node-" + std::to_string(node) + ".pt");
}

void ResumeStore::save(int64_t node, uint64_t seed, const TrainerSnapshot& s) const {
  torch::serialize::OutputArchive out;
  out.write("format", c10::IValue(kSnapshotFormat));
  out.write("config_hash", c10::IValue(config_hash_));
  out.write("node", c10::IValue(node));
  out.write("seed", c10::IValue(std::to_string(seed)));  // IValue integers are signed
  out.write("step", c10::IValue(s.step));
  out.write("weights", s.weights.cpu());
  out.write("exp_avg", s.exp_avg.cpu());
  out.write("exp_avg_sq", s.exp_avg_sq.cpu());
  out.write("has_best", c10::IValue(s.best_weights.defined()));
  if (s.best_weights.defined()) out.write("best_weights", s.best_weights.cpu());
  out.write("best_score", c10::IValue(s.best_score));
  const StageResult& r = s.result;
  out.write("result.steps", c10::IValue(r.steps));
  out.write("result.losses", vector_tensor(r.losses, torch::kFloat32));
  out.write("result.learning_rates", vector_tensor(r.learning_rates, torch::kFloat32));
  out.write("result.grad_norms", vector_tensor(r.grad_norms, torch::kFloat32));
  out.write("result.step_tasks", vector_tensor(r.step_tasks, torch::kInt32));
  out.write("result.evals", c10::IValue(evals_json(r.evals)));
  out.write("result.selected_step", c10::IValue(r.selected_step));
  out.write("result.tokens", c10::IValue(r.tokens));
  out.write("result.train_seconds", c10::IValue(r.train_seconds));
  out.write("result.eval_seconds", c10::IValue(r.eval_seconds));

  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw DataError(dir_.string() + ": cannot create the resume folder: " + ec.message());
  const std::filesystem::path final_path = path_of(node);
  const std::filesystem::path tmp = final_path.string() + ".tmp-" + std::to_string(::getpid());
  // Serialized in memory, then written with checked writes: LibTorch's file writer reports a
  // full disk (or a file-size limit) by throwing from its destructor, which aborts the process.
  std::ostringstream bytes;
  out.save_to(bytes);
  const std::string data = bytes.str();
  if (!write_file_fully(tmp, data)) {
    const int err = errno;
    std::filesystem::remove(tmp, ec);  // an older snapshot of this node, if any, stays as it was
    const std::filesystem::space_info space = std::filesystem::space(dir_, ec);
    throw DataError(fmt::format(
        "{}: cannot write the resume snapshot ({}): it needs {:.1f} MiB, the disk has {}",
        final_path.string(), std::strerror(err), static_cast<double>(data.size()) / (1 << 20),
        ec ? std::string("an unknown amount free")
           : fmt::format("{:.1f} MiB free", static_cast<double>(space.available) / (1 << 20))));
  }
  std::filesystem::rename(tmp, final_path, ec);
  if (ec)
    throw DataError(final_path.string() + ": cannot write the resume snapshot: " + ec.message());
}

std::optional<TrainerSnapshot> ResumeStore::load(int64_t node, uint64_t seed) const {
  const std::filesystem::path path = path_of(node);
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    torch::serialize::InputArchive in;
    in.load_from(path.string());
    const int64_t format = read_value(in, "format").toInt();
    const std::string hash = read_value(in, "config_hash").toStringRef();
    const int64_t stored_node = read_value(in, "node").toInt();
    const std::string stored_seed = read_value(in, "seed").toStringRef();
    if (format != kSnapshotFormat || hash != config_hash_ || stored_node != node ||
        stored_seed != std::to_string(seed)) {
      log::warn(
          "{}: resume snapshot of another sweep or node (format {}, config {}, node {}); "
          "ignored, the node starts from its first step",
          path.string(), format, hash, stored_node);
      return std::nullopt;
    }
    TrainerSnapshot s;
    s.step = read_value(in, "step").toInt();
    s.weights = read_tensor(in, "weights");
    s.exp_avg = read_tensor(in, "exp_avg");
    s.exp_avg_sq = read_tensor(in, "exp_avg_sq");
    if (read_value(in, "has_best").toBool()) s.best_weights = read_tensor(in, "best_weights");
    s.best_score = read_value(in, "best_score").toDouble();
    StageResult& r = s.result;
    r.steps = read_value(in, "result.steps").toInt();
    r.losses = tensor_vector<float>(read_tensor(in, "result.losses"));
    r.learning_rates = tensor_vector<float>(read_tensor(in, "result.learning_rates"));
    r.grad_norms = tensor_vector<float>(read_tensor(in, "result.grad_norms"));
    r.step_tasks = tensor_vector<int32_t>(read_tensor(in, "result.step_tasks"));
    r.evals = evals_from_json(read_value(in, "result.evals").toStringRef());
    r.selected_step = read_value(in, "result.selected_step").toInt();
    r.tokens = read_value(in, "result.tokens").toInt();
    r.train_seconds = read_value(in, "result.train_seconds").toDouble();
    r.eval_seconds = read_value(in, "result.eval_seconds").toDouble();
    return s;
  } catch (const std::exception& e) {  // c10::Error (archive) or nlohmann::json (evaluations)
    const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
    log::warn("{}: unreadable resume snapshot ({}); ignored, the node starts from its first step",
              path.string(), torch_error ? torch_error->what_without_backtrace() : e.what());
  }
  return std::nullopt;
}

void ResumeStore::remove(int64_t node) const {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return;
  // The snapshot, and temporary files of writes that a kill interrupted (name.tmp-PID).
  const std::string name = path_of(node).filename().string();
  std::vector<std::filesystem::path> doomed;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string f = entry.path().filename().string();
    if (f == name || f.rfind(name + ".tmp-", 0) == 0) doomed.push_back(entry.path());
  }
  for (const auto& p : doomed) std::filesystem::remove(p, ec);
  if (std::filesystem::is_empty(dir_, ec)) std::filesystem::remove(dir_, ec);
}

}  // namespace ordertune

#include "commands/bench.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/model/heads.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/plan/plan.h"
#include "ordertune/sweep/results.h"
#include "ordertune/train/optim.h"

namespace ordertune {

namespace {

// Peak resident memory of this process in MiB: VmHWM from /proc/self/status (Linux).
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double minor_page_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Keeps freed memory in the process. glibc serves blocks above a (dynamic, at most 32 MiB)
// threshold with fresh mmap()s and returns freed heap tops to the kernel, so every training step
// page-faults its activations in again. Serving everything from the heap and never trimming it
// lets steps after the first reuse warm pages: at the default shape, one thread, 508 instead of
// 718 ms per step (and 0 instead of ~5000 page faults), for the same peak RSS. The trainer wants
// the same; it is a process-wide setting.
void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

}  // namespace

void validate(const TrainBenchOptions& o) {
  auto positive = [](const char* name, int64_t v) {
    if (v < 1) throw ConfigError(fmt::format("bench train: --{}: expected >= 1, got {}", name, v));
  };
  positive("layers", o.layers);
  positive("hidden", o.hidden);
  positive("heads", o.heads);
  positive("ffn", o.ffn);
  positive("vocab", o.vocab);
  positive("seq", o.seq);
  positive("batch", o.batch);
  positive("labels", o.labels);
  positive("steps", o.steps);
  if (o.warmup < 0)
    throw ConfigError(fmt::format("bench train: --warmup: expected >= 0, got {}", o.warmup));
  if (o.hidden % o.heads != 0)
    throw ConfigError(fmt::format(
        "bench train: --heads: expected a divisor of --hidden ({}), got {}", o.hidden, o.heads));
  if (o.vocab < 4)
    throw ConfigError(
        fmt::format("bench train: --vocab: expected >= 4 (3 special ids + 1), got {}", o.vocab));
  if (o.dtype == Precision::kBf16 && o.device != DeviceChoice::kCuda && !cpu_bf16_supported())
    throw ConfigError(
        "bench train: --dtype bf16: expected --device cuda, or LibTorch 2.x for bf16 on the CPU");
  if (o.device == DeviceChoice::kCuda && !torch::cuda::is_available())
    throw ConfigError("bench train: --device cuda: this LibTorch build has no CUDA or sees no GPU");
}

int64_t matmul_parameters(const XlmrConfig& c, int64_t labels) {
  const int64_t H = c.hidden_size, F = c.intermediate_size;
  return c.num_hidden_layers * (4 * H * H + 2 * H * F) + H * labels;
}

double train_flops_per_token(const XlmrConfig& c, int64_t labels, int64_t seq) {
  return 6.0 * static_cast<double>(matmul_parameters(c, labels)) +
         12.0 * static_cast<double>(c.num_hidden_layers * seq * c.hidden_size);
}

namespace {

// The encoder shape of a benchmark's options (XLM-R's defaults for the rest).
XlmrConfig bench_model(int64_t layers, int64_t hidden, int64_t heads, int64_t ffn, int64_t vocab) {
  XlmrConfig c;
  c.num_hidden_layers = layers;
  c.hidden_size = hidden;
  c.num_attention_heads = heads;
  c.intermediate_size = ffn;
  c.vocab_size = vocab;
  return c;
}

}  // namespace

nlohmann::json run_train_bench(const TrainBenchOptions& o) {
  validate(o);
  keep_freed_memory();
  const int threads = configure_threads(o.threads, /*ranks_on_node=*/1);
  torch::manual_seed(o.seed);
  const torch::Device device = resolve_device(o.device, /*local_rank=*/0, /*local_size=*/1,
                                              /*share=*/false, "bench train: --device");
  const bool cuda = device.is_cuda();

  XlmrConfig c = bench_model(o.layers, o.hidden, o.heads, o.ffn, o.vocab);
  c.max_position_embeddings = o.seq + c.pad_token_id + 1;
  HeadOptions head;
  head.kind = HeadKind::kTokenClassification;
  head.num_labels = o.labels;
  XlmrForTask model(c, head);
  model->to(device);
  model->train();
  FlatParameters params(*model);  // after .to(): the module's tensors become views of it
  AdamWOptions adamw_options;     // lr 1e-5, betas 0.9/0.999, eps 1e-8, weight decay 0.01
  AdamW optimizer(params, adamw_options);
  constexpr double kMaxGradNorm = 1.0;
  set_training_precision(o.dtype, device);

  // Random ids >= 3 (no <s>, <pad>, </s>: no padding), random labels.
  const auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const torch::Tensor ids = torch::randint(3, o.vocab, {o.batch, o.seq}, long_opts);
  const torch::Tensor labels = torch::randint(0, o.labels, {o.batch * o.seq}, long_opts);

  double loss_value = 0;
  auto step = [&] {
    const torch::Tensor logits = model->forward(ids);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.view({-1, o.labels}).to(torch::kFloat32), labels);
    loss.backward();
    const double norm = params.grad_norm();
    optimizer.step(clip_coefficient(norm, kMaxGradNorm));
    params.zero_grad();
    clear_autocast_cache();
    return loss;
  };
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };

  for (int64_t i = 0; i < o.warmup; ++i) step();
  params.check_grads_alias();
  sync();
  std::vector<double> wall, cpu, faults;
  for (int64_t i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = process_cpu_seconds(), f0 = minor_page_faults();
    loss_value = step().item<double>();  // .item() synchronizes on CUDA
    sync();
    cpu.push_back(process_cpu_seconds() - c0);
    faults.push_back(minor_page_faults() - f0);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  const double step_s = median(wall);
  const double tokens = static_cast<double>(o.batch * o.seq);
  const double flops_per_token = train_flops_per_token(c, o.labels, o.seq);
  const double gflops = flops_per_token * tokens / 1e9;
  int64_t n_params = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();

  nlohmann::json j;
  j["impl"] = "ordertune";
  j["torch"] = TORCH_VERSION;
  j["device"] = device.str();
  j["dtype"] = choice_name(o.dtype);
  j["threads"] = threads;
  j["layers"] = o.layers;
  j["hidden"] = o.hidden;
  j["heads"] = o.heads;
  j["ffn"] = o.ffn;
  j["vocab"] = o.vocab;
  j["seq"] = o.seq;
  j["batch"] = o.batch;
  j["labels"] = o.labels;
  j["steps"] = o.steps;
  j["warmup"] = o.warmup;
  j["params"] = n_params;
  j["n_matmul"] = matmul_parameters(c, o.labels);
  j["flops_per_token"] = flops_per_token;
  j["step_ms"] = step_s * 1e3;
  j["step_ms_min"] = *std::min_element(wall.begin(), wall.end()) * 1e3;
  j["step_cpu_ms"] = median(cpu) * 1e3;
  j["page_faults_per_step"] = median(faults);
  j["tokens_per_s"] = tokens / step_s;
  j["gflops_per_step"] = gflops;
  j["gflop_s"] = gflops / step_s;
  if (cuda) {
    const double peak =
        o.peak_tflops > 0 ? o.peak_tflops : (o.dtype == Precision::kBf16 ? 989.0 : 67.0);
    j["peak_tflops"] = peak;
    j["mfu"] = gflops / step_s / (peak * 1e3);
  } else {
    j["mfu"] = nullptr;
  }
  j["loss"] = loss_value;
  j["peak_rss_mb"] = peak_rss_mb();
  return j;
}

// ---- checkpoint bandwidth -----------------------------------------------------------------------

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Flushes the file's dirty pages to the disk, then drops its pages from the page cache, so the
// next read comes from the disk. Neither needs root.
void sync_and_evict(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw DataError(path.string() + ": cannot open to sync");
  ::fsync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

}  // namespace

nlohmann::json run_checkpoint_bench(const CheckpointBenchOptions& o) {
  if (o.repeats < 1)
    throw ConfigError("--repeats: expected at least 1, found " + std::to_string(o.repeats));
  const XlmrConfig model = bench_model(o.layers, o.hidden, o.heads, o.ffn, o.vocab);
  torch::manual_seed(0);
  XlmrEncoder encoder(model,
                      EncoderOptions{/*with_pooler=*/true, /*activation_checkpointing=*/false});

  // A plan of one root node whose encoder is kept: the results file's layout and write path as a
  // sweep uses them, without a data cache.
  Plan plan;
  plan.nodes.resize(1);
  SweepConfig config;
  config.sweep.name = "bench-checkpoint";
  config.text = "# ordertune bench checkpoint\n";
  config.hash = hash_hex(config.text);
  ResultsLayout layout;
  layout.curve_offset = layout.dev_offset = layout.metric_offset =
      layout.prediction_offset = {0, 0};
  layout.checkpoint_row = {0};
  layout.checkpoints = 1;
  layout.checkpoint_dtype =
      o.dtype == Precision::kBf16 ? WeightDtype::kBFloat16 : WeightDtype::kFloat32;
  set_checkpoint_parameters(layout, *encoder);
  layout.model_config_json = hf_config_json(model, "XLMRobertaModel");

  const std::filesystem::path path =
      std::filesystem::path(o.dir) /
      ("ordertune-checkpoint-bench-" + std::to_string(::getpid()) + ".h5");
  std::filesystem::remove(path);
  double write_s = std::numeric_limits<double>::infinity(), read_s = write_s;
  {
    auto file = ResultsFile::open_or_create(path, MPI_COMM_SELF, config, plan, layout);
    XlmrEncoder back(model, EncoderOptions{true, false});
    for (int r = 0; r < o.repeats; ++r) {
      const double t0 = now_seconds();
      file->write_checkpoint(0, *encoder);
      sync_and_evict(path);
      const double t1 = now_seconds();
      file->read_checkpoint(0, *back);
      const double t2 = now_seconds();
      write_s = std::min(write_s, t1 - t0);
      read_s = std::min(read_s, t2 - t1);
      sync_and_evict(path);
    }
    // The round trip is exact in fp32, and in bf16 equals torch's own rounding, which the sweep
    // applies to the encoders it holds (a benchmark that reads garbage fast measures nothing).
    {
      auto a = encoder->named_parameters();
      for (const auto& p : back->named_parameters()) {
        const torch::Tensor expected = o.dtype == Precision::kFp32
                                           ? a[p.key()]
                                           : a[p.key()].to(torch::kBFloat16).to(torch::kFloat32);
        OT_CHECK(torch::equal(p.value(), expected), "checkpoint round trip changed {}", p.key());
      }
    }
  }
  const int64_t params = layout.param_offsets.back();
  const int64_t bytes = params * (o.dtype == Precision::kBf16 ? 2 : 4);
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + ".lock");
  const double mb = static_cast<double>(bytes) / 1e6;
  return {{"params", params},         {"bytes", bytes},       {"dtype", choice_name(o.dtype)},
          {"write_s", write_s},       {"read_s", read_s},     {"write_mb_s", mb / write_s},
          {"read_mb_s", mb / read_s}, {"file", path.string()}};
}

}  // namespace ordertune

#include "ordertune/model/torch_env.h"

#include <dlfcn.h>

#include <cstdlib>
#include <thread>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <mpi.h>
#include <torch/torch.h>

#include "ordertune/base/error.h"
#include "ordertune/data/h5.h"

namespace ordertune {

namespace {

// bf16 autocast on the CPU needs LibTorch 2.x (1.13's CPU autocast casts a different op list).
constexpr bool kCpuAutocast = TORCH_VERSION_MAJOR >= 2;

// Turns autocast for `type` on (bf16) or off on this thread. The API was renamed in LibTorch 2.4.
void set_autocast(c10::DeviceType type, bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(type, on);
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
#else
  if (type == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(on);
    if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_cpu_enabled(on);
    if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
#endif
}

}  // namespace

bool cpu_bf16_supported() {
  return kCpuAutocast;
}

void set_training_precision(Precision precision, const c10::Device& device) {
  const bool bf16 = precision == Precision::kBf16;
  if (bf16 && !device.is_cuda() && !kCpuAutocast)
    throw ConfigError(
        "model.dtype = \"bf16\": expected a CUDA device, or LibTorch 2.x for bf16 on the CPU; "
        "this build has LibTorch " TORCH_VERSION " and the device is " +
        device.str());
  clear_autocast_cache();
  set_autocast(device.type(), bf16);
}

void clear_autocast_cache() {
  at::autocast::clear_cache();
}

torch::Tensor to_device(const torch::Tensor& host, const c10::Device& device) {
  if (!host.defined() || host.device() == device) return host;
  if (device.is_cuda() && host.device().is_cpu())
    return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device);
}

void set_deterministic(bool on) {
  if (on) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/false);
  at::globalContext().setDeterministicCuDNN(on);
  if (on) at::globalContext().setBenchmarkCuDNN(false);
}

int configure_threads(int threads, int ranks_on_node) {
  if (threads <= 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, ranks_on_node));
  }
  const std::string n = std::to_string(threads);
  // Only effective if set before the BLAS / OpenMP runtimes start; harmless otherwise.
  setenv("OMP_NUM_THREADS", n.c_str(), /*overwrite=*/0);
  setenv("OPENBLAS_NUM_THREADS", n.c_str(), /*overwrite=*/0);
  // OpenBLAS has read OPENBLAS_NUM_THREADS already if LibTorch loaded it at start-up; its own
  // setter (looked up at run time: the BLAS behind libblas.so.3 may not be OpenBLAS) applies
  // the limit now. Without it 2 ranks on 2 cores would each run 2 BLAS threads.
  using SetThreads = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas(threads);
  at::set_num_threads(threads);
  static bool interop_set = false;  // may be set once per process
  if (!interop_set) {
    at::set_num_interop_threads(1);
    interop_set = true;
  }
  return threads;
}

std::string build_info() {
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(mpi_version, &len);
  std::string mpi(mpi_version, static_cast<size_t>(len));
  if (auto comma = mpi.find(','); comma != std::string::npos) mpi.resize(comma);
  return fmt::format("ordertune 0.1.0; LibTorch {}; CUDA {}; HDF5 {} (parallel); {}", TORCH_VERSION,
                     torch::cuda::is_available() ? "available" : "not available",
                     h5::library_version(), mpi);
}

}  // namespace ordertune

// torch_env — process-wide LibTorch settings for a rank: compute threads, build information.
//
// Threads are pinned per rank (src/DESIGN.md): 2 ranks on 2 cores get 1 thread each.
// OpenBLAS and OpenMP read their variables when first used, so configure_threads() runs before
// any tensor work.
#pragma once

#include <string>

#include <c10/core/Device.h>
#include <torch/types.h>

#include "ordertune/config/config.h"

namespace ordertune {

// threads > 0: use that many; 0: cores of this node / ranks on this node (at least 1).
// Sets at::set_num_threads, at::set_num_interop_threads(1), and OMP/OpenBLAS variables.
int configure_threads(int threads, int ranks_on_node);

// model.dtype on `device` (DESIGN.md decision 9), on this thread: bf16 turns bf16 autocast on
// for the device's type (weights stay fp32), fp32 turns it off. bf16 on the CPU needs LibTorch
// 2.x; with 1.13 it is a ConfigError naming the version.
void set_training_precision(Precision precision, const c10::Device& device);
// Whether this build can train bf16 on the CPU (LibTorch 2.x).
bool cpu_bf16_supported();

// Autocast keeps the bf16 copy of each fp32 leaf parameter until this is called (per thread):
// without it every forward after a weight change would use the old copy. The trainer calls it
// after each optimizer step, after evaluation and after loading or copying weights.
void clear_autocast_cache();

// A host tensor on `device`. To a GPU it goes through pinned (page-locked) memory without
// blocking the host: the copy runs on the current stream, ahead of the kernels that read it,
// while the host prepares the next batch (LibTorch's pinned-memory allocator keeps the buffer
// until the copy is done). On the CPU it is `host` itself.
torch::Tensor to_device(const torch::Tensor& host, const c10::Device& device);

// sweep.deterministic: LibTorch's deterministic algorithms (an op without a deterministic
// implementation stops the run with LibTorch's error naming it), cuDNN's deterministic
// algorithms without autotuning, and CUBLAS_WORKSPACE_CONFIG=:4096:8 (cuBLAS's deterministic
// workspaces; set before the first cuBLAS call, and not overriding a value already set).
// README, "What is bitwise", says what it buys and what it costs.
void set_deterministic(bool on);

// One line: ordertune, LibTorch, CUDA availability, HDF5 and MPI versions.
std::string build_info();

}  // namespace ordertune

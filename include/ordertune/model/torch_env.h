// torch_env — process-wide LibTorch settings for a rank: compute threads, build information.
//
// Threads are pinned per rank (src/DESIGN.md): 2 ranks on 2 cores get 1 thread each.
// OpenBLAS and OpenMP read their variables when first used, so configure_threads() runs before
// any tensor work.
#pragma once

#include <string>

#include <c10/core/Device.h>

#include "ordertune/config/config.h"

namespace ordertune {

// threads > 0: use that many; 0: cores of this node / ranks on this node (at least 1).
// Sets at::set_num_threads, at::set_num_interop_threads(1), and OMP/OpenBLAS variables.
int configure_threads(int threads, int ranks_on_node);

// model.dtype on `device` (DESIGN.md decision 9): fp32 does nothing; bf16 turns on bf16
// autocast for CUDA on this thread (weights stay fp32). bf16 on the CPU is a ConfigError:
// model.dtype = "bf16": expected a CUDA device (bf16 autocast is CUDA only), found cpu
void set_training_precision(Precision precision, const c10::Device& device);

// One line: ordertune, LibTorch, CUDA availability, HDF5 and MPI versions.
std::string build_info();

}  // namespace ordertune

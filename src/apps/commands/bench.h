// bench — `ordertune bench train`: the speed and memory of one training step of XLM-R;
// `ordertune bench checkpoint`: the write and read bandwidth of encoder checkpoints in the results
// file (tests/bench/checkpoint_bench.sh compares it with dd on the same disk).
//
// A step is what the trainer does: forward of XlmrForTask with a token-classification head in
// training mode (dropout as in Hugging Face), cross-entropy, backward, gradient-norm clipping
// (1.0) and AdamW (lr 1e-5, weight decay 0.01 except biases and LayerNorm weights) over flat
// buffers (optim.h). Inputs are random ids without padding and random labels.
// tests/bench/train_bench.py runs the same step written the way Hugging Face writes it, and
// tests/bench/train_bench.sh compares the two.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ordertune/config/config.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/model/model.h"

namespace ordertune {

struct TrainBenchOptions {
  int64_t layers = 4;                        // L
  int64_t hidden = 256;                      // H
  int64_t heads = 4;                         // A
  int64_t ffn = 1024;                        // intermediate size
  int64_t vocab = 8000;                      // V
  int64_t seq = 128;                         // T, tokens per sequence
  int64_t batch = 16;                        // B, sequences per step
  int64_t labels = 8;                        // token-classification labels
  int64_t steps = 8;                         // timed steps
  int64_t warmup = 2;                        // untimed steps first
  int threads = 1;                           // compute threads (0: cores / ranks)
  DeviceChoice device = DeviceChoice::kCpu;  // cpu | cuda | auto
  Precision dtype = Precision::kFp32;        // fp32 | bf16 (autocast; CPU: LibTorch 2.x)
  uint64_t seed = 0;                         // initialisation, data and dropout
  double peak_tflops = 0;  // CUDA peak for MFU; 0: H100/H200 SXM dense (989 bf16, 67 fp32)
};

// Raises ConfigError naming the option on a value out of range.
void validate(const TrainBenchOptions& options);

// Weights that take part in matrix multiplies: every Linear of the encoder plus the head's
// weight (embeddings and LayerNorms excluded): L * (4 H^2 + 2 H F) + H * labels.
int64_t matmul_parameters(const XlmrConfig& config, int64_t labels);
// Training FLOPs per token, 6 N + 12 L T H: the PaLM estimate (Chowdhery et al. 2022,
// appendix B), 2 per multiply-add forward and 4 backward, attention scores included.
double train_flops_per_token(const XlmrConfig& config, int64_t labels, int64_t seq);

// Runs the benchmark and returns one JSON object: tokens_per_s, step_ms (median), step_cpu_ms
// (median process CPU time: robust against other processes on a shared machine), peak_rss_mb,
// threads, params, n_matmul, gflops_per_step, gflop_s, mfu (CUDA only, else null), ...
nlohmann::json run_train_bench(const TrainBenchOptions& options);

struct CheckpointBenchOptions {
  std::string dir = ".";  // folder of the results file: the disk to measure
  int64_t layers = 24;    // XLM-R large by default: 560M parameters, 2.24 GB in fp32
  int64_t hidden = 1024;
  int64_t heads = 16;
  int64_t ffn = 4096;
  int64_t vocab = 250002;
  Precision dtype = Precision::kFp32;  // fp32 | bf16 (output.checkpoint_dtype)
  int repeats = 2;                     // write and read this many times; the best time counts
};

// Creates a one-node results file (the sweep's own layout and code, MPI_COMM_SELF) in
// options.dir and times ResultsFile::write_checkpoint followed by fsync (the data on the disk,
// not in the page cache), then ResultsFile::read_checkpoint after evicting the file from the page
// cache (posix_fadvise DONTNEED). Returns one JSON object: params, bytes, write_s, read_s,
// write_mb_s, read_mb_s, file. MPI must be initialised.
nlohmann::json run_checkpoint_bench(const CheckpointBenchOptions& options);

}  // namespace ordertune

// `ordertune bench train` and `bench checkpoint`: the command lines of bench.h's benchmarks.
#include <cstdio>

#include <mpi.h>
#include <nlohmann/json.hpp>

#include "commands/bench.h"
#include "commands/command.h"
#include "ordertune/base/error.h"

namespace ordertune {
namespace {

class BenchCommand : public Command {
 public:
  CLI::App* train_cli = nullptr;
  CLI::App* checkpoint_cli = nullptr;
  TrainBenchOptions train;
  bool json = false;
  CheckpointBenchOptions checkpoint;

  int run() override {
    if (train_cli->parsed()) {
      const nlohmann::json r = run_train_bench(train);
      if (json)
        std::printf("%s\n", r.dump().c_str());
      else
        std::printf("%.0f tokens/s, %.1f ms/step, %.1f GFLOP/s, peak RSS %.0f MiB, %d thread(s)\n",
                    r["tokens_per_s"].get<double>(), r["step_ms"].get<double>(),
                    r["gflop_s"].get<double>(), r["peak_rss_mb"].get<double>(),
                    r["threads"].get<int>());
      return kExitOk;
    }
    struct MpiSession {  // one process (the results file is opened on MPI_COMM_SELF)
      MpiSession() {
        int provided = 0;
        MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      }
      ~MpiSession() { MPI_Finalize(); }
    } mpi;
    std::printf("%s\n", run_checkpoint_bench(checkpoint).dump().c_str());
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> add_bench_command(CLI::App& app) {
  auto c = std::make_unique<BenchCommand>();
  c->cli = app.add_subcommand("bench", "benchmarks");
  c->cli->require_subcommand(1);
  TrainBenchOptions& t = c->train;
  CLI::App* train = c->train_cli = c->cli->add_subcommand(
      "train", "time forward + backward + clipping + AdamW of XLM-R with a tagging head");
  train->add_option("--layers", t.layers, "encoder layers L")->capture_default_str();
  train->add_option("--hidden", t.hidden, "hidden size H")->capture_default_str();
  train->add_option("--heads", t.heads, "attention heads A")->capture_default_str();
  train->add_option("--ffn", t.ffn, "feed-forward size F")->capture_default_str();
  train->add_option("--vocab", t.vocab, "vocabulary size V")->capture_default_str();
  train->add_option("--seq", t.seq, "tokens per sequence T")->capture_default_str();
  train->add_option("--batch", t.batch, "sequences per step B")->capture_default_str();
  train->add_option("--labels", t.labels, "tagging labels")->capture_default_str();
  train->add_option("--steps", t.steps, "timed steps")->capture_default_str();
  train->add_option("--warmup", t.warmup, "untimed steps first")->capture_default_str();
  train->add_option("--threads", t.threads, "compute threads (0: all cores)")
      ->check(CLI::Range(0, 1024))  // sweep.threads' bounds
      ->capture_default_str();
  add_choice(train, "--device", t.device, "cpu | cuda | auto (a GPU if there is one)");
  add_choice(train, "--dtype", t.dtype, "fp32 | bf16 (autocast; the CPU needs LibTorch 2.x)");
  train->add_option("--seed", t.seed, "initialisation, data and dropout seed")
      ->capture_default_str();
  train->add_option("--peak-tflops", t.peak_tflops,
                    "CUDA peak for MFU (0: H100/H200 dense, 989 bf16 / 67 fp32)");
  train->add_flag("--json", c->json, "print one JSON line");
  CheckpointBenchOptions& k = c->checkpoint;
  CLI::App* checkpoint = c->checkpoint_cli = c->cli->add_subcommand(
      "checkpoint",
      "write and read bandwidth of an encoder checkpoint in a results file (default: "
      "XLM-R large, 560M parameters; one JSON line); tests/bench/checkpoint_bench.sh "
      "compares it with dd");
  checkpoint->add_option("--dir", k.dir, "folder on the disk to measure")->capture_default_str();
  checkpoint->add_option("--layers", k.layers, "encoder layers")->capture_default_str();
  checkpoint->add_option("--hidden", k.hidden, "hidden size")->capture_default_str();
  checkpoint->add_option("--heads", k.heads, "attention heads")->capture_default_str();
  checkpoint->add_option("--ffn", k.ffn, "feed-forward size")->capture_default_str();
  checkpoint->add_option("--vocab", k.vocab, "vocabulary size")->capture_default_str();
  add_choice(checkpoint, "--dtype", k.dtype, "fp32 | bf16");
  checkpoint->add_option("--repeats", k.repeats, "writes and reads; the best counts")
      ->capture_default_str();
  return c;
}

}  // namespace ordertune

// ordertune — the sweep executable (LibTorch + MPI + parallel HDF5; never sentencepiece).
//
// Subcommands (one binary, so users learn one command):
//   prepare   runs the sibling executable ordertune-prepare (tokenizing lives in its own
//             process: src/DESIGN.md, decision 1)
//   config    validates a sweep config and prints what it resolves to
//   version   build information
//   score     one task/language of XTREME submission files, as google-research/xtreme's
//             evaluate.py scores it (submission.h)
//   bench     `bench train`: speed and memory of one training step (bench.h)
//   forward   every layer's hidden states of a checkpoint for lines of token ids, to HDF5
//             (the parity check against a reference implementation; weights.h)
//   run       one order on this process alone: root, stages, every target (runner.h)
//   sweep     the whole plan on every MPI rank into one results file (sweep.h)
//   status    progress of a running or finished results file (results.h)
//   results   the tidy table of a results file (results.h)
//   export    a finished order's predictions (submission layout) or encoder (export.h)
//   plan      the sweep's plan: node counts, work, lower bound, simulated makespan (scheduler.h)
//
// includes:
//   bench.h      defines: run_train_bench
//   config.h     defines: load_config
//   torch_env.h  defines: build_info, configure_threads
//   error.h      defines: Error and exit codes
//   weights.h    defines: forward_to_h5
//   runner.h     defines: TaskData, parse_order, run_path
//   scheduler.h  defines: run_plan
#include <mpi.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands/bench.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/config/config.h"
#include "ordertune/base/error.h"
#include "ordertune/sweep/export.h"
#include "ordertune/sweep/results.h"
#include "ordertune/sweep/sweep.h"
#include "ordertune/train/runner.h"
#include "ordertune/plan/scheduler.h"
#include "ordertune/base/log.h"
#include "ordertune/scoring/submission.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/model/weights.h"

namespace {

using namespace ordertune;

// The folder of this executable, where ordertune-prepare is built and installed beside it.
std::filesystem::path own_directory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

// Replaces this process with ordertune-prepare and the remaining arguments.
int exec_prepare(int argc, char** argv, int first_arg) {
  const std::filesystem::path prepare = own_directory() / "ordertune-prepare";
  std::vector<char*> args;
  std::string program = prepare.string();
  args.push_back(program.data());
  for (int i = first_arg; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(program.c_str(), args.data());
  std::fprintf(stderr, "ordertune: cannot run %s: %s (build it with `cmake --build build`)\n",
               program.c_str(), std::strerror(errno));
  return kExitFailure;
}

// An option whose value is one of E's spellings (base/choice.h), parsed into the enum.
template <typename E>
CLI::Option* add_choice(CLI::App* app, const std::string& name, E& value, const std::string& help) {
  std::map<std::string, E> spellings;
  for (const auto& s : ChoiceTraits<E>::spellings) spellings.emplace(s.name, s.value);
  return app->add_option(name, value, help)
      ->transform(CLI::CheckedTransformer(spellings))
      ->default_str(choice_name(value));
}

int run_config(const std::string& path) {
  const SweepConfig c = load_config(path);
  nlohmann::json j;
  j["config"] = path;
  j["hash"] = c.hash;
  j["name"] = c.sweep.name;
  j["model"] = c.model.checkpoint.empty() ? "tiny (pretrained by ordertune)" : c.model.checkpoint;
  j["cache"] = c.data.cache;
  j["results"] = c.output.results;
  j["orders_mode"] = choice_name(c.orders.mode);
  j["stages"] = c.orders.stages;
  j["targets"] = c.targets;
  j["tasks_used"] = c.tasks_used();
  j["replicates"] = c.sweep.replicates;
  std::printf("%s\n", j.dump(2).c_str());
  return kExitOk;
}

// `ordertune sweep`: MPI lives only here. Errors before the work starts (config, cache, results
// file refused) are met alike by every rank and print once, from rank 0; an error during the
// work ends the job (MPI's failure model: the relaunched job resumes from the results file).
int sweep_main(const std::string& config_path, const SweepOptions& options) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  log::configure(rank, options.verbose ? log::Level::kDebug : log::Level::kInfo);
  int code = kExitOk;
  try {
    const SweepConfig config = load_config(config_path);
    code = run_sweep(config, options, MPI_COMM_WORLD);
  } catch (const Error& e) {
    // Thrown before the work starts, alike on every rank (run_sweep aborts the job itself for
    // errors in the work loop).
    if (rank == 0) std::fprintf(stderr, "ordertune: %s\n", e.what());
    code = e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordertune: rank %d: %s\n", rank, e.what());
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, kExitFailure);
    code = kExitFailure;
  }
  MPI_Finalize();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // `ordertune prepare ...` hands every argument to ordertune-prepare untouched.
  if (argc >= 2 && std::string(argv[1]) == "prepare") return exec_prepare(argc, argv, 2);

  CLI::App app{
      "ordertune: sweeps over the order of English intermediate-task fine-tuning steps and "
      "their effect on zero-shot cross-lingual transfer of XLM-R (XTREME-R).\n"
      "Pipeline: `ordertune prepare --config FILE` tokenizes every task into a data cache.",
      "ordertune"};
  app.require_subcommand(1);
  app.add_subcommand("prepare",
                     "tokenize the config's tasks into the data cache (runs ordertune-prepare; "
                     "see `ordertune prepare --help`)");
  std::string config_path;
  auto* config_cmd = app.add_subcommand("config", "validate a sweep config and print what it uses");
  config_cmd->add_option("--config,-c", config_path, "sweep config (TOML)")->required();
  app.add_subcommand("version", "print versions of ordertune and its libraries");
  auto* bench_cmd = app.add_subcommand("bench", "benchmarks");
  bench_cmd->require_subcommand(1);
  TrainBenchOptions bench;
  bool bench_json = false;
  auto* bench_train = bench_cmd->add_subcommand(
      "train", "time forward + backward + clipping + AdamW of XLM-R with a tagging head");
  bench_train->add_option("--layers", bench.layers, "encoder layers L")->capture_default_str();
  bench_train->add_option("--hidden", bench.hidden, "hidden size H")->capture_default_str();
  bench_train->add_option("--heads", bench.heads, "attention heads A")->capture_default_str();
  bench_train->add_option("--ffn", bench.ffn, "feed-forward size F")->capture_default_str();
  bench_train->add_option("--vocab", bench.vocab, "vocabulary size V")->capture_default_str();
  bench_train->add_option("--seq", bench.seq, "tokens per sequence T")->capture_default_str();
  bench_train->add_option("--batch", bench.batch, "sequences per step B")->capture_default_str();
  bench_train->add_option("--labels", bench.labels, "tagging labels")->capture_default_str();
  bench_train->add_option("--steps", bench.steps, "timed steps")->capture_default_str();
  bench_train->add_option("--warmup", bench.warmup, "untimed steps first")->capture_default_str();
  bench_train->add_option("--threads", bench.threads, "compute threads (0: all cores)")
      ->capture_default_str();
  add_choice(bench_train, "--device", bench.device, "cpu | cuda | auto (a GPU if there is one)");
  add_choice(bench_train, "--dtype", bench.dtype, "fp32 | bf16 (CUDA autocast)");
  bench_train->add_option("--seed", bench.seed, "initialisation, data and dropout seed")
      ->capture_default_str();
  bench_train->add_option("--peak-tflops", bench.peak_tflops,
                          "CUDA peak for MFU (0: H100/H200 dense, 989 bf16 / 67 fp32)");
  bench_train->add_flag("--json", bench_json, "print one JSON line");
  std::string forward_model, forward_inputs, forward_out;
  CheckpointBenchOptions ckpt_bench;
  auto* bench_checkpoint = bench_cmd->add_subcommand(
      "checkpoint", "write and read bandwidth of an encoder checkpoint in a results file (default: "
                    "XLM-R large, 560M parameters; one JSON line); tests/bench/checkpoint_bench.sh "
                    "compares it with dd");
  bench_checkpoint->add_option("--dir", ckpt_bench.dir, "folder on the disk to measure")->capture_default_str();
  bench_checkpoint->add_option("--layers", ckpt_bench.layers, "encoder layers")->capture_default_str();
  bench_checkpoint->add_option("--hidden", ckpt_bench.hidden, "hidden size")->capture_default_str();
  bench_checkpoint->add_option("--heads", ckpt_bench.heads, "attention heads")->capture_default_str();
  bench_checkpoint->add_option("--ffn", ckpt_bench.ffn, "feed-forward size")->capture_default_str();
  bench_checkpoint->add_option("--vocab", ckpt_bench.vocab, "vocabulary size")->capture_default_str();
  add_choice(bench_checkpoint, "--dtype", ckpt_bench.dtype, "fp32 | bf16");
  bench_checkpoint->add_option("--repeats", ckpt_bench.repeats, "writes and reads; the best counts")
      ->capture_default_str();

  auto* forward_cmd = app.add_subcommand(
      "forward", "write every layer's hidden states of a checkpoint for lines of token ids");
  forward_cmd->add_option("--model", forward_model, "Hugging Face checkpoint directory")
      ->required();
  forward_cmd->add_option("--inputs", forward_inputs, "token ids, one sequence per line")
      ->required();
  forward_cmd->add_option("--out", forward_out, "HDF5: hidden_states [L+1,B,T,H], attention_mask")
      ->required();
  ScoreOptions score;
  auto* score_cmd = app.add_subcommand(
      "score", "score XTREME(-R) submission files of one task and language exactly as the "
               "official evaluate.py; prints one JSON line (percentages, official key names)");
  score_cmd->add_option("--task", score.task, "xnli, pawsx, xcopa, udpos, panx, xquad, mlqa, "
                                              "tydiqa, bucc2018, tatoeba, mewslix")->required();
  score_cmd->add_option("--lang", score.lang, "language code, e.g. de")->required();
  score_cmd->add_option("--predictions", score.predictions, "predictions file")->required();
  score_cmd->add_option("--labels", score.labels, "gold labels file")->required();
  std::string run_config_path, run_order;
  int run_replicate = 0, run_threads = 0;
  bool run_json = false;
  auto* run_cmd = app.add_subcommand(
      "run", "train one order on this process alone (root, each stage, every target) and print "
             "per-stage speed and per-target scores; no results file (use `sweep` for that)");
  run_cmd->add_option("--config,-c", run_config_path, "sweep config (TOML)")->required();
  run_cmd->add_option("--order", run_order,
                      "stages joined by '>', e.g. \"mnli>squad_v1\"; empty: the baseline")
      ->capture_default_str();
  run_cmd->add_option("--replicate", run_replicate, "replicate (seed index)")->capture_default_str();
  run_cmd->add_option("--threads", run_threads, "compute threads (0: the config's sweep.threads, "
                                                "else all cores)")->capture_default_str();
  run_cmd->add_flag("--json", run_json, "print the result as one JSON line on stdout");
  PlanCommand plan_options;
  auto* plan_cmd = app.add_subcommand(
      "plan", "print the sweep's plan: nodes, stage runs with and without prefix sharing, work, "
              "lower bound and (--simulate) the scheduler's makespan for N ranks");
  plan_cmd->add_option("--config,-c", plan_options.config, "sweep config (TOML)")->required();
  plan_cmd->add_option("--ranks", plan_options.ranks, "MPI ranks (workers = ranks / sweep.group_size)")
      ->capture_default_str();
  plan_cmd->add_flag("--simulate", plan_options.simulate, "simulate the schedule on the estimated costs");
  plan_cmd->add_flag("--json", plan_options.json, "print one JSON line");
  std::string sweep_config_path, sweep_results;
  int sweep_threads = 0;
  ProgressStyle sweep_progress = ProgressStyle::kAuto;
  double sweep_progress_every = 60.0;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "run (or resume) the config's whole plan on every MPI rank: `mpirun -np N ordertune "
               "sweep --config FILE`; results in one HDF5 file; SIGTERM/SIGUSR1 stop cleanly, "
               "re-running the same command continues");
  sweep_cmd->add_option("--config,-c", sweep_config_path, "sweep config (TOML)")->required();
  sweep_cmd->add_option("--results", sweep_results, "results file (default: output.results)");
  sweep_cmd->add_option("--threads", sweep_threads, "compute threads per rank (0: sweep.threads, "
                                                    "else cores / ranks on the node)");
  add_choice(sweep_cmd, "--progress", sweep_progress,
             "rank 0's progress: bar (a live line; mpirun's output is no terminal, so auto picks "
             "lines there), lines, none, or auto");
  sweep_cmd->add_option("--progress-every", sweep_progress_every, "seconds between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bool sweep_verbose = false;
  sweep_cmd->add_flag("--verbose,-v", sweep_verbose,
                      "debug lines from every rank: encoders sent to peers, kept copies freed");
  std::string status_file;
  auto* status_cmd = app.add_subcommand("status", "progress of a running or finished sweep's results file");
  status_cmd->add_option("results", status_file, "results file")->required();
  std::string results_file, results_format = "csv";
  auto* results_cmd = app.add_subcommand(
      "results", "print a results file as a table: seed,order,target,language,metric,value");
  results_cmd->add_option("results", results_file, "results file")->required();
  results_cmd->add_option("--format", results_format, "csv (the only format)")->capture_default_str();
  ExportOptions export_options;
  std::string export_results;
  auto* export_cmd = app.add_subcommand(
      "export", "write a finished order's target predictions in the XTREME-R submission layout "
                "(--predictions DIR) and/or its encoder as a Hugging Face directory (--model DIR)");
  export_cmd->add_option("--results", export_results, "results file")->required();
  export_cmd->add_option("--replicate", export_options.replicate, "replicate (seed index), as `run --replicate`")->capture_default_str();
  export_cmd->add_option("--order", export_options.order, "stages joined by '>' (\"\" = baseline)");
  export_cmd->add_option("--predictions", export_options.predictions, "output folder for DIR/<task>/test-<lang>.*");
  export_cmd->add_option("--model", export_options.model, "output Hugging Face directory");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  log::configure(0, log::Level::kInfo);
  try {
    if (config_cmd->parsed()) return run_config(config_path);
    if (score_cmd->parsed()) return run_score(score, std::cout);
    if (plan_cmd->parsed()) return run_plan(plan_options, std::cout);
    if (forward_cmd->parsed()) {
      const auto hidden = forward_to_h5(forward_model, forward_inputs, forward_out);
      log::info("{}: hidden_states [{}]", forward_out, fmt::join(hidden.sizes(), ", "));
      return kExitOk;
    }
    if (sweep_cmd->parsed()) {
      SweepOptions options;
      options.results = sweep_results;
      options.threads = sweep_threads;
      options.progress = sweep_progress;
      options.progress_every = sweep_progress_every;
      options.verbose = sweep_verbose;
      return sweep_main(sweep_config_path, options);
    }
    if (status_cmd->parsed()) {
      const ResultsSummary r = read_results_summary(status_file);
      const double elapsed = r.last_end > r.first_start ? r.last_end - r.first_start : 0.0;
      const double rate = r.estimated_done_s > 0 ? elapsed / r.estimated_done_s : 0.0;
      std::printf("%s: sweep '%s': %lld/%lld nodes done (%.0f%% of the estimated work)",
                  status_file.c_str(), r.sweep_name.c_str(), static_cast<long long>(r.done),
                  static_cast<long long>(r.nodes),
                  r.estimated_total_s > 0 ? 100.0 * r.estimated_done_s / r.estimated_total_s : 0.0);
      if (r.done < r.nodes && rate > 0)
        std::printf("; ETA %.0f s at the pace so far", rate * (r.estimated_total_s - r.estimated_done_s));
      std::printf("%s\n", r.done == r.nodes ? "; finished" : "");
      // Started but not done: running now, or interrupted (a re-run starts them again).
      for (size_t i = 0; i < r.unfinished_started.size(); ++i)
        std::printf("  started, not done: %s (rank %d)\n", r.unfinished_names[i].c_str(),
                    r.unfinished_ranks[i]);
      return kExitOk;
    }
    if (results_cmd->parsed()) {
      if (results_format != "csv")
        throw ConfigError("--format: expected csv, found '" + results_format + "'");
      write_results_csv(results_file, std::cout);
      return kExitOk;
    }
    if (export_cmd->parsed()) {
      export_options.results = export_results;
      run_export(export_options);
      return kExitOk;
    }
    if (run_cmd->parsed()) {
      const SweepConfig config = load_config(run_config_path);
      if (run_replicate < 0 || run_replicate >= config.sweep.replicates)
        throw ConfigError("--replicate: expected 0.." + std::to_string(config.sweep.replicates - 1) +
                          " (sweep.replicates), found " + std::to_string(run_replicate));
      const std::vector<std::string> order = parse_order(run_order, config, "--order");
      const int threads = configure_threads(run_threads > 0 ? run_threads : config.sweep.threads, 1);
      const torch::Device device = select_device(0);
      set_training_precision(config.model.dtype, device);
      log::info("run: order '{}' replicate {} on {} thread(s), device {}", run_order, run_replicate, threads,
                device.str());
      TaskData data(config);
      const nlohmann::json r = run_path(data, order, run_replicate, device);
      if (run_json) std::printf("%s\n", r.dump().c_str());
      else log::info("score over {} targets: {:.2f}", r["targets"].size(), r["score"].get<double>());
      return kExitOk;
    }
    if (bench_train->parsed()) {
      const nlohmann::json r = run_train_bench(bench);
      if (bench_json)
        std::printf("%s\n", r.dump().c_str());
      else
        std::printf("%.0f tokens/s, %.1f ms/step, %.1f GFLOP/s, peak RSS %.0f MiB, %d thread(s)\n",
                    r["tokens_per_s"].get<double>(), r["step_ms"].get<double>(),
                    r["gflop_s"].get<double>(), r["peak_rss_mb"].get<double>(),
                    r["threads"].get<int>());
      return kExitOk;
    }
    if (bench_checkpoint->parsed()) {
      struct MpiSession {  // one process (the results file is opened on MPI_COMM_SELF)
        MpiSession() {
          int provided = 0;
          MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
        }
        ~MpiSession() { MPI_Finalize(); }
      } mpi;
      std::printf("%s\n", run_checkpoint_bench(ckpt_bench).dump().c_str());
      return kExitOk;
    }
    if (app.got_subcommand("version")) {
      std::printf("%s\n", build_info().c_str());
      return kExitOk;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "ordertune: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordertune: %s\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

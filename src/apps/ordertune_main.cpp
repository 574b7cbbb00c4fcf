// ordertune — the sweep executable (LibTorch + MPI + parallel HDF5; never sentencepiece).
//
// One binary, so users learn one command. Its subcommands, one file each in commands/
// (command.h declares them):
//   prepare   info.cpp     runs the sibling executable ordertune-prepare (tokenizing lives in
//                          its own process: src/DESIGN.md, decision 1)
//   config    info.cpp     validates a sweep config and prints what it resolves to
//   version   info.cpp     build information
//   plan      plan.cpp     the plan: node counts, work, lower bound, simulated makespan
//                          (plan/scheduler.h)
//   run       run.cpp      one order on this process alone: root, stages, every target
//                          (train/runner.h)
//   sweep     sweep.cpp    the whole plan on every MPI rank into one results file (sweep/sweep.h)
//   status    results.cpp  progress of a running or finished results file (sweep/results.h)
//   results   results.cpp  the tidy table of a results file (sweep/results.h)
//   export    results.cpp  a finished order's predictions (submission layout) or encoder
//                          (sweep/export.h)
//   score     score.cpp    one task/language of XTREME submission files, as google-research/
//                          xtreme's evaluate.py scores it (scoring/submission.h)
//   forward   forward.cpp  every layer's hidden states of a checkpoint, to HDF5 (the parity
//                          check; model/weights.h)
//   bench     bench_cli.cpp  `bench train`: one training step's speed and memory; `bench
//                          checkpoint`: results-file bandwidth (commands/bench.h)
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"

int main(int argc, char** argv) {
  using namespace ordertune;
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported like a full disk, rather
  // than kill the process with SIGXFSZ mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // `ordertune prepare ...` hands every argument to ordertune-prepare untouched.
  if (argc >= 2 && std::string(argv[1]) == "prepare") return exec_prepare(argc, argv, 2);

  CLI::App app{
      "ordertune: sweeps over the order of English intermediate-task fine-tuning steps and "
      "their effect on zero-shot cross-lingual transfer of XLM-R (XTREME-R).\n"
      "Pipeline: `ordertune prepare --config FILE` tokenizes every task into a data cache.",
      "ordertune"};
  app.require_subcommand(1);
  std::vector<std::unique_ptr<Command>> commands;
  for (auto add : {add_prepare_command, add_config_command, add_version_command, add_bench_command,
                   add_forward_command, add_score_command, add_run_command, add_plan_command,
                   add_sweep_command, add_status_command, add_results_command, add_export_command})
    commands.push_back(add(app));
  // A misspelt command is named as such (CLI11 would say "A subcommand is required").
  if (argc >= 2 && argv[1][0] != '-' &&
      app.get_subcommands([&](const CLI::App* c) { return c->check_name(argv[1]); }).empty()) {
    std::string names;
    for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + c->get_name();
    std::fprintf(stderr, "ordertune: expected a command (%s), found '%s' (see ordertune --help)\n",
                 names.c_str(), argv[1]);
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_for_parse_error(app, e, "ordertune");
  }
  log::configure(0, log::Level::kInfo);
  try {
    for (const auto& command : commands)
      if (command->cli->parsed()) return command->run();
  } catch (const Error& e) {
    std::fprintf(stderr, "ordertune: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordertune: %s\n", e.what());
    return kExitFailure;
  }
  return kExitOk;
}

// ordertune — the sweep executable (LibTorch + MPI + parallel HDF5; never sentencepiece).
//
// Subcommands (one binary, so users learn one command):
//   prepare   runs the sibling executable ordertune-prepare (tokenizing lives in its own
//             process: ../shared/DESIGN.md, decision 1)
//   config    validates a sweep config and prints what it resolves to
//   version   build information
//
// includes:
//   config.h     defines: load_config
//   torch_env.h  defines: build_info, configure_threads
//   error.h      defines: Error and exit codes
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ordertune/config.h"
#include "ordertune/error.h"
#include "ordertune/log.h"
#include "ordertune/torch_env.h"

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

int run_config(const std::string& path) {
  const SweepConfig c = load_config(path);
  nlohmann::json j;
  j["config"] = path;
  j["hash"] = c.hash;
  j["name"] = c.sweep.name;
  j["model"] = c.model.checkpoint.empty() ? "tiny (pretrained by ordertune)" : c.model.checkpoint;
  j["cache"] = c.data.cache;
  j["results"] = c.output.results;
  j["orders_mode"] = c.orders.mode;
  j["stages"] = c.orders.stages;
  j["targets"] = c.targets;
  j["tasks_used"] = c.tasks_used();
  j["replicates"] = c.sweep.replicates;
  std::printf("%s\n", j.dump(2).c_str());
  return kExitOk;
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  log::configure(0, log::Level::kInfo);
  try {
    if (config_cmd->parsed()) return run_config(config_path);
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

// `ordertune prepare`, `config` and `version`: the front door to tokenizing, a config's check,
// and the build.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/config/config.h"
#include "ordertune/model/torch_env.h"

namespace ordertune {
namespace {

// The folder of this executable, where ordertune-prepare is built and installed beside it.
std::filesystem::path own_directory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

// Only listed: main hands `ordertune prepare ...` to ordertune-prepare before parsing.
class PrepareCommand : public Command {
 public:
  int run() override { return kExitOk; }
};

class ConfigCommand : public Command {
 public:
  std::string path;
  int run() override {
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
};

class VersionCommand : public Command {
 public:
  int run() override {
    std::printf("%s\n", build_info().c_str());
    return kExitOk;
  }
};

}  // namespace

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

std::unique_ptr<Command> add_prepare_command(CLI::App& app) {
  auto c = std::make_unique<PrepareCommand>();
  c->cli = app.add_subcommand("prepare",
                              "tokenize the config's tasks into the data cache (runs "
                              "ordertune-prepare; `--check` lists what is present, missing and "
                              "labelled, and what each target is scored on, writing nothing; "
                              "`--synthetic real` writes every file the config reads, synthetic, "
                              "at the real datasets' sizes, for benchmarks; see "
                              "`ordertune prepare --help`)");
  return c;
}

std::unique_ptr<Command> add_config_command(CLI::App& app) {
  auto c = std::make_unique<ConfigCommand>();
  c->cli = app.add_subcommand("config", "validate a sweep config and print what it uses");
  c->cli->add_option("--config,-c", c->path, "sweep config (TOML)")->required();
  return c;
}

std::unique_ptr<Command> add_version_command(CLI::App& app) {
  auto c = std::make_unique<VersionCommand>();
  c->cli = app.add_subcommand("version", "print versions of ordertune and its libraries");
  return c;
}

}  // namespace ordertune

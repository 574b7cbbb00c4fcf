// `ordertune run`: one order on this process alone, no MPI and no results file (runner.h).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/config/config.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/train/runner.h"

namespace ordertune {
namespace {

class RunCommand : public Command {
 public:
  std::string config_path, order_text;
  int replicate = 0, threads = 0;
  bool json = false;

  int run() override {
    const SweepConfig config = load_config(config_path);
    if (replicate < 0 || replicate >= config.sweep.replicates)
      throw ConfigError("--replicate: expected 0.." + std::to_string(config.sweep.replicates - 1) +
                        " (sweep.replicates), found " + std::to_string(replicate));
    const std::vector<std::string> order = parse_order(order_text, config, "--order");
    const int used = configure_threads(threads > 0 ? threads : config.sweep.threads, 1);
    const torch::Device device = select_device(0, 1, false);
    set_training_precision(config.model.dtype, device);
    set_deterministic(config.sweep.deterministic);
    log::info("run: order '{}' replicate {} on {} thread(s), device {}", order_text, replicate,
              used, device.str());
    TaskData data(config);
    const nlohmann::json r = run_path(data, order, replicate, device);
    if (json)
      std::printf("%s\n", r.dump().c_str());
    else
      log::info("score over {} targets: {:.2f}", r["targets"].size(), r["score"].get<double>());
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> add_run_command(CLI::App& app) {
  auto c = std::make_unique<RunCommand>();
  c->cli = app.add_subcommand(
      "run",
      "train one order on this process alone (root, each stage, every target) and print "
      "per-stage speed and per-target scores; no results file (use `sweep` for that)");
  c->cli->add_option("--config,-c", c->config_path, "sweep config (TOML)")->required();
  c->cli
      ->add_option("--order", c->order_text,
                   "stages joined by '>', e.g. \"mnli>squad_v1\"; empty: the baseline")
      ->capture_default_str();
  c->cli->add_option("--replicate", c->replicate, "replicate (seed index)")->capture_default_str();
  c->cli
      ->add_option("--threads", c->threads,
                   "compute threads (0: the config's sweep.threads, "
                   "else all cores)")
      ->check(CLI::Range(0, 1024))  // sweep.threads' bounds
      ->capture_default_str();
  c->cli->add_flag("--json", c->json, "print the result as one JSON line on stdout");
  return c;
}

}  // namespace ordertune

// `ordertune plan`: the sweep's plan and, with --simulate, the scheduler's makespan (scheduler.h).
#include <iostream>

#include "commands/command.h"
#include "ordertune/plan/scheduler.h"

namespace ordertune {
namespace {

class PlanCommandLine : public Command {
 public:
  PlanCommand options;
  int run() override { return run_plan(options, std::cout); }
};

}  // namespace

std::unique_ptr<Command> add_plan_command(CLI::App& app) {
  auto c = std::make_unique<PlanCommandLine>();
  c->cli = app.add_subcommand(
      "plan",
      "print the sweep's plan: nodes, stage runs with and without prefix sharing, work, "
      "lower bound and (--simulate) the scheduler's makespan for N ranks");
  c->cli->add_option("--config,-c", c->options.config, "sweep config (TOML)")->required();
  c->cli->add_option("--ranks", c->options.ranks, "MPI ranks (workers = ranks / sweep.group_size)")
      ->capture_default_str();
  c->cli->add_flag("--simulate", c->options.simulate,
                   "simulate the schedule on the estimated costs");
  c->cli->add_flag("--json", c->options.json, "print one JSON line");
  return c;
}

}  // namespace ordertune

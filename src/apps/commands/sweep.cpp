// `ordertune sweep`: the whole plan on every MPI rank into one results file (sweep.h). MPI lives
// only here (and in `bench checkpoint`).
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <mpi.h>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/config/config.h"
#include "ordertune/sweep/sweep.h"

namespace ordertune {
namespace {

class SweepCommand : public Command {
 public:
  std::string config_path, results;
  SweepOptions options;

  // Errors before the work starts (config, cache, results file refused) are met alike by every
  // rank and print once, from rank 0; an error during the work ends the job (MPI's failure model:
  // the relaunched job resumes from the results file).
  int run() override {
    options.results = results;
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
};

}  // namespace

std::unique_ptr<Command> add_sweep_command(CLI::App& app) {
  auto c = std::make_unique<SweepCommand>();
  SweepOptions& o = c->options;
  c->cli = app.add_subcommand(
      "sweep",
      "run (or resume) the config's whole plan on every MPI rank: `mpirun -np N ordertune "
      "sweep --config FILE`; results in one HDF5 file; SIGTERM/SIGUSR1 stop cleanly, "
      "re-running the same command continues");
  c->cli->add_option("--config,-c", c->config_path, "sweep config (TOML)")->required();
  c->cli->add_option("--results", c->results, "results file (default: output.results)");
  c->cli
      ->add_option("--threads", o.threads,
                   "compute threads per rank (0: sweep.threads, else "
                   "cores / ranks on the node)")
      ->check(CLI::Range(0, 1024));  // sweep.threads' bounds
  add_choice(c->cli, "--progress", o.progress,
             "rank 0's progress: bar (a live line; mpirun's output is no terminal, so auto picks "
             "lines there), lines, none, or auto");
  c->cli->add_option("--progress-every", o.progress_every, "seconds between progress lines")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            // CLI11's PositiveNumber names its bound as a 309-digit number.
            char* end = nullptr;
            const double v = std::strtod(value.c_str(), &end);
            if (end == value.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0)
              return "expected a number of seconds > 0, got " + value;
            return "";
          },
          "SECONDS > 0"))
      ->capture_default_str();
  c->cli->add_flag("--check", o.check,
                   "the start-up only, on every rank: open and check the cache, refuse targets "
                   "that cannot be scored, build the plan and the results layout, report the time "
                   "taken and exit 0; the results file is not created or touched");
  c->cli->add_flag("--verbose,-v", o.verbose,
                   "debug lines from every rank: encoders sent to peers, kept copies freed");
  return c;
}

}  // namespace ordertune

// sweep — `mpirun -np N ordertune sweep --config FILE`: the plan's nodes run on N ranks (N / G
// workers of G ranks), results go into one parallel HDF5 file (results.h).
//
// Roles. World rank 0 coordinates (the Scheduler of scheduler.h decides who runs what) and also
// works: it answers other workers' requests between its own training steps and while it waits.
// A worker (the leader of a group) asks for a node, runs it, writes its rows of the results
// file, and asks again. Waiting never spins: requests are polled with MPI_Test and short sleeps
// (these machines have 2 cores per 2 ranks). The messages and the order they come in are
// protocol.h's; one node's run, apart from the messages, is node_run.h's.
//
// Weights. A stage node starts from its parent's encoder: from this worker's memory when it ran
// the parent last, else from the results file (the parent's row in /checkpoints). Nodes whose
// parent encoder is neither in this worker's memory nor kept in the file are only given to the
// worker that holds it. With checkpoint_dtype = bf16 the held copy is rounded to bf16 too, so a
// child computes the same numbers whichever way its parent arrives.
//
// Determinism (src/DESIGN.md, decision 6): a node's numbers depend on its seed and its
// parent's weights only, so 1, 2 or 3 ranks give identical results with a fixed thread count
// (sweep.threads; 0 means cores / ranks, which changes with the rank count).
//
// Resume and signals (decision 8): re-running continues an unfinished file; done nodes are
// skipped, a node interrupted mid-way is re-run from its start (its numbers are the same), and a
// done node whose encoder was not kept is re-run when a pending child needs it. SIGTERM and
// SIGUSR1 make every rank stop at the next step boundary and exit 0 (the interrupted nodes stay
// pending). kill -9 at any moment leaves a readable file (results.h).
#pragma once

#include <filesystem>
#include <string>

#include <mpi.h>

#include "ordertune/config/config.h"

namespace ordertune {

struct SweepOptions {
  std::filesystem::path results;  // "" = output.results of the config
  int threads = 0;                // 0 = sweep.threads of the config
  std::string progress = "auto";  // rank 0: bar (live line), lines (periodic log lines), none;
                                  // auto = bar when stderr is a terminal, else lines
  double progress_every = 60.0;   // seconds between progress lines in "lines" mode
  bool verbose = false;           // every rank also logs debug lines: encoders sent to peers,
                                  // kept copies freed (scheduler.h rules 5 and 6)
};

// Runs (or resumes) the sweep on every rank of `world`; returns the exit code (0 also when
// stopped by a signal: re-running continues).
int run_sweep(const SweepConfig& config, const SweepOptions& options, MPI_Comm world);

}  // namespace ordertune

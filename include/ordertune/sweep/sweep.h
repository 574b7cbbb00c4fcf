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
// Weights (decision 5). A node starts from its parent's encoder, from the cheapest source: this
// worker's memory when it ran (or kept) the parent, else the worker that holds it (sent over
// MPI at the holder's next step boundary), else the results file (the parent's row in
// /checkpoints). With output.checkpoints = "none" nothing is read from the file: a worker keeps
// the last copy of an encoder until its children have started (scheduler.h, rule 6). With
// checkpoint_dtype = bf16 a held copy is rounded to bf16 too, so a child computes the same
// numbers whichever way its parent arrives.
//
// Determinism (src/DESIGN.md, decision 6): a node's numbers depend on its seed and its
// parent's weights only, so 1, 2 or 3 ranks give identical results with a fixed thread count
// (sweep.threads; 0 means cores / ranks, which changes with the rank count).
//
// Resume and signals (decision 8): re-running continues an unfinished file; done nodes are
// skipped, a node interrupted mid-way continues from its last resume snapshot (resume.h:
// written every output.resume_every steps and when a signal stops it; from its start when there
// is none; the numbers are the same either way), and a done node whose encoder was not kept is
// trained again when a pending child needs it. SIGTERM and SIGUSR1 make every rank stop at its
// next step boundary, write snapshots of the nodes it trains and exit 0. kill -9 at any moment
// leaves a readable file (results.h).
#pragma once

#include <filesystem>
#include <string>

#include <mpi.h>

#include "ordertune/config/config.h"

namespace ordertune {

// How rank 0 shows progress.
enum class ProgressStyle {
  kAuto,   // a bar when stderr is a terminal, else lines
  kBar,    // one live line at the bottom of a terminal
  kLines,  // a log line every progress_every seconds
  kNone,
};
template <>
struct ChoiceTraits<ProgressStyle> {
  static constexpr Spelling<ProgressStyle> spellings[] = {{ProgressStyle::kAuto, "auto"},
                                                          {ProgressStyle::kBar, "bar"},
                                                          {ProgressStyle::kLines, "lines"},
                                                          {ProgressStyle::kNone, "none"}};
};

struct SweepOptions {
  std::filesystem::path results;                  // "" = output.results of the config
  int threads = 0;                                // 0 = sweep.threads of the config
  ProgressStyle progress = ProgressStyle::kAuto;  // rank 0's progress display
  double progress_every = 60.0;                   // seconds between progress lines in "lines" mode
  bool verbose = false;  // every rank also logs debug lines: encoders sent to peers,
                         // kept copies freed (scheduler.h rules 5 and 6)
  bool check = false;    // the start-up only: every rank opens and checks the cache, refuses
                         // unscorable targets, builds the plan and the results layout, then
                         // exits 0 without creating or touching the results file
};

// Runs (or resumes) the sweep on every rank of `world`; returns the exit code (0 also when
// stopped by a signal: re-running continues).
int run_sweep(const SweepConfig& config, const SweepOptions& options, MPI_Comm world);

}  // namespace ordertune

// scheduler — which node of the plan an idle worker (a group of sweep.group_size ranks) runs
// next, and where the parent's weights come from. ONE class, used by the real sweep (the
// coordinating rank calls it as requests arrive) and by simulate() below (STYLE.md, rule 8).
// No MPI, no clocks, no randomness: the same calls give the same answers.
//
// Rules.
//  0. The root runs on every worker at once, before anything else (the sweep spreads its MLM
//     pretraining over all ranks, bitwise as one rank: trainer.h, TrainHooks::spread; or every
//     rank loads the checkpoint). complete_everywhere() then marks it done and held by every
//     worker, so that every first child starts from own memory. A resumed sweep whose root is done
//     starts without it.
//  1. A node is runnable when its parent is done (the root: always), it is not done and no worker
//     has it. Nodes marked done (a resumed results file) are never run again.
//  2. Priority = the longest remaining path below a node: its current cost estimate plus the
//     largest priority among its children (the critical-path rule of list scheduling, which is
//     what keeps the makespan near max(work / workers, longest path) on out-trees). Estimates are
//     the plan's costs times CostModel's run-time corrections (observe() at every finish);
//     priorities are recomputed when a correction has moved by more than kRepriorityThreshold.
//     Ties go to the smaller node id.
//  3. Locality. A worker holds the encoder of the last root/stage node it finished (a target
//     fine-tunes a copy and changes nothing; a stage trains in place and consumes it). It takes,
//     in this order: the best runnable target leaf below the node it holds (the encoder stays,
//     and peers can copy it meanwhile), [rule 6: a child of a kept copy,] the best runnable
//     stage child of that node (from its own memory), the best runnable node anywhere. A local
//     choice is skipped when it would delay critical work, i.e. when BOTH
//        priority(local) < kLocalityFraction * priority(best), and
//        priority(best)  > kCriticalFraction * horizon,
//     where best is the runnable node of highest priority and horizon = max(remaining work /
//     workers, priority(best)) estimates the remaining makespan: a node whose remaining path is
//     well below it has slack to wait for the next free worker. Early in a large sweep almost
//     everything has slack and workers stay with their encoders (an order's target leaves run
//     one after another from memory before its stage children); near the end, or when the
//     longest path dominates (many workers), the critical chain wins.
//  4. No worker idles while runnable work exists: next() returns a node whenever one is runnable.
//  5. Weights of the parent: kOwnMemory if this worker holds it, else kPeer if another worker
//     holds it (an idle holder first, then the lowest index; a busy holder is running a target
//     leaf on a copy and must serve the weights between its steps), else kResultsFile. The
//     scheduler assumes the encoder of every finished root/stage node with children can be read
//     from the results file (results.h keeps what the sweep must hand between ranks), unless
//     parents_in_file is false (rule 6). A worker that
//     starts a stage node gives up the encoder it held: it trains in place, and holds the new
//     node when it finishes.
//  6. Without encoders in the results file (output.checkpoints = "none": parents_in_file =
//     false; and for a target's pre-stage whatever the setting, plan.h target_prestage) an
//     encoder must stay in some worker's memory until each of its children has started.
//     A worker about to give up the last copy of an encoder with children not yet started keeps
//     it (Assignment::keep_held): it serves it to peers and continues from it itself (kOwnMemory).
//     When the last child has started, take_releases() names the workers that may free their
//     kept copies. kResultsFile is then never answered. To keep the copies few, rule 3 gets a
//     step between a target leaf and a stage child of the held encoder: the best runnable child
//     of the kept copy with the fewest children left to start (from its keeper), on the same
//     terms as a local choice. Without it, workers open prefixes faster than they finish them:
//     the triples study kept up to 28 copies per worker on 8 workers, 4 with it (simulate()
//     reports the most copies one worker kept at once).
//
// Protocol: complete_everywhere(root, ...) while the root is not done, then next(w, now) ->
// Assignment (the node is then the worker's until finished()); started(w, node, now) when
// computation really begins (after receiving weights; for progress only); finished(w, node, now,
// measured_s); after each finish, assign_waiting(now) hands newly runnable nodes to workers whose
// last next() found nothing.
#pragma once

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ordertune/plan/plan.h"

namespace ordertune {

enum class WeightSource : int8_t {
  kNone = 0,         // the root: no parent (load the checkpoint or pretrain)
  kOwnMemory = 1,    // this worker holds the parent's encoder
  kPeer = 2,         // another worker holds it: Assignment::peer
  kResultsFile = 3,  // nobody holds it: read the checkpoint written when it finished
};
const char* weight_source_name(WeightSource source);

struct Assignment {
  int64_t node = -1;      // the node to run; -1 = nothing runnable now (ask after the next finish)
  bool finished = false;  // every node is done: the worker may stop
  WeightSource source = WeightSource::kNone;
  int peer = -1;  // with kPeer: the worker that holds the parent
  // Rule 6: keep a copy of the encoder this worker held before this (stage) node; it is freed
  // when take_releases() names it.
  bool keep_held = false;
};

struct Progress {
  int64_t total_nodes = 0;
  int64_t done_nodes = 0;
  int64_t running_nodes = 0;
  int64_t runnable_nodes = 0;
  double done_work_s = 0.0;       // current estimates of the done nodes
  double remaining_work_s = 0.0;  // current estimates of the nodes not done
  double eta_s = 0.0;             // max(remaining work / workers, longest remaining path)
};

class Scheduler {
 public:
  // Locality rule (rule 3 above).
  static constexpr double kLocalityFraction = 0.9;
  static constexpr double kCriticalFraction = 0.9;
  // Priorities are recomputed when a cost correction moved by more than this fraction.
  static constexpr double kRepriorityThreshold = 0.02;

  // `plan` must outlive the scheduler. `done`: per node, from a resumed results file (empty =
  // nothing done). `workers` >= 1.
  // parents_in_file = false: the results file keeps no encoders (rule 6).
  Scheduler(const Plan& plan, int workers, const std::vector<uint8_t>& done = {},
            bool parents_in_file = true);

  Assignment next(int worker, double now);
  void started(int worker, int64_t node, double now);
  // measured_seconds: the node's compute time, without waiting for weights (refines the costs).
  void finished(int worker, int64_t node, double now, double measured_seconds);
  // Rule 0: the root (runnable, nothing running) was computed by every worker together in
  // `measured_seconds` of wall time; it is done and every worker holds it.
  void complete_everywhere(int64_t node, double measured_seconds);
  // After finished(): hands runnable nodes to the waiting workers (ascending index) until none is
  // left; returns (worker, assignment) for each worker served. Once every node is done, each
  // waiting worker gets `finished` (once) and is forgotten.
  std::vector<std::pair<int, Assignment>> assign_waiting(double now);

  bool all_done() const { return done_count_ == static_cast<int64_t>(plan_.nodes.size()); }
  int64_t remaining() const { return static_cast<int64_t>(plan_.nodes.size()) - done_count_; }
  Progress progress() const;

  int workers() const { return workers_; }
  const CostModel& costs() const { return costs_; }
  double priority(int64_t node) const { return priority_[static_cast<size_t>(node)]; }
  double estimate(int64_t node) const;  // current cost estimate of a node, seconds
  int64_t held_by(int worker) const { return held_[static_cast<size_t>(worker)]; }
  int64_t running_on(int worker) const { return running_[static_cast<size_t>(worker)]; }
  bool is_done(int64_t node) const { return state_[static_cast<size_t>(node)] == State::kDone; }
  bool is_runnable(int64_t node) const {
    return state_[static_cast<size_t>(node)] == State::kRunnable;
  }
  bool waiting(int worker) const { return waiting_.count(worker) != 0; }
  // Rule 6: the encoders a worker keeps besides the one it holds.
  const std::set<int64_t>& kept_by(int worker) const { return kept_[static_cast<size_t>(worker)]; }
  // Rule 6: (worker, node) pairs whose kept copies are no longer needed, since the last call.
  std::vector<std::pair<int, int64_t>> take_releases();

 private:
  enum class State : uint8_t { kBlocked, kRunnable, kRunning, kDone };
  struct ByPriority {
    const Scheduler* s;
    bool operator()(int64_t a, int64_t b) const;  // higher priority first, then smaller id
  };

  void recompute_priorities();
  void make_runnable(int64_t node);
  int64_t best_local(int worker, NodeKind kind) const;  // best runnable child of the held node
  Assignment assign(int worker, int64_t node, double now);
  void set_held(int worker, int64_t node);
  void mark_done(int64_t node, double measured_seconds);  // children runnable, costs observed

  const Plan& plan_;
  int workers_;
  CostModel costs_;
  std::vector<State> state_;
  std::vector<double> priority_;
  std::vector<double> start_;  // start time of running nodes
  std::set<int64_t, ByPriority> runnable_;
  std::vector<int64_t> held_;              // per worker: node whose encoder it holds, -1 none
  std::vector<int64_t> running_;           // per worker: node it runs, -1 none
  std::vector<std::vector<int>> holders_;  // per node: workers holding (or keeping) its encoder
  bool parents_in_file_ = true;
  // Whether the results file has `node`'s encoder: parents_in_file, except a target's pre-stage,
  // which "interior" keeps out (plan.h keeps_checkpoint); rule 6 keeps a copy of it in memory.
  bool in_file(int64_t node) const {
    return parents_in_file_ && !plan_.nodes[static_cast<size_t>(node)].target_prestage;
  }
  std::vector<std::set<int64_t>> kept_;  // per worker: encoders kept besides the held one
  std::set<int64_t> kept_anywhere_;      // nodes some worker keeps
  std::vector<int64_t> unstarted_;       // per node: children not yet assigned
  std::vector<std::pair<int, int64_t>> releases_;
  std::set<int> waiting_;                    // workers whose last next() found nothing
  std::vector<double> factors_at_priority_;  // corrections used by the current priorities
  std::vector<std::string> keys_;            // distinct cost keys
  std::vector<int> key_index_;               // per node: index into keys_
  int64_t done_count_ = 0;
  double remaining_work_s_ = 0.0;  // sum of estimates of nodes not done
};

// ---- simulation ---------------------------------------------------------------------------------

struct SimulatedRun {
  int64_t node = -1;
  int worker = -1;
  double start = 0.0, end = 0.0;  // start includes the weight transfer
  WeightSource source = WeightSource::kNone;
};

struct SimulationResult {
  int workers = 0;
  double makespan_s = 0.0;
  double lower_bound_s = 0.0;         // plan.lower_bound_s(workers)
  double busy_fraction = 0.0;         // sum of busy time / (workers * makespan)
  std::vector<double> worker_busy_s;  // per worker: node durations plus transfers
  int64_t from_memory = 0, from_peer = 0, from_file = 0;  // parent weights, by source
  int64_t max_kept = 0;     // rule 6: the most encoders one worker kept at once besides its own
  double transfer_s = 0.0;  // total time spent receiving weights
  std::vector<SimulatedRun> runs;  // in order of start
};

// Event-driven simulation of the sweep with `workers` workers and node durations = the plan's
// estimated costs, driven by the Scheduler above (the same calls the sweep makes): the root on
// every worker at once, taking its cost / workers (rule 0), then list scheduling. A weight
// transfer from a peer or the results file adds its seconds before a node starts computing.
// The root's run is recorded once, with worker -1; worker_busy_s counts its time for everyone.
SimulationResult simulate(const Plan& plan, int workers, double transfer_seconds_peer = 0.0,
                          double transfer_seconds_file = 0.0, bool parents_in_file = true);

// ---- `ordertune plan`
// ----------------------------------------------------------------------------

struct PlanCommand {
  std::string config;     // sweep config (TOML)
  int ranks = 1;          // MPI ranks; workers = ranks / sweep.group_size
  bool simulate = false;  // also simulate the schedule
  bool json = false;      // one JSON line instead of one line per number
};
// Prints nodes, stage_runs, naive_stage_runs, target_runs, total_work_s, longest_path_s,
// lower_bound_s, [makespan_s, busy_fraction, [kept_encoders_max: output.checkpoints = "none"]],
// results_file_bytes, memory_per_rank_bytes.
// Throws ConfigError for a bad config or --ranks.
int run_plan(const PlanCommand& command, std::ostream& out);

}  // namespace ordertune

// node_run — one node of the plan on one worker (a group of ranks), apart from the messages that
// decide which (sweep.cpp, protocol.h): the parent's encoder (held, kept, from a peer or from the
// results file), training with stop decisions at step boundaries and resume snapshots
// (resume.h), the node's rows of the results file, and the encoders the worker keeps in memory
// (scheduler.h rules 3, 5 and 6).
//
// Every rank of the group runs the same calls; the leader (group rank 0) alone writes: the node's
// start, snapshots, checkpoint and record, its done mark last (src/DESIGN.md, decision 4).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "ordertune/config/config.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/model/model.h"
#include "ordertune/plan/plan.h"
#include "ordertune/sweep/peer_transfer.h"
#include "ordertune/sweep/protocol.h"
#include "ordertune/sweep/results.h"
#include "ordertune/sweep/resume.h"
#include "ordertune/train/runner.h"

namespace ordertune {

// The sweep's clock: seconds since the Unix epoch, as the results file stores start and end times.
double unix_now();

// What every rank of the sweep decided identically before the first node.
struct SweepContext {
  const SweepConfig& config;
  TaskData& data;
  const Plan& plan;
  ResultsFile& results;
  const ResultsLayout& layout;
  RankLayout& ranks;
  Communicator* group;  // nullptr when the group is one rank
  const ResumeStore& resume;
  torch::Device device;  // this rank's: a GPU chosen from the node-local rank, else the CPU
};

// The encoders in a worker's memory: the one it holds (of the last root or stage node it
// finished; scheduler.h rule 3) and the copies it keeps for peers and later children (rule 6).
// Every rank of the group keeps the same ones.
class HeldEncoders {
 public:
  // `e` becomes the held encoder (the previous one stays only if kept).
  void hold(int64_t node, XlmrEncoder e);
  // Rule 6: the held encoder also stays as a kept copy, in host memory (not on the GPU).
  void keep_held();
  // Frees the kept copy of `node` (Drop).
  void drop(int64_t node);
  // The held or kept encoder of `node`; empty when neither.
  XlmrEncoder find(int64_t node) const;
  int64_t held_node() const { return held_ ? held_node_ : -1; }
  size_t kept_count() const { return kept_.size(); }

 private:
  XlmrEncoder held_{nullptr};
  int64_t held_node_ = -1;
  std::map<int64_t, XlmrEncoder> kept_;
};

class NodeRunner {
 public:
  // `keep_going` is called at every step boundary by the rank that decides for its group; false
  // stops the node there (signals). `while_waiting` is called while this worker's leader waits
  // for a peer's encoder. Both also keep the sweep's messages flowing (sweep.cpp).
  NodeRunner(SweepContext& s, PeerTransfer& peers, std::function<bool()> keep_going,
             std::function<void()> while_waiting);

  // The root on every rank of the world at once (scheduler.h rule 0): the tiny model's MLM
  // pretraining spread over the ranks by micro-batch, bitwise as one rank (TrainHooks::spread),
  // or the checkpoint loaded by every rank. World rank 0 decides when a signal stops it and
  // writes its snapshots, checkpoint and record; afterwards every worker holds the root. Returns
  // false when stopped by a signal.
  bool run_root_everywhere(Communicator* everyone);
  // A stage or target node of this worker (every rank of its group). Returns false when stopped
  // by a signal before the node finished.
  bool run(const protocol::Run& run);

  HeldEncoders& encoders() { return encoders_; }
  // The last finished node: its wall time from start to record (the root) and training tokens.
  double last_seconds() const { return last_seconds_; }
  int64_t last_tokens() const { return last_tokens_; }
  // Where the parents of this session's nodes came from, when not held.
  int64_t peer_transfers() const { return peer_transfers_; }
  int64_t file_reads() const { return file_reads_; }

 private:
  // A node between begin_node and finish_node: its training hooks (stop decisions by rank 0 of
  // `ranks`, resume snapshots written by `writer`), its snapshot and its record.
  struct Started {
    TrainHooks hooks;
    std::optional<TrainerSnapshot> snapshot;
    NodeRecord rec;
    bool interrupted = false;
  };
  void begin_node(int64_t id, Communicator* ranks, bool writer, const std::string& where,
                  Started& run);
  // The node's times, then (by `writer`) its data and done mark; its resume snapshot is then no
  // longer needed.
  void finish_node(int64_t id, NodeRecord& rec, bool writer);
  // The parent's encoder: held, kept, from the peer that holds it, or from the results file.
  XlmrEncoder parent_encoder(int64_t parent, const protocol::Run& run, double* wait);
  // A fresh encoder of the sweep's architecture on this rank's device.
  XlmrEncoder blank_encoder();
  // Holds the node's encoder, rounded as the file stores it (so a child computes the same
  // numbers whichever way its parent arrives).
  void hold(int64_t node, XlmrEncoder e);

  SweepContext& s_;
  PeerTransfer& peers_;
  std::function<bool()> keep_going_;
  std::function<void()> while_waiting_;
  bool leader_;
  HeldEncoders encoders_;
  double last_seconds_ = 0;
  int64_t last_tokens_ = 0;
  int64_t peer_transfers_ = 0, file_reads_ = 0;
};

}  // namespace ordertune

// protocol — the messages between the sweep's coordinator (world rank 0) and the worker leaders
// (group rank 0 of each worker), their wire format, and the order they come in (sweep.h).
//
// Tags, all point to point on the sweep's world communicator:
//   kTagRequest  leader -> coordinator   Request: the node it finished (or none); what next?
//   kTagReply    coordinator -> leader   Reply: Run, Finish, Serve or Drop
//   kTagWeights  leader -> leader        an encoder (peer_transfer.h)
// A Request and a Reply travel as kWireInts int64 values; pack() and unpack() below are the one
// place that knows the layout, and unpack() rejects what pack() cannot produce (ProtocolError).
// The coordinator's own worker (worker 0, on rank 0) gets the same Reply values from the
// coordinator's queues instead of over MPI.
//
// Ordering rules. MPI delivers the messages of one (sender, receiver, communicator, tag) in the
// order they were sent (its non-overtaking rule), so everything the coordinator tells a leader
// goes on the one tag kTagReply, and the rules follow from the order the coordinator sends in:
//  1. One answer per request. A leader has at most one Request outstanding, and the coordinator
//     answers it with exactly one Run or Finish. A leader that is running a node (not waiting
//     for an answer) therefore receives only Serve and Drop; a Run or Finish then is an error.
//  2. Serve of node N to holder H: "send N's encoder to world rank `to`". It can come at any
//     time: while H waits for its answer (H serves it, then waits on) and while H runs a node (H
//     serves between training steps). It is sent on kTagReply after every Run sent to H before
//     it, and before H's next Run, so H handles it while it still holds the encoder the
//     scheduler counted on: H cannot start a stage child of N (which trains N's encoder in
//     place) before it has served every Serve sent before that child's Run.
//  3. Each Run whose parent comes from a peer (WeightSource::kPeer) is followed by exactly one
//     Serve of that parent to the holder named in the Run, sent after the Run: the requester is
//     already waiting for the encoder when the holder sends it, or soon will be. No second such
//     Run goes to the requester before that Serve.
//  4. Drop of node N: "the copy of N you keep (scheduler.h rule 6) is no longer needed". It comes
//     after every Serve of N to that leader (the scheduler releases a kept copy only when every
//     child of N has started, and the coordinator sends releases after the answers of the
//     request that caused them), so a Serve of N after a Drop of N is an error, and so is a
//     second Drop of N.
//  5. A leader applies the Drops it received at its next request, together with every rank of
//     its group (the worker broadcasts them with the answer), never between a Serve and the
//     transfer it asks for.
//  6. Stop: the first stopped Request (a signal on any rank), or a signal on the coordinator's
//     rank, makes the coordinator send one Stop to every leader it has not sent Finish, and
//     answer every request from then on with Finish: one rank's signal ends the whole job at the
//     next step boundary, as a signal to every rank does.
//  7. Stop notice: a leader signalled while it waits for its answer (idle: nothing to run yet)
//     sends one Request with `notice` set. It is not a request (rule 1 still counts one
//     outstanding): the coordinator stops as in rule 6, and the Finish it then sends answers the
//     request the leader waits on. (Without it an idle rank's signal was never seen: issue 16.)
// Finish is the last reply a leader reads: it then leaves the message loop.
// ReplyOrder checks rules 1, 3 and 4 on the coordinator before every reply it sends (to every
// leader, its own worker included); ReplyStream checks 1 and 4 on each leader for every reply it
// receives. A violation is a ProtocolError, which ends the job (run_sweep aborts it).
//
// Why this header is LibTorch-free and its tests live in tests/engine: the protocol needs only
// MPI and the plan's types, but src/sweep/*.cpp is compiled into ordertune_engine (CMake globs
// the folder), which tests/unit (core + text only) cannot link. Keeping pack/unpack in one
// source file, next to their MPI helpers, is worth more than a header-only copy for tests/unit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <mpi.h>

#include "ordertune/base/error.h"
#include "ordertune/plan/plan.h"
#include "ordertune/plan/scheduler.h"

namespace ordertune {

// A message that breaks the wire format or the ordering rules above: a bug in ordertune (or a
// foreign process on the sweep's tags), never the user's input.
class ProtocolError : public Error {
 public:
  using Error::Error;
};

namespace protocol {

inline constexpr int kTagRequest = 7101;
inline constexpr int kTagReply = 7102;
inline constexpr int kTagWeights = 7103;
inline constexpr int kWireInts = 5;  // int64 values per Request and per Reply
using Wire = std::array<int64_t, kWireInts>;

// Worker leader -> coordinator: the node it just finished (or -1: none, e.g. the first request
// or a node stopped by a signal) with its wall time and training tokens, and whether a signal
// stopped it. Wire: {worker, finished, stopped (0, 1, or 2 for a notice), milliseconds, tokens};
// seconds travel as whole milliseconds (truncated), which is all the scheduler's cost
// corrections need.
struct Request {
  int worker = 0;         // the asking worker's index (its leader is world rank worker * G)
  int64_t finished = -1;  // node id, -1 = none
  bool stopped = false;   // a signal stopped its last node: it wants Finish
  bool notice = false;    // rule 7: a signal while it waits; not a request (finished is -1)
  double seconds = 0.0;   // the finished node's wall time
  int64_t tokens = 0;     // its training tokens (progress)
};

// Run `node`; its parent's encoder comes from `source`: with kPeer the leader at world rank
// `holder` sends it (Serve), else holder is -1. keep_held (scheduler.h rule 6): before starting,
// keep a copy of the encoder this worker holds. Wire: {0, node, source, holder, keep_held}.
struct Run {
  int64_t node = -1;
  WeightSource source = WeightSource::kNone;
  int holder = -1;
  bool keep_held = false;
};
// No more work: leave the message loop. Wire: {1, -1, -1, -1, -1}.
struct Finish {};
// Send the encoder of `node` (held or kept) to the leader at world rank `to`, which runs a child
// of it. Wire: {2, node, to, -1, -1}.
struct Serve {
  int64_t node = -1;
  int to = -1;
};
// The kept copy of `node` is no longer needed: free it at the next request. Wire: {3, node, -1,
// -1, -1}.
struct Drop {
  int64_t node = -1;
};
// A signal reached another rank: stop at the next training step as if signalled here, then ask
// with `stopped` set (the answer is Finish). At most once per leader, at any time before its
// Finish. Wire: {4, -1, -1, -1, -1}.
struct Stop {};
using Reply = std::variant<Run, Finish, Serve, Drop, Stop>;

// "Run r0/a (from peer rank 2)", "Serve 3 to rank 4", ... for error and debug messages.
std::string describe(const Reply& reply);

// The wire format. unpack() throws ProtocolError for values pack() never writes (an unknown
// kind, a negative node, a peer source without a holder, an unused slot that is not -1, ...).
Wire pack(const Request& request);
Request unpack_request(const Wire& in);
Wire pack(const Reply& reply);
Reply unpack_reply(const Wire& in);

// The reply that hands a scheduler Assignment to its worker: Run for a node, Finish when the
// scheduler said finished. `group_size` turns the holder's worker index into its leader's world
// rank. An Assignment with neither is not an answer: ProtocolError.
Reply reply_for(const Assignment& assignment, int group_size);

// One leader's reply stream (rules 1 and 4), as the leader receives it or the coordinator sends
// it. Throws ProtocolError naming the worker and the rule.
class ReplyStream {
 public:
  explicit ReplyStream(int worker = 0) : worker_(worker) {}
  // A Request went out (leader) or came in (coordinator).
  void requested();
  // The next reply of the stream. Returns true when it answers the request (Run or Finish).
  bool replied(const Reply& reply);
  bool awaiting() const { return awaiting_; }

 private:
  int worker_;
  bool awaiting_ = false;
  bool stopped_ = false;          // a Stop came (rule 6)
  std::vector<int64_t> dropped_;  // nodes dropped so far (few: rule 6 keeps few copies)
};

// The coordinator's side: every leader's stream, and the peer hand-offs between them (rule 3:
// each Run from a peer is followed by one Serve of its parent to the holder it names). `plan`
// must outlive it. Throws ProtocolError.
class ReplyOrder {
 public:
  ReplyOrder(const Plan& plan, int workers, int group_size);
  void requested(int worker);
  // Before `reply` goes to `worker` (over MPI or the coordinator's own queues).
  void sending(int worker, const Reply& reply);
  // Whether a Serve is still owed for `worker`'s Run (rule 3).
  bool serve_owed(int worker) const { return owed_[static_cast<size_t>(worker)].node >= 0; }

 private:
  struct Owed {         // rule 3: the Serve a requester waits for
    int64_t node = -1;  // the parent, -1 = nothing owed
    int holder = -1;    // the holder's leader's world rank
  };
  int worker_of(int world_rank, const char* what) const;

  const Plan& plan_;
  int group_size_;
  std::vector<ReplyStream> streams_;
  std::vector<Owed> owed_;
};

// ---- over MPI (every call through OT_MPI_CHECK) -------------------------------------------
// Sends are standard-mode MPI_Send of kWireInts values (small: MPI sends them eagerly). The
// receives never block: a leader or the coordinator polls them between training steps.

void send_request(MPI_Comm world, const Request& request);  // to the coordinator (rank 0)
// Coordinator: the next pending Request, if any. Its sender must be the leader of the worker it
// names (world rank worker * group_size): ProtocolError otherwise.
bool receive_request(MPI_Comm world, int group_size, Request* out);
void send_reply(MPI_Comm world, int to, const Reply& reply);
// Leader: the next pending Reply from the coordinator, if any (in the order sent: rule 2).
bool receive_reply(MPI_Comm world, Reply* out);

}  // namespace protocol
}  // namespace ordertune

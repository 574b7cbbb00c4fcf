// peer_transfer — an encoder from one worker's memory to another's over MPI (src/DESIGN.md,
// decision 5: a node's parent weights come from own memory, a peer's memory, then the results
// file; scheduler.h rule 5). The coordinator's Serve (protocol.h) tells the holder's leader to
// send; the Run of the child tells the requester's leader to receive.
//
// On protocol::kTagWeights between the two leaders: a header {node, parameters} (parameters =
// -1 when the holder no longer has the encoder: the requester then reads the results file), then
// each parameter as float32 in named_parameters() order, which is the same in every encoder of
// the sweep. The parameters go through the MPI Communicator's send/recv on the world
// communicator (communicator.h), which cuts buffers beyond MPI's int count into pieces and checks
// each piece's size. The receiving leader broadcasts header verdict and parameters to its group.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <mpi.h>

#include "ordertune/dist/communicator.h"
#include "ordertune/model/model.h"
#include "ordertune/plan/plan.h"

namespace ordertune {

class PeerTransfer {
 public:
  // `world`: the sweep's communicator (world ranks address leaders). `group`: this worker's
  // group (nullptr = one rank); `leader`: whether this rank is its group rank 0, the one that
  // talks to other workers. `plan` names nodes in debug lines.
  PeerTransfer(MPI_Comm world, Communicator* group, bool leader, const Plan& plan);

  // Leader: sends `source`, the encoder of `node`, to the leader at world rank `to`; an empty
  // `source` (this worker no longer has it) sends only the header that says so. Blocks until
  // the peer has received the parameters (standard-mode sends of large buffers).
  void send(int64_t node, const XlmrEncoder& source, int to);

  // Every rank of the group: receives `node`'s encoder from the leader at world rank `from`
  // into `into` (its parameters are overwritten; their dtype and device stay). While the leader
  // waits for the header it calls `while_waiting` (the sweep serves the coordinator's requests
  // and its own peers meanwhile: two workers may wait on each other) and sleeps briefly.
  // Returns false when the peer no longer had the encoder (nothing was overwritten).
  bool receive(int64_t node, int from, XlmrEncoder& into,
               const std::function<void()>& while_waiting);

 private:
  MPI_Comm world_;
  std::unique_ptr<Communicator> link_;  // MPI point to point on world_, for the parameters
  Communicator* group_;
  bool leader_;
  const Plan& plan_;
};

}  // namespace ordertune

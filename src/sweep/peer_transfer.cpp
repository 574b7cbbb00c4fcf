#include "ordertune/sweep/peer_transfer.h"

#include "ordertune/model/torch_env.h"

#include <chrono>
#include <thread>
#include <vector>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/dist/mpi_check.h"
#include "ordertune/sweep/protocol.h"

namespace ordertune {
namespace {

constexpr auto kPollSleep = std::chrono::milliseconds(2);
constexpr int kHeaderInts = 2;  // {node, parameters or -1}

}  // namespace

PeerTransfer::PeerTransfer(MPI_Comm world, Communicator* group, bool leader, const Plan& plan)
    : world_(world),
      link_(make_mpi_communicator(world)),
      group_(group),
      leader_(leader),
      plan_(plan) {}

void PeerTransfer::send(int64_t node, const XlmrEncoder& source, int to) {
  const bool have = static_cast<bool>(source);
  int64_t header[kHeaderInts] = {node, -1};
  std::vector<torch::Tensor> params;
  if (have) {
    header[1] = 0;
    for (const auto& p : source->parameters()) {
      params.push_back(p.detach().to(torch::kCPU, torch::kFloat32).contiguous());
      header[1] += p.numel();
    }
  }
  OT_MPI_CHECK(MPI_Send(header, kHeaderInts, MPI_INT64_T, to, protocol::kTagWeights, world_));
  for (const torch::Tensor& p : params) link_->send(p, to, protocol::kTagWeights);
  if (have)
    log::debug("sent the encoder of {} to rank {}",
               node_name(plan_.nodes[static_cast<size_t>(node)]), to);
}

bool PeerTransfer::receive(int64_t node, int from, XlmrEncoder& into,
                           const std::function<void()>& while_waiting) {
  int64_t ok = 0;
  std::vector<torch::Tensor> params;
  for (const auto& p : into->parameters()) params.push_back(p);
  if (leader_) {
    int64_t header[kHeaderInts] = {-1, -1};
    MPI_Request req;
    OT_MPI_CHECK(
        MPI_Irecv(header, kHeaderInts, MPI_INT64_T, from, protocol::kTagWeights, world_, &req));
    int done = 0;
    while (!done) {
      OT_MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
      if (done) break;
      while_waiting();
      std::this_thread::sleep_for(kPollSleep);
    }
    int64_t total = 0;
    for (const torch::Tensor& p : params) total += p.numel();
    OT_CHECK(header[0] == node && (header[1] == -1 || header[1] == total),
             "rank {} sent node {} with {} parameters; expected node {} with {}", from, header[0],
             header[1], node, total);
    ok = header[1] == total;
  }
  if (group_) group_->broadcast_host(ok, 0);
  if (!ok) return false;
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : params) {
    // The leader receives on the host (the link is MPI) and loads the parameter; the group then
    // copies the parameter itself, device data, from the leader.
    if (leader_) {
      torch::Tensor buffer = torch::empty({p.numel()}, torch::kFloat32);
      link_->recv(buffer, from, protocol::kTagWeights);
      p.copy_(buffer.view(p.sizes()).to(p.device(), p.scalar_type()));
    }
    if (group_) {
      torch::Tensor flat = p.view({-1});
      group_->broadcast(flat, 0);
    }
  }
  clear_autocast_cache();
  return true;
}

}  // namespace ordertune

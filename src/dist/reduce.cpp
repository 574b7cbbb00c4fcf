#include "ordertune/dist/reduce.h"

#include <torch/torch.h>

#include "ordertune/base/error.h"

namespace ordertune {

void chain_sum(Communicator& comm, torch::Tensor& grad, std::array<double, 2>& stats,
               const std::vector<torch::Tensor>& own_grads, const std::vector<double>& own_losses,
               double own_tokens, int tag) {
  const int rank = comm.rank(), size = comm.size();
  OT_CHECK(own_grads.size() == own_losses.size(), "chain_sum: {} gradients and {} losses",
           own_grads.size(), own_losses.size());
  OT_CHECK(rank > 0 || own_grads.empty(), "chain_sum: rank 0 passes its parts in grad and stats");
  if (rank > 0) {
    comm.recv(grad, rank - 1, tag);
    comm.recv_host(stats.data(), sizeof stats, rank - 1, tag);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < own_grads.size(); ++i) {
      grad.add_(own_grads[i]);
      stats[0] += own_losses[i];
    }
    stats[1] += own_tokens;
  }
  if (rank + 1 < size) {
    comm.send(grad, rank + 1, tag);
    comm.send_host(stats.data(), sizeof stats, rank + 1, tag);
  }
  comm.broadcast(grad, size - 1);
  comm.broadcast_host(stats, size - 1);
}

}  // namespace ordertune

#include "ordertune/dist/reduce.h"

#include <torch/torch.h>

#include "ordertune/base/error.h"

namespace ordertune {

void chain_sum(Communicator& comm, torch::Tensor& grad, torch::Tensor& stats,
               const std::vector<torch::Tensor>& own_grads, const std::vector<double>& own_losses,
               double own_tokens, int tag) {
  const int rank = comm.rank(), size = comm.size();
  OT_CHECK(own_grads.size() == own_losses.size(), "chain_sum: {} gradients and {} losses",
           own_grads.size(), own_losses.size());
  OT_CHECK(rank > 0 || own_grads.empty(), "chain_sum: rank 0 passes its parts in grad and stats");
  if (rank > 0) {
    comm.recv(grad, rank - 1, tag);
    comm.recv(stats, rank - 1, tag);
    double loss = stats[0].item<double>();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < own_grads.size(); ++i) {
      grad.add_(own_grads[i]);
      loss += own_losses[i];
    }
    stats = torch::tensor({loss, stats[1].item<double>() + own_tokens}, torch::kFloat64);
  }
  if (rank + 1 < size) {
    comm.send(grad, rank + 1, tag);
    comm.send(stats, rank + 1, tag);
  }
  comm.broadcast(grad, size - 1);
  comm.broadcast(stats, size - 1);
}

}  // namespace ordertune

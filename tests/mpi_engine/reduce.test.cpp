// Tests of reduce.h under mpiexec (2 and 3 ranks): chain_sum gives, on every rank, bit for bit
// the sums one rank gets by adding the micro-batches in order, however they are divided over the
// ranks; summing each rank's part first (what an all-reduce does) would round differently, and
// the test checks that its data would show that. Collectives first, assertions after.
#include "engine/engine_test.h"

#include <cstring>
#include <vector>

#include <mpi.h>

#include "ordertune/dist/communicator.h"
#include "ordertune/dist/reduce.h"

using namespace ordertune;

namespace {

// Micro-batch k's gradient: values spread over many magnitudes, so that the order of additions
// shows in the rounding.
torch::Tensor micro_grad(int64_t k) {
  torch::manual_seed(1000 + static_cast<uint64_t>(k));
  return torch::randn({257}) * torch::exp(torch::randn({257}) * 6.0);
}
double micro_loss(int64_t k) {
  return 1.0 / (3.0 + static_cast<double>(k)) * 1e3 + 1e-9 * static_cast<double>(k);
}
double micro_tokens(int64_t k) {
  return static_cast<double>(17 + 5 * k);
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype() &&
         std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<size_t>(a.nbytes())) == 0;
}

}  // namespace

TEST_CASE("chain_sum equals one rank's in-order sums bit for bit", "[mpi][reduce]") {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // Strict: the stats must travel as host data, as they must on NCCL (communicator.h).
  MpiCommunicatorOptions strict;
  strict.device_data_only = true;
  auto comm = make_mpi_communicator(MPI_COMM_WORLD, strict);
  for (const int64_t micro : {int64_t{1}, int64_t{2}, int64_t{5}, int64_t{8}}) {
    INFO(micro << " micro-batches on " << size << " ranks");
    // One rank alone: from zero, each micro-batch in order.
    torch::Tensor lone = torch::zeros({257});
    double lone_loss = 0, lone_tokens = 0;
    for (int64_t k = 0; k < micro; ++k) {
      lone.add_(micro_grad(k));
      lone_loss += micro_loss(k);
      lone_tokens += micro_tokens(k);
    }
    // This rank's contiguous run of micro-batches (as the trainer's slice_rows divides them).
    const int64_t base = micro / size, extra = micro % size;
    const int64_t first = rank * base + std::min<int64_t>(rank, extra);
    const int64_t last = first + base + (rank < extra ? 1 : 0);
    torch::Tensor grad = torch::zeros({257});
    std::array<double, 2> stats{0.0, 0.0};
    std::vector<torch::Tensor> own;
    std::vector<double> own_losses;
    double own_tokens = 0;
    if (rank == 0) {
      double loss = 0, tokens = 0;
      for (int64_t k = first; k < last; ++k) {
        grad.add_(micro_grad(k));
        loss += micro_loss(k);
        tokens += micro_tokens(k);
      }
      stats = {loss, tokens};
    } else {
      for (int64_t k = first; k < last; ++k) {
        own.push_back(micro_grad(k));
        own_losses.push_back(micro_loss(k));
        own_tokens += micro_tokens(k);
      }
    }
    // What an all-reduce of per-rank sums would give (the order it must not take).
    torch::Tensor per_rank = torch::zeros({257});
    for (int64_t k = first; k < last; ++k) per_rank.add_(micro_grad(k));
    torch::Tensor reassociated = per_rank.clone();
    comm->all_reduce_sum(reassociated);

    chain_sum(*comm, grad, stats, own, own_losses, own_tokens, /*tag=*/91);

    CHECK(same_bits(grad, lone));
    CHECK(stats[0] == lone_loss);
    CHECK(stats[1] == lone_tokens);
    if (micro >= 5) CHECK_FALSE(same_bits(reassociated, lone));  // the data can tell orders apart
  }
}

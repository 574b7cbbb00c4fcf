// reduce — sums over ranks that equal one rank's arithmetic bit for bit.
//
// chain_sum serves the sweep's root pretraining spread over every rank (trainer.h,
// TrainHooks::spread): a step's micro-batches are divided over the ranks in contiguous runs,
// rank 0 takes the first run, rank 1 the next, and so on. A lone rank adds each micro-batch's
// gradient and loss to a running sum, in micro-batch order; floating-point addition is not
// associative, so summing per rank and then across ranks (an all-reduce) would round
// differently. The chain keeps the lone rank's order instead: rank 0 sends its running sum to
// rank 1, which adds its own micro-batches one by one and passes the sum on; the last rank
// broadcasts the total. Every addition is the one a lone rank does, in the same order, so the
// total is bitwise the lone rank's for any number of ranks (tests/mpi_engine/reduce.test.cpp).
#pragma once

#include <array>

#include <vector>

#include <torch/types.h>

#include "ordertune/dist/communicator.h"

namespace ordertune {

// One rank's part of a chained step.
//   grad, stats   rank 0: its running sums (gradient on the device; [loss, tokens] on the host),
//                 accumulated from zero over its micro-batches as a lone rank would. Ranks > 0:
//                 a gradient buffer of the same shape and dtype, overwritten by the partial sums
//                 received (and stats too). The gradient goes through the tensor path (NCCL on
//                 GPUs), the stats through the host path (communicator.h).
//   own_grads, own_losses   ranks > 0: the gradient and loss of each of its micro-batches, in
//                 micro-batch order (empty on rank 0 and on ranks without micro-batches, which
//                 only pass the sum on).
//   own_tokens    ranks > 0: the tokens of its micro-batches.
// On return every rank holds the totals in grad and stats. Collective over `comm` (send, recv and
// broadcast with `tag`); every rank calls it once per step.
void chain_sum(Communicator& comm, torch::Tensor& grad, std::array<double, 2>& stats,
               const std::vector<torch::Tensor>& own_grads, const std::vector<double>& own_losses,
               double own_tokens, int tag);

}  // namespace ordertune

// Tests of stage_steps.h: a stage's steps and evaluations, worked out by hand, and the planner's
// closed-form evaluation count against the listed steps the trainer evaluates after.
#include <catch2/catch.hpp>

#include "ordertune/plan/stage_steps.h"

using namespace ordertune;

namespace {

TrainConfig settings(int batch, int accum, double epochs, int64_t max_steps = 0,
                     int64_t eval_every = 0) {
  TrainConfig s;
  s.batch_size = batch;
  s.grad_accum = accum;
  s.epochs = epochs;
  s.max_steps = max_steps;
  s.eval_every = eval_every;
  return s;
}

}  // namespace

TEST_CASE("a stage's steps: batches of micro-batches per epoch, epochs rounded up, max_steps wins",
          "[plan][steps]") {
  // 37 items in batches of 4: 10 micro-batches, 2 per step: 5 steps an epoch.
  CHECK(member_steps_per_epoch(37, settings(4, 2, 1)) == 5);
  CHECK(member_steps_per_epoch(36, settings(4, 1, 1)) == 9);
  CHECK(member_steps_per_epoch(1, settings(32, 8, 1)) == 1);
  CHECK(member_steps_per_epoch(0, settings(4, 1, 1)) == 0);
  CHECK(stage_steps(5, settings(4, 2, 1.5)) == 8);  // ceil(7.5)
  CHECK(stage_steps(5, settings(4, 2, 3)) == 15);
  CHECK(stage_steps(5, settings(4, 2, 0.01)) == 1);  // at least one step
  CHECK(stage_steps(5, settings(4, 2, 3, /*max_steps=*/4)) == 4);
  CHECK(stage_steps(0, settings(4, 2, 3)) == 1);
}

TEST_CASE("a stage evaluates after every epoch or eval_every steps, and after its last step",
          "[plan][steps]") {
  CHECK(evaluation_steps(8, 3, settings(4, 1, 2.5)) == std::vector<int64_t>{3, 6, 8});
  CHECK(evaluation_steps(9, 3, settings(4, 1, 3)) == std::vector<int64_t>{3, 6, 9});
  CHECK(evaluation_steps(8, 3, settings(4, 1, 1, 0, /*eval_every=*/5)) ==
        std::vector<int64_t>{5, 8});
  CHECK(evaluation_steps(4, 0, settings(4, 1, 1, 4)) ==
        std::vector<int64_t>{4});  // no epoch: last only
  CHECK(evaluates_after(3, 8, 3, settings(4, 1, 1)));
  CHECK_FALSE(evaluates_after(4, 8, 3, settings(4, 1, 1)));
}

TEST_CASE("the planner's evaluation count equals the evaluations the trainer lists",
          "[plan][steps]") {
  for (int64_t steps = 0; steps <= 40; ++steps)
    for (int64_t per_epoch = 0; per_epoch <= 12; ++per_epoch)
      for (int64_t every = 0; every <= 7; ++every) {
        const TrainConfig s = settings(4, 1, 1, 0, every);
        INFO("steps " << steps << ", per epoch " << per_epoch << ", eval_every " << every);
        CHECK(evaluation_count(steps, per_epoch, s) ==
              static_cast<int64_t>(evaluation_steps(steps, per_epoch, s).size()));
      }
}

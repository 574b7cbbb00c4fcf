// stage_steps — how long a stage trains and after which steps it evaluates, from its members'
// training items and its [train] settings. The one rule that the trainer runs
// (train/trainer.cpp), the results file sizes a node's curves by (sweep/results.cpp) and the cost
// model prices (plan.cpp); torch-free, so the planner can call it.
//
// An epoch of a member task is ceil(ceil(items / batch_size) / grad_accum) optimizer steps; a
// stage's epoch is the sum over its members (a mixture samples them in proportion). A stage takes
// train.max_steps steps when set, else max(1, ceil(epochs * steps per epoch)). It evaluates on
// English dev after every epoch (or every eval_every steps when set) and after its last step.
#pragma once

#include <cstdint>
#include <vector>

#include "ordertune/config/config.h"

namespace ordertune {

// Optimizer steps of one epoch over `train_items` items of one member task.
int64_t member_steps_per_epoch(int64_t train_items, const TrainConfig& settings);

// Optimizer steps of a stage whose epoch is `steps_per_epoch` steps.
int64_t stage_steps(int64_t steps_per_epoch, const TrainConfig& settings);

// Whether the stage evaluates after its `done`-th step (1-based) of `steps`.
bool evaluates_after(int64_t done, int64_t steps, int64_t steps_per_epoch,
                     const TrainConfig& settings);

// The steps after which it evaluates, ascending (the last is `steps`).
std::vector<int64_t> evaluation_steps(int64_t steps, int64_t steps_per_epoch,
                                      const TrainConfig& settings);

// evaluation_steps(...).size() without listing them (the planner prices millions of steps).
int64_t evaluation_count(int64_t steps, int64_t steps_per_epoch, const TrainConfig& settings);

}  // namespace ordertune

#include "ordertune/plan/stage_steps.h"

#include <algorithm>
#include <cmath>

namespace ordertune {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Steps between periodic evaluations: eval_every, else an epoch; 0 = none but the last.
int64_t evaluation_period(int64_t steps_per_epoch, const TrainConfig& s) {
  return s.eval_every > 0 ? s.eval_every : steps_per_epoch;
}

}  // namespace

int64_t member_steps_per_epoch(int64_t train_items, const TrainConfig& s) {
  return ceil_div(ceil_div(train_items, s.batch_size), s.grad_accum);
}

int64_t stage_steps(int64_t steps_per_epoch, const TrainConfig& s) {
  if (s.max_steps > 0) return s.max_steps;
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(s.epochs * static_cast<double>(steps_per_epoch))));
}

bool evaluates_after(int64_t done, int64_t steps, int64_t steps_per_epoch, const TrainConfig& s) {
  const int64_t period = evaluation_period(steps_per_epoch, s);
  return done == steps || (period > 0 && done % period == 0);
}

std::vector<int64_t> evaluation_steps(int64_t steps, int64_t steps_per_epoch,
                                      const TrainConfig& s) {
  std::vector<int64_t> out;
  for (int64_t done = 1; done <= steps; ++done)
    if (evaluates_after(done, steps, steps_per_epoch, s)) out.push_back(done);
  return out;
}

int64_t evaluation_count(int64_t steps, int64_t steps_per_epoch, const TrainConfig& s) {
  if (steps <= 0) return 0;
  const int64_t period = evaluation_period(steps_per_epoch, s);
  if (period <= 0) return 1;  // the last step only
  return steps / period + (steps % period != 0 ? 1 : 0);
}

}  // namespace ordertune

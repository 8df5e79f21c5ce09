// When a run's evaluations, checkpoints and progress rows fall due.
#include "dodge/run/eval_schedule.hpp"

namespace dodge::run {

void EvalSchedule::start(std::int64_t step, double now) {
  last_eval_ = last_checkpoint_ = last_row_ = step;
  last_row_time_ = now;
}

}  // namespace dodge::run

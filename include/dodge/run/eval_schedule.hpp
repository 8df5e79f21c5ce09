// When a run's periodic work falls due, by env steps counted over all envs and ranks: an evaluation
// every train.eval_freq steps and a checkpoint every train.checkpoint_freq (each at the first step at
// or past the next multiple, since a step adds n_envs x ranks), a progress row every log_interval
// steps or 30 s, the ranks' pooled statistics at each log_interval multiple, and the final
// evaluation of a run whose last step was not an evaluation step. Torch-free.
#pragma once

#include <cstdint>

#include "dodge/run/config.hpp"

namespace dodge::run {

// Whether going from step `from` to step `to` passes (or lands on) a multiple of `every` (> 0).
inline bool crosses_multiple(std::int64_t from, std::int64_t to, std::int64_t every) {
  return every > 0 && to / every > from / every;
}

class EvalSchedule {
 public:
  // A progress row at least this often, so that slow (pixel) runs are not silent.
  static constexpr double kRowSeconds = 30.0;

  EvalSchedule() = default;
  explicit EvalSchedule(const TrainConfig& train)
      : eval_freq_(train.eval_freq),
        checkpoint_freq_(train.checkpoint_freq),
        log_interval_(train.log_interval) {}

  // A session begins at `step` (0, or a resumed run's step) at time `now`.
  void start(std::int64_t step, double now);

  bool evaluation_due(std::int64_t step) const { return crosses_multiple(last_eval_, step, eval_freq_); }
  void evaluated(std::int64_t step) { last_eval_ = step; }
  // At the end of a run that was not interrupted and whose last evaluation was before its last step.
  bool final_evaluation_due(std::int64_t step, bool interrupted) const {
    return !interrupted && eval_freq_ > 0 && last_eval_ != step;
  }
  // Not at the last step (total): final/ is that step's checkpoint.
  bool checkpoint_due(std::int64_t step, std::int64_t total) const {
    return crosses_multiple(last_checkpoint_, step, checkpoint_freq_) && step < total;
  }
  void checkpointed(std::int64_t step) { last_checkpoint_ = step; }
  bool row_due(std::int64_t step, double now) const {
    return step - last_row_ >= log_interval_ || now - last_row_time_ >= kRowSeconds;
  }
  void row_written(std::int64_t step, double now) {
    last_row_ = step;
    last_row_time_ = now;
  }
  // Several ranks: the step that ends an iteration of `step_n` env steps pools the ranks' statistics
  // when it passes a log_interval multiple (the same steps on every rank).
  bool pooling_due(std::int64_t step, std::int64_t step_n) const {
    return crosses_multiple(step - step_n, step, log_interval_);
  }

  std::int64_t last_evaluation() const { return last_eval_; }
  std::int64_t last_row() const { return last_row_; }
  double last_row_time() const { return last_row_time_; }

 private:
  std::int64_t eval_freq_ = 0, checkpoint_freq_ = 0, log_interval_ = 1;
  std::int64_t last_eval_ = 0, last_checkpoint_ = 0, last_row_ = 0;
  double last_row_time_ = 0;
};

}  // namespace dodge::run

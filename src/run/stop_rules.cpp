// When a run ends early, and why.
#include "dodge/run/stop_rules.hpp"

#include <fmt/format.h>

namespace dodge::run {

bool StopRules::record_best(std::int64_t step, double mean_return) {
  if (!(mean_return > best_)) return false;
  best_ = mean_return;
  best_step_ = step;
  return true;
}

void StopRules::judge_evaluation(std::int64_t step, double mean_return, double success_rate, bool improved) {
  evals_without_improvement_ = improved ? 0 : evals_without_improvement_ + 1;
  const bool at_bar = (rule_.mean_reward || rule_.success_rate) &&
                      (!rule_.mean_reward || mean_return >= *rule_.mean_reward) &&
                      (!rule_.success_rate || success_rate >= *rule_.success_rate);
  evals_at_bar_ = at_bar ? evals_at_bar_ + 1 : 0;
  if (!stopping() && at_bar && evals_at_bar_ >= rule_.evals_in_a_row)
    stop("stop_when",
         fmt::format("train.stop_when met: the evaluation at step {} scored {:.1f} with {:.0f}% surviving{}", step,
                     mean_return, 100 * success_rate,
                     rule_.evals_in_a_row > 1 ? fmt::format(" ({} evaluations in a row at the bar)", evals_at_bar_) : ""));
  if (!stopping() && rule_.no_improvement_evals > 0 &&
      evals_without_improvement_ >= rule_.no_improvement_evals)
    // Its own kind: a plateau is not the bar (the tuner's time objective counts only the bar).
    stop("no_improvement",
         fmt::format(
             "train.stop_when met: {} evaluations in a row without a new best (best {:.1f} at step {})",
             evals_without_improvement_, best_, best_step_));
}

void StopRules::judge_clock(double seconds_left) {
  if (!stopping() && seconds_left <= 0)
    stop("max_minutes", fmt::format("train.max_minutes = {} reached", max_minutes_));
}

void StopRules::lead_ended() {
  stop("lead", "rank 0 ended the run");
}

void StopRules::forget_reason() {
  reason_.clear();
  kind_.clear();
}

std::string StopRules::stopped(bool interrupted) const {
  return interrupted ? "interrupted" : stopping() ? kind_ : "completed";
}

void StopRules::restore(double best, std::int64_t best_step, int evals_without_improvement, int evals_at_bar) {
  best_ = best;
  best_step_ = best_step;
  evals_without_improvement_ = evals_without_improvement;
  evals_at_bar_ = evals_at_bar;
}

void StopRules::stop(const char* kind, std::string reason) {
  kind_ = kind;
  reason_ = std::move(reason);
}

}  // namespace dodge::run

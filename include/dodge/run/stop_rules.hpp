// When a run ends before its last step, and why: train.stop_when judged at each evaluation (the bar,
// or no_improvement_evals in a row without a new best), train.max_minutes on the lead's clock, and
// on the other ranks the lead's word. The reason goes to training_summary.json (stopped, stop_reason).
// Torch-free; the best evaluation and the counts without improvement and at the bar are kept in
// trainer.pt.
#pragma once

#include <cstdint>
#include <string>

#include "dodge/run/config.hpp"

namespace dodge::run {

class StopRules {
 public:
  StopRules() = default;
  StopRules(const StopRule& rule, double max_minutes) : rule_(rule), max_minutes_(max_minutes) {}

  // An evaluation's mean reward at `step`: whether it beats the best so far (it then is the best).
  bool record_best(std::int64_t step, double mean_return);
  // The rules an evaluation meets, after record_best (improved: what it returned). The first rule met
  // stays the reason.
  void judge_evaluation(std::int64_t step, double mean_return, double success_rate, bool improved);
  // train.max_minutes, by the lead's clock: the seconds left of the whole run.
  void judge_clock(double seconds_left);
  // A rank other than the lead: the lead ended the run.
  void lead_ended();
  // A run that completed its steps is complete even when its final evaluation meets a rule.
  void forget_reason();

  bool stopping() const { return !reason_.empty(); }
  const std::string& reason() const { return reason_; }
  // stop_when (the bar) | no_improvement | max_minutes | lead (empty: no stop)
  const std::string& kind() const { return kind_; }
  // training_summary's stopped: interrupted | completed | the kind.
  std::string stopped(bool interrupted) const;

  double best() const { return best_; }
  std::int64_t best_step() const { return best_step_; }  // -1: no evaluation yet
  int evals_without_improvement() const { return evals_without_improvement_; }
  int evals_at_bar() const { return evals_at_bar_; }  // the last evaluations in a row that met the bar
  void restore(double best, std::int64_t best_step, int evals_without_improvement, int evals_at_bar = 0);

 private:
  void stop(const char* kind, std::string reason);
  StopRule rule_;
  double max_minutes_ = 0;
  double best_ = -1e300;
  std::int64_t best_step_ = -1;
  int evals_without_improvement_ = 0;
  int evals_at_bar_ = 0;
  std::string reason_, kind_;
};

}  // namespace dodge::run

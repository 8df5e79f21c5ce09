// train.stop_when and train.max_minutes without a run: which evaluation stops a run, and the reason
// written into training_summary.json. The runs are in test_training.cpp ([stop]).
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "dodge/run/stop_rules.hpp"

using namespace dodge::run;

namespace {

// An evaluation as the trainer judges it: the best first, then the rules.
void evaluate(StopRules& rules, std::int64_t step, double mean_return, double success_rate = 0) {
  const bool improved = rules.record_best(step, mean_return);
  rules.judge_evaluation(step, mean_return, success_rate, improved);
}

}  // namespace

TEST_CASE("stop_when's bar stops a run at the first evaluation that meets all its thresholds", "[stop]") {
  StopRule rule;
  rule.mean_reward = 10;
  rule.success_rate = 0.5;
  StopRules rules(rule, 0);
  evaluate(rules, 500, 5, 0.9);  // the reward is short
  CHECK_FALSE(rules.stopping());
  evaluate(rules, 1000, 12, 0.4);  // the survivors are short
  CHECK_FALSE(rules.stopping());
  CHECK(rules.stopped(false) == "completed");
  evaluate(rules, 1500, 10, 0.5);  // both, exactly
  REQUIRE(rules.stopping());
  CHECK(rules.kind() == "stop_when");
  CHECK(rules.reason() == "train.stop_when met: the evaluation at step 1500 scored 10.0 with 50% surviving");
  CHECK(rules.stopped(false) == "stop_when");
  CHECK(rules.stopped(true) == "interrupted");  // a Ctrl-C at the same step wins
  // A later evaluation does not rewrite the reason.
  evaluate(rules, 2000, 20, 1);
  CHECK_THAT(rules.reason(), Catch::Contains("step 1500"));
}

TEST_CASE("stop_when with evals_in_a_row stops only when that many evaluations in a row meet the bar", "[stop]") {
  StopRule rule;
  rule.success_rate = 0.9;
  rule.evals_in_a_row = 2;
  StopRules rules(rule, 0);
  evaluate(rules, 100, 0, 0.95);  // at the bar once
  CHECK_FALSE(rules.stopping());
  CHECK(rules.evals_at_bar() == 1);
  evaluate(rules, 200, 0, 0.85);  // a miss starts the count again
  CHECK(rules.evals_at_bar() == 0);
  evaluate(rules, 300, 0, 0.92);
  CHECK_FALSE(rules.stopping());
  // A resume between two evaluations keeps the count.
  StopRules resumed(rule, 0);
  resumed.restore(rules.best(), rules.best_step(), rules.evals_without_improvement(), rules.evals_at_bar());
  evaluate(resumed, 400, 0, 0.9);
  REQUIRE(resumed.stopping());
  CHECK(resumed.reason() == "train.stop_when met: the evaluation at step 400 scored 0.0 with 90% surviving (2 evaluations in a "
                            "row at the bar)");
  // Without the count restored the same evaluation is only the first.
  StopRules fresh(rule, 0);
  evaluate(fresh, 400, 0, 0.9);
  CHECK_FALSE(fresh.stopping());
}

TEST_CASE("stop_when with one threshold judges that one alone", "[stop]") {
  StopRule reward;
  reward.mean_reward = -50;
  StopRules by_reward(reward, 0);
  evaluate(by_reward, 100, -50, 0);
  CHECK(by_reward.stopping());
  StopRule rate;
  rate.success_rate = 0.8;
  StopRules by_rate(rate, 0);
  evaluate(by_rate, 100, -1e9, 0.7);
  CHECK_FALSE(by_rate.stopping());
  evaluate(by_rate, 200, -1e9, 0.8);
  CHECK(by_rate.stopping());
  CHECK_THAT(by_rate.reason(), Catch::Contains("step 200 scored -1000000000.0 with 80% surviving"));
}

TEST_CASE("a rule without thresholds never stops a run", "[stop]") {
  StopRules rules(StopRule{}, 0);
  for (int i = 1; i <= 50; ++i) evaluate(rules, 100 * i, i % 2 ? 1e9 : -1e9, 1);
  CHECK_FALSE(rules.stopping());
  CHECK(rules.evals_without_improvement() > 0);
  CHECK(rules.stopped(false) == "completed");
}

TEST_CASE("no_improvement_evals stops at that many evaluations in a row without a new best", "[stop]") {
  StopRule rule;
  rule.no_improvement_evals = 2;
  StopRules rules(rule, 0);
  // A new best resets the count: 1, 2 (best), 1.5, 3 (best), 3 (equal is not better), 2.
  const double means[] = {1, 2, 1.5, 3, 3, 2};
  for (int i = 0; i < 6; ++i) {
    INFO("evaluation " << i + 1);
    CHECK_FALSE(rules.stopping());
    evaluate(rules, 100 * (i + 1), means[i]);
  }
  REQUIRE(rules.stopping());
  CHECK(rules.kind() == "no_improvement");
  CHECK(rules.reason() ==
        "train.stop_when met: 2 evaluations in a row without a new best (best 3.0 at step 400)");
  CHECK(rules.best() == 3);
  CHECK(rules.best_step() == 400);
}

TEST_CASE("the best evaluation: a higher mean only, never a NaN", "[stop]") {
  StopRules rules(StopRule{}, 0);
  CHECK(rules.best_step() == -1);
  CHECK(rules.record_best(100, -5));
  CHECK_FALSE(rules.record_best(200, -5));
  CHECK_FALSE(rules.record_best(300, std::nan("")));
  CHECK(rules.record_best(400, -4.5));
  CHECK(rules.best() == -4.5);
  CHECK(rules.best_step() == 400);
}

TEST_CASE("the first rule met stays the reason", "[stop]") {
  StopRule rule;
  rule.success_rate = 0.9;
  rule.no_improvement_evals = 1;
  StopRules plateau(rule, 0);
  evaluate(plateau, 100, 5, 0.1);
  evaluate(plateau, 200, 4, 0.1);  // no new best: the plateau
  CHECK(plateau.kind() == "no_improvement");
  evaluate(plateau, 300, 200, 1);  // the bar, later: the plateau stays the reason
  CHECK(plateau.kind() == "no_improvement");
  // Both at one evaluation: the bar is judged first.
  StopRules both(rule, 0);
  evaluate(both, 100, 5, 0.1);
  evaluate(both, 200, 4, 0.95);
  CHECK(both.kind() == "stop_when");
}

TEST_CASE("max_minutes stops a run once no time is left, unless a rule already has", "[stop]") {
  StopRules rules(StopRule{}, 0.5);
  rules.judge_clock(0.01);
  CHECK_FALSE(rules.stopping());
  rules.judge_clock(0);
  REQUIRE(rules.stopping());
  CHECK(rules.kind() == "max_minutes");
  CHECK(rules.reason() == "train.max_minutes = 0.5 reached");
  StopRule bar;
  bar.mean_reward = 0;
  StopRules met(bar, 0.5);
  evaluate(met, 100, 1);
  met.judge_clock(0);
  CHECK(met.kind() == "stop_when");
}

TEST_CASE("the other ranks stop with the lead's word, and a completed run forgets a final evaluation's rule",
          "[stop]") {
  StopRules other(StopRule{}, 0);
  other.lead_ended();
  CHECK(other.stopped(false) == "lead");
  CHECK(other.reason() == "rank 0 ended the run");
  StopRule bar;
  bar.mean_reward = 0;
  StopRules rules(bar, 0);
  evaluate(rules, 1000, 1);
  REQUIRE(rules.stopping());
  rules.forget_reason();
  CHECK_FALSE(rules.stopping());
  CHECK(rules.stopped(false) == "completed");
  CHECK(rules.best() == 1);  // the evaluation itself stays the best
}

TEST_CASE("restored from a checkpoint, the count without improvement goes on", "[stop]") {
  StopRule rule;
  rule.no_improvement_evals = 3;
  StopRules straight(rule, 0), resumed(rule, 0);
  const double means[] = {5, 4, 3, 2};
  for (int i = 0; i < 2; ++i) evaluate(straight, 100 * (i + 1), means[i]);
  resumed.restore(straight.best(), straight.best_step(), straight.evals_without_improvement());
  for (int i = 2; i < 4; ++i) {
    evaluate(straight, 100 * (i + 1), means[i]);
    evaluate(resumed, 100 * (i + 1), means[i]);
  }
  CHECK(straight.stopping());
  CHECK(resumed.reason() == straight.reason());
  CHECK_THAT(resumed.reason(),
             Catch::Contains("3 evaluations in a row without a new best (best 5.0 at step 100)"));
}

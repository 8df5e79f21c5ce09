// When evaluations, checkpoints, progress rows and the ranks' pooling fall due, stepping as the
// trainer does (n_envs x ranks env steps an iteration), the final evaluation included.
#include <catch2/catch.hpp>
#include <vector>

#include "dodge/run/eval_schedule.hpp"

using namespace dodge::run;

namespace {

TrainConfig train_config(std::int64_t eval_freq, std::int64_t checkpoint_freq = 0,
                         std::int64_t log_interval = 1000) {
  TrainConfig t;
  t.eval_freq = eval_freq;
  t.checkpoint_freq = checkpoint_freq;
  t.log_interval = log_interval;
  return t;
}

// The steps a run from `start` to `total`, `step_n` env steps an iteration, evaluates at; the final
// evaluation last when it is due.
std::vector<std::int64_t> evaluation_steps(const TrainConfig& t, std::int64_t step_n, std::int64_t total,
                                           std::int64_t start = 0, bool interrupted = false) {
  EvalSchedule s(t);
  s.start(start, 0);
  std::vector<std::int64_t> at;
  std::int64_t step = start;
  while (step < total) {
    step += step_n;
    if (s.evaluation_due(step)) {
      s.evaluated(step);
      at.push_back(step);
    }
  }
  if (s.final_evaluation_due(step, interrupted)) at.push_back(step);
  return at;
}

std::vector<std::int64_t> checkpoint_steps(const TrainConfig& t, std::int64_t step_n, std::int64_t total) {
  EvalSchedule s(t);
  s.start(0, 0);
  std::vector<std::int64_t> at;
  for (std::int64_t step = step_n; step - step_n < total; step += step_n)
    if (s.checkpoint_due(step, total)) {
      s.checkpointed(step);
      at.push_back(step);
    }
  return at;
}

using Steps = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("evaluations fall every eval_freq steps, the last step's is the final one", "[schedule]") {
  // The last step is an evaluation step: no second, final evaluation there.
  CHECK(evaluation_steps(train_config(500), 2, 1000) == Steps{500, 1000});
  // It is not: the final evaluation at the last step.
  CHECK(evaluation_steps(train_config(500), 2, 1100) == Steps{500, 1000, 1100});
  // Steps of 64 do not land on multiples of 300: the first step at or past each one; the run's
  // last step is past total_timesteps (1024).
  CHECK(evaluation_steps(train_config(300), 64, 1000) == Steps{320, 640, 960, 1024});
  // An eval_freq past the end: only the final evaluation.
  CHECK(evaluation_steps(train_config(5000), 2, 1000) == Steps{1000});
  // eval_freq 0: none at all, not even the final one.
  CHECK(evaluation_steps(train_config(0), 2, 1000).empty());
  // An interrupted run ends with a checkpoint, not an evaluation.
  CHECK(evaluation_steps(train_config(500), 2, 1100, 0, true) == Steps{500, 1000});
}

TEST_CASE("a resumed run evaluates at the multiples still ahead of it", "[schedule]") {
  CHECK(evaluation_steps(train_config(500), 2, 1600, 700) == Steps{1000, 1500, 1600});
  // Resumed exactly at an evaluation step: the next one is eval_freq later.
  CHECK(evaluation_steps(train_config(500), 2, 1200, 500) == Steps{1000, 1200});
}

TEST_CASE("checkpoints fall every checkpoint_freq steps but never at the last step, which final/ holds",
          "[schedule]") {
  CHECK(checkpoint_steps(train_config(0, 400), 2, 1200) == Steps{400, 800});
  CHECK(checkpoint_steps(train_config(0, 400), 2, 1300) == Steps{400, 800, 1200});
  CHECK(checkpoint_steps(train_config(0, 300), 64, 1000) == Steps{320, 640, 960});
  CHECK(checkpoint_steps(train_config(0, 0), 2, 1000).empty());
}

TEST_CASE("a progress row every log_interval steps, or after 30 s without one", "[schedule]") {
  EvalSchedule s(train_config(0, 0, 100));
  s.start(0, 1000.0);
  CHECK_FALSE(s.row_due(98, 1010.0));
  CHECK(s.row_due(100, 1010.0));
  CHECK(s.row_due(2, 1000.0 + EvalSchedule::kRowSeconds));
  s.row_written(64, 1005.0);
  CHECK(s.last_row() == 64);
  CHECK(s.last_row_time() == 1005.0);
  CHECK_FALSE(s.row_due(162, 1034.9));
  CHECK(s.row_due(164, 1006.0));  // log_interval steps after the last row, not at a multiple
  CHECK(s.row_due(66, 1035.0));
}

TEST_CASE("several ranks pool their statistics at the first step at or past each log_interval multiple",
          "[schedule]") {
  EvalSchedule s(train_config(0, 0, 100));
  Steps at;
  for (std::int64_t step = 64; step <= 1000; step += 64)
    if (s.pooling_due(step, 64)) at.push_back(step);
  CHECK(at == Steps{128, 256, 320, 448, 512, 640, 704, 832, 960});
  // Steps longer than log_interval: every step passes a multiple.
  at.clear();
  for (std::int64_t step = 256; step <= 1024; step += 256)
    if (s.pooling_due(step, 256)) at.push_back(step);
  CHECK(at == Steps{256, 512, 768, 1024});
}

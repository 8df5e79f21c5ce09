// train.curriculum's rules without a run: which episodes count for a lesson, when it ends (criterion,
// max_steps, max_share), and its state carried through a checkpoint. The runs are in test_training.cpp.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dodge/run/curriculum.hpp"

using namespace dodge::run;
using dodge::game::EpisodeEnd;

namespace {

Curriculum curriculum(std::vector<double> lessons, int min_episodes) {
  Curriculum c;
  c.key = "spawn_angle_degrees";
  c.lessons = std::move(lessons);
  c.min_episodes = min_episodes;
  return c;
}

// An episode of game `env` that ended with `episode_return`: died (terminated) or survived (truncated).
EpisodeEnd episode(int env, double episode_return, bool survived = false) {
  EpisodeEnd e;
  e.env = env;
  e.episode_return = episode_return;
  e.length = 10;
  e.terminated = !survived;
  e.truncated = survived;
  return e;
}

LessonEnd judge(const LessonTracker& t) {
  return t.ends(t.window(), false, false);
}

}  // namespace

TEST_CASE("a lesson ends when its last min_episodes episodes meet the criterion, and not before",
          "[curriculum]") {
  Curriculum c = curriculum({10, 20}, 3);
  c.mean_reward = -60;
  LessonTracker t(c);
  t.start_games(1);
  // Windows of 3: -70, then -60 (met, at the 4th). A window of 2 would end it at the 2nd (-60), one of
  // 4 at the 5th (-67.5 at the 4th).
  const std::vector<double> returns = {-90, -30, -90, -60, -30};
  std::vector<LessonEnd> after;
  for (int i = 0; i < 4; ++i) {
    t.count_episode(episode(0, returns[static_cast<std::size_t>(i)]));
    after.push_back(judge(t));
  }
  CHECK(after == std::vector<LessonEnd>{LessonEnd::None, LessonEnd::None, LessonEnd::None, LessonEnd::Met});
  const LessonWindow w = t.window();
  CHECK(w.count == 3);
  CHECK(w.mean() == Approx(-60));
  CHECK(t.state().lesson_episodes == 4);
  t.advance(800, 4);
  CHECK(t.lesson() == 1);
  CHECK(t.in_curriculum());
  CHECK(t.window().count == 0);  // the next lesson starts counting afresh
  CHECK(t.state().lesson_episodes == 0);
  CHECK(t.state().lesson_steps == std::vector<std::int64_t>{800});
  CHECK(t.state().lesson_episodes_at == std::vector<std::int64_t>{4});
  CHECK(judge(t) == LessonEnd::None);
}

TEST_CASE("a lesson's success rate counts the episodes that survived to the time limit", "[curriculum]") {
  Curriculum c = curriculum({10}, 2);
  c.success_rate = 0.5;
  LessonTracker t(c);
  t.start_games(2);
  t.count_episode(episode(0, 0, false));
  t.count_episode(episode(1, 0, false));
  CHECK(t.window().rate() == 0);
  CHECK(judge(t) == LessonEnd::None);
  // Hit by a ball on its last step: terminated and truncated, which is not surviving.
  EpisodeEnd both = episode(0, 0, true);
  both.terminated = true;
  t.count_episode(both);
  CHECK(judge(t) == LessonEnd::None);
  t.count_episode(episode(1, 0, true));
  CHECK(t.window().rate() == 0.5);
  CHECK(judge(t) == LessonEnd::Met);
}

TEST_CASE("without thresholds a lesson ends after min_episodes episodes", "[curriculum]") {
  LessonTracker t(curriculum({10}, 2));
  t.start_games(1);
  t.count_episode(episode(0, -1e9));
  CHECK(judge(t) == LessonEnd::None);
  t.count_episode(episode(0, -1e9));
  CHECK(judge(t) == LessonEnd::Met);
}

TEST_CASE("an episode begun in an earlier lesson counts for neither lesson", "[curriculum]") {
  LessonTracker t(curriculum({10, 20}, 1));
  t.start_games(2);
  t.count_episode(episode(0, 5));
  REQUIRE(judge(t) == LessonEnd::Met);
  t.advance(100, 1);
  // Both games' episodes in flight began in lesson 1: they count for neither.
  t.count_episode(episode(1, 5));
  CHECK(t.state().lesson_episodes == 0);
  CHECK(judge(t) == LessonEnd::None);
  t.note_episode_starts({0, 1});  // game 1's next episode begins in lesson 2
  t.count_episode(episode(0, 5));
  CHECK(t.state().lesson_episodes == 0);
  t.count_episode(episode(1, 5));
  CHECK(t.state().lesson_episodes == 1);
  CHECK(judge(t) == LessonEnd::Met);
}

TEST_CASE("max_steps ends a lesson at the first step at or past that many steps after it began",
          "[curriculum]") {
  Curriculum c = curriculum({10, 20, 30}, 3);
  c.mean_reward = 1e9;
  c.max_steps = 300;
  LessonTracker t(c);
  CHECK_FALSE(t.steps_spent(298));
  CHECK(t.steps_spent(300));
  CHECK(t.ends(t.window(), t.steps_spent(300), false) == LessonEnd::MaxSteps);
  t.advance(302, 0);  // a lesson's steps count from its own start
  CHECK_FALSE(t.steps_spent(600));
  CHECK(t.steps_spent(602));
  // Without max_steps no number of steps ends a lesson.
  LessonTracker uncapped(curriculum({10}, 3));
  CHECK_FALSE(uncapped.steps_spent(1'000'000'000));
}

TEST_CASE("max_share ends lesson k by k x max_share of the run, whatever its own steps", "[curriculum]") {
  Curriculum c = curriculum({10, 20, 30}, 3);
  c.mean_reward = 1e9;
  c.max_share = 0.25;
  LessonTracker t(c);
  CHECK_FALSE(t.share_spent(0.2499));
  CHECK(t.share_spent(0.25));
  t.advance(100, 0);  // lesson 1 ended early, by its criterion: lesson 2 still ends by half the run
  CHECK_FALSE(t.share_spent(0.25));
  CHECK_FALSE(t.share_spent(0.4999));
  CHECK(t.share_spent(0.5));
  CHECK(t.ends(t.window(), false, true) == LessonEnd::MaxShare);
  t.advance(500, 0);
  CHECK_FALSE(t.share_spent(0.74));
  CHECK(t.share_spent(0.75));
  // Rounding in the progress does not carry a lesson past its share: 3 x 0.1 is 0.30000000000000004.
  Curriculum tenth = curriculum({10, 20, 30}, 3);
  tenth.max_share = 0.1;
  LessonTracker r(tenth);
  r.advance(1, 0);
  r.advance(2, 0);
  CHECK(r.share_spent(0.3));
}

TEST_CASE("a met criterion is the reason a lesson ends even when a cap is reached too", "[curriculum]") {
  LessonTracker t(curriculum({10}, 1));
  t.start_games(1);
  CHECK(t.ends(t.window(), true, true) == LessonEnd::MaxShare);  // no episode yet: the share, first
  CHECK(t.ends(t.window(), true, false) == LessonEnd::MaxSteps);
  t.count_episode(episode(0, 1));
  CHECK(t.ends(t.window(), true, true) == LessonEnd::Met);
}

TEST_CASE("the target game counts no episodes, and a resume with fewer lessons plays it", "[curriculum]") {
  LessonTracker t(curriculum({10}, 1));
  t.start_games(1);
  t.advance(10, 1);
  CHECK_FALSE(t.in_curriculum());
  t.note_episode_starts({1});
  t.count_episode(episode(0, 1));
  CHECK(t.state().lesson_episodes == 0);
  // A checkpoint from a run with 4 lessons, resumed with a config of 1.
  LessonTracker fewer(curriculum({10}, 1));
  fewer.set_lesson(3);
  fewer.keep_within_lessons();
  CHECK(fewer.lesson() == 1);
}

TEST_CASE("a curriculum restored from its saved state goes on as the uninterrupted one", "[curriculum]") {
  Curriculum c = curriculum({10, 20, 30, 40, 50, 60, 70, 80}, 3);
  c.mean_reward = -40;
  c.max_steps = 600;
  // Two games, episodes of varying return, game 0 sometimes still in an episode begun a lesson
  // earlier; each run advances when the rule says so.
  auto play = [&](LessonTracker& t, int from, int to) {
    for (int i = from; i < to; ++i) {
      const std::int64_t step = 20 * (i + 1);
      t.note_episode_starts({static_cast<std::uint8_t>(i % 3 == 0), 1});
      t.count_episode(episode(i % 2, -100 + 13 * (i % 7), i % 4 == 0));
      if (t.in_curriculum() && t.ends(t.window(), t.steps_spent(step), false) != LessonEnd::None)
        t.advance(step, i);
    }
  };
  LessonTracker straight(c);
  straight.start_games(2);
  play(straight, 0, 120);
  LessonTracker first(c);
  first.start_games(2);
  play(first, 0, 37);
  // Stopped mid-lesson, with a window to carry.
  REQUIRE(first.lesson() == 5);
  REQUIRE(first.state().window.size() == 2);
  LessonTracker resumed(c);
  resumed.restore(first.state());
  play(resumed, 37, 120);
  REQUIRE(straight.lesson() == 8);
  CHECK(resumed.lesson() == straight.lesson());
  CHECK(resumed.state().lesson_episodes == straight.state().lesson_episodes);
  CHECK(resumed.state().window == straight.state().window);
  CHECK(resumed.state().lesson_steps == straight.state().lesson_steps);
  CHECK(resumed.state().lesson_episodes_at == straight.state().lesson_episodes_at);
  CHECK(resumed.state().episode_lesson == straight.state().episode_lesson);
}

TEST_CASE("lesson_text names the lesson, the key's value and the target game", "[curriculum]") {
  Config config;
  config.env.game.spawn_angle_degrees = 180;
  config.train.curriculum = curriculum({10, 20}, 3);
  CHECK(lesson_text(config, 0) == "lesson 1/3 (spawn_angle_degrees = 10.0)");
  CHECK(lesson_text(config, 1) == "lesson 2/3 (spawn_angle_degrees = 20.0)");
  CHECK(lesson_text(config, 2) == "lesson 3/3 (spawn_angle_degrees = 180.0, the target game)");
}

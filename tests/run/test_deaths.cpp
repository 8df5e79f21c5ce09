// The hit report (`dodge eval --deaths`, --json's hits): games built to be hit from a known side.
#include <cmath>
#include <filesystem>
#include <map>

#include "dodge/game/game.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/run/deaths.hpp"
#include "dodge/run/evaluate.hpp"
#include "test_util.hpp"
#include "torch_catch.hpp"

using namespace dodge;
using run::HitRecord;
using run::HitTracker;

namespace {

// No throws of the game's own: the test places the one ball that hits.
render::EnvConfig quiet_game(int frame_stack = 3) {
  render::EnvConfig env;
  env.game.level = 2;
  env.game.projectile_spawn_interval = 1000.0;
  env.game.frame_skip = 4;
  env.game.max_episode_steps = 250;
  env.frame_stack = frame_stack;
  return env;
}

// Plays `action` from the given start until the ball hits (at most 60 agent steps).
HitRecord play_until_hit(const render::EnvConfig& env, game::Player player, game::Ball ball,
                         std::array<float, 3> action) {
  const game::GameParams params = game::resolve(env.game);
  game::GameState s;
  game::Rng rng(7);
  game::reset(params, s, rng);
  s.player.x = player.x, s.player.y = player.y;
  s.balls.push_back(ball);
  HitTracker tracker(env, 1, 3);
  tracker.start(0, s);
  for (int i = 0; i < 60 && !s.terminated; ++i) {
    game::step(params, s, action.data(), rng);
    tracker.step(0, action.data(), s);
  }
  REQUIRE(s.terminated);
  return tracker.hit(0);
}

std::string sector(double bearing) {
  return run::sector_name(run::sector_of(bearing));
}

}  // namespace

TEST_CASE("sectors split the circle into eight named 45-degree parts around ahead", "[deaths]") {
  CHECK(sector(0) == "front");
  CHECK(sector(22.4) == "front");
  CHECK(sector(22.6) == "front-right");
  CHECK(sector(90) == "right");
  CHECK(sector(135) == "behind-right");
  CHECK(sector(180) == "behind");
  CHECK(sector(-180) == "behind");
  CHECK(sector(-135) == "behind-left");
  CHECK(sector(-90) == "left");
  CHECK(sector(-30) == "front-left");
  CHECK(sector(360 + 91) == "right");
}

TEST_CASE("a ball from the left hits a standing agent: bearing, speed, flight, view, wall, actions",
          "[deaths]") {
  const render::EnvConfig env = quiet_game(3);
  game::Player p;
  // At the player's height, flying +x at 25 units/s from 8 units to its left.
  const HitRecord h = play_until_hit(env, p, game::Ball{-8, 0, 1, 25, 0, 0}, {0.0f, 0.0f, -1.0f});
  CHECK(h.bearing == Approx(-90).margin(0.5));
  CHECK(sector(h.bearing) == "left");
  CHECK_FALSE(h.bearing_to_motion.has_value());  // it stood still
  CHECK(h.ball_speed == Approx(25).margin(4));   // plus what gravity added downwards
  // 7.2 units at 25 units/s: about 0.29 s, within half an agent step (1/15 s).
  CHECK(h.flight_seconds == Approx(0.29).margin(0.07));
  CHECK(h.wall_distance == Approx(4.0));  // at the centre, 4 units from the long sides
  CHECK(h.x == Approx(0.0));
  REQUIRE(h.in_view.size() == 3);
  CHECK(h.frames_seen == 3);  // the only ball: always among the vector's ten nearest
  CHECK(h.step >= 4);
  CHECK(h.step <= 5);
  REQUIRE(h.last_actions.size() == static_cast<std::size_t>(std::min(h.step, HitTracker::kActionsKept)));
  CHECK((h.last_actions.back() == std::vector<float>{0.0f, 0.0f, -1.0f}));
}

TEST_CASE("a ball from behind-right hits an agent at the wall", "[deaths]") {
  const render::EnvConfig env = quiet_game(3);
  game::Player p;
  p.x = 4.5;  // half a unit from the right side line
  const HitRecord h = play_until_hit(env, p, game::Ball{9.5, -5, 1, -20, 20, 0}, {0.0f, 0.0f, -1.0f});
  CHECK(h.bearing == Approx(135).margin(0.5));
  CHECK(sector(h.bearing) == "behind-right");
  CHECK(h.wall_distance == Approx(0.5));
}

TEST_CASE("the bearing to the agent's motion: a ball from ahead is on the left of an agent running right",
          "[deaths]") {
  const render::EnvConfig env = quiet_game(3);
  game::Player p;
  p.x = -2.0;
  // The agent runs +x at 5 units/s and is at x = -0.56 when a ball falling from +y reaches y = 0.
  const HitRecord h = play_until_hit(env, p, game::Ball{-0.56, 8, 1, 0, -25, 0}, {1.0f, 0.0f, -1.0f});
  CHECK(sector(h.bearing) == "front");
  REQUIRE(h.bearing_to_motion.has_value());
  CHECK(*h.bearing_to_motion == Approx(-90).margin(0.5));
  CHECK(sector(*h.bearing_to_motion) == "left");
}

TEST_CASE("in_view: a picture shows a ball only inside its window, newest observation first", "[deaths]") {
  render::EnvConfig env = quiet_game(4);
  env.game.observation_mode = game::ObsMode::Topdown;
  env.render.view_extent = 6.0;  // the window ends 3 units from the centre (+ the ball's radius)
  game::Player p;
  // From 10 units to the left at 25 units/s: 1.67 units per agent step, so it enters the window
  // only in the last steps before the hit.
  const HitRecord h = play_until_hit(env, p, game::Ball{-10, 0, 1, 25, 0, 0}, {0.0f, 0.0f, -1.0f});
  REQUIRE(h.in_view.size() == 4);
  // The observations the last action saw: x = -2.5 (in), -4.2, -5.8, -7.5 (out) or so.
  CHECK(h.in_view[0]);
  CHECK_FALSE(h.in_view[3]);
  CHECK(h.frames_seen >= 1);
  CHECK(h.frames_seen <= 2);
  for (std::size_t k = 1; k < h.in_view.size(); ++k)
    if (h.in_view[k]) CHECK(h.in_view[k - 1]);  // once out of the window, older ones are out too
}

TEST_CASE("in_view: a state vector shows only the ten nearest balls", "[deaths]") {
  const render::EnvConfig env = quiet_game(1);
  const game::GameParams params = game::resolve(env.game);
  // The fatal ball (from the left) is 1.38 units from the agent at the last observation before the
  // hit; ten balls resting on the agent's right at 1.14 units hide it from the vector, at 2.1 not.
  for (const double ring : {0.9, 2.0}) {
    game::GameState s;
    game::Rng rng(7);
    game::reset(params, s, rng);
    for (int i = 0; i < 10; ++i) {
      const double a = (-60.0 + 12.0 * i) * 3.14159265358979 / 180.0;
      s.balls.push_back(game::Ball{ring * std::cos(a), ring * std::sin(a), 0.3, 0, 0, 0});
    }
    s.balls.push_back(game::Ball{-8, 0, 1, 25, 0, 0});
    HitTracker tracker(env, 1, 3);
    tracker.start(0, s);
    const float action[3] = {0, 0, -1};
    for (int i = 0; i < 60 && !s.terminated; ++i) {
      game::step(params, s, action, rng);
      tracker.step(0, action, s);
    }
    REQUIRE(s.terminated);
    const HitRecord h = tracker.hit(0);
    INFO("ring " << ring);
    CHECK(sector(h.bearing) == "left");
    REQUIRE(h.in_view.size() == 1);
    CHECK(h.in_view[0] == (ring > 1.0));
  }
}

namespace {
// Stands still (sprint off) in every game.
class StandStill : public run::GamePolicy {
 public:
  explicit StandStill(int n) : n_(n) {}
  int n_envs() const override { return n_; }
  void observe(int, const game::GameState&, bool) override {}
  void act(bool, float* actions) override {
    for (int i = 0; i < n_; ++i) actions[3 * i] = 0, actions[3 * i + 1] = 0, actions[3 * i + 2] = -1;
  }

 private:
  int n_;
};

std::map<std::string, int> hits_by_sector(double fan_degrees, std::vector<HitRecord>& hits) {
  run::Config config;
  config.env.game.level = 2;
  config.env.game.spawn_angle_degrees = fan_degrees;
  config.env.game.frame_skip = 4;
  config.env.game.max_episode_steps = 250;
  StandStill policy(4);
  run::EvalOptions o;
  o.episodes = 12;
  o.envs = 4;
  o.on_hit = [&hits](const HitRecord& h) { hits.push_back(h); };
  const run::EvalSummary s = run::evaluate(config, policy, o);
  // A player that stands still is hit in every episode, each reported once, numbered as printed.
  REQUIRE(s.success_rate == 0.0);
  REQUIRE(hits.size() == 12);
  std::map<std::string, int> by;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    CHECK(hits[i].episode == static_cast<int>(i) + 1);
    CHECK(hits[i].step == s.episodes[i].length);
    ++by[sector(hits[i].bearing)];
  }
  return by;
}
}  // namespace

TEST_CASE("an evaluation reports each hit: a narrow fan hits from the front, the whole circle from all round",
          "[deaths]") {
  std::vector<HitRecord> narrow, wide;
  const auto front = hits_by_sector(0.0, narrow);
  CHECK(front.size() == 1);
  CHECK(front.count("front") == 1);
  for (const auto& h : narrow) {
    CHECK(h.bearing == Approx(0).margin(1));
    CHECK(h.flight_seconds == Approx(0.8).margin(0.1));  // aimed at where it stands, arriving after 0.8 s
  }
  const auto all_round = hits_by_sector(180.0, wide);
  CHECK(all_round.size() >= 4);  // 12 throws from anywhere on the circle
}

TEST_CASE("the deaths picture draws the bearings' wedge where the hits came from", "[deaths]") {
  TempDir tmp("deaths_png");
  std::vector<HitRecord> hits(5);
  for (auto& h : hits) h.bearing = 0.0, h.x = 4.75, h.y = -3.75;  // from ahead, in the bottom-right cell
  const std::string path = (tmp.path / "deaths.png").string();
  run::write_deaths_png(path, hits, 10, "test");
  const output::Image im = output::read_png(path);
  REQUIRE(im.width == 960);
  REQUIRE(im.channels == 3);
  auto red = [&](int x, int y) {
    const auto* p = im.at(x, y);
    return p[0] == 200 && p[1] == 40 && p[2] == 40;
  };
  // The polar histogram's centre is (250, 290), radius 170: ahead is up.
  CHECK(red(250, 290 - 100));
  CHECK_FALSE(red(250, 290 + 100));
  CHECK_FALSE(red(250 - 100, 290));
  // The court: the bottom-right 0.5-unit cell is the darkest, the top-left one blank.
  CHECK(red(520 + 390, 130 + 310) == false);
  const auto* cell = im.at(520 + 390, 130 + 310);
  CHECK(cell[0] == 200);
  CHECK(cell[1] == 0);
  const auto* next = im.at(520 + 370, 130 + 310);
  CHECK(next[0] == 240);
  const auto* blank = im.at(520 + 10, 130 + 10);
  CHECK(blank[1] == 240);
}

// Rules of GAME.md sections 2-5: balls, player, collisions, rewards.
#include <catch2/catch.hpp>
#include <cmath>

#include "dodge/game/constants.hpp"
#include "dodge/game/game.hpp"

using namespace dodge::game;

namespace {

GameParams params_for(int level) {
  GameConfig c;
  c.level = level;
  return resolve(c);
}

GameState standing_state() {
  GameState s;
  s.player.z = kPlayerStartHeight;
  s.spawn_elapsed = 0.0;
  return s;
}

// Steps the physics with no new throws (spawn interval pushed far away).
void run_physics(GameParams p, GameState& s, int n, Rng& rng) {
  p.spawn_interval = 1e9;
  for (int i = 0; i < n; ++i) physics_step(p, s, rng);
}

}  // namespace

TEST_CASE("a ball thrown at a standing player reaches the aim point after the flight time", "[game]") {
  for (int level : {1, 2}) {
    GameParams p = params_for(level);
    p.collision_penalty = -100;
    GameState s = standing_state();
    s.player.x = 1.0;
    s.player.y = -2.0;
    Rng rng(7);
    s.spawn_elapsed = p.spawn_interval - 1e-9;  // throw on the next physics step
    physics_step(p, s, rng);
    REQUIRE(s.balls.size() == 1);
    // The throw is aimed from its spawn point: follow it without collisions or bounces.
    Ball b = s.balls[0];
    const double sx = b.x - b.vx * p.dt, sy = b.y - b.vy * p.dt;
    const double sz = b.z - b.vz * p.dt;  // undo the first step (semi-implicit Euler)
    CHECK(std::hypot(sx, sy) == Approx(level == 1 ? std::hypot(sx, 20.0) : 20.0).epsilon(1e-9));
    CHECK(sz == Approx(p.spawn_height).margin(1e-6));
    // Integrate the remaining steps of T with the game's own ball motion (player out of the way).
    GameState only_ball;
    only_ball.player.z = 1000;  // far above: no hit
    only_ball.balls.push_back(b);
    const int steps = static_cast<int>(std::lround(p.flight_time / p.dt));
    run_physics(p, only_ball, steps - 1, rng);
    REQUIRE(only_ball.balls.size() == 1);
    const Ball& e = only_ball.balls[0];
    // Semi-implicit Euler lands within a few cm of the aim point at 60 Hz.
    CHECK(e.x == Approx(1.0).margin(0.05));
    CHECK(e.y == Approx(-2.0).margin(0.05));
    CHECK(e.z == Approx(kAimHeight).margin(0.2));
  }
}

TEST_CASE("launch velocity follows the flight-time formula", "[game]") {
  GameParams p = params_for(1);
  GameState s = standing_state();
  Rng rng(3);
  s.spawn_elapsed = p.spawn_interval;
  p.spawn_interval = 2.0;
  // Capture the throw before it moves: use an indicator (launch velocity stored as computed).
  p.thrower_enabled = true;
  p.thrower_delay = 10.0;
  physics_step(p, s, rng);
  REQUIRE(s.indicators.size() == 1);
  const Ball& b = s.indicators[0].ball;
  const double t = 2.0;
  CHECK(b.y == 20.0);
  CHECK(b.z == 2.5);
  CHECK(b.x >= -1.5);
  CHECK(b.x < 1.5);
  CHECK(b.vx == Approx((0.0 - b.x) / t));
  CHECK(b.vy == Approx((0.0 - 20.0) / t));
  CHECK(b.vz == Approx(((1.0 - 2.5) + 0.5 * 9.8 * t * t) / t));
}

TEST_CASE("bounce keeps 70 percent of vz and 95 percent of vx, vy", "[game]") {
  GameParams p = params_for(2);
  GameState s = standing_state();
  s.player.z = 1000;
  Ball b;
  b.x = 3;
  b.y = 3;
  b.z = 0.31;
  b.vx = 2.0;
  b.vy = -4.0;
  b.vz = -3.0;
  s.balls.push_back(b);
  Rng rng(1);
  run_physics(p, s, 1, rng);
  REQUIRE(s.balls.size() == 1);
  const Ball& a = s.balls[0];
  const double vz_before = -3.0 - 9.8 * p.dt;
  CHECK(a.z == kBounceHeight);
  CHECK(a.vz == Approx(-0.7 * vz_before));
  CHECK(a.vx == Approx(2.0 * 0.95));
  CHECK(a.vy == Approx(-4.0 * 0.95));
  // No bounce while rising.
  run_physics(p, s, 1, rng);
  CHECK(s.balls[0].vx == Approx(2.0 * 0.95));
}

TEST_CASE("balls leave through the removal box", "[game]") {
  GameParams p = params_for(2);
  Rng rng(1);
  struct Case {
    Ball b;
    bool kept;
  };
  const Case cases[] = {
      {{0, 0, -5.5, 0, 0, 6}, false},     // z < -5 (rising: no bounce)
      {{0, -24.99, 5, 0, -10, 0}, false},  // y < -25
      {{0, 29.99, 5, 0, 10, 0}, false},    // y > 30
      {{29.99, 0, 5, 10, 0, 0}, false},    // x > 30
      {{-29.99, 0, 5, -10, 0, 0}, false},  // x < -30
      {{0, 10, 5, 0, 0, 0}, true},
  };
  for (const auto& c : cases) {
    GameState s = standing_state();
    s.player.z = 1000;
    s.balls.push_back(c.b);
    run_physics(p, s, 1, rng);
    CHECK(s.balls.size() == (c.kept ? 1u : 0u));
  }
}

TEST_CASE("level 2 spawn angles stay inside the half-angle and cover it", "[game]") {
  for (double half_deg : {30.0, 60.0, 180.0}) {
    GameConfig c;
    c.level = 2;
    c.spawn_angle_degrees = half_deg;
    GameParams p = resolve(c);
    p.thrower_enabled = true;  // indicators keep the spawn point untouched
    p.thrower_delay = 1e9;
    GameState s = standing_state();
    Rng rng(11);
    for (int i = 0; i < 4000; ++i) {
      s.spawn_elapsed = p.spawn_interval;
      physics_step(p, s, rng);
    }
    REQUIRE(s.indicators.size() == 4000);
    double lo = 1e9, hi = -1e9;
    for (const auto& ind : s.indicators) {
      const double theta = std::atan2(ind.ball.x, ind.ball.y) * 180.0 / M_PI;
      CHECK(std::hypot(ind.ball.x, ind.ball.y) == Approx(20.0));
      CHECK(ind.ball.z == Approx(1.5));
      lo = std::min(lo, theta);
      hi = std::max(hi, theta);
      CHECK(std::abs(theta) <= half_deg + 1e-9);
    }
    CHECK(lo < -half_deg * 0.98);
    CHECK(hi > half_deg * 0.98);
  }
}

TEST_CASE("throws come every spawn interval", "[game]") {
  for (int level : {1, 2}) {
    GameParams p = params_for(level);
    GameState s;
    Rng rng(5);
    reset(p, s, rng);
    CHECK(s.spawn_elapsed >= 0.0);
    CHECK(s.spawn_elapsed < p.spawn_interval);
    s.player.z = 1000;  // never hit
    int throws = 0;
    std::vector<int> at;
    for (int i = 0; i < 60 * 20; ++i) {
      const std::size_t before = s.balls.size();
      physics_step(p, s, rng);
      // Right after a throw the timer holds less than one step.
      if (s.spawn_elapsed < p.dt - 1e-12) {
        ++throws;
        at.push_back(i);
        CHECK(s.balls.size() >= before);
      }
    }
    const int expected = static_cast<int>(20.0 / p.spawn_interval);
    CHECK(std::abs(throws - expected) <= 1);
    for (std::size_t k = 1; k < at.size(); ++k)
      CHECK(std::abs((at[k] - at[k - 1]) * p.dt - p.spawn_interval) < p.dt + 1e-9);
  }
}

TEST_CASE("the reset draws the spawn-timer phase uniformly", "[game]") {
  GameParams p = params_for(2);
  GameState s;
  double sum = 0, lo = 1, hi = 0;
  for (int e = 0; e < 2000; ++e) {
    Rng rng = Rng::for_episode(1, 0, static_cast<std::uint64_t>(e));
    reset(p, s, rng);
    sum += s.spawn_elapsed;
    lo = std::min(lo, s.spawn_elapsed);
    hi = std::max(hi, s.spawn_elapsed);
  }
  CHECK(sum / 2000 == Approx(0.25).margin(0.01));
  CHECK(lo < 0.01);
  CHECK(hi > 0.49);
  CHECK(hi < 0.5);
}

TEST_CASE("player clamps to the court and keeps its commanded velocity", "[game]") {
  GameParams p = params_for(2);
  p.spawn_interval = 1e9;
  GameState s;
  Rng rng(1);
  reset(p, s, rng);
  s.spawn_elapsed = 0;
  const float right_up_sprint[3] = {1.0f, 1.0f, 1.0f};
  for (int i = 0; i < 120; ++i) step(p, s, right_up_sprint, rng);
  CHECK(s.player.x == kCourtHalfX);
  CHECK(s.player.y == kCourtHalfY);
  CHECK(s.player.vx == Approx(15.0));  // 5 * (1 + 1 * 2), not zeroed at the wall
  const float left_down[3] = {-1.0f, -1.0f, -1.0f};
  for (int i = 0; i < 200; ++i) step(p, s, left_down, rng);
  CHECK(s.player.x == -kCourtHalfX);
  CHECK(s.player.y == -kCourtHalfY);
}

TEST_CASE("sprint maps [-1, 1] to [0, 1] and diagonals move sqrt(2) times faster", "[game]") {
  GameConfig c;
  c.sprint_multiplier = 1.0;
  GameParams p = resolve(c);
  p.spawn_interval = 1e9;
  Rng rng(1);
  struct Case {
    float sprint;
    double speed;
  };
  for (const Case k : {Case{-1.0f, 5.0}, Case{0.0f, 7.5}, Case{1.0f, 10.0}}) {
    GameState s;
    reset(p, s, rng);
    const float a[3] = {1.0f, 0.0f, k.sprint};
    step(p, s, a, rng);
    CHECK(s.player.vx == Approx(k.speed));
    CHECK(s.player.x == Approx(k.speed * p.dt));
  }
  GameState s;
  reset(p, s, rng);
  const float diag[3] = {0.5f, 0.5f, -1.0f};
  for (int i = 0; i < 6; ++i) step(p, s, diag, rng);
  const double moved = std::hypot(s.player.x, s.player.y);
  CHECK(moved == Approx(std::sqrt(2.0) * 0.5 * 5.0 * 6 * p.dt));
}

TEST_CASE("jump follows the arc and lands at the start height", "[game]") {
  GameConfig c;
  c.action_space_type = ActionType::Basic4dJump;
  GameParams p = resolve(c);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  reset(p, s, rng);
  const float jump[4] = {0, 0, -1, 1};
  const float stay[4] = {0, 0, -1, -1};
  step(p, s, jump, rng);
  CHECK(s.player.vz == Approx(7.0 - 20.0 * p.dt));
  double peak = 0;
  int airborne = 1;
  while (s.player.z > kPlayerStartHeight) {
    peak = std::max(peak, s.player.z);
    // Holding jump in the air does nothing.
    step(p, s, jump, rng);
    if (s.player.z > kPlayerStartHeight) ++airborne;
    REQUIRE(airborne < 200);
  }
  CHECK(peak == Approx(1.0 + 7.0 * 7.0 / (2 * 20.0)).margin(0.07));
  CHECK(airborne * p.dt == Approx(2 * 7.0 / 20.0).margin(2 * p.dt));
  CHECK(s.player.z == kPlayerStartHeight);
  CHECK(s.player.vz == 0.0);
  step(p, s, stay, rng);
  CHECK(s.player.z == kPlayerStartHeight);
  // basic_3d has no jump.
  GameParams p3 = resolve(GameConfig{});
  GameState s3;
  reset(p3, s3, rng);
  const float a3[3] = {0, 0, 1};
  step(p3, s3, a3, rng);
  CHECK(s3.player.z == kPlayerStartHeight);
}

TEST_CASE("tilt is visual only", "[game]") {
  GameConfig c;
  c.action_space_type = ActionType::Full6d;
  GameParams p = resolve(c);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  reset(p, s, rng);
  const float a[6] = {0.5f, 0.0f, -1.0f, 1.0f, -0.5f, -1.0f};  // vx vy jump pitch roll sprint
  step(p, s, a, rng);
  CHECK(s.player.pitch == Approx(0.523));
  CHECK(s.player.roll == Approx(-0.2615));
  CHECK(s.player.vx == Approx(2.5));
  CHECK(s.player.sprint == 0.0);
}

TEST_CASE("keyboard directions are unit vectors, shift sprints, space jumps", "[game]") {
  float a[6];
  Keys k;
  k.up = true;
  k.right = true;
  keyboard_action(ActionType::Basic3d, k, a);
  CHECK(a[0] == Approx(std::sqrt(0.5)));
  CHECK(a[1] == Approx(std::sqrt(0.5)));
  CHECK(a[2] == -1.0f);
  k = Keys{};
  k.left = true;
  k.sprint = true;
  keyboard_action(ActionType::Basic3d, k, a);
  CHECK(a[0] == -1.0f);
  CHECK(a[1] == 0.0f);
  CHECK(a[2] == 1.0f);
  k = Keys{};
  k.down = true;
  k.up = true;  // opposite keys cancel
  k.jump = true;
  keyboard_action(ActionType::Full6d, k, a);
  CHECK(a[0] == 0.0f);
  CHECK(a[1] == 0.0f);
  CHECK(a[2] == 1.0f);   // jump
  CHECK(a[5] == -1.0f);  // sprint
}

TEST_CASE("a hit closer than 0.8 terminates with the collision penalty only", "[game]") {
  GameParams p = params_for(2);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  reset(p, s, rng);
  s.spawn_elapsed = 0;
  Ball b;  // a ball hovering 0.79 away after its step (no gravity effect within tolerance: vz cancels)
  b.x = 0.79;
  b.z = 1.0;
  b.vz = 9.8 * p.dt;  // after gravity vz = 0
  s.balls.push_back(b);
  const float a[3] = {0, 0, -1};
  StepResult r = step(p, s, a, rng);
  CHECK(r.terminated);
  CHECK_FALSE(r.truncated);
  CHECK(r.reward == -100.0);

  reset(p, s, rng);
  s.spawn_elapsed = 0;
  b.x = 0.81;
  s.balls.push_back(b);
  r = step(p, s, a, rng);
  CHECK_FALSE(r.terminated);
  // Not hit, close: survival plus (2.0 - 0.81) * 0.5.
  CHECK(r.reward == Approx(1.0 + (2.0 - 0.81) * 0.5).margin(1e-6));
}

TEST_CASE("dodge bonus at a known distance, none without balls or beyond the threshold", "[game]") {
  GameParams p = params_for(2);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  const float a[3] = {0, 0, -1};
  for (double d : {1.0, 1.5, 1.99, 2.5}) {
    reset(p, s, rng);
    s.spawn_elapsed = 0;
    Ball b;
    b.y = d;
    b.z = 1.0;
    b.vz = 9.8 * p.dt;
    s.balls.push_back(b);
    Ball far = b;  // a farther ball does not count
    far.y = 5.0;
    s.balls.push_back(far);
    const StepResult r = step(p, s, a, rng);
    const double expected = 1.0 + (d < 2.0 ? (2.0 - d) * 0.5 : 0.0);
    CHECK(r.reward == Approx(expected).margin(1e-9));
  }
  reset(p, s, rng);
  s.spawn_elapsed = 0;
  CHECK(step(p, s, a, rng).reward == 1.0);
}

TEST_CASE("truncation at max_episode_steps, both flags can be set on one step", "[game]") {
  GameConfig c;
  c.max_episode_steps = 5;
  GameParams p = resolve(c);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  reset(p, s, rng);
  s.spawn_elapsed = 0;
  const float a[3] = {0, 0, -1};
  for (int i = 0; i < 4; ++i) CHECK_FALSE(step(p, s, a, rng).truncated);
  Ball b;
  b.z = 1.0;
  b.vz = 9.8 * p.dt;
  s.balls.push_back(b);  // a hit on the last step
  const StepResult r = step(p, s, a, rng);
  CHECK(r.truncated);
  CHECK(r.terminated);
  CHECK(s.steps == 5);
}

TEST_CASE("frame_skip sums the rewards of its physics steps", "[game]") {
  GameConfig c;
  c.frame_skip = 4;
  GameParams p = resolve(c);
  p.spawn_interval = 1e9;
  Rng rng(1);
  GameState s;
  reset(p, s, rng);
  s.spawn_elapsed = 0;
  Ball b;  // a ball hovering 1.0 away along y, moving with the player's frame: stays put
  b.y = 1.0;
  b.z = 1.6;  // close: earns the dodge bonus while it falls
  s.balls.push_back(b);
  GameState copy = s;
  Rng rng2 = rng;
  const float a[3] = {0, 0, -1};
  const StepResult r = step(p, s, a, rng);
  double expected = 0;
  copy.player.vx = copy.player.vy = 0;
  for (int i = 0; i < 4; ++i) expected += physics_step(p, copy, rng2);
  CHECK(r.reward == Approx(expected));
  CHECK(r.reward > 4.0);  // the bonus applied
  CHECK(s.steps == 1);
  CHECK(s.player.z == copy.player.z);
  CHECK(s.balls[0].z == copy.balls[0].z);
}

TEST_CASE("thrower indicators launch the precomputed ball after the delay", "[game]") {
  GameConfig c;
  c.observation_mode = ObsMode::WithThrower;
  c.thrower_delay_seconds = 0.5;
  GameParams p = resolve(c);
  REQUIRE(p.thrower_enabled);
  GameState s;
  Rng rng(2);
  reset(p, s, rng);
  s.player.z = 1000;
  s.spawn_elapsed = p.spawn_interval - 1e-9;
  physics_step(p, s, rng);
  REQUIRE(s.indicators.size() == 1);
  CHECK(s.balls.empty());
  const Ball planned = s.indicators[0].ball;
  s.player.x = 4;  // moving now does not change the aim
  p.spawn_interval = 1e9;
  int steps = 1;
  while (s.balls.empty()) {
    physics_step(p, s, rng);
    ++steps;
    REQUIRE(steps < 100);
  }
  CHECK(steps == 31);  // launched on the 30th step after placement (0.5 s at 60 Hz)
  CHECK(s.indicators.empty());
  CHECK(s.balls[0].vx == planned.vx);
  // Auto mode: standard observations do not use the indicator.
  GameConfig std_cfg;
  CHECK_FALSE(resolve(std_cfg).thrower_enabled);
  std_cfg.thrower_indicator = ThrowerIndicator::On;
  CHECK(resolve(std_cfg).thrower_enabled);
  // Reset removes pending indicators.
  s.indicators.push_back(Indicator{planned, 0.3});
  reset(p, s, rng);
  CHECK(s.indicators.empty());
  CHECK(s.balls.empty());
}

TEST_CASE("bad actions name the component", "[game]") {
  const float nan_vy[3] = {0.0f, std::nanf(""), 0.0f};
  CHECK(check_action(ActionType::Basic3d, nan_vy, 3) == "action[1] (vy) = nan is not in [-1, 1]");
  const float big[6] = {0, 0, 0, 0, 1.5f, 0};
  CHECK(check_action(ActionType::Full6d, big, 6) == "action[4] (roll) = 1.5 is not in [-1, 1]");
  CHECK(check_action(ActionType::Basic3d, big, 6) == "action has 6 components, basic_3d needs 3");
  const float ok[3] = {-1, 1, 0};
  CHECK(check_action(ActionType::Basic3d, ok, 3).empty());
}

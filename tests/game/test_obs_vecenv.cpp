// Vector observations (GAME.md section 8), seeding (section 10) and the batched VecEnv.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <sstream>

#include "dodge/game/constants.hpp"
#include "dodge/game/game.hpp"
#include "dodge/game/vec_env.hpp"

using namespace dodge::game;

namespace {

Ball ball_at(double x, double y, double z, double vx = 0) {
  Ball b;
  b.x = x;
  b.y = y;
  b.z = z;
  b.vx = vx;
  b.vy = 2 * vx;
  b.vz = 3 * vx;
  return b;
}

// Random actions from a seeded stream, identical for every run.
void random_actions(Rng& rng, std::vector<float>& a) {
  for (auto& v : a) v = static_cast<float>(rng.uniform(-1.0, 1.0));
}

struct Trace {
  std::vector<float> obs, rewards;
  std::vector<std::uint8_t> flags;
  bool operator==(const Trace& o) const { return obs == o.obs && rewards == o.rewards && flags == o.flags; }
};

Trace run(const GameConfig& c, int n_envs, int threads, std::uint64_t seed, int steps) {
  VecEnv env(c, n_envs, threads, seed);
  const int d = vector_obs_size(c.observation_mode);
  std::vector<float> obs(static_cast<std::size_t>(n_envs * d));
  VectorObsSink sink(env.params(), obs.data(), d);
  StepOutputs out;
  std::vector<float> actions(static_cast<std::size_t>(n_envs * env.action_dim()));
  Rng action_rng(seed + 99);
  Trace t;
  env.reset(&sink);
  for (int i = 0; i < steps; ++i) {
    random_actions(action_rng, actions);
    env.step(actions.data(), out, &sink);
    t.obs.insert(t.obs.end(), obs.begin(), obs.end());
    t.rewards.insert(t.rewards.end(), out.rewards.begin(), out.rewards.end());
    for (int e = 0; e < n_envs; ++e)
      t.flags.push_back(static_cast<std::uint8_t>(out.terminated[e] | out.truncated[e] << 1 |
                                                  out.episode_start[e] << 2));
  }
  return t;
}

}  // namespace

TEST_CASE("standard observation layout, nearest first, zero padded", "[game][obs]") {
  GameParams p = resolve(GameConfig{});
  GameState s;
  s.player.x = 1;
  s.player.y = 2;
  s.player.z = 1;
  s.player.vx = -3;
  s.player.vy = 4;
  s.balls = {ball_at(1, 12, 1, 0.5), ball_at(1, 4, 1, 0.25), ball_at(1, 7, 1, 0.125)};
  std::vector<float> o(65, -7.0f);
  write_vector_obs(p, s, o.data());
  CHECK(o[0] == 1);
  CHECK(o[1] == 2);
  CHECK(o[2] == 1);
  CHECK(o[3] == -3);
  CHECK(o[4] == 4);
  // slot 0: the ball 2 away (y = 4), slot 1: y = 7, slot 2: y = 12
  CHECK(o[5 + 1] == 4);
  CHECK(o[5 + 3] == 0.25f);
  CHECK(o[5 + 4] == 0.5f);
  CHECK(o[5 + 5] == 0.75f);
  CHECK(o[11 + 1] == 7);
  CHECK(o[17 + 1] == 12);
  CHECK(o[17 + 0] == 1);
  CHECK(o[17 + 2] == 1);
  for (int i = 23; i < 65; ++i) CHECK(o[static_cast<std::size_t>(i)] == 0.0f);
}

TEST_CASE("more than ten balls: the ten nearest are kept in order", "[game][obs]") {
  GameParams p = resolve(GameConfig{});
  GameState s;
  s.player.z = 1;
  // 15 balls at distances 15, 14, ..., 1 along +x, inserted farthest first.
  for (int d = 15; d >= 1; --d) s.balls.push_back(ball_at(d, 0, 1));
  std::vector<float> o(65);
  write_vector_obs(p, s, o.data());
  for (int k = 0; k < kObsBallSlots; ++k) CHECK(o[static_cast<std::size_t>(5 + 6 * k)] == k + 1);
}

TEST_CASE("with_thrower appends the oldest indicator and its time fraction", "[game][obs]") {
  GameConfig c;
  c.observation_mode = ObsMode::WithThrower;
  c.thrower_delay_seconds = 0.5;
  GameParams p = resolve(c);
  GameState s;
  s.player.z = 1;
  std::vector<float> o(69, -1.0f);
  write_vector_obs(p, s, o.data());
  for (int i = 65; i < 69; ++i) CHECK(o[static_cast<std::size_t>(i)] == 0.0f);
  s.indicators.push_back(Indicator{ball_at(3, 19, 1.5), 0.2});
  s.indicators.push_back(Indicator{ball_at(-3, 19, 1.5), 0.4});
  write_vector_obs(p, s, o.data());
  CHECK(o[65] == 3);
  CHECK(o[66] == 19);
  CHECK(o[67] == 1.5f);
  CHECK(o[68] == Approx(0.4));
}

TEST_CASE("same seed gives bit-identical 10,000-step trajectories, another seed differs", "[game][determinism]") {
  GameConfig c;
  const Trace a = run(c, 4, 1, 42, 2500);  // 4 envs x 2500 steps = 10,000 env steps
  const Trace b = run(c, 4, 1, 42, 2500);
  CHECK(a == b);
  const Trace d = run(c, 4, 1, 43, 2500);
  CHECK_FALSE(a.obs == d.obs);
  // Episodes ended and restarted along the way (otherwise the test says little).
  int starts = 0;
  for (auto f : a.flags) starts += (f >> 2) & 1;
  CHECK(starts > 4);
}

TEST_CASE("1, 2 and 8 threads give identical results", "[game][determinism]") {
  GameConfig c;
  c.observation_mode = ObsMode::WithThrower;
  const Trace one = run(c, 13, 1, 7, 600);
  CHECK(run(c, 13, 2, 7, 600) == one);
  CHECK(run(c, 13, 8, 7, 600) == one);
}

TEST_CASE("each env has its own stream, episodes differ", "[game][determinism]") {
  GameConfig c;
  VecEnv env(c, 3, 1, 5);
  env.reset(nullptr);
  CHECK(env.state(0).spawn_elapsed != env.state(1).spawn_elapsed);
  CHECK(Rng::for_episode(5, 0, 0).next() != Rng::for_episode(5, 0, 1).next());
  CHECK(Rng::for_episode(5, 0, 0).next() != Rng::for_episode(5, 1, 0).next());
  CHECK(Rng::for_episode(5, 0, 0).next() == Rng::for_episode(5, 0, 0).next());
}

TEST_CASE("auto-reset on the next step, episode ends are reported", "[game][vecenv]") {
  GameConfig c;
  c.max_episode_steps = 3;
  VecEnv env(c, 2, 1, 1);
  StepOutputs out;
  std::vector<float> a(6, 0.0f);
  a[2] = a[5] = -1.0f;
  env.reset(nullptr);
  for (int i = 0; i < 2; ++i) {
    env.step(a.data(), out, nullptr);
    CHECK(out.finished.empty());
    CHECK(out.episode_start[0] == 0);
  }
  env.step(a.data(), out, nullptr);
  CHECK(out.truncated[0] == 1);
  REQUIRE(out.finished.size() == 2);
  CHECK(out.finished[0].env == 0);
  CHECK(out.finished[1].env == 1);
  CHECK(out.finished[0].length == 3);
  CHECK(out.finished[0].truncated);
  CHECK(out.finished[0].episode_return == Approx(3.0).margin(1.0));
  CHECK(env.state(0).steps == 3);  // the final state is still there
  // The next step resets instead of stepping, whatever the action, even an invalid one.
  std::vector<float> bad(6, 5.0f);
  env.step(bad.data(), out, nullptr);
  CHECK(out.episode_start[0] == 1);
  CHECK(out.episode_start[1] == 1);
  CHECK(out.rewards[0] == 0.0f);
  CHECK(out.truncated[0] == 0);
  CHECK(env.state(0).steps == 0);
  CHECK(env.episode(0) == 2);
  env.step(a.data(), out, nullptr);
  CHECK(out.episode_start[0] == 0);
  CHECK(env.state(0).steps == 1);
}

TEST_CASE("a bad action names the env and the component", "[game][vecenv]") {
  VecEnv env(GameConfig{}, 3, 1, 1);
  env.reset(nullptr);
  StepOutputs out;
  std::vector<float> a(9, 0.0f);
  a[7] = std::nanf("");
  REQUIRE_THROWS_WITH(env.step(a.data(), out, nullptr), "env 2: action[1] (vy) = nan is not in [-1, 1]");
  a[7] = 0;
  a[2] = -1.01f;
  REQUIRE_THROWS_WITH(env.step(a.data(), out, nullptr), "env 0: action[2] (sprint) = -1.01 is not in [-1, 1]");
}

TEST_CASE("env state saves and loads: the continuation is identical", "[game][vecenv]") {
  GameConfig c;
  VecEnv a(c, 3, 1, 9);
  a.reset(nullptr);
  StepOutputs out;
  std::vector<float> act(9, 0.3f);
  for (int i = 0; i < 100; ++i) a.step(act.data(), out, nullptr);
  std::stringstream ss;
  a.save_state(ss);
  VecEnv b(c, 3, 2, 0);
  b.load_state(ss);
  StepOutputs out_b;
  for (int i = 0; i < 300; ++i) {
    a.step(act.data(), out, nullptr);
    b.step(act.data(), out_b, nullptr);
    REQUIRE(out.rewards == out_b.rewards);
  }
  std::vector<float> oa(65), ob(65);
  write_vector_obs(a.params(), a.state(1), oa.data());
  write_vector_obs(b.params(), b.state(1), ob.data());
  CHECK(oa == ob);
  std::stringstream bad("xx");
  CHECK_THROWS(b.load_state(bad));
}

TEST_CASE("observations stay finite and in bounds over long random play", "[game][obs]") {
  GameConfig c;
  c.observation_mode = ObsMode::WithThrower;
  const Trace t = run(c, 4, 2, 3, 3000);
  for (std::size_t i = 0; i < t.obs.size(); ++i) {
    const float v = t.obs[i];
    REQUIRE(std::isfinite(v));
    const std::size_t k = i % 69;
    if (k == 0) REQUIRE(std::abs(v) <= 5.0f);
    if (k == 1) REQUIRE(std::abs(v) <= 4.0f);
    if (k == 68) REQUIRE((v >= 0.0f && v <= 1.0f));
  }
}

TEST_CASE("a masked reset restarts only those envs, and reseed replays another run's game", "[game][vecenv]") {
  GameConfig c;
  c.level = 2;
  const int d = vector_obs_size(c.observation_mode);
  VecEnv env(c, 3, 1, 7);
  std::vector<float> obs(static_cast<std::size_t>(3 * d));
  VectorObsSink sink(env.params(), obs.data(), d);
  StepOutputs out;
  std::vector<float> actions(static_cast<std::size_t>(3 * env.action_dim()), 0.3f);
  env.reset(&sink);
  for (int i = 0; i < 20; ++i) env.step(actions.data(), out, &sink);
  const GameState before0 = env.state(0), before2 = env.state(2);
  const std::uint8_t mask[3] = {0, 1, 0};
  env.reset(&sink, mask);
  // Envs 0 and 2 kept their games; env 1 began its second episode.
  CHECK(env.state(0).steps == before0.steps);
  CHECK(env.state(0).player.x == before0.player.x);
  CHECK(env.state(2).spawn_elapsed == before2.spawn_elapsed);
  CHECK(env.state(1).steps == 0);
  CHECK(env.episode(1) == 2);
  CHECK(env.episode(0) == 1);

  // Env 0 reseeded to game 2 of seed 7 plays what a fresh run's env 2 plays, step for step.
  VecEnv fresh(c, 3, 1, 7);
  std::vector<float> fobs(static_cast<std::size_t>(3 * d));
  VectorObsSink fsink(fresh.params(), fobs.data(), d);
  fresh.reset(&fsink);
  env.reseed(0, 7, 2);
  CHECK(env.seed(0) == 7);
  const std::uint8_t first[3] = {1, 0, 0};
  env.reset(&sink, first);
  StepOutputs fout;
  for (int i = 0; i < 50; ++i) {
    CHECK(std::memcmp(obs.data(), fobs.data() + 2 * d, sizeof(float) * static_cast<std::size_t>(d)) == 0);
    env.step(actions.data(), out, &sink);
    fresh.step(actions.data(), fout, &fsink);
    CHECK(out.rewards[0] == fout.rewards[2]);
  }
  // Another game of the same seed differs.
  env.reseed(0, 7, 1);
  env.reset(&sink, first);
  fresh.reset(&fsink);
  bool differs = false;
  for (int i = 0; i < 50 && !differs; ++i) {
    env.step(actions.data(), out, &sink);
    fresh.step(actions.data(), fout, &fsink);
    differs = std::memcmp(obs.data(), fobs.data() + 2 * d, sizeof(float) * static_cast<std::size_t>(d)) != 0;
  }
  CHECK(differs);
}

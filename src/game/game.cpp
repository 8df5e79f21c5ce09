#include "dodge/game/game.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "dodge/game/constants.hpp"

namespace dodge::game {
namespace {

// Slack for timers accumulated from dt: 30 steps of 1/60 s must make 0.5 s exactly.
constexpr double kTimeEps = 1e-9;

// Positions of each component in the action vector (-1: not present). GAME.md section 7.
struct Layout {
  int vx, vy, sprint, jump, pitch, roll;
};

Layout layout(ActionType t) {
  switch (t) {
    case ActionType::Basic3d: return {0, 1, 2, -1, -1, -1};
    case ActionType::Basic4dJump: return {0, 1, 2, 3, -1, -1};
    case ActionType::Tilt5d: return {0, 1, 4, -1, 2, 3};
    case ActionType::Full6d: return {0, 1, 5, 2, 3, 4};
  }
  return {0, 1, 2, -1, -1, -1};
}

double to_unit(float a) { return (static_cast<double>(a) + 1.0) * 0.5; }

// Spawn point and launch velocity of a throw aimed at the player now (GAME.md section 3).
Ball make_throw(const GameParams& p, const GameState& s, Rng& rng) {
  Ball b;
  if (p.level == 1) {
    b.x = rng.uniform(-kLevel1SpawnHalfWidth, kLevel1SpawnHalfWidth);
    b.y = kSpawnDistance;
  } else {
    const double theta = rng.uniform(-p.spawn_half_angle_rad, p.spawn_half_angle_rad);
    b.x = kSpawnDistance * std::sin(theta);
    b.y = kSpawnDistance * std::cos(theta);
  }
  b.z = p.spawn_height;
  const double t = p.flight_time;
  b.vx = (s.player.x - b.x) / t;
  b.vy = (s.player.y - b.y) / t;
  b.vz = ((kAimHeight - b.z) + 0.5 * kBallGravity * t * t) / t;
  return b;
}

bool outside_removal_box(const Ball& b) {
  return b.z < kRemoveBelowZ || b.y < kRemoveBelowY || b.y > kRemoveAboveY || std::abs(b.x) > kRemoveAbsX;
}

}  // namespace

void reset(const GameParams& p, GameState& s, Rng& rng) {
  s.player = Player{};
  s.player.z = kPlayerStartHeight;
  s.balls.clear();
  s.indicators.clear();
  s.spawn_elapsed = rng.uniform(0.0, p.spawn_interval);
  s.steps = 0;
  s.episode_return = 0.0;
  s.terminated = false;
  s.truncated = false;
}

double physics_step(const GameParams& p, GameState& s, Rng& rng) {
  const double dt = p.dt;
  // Pending throws launch when their indicator runs out.
  if (!s.indicators.empty()) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < s.indicators.size(); ++i) {
      Indicator& ind = s.indicators[i];
      ind.time_left -= dt;
      if (ind.time_left <= kTimeEps)
        s.balls.push_back(ind.ball);
      else
        s.indicators[kept++] = ind;
    }
    s.indicators.resize(kept);
  }
  // Spawn timer: a throw (or an indicator) every spawn_interval seconds.
  s.spawn_elapsed += dt;
  while (s.spawn_elapsed >= p.spawn_interval - kTimeEps) {
    s.spawn_elapsed -= p.spawn_interval;
    Ball b = make_throw(p, s, rng);
    if (p.thrower_enabled)
      s.indicators.push_back(Indicator{b, p.thrower_delay});
    else
      s.balls.push_back(b);
  }
  // Player: horizontal velocity as commanded, clamped to the court; vertical jump arc.
  Player& pl = s.player;
  pl.x = std::clamp(pl.x + pl.vx * dt, -kCourtHalfX, kCourtHalfX);
  pl.y = std::clamp(pl.y + pl.vy * dt, -kCourtHalfY, kCourtHalfY);
  if (pl.z > kPlayerStartHeight || pl.vz > 0.0) {
    pl.vz -= kPlayerGravity * dt;
    pl.z += pl.vz * dt;
    if (pl.z <= kPlayerStartHeight) {
      pl.z = kPlayerStartHeight;
      pl.vz = 0.0;
    }
  }
  // Balls: gravity, motion, bounce, removal.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < s.balls.size(); ++i) {
    Ball b = s.balls[i];
    b.vz -= kBallGravity * dt;
    b.x += b.vx * dt;
    b.y += b.vy * dt;
    b.z += b.vz * dt;
    if (b.z <= kBounceHeight && b.vz < 0.0) {
      b.z = kBounceHeight;
      b.vz = -kRestitution * b.vz;
      b.vx *= kBounceFriction;
      b.vy *= kBounceFriction;
    }
    if (!outside_removal_box(b)) s.balls[kept++] = b;
  }
  s.balls.resize(kept);
  // Collision and reward.
  const Nearest n = nearest_ball(s);
  if (n.index >= 0 && n.distance < kHitDistance) {
    s.terminated = true;
    return p.collision_penalty;
  }
  double r = p.survival_reward;
  if (n.index >= 0 && n.distance < p.dodge_bonus_threshold)
    r += (p.dodge_bonus_threshold - n.distance) * p.dodge_bonus_multiplier;
  return r;
}

StepResult step(const GameParams& p, GameState& s, const float* a, Rng& rng) {
  const Layout l = layout(p.action_type);
  Player& pl = s.player;
  pl.sprint = to_unit(a[l.sprint]);
  const double speed = p.player_speed * (1.0 + pl.sprint * p.sprint_multiplier);
  pl.vx = static_cast<double>(a[l.vx]) * speed;
  pl.vy = static_cast<double>(a[l.vy]) * speed;
  if (l.pitch >= 0) {
    pl.pitch = static_cast<double>(a[l.pitch]) * kMaxTilt;
    pl.roll = static_cast<double>(a[l.roll]) * kMaxTilt;
  }
  const bool on_ground = pl.z <= kPlayerStartHeight && pl.vz == 0.0;
  if (l.jump >= 0 && to_unit(a[l.jump]) > 0.5 && on_ground) pl.vz = kJumpVelocity;

  StepResult r;
  for (int k = 0; k < p.frame_skip && !s.terminated; ++k) r.reward += physics_step(p, s, rng);
  s.steps += 1;
  if (s.steps >= p.max_episode_steps) s.truncated = true;
  s.episode_return += r.reward;
  r.terminated = s.terminated;
  r.truncated = s.truncated;
  return r;
}

Nearest nearest_ball(const GameState& s) {
  Nearest n;
  double best = std::numeric_limits<double>::infinity();
  const Player& pl = s.player;
  for (std::size_t i = 0; i < s.balls.size(); ++i) {
    const Ball& b = s.balls[i];
    const double dx = b.x - pl.x, dy = b.y - pl.y, dz = b.z - pl.z;
    const double d2 = dx * dx + dy * dy + dz * dz;
    if (d2 < best) {
      best = d2;
      n.index = static_cast<int>(i);
    }
  }
  n.distance = std::sqrt(best);
  return n;
}

const char* action_component_name(ActionType type, int i) {
  const Layout l = layout(type);
  if (i == l.vx) return "vx";
  if (i == l.vy) return "vy";
  if (i == l.sprint) return "sprint";
  if (i == l.jump) return "jump";
  if (i == l.pitch) return "pitch";
  if (i == l.roll) return "roll";
  return "?";
}

std::string check_action(ActionType type, const float* a, int length) {
  const int dim = action_dim(type);
  char buf[160];
  if (length != dim) {
    std::snprintf(buf, sizeof buf, "action has %d components, %s needs %d", length, to_string(type), dim);
    return buf;
  }
  for (int i = 0; i < dim; ++i) {
    const float v = a[i];
    if (!(v >= -1.0f && v <= 1.0f)) {  // false for NaN too
      std::snprintf(buf, sizeof buf, "action[%d] (%s) = %g is not in [-1, 1]", i,
                    action_component_name(type, i), static_cast<double>(v));
      return buf;
    }
  }
  return {};
}

void write_vector_obs(const GameParams& p, const GameState& s, float* dst) {
  if (p.obs_mode == ObsMode::Topdown) return;
  const Player& pl = s.player;
  dst[0] = static_cast<float>(pl.x);
  dst[1] = static_cast<float>(pl.y);
  dst[2] = static_cast<float>(pl.z);
  dst[3] = static_cast<float>(pl.vx);
  dst[4] = static_cast<float>(pl.vy);
  // Nearest balls first: keep the kObsBallSlots smallest distances by insertion into a short list.
  std::array<int, kObsBallSlots> idx{};
  std::array<double, kObsBallSlots> dist{};
  int count = 0;
  for (std::size_t i = 0; i < s.balls.size(); ++i) {
    const Ball& b = s.balls[i];
    const double dx = b.x - pl.x, dy = b.y - pl.y, dz = b.z - pl.z;
    const double d2 = dx * dx + dy * dy + dz * dz;
    if (count == kObsBallSlots && d2 >= dist[kObsBallSlots - 1]) continue;
    int j = count < kObsBallSlots ? count++ : kObsBallSlots - 1;
    while (j > 0 && dist[j - 1] > d2) {  // strict: equal distances keep spawn order
      dist[j] = dist[j - 1];
      idx[j] = idx[j - 1];
      --j;
    }
    dist[j] = d2;
    idx[j] = static_cast<int>(i);
  }
  float* o = dst + 5;
  for (int k = 0; k < kObsBallSlots; ++k, o += kObsBallFloats) {
    if (k < count) {
      const Ball& b = s.balls[static_cast<std::size_t>(idx[k])];
      o[0] = static_cast<float>(b.x);
      o[1] = static_cast<float>(b.y);
      o[2] = static_cast<float>(b.z);
      o[3] = static_cast<float>(b.vx);
      o[4] = static_cast<float>(b.vy);
      o[5] = static_cast<float>(b.vz);
    } else {
      for (int c = 0; c < kObsBallFloats; ++c) o[c] = 0.0f;
    }
  }
  if (p.obs_mode == ObsMode::WithThrower) {
    float* t = dst + kObsStandardSize;
    if (s.indicators.empty()) {
      t[0] = t[1] = t[2] = t[3] = 0.0f;
    } else {
      const Indicator& ind = s.indicators.front();
      t[0] = static_cast<float>(ind.ball.x);
      t[1] = static_cast<float>(ind.ball.y);
      t[2] = static_cast<float>(ind.ball.z);
      const double frac = p.thrower_delay > 0 ? ind.time_left / p.thrower_delay : 0.0;
      t[3] = static_cast<float>(std::clamp(frac, 0.0, 1.0));
    }
  }
}

void keyboard_action(ActionType type, const Keys& k, float* a) {
  const Layout l = layout(type);
  for (int i = 0; i < action_dim(type); ++i) a[i] = 0.0f;
  double dx = (k.right ? 1.0 : 0.0) - (k.left ? 1.0 : 0.0);
  double dy = (k.up ? 1.0 : 0.0) - (k.down ? 1.0 : 0.0);
  const double len = std::sqrt(dx * dx + dy * dy);
  if (len > 0) {
    dx /= len;
    dy /= len;
  }
  a[l.vx] = static_cast<float>(dx);
  a[l.vy] = static_cast<float>(dy);
  a[l.sprint] = k.sprint ? 1.0f : -1.0f;
  if (l.jump >= 0) a[l.jump] = k.jump ? 1.0f : -1.0f;
}

}  // namespace dodge::game

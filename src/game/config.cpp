#include "dodge/game/config.hpp"

#include <cmath>

#include "dodge/game/constants.hpp"

namespace dodge::game {

GameParams resolve(const GameConfig& c) {
  GameParams p;
  p.level = c.level;
  p.dt = 1.0 / static_cast<double>(c.physics_hz);
  p.spawn_half_angle_rad = c.spawn_angle_degrees * M_PI / 180.0;
  p.player_speed = c.player_speed;
  p.sprint_multiplier = c.sprint_multiplier;
  p.action_type = c.action_space_type;
  p.obs_mode = c.observation_mode;
  p.thrower_delay = c.thrower_delay_seconds;
  switch (c.thrower_indicator) {
    case ThrowerIndicator::On: p.thrower_enabled = c.thrower_delay_seconds > 0; break;
    case ThrowerIndicator::Off: p.thrower_enabled = false; break;
    case ThrowerIndicator::Auto:
      p.thrower_enabled = c.thrower_delay_seconds > 0 && c.observation_mode == ObsMode::WithThrower;
      break;
  }
  p.collision_penalty = c.collision_penalty;
  p.survival_reward = c.survival_reward;
  p.dodge_bonus_threshold = c.dodge_bonus_threshold;
  p.dodge_bonus_multiplier = c.dodge_bonus_multiplier;
  const bool l1 = c.level == 1;
  p.spawn_interval = c.projectile_spawn_interval.value_or(l1 ? kLevel1SpawnInterval : kLevel2SpawnInterval);
  p.spawn_height = c.projectile_spawn_height.value_or(l1 ? kLevel1SpawnHeight : kLevel2SpawnHeight);
  p.flight_time = c.projectile_flight_time.value_or(l1 ? kLevel1FlightTime : kLevel2FlightTime);
  p.max_episode_steps = c.max_episode_steps;
  p.frame_skip = c.frame_skip;
  return p;
}

const char* to_string(ActionType t) {
  switch (t) {
    case ActionType::Basic3d: return "basic_3d";
    case ActionType::Basic4dJump: return "basic_4d_jump";
    case ActionType::Tilt5d: return "tilt_5d";
    case ActionType::Full6d: return "full_6d";
  }
  return "?";
}

const char* to_string(ObsMode m) {
  switch (m) {
    case ObsMode::Standard: return "standard";
    case ObsMode::WithThrower: return "with_thrower";
    case ObsMode::Topdown: return "topdown";
  }
  return "?";
}

const char* to_string(ThrowerIndicator t) {
  switch (t) {
    case ThrowerIndicator::Auto: return "auto";
    case ThrowerIndicator::On: return "on";
    case ThrowerIndicator::Off: return "off";
  }
  return "?";
}

std::optional<ActionType> parse_action_type(const std::string& s) {
  for (auto t : {ActionType::Basic3d, ActionType::Basic4dJump, ActionType::Tilt5d, ActionType::Full6d})
    if (s == to_string(t)) return t;
  return std::nullopt;
}

std::optional<ObsMode> parse_obs_mode(const std::string& s) {
  for (auto m : {ObsMode::Standard, ObsMode::WithThrower, ObsMode::Topdown})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

std::optional<ThrowerIndicator> parse_thrower_indicator(const std::string& s) {
  for (auto t : {ThrowerIndicator::Auto, ThrowerIndicator::On, ThrowerIndicator::Off})
    if (s == to_string(t)) return t;
  return std::nullopt;
}

int action_dim(ActionType t) {
  switch (t) {
    case ActionType::Basic3d: return 3;
    case ActionType::Basic4dJump: return 4;
    case ActionType::Tilt5d: return 5;
    case ActionType::Full6d: return 6;
  }
  return 0;
}

int vector_obs_size(ObsMode m) {
  switch (m) {
    case ObsMode::Standard: return kObsStandardSize;
    case ObsMode::WithThrower: return kObsThrowerSize;
    case ObsMode::Topdown: return 0;
  }
  return 0;
}

}  // namespace dodge::game

// Game configuration: every tunable of GAME.md with its default. Plain data; the run library loads
// it from YAML and validates it, the game core only reads it (resolved into GameParams).
#pragma once

#include <optional>
#include <string>

namespace dodge::game {

enum class ActionType { Basic3d, Basic4dJump, Tilt5d, Full6d };
enum class ObsMode { Standard, WithThrower, Topdown };
// When throws are announced by an indicator: Auto = only when the observation shows it (with_thrower).
enum class ThrowerIndicator { Auto, On, Off };

struct GameConfig {
  int level = 2;                        // 1 or 2 (GAME.md section 6)
  double spawn_angle_degrees = 60.0;    // level 2 half-angle of the spawn fan (degrees)
  double player_speed = 5.0;            // base speed (units/s)
  double sprint_multiplier = 2.0;       // speed factor added at full sprint
  ActionType action_space_type = ActionType::Basic3d;
  ObsMode observation_mode = ObsMode::Standard;
  double thrower_delay_seconds = 0.5;   // indicator time before a throw (s)
  ThrowerIndicator thrower_indicator = ThrowerIndicator::Auto;
  // Rewards (per physics step)
  double collision_penalty = -100.0;
  double survival_reward = 1.0;
  double dodge_bonus_threshold = 2.0;   // distance under which the bonus applies (units)
  double dodge_bonus_multiplier = 0.5;
  // Level-dependent; unset means the level's default (GAME.md section 6)
  std::optional<double> projectile_spawn_interval;  // s
  std::optional<double> projectile_spawn_height;    // units
  std::optional<double> projectile_flight_time;     // s
  // Time
  int max_episode_steps = 1000;  // agent steps before truncation
  int physics_hz = 60;           // physics steps per second
  int frame_skip = 1;            // physics steps per agent step
};

// Everything a step needs, resolved once from a GameConfig (level defaults applied, units converted).
struct GameParams {
  int level = 2;
  double dt = 1.0 / 60.0;
  double spawn_half_angle_rad = 0.0;
  double player_speed = 5.0;
  double sprint_multiplier = 2.0;
  ActionType action_type = ActionType::Basic3d;
  ObsMode obs_mode = ObsMode::Standard;
  bool thrower_enabled = false;
  double thrower_delay = 0.5;
  double collision_penalty = -100.0;
  double survival_reward = 1.0;
  double dodge_bonus_threshold = 2.0;
  double dodge_bonus_multiplier = 0.5;
  double spawn_interval = 0.5;
  double spawn_height = 1.5;
  double flight_time = 0.8;
  int max_episode_steps = 1000;
  int frame_skip = 1;
};

GameParams resolve(const GameConfig& config);

// Names used in configs and messages.
const char* to_string(ActionType t);
const char* to_string(ObsMode m);
const char* to_string(ThrowerIndicator t);
std::optional<ActionType> parse_action_type(const std::string& s);
std::optional<ObsMode> parse_obs_mode(const std::string& s);
std::optional<ThrowerIndicator> parse_thrower_indicator(const std::string& s);

int action_dim(ActionType t);
// Floats in the vector observation; 0 for image modes.
int vector_obs_size(ObsMode m);

}  // namespace dodge::game

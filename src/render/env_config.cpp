#include "dodge/render/env_config.hpp"

namespace dodge::render {

std::vector<game::Key> env_keys(EnvConfig& c) {
  using game::ActionType;
  using game::ObsMode;
  using game::ThrowerIndicator;
  std::vector<game::Key> keys;
  game::KeyBuilder b(keys, "env");
  game::GameConfig& g = c.game;
  RenderConfig& r = c.render;
  auto name = [](auto v) { return std::string(to_string(v)); };
  b.integer("level", g.level, {1, 2});
  b.real("spawn_angle_degrees", g.spawn_angle_degrees, {0, 180, true});
  b.real("player_speed", g.player_speed, {0, 50, true});
  b.real("sprint_multiplier", g.sprint_multiplier, {0, 10});
  b.enumeration("action_space_type", g.action_space_type,
                {ActionType::Basic3d, ActionType::Basic4dJump, ActionType::Tilt5d, ActionType::Full6d}, name);
  b.enumeration("observation_mode", g.observation_mode,
                {ObsMode::Standard, ObsMode::WithThrower, ObsMode::Topdown}, name);
  b.real("thrower_delay_seconds", g.thrower_delay_seconds, {0, 10});
  b.enumeration("thrower_indicator", g.thrower_indicator,
                {ThrowerIndicator::Auto, ThrowerIndicator::On, ThrowerIndicator::Off}, name);
  b.real("collision_penalty", g.collision_penalty, {-1e6, 0});
  b.real("survival_reward", g.survival_reward, {-100, 100});
  b.real("dodge_bonus_threshold", g.dodge_bonus_threshold, {0, 50, true});
  b.real("dodge_bonus_multiplier", g.dodge_bonus_multiplier, {0, 100});
  b.optional_real("projectile_spawn_interval", g.projectile_spawn_interval, {0, 60, true});
  b.optional_real("projectile_spawn_height", g.projectile_spawn_height, {0, 100, true});
  b.optional_real("projectile_flight_time", g.projectile_flight_time, {0, 60, true});
  b.integer("max_episode_steps", g.max_episode_steps, {1, 1e9});
  b.integer("physics_hz", g.physics_hz, {1, 1000});
  b.integer("frame_skip", g.frame_skip, {1, 1000});
  b.integer("image_width", r.width, {16, 512});
  b.integer("image_height", r.height, {16, 512});
  b.boolean("image_grayscale", r.grayscale);
  b.enumeration("grey_palette", r.grey_palette, {GreyPalette::Luma, GreyPalette::Contrast}, name);
  b.enumeration("rgb_palette", r.rgb_palette, {RgbPalette::Game, RgbPalette::Contrast}, name);
  b.real("view_extent", r.view_extent, {0, 1000, true});
  b.real("min_radius_px", r.min_radius_px, {0, 64});
  b.boolean("offscreen_markers", r.offscreen_markers);
  b.integer("frame_stack", c.frame_stack, {1, 16});
  b.integer("n_envs", c.n_envs, {1, 4096});
  return keys;
}

ObsSpec obs_spec(const EnvConfig& c) {
  ObsSpec s;
  s.stack = c.frame_stack;
  s.action_dim = game::action_dim(c.game.action_space_type);
  if (c.game.observation_mode == game::ObsMode::Topdown) {
    s.image = true;
    const auto& r = c.render;
    s.frame = {r.channels(), r.height, r.width};
    s.stacked = {r.channels() * s.stack, r.height, r.width};
  } else {
    const int d = game::vector_obs_size(c.game.observation_mode);
    s.frame = {d};
    s.stacked = {d * s.stack};
  }
  return s;
}

}  // namespace dodge::render

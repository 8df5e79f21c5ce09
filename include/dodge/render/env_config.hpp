// What a game observed by an agent is made of: the game's rules, the renderer's frames, frame
// stacking and the number of games. Its keys (the `env:` section of a config) are defined here,
// below the run library, so that `dodge train` and the Python package check them alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dodge/game/config.hpp"
#include "dodge/game/keys.hpp"
#include "dodge/render/render.hpp"

namespace dodge::render {

struct EnvConfig {
  game::GameConfig game;
  RenderConfig render;  // used when game.observation_mode is topdown
  int frame_stack = 1;  // frames per observation (1..16)
  int n_envs = 1;       // parallel training games
};

// The env keys bound to config, in the order configs list them; names are "env.KEY".
std::vector<game::Key> env_keys(EnvConfig& config);

// What the agent observes: one frame or vector, and the stack of them the network receives.
struct ObsSpec {
  bool image = false;
  std::vector<std::int64_t> frame;    // one observation: {C, H, W} or {D}
  std::vector<std::int64_t> stacked;  // the network input: {k*C, H, W} or {k*D}
  int stack = 1;
  int action_dim = 3;
};
ObsSpec obs_spec(const EnvConfig& config);

}  // namespace dodge::render

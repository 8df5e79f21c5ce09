// One dodgeball game: state, reset, step, vector observation (GAME.md). A game is plain data:
// cloning it is a copy. Steps read the params and mutate only the state and the RNG.
#pragma once

#include <string>
#include <vector>

#include "dodge/game/config.hpp"
#include "dodge/game/rng.hpp"

namespace dodge::game {

struct Ball {
  double x = 0, y = 0, z = 0;
  double vx = 0, vy = 0, vz = 0;
};

// A throw announced at its future spawn point; the launch velocity is fixed when it is placed.
struct Indicator {
  Ball ball;                // spawn position and launch velocity
  double time_left = 0.0;   // seconds until the ball launches
};

struct Player {
  double x = 0, y = 0, z = 0;
  double vx = 0, vy = 0, vz = 0;  // vx, vy: commanded velocity (kept at walls)
  double pitch = 0, roll = 0;     // visual only (rad)
  double sprint = 0;              // sprint amount s in [0, 1]
};

struct GameState {
  Player player;
  std::vector<Ball> balls;
  std::vector<Indicator> indicators;  // oldest first
  double spawn_elapsed = 0.0;         // seconds since the last throw
  int steps = 0;                      // agent steps in this episode
  double episode_return = 0.0;
  bool terminated = false;
  bool truncated = false;
};

struct StepResult {
  double reward = 0.0;
  bool terminated = false;  // hit by a ball: do not bootstrap
  bool truncated = false;   // max_episode_steps reached: bootstrap
};

// Starts a new episode: player at rest at the start, no balls, random spawn-timer phase.
void reset(const GameParams& params, GameState& state, Rng& rng);

// Applies one agent action (action_dim(params.action_type) floats, already validated) and
// advances params.frame_skip physics steps. Rewards are summed; a hit ends the step early.
StepResult step(const GameParams& params, GameState& state, const float* action, Rng& rng);

// One physics step with the current commanded velocity; returns its reward and sets the flags.
double physics_step(const GameParams& params, GameState& state, Rng& rng);

// Empty string when the action is valid, else what is wrong ("action[1] (vy) = nan is not in [-1, 1]").
std::string check_action(ActionType type, const float* action, int length);

// Writes vector_obs_size(params.obs_mode) floats (GAME.md section 8). For Topdown it writes nothing.
void write_vector_obs(const GameParams& params, const GameState& state, float* dst);

// Index of the nearest ball (3D) and its distance; -1 and +inf when there are none.
struct Nearest {
  int index = -1;
  double distance = 0.0;
};
Nearest nearest_ball(const GameState& state);

// Keyboard to action (GAME.md section 7): arrows give a unit direction, shift sprints, space jumps.
struct Keys {
  bool up = false, down = false, left = false, right = false, sprint = false, jump = false;
};
void keyboard_action(ActionType type, const Keys& keys, float* action);

// Name of action component i for messages ("vx", "sprint", ...).
const char* action_component_name(ActionType type, int i);

}  // namespace dodge::game

// Running a policy on its own games: observations built as in training, deterministic or
// stochastic actions, episodes spread over parallel envs without favouring short ones.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dodge/game/vec_env.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/render/obs_writer.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/deaths.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::run {

// Something that watches n games and acts in them (a PolicyRunner, a loaded Agent).
class GamePolicy {
 public:
  virtual ~GamePolicy() = default;
  virtual int n_envs() const = 0;
  // Thread-safe across distinct envs (called from the VecEnv's pool).
  virtual void observe(int env, const game::GameState& state, bool episode_start) = 0;
  virtual void act(bool deterministic, float* actions) = 0;
};

// Observations of n envs for a policy (rendered frames or vectors, stacked) and its actions.
class PolicyRunner : public GamePolicy {
 public:
  PolicyRunner(const Config& config, learn::Sac& sac, int n_envs);
  int n_envs() const override { return n_; }
  void observe(int env, const game::GameState& state, bool episode_start) override;
  void act(bool deterministic, float* actions) override;
  std::vector<std::uint8_t> stacked_frames(int env) const;       // images only, else empty
  std::vector<std::uint8_t> stacked_observation(int env) const;  // raw bytes of the network's input

 private:
  Config config_;
  learn::Sac& sac_;
  int n_;
  ObsSpec spec_;
  torch::Tensor host_obs_;  // [n, stacked...] on the CPU: the writer keeps each env's stack here
  render::ObsWriter writer_;
};

struct EpisodeRecord {
  double episode_return = 0;
  int length = 0;
  bool survived = false;  // reached max_episode_steps without a hit
  int game = 0;           // which eval game played it (0: the one `eval --record` films)
  int game_episode = 1;   // that game's 1st, 2nd, ... episode
};

struct EvalSummary {
  std::vector<EpisodeRecord> episodes;
  double mean_return = 0, std_return = 0, min_return = 0, max_return = 0;
  double mean_length = 0, std_length = 0, success_rate = 0;
};
EvalSummary summarize(const std::vector<EpisodeRecord>& episodes);

struct EvalOptions {
  int episodes = 10;
  int envs = 8;
  int threads = 1;
  std::uint64_t seed = 1'000'003;  // eval games have their own seeds
  bool deterministic = true;
  // Called after the reset and after every step of env 0 (recording).
  std::function<void(const game::GameState&)> on_env0_step;
  // Called once per finished episode, in order.
  std::function<void(int index, const EpisodeRecord&)> on_episode;
  // Set: every game is followed step by step and each hit described (after its on_episode).
  std::function<void(const HitRecord&)> on_hit;
};

EvalSummary evaluate(const Config& config, GamePolicy& policy, const EvalOptions& options);

// The games the training's evaluation at `step` plays: train.seed + 1,000,003 each time with
// train.eval_games fixed; with fresh, a seed of the step's own, the same on a resume.
std::uint64_t training_eval_seed(const TrainConfig& train, std::int64_t step);

}  // namespace dodge::run

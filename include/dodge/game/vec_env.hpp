// N games stepped together over a fixed thread pool.
//
// Auto-reset mode (the only one): AutoReset::NextStep. A step that ends an episode (terminated or
// truncated) returns the episode's real final observation. The next call to step() resets that
// env instead of stepping it: its action is ignored, its reward is 0, both flags are false and
// episode_start is 1; the observation written is the new episode's first. This keeps every
// frame of every episode, so a truncated transition can bootstrap from its true final frame.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

#include "dodge/game/config.hpp"
#include "dodge/game/game.hpp"
#include "dodge/game/rng.hpp"
#include "dodge/game/thread_pool.hpp"

namespace dodge::game {

enum class AutoReset { NextStep };

// Receives each env's observation after a reset or step, from the pool's threads (one env at a
// time per call, distinct envs concurrently). Implementations write into caller-owned memory.
class ObsSink {
 public:
  virtual ~ObsSink() = default;
  virtual void write(int env, const GameState& state) = 0;
};

// Writes vector observations to dst + env * row_stride floats.
class VectorObsSink : public ObsSink {
 public:
  VectorObsSink(const GameParams& params, float* dst, std::int64_t row_stride)
      : params_(params), dst_(dst), stride_(row_stride) {}
  void write(int env, const GameState& state) override {
    write_vector_obs(params_, state, dst_ + env * stride_);
  }

 private:
  GameParams params_;
  float* dst_;
  std::int64_t stride_;
};

struct EpisodeEnd {
  int env = 0;
  double episode_return = 0.0;
  int length = 0;
  bool terminated = false;
  bool truncated = false;
};

// Outputs of one vectorized step, owned by the caller and reused (no allocation once sized).
struct StepOutputs {
  std::vector<float> rewards;
  std::vector<std::uint8_t> terminated;
  std::vector<std::uint8_t> truncated;
  std::vector<std::uint8_t> episode_start;  // 1 where this step reset the env
  std::vector<EpisodeEnd> finished;         // episodes that ended in this step, in env order
  void resize(int n);
};

class VecEnv {
 public:
  static constexpr AutoReset kAutoReset = AutoReset::NextStep;

  VecEnv(const GameConfig& config, int n_envs, int n_threads, std::uint64_t seed);

  int size() const { return static_cast<int>(states_.size()); }
  int action_dim() const { return dodge::game::action_dim(params_.action_type); }
  int threads() const { return pool_.threads(); }
  const GameParams& params() const { return params_; }
  const GameState& state(int env) const { return states_[static_cast<std::size_t>(env)]; }
  GameState& mutable_state(int env) { return states_[static_cast<std::size_t>(env)]; }
  std::uint64_t episode(int env) const { return episodes_[static_cast<std::size_t>(env)]; }
  ThreadPool& pool() { return pool_; }

  // Starts a new episode in every env, or in those with mask[env] != 0 (episode counters
  // continue), and writes their observations.
  void reset(ObsSink* sink, const std::uint8_t* mask = nullptr);

  // Env's episodes start again from its first under a new seed: the next reset plays episode 0
  // of game `game` of a run with that seed (a run's env i plays game i). Checkpoints keep one
  // seed and the envs' own game numbers: training never reseeds single envs, the Python package does.
  void reseed(int env, std::uint64_t seed, std::uint64_t game);
  std::uint64_t seed(int env) const { return seeds_[static_cast<std::size_t>(env)]; }

  // New rules for every env (a curriculum's next lesson), in force from the next step: balls
  // already in flight keep their paths. The action type and the observation mode cannot change.
  void set_params(const GameParams& params);

  // actions: n_envs * action_dim floats, row-major. Throws std::invalid_argument naming the env
  // and the component for a NaN or out-of-range action, before any env is stepped.
  void step(const float* actions, StepOutputs& out, ObsSink* sink);

  // Envs, RNGs and counters, for checkpoints (binary, this build's layout).
  void save_state(std::ostream& os) const;
  void load_state(std::istream& is);

 private:
  void reset_env(int env);

  GameParams params_;
  std::vector<std::uint64_t> seeds_;  // per env
  std::vector<std::uint64_t> games_;  // per env: which game of the seed it plays (its index unless reseeded)
  std::vector<GameState> states_;
  std::vector<Rng> rngs_;
  std::vector<std::uint64_t> episodes_;      // episodes started per env
  std::vector<std::uint8_t> needs_reset_;
  ThreadPool pool_;
};

}  // namespace dodge::game

// A trained policy loaded from a run folder or checkpoint, acting in N games: it turns game
// states into the observations the networks were trained on (vectors, or rendered frames stacked
// as in training) and returns actions. Used by eval, watch and the training loop's evaluator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dodge/game/game.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/evaluate.hpp"

namespace dodge::run {

class Agent : public GamePolicy {
 public:
  // path: a run folder (its latest of final/, best/, checkpoints/step_N/) or a checkpoint folder.
  // overrides: --set values applied over the checkpoint's config (env keys only make sense).
  // device: "auto", "cpu", "cuda", ... Throws UserError for a missing/corrupt checkpoint.
  static std::unique_ptr<Agent> load(const std::string& path, const std::vector<std::string>& overrides,
                                     const std::string& device, int n_envs);
  virtual ~Agent() = default;

  virtual const Config& config() const = 0;
  virtual const std::string& checkpoint_dir() const = 0;
  // GamePolicy: observe(env, state, episode_start) after every reset and step, in order;
  // act(deterministic, actions) fills n_envs * action_dim floats in [-1, 1].

  // What the network sees for env (topdown only): k frames, each C x H x W uint8, oldest first.
  // Empty for vector observations.
  virtual std::vector<std::uint8_t> stacked_frames(int env) const = 0;
  // The network's input for env as raw bytes, in either mode: uint8 [k*C, H, W] or float32 [k*D].
  virtual std::vector<std::uint8_t> stacked_observation(int env) const = 0;
};

}  // namespace dodge::run

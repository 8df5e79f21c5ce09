// Agent::load: a checkpoint's policy with the observations it was trained on.
#include <filesystem>

#include "dodge/run/agent.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/evaluate.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::run {

namespace {

class LoadedAgent : public Agent {
 public:
  LoadedAgent(const std::string& dir, Config config, torch::Device device, int n_envs)
      : dir_(dir), config_(std::move(config)), sac_(sac_options(config_), device), runner_(config_, sac_, n_envs) {
    try {
      sac_.load((std::filesystem::path(dir) / "agent.pt").string());
    } catch (const std::exception& e) {
      throw UserError("checkpoint " + dir + " is damaged: agent.pt cannot be read (" +
                      std::string(e.what()).substr(0, 200) + ")");
    }
  }
  const Config& config() const override { return config_; }
  const std::string& checkpoint_dir() const override { return dir_; }
  int n_envs() const override { return runner_.n_envs(); }
  void observe(int env, const game::GameState& state, bool episode_start) override {
    runner_.observe(env, state, episode_start);
  }
  void act(bool deterministic, float* actions) override { runner_.act(deterministic, actions); }
  std::vector<std::uint8_t> stacked_frames(int env) const override { return runner_.stacked_frames(env); }
  std::vector<std::uint8_t> stacked_observation(int env) const override { return runner_.stacked_observation(env); }

 private:
  std::string dir_;
  Config config_;
  learn::Sac sac_;
  PolicyRunner runner_;
};

}  // namespace

std::unique_ptr<Agent> Agent::load(const std::string& path, const std::vector<std::string>& overrides,
                                   const std::string& device, int n_envs) {
  const std::string dir = find_checkpoint(path);
  const Config ckpt = load_checkpoint_config(dir);
  Config config = ckpt;
  // Only the games can change: the networks, the learner and the training come with the checkpoint.
  for (const auto& o : overrides)
    if (o.rfind("env.", 0) != 0)
      throw UserError("--set " + o + ": not a key for playing a checkpoint (only env.* keys change how its "
                      "policy is played)");
  apply_overrides(config, overrides);
  validate(config);
  check_compatible(config, ckpt, dir, "when playing a checkpoint");
  return std::make_unique<LoadedAgent>(dir, config, resolve_device(device.empty() ? "auto" : device), n_envs);
}

}  // namespace dodge::run

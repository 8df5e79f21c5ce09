#include "dodge/run/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace dodge::run {

PolicyRunner::PolicyRunner(const Config& config, learn::Sac& sac, int n_envs)
    : config_(config),
      sac_(sac),
      n_(n_envs),
      spec_(obs_spec(config)),
      writer_(config.env, n_envs, /*stack=*/true) {
  std::vector<std::int64_t> dims{n_envs};
  dims.insert(dims.end(), spec_.stacked.begin(), spec_.stacked.end());
  host_obs_ = torch::zeros(dims, spec_.image ? torch::kUInt8 : torch::kFloat32);
  writer_.point_at(static_cast<std::uint8_t*>(host_obs_.data_ptr()), writer_.observation_bytes());
}

void PolicyRunner::observe(int env, const game::GameState& state, bool episode_start) {
  writer_.observe(env, state, episode_start);
}

void PolicyRunner::act(bool deterministic, float* actions) {
  auto a =
      sac_.act(host_obs_.to(sac_.device()), deterministic, /*shipped=*/true).to(torch::kCPU).contiguous();
  std::memcpy(actions, a.data_ptr<float>(), sizeof(float) * static_cast<std::size_t>(a.numel()));
}

std::vector<std::uint8_t> PolicyRunner::stacked_frames(int env) const {
  if (!spec_.image) return {};
  return stacked_observation(env);
}

std::vector<std::uint8_t> PolicyRunner::stacked_observation(int env) const {
  const auto bytes = static_cast<std::size_t>(writer_.observation_bytes());
  const auto* row =
      static_cast<const std::uint8_t*>(host_obs_.data_ptr()) + static_cast<std::size_t>(env) * bytes;
  return std::vector<std::uint8_t>(row, row + bytes);
}

EvalSummary summarize(const std::vector<EpisodeRecord>& eps) {
  EvalSummary s;
  s.episodes = eps;
  if (eps.empty()) return s;
  const double n = static_cast<double>(eps.size());
  double sr = 0, sl = 0, wins = 0;
  s.min_return = s.max_return = eps[0].episode_return;
  for (const auto& e : eps) {
    sr += e.episode_return;
    sl += e.length;
    wins += e.survived ? 1 : 0;
    s.min_return = std::min(s.min_return, e.episode_return);
    s.max_return = std::max(s.max_return, e.episode_return);
  }
  s.mean_return = sr / n;
  s.mean_length = sl / n;
  s.success_rate = wins / n;
  double vr = 0, vl = 0;
  for (const auto& e : eps) {
    vr += (e.episode_return - s.mean_return) * (e.episode_return - s.mean_return);
    vl += (e.length - s.mean_length) * (e.length - s.mean_length);
  }
  s.std_return = std::sqrt(vr / n);  // population std, as numpy's default in SB3's evaluate_policy
  s.std_length = std::sqrt(vl / n);
  return s;
}

namespace {
class PolicySink : public game::ObsSink {
 public:
  explicit PolicySink(GamePolicy& p) : policy_(p) {}
  void write(int env, const game::GameState& state) override {
    policy_.observe(env, state, state.steps == 0);
  }

 private:
  GamePolicy& policy_;
};
}  // namespace

EvalSummary evaluate(const Config& config, GamePolicy& runner, const EvalOptions& o) {
  const int n_envs = std::max(1, std::min(o.envs, std::min(o.episodes, runner.n_envs())));
  game::VecEnv env(config.env.game, n_envs, o.threads, o.seed);
  PolicySink sink(runner);
  // Env i plays (episodes + i) / n_envs episodes: a fixed share, so short episodes are not
  // over-represented (Stable-Baselines3's evaluate_policy does the same).
  std::vector<int> target(static_cast<std::size_t>(n_envs)), done(static_cast<std::size_t>(n_envs), 0);
  for (int i = 0; i < n_envs; ++i) target[static_cast<std::size_t>(i)] = (o.episodes + i) / n_envs;
  std::vector<EpisodeRecord> records;
  const int dim = env.action_dim();
  std::vector<float> actions(static_cast<std::size_t>(runner.n_envs() * dim));
  game::StepOutputs out;
  env.reset(&sink);
  if (o.on_env0_step) o.on_env0_step(env.state(0));
  std::optional<HitTracker> hits;
  if (o.on_hit) {
    hits.emplace(config.env, n_envs, dim);
    for (int i = 0; i < n_envs; ++i) hits->start(i, env.state(i));
  }
  int remaining = o.episodes;
  while (remaining > 0) {
    runner.act(o.deterministic, actions.data());
    env.step(actions.data(), out, &sink);
    if (o.on_env0_step) o.on_env0_step(env.state(0));
    if (hits)
      for (int i = 0; i < n_envs; ++i) {
        if (out.episode_start[static_cast<std::size_t>(i)])
          hits->start(i, env.state(i));
        else
          hits->step(i, actions.data() + static_cast<std::size_t>(i) * dim, env.state(i));
      }
    for (const auto& f : out.finished) {
      auto& d = done[static_cast<std::size_t>(f.env)];
      if (d >= target[static_cast<std::size_t>(f.env)]) continue;
      ++d;
      --remaining;
      EpisodeRecord r{f.episode_return, f.length, f.truncated && !f.terminated, f.env, d};
      records.push_back(r);
      if (o.on_episode) o.on_episode(static_cast<int>(records.size()) - 1, r);
      if (hits && f.terminated) {
        HitRecord h = hits->hit(f.env);
        h.episode = static_cast<int>(records.size());
        h.game = r.game, h.game_episode = r.game_episode;
        o.on_hit(h);
      }
    }
  }
  return summarize(records);
}

std::uint64_t training_eval_seed(const TrainConfig& train, std::int64_t step) {
  const std::uint64_t fixed = static_cast<std::uint64_t>(train.seed) + 1'000'003;
  if (train.eval_games == "fixed") return fixed;
  // Every game stream goes through splitmix64, so any other seed is other games.
  return fixed ^ (static_cast<std::uint64_t>(step) * 0xD1B54A32D192ED03ull);
}

}  // namespace dodge::run

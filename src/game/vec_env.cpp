#include "dodge/game/vec_env.hpp"

#include <algorithm>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>

namespace dodge::game {

void StepOutputs::resize(int n) {
  const auto un = static_cast<std::size_t>(n);
  rewards.assign(un, 0.0f);
  terminated.assign(un, 0);
  truncated.assign(un, 0);
  episode_start.assign(un, 0);
  finished.clear();
  finished.reserve(un);
}

VecEnv::VecEnv(const GameConfig& config, int n_envs, int n_threads, std::uint64_t seed)
    : params_(resolve(config)),
      seeds_(static_cast<std::size_t>(std::max(n_envs, 0)), seed),
      games_(static_cast<std::size_t>(std::max(n_envs, 0))),
      states_(static_cast<std::size_t>(n_envs)),
      rngs_(static_cast<std::size_t>(n_envs)),
      episodes_(static_cast<std::size_t>(n_envs), 0),
      needs_reset_(static_cast<std::size_t>(n_envs), 1),
      pool_(n_threads) {
  if (n_envs < 1) throw std::invalid_argument("n_envs must be at least 1, got " + std::to_string(n_envs));
  for (std::size_t e = 0; e < games_.size(); ++e) games_[e] = e;
  for (auto& s : states_) {
    s.balls.reserve(64);
    s.indicators.reserve(16);
  }
}

void VecEnv::set_params(const GameParams& params) {
  if (params.action_type != params_.action_type || params.obs_mode != params_.obs_mode)
    throw std::invalid_argument("VecEnv::set_params: the action type and the observation mode cannot change");
  params_ = params;
}

void VecEnv::reset_env(int env) {
  const auto e = static_cast<std::size_t>(env);
  rngs_[e] = Rng::for_episode(seeds_[e], games_[e], episodes_[e]);
  episodes_[e] += 1;
  dodge::game::reset(params_, states_[e], rngs_[e]);
  needs_reset_[e] = 0;
}

void VecEnv::reseed(int env, std::uint64_t seed, std::uint64_t game) {
  const auto e = static_cast<std::size_t>(env);
  seeds_[e] = seed;
  games_[e] = game;
  episodes_[e] = 0;
  needs_reset_[e] = 1;
}

void VecEnv::reset(ObsSink* sink, const std::uint8_t* mask) {
  pool_.parallel_for(size(), [&](int begin, int end) {
    for (int e = begin; e < end; ++e) {
      if (mask && !mask[e]) continue;
      reset_env(e);
      if (sink) sink->write(e, states_[static_cast<std::size_t>(e)]);
    }
  });
}

void VecEnv::step(const float* actions, StepOutputs& out, ObsSink* sink) {
  const int n = size();
  const int dim = action_dim();
  if (static_cast<int>(out.rewards.size()) != n) out.resize(n);
  for (int e = 0; e < n; ++e) {
    if (needs_reset_[static_cast<std::size_t>(e)]) continue;  // its action is ignored
    const std::string err = check_action(params_.action_type, actions + e * dim, dim);
    if (!err.empty()) throw std::invalid_argument("env " + std::to_string(e) + ": " + err);
  }
  out.finished.clear();
  pool_.parallel_for(n, [&](int begin, int end) {
    for (int e = begin; e < end; ++e) {
      const auto u = static_cast<std::size_t>(e);
      if (needs_reset_[u]) {
        reset_env(e);
        out.rewards[u] = 0.0f;
        out.terminated[u] = 0;
        out.truncated[u] = 0;
        out.episode_start[u] = 1;
      } else {
        const StepResult r = dodge::game::step(params_, states_[u], actions + e * dim, rngs_[u]);
        out.rewards[u] = static_cast<float>(r.reward);
        out.terminated[u] = r.terminated ? 1 : 0;
        out.truncated[u] = r.truncated ? 1 : 0;
        out.episode_start[u] = 0;
        if (r.terminated || r.truncated) needs_reset_[u] = 1;
      }
      if (sink) sink->write(e, states_[u]);
    }
  });
  for (int e = 0; e < n; ++e) {
    const auto u = static_cast<std::size_t>(e);
    if (out.terminated[u] || out.truncated[u]) {
      const GameState& s = states_[u];
      out.finished.push_back(EpisodeEnd{e, s.episode_return, s.steps, s.terminated, s.truncated});
    }
  }
}

namespace {

template <typename T>
void put(std::ostream& os, const T& v) {
  os.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
void get(std::istream& is, T& v) {
  is.read(reinterpret_cast<char*>(&v), sizeof(T));
  if (!is) throw std::runtime_error("env state is truncated");
}
template <typename T>
void put_vec(std::ostream& os, const std::vector<T>& v) {
  put<std::uint64_t>(os, v.size());
  os.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
}
template <typename T>
void get_vec(std::istream& is, std::vector<T>& v) {
  std::uint64_t n = 0;
  get(is, n);
  if (n > (1u << 24)) throw std::runtime_error("env state is corrupt (vector of " + std::to_string(n) + ")");
  v.resize(static_cast<std::size_t>(n));
  is.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
  if (!is) throw std::runtime_error("env state is truncated");
}

constexpr std::uint32_t kStateMagic = 0x444f4556;  // "DOEV"

}  // namespace

void VecEnv::save_state(std::ostream& os) const {
  put(os, kStateMagic);
  put<std::uint64_t>(os, states_.size());
  put(os, seeds_[0]);
  for (std::size_t e = 0; e < states_.size(); ++e) {
    const GameState& s = states_[e];
    put(os, s.player);
    put_vec(os, s.balls);
    put_vec(os, s.indicators);
    put(os, s.spawn_elapsed);
    put(os, s.steps);
    put(os, s.episode_return);
    put<std::uint8_t>(os, s.terminated);
    put<std::uint8_t>(os, s.truncated);
    put(os, rngs_[e].state());
    put(os, episodes_[e]);
    put(os, needs_reset_[e]);
  }
}

void VecEnv::load_state(std::istream& is) {
  std::uint32_t magic = 0;
  get(is, magic);
  if (magic != kStateMagic) throw std::runtime_error("env state has a wrong header");
  std::uint64_t n = 0;
  get(is, n);
  if (n != states_.size())
    throw std::runtime_error("env state holds " + std::to_string(n) + " envs, this run has " +
                             std::to_string(states_.size()));
  std::uint64_t seed = 0;
  get(is, seed);
  seeds_.assign(seeds_.size(), seed);
  for (std::size_t e = 0; e < games_.size(); ++e) games_[e] = e;
  for (std::size_t e = 0; e < states_.size(); ++e) {
    GameState& s = states_[e];
    get(is, s.player);
    get_vec(is, s.balls);
    get_vec(is, s.indicators);
    get(is, s.spawn_elapsed);
    get(is, s.steps);
    get(is, s.episode_return);
    std::uint8_t b = 0;
    get(is, b);
    s.terminated = b != 0;
    get(is, b);
    s.truncated = b != 0;
    std::array<std::uint64_t, 4> rs{};
    get(is, rs);
    rngs_[e].set_state(rs);
    get(is, episodes_[e]);
    get(is, needs_reset_[e]);
  }
}

}  // namespace dodge::game

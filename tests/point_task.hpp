// A toy task SAC must learn (tests of the learner, alone or on several ranks): move a point to a
// target from its coordinates or from a picture of it.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"

namespace toy {

using namespace dodge::learn;

// Move a point to a target: obs (x, y, tx, ty) or a picture of the point (the target is the
// image centre); action = velocity; reward = -distance. 16 steps per episode, all envs in step.
struct PointTask {
  bool image;
  int size;  // image side
  int n;
  std::mt19937 rng;
  std::vector<float> px, py, tx, ty;
  int t = 0;
  static constexpr int kHorizon = 16;
  PointTask(bool img, int side, int envs, unsigned seed)
      : image(img), size(side), n(envs), rng(seed), px(envs), py(envs), tx(envs), ty(envs) {}

  float uni() { return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng); }
  void reset_env(int e) {
    px[e] = uni();
    py[e] = uni();
    tx[e] = image ? 0.0f : 0.6f * uni();
    ty[e] = image ? 0.0f : 0.6f * uni();
  }
  float dist(int e) const { return std::hypot(px[e] - tx[e], py[e] - ty[e]); }
  void write_obs(float* vec, std::uint8_t* frames) const {
    for (int e = 0; e < n; ++e) {
      if (!image) {
        float* o = vec + 4 * e;
        o[0] = px[e];
        o[1] = py[e];
        o[2] = tx[e];
        o[3] = ty[e];
        continue;
      }
      std::uint8_t* f = frames + e * size * size;
      std::fill(f, f + size * size, 0);
      const float cx = (px[e] + 1.0f) * 0.5f * (size - 1), cy = (py[e] + 1.0f) * 0.5f * (size - 1);
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= 4.0f) f[y * size + x] = 255;
    }
  }
};

struct ToyResult {
  double final_distance_trained = 0, final_distance_random = 0, seconds = 0;
  std::vector<torch::Tensor> state;  // the agent's replicated_state() after training (copies)
};

// `attach` sees the agent right after its construction (e.g. to join it to other ranks).
inline ToyResult train_point(bool image, int updates, int batch, std::uint64_t seed, bool augment = false,
                             int n_step = 1, const std::function<void(SacOptions&)>& tweak = nullptr,
                             const std::function<void(Sac&)>& attach = nullptr) {
  const int n = 4, side = 40;
  PointTask task(image, side, n, static_cast<unsigned>(seed));
  ReplaySpec spec;
  spec.capacity = 20000;
  spec.n_envs = n;
  spec.frame_stack = 1;
  spec.obs_shape = image ? std::vector<std::int64_t>{1, side, side} : std::vector<std::int64_t>{4};
  spec.action_dim = 2;
  ReplayBuffer rb(spec, torch::kCPU);
  SacOptions o;
  o.obs_shape = spec.obs_shape;
  o.action_dim = 2;
  o.net_arch = {64, 64};
  o.features_dim = 64;
  o.actor_lr = o.critic_lr = o.ent_coef_lr = 1e-3;
  o.gamma = 0.9;
  o.tau = 0.02;
  o.augment = augment;
  o.target_entropy = std::nan("");
  o.seed = seed;
  if (tweak) tweak(o);
  Sac sac(o, torch::kCPU);
  if (attach) attach(sac);
  auto gen = at::detail::createCPUGenerator(seed + 1);

  auto write = [&] {
    if (image)
      task.write_obs(nullptr, rb.next_frames());
    else
      task.write_obs(rb.next_vectors(), nullptr);
  };
  for (int e = 0; e < n; ++e) task.reset_env(e);
  write();
  rb.commit_reset();
  bool pending_reset = false;
  std::vector<float> actions(2 * n), rewards(n);
  std::vector<std::uint8_t> term(n, 0), trunc(n, 0), start(n, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const int warmup = 400;
  for (int step = 0; step < updates + warmup; ++step) {
    if (pending_reset) {
      for (int e = 0; e < n; ++e) task.reset_env(e);
      task.t = 0;
      std::fill(start.begin(), start.end(), 1);
      std::fill(rewards.begin(), rewards.end(), 0.0f);
      std::fill(trunc.begin(), trunc.end(), 0);
      pending_reset = false;
    } else {
      torch::Tensor a;
      if (step < warmup)
        a = torch::rand({n, 2}) * 2 - 1;
      else
        a = sac.act(rb.current_stacks(), false);
      std::memcpy(actions.data(), a.contiguous().data_ptr<float>(), sizeof(float) * 2 * n);
      for (int e = 0; e < n; ++e) {
        task.px[e] = std::clamp(task.px[e] + 0.25f * actions[2 * e], -1.0f, 1.0f);
        task.py[e] = std::clamp(task.py[e] + 0.25f * actions[2 * e + 1], -1.0f, 1.0f);
        rewards[e] = -task.dist(e);
      }
      task.t += 1;
      std::fill(start.begin(), start.end(), 0);
      const bool end = task.t == PointTask::kHorizon;
      std::fill(trunc.begin(), trunc.end(), end ? 1 : 0);
      pending_reset = end;
    }
    write();
    rb.commit_step(actions.data(), rewards.data(), term.data(), trunc.data(), start.data());
    if (step >= warmup) {
      if (n_step == 1) {
        sac.update(rb.sample(batch, gen));
      } else {
        Batch b;
        rb.sample_into(b, batch, gen, NStep{n_step, o.gamma});
        sac.update(b);
      }
    }
  }
  ToyResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& t : sac.replicated_state()) r.state.push_back(t.detach().clone());
  // Evaluate: deterministic policy vs random actions, 64 episodes each, final distance.
  auto evaluate = [&](bool random) {
    PointTask ev(image, side, 64, 1234);
    for (int e = 0; e < 64; ++e) ev.reset_env(e);
    std::vector<float> vec(64 * 4);
    std::vector<std::uint8_t> frames(64 * side * side);
    for (int t = 0; t < PointTask::kHorizon; ++t) {
      ev.write_obs(vec.data(), frames.data());
      torch::Tensor obs = image ? torch::from_blob(frames.data(), {64, 1, side, side}, torch::kUInt8)
                                : torch::from_blob(vec.data(), {64, 4}, torch::kFloat32);
      torch::Tensor a = random ? torch::rand({64, 2}) * 2 - 1 : sac.act(obs, true);
      a = a.contiguous();
      for (int e = 0; e < 64; ++e) {
        ev.px[e] = std::clamp(ev.px[e] + 0.25f * a[e][0].item<float>(), -1.0f, 1.0f);
        ev.py[e] = std::clamp(ev.py[e] + 0.25f * a[e][1].item<float>(), -1.0f, 1.0f);
      }
    }
    double d = 0;
    for (int e = 0; e < 64; ++e) d += ev.dist(e);
    return d / 64;
  };
  r.final_distance_trained = evaluate(false);
  r.final_distance_random = evaluate(true);
  return r;
}

}  // namespace toy

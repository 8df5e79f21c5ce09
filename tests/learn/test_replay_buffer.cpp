// Replay buffer: stacks, episode boundaries, wrap-around, truncation, sampling, save/load, sizes.
#include "torch_catch.hpp"
#include <ATen/CPUGeneratorImpl.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "dodge/learn/replay_buffer.hpp"

using namespace dodge::learn;

namespace {

// A 1x2x2 frame: pixel 0 = step in episode, 1 = episode id, 2 = env, 3 = a code of all three.
std::uint8_t code(int env, int episode, int t) { return static_cast<std::uint8_t>((env * 64 + episode * 16 + t) % 251); }
int px_t(const torch::Tensor& frame) { return frame[0][0].item<int>(); }
int px_env(const torch::Tensor& frame) { return frame[1][0].item<int>(); }

struct Sim {
  // n envs with scripted episode lengths; drives the buffer as the training loop does.
  int n;
  std::vector<int> len;      // episode length per env
  std::vector<int> t, ep;    // step in episode, episode id
  std::vector<std::uint8_t> pending_reset;
  std::int64_t steps = 0;
  Sim(int n_envs, std::vector<int> lengths) : n(n_envs), len(lengths), t(n, 0), ep(n, 0), pending_reset(n, 0) {}

  bool vectors = false;  // write a 5-float vector per env instead of a 1x2x2 frame

  void write_frames(ReplayBuffer& rb) {
    if (vectors) {
      float* v = rb.next_vectors();
      for (int e = 0; e < n; ++e)
        for (int d = 0; d < 5; ++d) v[e * 5 + d] = static_cast<float>(code(e, ep[e], t[e]) + d);
      return;
    }
    std::uint8_t* f = rb.next_frames();
    for (int e = 0; e < n; ++e) {
      f[e * 4 + 0] = static_cast<std::uint8_t>(t[e]);
      f[e * 4 + 1] = static_cast<std::uint8_t>(ep[e]);
      f[e * 4 + 2] = static_cast<std::uint8_t>(e);
      f[e * 4 + 3] = code(e, ep[e], t[e]);
    }
  }
  void reset(ReplayBuffer& rb) {
    write_frames(rb);
    rb.commit_reset();
  }
  // One vectorized step; truncation (not termination) for env 0, termination for the others.
  void step(ReplayBuffer& rb) {
    std::vector<float> actions(static_cast<std::size_t>(n) * 2), rewards(n);
    std::vector<std::uint8_t> term(n), trunc(n), start(n);
    for (int e = 0; e < n; ++e) {
      actions[2 * e] = static_cast<float>(code(e, ep[e], t[e]));
      actions[2 * e + 1] = static_cast<float>(steps);
      if (pending_reset[e]) {
        pending_reset[e] = 0;
        ep[e] += 1;
        t[e] = 0;
        start[e] = 1;
      } else {
        t[e] += 1;
        rewards[e] = static_cast<float>(t[e]);
        if (t[e] == len[e]) {
          (e == 0 ? trunc : term)[e] = 1;
          pending_reset[e] = 1;
        }
      }
    }
    write_frames(rb);
    rb.commit_step(actions.data(), rewards.data(), term.data(), trunc.data(), start.data());
    ++steps;
  }
};

ReplaySpec small_spec(std::int64_t capacity, int n, int k) {
  ReplaySpec s;
  s.capacity = capacity;
  s.n_envs = n;
  s.frame_stack = k;
  s.obs_shape = {1, 2, 2};
  s.action_dim = 2;
  return s;
}

at::Generator cpu_gen(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

}  // namespace

TEST_CASE("bytes per transition: one frame plus at most 64 bytes", "[replay]") {
  ReplaySpec rgb = small_spec(1000, 1, 4);
  rgb.obs_shape = {3, 84, 84};
  rgb.action_dim = 3;
  CHECK(ReplayBuffer::bytes_per_transition(rgb) == 21168 + 12 + 4 + 1 + 1 + 8);
  CHECK(ReplayBuffer::bytes_per_transition(rgb) <= 21232);
  ReplaySpec grey = rgb;
  grey.obs_shape = {1, 84, 84};
  CHECK(ReplayBuffer::bytes_per_transition(grey) <= 7120);
  grey.action_dim = 6;
  CHECK(ReplayBuffer::bytes_per_transition(grey) <= 7056 + 64);
  CHECK(ReplayBuffer::bytes_needed(grey) == 1000 * ReplayBuffer::bytes_per_transition(grey));
  // The real allocation matches the formula.
  ReplayBuffer rb(grey, torch::kCPU);
  (void)rb;
}

TEST_CASE("a buffer larger than memory is refused before allocating", "[replay]") {
  ReplaySpec s = small_spec(1000, 1, 4);
  s.obs_shape = {3, 512, 512};
  s.capacity = 400'000'000;  // ~300 TB
  try {
    ReplayBuffer rb(s, torch::kCPU);
    FAIL("no error");
  } catch (const OutOfMemory& e) {
    CHECK_THAT(e.what(), Catch::Contains("the replay buffer needs") && Catch::Contains("free") &&
                             Catch::Contains("lower sac.buffer_size"));
  }
}

TEST_CASE("stacks never cross an episode start, positions before it repeat the first frame", "[replay]") {
  const int n = 3, k = 4;
  ReplayBuffer rb(small_spec(300, n, k), torch::kCPU);
  Sim sim(n, {5, 3, 7});
  sim.reset(rb);
  for (int i = 0; i < 40; ++i) {
    sim.step(rb);
    // The current stacks of each env, checked against the scripted episode.
    auto cur = rb.current_stacks();  // [n, k, 2, 2]
    for (int e = 0; e < n; ++e) {
      for (int j = 0; j < k; ++j) {
        const int steps_back = k - 1 - j;
        const int src_t = std::max(0, sim.t[e] - steps_back);
        CHECK(cur[e][j][1][1].item<int>() == code(e, sim.ep[e], src_t));
        CHECK(px_t(cur[e][j]) == src_t);
      }
    }
  }
}

TEST_CASE("sampling covers all valid slots and none invalid", "[replay]") {
  const int n = 2, k = 3;
  ReplayBuffer rb(small_spec(64, n, k), torch::kCPU);
  Sim sim(n, {4, 6});
  sim.reset(rb);
  for (int i = 0; i < 20; ++i) sim.step(rb);
  // Row r holds the frames after r steps; transitions from rows 0..19 minus final frames.
  auto valid = rb.valid_slots();
  std::set<std::int64_t> expected;
  // Replay the script: a slot starts a transition unless its env reset on the next step.
  Sim replay(n, {4, 6});
  for (int r = 0; r < 20; ++r) {
    for (int e = 0; e < n; ++e)
      if (!replay.pending_reset[e] || false) expected.insert(static_cast<std::int64_t>(r) * n + e);
    // advance the script
    for (int e = 0; e < n; ++e) {
      if (replay.pending_reset[e]) {
        replay.pending_reset[e] = 0;
      } else {
        replay.t[e] += 1;
        if (replay.t[e] == replay.len[e]) {
          replay.pending_reset[e] = 1;
          replay.t[e] = 0;
        }
      }
    }
  }
  std::set<std::int64_t> got(valid.data_ptr<std::int64_t>(), valid.data_ptr<std::int64_t>() + valid.numel());
  CHECK(got == expected);
  CHECK(rb.size() == static_cast<std::int64_t>(expected.size()));
  // Uniform sampling hits every valid slot and only those.
  auto gen = cpu_gen(1);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 50; ++i) {
    Batch b = rb.sample(64, gen);
    auto a = b.actions.select(1, 1);  // the step index the action was taken at
    auto codes = b.actions.select(1, 0);
    for (int j = 0; j < 64; ++j) {
      const auto row = static_cast<std::int64_t>(a[j].item<float>());
      // Find the env by matching the frame code of obs' newest position.
      const int newest = b.obs[j][k - 1][1][1].item<int>();
      CHECK(newest == static_cast<int>(codes[j].item<float>()));
      const int e = px_env(b.obs[j][k - 1]);
      seen.insert(row * n + e);
    }
  }
  CHECK(seen == expected);
}

TEST_CASE("the next obs of a transition is the next frame of the same episode", "[replay]") {
  const int n = 2, k = 2;
  ReplayBuffer rb(small_spec(200, n, k), torch::kCPU);
  Sim sim(n, {5, 3});
  sim.reset(rb);
  for (int i = 0; i < 30; ++i) sim.step(rb);
  auto gen = cpu_gen(2);
  Batch b = rb.sample(256, gen);
  for (int j = 0; j < 256; ++j) {
    const int cur = b.obs[j][k - 1][1][1].item<int>();
    const int nxt = b.next_obs[j][k - 1][1][1].item<int>();
    const int prev_in_next = b.next_obs[j][k - 2][1][1].item<int>();
    CHECK(nxt == cur + 1);          // same env, same episode, one step later
    CHECK(prev_in_next == cur);     // the next stack overlaps the current one
    const float reward = b.rewards[j][0].item<float>();
    const int t_next = px_t(b.next_obs[j][k - 1]);
    CHECK(reward == static_cast<float>(t_next));
    const int env = px_env(b.obs[j][k - 1]);
    const bool last = t_next == (env == 0 ? 5 : 3);
    // Env 0 truncates (bootstrap: not_done 1), env 1 terminates (not_done 0) at its last step.
    CHECK(b.not_done[j][0].item<float>() == ((last && env == 1) ? 0.0f : 1.0f));
  }
}

TEST_CASE("n-step returns: discounted rewards of up to n steps, cut at episode ends and the newest row",
          "[replay]") {
  const int n_envs = 3, k = 2, n_step = 4;
  const double gamma = 0.5;
  ReplayBuffer rb(small_spec(60, n_envs, k), torch::kCPU);  // 20 rows: it wraps around
  Sim sim(n_envs, {6, 3, 9});                              // env 0 truncates, the others terminate
  sim.reset(rb);
  auto gen = cpu_gen(4);
  int full = 0, cut_by_end = 0, cut_by_newest = 0;
  Batch b;
  for (int i = 0; i < 70; ++i) {
    sim.step(rb);
    if (i < 5) continue;
    rb.sample_into(b, 64, gen, NStep{n_step, gamma});
    for (int j = 0; j < 64; ++j) {
      const auto obs = b.obs[j][k - 1], next = b.next_obs[j][k - 1];
      const int env = px_env(obs), t0 = px_t(obs), len = sim.len[static_cast<std::size_t>(env)];
      const auto taken_at = static_cast<int>(b.actions[j][1].item<float>());
      const int ahead = static_cast<int>(sim.steps) - taken_at;  // rows written after the observation's
      const int h = std::min({n_step, len - t0, ahead});
      INFO("env " << env << ", t " << t0 << ", step " << taken_at << " of " << sim.steps << ", h " << h);
      REQUIRE(h >= 1);
      double expected = 0;
      for (int m = 0; m < h; ++m) expected += std::pow(gamma, m) * (t0 + 1 + m);
      CHECK(b.rewards[j][0].item<float>() == Approx(expected));
      CHECK(px_t(next) == t0 + h);
      CHECK(px_env(next) == env);
      CHECK(next[0][1].item<int>() == obs[0][1].item<int>());  // the same episode
      CHECK(px_t(b.next_obs[j][k - 2]) == t0 + h - 1);        // its stack ends with the step before
      const bool terminated = t0 + h == len && env != 0;
      CHECK(b.not_done[j][0].item<float>() == (terminated ? 0.0f : 1.0f));
      CHECK(b.discount[j][0].item<float>() == Approx(terminated ? 0.0 : std::pow(gamma, h)));
      if (h == n_step)
        ++full;
      else if (h == len - t0)
        ++cut_by_end;
      else
        ++cut_by_newest;
    }
  }
  CHECK(full > 0);
  CHECK(cut_by_end > 0);
  CHECK(cut_by_newest > 0);
}

TEST_CASE("1-step sampling with NStep gives the plain sample, with discount gamma * not_done", "[replay]") {
  ReplayBuffer rb(small_spec(60, 2, 3), torch::kCPU);
  Sim sim(2, {4, 7});
  sim.reset(rb);
  for (int i = 0; i < 40; ++i) sim.step(rb);
  auto g1 = cpu_gen(9), g2 = cpu_gen(9);
  Batch plain, one_step;
  rb.sample_into(plain, 100, g1);
  rb.sample_into(one_step, 100, g2, NStep{1, 0.9});
  CHECK(torch::equal(plain.obs, one_step.obs));
  CHECK(torch::equal(plain.next_obs, one_step.next_obs));
  CHECK(torch::equal(plain.rewards, one_step.rewards));
  CHECK(torch::equal(plain.not_done, one_step.not_done));
  CHECK_FALSE(plain.discount.defined());
  CHECK(torch::allclose(one_step.discount, plain.not_done * 0.9));
  CHECK(plain.not_done.min().item<float>() == 0.0f);  // some terminations were sampled
  CHECK_THROWS_AS(rb.sample_into(one_step, 4, g2, NStep{0, 0.9}), std::invalid_argument);
}

TEST_CASE("wrap-around keeps stacks, next obs and validity correct", "[replay]") {
  const int n = 2, k = 4;
  ReplayBuffer rb(small_spec(20, n, k), torch::kCPU);  // 10 rows
  Sim sim(n, {7, 13});
  sim.reset(rb);
  auto gen = cpu_gen(3);
  for (int i = 0; i < 95; ++i) {
    sim.step(rb);
    CHECK(rb.size() <= 9 * n);  // the newest row has no transitions yet
    if (i < 12) continue;
    Batch b = rb.sample(128, gen);
    const auto oldest_step = sim.steps - 9;  // rows still held: steps - 9 .. steps
    for (int j = 0; j < 128; ++j) {
      const auto step_taken = static_cast<std::int64_t>(b.actions[j][1].item<float>());
      REQUIRE(step_taken >= oldest_step);
      REQUIRE(step_taken < sim.steps);
      const int cur = b.obs[j][k - 1][1][1].item<int>();
      CHECK(b.next_obs[j][k - 1][1][1].item<int>() == cur + 1);
      // Each stack is non-decreasing in time and within one episode.
      for (int p = 1; p < k; ++p) {
        const int a = b.obs[j][p - 1][1][1].item<int>(), c = b.obs[j][p][1][1].item<int>();
        CHECK((c == a || c == a + 1));
        CHECK(b.obs[j][p - 1][0][1].item<int>() == b.obs[j][p][0][1].item<int>());  // one episode
      }
    }
  }
}

TEST_CASE("vector observations are stored and stacked as floats", "[replay]") {
  ReplaySpec s;
  s.capacity = 50;
  s.n_envs = 1;
  s.frame_stack = 2;
  s.obs_shape = {3};
  s.action_dim = 1;
  ReplayBuffer rb(s, torch::kCPU);
  auto write = [&](float v) {
    float* p = rb.next_vectors();
    p[0] = v;
    p[1] = v + 0.5f;
    p[2] = -v;
  };
  write(1.0f);
  rb.commit_reset();
  float a = 0.25f, r = 1.0f;
  std::uint8_t z = 0;
  write(2.0f);
  rb.commit_step(&a, &r, &z, &z, &z);
  auto cur = rb.current_stacks();
  REQUIRE(cur.sizes() == torch::IntArrayRef({1, 6}));
  CHECK(cur[0][0].item<float>() == 1.0f);
  CHECK(cur[0][3].item<float>() == 2.0f);
  CHECK(cur[0][5].item<float>() == -2.0f);
  auto gen = cpu_gen(1);
  Batch b = rb.sample(4, gen);
  CHECK(b.obs[0][0].item<float>() == 1.0f);  // padded with the first frame
  CHECK(b.obs[0][3].item<float>() == 1.0f);
  CHECK(b.next_obs[0][3].item<float>() == 2.0f);
  CHECK(b.actions[0][0].item<float>() == 0.25f);
}

TEST_CASE("save and load round-trip exactly, and damaged files are clear errors", "[replay]") {
  const int n = 2, k = 3;
  ReplayBuffer a(small_spec(30, n, k), torch::kCPU);
  Sim sim(n, {4, 9});
  sim.reset(a);
  for (int i = 0; i < 41; ++i) sim.step(a);
  const auto dir = std::filesystem::temp_directory_path() / "dodge_rb_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "rb.zst").string();
  a.save(path);
  ReplayBuffer b(small_spec(30, n, k), torch::kCPU);
  b.load(path);
  CHECK(torch::equal(a.valid_slots(), b.valid_slots()));
  CHECK(torch::equal(a.current_stacks(), b.current_stacks()));
  auto g1 = cpu_gen(9), g2 = cpu_gen(9);
  Batch x = a.sample(64, g1), y = b.sample(64, g2);
  CHECK(torch::equal(x.obs, y.obs));
  CHECK(torch::equal(x.next_obs, y.next_obs));
  CHECK(torch::equal(x.actions, y.actions));
  CHECK(torch::equal(x.not_done, y.not_done));
  // Both continue identically.
  Sim sim_b = sim;
  sim.step(a);
  sim_b.step(b);
  CHECK(torch::equal(a.current_stacks(), b.current_stacks()));

  // Truncated file.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::copy_file(path, dir / "cut.zst", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(dir / "cut.zst", size / 2);
  CHECK_THROWS_WITH(b.load((dir / "cut.zst").string()), Catch::Contains("truncated") || Catch::Contains("corrupt"));
  // A flipped byte in the middle.
  {
    std::fstream f((dir / "rb.zst").string(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    char c;
    f.seekg(static_cast<std::streamoff>(size / 2));
    f.get(c);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put(static_cast<char>(c ^ 0x5a));
  }
  CHECK_THROWS_WITH(b.load(path), Catch::Contains("corrupt") || Catch::Contains("truncated"));
  // Another shape.
  ReplayBuffer other(small_spec(40, n, k), torch::kCPU);
  a.save(path);
  CHECK_THROWS_WITH(other.load(path), Catch::Contains("another shape"));
  CHECK_THROWS_WITH(other.load((dir / "missing.zst").string()), Catch::Contains("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("after wrap-around every stack holds its episode's real previous frames", "[replay]") {
  // The oldest rows that remain after the ring wraps have lost the frames before them: their
  // transitions must not be sampled (they used to come back as k copies of one frame).
  const int n = 2, k = 4;
  ReplayBuffer rb(small_spec(20, n, k), torch::kCPU);  // 10 rows
  Sim sim(n, {7, 13});
  sim.reset(rb);
  auto gen = cpu_gen(5);
  for (int i = 0; i < 95; ++i) {
    sim.step(rb);
    if (i < 12) continue;
    CHECK(rb.size() <= (10 - k) * n);  // the newest row and the k-1 oldest rows are out
    Batch b = rb.sample(256, gen);
    for (int j = 0; j < 256; ++j) {
      const int newest = b.obs[j][k - 1][0][0].item<int>();
      for (int p = 0; p < k; ++p) {
        INFO("sample " << j << " position " << p << " newest t " << newest);
        REQUIRE(b.obs[j][p][0][0].item<int>() == std::max(newest - (k - 1 - p), 0));
      }
    }
  }
}

TEST_CASE("staged writes (the CUDA path) store exactly what direct writes store", "[replay]") {
  for (const bool vectors : {false, true}) {
    ReplaySpec s = small_spec(26, 3, 3);
    if (vectors) s.obs_shape = {5};
    ReplaySpec staged = s;
    staged.staged_writes = true;
    ReplayBuffer direct_rb(s, torch::kCPU), staged_rb(staged, torch::kCPU);
    for (ReplayBuffer* rb : {&direct_rb, &staged_rb}) {
      Sim sim(3, {4, 6, 9});
      sim.vectors = vectors;
      sim.reset(*rb);
      for (int i = 0; i < 40; ++i) sim.step(*rb);
    }
    INFO((vectors ? "vectors" : "frames"));
    CHECK(torch::equal(direct_rb.valid_slots(), staged_rb.valid_slots()));
    CHECK(torch::equal(direct_rb.current_stacks(), staged_rb.current_stacks()));
    auto g1 = cpu_gen(4), g2 = cpu_gen(4);
    Batch x = direct_rb.sample(200, g1), y = staged_rb.sample(200, g2);
    CHECK(torch::equal(x.obs, y.obs));
    CHECK(torch::equal(x.next_obs, y.next_obs));
    CHECK(torch::equal(x.actions, y.actions));
    CHECK(torch::equal(x.rewards, y.rewards));
    CHECK(torch::equal(x.not_done, y.not_done));
  }
}

TEST_CASE("sampling is uniform over the valid slots", "[replay]") {
  const int n = 3, k = 2;
  ReplayBuffer rb(small_spec(60, n, k), torch::kCPU);  // 20 rows, wrapped below
  Sim sim(n, {5, 8, 11});
  sim.reset(rb);
  for (int i = 0; i < 47; ++i) sim.step(rb);
  const auto valid = rb.valid_slots();
  const std::int64_t v = valid.size(0);
  REQUIRE(v > 20);
  // Count the draws per slot through the actions (action[1] = the step, action[0] = a code of env,
  // episode and t), i.e. identify each sampled transition.
  auto gen = cpu_gen(8);
  std::map<std::pair<int, int>, int> counts;
  const int draws = 200000, batch = 5000;
  for (int d = 0; d < draws; d += batch) {
    Batch b = rb.sample(batch, gen);
    auto acts = b.actions.contiguous();
    const float* p = acts.data_ptr<float>();
    for (int j = 0; j < batch; ++j) counts[{static_cast<int>(p[2 * j]), static_cast<int>(p[2 * j + 1])}] += 1;
  }
  CHECK(static_cast<std::int64_t>(counts.size()) == v);
  const double expected = static_cast<double>(draws) / static_cast<double>(v);
  const double sigma = std::sqrt(expected * (1.0 - 1.0 / static_cast<double>(v)));
  double chi2 = 0;
  for (const auto& kv : counts) {
    CHECK(std::abs(kv.second - expected) < 5 * sigma);
    chi2 += (kv.second - expected) * (kv.second - expected) / expected;
  }
  // Chi-square with v-1 degrees of freedom: mean v-1, sd sqrt(2(v-1)); 6 sd is far in the tail.
  CHECK(chi2 < (v - 1) + 6 * std::sqrt(2.0 * (v - 1)));
}

TEST_CASE("sample_into gives what sample gives and reuses its storage", "[replay]") {
  ReplayBuffer rb(small_spec(40, 2, 3), torch::kCPU);
  Sim sim(2, {5, 7});
  sim.reset(rb);
  for (int i = 0; i < 30; ++i) sim.step(rb);
  auto g1 = cpu_gen(12), g2 = cpu_gen(12);
  const Batch x = rb.sample(16, g1);
  Batch y;
  rb.sample_into(y, 16, g2);
  CHECK(torch::equal(x.obs, y.obs));
  CHECK(torch::equal(x.next_obs, y.next_obs));
  CHECK(torch::equal(x.actions, y.actions));
  CHECK(torch::equal(x.not_done, y.not_done));
  const void* storage = y.stacks.data_ptr();
  rb.sample_into(y, 16, g2);
  CHECK(y.stacks.data_ptr() == storage);  // no new frame memory
  CHECK(y.obs.data_ptr() == storage);
  rb.sample_into(y, 8, g2);  // another size gets its own storage
  CHECK(y.obs.size(0) == 8);
}

// ---- prioritized replay ---------------------------------------------------------------------

#include "dodge/learn/sum_tree.hpp"

TEST_CASE("a sum tree finds the leaf where the running sum passes, never an empty one", "[replay][per]") {
  SumTree t(5);
  t.set(0, 1.0);
  t.set(2, 3.0);
  t.set(4, 0.5);
  CHECK(t.total() == Approx(4.5));
  CHECK(t.find(0.0) == 0);
  CHECK(t.find(0.99) == 0);
  CHECK(t.find(1.0) == 2);  // leaf 1 is empty: skipped
  CHECK(t.find(3.99) == 2);
  CHECK(t.find(4.0) == 4);
  CHECK(t.find(4.5) == 4);  // rounding past the total still lands on a leaf with mass
  t.fill(3, 3, 2.0);        // leaves 3, 4 and (wrapping) 0
  CHECK(t.get(0) == 2.0);
  CHECK(t.get(4) == 2.0);
  CHECK(t.total() == Approx(2 + 3 + 2 + 2));
  SumTree u(5);
  u.set_leaves(t.leaves());
  CHECK(u.total() == Approx(t.total()));
  CHECK(u.find(2.5) == t.find(2.5));
}

namespace {
// The step that wrote each sampled transition (Sim puts it in action[1]); one env.
std::vector<int> sampled_steps(const Batch& b) {
  auto a = b.actions.select(1, 1).contiguous();
  return std::vector<int>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel());
}
}  // namespace

TEST_CASE("prioritized replay samples in proportion to priority^alpha and weights by (N P)^-beta",
          "[replay][per]") {
  ReplayBuffer rb(small_spec(100, 1, 1), torch::kCPU);
  Sim sim(1, {1000});
  sim.reset(rb);
  for (int i = 0; i < 10; ++i) sim.step(rb);
  REQUIRE(rb.size() == 10);
  rb.enable_priorities(Priorities{1.0, 1e-6});
  auto gen = cpu_gen(3);
  Batch b;
  // Equal priorities: every transition about equally often, weights all 1.
  rb.sample_into(b, 1000, gen, NStep{1, 0.99}, 1.0);
  std::map<int, int> count;
  for (int s : sampled_steps(b)) ++count[s];
  REQUIRE(count.size() == 10);
  for (const auto& kv : count) CHECK(kv.second == 100);  // stratified: exactly 100 each
  CHECK(b.weights.min().item<float>() == Approx(1.0f));
  // One transition gets |TD| 99, the others 1: P = 99/108 for it.
  std::vector<std::int64_t> positions = b.positions;
  std::vector<float> td(positions.size(), 1.0f);
  const int special = sampled_steps(b)[0];
  for (std::size_t i = 0; i < td.size(); ++i)
    if (sampled_steps(b)[i] == special) td[i] = 99.0f;
  rb.update_priorities(positions, torch::tensor(td));
  CHECK(rb.max_priority() == Approx(99.0).epsilon(1e-5));
  rb.sample_into(b, 1080, gen, NStep{1, 0.99}, 1.0);
  const auto steps = sampled_steps(b);
  const auto w = b.weights.contiguous();
  const long hits = std::count(steps.begin(), steps.end(), special);
  CHECK(hits == Approx(990).margin(2));  // 99/108 of 1080
  // Importance weights (N P)^-1 over the batch's largest: the rare ones 1, the special one P_low/P_high.
  for (std::size_t i = 0; i < steps.size(); ++i)
    CHECK(w[static_cast<std::int64_t>(i)][0].item<float>() ==
          Approx(steps[i] == special ? 1.0 / 99.0 : 1.0).epsilon(1e-4));
  // beta 0: no correction.
  rb.sample_into(b, 64, gen, NStep{1, 0.99}, 0.0);
  CHECK(b.weights.min().item<float>() == Approx(1.0f));
  // A new transition enters at the largest priority so far.
  sim.step(rb);
  const auto pr = rb.priorities();
  CHECK(pr.max().item<double>() == Approx(99.0));
  CHECK((pr == pr.max()).sum().item<int>() == 2);  // the special one and the newest
}

TEST_CASE("prioritized replay never samples a transition that left the buffer", "[replay][per]") {
  ReplayBuffer rb(small_spec(16, 2, 2), torch::kCPU);
  rb.enable_priorities(Priorities{0.6, 1e-6});
  Sim sim(2, {5, 7});
  sim.reset(rb);
  auto gen = cpu_gen(5);
  Batch b;
  for (int i = 0; i < 60; ++i) {
    sim.step(rb);
    if (rb.size() == 0) continue;
    rb.sample_into(b, 32, gen, NStep{1, 0.99}, 0.5);
    // Give them varied priorities so that stale leaves would matter.
    std::vector<float> td(b.positions.size());
    for (std::size_t j = 0; j < td.size(); ++j) td[j] = static_cast<float>((i * 7 + j) % 13);
    rb.update_priorities(b.positions, torch::tensor(td));
    // Every sampled slot is a valid one; the priorities of the other FIFO positions are 0.
    const auto valid = rb.valid_slots();
    std::set<std::int64_t> ok(valid.data_ptr<std::int64_t>(), valid.data_ptr<std::int64_t>() + valid.numel());
    const auto pr = rb.priorities();
    CHECK((pr > 0).sum().item<std::int64_t>() == rb.size());
    for (auto pos : b.positions) CHECK(pr[pos].item<float>() > 0);
  }
}

TEST_CASE("prioritized replay's priorities restore with a saved buffer: the same batches after a load",
          "[replay][per]") {
  namespace fs = std::filesystem;
  const auto dir = fs::temp_directory_path() / "dodge_per_load";
  fs::create_directories(dir);
  const std::string path = (dir / "replay.zst").string();
  ReplayBuffer a(small_spec(64, 2, 2), torch::kCPU);
  a.enable_priorities(Priorities{0.6, 1e-6});
  Sim sim(2, {5, 9});
  sim.reset(a);
  auto gen = cpu_gen(9);
  Batch b;
  for (int i = 0; i < 40; ++i) {
    sim.step(a);
    a.sample_into(b, 16, gen, NStep{1, 0.99}, 0.4);
    std::vector<float> td(b.positions.size());
    for (std::size_t j = 0; j < td.size(); ++j) td[j] = static_cast<float>(j % 5) * 3.0f;
    a.update_priorities(b.positions, torch::tensor(td));
  }
  a.save(path);
  ReplayBuffer c(small_spec(64, 2, 2), torch::kCPU);
  c.enable_priorities(Priorities{0.6, 1e-6});
  c.load(path);
  c.set_priorities(a.priorities(), a.max_priority());
  CHECK(torch::equal(c.priorities(), a.priorities()));
  auto g1 = cpu_gen(11), g2 = cpu_gen(11);
  Batch x, y;
  a.sample_into(x, 64, g1, NStep{1, 0.99}, 0.7);
  c.sample_into(y, 64, g2, NStep{1, 0.99}, 0.7);
  CHECK(x.positions == y.positions);
  CHECK(torch::equal(x.weights, y.weights));
  CHECK(torch::equal(x.actions, y.actions));
  fs::remove_all(dir);
}

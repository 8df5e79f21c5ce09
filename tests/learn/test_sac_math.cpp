// SAC against Stable-Baselines3's sac.py, piece by piece: the squashed log-probability, the log_std
// clamp, the critic target and entropy-coefficient loss recomputed by hand, which optimizer moves
// which parameters, DeviceAdam against torch::optim::Adam, the random shift, the defaults.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <map>
#include <set>

#include "dodge/learn/adam.hpp"
#include "dodge/learn/networks.hpp"
#include "dodge/learn/sac.hpp"
#include "torch_catch.hpp"

using namespace dodge::learn;

namespace {

using Params = std::map<std::string, torch::Tensor>;

Params snapshot(const Sac& sac) {
  Params p;
  for (const auto& kv : sac.named_tensors()) p[kv.first] = kv.second.detach().clone();
  return p;
}

// Linear + ReLU layers of make_mlp (indices 0, 2, ...), the last one without ReLU when `last_linear`.
torch::Tensor mlp(const Params& p, const std::string& prefix, torch::Tensor x, int linears,
                  bool last_linear) {
  for (int i = 0; i < linears; ++i) {
    const std::string k = prefix + "." + std::to_string(2 * i);
    x = torch::addmm(p.at(k + ".bias"), x, p.at(k + ".weight").t());
    if (!(last_linear && i == linears - 1)) x = torch::relu(x);
  }
  return x;
}

SacOptions vector_options() {
  SacOptions o;
  o.obs_shape = {6};
  o.action_dim = 2;
  o.net_arch = {16, 16};
  o.seed = 3;
  return o;
}

Batch vector_batch(std::int64_t b, std::uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  Batch batch;
  batch.obs = torch::randn({b, 6}, g);
  batch.next_obs = torch::randn({b, 6}, g);
  batch.actions = torch::rand({b, 2}, g) * 2 - 1;
  batch.rewards = torch::randn({b, 1}, g);
  // A mix of terminal (0) and non-terminal rows; truncation is not terminal and arrives as 1.
  batch.not_done = (torch::rand({b, 1}, g) > 0.3).to(torch::kFloat32);
  return batch;
}

double reference_log_prob(double u, double mu, double log_std) {
  // Gaussian density of u, then the change of variables a = tanh(u): log(1 - tanh(u)^2), in long
  // double through the identity 1 - tanh^2 = 4 / (e^u + e^-u)^2 to stay exact for large |u|.
  const double std = std::exp(log_std);
  const double z = (u - mu) / std;
  const double gauss = -0.5 * z * z - log_std - 0.5 * std::log(2 * M_PI);
  const long double au = std::fabs(static_cast<long double>(u));
  const long double log_jac = std::log(4.0L) - 2.0L * (au + std::log1p(std::exp(-2.0L * au)));
  return gauss - static_cast<double>(log_jac);
}

}  // namespace

TEST_CASE("SacOptions' default target entropy is -dim(A), as SB3's auto", "[sac]") {
  // NaN means -action_dim; a plain 0.0 default would silently ask for a far too low entropy target.
  CHECK(std::isnan(SacOptions{}.target_entropy));
}

TEST_CASE("the squashed Gaussian log-probability matches the exact formula, summed over actions", "[sac]") {
  const std::vector<double> us{-20, -9, -3, -1, -0.1, 0, 0.5, 1, 3, 9, 20};
  const auto n = static_cast<std::int64_t>(us.size());
  auto noise = torch::tensor(std::vector<float>(us.begin(), us.end())).view({n, 1});
  // mu = 0.25, log_std = -0.5: u = mu + std * noise.
  auto mu = torch::full({n, 1}, 0.25f), log_std = torch::full({n, 1}, -0.5f);
  const SquashedSample s = squashed_sample(mu, log_std, noise);
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = 0.25 + std::exp(-0.5) * us[static_cast<std::size_t>(i)];
    INFO("u = " << u);
    CHECK(s.action[i][0].item<double>() == Approx(std::tanh(u)).margin(1e-6));
    const double ref = reference_log_prob(u, 0.25, -0.5);
    CHECK(std::isfinite(s.log_prob[i][0].item<double>()));
    CHECK(s.log_prob[i][0].item<double>() == Approx(ref).epsilon(1e-5).margin(1e-4));
  }
  // Three action dimensions: the sum of the three one-dimensional values.
  auto noise3 = torch::stack({noise.squeeze(1), -noise.squeeze(1), 0.5 * noise.squeeze(1)}, 1);
  const SquashedSample s3 = squashed_sample(mu.expand({n, 3}), log_std.expand({n, 3}), noise3);
  auto sum = squashed_sample(mu, log_std, noise3.narrow(1, 0, 1)).log_prob +
             squashed_sample(mu, log_std, noise3.narrow(1, 1, 1)).log_prob +
             squashed_sample(mu, log_std, noise3.narrow(1, 2, 1)).log_prob;
  CHECK(torch::allclose(s3.log_prob, sum, 1e-5, 1e-4));
}

TEST_CASE("log_std is clamped to [-20, 2] as in SB3", "[sac]") {
  ActorHead head(4, std::vector<int>{}, 2);
  torch::NoGradGuard no_grad;
  head->log_std->weight.zero_();
  head->log_std->bias.copy_(torch::tensor({10.0f, -30.0f}));
  auto out = head->forward(torch::randn({3, 4}));
  CHECK(torch::equal(out.second, torch::tensor({2.0f, -20.0f}).expand({3, 2})));
}

TEST_CASE("critic loss and entropy-coefficient loss equal SB3's formulas recomputed by hand", "[sac]") {
  // Target: r + gamma * not_done * (min(Q1', Q2')(s', a') - alpha * log pi(a'|s')), a' from the
  // current policy on s', alpha the value before its step; loss 0.5 * (mse(Q1) + mse(Q2)).
  // Alpha's loss: -(log_alpha * (log pi + target_entropy).detach()).mean().
  for (const bool learn_alpha : {false, true}) {
    SacOptions o = vector_options();
    o.learn_ent_coef = learn_alpha;
    o.ent_coef = 0.3;
    o.gamma = 0.9;
    Sac sac(o, torch::kCPU);
    const Params p = snapshot(sac);
    at::Generator g = sac.generator().clone();
    const Batch b = vector_batch(32, 7);
    const SacMetricsHost m = to_host(sac.update(b));

    // The update draws the policy's noise on s first, then the noise of a' on s'.
    auto actor = [&](const torch::Tensor& x) {
      auto h = mlp(p, "actor.trunk", x, 2, false);
      auto mu = torch::addmm(p.at("actor.mu.bias"), h, p.at("actor.mu.weight").t());
      auto ls = torch::addmm(p.at("actor.log_std.bias"), h, p.at("actor.log_std.weight").t()).clamp(-20, 2);
      return std::make_pair(mu, ls);
    };
    auto [mu, ls] = actor(b.obs);
    const SquashedSample pi = squashed_sample(mu, ls, torch::randn(mu.sizes(), g, mu.options()));
    auto [nmu, nls] = actor(b.next_obs);
    const SquashedSample next = squashed_sample(nmu, nls, torch::randn(nmu.sizes(), g, nmu.options()));
    auto tq1 = mlp(p, "critic_target.q1", torch::cat({b.next_obs, next.action}, 1), 3, true);
    auto tq2 = mlp(p, "critic_target.q2", torch::cat({b.next_obs, next.action}, 1), 3, true);
    auto target = b.rewards + b.not_done * o.gamma * (torch::minimum(tq1, tq2) - o.ent_coef * next.log_prob);
    auto q1 = mlp(p, "critic.q1", torch::cat({b.obs, b.actions}, 1), 3, true);
    auto q2 = mlp(p, "critic.q2", torch::cat({b.obs, b.actions}, 1), 3, true);
    const double critic_loss =
        0.5 * (torch::mse_loss(q1, target).item<double>() + torch::mse_loss(q2, target).item<double>());
    INFO("learn_alpha " << learn_alpha);
    CHECK(m.critic_loss == Approx(critic_loss).epsilon(1e-5));
    CHECK(m.ent_coef == Approx(0.3).epsilon(1e-6));
    if (learn_alpha) {
      const double ent_loss = -(std::log(0.3) * (pi.log_prob - o.action_dim).mean().item<double>());
      CHECK(m.ent_coef_loss == Approx(ent_loss).epsilon(1e-5));
    } else {
      CHECK(m.ent_coef_loss == 0.0);
    }
    CHECK(m.entropy == Approx(-pi.log_prob.mean().item<double>()).epsilon(1e-5));
  }
}

TEST_CASE("the actor step moves only the actor, the critic step only the critic and its encoder", "[sac]") {
  for (const bool shared : {true, false}) {
    for (const bool frozen_critic : {true, false}) {
      SacOptions o;
      o.obs_shape = {2, 40, 40};
      o.action_dim = 3;
      o.net_arch = {16};
      o.features_dim = 16;
      o.shared_encoder = shared;
      o.augment = false;
      o.tau = 0.0;  // targets stay put; this test is about the online networks
      o.critic_lr = frozen_critic ? 0.0 : 1e-3;
      o.actor_lr = frozen_critic ? 1e-3 : 0.0;
      Sac sac(o, torch::kCPU);
      const Params before = snapshot(sac);
      auto g = at::detail::createCPUGenerator(2);
      for (int i = 0; i < 3; ++i) {
        Batch b;
        b.obs = torch::randint(0, 256, {8, 2, 40, 40}, g, torch::kUInt8);
        b.next_obs = torch::randint(0, 256, {8, 2, 40, 40}, g, torch::kUInt8);
        b.actions = torch::rand({8, 3}, g) * 2 - 1;
        b.rewards = torch::randn({8, 1}, g);
        b.not_done = torch::ones({8, 1});
        sac.update(b);
      }
      const Params after = snapshot(sac);
      std::set<std::string> moved_groups;
      for (const auto& kv : after) {
        const std::string group = kv.first.substr(0, kv.first.find('.'));
        if (!torch::equal(kv.second, before.at(kv.first))) moved_groups.insert(group);
      }
      INFO("shared " << shared << ", frozen critic " << frozen_critic);
      std::set<std::string> expected;
      if (frozen_critic) {
        expected = {"actor"};
        if (!shared) expected.insert("actor_encoder");  // the shared encoder learns from the critic only
      } else {
        expected = {"critic", "critic_encoder"};
      }
      expected.insert("log_ent_coef");  // alpha has its own optimizer
      CHECK(moved_groups == expected);
    }
  }
}

TEST_CASE("DeviceAdam takes the same steps as torch::optim::Adam", "[sac]") {
  torch::manual_seed(1);
  auto w1 = torch::randn({7, 5}).requires_grad_(true), b1 = torch::randn({5}).requires_grad_(true);
  auto w2 = w1.detach().clone().requires_grad_(true), b2 = b1.detach().clone().requires_grad_(true);
  DeviceAdam mine({w1, b1}, 1e-2);
  torch::optim::Adam ref({w2, b2}, torch::optim::AdamOptions(1e-2).betas({0.9, 0.999}).eps(1e-8));
  auto g = at::detail::createCPUGenerator(4);
  for (int step = 0; step < 200; ++step) {
    auto gw = torch::randn({7, 5}, g) * (1 + step % 7), gb = torch::randn({5}, g);
    mine.zero_grad();
    w1.mutable_grad().copy_(gw);
    b1.mutable_grad().copy_(gb);
    mine.step();
    ref.zero_grad();
    w2.mutable_grad() = gw.clone();
    b2.mutable_grad() = gb.clone();
    ref.step();
  }
  CHECK(mine.step_count().item<double>() == 200.0);
  CHECK(torch::allclose(w1, w2, 1e-5, 1e-6));
  CHECK(torch::allclose(b1, b2, 1e-5, 1e-6));
  CHECK(w1.sub(w2).abs().max().item<double>() < 1e-5);
  // The state round-trips through a checkpoint.
  DeviceAdam copy({w1.detach().clone().requires_grad_(true), b1.detach().clone().requires_grad_(true)}, 1e-2);
  copy.load_state(mine.state());
  CHECK(copy.step_count().item<double>() == 200.0);
  for (std::size_t i = 0; i < mine.state().size(); ++i) CHECK(torch::equal(copy.state()[i], mine.state()[i]));
}

TEST_CASE("random shift: one shift per sample for all its frames, within pad, edges replicated", "[sac]") {
  const int b = 64, h = 20, w = 24, pad = 4;
  // Channel 0 encodes the row, channel 1 the column; 2 and 3 repeat them.
  auto rows = torch::arange(h, torch::kInt64).view({1, h, 1}).expand({b, h, w});
  auto cols = torch::arange(w, torch::kInt64).view({1, 1, w}).expand({b, h, w});
  auto x = torch::stack({rows, cols, rows, cols}, 1).to(torch::kUInt8);
  auto g = at::detail::createCPUGenerator(6);
  auto y = random_shift(x, pad, g);
  REQUIRE(y.sizes() == x.sizes());
  std::set<std::pair<int, int>> shifts;
  for (int i = 0; i < b; ++i) {
    // The pixel at the centre tells the shift; every pixel must be the clamped source.
    const int dy = y[i][0][h / 2][w / 2].item<int>() - h / 2, dx = y[i][1][h / 2][w / 2].item<int>() - w / 2;
    REQUIRE(std::abs(dy) <= pad);
    REQUIRE(std::abs(dx) <= pad);
    shifts.insert({dy, dx});
    auto er = (torch::arange(h, torch::kInt64) + dy).clamp(0, h - 1).view({h, 1}).expand({h, w});
    auto ec = (torch::arange(w, torch::kInt64) + dx).clamp(0, w - 1).view({1, w}).expand({h, w});
    CHECK(torch::equal(y[i][0].to(torch::kInt64), er));
    CHECK(torch::equal(y[i][1].to(torch::kInt64), ec));
    CHECK(torch::equal(y[i][2], y[i][0]));  // all frames of a sample move together
    CHECK(torch::equal(y[i][3], y[i][1]));
  }
  CHECK(shifts.size() >= 20);  // different across the batch (81 possible)
  auto y2 = random_shift(x, pad, g);
  CHECK_FALSE(torch::equal(y, y2));  // and the next call draws new shifts
}

TEST_CASE("frames to the encoder's input: one pass equals shift, reorder and convert", "[sac]") {
  // 12 channels (84x84 RGB x 4 in small), odd sizes, shifts past the edges in both directions.
  const int b = 5, c = 12, h = 9, w = 11;
  auto x = torch::randint(0, 256, {b, c, h, w}, torch::kInt64).to(torch::kUInt8);
  x[0][0][0][0] = 255;
  auto shifts = torch::tensor({0, 0, 4, -4, -9, 11, 2, 3, -1, 0}, torch::kInt64).view({b, 2});
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto expected = shift_frames(x, shifts).to(torch::kFloat32);
    auto y = frames_to_input(x, dtype, shifts);
    CHECK(y.scalar_type() == dtype);
    CHECK(y.is_contiguous(at::MemoryFormat::ChannelsLast));
    CHECK(torch::equal(y.to(torch::kFloat32), expected));
    CHECK(torch::equal(frames_to_input(x, dtype).to(torch::kFloat32), x.to(torch::kFloat32)));  // no shifts
  }
  // The shift itself: sample 1 reads 4 rows further down and 4 columns further left, clamped.
  auto s = shift_frames(x, shifts);
  CHECK(s[1][3][0][w - 1].item<int>() == x[1][3][4][w - 5].item<int>());
  CHECK(s[1][3][h - 1][0].item<int>() == x[1][3][h - 1][0].item<int>());
  CHECK(torch::equal(s[0], x[0]));
  // A reused output is written in place while it fits, and replaced when it does not.
  torch::Tensor keep;
  const void* first = frames_to_input(x, torch::kFloat32, shifts, &keep).data_ptr();
  CHECK(keep.data_ptr() == first);
  CHECK(frames_to_input(x.flip(0), torch::kFloat32, shifts.flip(0), &keep).data_ptr() == first);
  CHECK(torch::equal(keep, shift_frames(x.flip(0), shifts.flip(0)).to(torch::kFloat32)));
  CHECK(frames_to_input(x.narrow(0, 0, 2), torch::kFloat32, shifts.narrow(0, 0, 2), &keep).size(0) == 2);
  CHECK(keep.size(0) == 2);
}

TEST_CASE("image encoder: uint8 frames and their converted input give the same features", "[sac]") {
  torch::manual_seed(3);
  ConvEncoder enc(EncoderKind::Nature, 12, 84, 84, 64, true, 7, 7);
  auto x = torch::randint(0, 256, {3, 12, 84, 84}, torch::kInt64).to(torch::kUInt8);
  torch::NoGradGuard no_grad;
  auto direct = enc(x);
  auto converted = enc(frames_to_input(x, torch::kFloat32));
  auto planar = enc(x.to(torch::kFloat32));  // float NCHW input, as a caller may pass
  CHECK(torch::equal(direct, converted));
  CHECK(torch::allclose(direct, planar, 1e-5, 1e-5));
}

TEST_CASE("SAC on the CPU: uint8 batches (one-pass conversion) learn exactly as their float copies (gather, "
          "reorder, convert)", "[sac]") {
  // The float batch takes the composite path: random_shift on floats, the encoder's own conversion.
  // The same seed draws the same shifts, so every parameter must come out equal.
  for (auto precision : {Precision::Fp32, Precision::Bf16}) {
    SacOptions o;
    o.obs_shape = {6, 40, 38};
    o.action_dim = 3;
    o.features_dim = 32;
    o.net_arch = {32, 32};
    o.layer_norm = true;
    o.target_encoder = false;
    o.precision = precision;
    o.seed = 5;
    Sac bytes(o, torch::kCPU), floats(o, torch::kCPU);
    torch::manual_seed(9);
    for (int i = 0; i < 4; ++i) {
      Batch b;
      b.obs = torch::randint(0, 256, {8, 6, 40, 38}, torch::kInt64).to(torch::kUInt8);
      b.next_obs = torch::randint(0, 256, {8, 6, 40, 38}, torch::kInt64).to(torch::kUInt8);
      b.actions = torch::rand({8, 3}) * 2 - 1;
      b.rewards = torch::randn({8, 1});
      b.not_done = torch::ones({8, 1});
      Batch f = b;
      f.obs = b.obs.to(torch::kFloat32);
      f.next_obs = b.next_obs.to(torch::kFloat32);
      bytes.update(b);
      floats.update(f);
    }
    auto tb = bytes.named_tensors(), tf = floats.named_tensors();
    REQUIRE(tb.size() == tf.size());
    for (std::size_t i = 0; i < tb.size(); ++i) {
      INFO(precision_name(precision) << " " << tb[i].first);
      CHECK(torch::equal(tb[i].second, tf[i].second));
    }
  }
}

TEST_CASE("frames to the encoder's input: a reused output someone still holds is not overwritten", "[sac]") {
  auto x = torch::randint(0, 256, {2, 3, 5, 5}, torch::kInt64).to(torch::kUInt8);
  torch::Tensor keep;
  auto held = frames_to_input(x, torch::kFloat32, torch::Tensor(), &keep);  // `held` shares keep's storage
  const auto before = held.clone();
  auto next = frames_to_input(255 - x, torch::kFloat32, torch::Tensor(), &keep);
  CHECK(next.data_ptr() != held.data_ptr());
  CHECK(torch::equal(held, before));
  CHECK_THROWS(frames_to_input(x, torch::kFloat32, torch::zeros({2, 3}, torch::kInt64)));  // shifts not [N, 2]
}

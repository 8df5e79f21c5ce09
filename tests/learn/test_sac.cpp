// SAC: it learns toy tasks (vector and pixels), targets move by tau, the entropy coefficient
// moves toward its target, determinism, checkpoints and the Python-readable policy export.
#include "torch_catch.hpp"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "dodge/learn/cpu_info.hpp"
#include "dodge/learn/flops.hpp"
#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "point_task.hpp"

using namespace dodge::learn;
using namespace toy;

namespace {

SacOptions small_image_options(bool shared) {
  SacOptions o;
  o.obs_shape = {2, 40, 40};
  o.action_dim = 3;
  o.net_arch = {32};
  o.features_dim = 32;
  o.shared_encoder = shared;
  o.target_entropy = std::nan("");
  o.seed = 5;
  return o;
}

Batch random_batch(std::int64_t b, const SacOptions& o, std::uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<std::int64_t> shape{b};
  shape.insert(shape.end(), o.obs_shape.begin(), o.obs_shape.end());
  Batch batch;
  batch.obs = torch::randint(0, 256, shape, torch::kUInt8);
  batch.next_obs = torch::randint(0, 256, shape, torch::kUInt8);
  batch.actions = torch::rand({b, o.action_dim}) * 2 - 1;
  batch.rewards = torch::randn({b, 1});
  batch.not_done = (torch::rand({b, 1}) > 0.1).to(torch::kFloat32);
  return batch;
}

}  // namespace

TEST_CASE("SAC learns to move a point to a target from vector observations", "[sac][learn]") {
  const ToyResult r = train_point(false, 2500, 128, 1);
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.12);
  CHECK(r.seconds < 90);
}

TEST_CASE("SAC learns to move a point to a target with 3-step returns", "[sac][learn]") {
  const ToyResult r = train_point(false, 2500, 128, 1, false, 3);
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.12);
  CHECK(r.seconds < 90);
}

TEST_CASE("SAC learns to move a dot to the centre from pixels", "[sac][learn]") {
  const ToyResult r = train_point(true, 1500, 64, 2);
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.2);
  CHECK(r.seconds < 120);
}

// The mission config trains with random shift (pad 4 of 84 px); here pad 4 of 40 px, a stronger
// jitter of the dot's position than the game ever gets, and the agent must still learn.
TEST_CASE("SAC learns to move a dot to the centre from pixels with random-shift augmentation", "[sac][learn]") {
  const ToyResult r = train_point(true, 1500, 64, 2, true);
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.2);
  CHECK(r.seconds < 120);
}

// LayerNorm + tanh on the features, as configs/sac_pixels_cpu.yaml trains (the DrQ encoder is
// covered by its shape tests and the Python parity test: learning with it here takes minutes).
TEST_CASE("SAC learns to move a dot to the centre from pixels with LayerNorm + tanh features and 3-step returns",
          "[sac][learn]") {
  const ToyResult r = train_point(true, 1500, 64, 2, true, 3, [](SacOptions& o) { o.layer_norm = true; });
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.2);
  CHECK(r.seconds < 120);
}

TEST_CASE("SAC learns to move a dot to the centre from pixels in bf16 on the CPU", "[sac][learn]") {
  if (!cpu_has_native_bf16()) {
    WARN("this CPU has no native bf16 (avx512_bf16 / amx_bf16): skipping the bf16 learning test");
    return;
  }
  const ToyResult r = train_point(true, 1500, 64, 2, true, 1, [](SacOptions& o) { o.precision = Precision::Bf16; });
  INFO("trained " << r.final_distance_trained << " random " << r.final_distance_random << " in " << r.seconds << " s");
  CHECK(r.final_distance_random > 0.5);
  CHECK(r.final_distance_trained < 0.2);
  CHECK(r.seconds < 150);
}

// configs/sac_pixels_cpu.yaml says auto: bf16 only where the CPU computes it natively (emulated
// bf16 is 10-20x slower than fp32), TF32 on CUDA; the learner holds the resolved precision.
TEST_CASE("precision auto resolves per device", "[sac]") {
  CHECK(precision_named("auto") == Precision::Auto);
  CHECK_THROWS_WITH(precision_named("fp16"), Catch::Contains("fp32 | tf32 | bf16 | auto"));
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  // The decision on given CPU facts, then the probe of the flags line.
  CHECK(resolve_precision(Precision::Auto, cpu, true) == Precision::Bf16);
  CHECK(resolve_precision(Precision::Auto, cpu, false) == Precision::Fp32);
  CHECK(resolve_precision(Precision::Auto, cuda, false) == Precision::Tf32);
  CHECK(native_bf16(parse_cpuinfo("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 sha_ni\n")));
  CHECK(native_bf16(parse_cpuinfo("flags\t\t: fpu avx2 amx_bf16 amx_tile\n")));
  CHECK_FALSE(native_bf16(parse_cpuinfo("flags\t\t: fpu avx2 avx512f avx512_vnni\n")));
  // Only the first processor's lines count; a flag is a whole word.
  CHECK_FALSE(native_bf16(parse_cpuinfo("flags\t\t: avx2 xavx512_bf16\n\nflags\t\t: avx512_bf16\n")));
  CHECK(resolve_precision(Precision::Auto, cuda) == Precision::Tf32);
  for (const auto p : {Precision::Fp32, Precision::Tf32, Precision::Bf16}) {
    CHECK(resolve_precision(p, cpu) == p);
    CHECK(resolve_precision(p, cuda) == p);
  }
  CHECK(std::string(precision_name(resolve_precision(Precision::Auto, cuda))) == "tf32");
  SacOptions o;
  o.obs_shape = {4};
  o.action_dim = 2;
  o.net_arch = {8};
  o.precision = Precision::Auto;
  const Sac sac(o, cpu);
  CHECK(sac.options().precision == resolve_precision(Precision::Auto, cpu));
}

TEST_CASE("encoders: NatureCNN and DrQ shapes, names, and LayerNorm + tanh features", "[sac]") {
  torch::manual_seed(0);
  const auto obs = torch::randint(0, 256, {5, 3, 48, 48}, torch::kUInt8);
  Encoder drq(std::vector<std::int64_t>{3, 48, 48}, EncoderOptions{EncoderKind::Drq, 50, true});
  const auto f = drq(obs);
  CHECK(f.sizes() == torch::IntArrayRef({5, 50}));
  CHECK(f.abs().max().item<float>() <= 1.0f);
  CHECK(f.min().item<float>() < 0.0f);  // tanh, not ReLU
  // 48 -> 23 (3x3/2) -> 21 -> 19 -> 17: the linear layer reads 32 x 17 x 17.
  auto params = drq->named_parameters();
  REQUIRE(params.contains("cnn.conv4.weight"));
  CHECK(params["cnn.conv1.weight"].sizes() == torch::IntArrayRef({32, 3, 3, 3}));
  CHECK(params["cnn.fc.weight"].sizes() == torch::IntArrayRef({50, 32 * 17 * 17}));
  CHECK(params.contains("cnn.norm.weight"));

  Encoder nature(std::vector<std::int64_t>{3, 48, 48}, EncoderOptions{EncoderKind::Nature, 64, false});
  const auto g = nature(obs);
  CHECK(g.sizes() == torch::IntArrayRef({5, 64}));
  CHECK(g.min().item<float>() >= 0.0f);  // ReLU
  CHECK_FALSE(nature->named_parameters().contains("cnn.conv4.weight"));
  CHECK_FALSE(nature->named_parameters().contains("cnn.norm.weight"));
  // 48 -> 11 -> 4 -> 2: 64 x 2 x 2.
  CHECK(nature->named_parameters()["cnn.fc.weight"].sizes() == torch::IntArrayRef({64, 256}));

  CHECK_THROWS_WITH(Encoder(std::vector<std::int64_t>{3, 14, 14}, EncoderOptions{EncoderKind::Drq, 8, false}),
                    Catch::Contains("at least 15x15"));
  CHECK_NOTHROW(Encoder(std::vector<std::int64_t>{3, 15, 15}, EncoderOptions{EncoderKind::Drq, 8, false}));
  CHECK_THROWS_WITH(encoder_kind_named("impala"), Catch::Contains("nature | drq"));
}

namespace {
bool cpu_autocast_on() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}
}  // namespace

TEST_CASE("bf16 on the CPU: encoders in bf16, an update close to fp32's, autocast off afterwards", "[sac]") {
  for (EncoderKind kind : {EncoderKind::Nature, EncoderKind::Drq}) {
    INFO(to_string(kind));
    SacOptions o = small_image_options(true);
    o.encoder = kind;
    o.layer_norm = kind == EncoderKind::Drq;
    o.augment = false;
    SacOptions ob = o;
    ob.precision = Precision::Bf16;
    Sac fp32(o, torch::kCPU), bf16(ob, torch::kCPU);
    const auto batch = random_batch(32, o, 11);
    // Same weights, other arithmetic: the actions agree to bf16's precision but not bit for bit.
    const auto a32 = fp32.act(batch.obs, true), a16 = bf16.act(batch.obs, true);
    CHECK_FALSE(torch::equal(a32, a16));
    CHECK((a32 - a16).abs().max().item<float>() < 0.02f);
    CHECK(a16.scalar_type() == torch::kFloat32);
    CHECK_FALSE(cpu_autocast_on());

    const SacMetricsHost m32 = to_host(fp32.update(batch)), m16 = to_host(bf16.update(batch));
    CHECK_FALSE(cpu_autocast_on());
    CHECK(std::isfinite(m16.critic_loss));
    CHECK(m16.critic_loss == Approx(m32.critic_loss).epsilon(0.03));
    CHECK(m16.actor_loss == Approx(m32.actor_loss).epsilon(0.03).margin(0.02));
    CHECK(m16.q_mean == Approx(m32.q_mean).epsilon(0.03).margin(0.01));
    CHECK(m16.entropy == Approx(m32.entropy).epsilon(0.03).margin(0.05));
    // Parameters stay fp32 and after one Adam step (about lr per weight) are still close.
    auto t32 = fp32.named_tensors(), t16 = bf16.named_tensors();
    for (std::size_t i = 0; i < t32.size(); ++i) {
      INFO(t32[i].first);
      CHECK(t16[i].second.scalar_type() == torch::kFloat32);
      CHECK((t32[i].second - t16[i].second).abs().max().item<float>() <= 2.5e-3f);
    }
  }
}

TEST_CASE("target networks move by exactly tau", "[sac]") {
  struct Case {
    bool shared, target_encoder;
    double encoder_tau;
    int targets;  // two heads of 2 linears (+ a target encoder: 3 convs, 1 linear)
  };
  for (const Case& k : {Case{true, true, 0.0, 16}, Case{true, true, 0.5, 16}, Case{true, false, 0.0, 8},
                        Case{false, true, 0.0, 16}, Case{false, false, 0.5, 16}}) {
    SacOptions o = small_image_options(k.shared);
    o.tau = 0.25;
    o.target_encoder = k.target_encoder;
    o.encoder_tau = k.encoder_tau;
    INFO("shared " << k.shared << ", target encoder " << k.target_encoder << ", encoder tau " << k.encoder_tau);
    Sac sac(o, torch::kCPU);
    auto before = sac.named_tensors();
    std::map<std::string, torch::Tensor> old;
    for (auto& kv : before) old[kv.first] = kv.second.detach().clone();
    sac.update(random_batch(16, o, 1));
    std::map<std::string, torch::Tensor> now;
    for (auto& kv : sac.named_tensors()) now[kv.first] = kv.second.detach();
    int checked = 0;
    for (auto& kv : now) {
      const std::string& name = kv.first;
      std::string online;
      if (name.rfind("critic_target.", 0) == 0) online = "critic." + name.substr(14);
      if (name.rfind("target_encoder.", 0) == 0) online = "critic_encoder." + name.substr(15);
      if (online.empty()) continue;
      const double tau = name.rfind("target_encoder.", 0) == 0 && k.encoder_tau > 0 ? k.encoder_tau : o.tau;
      auto expected = old[name] * (1 - tau) + now[online] * tau;
      CHECK(torch::allclose(kv.second, expected, 1e-6, 1e-7));
      CHECK_FALSE(torch::equal(kv.second, old[name]));
      ++checked;
    }
    CHECK(checked == k.targets);
  }
}

TEST_CASE("shared mode: the bootstrap value reads the target encoder", "[sac]") {
  // With encoder_tau 1 the target encoder is a copy of the online one at every update, so the
  // updates equal those of an agent without one; with a slow copy they differ from the second on.
  auto critic_losses = [](bool target_encoder, double encoder_tau) {
    SacOptions o = small_image_options(true);
    o.target_encoder = target_encoder;
    o.encoder_tau = encoder_tau;
    Sac sac(o, torch::kCPU);
    std::vector<double> losses;
    for (int i = 0; i < 4; ++i)
      losses.push_back(to_host(sac.update(random_batch(16, o, 40 + static_cast<std::uint64_t>(i)))).critic_loss);
    return losses;
  };
  const auto without = critic_losses(false, 0.0), copy = critic_losses(true, 1.0), slow = critic_losses(true, 0.01);
  CHECK(copy == without);
  CHECK(slow[0] == without[0]);  // the copy starts equal to the online encoder
  for (int i = 1; i < 4; ++i) CHECK(slow[static_cast<std::size_t>(i)] != without[static_cast<std::size_t>(i)]);
}

TEST_CASE("a shared-mode checkpoint without a target encoder loads, the copy starting from the online encoder",
          "[sac]") {
  SacOptions old_options = small_image_options(true);
  old_options.target_encoder = false;
  Sac old_agent(old_options, torch::kCPU);
  for (int i = 0; i < 2; ++i) old_agent.update(random_batch(8, old_options, static_cast<std::uint64_t>(i)));
  const auto dir = std::filesystem::temp_directory_path() / "dodge_sac_old_ckpt_test";
  std::filesystem::create_directories(dir);
  old_agent.save((dir / "agent.pt").string());
  Sac agent(small_image_options(true), torch::kCPU);
  agent.load((dir / "agent.pt").string());
  CHECK(agent.target_encoder_filled());
  std::map<std::string, torch::Tensor> t;
  for (auto& kv : agent.named_tensors()) t[kv.first] = kv.second;
  int copied = 0;
  for (auto& kv : old_agent.named_tensors()) {
    CHECK(torch::equal(t.at(kv.first), kv.second));
    if (kv.first.rfind("critic_encoder.", 0) == 0) {
      CHECK(torch::equal(t.at("target_encoder." + kv.first.substr(15)), kv.second));
      ++copied;
    }
  }
  CHECK(copied == 8);
  // A checkpoint with a target encoder loads it as saved; one missing only part of it is damaged.
  agent.update(random_batch(8, small_image_options(true), 5));
  agent.save((dir / "new.pt").string());
  Sac again(small_image_options(true), torch::kCPU);
  again.load((dir / "new.pt").string());
  CHECK_FALSE(again.target_encoder_filled());
  const auto saved = agent.named_tensors(), loaded = again.named_tensors();
  REQUIRE(saved.size() == loaded.size());
  for (std::size_t i = 0; i < saved.size(); ++i) CHECK(torch::equal(saved[i].second, loaded[i].second));
  {
    torch::serialize::InputArchive in;
    in.load_from((dir / "new.pt").string());
    torch::serialize::OutputArchive out;
    for (const auto& key : in.keys()) {
      torch::Tensor v;
      if (key != "target_encoder.cnn.fc.bias" && in.try_read(key, v)) out.write(key, v);
    }
    out.save_to((dir / "partial.pt").string());
  }
  CHECK_THROWS_WITH(again.load((dir / "partial.pt").string()), Catch::Contains("target_encoder.cnn.fc.bias"));
  // A separate-encoder agent still needs its own encoders in the file.
  Sac separate(small_image_options(false), torch::kCPU);
  CHECK_THROWS_WITH(separate.load((dir / "agent.pt").string()), Catch::Contains("actor_encoder"));
  // Vector observations: the encoder has no parameters, so neither has its copy.
  SacOptions vec;
  vec.obs_shape = {6};
  vec.net_arch = {16};
  Sac v1(vec, torch::kCPU), v2(vec, torch::kCPU);
  Batch b = random_batch(8, vec, 3);
  b.obs = b.obs.to(torch::kFloat32) / 255;
  b.next_obs = b.next_obs.to(torch::kFloat32) / 255;
  v1.update(b);
  v1.save((dir / "vector.pt").string());
  v2.load((dir / "vector.pt").string());
  CHECK(v2.updates() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a batch's discount (n-step sampling) replaces gamma * not_done in the target", "[sac]") {
  SacOptions o = small_image_options(true);
  o.gamma = 0.9;
  auto critic_loss = [&](double discount_factor) {
    Sac sac(o, torch::kCPU);
    Batch b = random_batch(16, o, 7);
    if (discount_factor > 0) b.discount = b.not_done * discount_factor;
    return to_host(sac.update(b)).critic_loss;
  };
  CHECK(critic_loss(0.9) == critic_loss(0.0));  // 0.0: no discount given, gamma applies
  CHECK(critic_loss(0.5) != critic_loss(0.0));
}

TEST_CASE("the entropy coefficient moves toward its target", "[sac]") {
  // A target entropy far above the policy's entropy raises alpha; far below lowers it.
  for (double target : {50.0, -50.0}) {
    SacOptions o = small_image_options(true);
    o.target_entropy = target;
    Sac sac(o, torch::kCPU);
    double alpha0 = 0, alpha = 0;
    for (int i = 0; i < 20; ++i) {
      const SacMetricsHost m = to_host(sac.update(random_batch(16, o, static_cast<std::uint64_t>(i))));
      if (i == 0) alpha0 = m.ent_coef;
    }
    for (auto& kv : sac.named_tensors())
      if (kv.first == "log_ent_coef") alpha = std::exp(kv.second.item<double>());
    CHECK(alpha0 == Approx(1.0));
    if (target > 0)
      CHECK(alpha > alpha0 * 1.003);
    else
      CHECK(alpha < alpha0 / 1.003);
  }
}

TEST_CASE("same seed gives identical parameters after K updates, another seed differs", "[sac]") {
  auto run = [](std::uint64_t seed, bool shared) {
    SacOptions o = small_image_options(shared);
    o.seed = seed;
    Sac sac(o, torch::kCPU);
    for (int i = 0; i < 5; ++i) sac.update(random_batch(16, o, 100 + static_cast<std::uint64_t>(i)));
    std::vector<torch::Tensor> v;
    for (auto& kv : sac.named_tensors()) v.push_back(kv.second.detach().clone());
    return v;
  };
  for (bool shared : {true, false}) {
    auto a = run(3, shared), b = run(3, shared), c = run(4, shared);
    REQUIRE(a.size() == b.size());
    bool all_equal = true, any_differs = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      all_equal = all_equal && torch::equal(a[i], b[i]);
      any_differs = any_differs || !torch::equal(a[i], c[i]);
    }
    CHECK(all_equal);
    CHECK(any_differs);
  }
}

TEST_CASE("metrics stay on the device as scalars and are finite", "[sac]") {
  SacOptions o = small_image_options(false);
  Sac sac(o, torch::kCPU);
  const SacMetrics m = sac.update(random_batch(8, o, 1));
  CHECK(m.critic_loss.dim() == 0);
  CHECK(m.actor_loss.dim() == 0);
  CHECK(m.ent_coef.dim() == 0);
  const SacMetricsHost h = to_host(m);
  CHECK(std::isfinite(h.critic_loss));
  CHECK(std::isfinite(h.actor_loss));
  CHECK(h.ent_coef > 0);
  CHECK(sac.updates() == 1);
}

TEST_CASE("acting: deterministic is the squashed mean, stochastic varies, both in [-1, 1]", "[sac]") {
  SacOptions o = small_image_options(true);
  Sac sac(o, torch::kCPU);
  auto obs = random_batch(6, o, 2).obs;
  auto a1 = sac.act(obs, true), a2 = sac.act(obs, true);
  CHECK(torch::equal(a1, a2));
  auto s1 = sac.act(obs, false), s2 = sac.act(obs, false);
  CHECK_FALSE(torch::equal(s1, s2));
  CHECK(s1.abs().max().item<float>() <= 1.0f);
  CHECK(a1.sizes() == torch::IntArrayRef({6, 3}));
}

TEST_CASE("save and load restore networks, optimizers, counters and the RNG", "[sac]") {
  SacOptions o = small_image_options(false);
  Sac a(o, torch::kCPU);
  for (int i = 0; i < 3; ++i) a.update(random_batch(8, o, static_cast<std::uint64_t>(i)));
  const auto dir = std::filesystem::temp_directory_path() / "dodge_sac_test";
  std::filesystem::create_directories(dir);
  a.save((dir / "agent.pt").string());
  SacOptions o2 = o;
  o2.seed = 99;  // everything comes from the file
  Sac b(o2, torch::kCPU);
  b.load((dir / "agent.pt").string());
  CHECK(b.updates() == 3);
  // The continuation is identical.
  const auto batch = random_batch(8, o, 50);
  a.update(batch);
  b.update(batch);
  auto ta = a.named_tensors(), tb = b.named_tensors();
  for (std::size_t i = 0; i < ta.size(); ++i) CHECK(torch::equal(ta[i].second, tb[i].second));
  // Another architecture is refused with the tensor's name.
  SacOptions o3 = o;
  o3.net_arch = {16};
  Sac c(o3, torch::kCPU);
  CHECK_THROWS_WITH(c.load((dir / "agent.pt").string()), Catch::Contains("has shape"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the exported policy is a dict of tensors that Python's torch.load reads", "[sac]") {
  SacOptions o = small_image_options(true);
  Sac sac(o, torch::kCPU);
  const auto dir = std::filesystem::temp_directory_path() / "dodge_policy_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "policy.pt").string();
  sac.export_policy(path);
  REQUIRE(std::filesystem::file_size(path) > 1000);
  const double conv_sum = sac.named_tensors()[0].second.sum().item<double>();  // critic_encoder.cnn.conv1.weight
  // Debian's torch 1.13 and the pip torch 2.x of scripts/py-env.sh, both with the weights-only
  // unpickler (torch.load's default since 2.6).
  const char* cache = std::getenv("DODGE_CACHE");
  const char* home = std::getenv("HOME");
  const std::string venv = (cache ? std::string(cache) : std::string(home ? home : "/root") + "/.cache/dodge") +
                           "/venv-py/bin/python";
  int checked = 0;
  for (const std::string& python : {std::string("/usr/bin/python3"), venv}) {
    if (std::system((python + " -c 'import torch' 2>/dev/null").c_str()) != 0) {
      WARN(python + " has no torch: skipping that Python check (scripts/install-deps.sh, scripts/py-env.sh)");
      continue;
    }
    const std::string cmd = python + " -c \"import torch; d = torch.load('" + path +
                            "', weights_only=True); assert type(d) is dict; "
                            "assert tuple(d['encoder.cnn.conv1.weight'].shape) == (32, 2, 8, 8), d.keys(); "
                            "assert tuple(d['actor.mu.weight'].shape) == (3, 32); "
                            "assert abs(d['encoder.cnn.conv1.weight'].double().sum().item() - (" +
                            std::to_string(conv_sum) + ")) < 1e-4; print(torch.__version__)\" > " +
                            (dir / "out.txt").string() + " 2>&1";
    INFO(python);
    CHECK(std::system(cmd.c_str()) == 0);
    ++checked;
  }
  if (checked == 0) WARN("no Python with torch: policy.pt was not read back");
  std::filesystem::remove_all(dir);
}

// The arithmetic bench update prints, against a count by hand of a small network: NatureCNN on
// 1 x 36 x 36, 16 features, one hidden layer of 8, 3 actions.
TEST_CASE("the update's FLOPs equal a hand count of a small network", "[sac][flops]") {
  SacOptions o;
  o.obs_shape = {1, 36, 36};
  o.features_dim = 16;
  o.net_arch = {8};
  o.action_dim = 3;
  // conv1 8x8/4: 8x8 out, 2*(1*8*8)*32*64; conv2 4x4/2: 3x3 out, 2*(32*4*4)*64*9; conv3 3x3/1:
  // 1x1 out, 2*(64*3*3)*64*1; fc 64 -> 16: 2*64*16.
  const double c1 = 2.0 * 64 * 32 * 64, c2 = 2.0 * 512 * 64 * 9, c3 = 2.0 * 576 * 64, fc = 2.0 * 64 * 16;
  const double E = c1 + c2 + c3 + fc;
  CHECK(encoder_forward_flops(o).all == E);
  CHECK(encoder_forward_flops(o).first == c1);
  // Twin critics: (16 + 3) -> 8 -> 1 twice; actor: 16 -> 8, then mu and log_std 8 -> 3.
  const double Q = 2 * (2.0 * 19 * 8 + 2.0 * 8);
  const double A = 2.0 * 16 * 8 + 2 * (2.0 * 8 * 3), A1 = 2.0 * 16 * 8;
  // Shared encoder with a target copy: 3 forward passes, a backward of weight gradients (E) and input
  // gradients above the first convolution (E - c1). Heads forward: actor on next obs, target critic,
  // critic, and for the actor loss actor + critic; backward: critic (weights and inputs: 2Q) twice,
  // actor (weights, and inputs above its first layer: its input is detached).
  const double per_sample = 3 * E + (2 * E - c1) + (A + 2 * Q + A + Q) + (2 * Q + 2 * Q + 2 * A - A1);
  UpdateFlops u = count_update_flops(o, 2);
  CHECK(u.total() == Approx(2 * per_sample).epsilon(1e-12));
  CHECK(u.encoder_forward == 2 * 3 * E);
  CHECK(u.encoder_backward == 2 * (2 * E - c1));
  // Without the target encoder one forward pass fewer; an actor every 2 updates halves its passes.
  o.target_encoder = false;
  o.actor_update_interval = 2;
  u = count_update_flops(o, 1);
  CHECK(u.encoder_forward == 2 * E);
  CHECK(u.heads_forward == Approx(A + 2 * Q + 0.5 * (A + Q)));
  CHECK(u.heads_backward == Approx(2 * Q + 0.5 * (2 * Q + 2 * A - A1)));
  // Vector observations: no encoder arithmetic.
  SacOptions v;
  v.obs_shape = {65};
  CHECK(count_update_flops(v, 256).encoder() == 0);
  CHECK(count_update_flops(v, 256).heads() > 0);
}

TEST_CASE("the CPU's peak per cycle follows its flags and family", "[sac][flops]") {
  const auto zen4 = parse_cpuinfo(
      "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\ncpu MHz\t\t: 2596.134\nflags\t\t: fma avx2 avx512f "
      "avx512_bf16\n");
  CHECK(zen4.family == 25);
  CHECK(zen4.model == 17);
  CHECK(zen4.mhz == Approx(2596.134));
  CHECK(peak_per_cycle(zen4, false).flop == 32);
  CHECK(peak_per_cycle(zen4, true).flop == 64);
  const auto zen3 = parse_cpuinfo("vendor_id\t: AuthenticAMD\ncpu family\t: 25\nflags\t\t: fma avx2\n");
  CHECK(peak_per_cycle(zen3, false).flop == 32);
  CHECK(peak_per_cycle(zen3, true).flop == 32);  // emulated: no faster than fp32
  CHECK_THAT(peak_per_cycle(zen3, true).why, Catch::Contains("emulated"));
  const auto zen5 = parse_cpuinfo("vendor_id\t: AuthenticAMD\ncpu family\t: 26\nflags\t\t: fma avx2 avx512f avx512_bf16\n");
  CHECK(peak_per_cycle(zen5, false).flop == 64);
  CHECK(peak_per_cycle(zen5, true).flop == 128);
}

// sac.policy_average: avg <- avg + rate (online - avg) after every update, starting from the
// online weights; acting "shipped" reads it, exploration the online policy; checkpoints keep it.
TEST_CASE("the averaged policy follows its formula and is what ships", "[sac][average]") {
  SacOptions o = small_image_options(true);
  o.policy_average = 0.25;
  Sac sac(o, torch::kCPU);
  REQUIRE(sac.has_policy_average());
  auto online_of = [&](const std::string& avg_name) {
    const std::string rest = avg_name.substr(avg_name.find('.') + 1);
    return (avg_name.rfind("avg_encoder.", 0) == 0 ? "critic_encoder." : "actor.") + rest;
  };
  std::map<std::string, torch::Tensor> expected, now;
  auto snapshot = [&] {
    now.clear();
    for (auto& kv : sac.named_tensors()) now[kv.first] = kv.second.detach().clone();
  };
  snapshot();
  int averaged = 0;
  for (auto& kv : now)
    if (kv.first.rfind("avg_", 0) == 0) {
      CHECK(torch::equal(kv.second, now[online_of(kv.first)]));  // starts as the online weights
      expected[kv.first] = kv.second.clone();
      ++averaged;
    }
  CHECK(averaged == 8 + 6);  // encoder: 3 convs and fc (weights, biases); actor: trunk, mu, log_std
  for (int i = 0; i < 3; ++i) {
    sac.update(random_batch(16, o, 10 + i));
    snapshot();
    for (auto& kv : expected) {
      kv.second = kv.second + 0.25 * (now[online_of(kv.first)] - kv.second);
      CHECK(torch::allclose(now[kv.first], kv.second, 1e-6, 1e-7));
    }
  }
  CHECK_FALSE(torch::equal(now["avg_actor.mu.weight"], now["actor.mu.weight"]));
  const Batch b = random_batch(4, o, 99);
  CHECK_FALSE(torch::allclose(sac.act(b.obs, true, /*shipped=*/true), sac.act(b.obs, true, false)));
  // A checkpoint keeps it; one from an agent without it fills it from the online weights.
  const auto dir = std::filesystem::temp_directory_path() / "dodge_test_average";
  std::filesystem::create_directories(dir);
  sac.save((dir / "a.pt").string());
  Sac back(o, torch::kCPU);
  back.load((dir / "a.pt").string());
  CHECK_FALSE(back.policy_average_filled());
  CHECK(torch::equal(back.act(b.obs, true, true), sac.act(b.obs, true, true)));
  SacOptions plain = o;
  plain.policy_average = 0;
  Sac without(plain, torch::kCPU);
  without.update(random_batch(16, o, 5));
  without.save((dir / "b.pt").string());
  Sac filled(o, torch::kCPU);
  filled.load((dir / "b.pt").string());
  CHECK(filled.policy_average_filled());
  CHECK(torch::equal(filled.act(b.obs, true, true), without.act(b.obs, true, false)));
  std::filesystem::remove_all(dir);
}

TEST_CASE("actor_update_interval: the actor and alpha learn on every k-th update, the critic on each", "[sac]") {
  SacOptions o = small_image_options(true);
  o.actor_update_interval = 2;
  Sac sac(o, torch::kCPU);
  auto param = [&](const std::string& name) {
    for (auto& kv : sac.named_tensors())
      if (kv.first == name) return kv.second.detach().clone();
    FAIL("no tensor " << name);
    return torch::Tensor();
  };
  for (int i = 0; i < 4; ++i) {
    const auto actor = param("actor.mu.weight"), alpha = param("log_ent_coef"), critic = param("critic.q1.0.weight");
    const SacMetricsHost m = to_host(sac.update(random_batch(16, o, 20 + i)));
    INFO("update " << i);
    CHECK(std::isfinite(m.actor_loss));
    CHECK_FALSE(torch::equal(param("critic.q1.0.weight"), critic));
    CHECK(torch::equal(param("actor.mu.weight"), actor) == (i % 2 == 1));
    CHECK(torch::equal(param("log_ent_coef"), alpha) == (i % 2 == 1));
  }
}

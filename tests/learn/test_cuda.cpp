// CUDA-only checks (tagged [cuda]; where no GPU is visible CTest reports them as skipped, and a
// run by hand warns and goes on).
#include "torch_catch.hpp"

#include <ATen/Context.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#ifdef DODGE_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "skip.hpp"
#include "test_util.hpp"

using namespace dodge::learn;

namespace {
bool have_cuda() {
  return available_or_skip(torch::cuda::is_available(), "no CUDA device");
}
}  // namespace

// What the [cuda] tests (and the several-ranks tests without Gloo) do without their resource: run
// alone by CTest, they exit with the code CTest was told reads "skipped"; run by hand, they warn
// and return. Before, they passed without running.
TEST_CASE("skip: a resource that is never there", "[.][skip]") {
  if (!available_or_skip(false, "a resource that is never there")) return;
  FAIL("ran without its resource");
}

TEST_CASE("tests without their resource are reported as skipped, not passed", "[skip]") {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string hidden = " \"skip: a resource that is never there\"";
  RunResult r = run_shell("env DODGE_TEST_EXIT_ON_SKIP=1 " + self + hidden);
  INFO(r.output);
  CHECK(r.code == DODGE_TEST_SKIP_CODE);
  CHECK_THAT(r.output, Catch::Contains("skipped: a resource that is never there"));
  r = run_shell("env -u DODGE_TEST_EXIT_ON_SKIP " + self + hidden);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("a resource that is never there: not run"));

  // CTest runs the [cuda] and the several-ranks tests with that variable and reads the code as
  // "skipped". Asked from a folder of its own that includes the build's tests, so that its logs
  // (Testing/) do not overwrite those of a CTest run that may be running this test.
  TempDir wrap("ctest_wrap");
  std::ofstream(wrap.file("CTestTestfile.cmake")) << "subdirs(\"" << DODGE_BUILD_DIR << "\")\n";
  const std::string ctest = "cd '" + wrap.path.string() + "' && '" + DODGE_CTEST + "'";
  r = run_shell(ctest + " --show-only=json-v1");
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  std::set<std::string> checked, expected{"cuda", "dist"};
  for (const auto& t : j["tests"]) {
    // "part:name" (CTest's names drop the space of TEST_PREFIX "part: ").
    const std::string name = t["name"];
    if (name.rfind("test_run_NOT_BUILT", 0) == 0) expected.erase("dist");  // a build of test_learn alone
    const auto colon = name.find(':'), start = name.find_first_not_of(' ', colon + 1);
    if (colon == std::string::npos || start == std::string::npos) continue;
    const std::string part = name.substr(0, colon), test = name.substr(start);
    const bool cuda = part == "learn" && test.rfind("CUDA: ", 0) == 0;
    const bool dist = part == "run" && test.rfind("several ranks: ", 0) == 0;
    if (!cuda && !dist) continue;
    INFO(name);
    std::string skip_code, environment;
    for (const auto& p : t["properties"]) {
      if (p["name"] == "SKIP_RETURN_CODE") skip_code = p["value"].dump();
      if (p["name"] == "ENVIRONMENT") environment = p["value"].dump();
    }
    CHECK(skip_code == std::to_string(DODGE_TEST_SKIP_CODE));
    CHECK_THAT(environment, Catch::Contains("DODGE_TEST_EXIT_ON_SKIP=1"));
    checked.insert(cuda ? "cuda" : "dist");
  }
  CHECK(checked == expected);

  // And the closing lines say so: one [cuda] test through CTest where no GPU is visible.
  if (torch::cuda::is_available()) return;
  r = run_shell(ctest + " -R '^learn: ?CUDA: graph-replayed SAC updates equal eager updates$'");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("***Skipped") && Catch::Contains("The following tests did not run"));
}

TEST_CASE("CUDA: graph-replayed SAC updates equal eager updates", "[cuda]") {
  if (!have_cuda()) return;
  SacOptions o;
  o.obs_shape = {4, 84, 84};
  o.action_dim = 3;
  o.seed = 11;
  o.target_entropy = std::nan("");
  // Graph and eager run on different streams: keep cuDNN from picking different algorithms.
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  SacOptions og = o;
  og.cuda_graph = true;
  o.cuda_graph = false;
  Sac eager(o, torch::kCUDA), graph(og, torch::kCUDA);
  torch::manual_seed(5);
  for (int i = 0; i < 12; ++i) {
    Batch b;
    b.obs = torch::randint(0, 256, {64, 4, 84, 84}, torch::kUInt8).cuda();
    b.next_obs = torch::randint(0, 256, {64, 4, 84, 84}, torch::kUInt8).cuda();
    b.actions = (torch::rand({64, 3}) * 2 - 1).cuda();
    b.rewards = torch::randn({64, 1}).cuda();
    b.not_done = torch::ones({64, 1}).cuda();
    const auto me = to_host(eager.update(b));
    const auto mg = to_host(graph.update(b));
    CHECK(mg.critic_loss == Approx(me.critic_loss).epsilon(1e-3));
  }
  auto te = eager.named_tensors(), tg = graph.named_tensors();
  for (std::size_t i = 0; i < te.size(); ++i) {
    INFO(te[i].first);
    CHECK(torch::allclose(te[i].second, tg[i].second, 1e-3, 1e-4));
  }
}

TEST_CASE("CUDA: as dodge runs (TF32, cuDNN benchmark, target encoder) the graph equals eager, flags restored",
          "[cuda]") {
  if (!have_cuda()) return;
  auto& ctx = at::globalContext();
  ctx.setDeterministicCuDNN(false);
  ctx.setBenchmarkCuDNN(true);  // what main() sets (run::use_fastest_convolutions)
  ctx.setAllowTF32CuBLAS(false);
  for (const Precision p : {Precision::Tf32, Precision::Fp32, Precision::Bf16}) {
    SacOptions o;
    o.obs_shape = {4, 84, 84};
    o.action_dim = 3;
    o.seed = 12;
    o.target_entropy = std::nan("");
    o.precision = p;
    SacOptions og = o;
    og.cuda_graph = true;
    o.cuda_graph = false;
    Sac eager(o, torch::kCUDA), graph(og, torch::kCUDA);
    torch::manual_seed(6);
    for (int i = 0; i < 8; ++i) {
      Batch b;
      b.obs = torch::randint(0, 256, {128, 4, 84, 84}, torch::kUInt8).cuda();
      b.next_obs = torch::randint(0, 256, {128, 4, 84, 84}, torch::kUInt8).cuda();
      b.actions = (torch::rand({128, 3}) * 2 - 1).cuda();
      b.rewards = (torch::randn({128, 1}) * 5).cuda();
      b.not_done = (torch::rand({128, 1}) > 0.2).to(torch::kFloat32).cuda();
      // n-step discounts that change from batch to batch: the graph must read each one.
      b.discount = b.not_done * torch::pow(0.99, torch::randint(1, 4, {128, 1}).to(torch::kFloat32)).cuda();
      if (i % 2) b.discount = b.discount * 0.5;
      const double me = to_host(eager.update(b)).critic_loss, mg = to_host(graph.update(b)).critic_loss;
      INFO("precision " << static_cast<int>(p) << ", update " << i);
      CHECK(std::isfinite(mg));
      // Benchmark mode may pick other convolution algorithms on the capture stream: close, not equal.
      CHECK(mg == Approx(me).epsilon(p == Precision::Bf16 ? 5e-2 : 1e-2));
    }
    // The update sets TF32 for its own kernels only; the process's flags are as before.
    CHECK_FALSE(ctx.allowTF32CuBLAS());
    CHECK(ctx.allowTF32CuDNN());
    CHECK(ctx.benchmarkCuDNN());
  }
  ctx.setBenchmarkCuDNN(false);  // as the other tests expect
}

TEST_CASE("CUDA: the replay buffer lives on the device and samples there", "[cuda]") {
  if (!have_cuda()) return;
#ifdef DODGE_CUDA
  ReplaySpec s;
  s.capacity = 1000;
  s.n_envs = 4;
  s.frame_stack = 4;
  s.obs_shape = {1, 84, 84};
  s.action_dim = 3;
  ReplayBuffer rb(s, torch::kCUDA);
  std::vector<float> a(12, 0.5f), r(4, 1.0f);
  std::vector<std::uint8_t> z(4, 0);
  for (int i = 0; i < 50; ++i) {
    std::memset(rb.next_frames(), i, 4 * 84 * 84);
    if (i == 0)
      rb.commit_reset();
    else
      rb.commit_step(a.data(), r.data(), z.data(), z.data(), z.data());
  }
  auto gen = at::cuda::detail::getDefaultCUDAGenerator();
  Batch b = rb.sample(32, gen);
  CHECK(b.obs.is_cuda());
  CHECK(b.obs.sizes() == torch::IntArrayRef({32, 4, 84, 84}));
  auto newest = b.obs.select(1, 3).flatten(1).select(1, 0).cpu();
  auto next = b.next_obs.select(1, 3).flatten(1).select(1, 0).cpu();
  CHECK(torch::equal(next, newest + 1));
#endif
}

TEST_CASE("CUDA: a capture that throws ends cleanly and the agent goes on eagerly", "[cuda]") {
  if (!have_cuda()) return;
  SacOptions o;
  o.obs_shape = {4, 48, 48};
  o.action_dim = 3;
  o.seed = 13;
  o.target_entropy = std::nan("");
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  SacOptions og = o;
  og.cuda_graph = true;
  o.cuda_graph = false;
  Sac eager(o, torch::kCUDA), failing(og, torch::kCUDA);
  failing.fail_capture_for_testing();
  torch::manual_seed(7);
  for (int i = 0; i < 8; ++i) {  // 3 warm-ups, the failed capture (done eagerly), 4 more
    Batch b;
    b.obs = torch::randint(0, 256, {32, 4, 48, 48}, torch::kUInt8).cuda();
    b.next_obs = torch::randint(0, 256, {32, 4, 48, 48}, torch::kUInt8).cuda();
    b.actions = (torch::rand({32, 3}) * 2 - 1).cuda();
    b.rewards = torch::randn({32, 1}).cuda();
    b.not_done = torch::ones({32, 1}).cuda();
    const auto me = to_host(eager.update(b));
    const auto mf = to_host(failing.update(b));
    INFO("update " << i);
    CHECK(std::isfinite(mf.critic_loss));
    CHECK(mf.critic_loss == Approx(me.critic_loss).epsilon(1e-3));
  }
  CHECK_THAT(failing.graph_failure(), Catch::Contains("injected"));
  CHECK(failing.updates() == 8);
  // The process's CUDA state is usable: no stream is left capturing.
  auto x = torch::ones({1000}, torch::kCUDA);
  CHECK(x.sum().item<float>() == 1000.0f);
  auto te = eager.named_tensors(), tf = failing.named_tensors();
  for (std::size_t i = 0; i < te.size(); ++i) {
    INFO(te[i].first);
    CHECK(torch::allclose(te[i].second, tf[i].second, 1e-3, 1e-4));
  }
}

TEST_CASE("CUDA: the trainer's path once: buffer on the device, sample_into, graph update, act", "[cuda]") {
  if (!have_cuda()) return;
#ifdef DODGE_CUDA
  // The captured update against an eager twin on the same batches and the same random draws (both
  // act on the same observations): finite values alone would miss a graph that replays wrong.
  at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(false);
  ReplaySpec s;
  s.capacity = 2000;
  s.n_envs = 4;
  s.frame_stack = 3;
  s.obs_shape = {1, 48, 48};
  s.action_dim = 3;
  ReplayBuffer rb(s, torch::kCUDA);
  SacOptions o;
  o.obs_shape = {3, 48, 48};
  o.action_dim = 3;
  o.seed = 14;
  o.target_entropy = std::nan("");
  o.cuda_graph = true;
  SacOptions oe = o;
  oe.cuda_graph = false;
  Sac sac(o, torch::kCUDA), eager(oe, torch::kCUDA);
  std::vector<float> r(4, 1.0f);
  std::vector<std::uint8_t> z(4, 0);
  auto gen = at::cuda::detail::createCUDAGenerator(0);
  Batch batch;
  std::memset(rb.next_frames(), 0, 4 * 48 * 48);
  rb.commit_reset();
  for (int i = 1; i < 300; ++i) {
    auto a = sac.act(rb.current_stacks(), false).to(torch::kCPU).contiguous();
    const auto twin = eager.act(rb.current_stacks(), false).to(torch::kCPU);
    REQUIRE(a.sizes() == torch::IntArrayRef({4, 3}));
    CHECK(a.abs().max().item<float>() <= 1.0f);
    if (i < 50) CHECK(torch::allclose(a, twin, 1e-4, 1e-5));
    std::memset(rb.next_frames(), i % 250, 4 * 48 * 48);
    rb.commit_step(a.data_ptr<float>(), r.data(), z.data(), z.data(), z.data());
    if (i >= 50) {
      rb.sample_into(batch, 64, gen, NStep{3, 0.99});
      Batch copy{batch.obs.clone(), batch.actions.clone(), batch.rewards.clone(), batch.next_obs.clone(),
                 batch.not_done.clone(), batch.discount.defined() ? batch.discount.clone() : torch::Tensor(),
                 torch::Tensor()};
      const auto mg = to_host(sac.update(batch));
      const auto me = to_host(eager.update(copy));
      INFO("update " << i - 49);
      CHECK(std::isfinite(mg.critic_loss));
      // Early updates agree closely; later ones may drift apart by rounding amplified over updates.
      if (i < 70) CHECK(mg.critic_loss == Approx(me.critic_loss).epsilon(1e-3));
    }
  }
  CHECK(sac.graph_failure().empty());
  CHECK(sac.updates() == 250);
  auto tg = sac.named_tensors(), te = eager.named_tensors();
  REQUIRE(tg.size() == te.size());
  for (std::size_t i = 0; i < tg.size(); ++i) {
    INFO(tg[i].first);
    CHECK(torch::isfinite(tg[i].second).all().item<bool>());
    CHECK(torch::allclose(tg[i].second, te[i].second, 1e-2, 1e-3));
  }
#endif
}

// dodge bench replay | update | train.
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <torch/version.h>
// The per-operator profile uses the autograd profiler's legacy API, as LibTorch 1.13 has it (the
// CPU builds); other versions print a note instead.
#if TORCH_VERSION_MAJOR < 2 && __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#define DODGE_OP_PROFILE 1
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

#include "dodge/commands/bench.hpp"
#include "dodge/learn/cpu_info.hpp"
#include "dodge/learn/flops.hpp"
#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/distributed.hpp"
#include "dodge/run/setup.hpp"
#include "dodge/run/training.hpp"


namespace dodge::commands {

namespace {

struct LearnBenchOptions {
  std::string res = "84";
  bool grey = true;
  bool rgb = false;
  int stack = 4;
  std::string batch = "256";
  std::string encoder = "shared,separate";
  std::string cnn = "nature";
  bool layer_norm = false;
  int features = 512;
  std::string device = "auto";
  std::int64_t capacity = 0;  // 0: replay's 100000; update's max(4096, 4 batch)
  int steps = 50;
  int repeats = 3;
  int warmup = 5;
  std::string augment = "random_shift";
  std::string precision = "tf32";
  bool target_encoder = true;
  bool cuda_graph = true;
  int n_step = 1;
  int actor_every = 1;
  int profile = 0;
  bool act_between = false;
  std::string config;  // bench update --config: the network, batch and sampling of a training config
  std::vector<std::string> overrides, variants;
  std::string json;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) v.push_back(x);
  return v;
}

void bench_replay(const LearnBenchOptions& o) {
  const torch::Device device = run::resolve_device(o.device);
  output::BenchReport report;
  report.name = "replay";
  run::require_creatable_file("--json", o.json.empty() ? "results/bench/replay.json" : o.json);
  report.command = output::command_line();
  struct Case {
    int res, channels;
  };
  std::vector<Case> cases;
  if (o.res == "default")
    cases = {{84, 3}, {84, 1}, {256, 1}};
  else
    for (int r : parse_int_list(o.res, "--res")) cases.push_back({r, o.rgb ? 3 : 1});
  const auto batches = parse_int_list(o.batch, "--batch");
  std::printf("bench replay on %s: capacity %lld, stack %d, fill then sample\n", device.str().c_str(),
              static_cast<long long>(o.capacity), o.stack);
  for (const auto& c : cases) {
    learn::ReplaySpec spec;
    spec.capacity = o.capacity;
    spec.n_envs = 16;
    spec.frame_stack = o.stack;
    spec.obs_shape = std::vector<std::int64_t>{c.channels, c.res, c.res};
    spec.action_dim = 3;
    learn::ReplayBuffer rb(spec, device);
    const std::int64_t n = spec.n_envs;
    std::vector<float> actions(static_cast<std::size_t>(n * 3), 0.1f), rewards(static_cast<std::size_t>(n), 1.0f);
    std::vector<std::uint8_t> zeros(static_cast<std::size_t>(n), 0), starts(static_cast<std::size_t>(n), 0);
    std::memset(rb.next_frames(), 7, static_cast<std::size_t>(n * spec.obs_bytes()));
    rb.commit_reset();
    // Fill the whole buffer once (every 100th step starts a new episode).
    const double t0 = output::now_seconds();
    std::int64_t rows = 0;
    for (; rows < rb.rows() + 2; ++rows) {
      // Whole frames are written, as the renderer does, so every page is real.
      std::memset(rb.next_frames(), static_cast<int>(rows % 251), static_cast<std::size_t>(n * spec.obs_bytes()));
      for (auto& s : starts) s = (rows % 100 == 99) ? 1 : 0;
      rb.commit_step(actions.data(), rewards.data(), zeros.data(), zeros.data(), starts.data());
    }
    run::synchronize(device);
    const double fill_rate = static_cast<double>(rows * n) / (output::now_seconds() - t0);
    auto gen = run::make_generator(device, 1);
    for (int b : batches) {
      learn::Batch batch;  // reused, as the training loop does
      for (int i = 0; i < o.warmup; ++i) rb.sample_into(batch, b, gen);
      run::synchronize(device);
      std::vector<double> rates;
      for (int r = 0; r < o.repeats; ++r) {
        const double s0 = output::now_seconds();
        for (int i = 0; i < o.steps; ++i) rb.sample_into(batch, b, gen);
        run::synchronize(device);
        rates.push_back(o.steps / (output::now_seconds() - s0));
      }
      report.add_row({{"res", c.res},
                      {"channels", c.channels},
                      {"stack", o.stack},
                      {"bytes/transition", static_cast<double>(learn::ReplayBuffer::bytes_per_transition(spec))},
                      {"frame_bytes", static_cast<double>(spec.obs_bytes())},
                      {"MB_total", static_cast<double>(learn::ReplayBuffer::bytes_needed(spec)) / 1e6},
                      {"insert transitions/s", fill_rate},
                      {"batch", b},
                      {"batches/s", median(rates)}});
    }
  }
  finish_report(report, o.json.empty() ? "results/bench/replay.json" : o.json);
}

// One row of bench update: an agent, the buffer it samples, and how it samples.
struct UpdateCase {
  std::vector<std::pair<std::string, output::Cell>> label;  // the row's first columns
  learn::SacOptions sac;
  learn::ReplaySpec replay;
  int batch = 256;
  learn::NStep n_step{1, 0.99};
  std::int64_t episode_steps = 1000;  // rows between episode starts in the filled buffer
};

// Fills the buffer to capacity as the trainer does (whole frames written, episodes of the case's
// length), so that sampling touches as much memory as in training.
void fill(learn::ReplayBuffer& rb, const UpdateCase& c) {
  const std::int64_t n = c.replay.n_envs;
  const std::size_t bytes = static_cast<std::size_t>(n * c.replay.obs_bytes());
  std::vector<float> actions(static_cast<std::size_t>(n * c.replay.action_dim), 0.2f), rewards(n, 1.0f);
  std::vector<std::uint8_t> zeros(static_cast<std::size_t>(n), 0), starts(static_cast<std::size_t>(n), 0);
  // Frames are whole bytes; a state vector's floats get small values that vary by row.
  const auto write = [&](int v) {
    if (c.replay.image()) {
      std::memset(rb.next_frames(), v, bytes);
    } else {
      float* x = rb.next_vectors();
      std::fill(x, x + bytes / sizeof(float), static_cast<float>(v) / 20.0f);
    }
  };
  write(40);
  rb.commit_reset();
  for (std::int64_t r = 0; r < rb.rows() - 1; ++r) {
    write(static_cast<int>(r % 200));
    for (auto& s : starts) s = (r % c.episode_steps == c.episode_steps - 1) ? 1 : 0;
    rb.commit_step(actions.data(), rewards.data(), zeros.data(), zeros.data(), starts.data());
  }
}

// The machine's peak for an update: the encoder at the precision's rate (bf16 on the CPU only
// for the encoders), the heads at fp32's; the time a perfect machine would need for each part.
// Cores: LibTorch's threads, at most one per physical core (SMT siblings share its FMA units).
struct Peak {
  double gflops = 0;  // for this update's mix
  std::string how;
};
Peak cpu_peak(const learn::UpdateFlops& f, learn::Precision precision, output::BenchReport& report) {
  const learn::CpuInfo& cpu = learn::this_cpu();
  const int threads = at::get_num_threads();
  const int cores = learn::peak_cores(threads, cpu);
  const learn::PeakClock clock = learn::this_peak_clock();
  const bool bf16 = precision == learn::Precision::Bf16;
  const auto fp32 = learn::peak_per_cycle(cpu, false);
  const auto enc = learn::peak_per_cycle(cpu, bf16);
  report.set_detail("cpu", cpu.model_name);
  report.set_detail("torch threads", threads);
  report.set_detail("physical cores", cpu.physical_cores);
  report.set_detail("logical cpus", cpu.logical_cpus);
  report.set_detail("peak cores", cores);
  report.set_detail("peak GHz", clock.ghz);
  report.set_detail("peak clock source", clock.source);
  report.set_detail("fp32 FLOP/cycle/core", fp32.flop);
  report.set_detail("fp32 FLOP/cycle source", fp32.why);
  if (bf16) {
    report.set_detail("bf16 FLOP/cycle/core", enc.flop);
    report.set_detail("bf16 FLOP/cycle source", enc.why);
  }
  Peak p;
  if (clock.ghz <= 0) return p;
  const double enc_peak = cores * clock.ghz * enc.flop, head_peak = cores * clock.ghz * fp32.flop;
  p.gflops = f.total() / (f.encoder() / enc_peak + f.heads() / head_peak);
  p.how = fmt::format("{} cores x {:.2f} GHz x {} FLOP/cycle = {:.0f} GFLOP/s for the encoders; heads in fp32 at {} "
                      "FLOP/cycle = {:.0f} GFLOP/s; this update's mix: {:.0f} GFLOP/s",
                      cores, clock.ghz, enc.flop, enc_peak, fp32.flop, head_peak, p.gflops);
  return p;
}

// The parts of the peak that hold for every row, in words.
std::string cpu_peak_parts(const output::BenchReport& report) {
  const learn::CpuInfo& cpu = learn::this_cpu();
  const int threads = at::get_num_threads();
  std::string s = fmt::format("  cores: {} of LibTorch's {} threads counted ({} physical cores, {} logical CPUs{})\n",
                              learn::peak_cores(threads, cpu), threads, cpu.physical_cores, cpu.logical_cpus,
                              cpu.logical_cpus > cpu.physical_cores ? ": SMT siblings share a core's FMA units" : "");
  const learn::PeakClock clock = learn::this_peak_clock();
  s += fmt::format("  clock: {:.2f} GHz, from {}\n", clock.ghz, clock.source);
  for (const auto& kv : report.details)
    if (kv.first == "fp32 FLOP/cycle source" || kv.first == "bf16 FLOP/cycle source")
      s += "  " + kv.first.substr(0, 4) + " FLOP/cycle/core: " + kv.second.text + "\n";
  return s;
}

#ifdef DODGE_OP_PROFILE
// Self time per operator over `updates` calls of step(): the autograd profiler's events, nested
// ranges matched per thread, each range's time less its children's.
void print_op_profile(const std::function<void()>& step, int updates) {
  namespace prof = torch::autograd::profiler;
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  const double t0 = output::now_seconds();
  for (int i = 0; i < updates; ++i) step();
  const double wall_us = (output::now_seconds() - t0) * 1e6;
  const auto lists = prof::disableProfilerLegacy();
  struct Agg {
    double self_us = 0;
    long calls = 0;
  };
  std::map<std::string, Agg> by_name;
  for (const auto& events : lists) {
    struct Open {
      const prof::LegacyEvent* push;
      double children_us;
    };
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.push_back({&e, 0.0});
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        const Open o = stack.back();
        stack.pop_back();
        const double us = o.push->cpuElapsedUs(e);
        auto& a = by_name[o.push->name()];
        a.self_us += us - o.children_us;
        a.calls += 1;
        if (!stack.empty()) stack.back().children_us += us;
      }
    }
  }
  std::vector<std::pair<std::string, Agg>> rows(by_name.begin(), by_name.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  double total = 0;
  for (const auto& r : rows) total += r.second.self_us;
  std::printf("\nper-operator self time over %d updates (autograd profiler; %.1f ms per update with the profiler on, "
              "%.1f ms of it inside operators):\n",
              updates, wall_us / 1e3 / updates, total / 1e3 / updates);
  std::printf("  %-44s %8s %12s %7s\n", "operator", "calls/upd", "ms/update", "share");
  for (std::size_t i = 0; i < rows.size() && i < 20; ++i)
    std::printf("  %-44s %8.1f %12.3f %6.1f%%\n", rows[i].first.c_str(),
                static_cast<double>(rows[i].second.calls) / updates, rows[i].second.self_us / 1e3 / updates,
                100.0 * rows[i].second.self_us / wall_us);
}
#endif

void bench_update(const LearnBenchOptions& o) {
  const torch::Device device = run::resolve_device(o.device);
  output::BenchReport report;
  report.name = "update";
  run::require_creatable_file("--json", o.json.empty() ? "results/bench/update.json" : o.json);
  report.command = output::command_line();
  std::vector<UpdateCase> cases;
  if (!o.config.empty()) {
    // What a training with this config runs: its network, batch, n-step sampling from a buffer of
    // its size, filled; a row for the config and one per --variant.
    std::vector<std::string> variants{""};
    variants.insert(variants.end(), o.variants.begin(), o.variants.end());
    for (const auto& v : variants) {
      run::Config cfg = run::load_config(o.config);
      run::apply_overrides(cfg, o.overrides);
      run::apply_overrides(cfg, split_overrides(v));
      run::validate(cfg);
      UpdateCase c;
      c.sac = run::sac_options(cfg);
      c.sac.cuda_graph = o.cuda_graph && cfg.sac.cuda_graph;
      c.replay = run::replay_spec(cfg);
      c.batch = cfg.sac.batch_size;
      c.n_step = learn::NStep{cfg.sac.n_step, cfg.sac.gamma};
      c.episode_steps = cfg.env.game.max_episode_steps;
      c.label = {{"config", v.empty() ? std::string("(as configured)") : v}};
      cases.push_back(c);
    }
  } else {
    const int c = o.rgb ? 3 : 1;
    std::vector<std::pair<std::string, learn::Precision>> precisions;
    for (const auto& p : split(o.precision)) {
      try {
        precisions.emplace_back(p, learn::precision_named(p));
      } catch (const std::invalid_argument& e) {
        throw run::UserError(std::string("--") + e.what());
      }
    }
    for (const auto& enc : split(o.encoder))
      if (enc != "shared" && enc != "separate") throw run::UserError("--encoder " + enc + ": allowed: shared | separate");
    std::vector<learn::EncoderKind> cnns;
    for (const auto& k : split(o.cnn)) {
      try {
        cnns.push_back(learn::encoder_kind_named(k));
      } catch (const std::invalid_argument& e) {
        throw run::UserError(std::string("--cnn: ") + e.what());
      }
    }
    for (int res : parse_int_list(o.res, "--res"))
      for (learn::EncoderKind cnn : cnns)
        for (const auto& enc : split(o.encoder))
          for (const auto& precision : precisions)
            for (int b : parse_int_list(o.batch, "--batch")) {
              UpdateCase u;
              u.sac.obs_shape = std::vector<std::int64_t>{c * o.stack, res, res};
              u.sac.encoder = cnn;
              u.sac.layer_norm = o.layer_norm;
              u.sac.features_dim = o.features;
              u.sac.action_dim = 3;
              u.sac.shared_encoder = enc == "shared";
              u.sac.target_encoder = o.target_encoder;
              u.sac.augment = o.augment == "random_shift";
              u.sac.precision = precision.second;
              u.sac.cuda_graph = o.cuda_graph;
              u.sac.actor_update_interval = o.actor_every;
              u.sac.target_entropy = std::nan("");
              u.replay.capacity = o.capacity > 0 ? o.capacity : std::max<std::int64_t>(4096, 4 * b);
              u.replay.n_envs = 8;
              u.replay.frame_stack = o.stack;
              u.replay.obs_shape = std::vector<std::int64_t>{c, res, res};
              u.replay.action_dim = 3;
              u.batch = b;
              u.n_step = learn::NStep{o.n_step, u.sac.gamma};
              u.label = {{"res", res},
                         {"cnn", learn::to_string(cnn)},
                         {"shared", enc == "shared" ? 1 : 0},
                         {"precision", precision.first},
                         {"batch", b}};
              cases.push_back(u);
            }
  }
  // Under torchrun (WORLD_SIZE set) every update all-reduces its gradients, as a multi-rank
  // training does: the rows then say what that costs. Rank 0 reports.
  std::unique_ptr<run::ProcessGroup> pg;
  if (const auto denv = run::dist_env_from_environment())
    pg = run::ProcessGroup::connect(*denv, device, std::chrono::seconds(600));
  const bool lead = !pg || pg->rank() == 0;
  if (lead)
    std::printf("bench update on %s: SAC (twin Q, targets, entropy), batches sampled from a full replay buffer as the "
                "trainer samples them; %d threads\n",
                device.str().c_str(), at::get_num_threads());
  std::string peak_lines;
  for (const UpdateCase& c : cases) {
    learn::Sac sac(c.sac, device);
    if (pg) {
      sac.set_collective(pg.get());
      pg->broadcast(sac.replicated_state());
    }
    learn::ReplayBuffer rb(c.replay, device);
    fill(rb, c);
    auto gen = run::make_generator(device, 2);
    learn::Batch batch;  // reused, as the training loop does
    auto step = [&] {
      rb.sample_into(batch, c.batch, gen, c.n_step);
      return sac.update(batch);
    };
    for (int i = 0; i < o.warmup; ++i) step();
    run::synchronize(device);
    // The split between sampling and the update is timed on the CPU only (CUDA runs both async).
    std::vector<double> rates, sample_s, update_s;
    learn::SacMetrics m;
    const double c0 = pg ? pg->seconds() : 0.0, bytes0 = pg ? pg->bytes_reduced() : 0.0;
    for (int r = 0; r < o.repeats; ++r) {
      double ts = 0, tu = 0;
      const double t0 = output::now_seconds();
      for (int i = 0; i < o.steps; ++i) {
        const double a = output::now_seconds();
        rb.sample_into(batch, c.batch, gen, c.n_step);
        const double b = output::now_seconds();
        m = sac.update(batch);
        ts += b - a;
        tu += output::now_seconds() - b;
        if (o.act_between) sac.act(rb.current_stacks(), false);  // as the trainer acts between updates
      }
      run::synchronize(device);
      rates.push_back(o.steps / (output::now_seconds() - t0));
      sample_s.push_back(ts / o.steps);
      update_s.push_back(tu / o.steps);
    }
    const auto h = learn::to_host(m);
    if (!std::isfinite(h.critic_loss)) spdlog::warn("non-finite critic loss in the benchmark");
    const learn::UpdateFlops flops = learn::count_update_flops(c.sac, c.batch);
    auto row = c.label;
    const double ups = median(rates);
    row.insert(row.end(), {{"updates/s", ups},
                           {"min", *std::min_element(rates.begin(), rates.end())},
                           {"max", *std::max_element(rates.begin(), rates.end())},
                           {"samples/s", ups * c.batch},
                           {"GFLOP/update", flops.total() / 1e9}});
    if (device.is_cpu()) {
      const double upd = median(update_s);
      const Peak peak = cpu_peak(flops, sac.options().precision, report);
      const double rate = flops.total() / upd / 1e9;
      row.insert(row.end(), {{"sample ms", 1e3 * median(sample_s)},
                             {"update ms", 1e3 * upd},
                             {"GFLOP/s", rate},
                             {"peak GFLOP/s", peak.gflops},
                             {"% peak", peak.gflops > 0 ? 100.0 * rate / peak.gflops : 0.0}});
      if (lead && peak_lines.find(peak.how) == std::string::npos)
        peak_lines += "  " + std::string(learn::precision_name(sac.options().precision)) + ": " + peak.how + "\n";
    }
    if (pg) {
      const double timed_updates = static_cast<double>(o.steps) * o.repeats;
      double timed_seconds = 0;
      for (double r : rates) timed_seconds += o.steps / r;
      const double in_collectives = pg->seconds() - c0;
      row.insert(row.end(), {{"ranks", pg->world_size()},
                             {"allreduce MB/update", (pg->bytes_reduced() - bytes0) / timed_updates / 1e6},
                             {"allreduce ms/update", 1e3 * in_collectives / timed_updates},
                             {"allreduce %", 100.0 * in_collectives / timed_seconds}});
    }
    report.add_row(row);
    if (lead)
      std::printf("row %zu, arithmetic of one update (GFLOP/update: convolutions and linear layers, a multiply-add = 2 FLOP; "
                  "%.3f encoder forward, %.3f encoder backward, %.3f heads forward, %.3f heads backward)\n  passes: %s\n",
                  report.rows.size(), flops.encoder_forward / 1e9, flops.encoder_backward / 1e9, flops.heads_forward / 1e9,
                  flops.heads_backward / 1e9, flops.passes.c_str());
    if (o.profile > 0 && lead) {
#ifdef DODGE_OP_PROFILE
      print_op_profile([&] { step(); }, o.profile);
#else
      spdlog::warn("--profile: needs LibTorch 1.13's legacy autograd profiler (the CPU build)");
#endif
    }
  }
  if (lead && !peak_lines.empty())
    std::printf("peak (GFLOP/s = cores x clock x FLOP per cycle per core; GFLOP/s and %% peak are of the update "
                "alone, sampling excluded):\n%s%s",
                cpu_peak_parts(report).c_str(), peak_lines.c_str());
  if (lead) finish_report(report, o.json.empty() ? "results/bench/update.json" : o.json);
}

struct TrainBenchOptions {
  std::string config = "configs/sac_topdown_cnn.yaml";
  std::string envs = "";
  std::int64_t steps = 2000;
  std::int64_t warmup_steps = 1000;
  std::string device = "auto";
  std::vector<std::string> overrides;
  std::string json;
};

void bench_train(const TrainBenchOptions& o) {
  output::BenchReport report;
  report.name = "train";
  run::require_creatable_file("--json", o.json.empty() ? "results/bench/train.json" : o.json);
  report.command = output::command_line();
  run::Config base = run::load_config(o.config);
  run::apply_overrides(base, o.overrides);
  std::vector<int> env_counts = o.envs.empty() ? std::vector<int>{base.env.n_envs} : parse_int_list(o.envs, "--envs");
  const auto tmp = std::filesystem::temp_directory_path() / ("dodge_bench_train_" + std::to_string(::getpid()));
  const bool cuda = run::resolve_device(o.device.empty() ? base.train.device : o.device).is_cuda();
  std::printf("bench train: %s, %lld timed env steps after %lld warm-up steps (updates from step %lld on), one "
              "update per env step%s\n",
              o.config.c_str(), static_cast<long long>(o.steps), static_cast<long long>(o.warmup_steps),
              static_cast<long long>(o.warmup_steps / 2),
              cuda ? "; the phase shares come from a second run that waits for the GPU at each phase" : "");
  for (int n : env_counts) {
    run::TrainArgs a;
    a.config_path = o.config;
    a.results = tmp.string();
    a.device = o.device;
    a.steps = o.warmup_steps + o.steps;
    a.overrides = o.overrides;
    // Updates (and CUDA graph capture) start halfway through the warm-up; the timed steps follow it.
    a.timing_starts_at = o.warmup_steps;
    for (const std::string& s : std::vector<std::string>{
             "env.n_envs=" + std::to_string(n), "train.gradient_steps=" + std::to_string(n), "train.train_freq=1",
             "train.eval_freq=0", "train.checkpoint_freq=0", "train.save_replay_buffer=false",
             "train.learning_starts=" + std::to_string(o.warmup_steps / 2),
             "train.log_interval=" + std::to_string(o.warmup_steps + o.steps),
             "sac.buffer_size=" + std::to_string(std::max<std::int64_t>(50000, 2 * (o.steps + o.warmup_steps)))})
      a.overrides.push_back(s);
    const run::TrainTimings t = run::train(a);
    std::filesystem::remove_all(tmp);
    run::TrainTimings shares = t;
    if (cuda) {
      a.sync_phases = true;
      shares = run::train(a);
      std::filesystem::remove_all(tmp);
    }
    const double rate = t.seconds() > 0 ? static_cast<double>(t.env_steps) / t.seconds() : 0.0;
    auto pct = [&](double s) { return shares.seconds() > 0 ? 100.0 * s / shares.seconds() : 0.0; };
    report.add_row({{"envs", n},
                    {"batch", base.sac.batch_size},
                    {"env steps/s", rate},
                    {"updates/s", rate},
                    {"env+render %", pct(shares.env)},
                    {"upload %", pct(shares.upload)},
                    {"act %", pct(shares.act)},
                    {"update %", pct(shares.update)},
                    {"other %", pct(shares.other)}});
  }
  finish_report(report, o.json.empty() ? "results/bench/train.json" : o.json);
}

}  // namespace

void register_learn_benches(CLI::App& bench) {
  auto o = std::make_shared<LearnBenchOptions>();
  auto* replay = bench.add_subcommand("replay", "Replay buffer: bytes per transition, inserts/s, sampled batches/s");
  replay->add_option("--res", o->res, "square frame sizes (comma list), or 'default' for 84 RGB, 84 grey, 256 grey");
  replay->add_flag("--rgb", o->rgb, "RGB frames (default grey)");
  replay->add_option("--stack", o->stack, "frame stack")->capture_default_str();
  replay->add_option("--batch", o->batch, "batch sizes (comma list)")->capture_default_str();
  o->capacity = 100000;
  replay->add_option("--capacity", o->capacity, "transitions")->capture_default_str();
  replay->add_option("--device", o->device, "auto | cpu | cuda")->capture_default_str();
  replay->add_option("--steps", o->steps, "samples per repeat")->check(CLI::PositiveNumber)->capture_default_str();
  replay->add_option("--repeats", o->repeats, "timed repeats")->capture_default_str();
  replay->add_option("--json", o->json, "JSON output (default results/bench/replay.json)");
  o->res = "default";
  o->steps = 200;
  replay->callback([o] { bench_replay(*o); });

  auto u = std::make_shared<LearnBenchOptions>();
  auto* update = bench.add_subcommand(
      "update",
      "SAC updates/s from a full replay buffer: image batches of the shape options below, or with --config "
      "exactly what that config trains (state-vector configs too)");
  update->add_option("--res", u->res, "square frame sizes (comma list)")->capture_default_str();
  update->add_option("--cnn", u->cnn, "nature | drq (comma list): the image encoder")->capture_default_str();
  update->add_option("--features", u->features, "encoder output size")->check(CLI::Range(1, 8192))->capture_default_str();
  update->add_flag("--layer-norm", u->layer_norm, "LayerNorm + tanh on the features");
  update->add_flag("--grey,--gray", u->grey, "grey frames (the default)");
  update->add_flag("--rgb", u->rgb, "RGB frames");
  update->add_option("--stack", u->stack, "frame stack")->capture_default_str();
  update->add_option("--batch", u->batch, "batch sizes (comma list)")->capture_default_str();
  update->add_option("--encoder", u->encoder, "shared | separate (comma list)")->capture_default_str();
  update->add_option("--augment", u->augment, "random_shift | none")->capture_default_str();
  update->add_option("--precision", u->precision, "fp32 | tf32 | bf16 (comma list; tf32 is fp32 on the CPU)")->capture_default_str();
  update->add_option("--target-encoder", u->target_encoder, "shared mode: a Polyak target copy of the encoder")
      ->capture_default_str();
  update->add_option("--cuda-graph", u->cuda_graph, "capture the update as a CUDA graph")->capture_default_str();
  update->add_option("--device", u->device, "auto | cpu | cuda")->capture_default_str();
  update->add_option("--steps", u->steps, "updates per repeat")->check(CLI::PositiveNumber)->capture_default_str();
  update->add_option("--repeats", u->repeats, "timed repeats")->capture_default_str();
  update->add_option("--warmup", u->warmup, "warm-up updates")->capture_default_str();
  update->add_option(
      "--obs", [](const std::vector<std::string>& v) { return v.size() == 1 && v[0] == "topdown"; },
      "topdown: the shape options draw images (the only choice; "
      "state-vector learners: --config)");
  update->add_option("--n-step", u->n_step, "n-step returns at sampling")->check(CLI::Range(1, 100))->capture_default_str();
  update->add_option("--actor-every", u->actor_every, "actor update every k updates")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  update->add_option("--capacity", u->capacity, "replay buffer transitions (0: max(4096, 4 x batch))")
      ->capture_default_str();
  update->add_option("--config", u->config,
                     "measure what training with this config runs (network, batch, n-step sampling from a full buffer "
                     "of its size); the shape options above are then ignored");
  update->add_option("--set", u->overrides, "config overrides (with --config)");
  update->add_option("--variant", u->variants,
                     "with --config: one more row with these comma-separated overrides (repeatable), e.g. "
                     "sac.batch_size=256,sac.target_encoder=false or sac.net_arch=[128,128]");
  update->add_flag("--act-between", u->act_between, "act on the buffer's newest stacks after each update, as training does");
  update->add_option("--profile", u->profile, "after timing, profile this many updates per row by operator")
      ->capture_default_str();
  update->add_option("--json", u->json, "JSON output (default results/bench/update.json)");
  update->callback([u] { bench_update(*u); });

  auto t = std::make_shared<TrainBenchOptions>();
  auto* tr = bench.add_subcommand("train", "End-to-end dodge train env steps/s (one update per env step)");
  tr->add_option("--config", t->config, "config")->capture_default_str();
  tr->add_option("--envs", t->envs, "n_envs values (comma list; default: the config's)");
  tr->add_option("--steps", t->steps, "timed env steps")->check(CLI::PositiveNumber)->capture_default_str();
  tr->add_option("--warmup", t->warmup_steps, "env steps before the timed part (updates start halfway)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  tr->add_option("--device", t->device, "auto | cpu | cuda")->capture_default_str();
  tr->add_option("--set", t->overrides, "config overrides")->take_all();
  tr->add_option("--json", t->json, "JSON output (default results/bench/train.json)");
  tr->callback([t] { bench_train(*t); });
}

}  // namespace dodge::commands

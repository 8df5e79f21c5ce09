// dodge bench env|replay|update|train: warm-up, repeated timing, a table and JSON.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>

#include "dodge/commands/bench.hpp"
#include "dodge/commands/commands.hpp"
#include "dodge/game/vec_env.hpp"
#include "dodge/output/bench_report.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/setup.hpp"
#include "dodge/run/config.hpp"

namespace dodge::commands {

std::vector<int> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int> v;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      const int x = std::stoi(item, &used);
      if (used != item.size() || x < 1) throw std::invalid_argument(item);
      v.push_back(x);
    } catch (const std::exception&) {
      throw run::UserError(option + " " + text + ": expected positive integers separated by commas (e.g. 1,2,4)");
    }
  }
  if (v.empty()) throw run::UserError(option + ": expected at least one value");
  return v;
}

std::vector<std::string> split_overrides(const std::string& text) {
  std::vector<std::string> v;
  std::string item;
  int depth = 0;
  char quote = 0;
  for (const char ch : text) {
    if (quote) {
      if (ch == quote) quote = 0;
    } else if (ch == '"' || ch == '\'') {
      quote = ch;
    } else if (ch == '[' || ch == '{') {
      ++depth;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    } else if (ch == ',' && depth == 0) {
      if (!item.empty()) v.push_back(item);
      item.clear();
      continue;
    }
    item += ch;
  }
  if (!item.empty()) v.push_back(item);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void finish_report(const output::BenchReport& report, const std::string& json_path) {
  std::printf("%s", report.table().c_str());
  try {
    report.write_json(json_path);
  } catch (const output::WriteError& e) {
    throw run::UserError(e.what());
  }
  std::printf("wrote %s\n", json_path.c_str());
}

namespace {

struct EnvBenchOptions {
  std::string obs = "standard";
  std::string envs = "64";
  std::string threads = "1";
  int level = 2;
  int width = 84, height = 84;
  bool grey = false;
  std::int64_t steps = 2'000'000;
  int repeats = 5;
  double warmup_seconds = 1.0;
  std::string json = "results/bench/env.json";
};

void bench_env(const EnvBenchOptions& o) {
  const auto mode = game::parse_obs_mode(o.obs);
  if (!mode) throw run::UserError("--obs " + o.obs + ": allowed: standard | with_thrower | topdown");
  if (o.width < 16 || o.width > 512 || o.height < 16 || o.height > 512)
    throw run::UserError("--res/--width/--height: image sizes must be in [16, 512]");
  const auto env_counts = parse_int_list(o.envs, "--envs");
  const auto thread_counts = parse_int_list(o.threads, "--threads");
  output::BenchReport report;
  report.name = "env";
  run::require_creatable_file("--json", o.json);
  report.command = output::command_line();
  game::GameConfig gc;
  gc.level = o.level;
  gc.observation_mode = *mode;
  render::RenderConfig rc;
  rc.width = o.width;
  rc.height = o.height;
  rc.grayscale = o.grey;
  std::printf("bench env: obs %s%s, level %d, random actions, %d repeats of %lld env steps after %.1f s warm-up\n",
              o.obs.c_str(),
              *mode == game::ObsMode::Topdown
                  ? (" " + std::to_string(o.width) + "x" + std::to_string(o.height) + (o.grey ? " grey" : " RGB")).c_str()
                  : "",
              o.level, o.repeats, static_cast<long long>(o.steps), o.warmup_seconds);
  for (int n : env_counts) {
    for (int t : thread_counts) {
      game::VecEnv env(gc, n, t, 1);
      const int dim = env.action_dim();
      // Pre-drawn random actions, so the timing measures the game and not the action RNG.
      constexpr int kBatches = 16;
      std::vector<float> actions(static_cast<std::size_t>(kBatches * n * dim));
      game::Rng rng(3);
      for (auto& a : actions) a = static_cast<float>(rng.uniform(-1.0, 1.0));
      std::unique_ptr<game::ObsSink> sink;
      std::vector<float> vec_obs;
      std::vector<std::uint8_t> frames;
      if (*mode == game::ObsMode::Topdown) {
        frames.resize(static_cast<std::size_t>(rc.frame_bytes() * n));
        sink = std::make_unique<render::FrameSink>(rc, frames.data(), rc.frame_bytes());
      } else {
        const int d = game::vector_obs_size(*mode);
        vec_obs.resize(static_cast<std::size_t>(d * n));
        sink = std::make_unique<game::VectorObsSink>(env.params(), vec_obs.data(), d);
      }
      game::StepOutputs out;
      out.resize(n);
      env.reset(sink.get());
      std::int64_t episodes = 0, batch = 0;
      auto run_for = [&](std::int64_t env_steps) {
        const std::int64_t calls = std::max<std::int64_t>(1, env_steps / n);
        for (std::int64_t i = 0; i < calls; ++i) {
          env.step(actions.data() + (batch++ % kBatches) * n * dim, out, sink.get());
          episodes += static_cast<std::int64_t>(out.finished.size());
        }
        return calls * n;
      };
      const double w0 = output::now_seconds();
      while (output::now_seconds() - w0 < o.warmup_seconds) run_for(std::min<std::int64_t>(o.steps / 10 + n, 100000));
      std::vector<double> rates;
      episodes = 0;
      std::int64_t total = 0;
      for (int r = 0; r < o.repeats; ++r) {
        const double t0 = output::now_seconds();
        const std::int64_t done = run_for(o.steps);
        const double dt = output::now_seconds() - t0;
        rates.push_back(static_cast<double>(done) / dt);
        total += done;
      }
      const double med = median(rates);
      report.add_row({{"envs", n},
                      {"threads", t},
                      {"steps/s", med},
                      {"steps/s/thread", med / t},
                      {"min", *std::min_element(rates.begin(), rates.end())},
                      {"max", *std::max_element(rates.begin(), rates.end())},
                      {"mean_ep_len", episodes ? static_cast<double>(total) / static_cast<double>(episodes) : 0.0}});
    }
  }
  finish_report(report, o.json);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Measure speed: env | replay | update | train (table + JSON)");
  bench->require_subcommand(1);

  auto eo = std::make_shared<EnvBenchOptions>();
  auto* env = bench->add_subcommand("env", "Env steps/s: simulation (+ rendering) into preallocated buffers");
  env->add_option("--obs", eo->obs, "standard | with_thrower | topdown")->capture_default_str();
  env->add_option("--envs", eo->envs, "envs per VecEnv (comma list for a sweep)")->capture_default_str();
  env->add_option("--threads", eo->threads, "threads (comma list for a sweep)")->capture_default_str();
  env->add_option("--level", eo->level, "game level")->check(CLI::Range(1, 2))->capture_default_str();
  env->add_option_function<int>("--res", [eo](const int& r) { eo->width = eo->height = r; }, "square image size");
  env->add_option("--width", eo->width, "image width")->capture_default_str();
  env->add_option("--height", eo->height, "image height")->capture_default_str();
  env->add_flag("--grey,--gray", eo->grey, "grayscale frames (default RGB)");
  env->add_option("--steps", eo->steps, "env steps per repeat")->check(CLI::PositiveNumber)->capture_default_str();
  env->add_option("--repeats", eo->repeats, "timed repeats")->check(CLI::PositiveNumber)->capture_default_str();
  env->add_option("--warmup", eo->warmup_seconds, "warm-up seconds")->capture_default_str();
  env->add_option("--json", eo->json, "JSON output")->capture_default_str();
  env->callback([eo] { bench_env(*eo); });

  register_learn_benches(*bench);
}

}  // namespace dodge::commands

// dodge eval: a checkpoint's policy on its own games, headless; episodes, summary, JSON, GIF.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "dodge/commands/commands.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/run/agent.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/evaluate.hpp"
#include "dodge/run/recording.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::commands {

namespace {

struct EvalArgs {
  std::string path;
  int episodes = 100;
  std::optional<std::int64_t> seed;
  bool stochastic = false;
  std::string json;
  std::vector<std::string> overrides;
  std::string device = "auto";
  int envs = 16;
  std::string record;
  int record_episodes = 1;
  std::string deaths;
};

nlohmann::json hit_json(const run::HitRecord& h) {
  nlohmann::json in_view = nlohmann::json::array();
  for (bool v : h.in_view) in_view.push_back(v);
  return {
      {"episode", h.episode},
      {"game", h.game},
      {"game_episode", h.game_episode},
      {"step", h.step},
      {"bearing", h.bearing},
      {"sector", run::sector_name(run::sector_of(h.bearing))},
      {"bearing_to_motion", h.bearing_to_motion ? nlohmann::json(*h.bearing_to_motion) : nlohmann::json()},
      {"sector_to_motion", h.bearing_to_motion
                               ? nlohmann::json(run::sector_name(run::sector_of(*h.bearing_to_motion)))
                               : nlohmann::json()},
      {"ball_speed", h.ball_speed},
      {"ball_height", h.ball_height},
      {"flight_seconds", h.flight_seconds},
      {"in_view", in_view},
      {"frames_seen", h.frames_seen},
      {"wall_distance", h.wall_distance},
      {"x", h.x},
      {"y", h.y},
      {"last_actions", h.last_actions}};
}

void run_eval(const EvalArgs& a) {
  if (a.episodes < 1) throw run::UserError("--episodes must be at least 1");
  // Output paths first: a typo must not cost the time of the episodes.
  if (!a.json.empty()) run::require_writable_file("--json", a.json);
  if (!a.record.empty()) run::require_writable_file("--record", a.record);
  if (!a.deaths.empty()) run::require_writable_file("--deaths", a.deaths);
  const std::string dir = run::find_checkpoint(a.path);
  const int envs = std::max(1, std::min(a.envs, a.episodes));
  auto agent = run::Agent::load(dir, a.overrides, a.device, envs);
  const run::Config& config = agent->config();
  const std::uint64_t seed = a.seed ? static_cast<std::uint64_t>(*a.seed)
                                    : static_cast<std::uint64_t>(config.train.seed) + 2'000'003;
  std::printf("evaluating %s (step %lld): %d episodes, %s actions, seed %llu\n", dir.c_str(),
              static_cast<long long>(run::checkpoint_step(dir)), a.episodes,
              a.stochastic ? "stochastic" : "deterministic", static_cast<unsigned long long>(seed));

  std::unique_ptr<run::EpisodeRecorder> recorder;
  if (!a.record.empty())
    recorder = std::make_unique<run::EpisodeRecorder>(a.record, config, a.record_episodes);

  run::EvalOptions o;
  o.episodes = a.episodes;
  o.envs = envs;
  o.threads = run::env_threads(config);
  o.seed = seed;
  o.deterministic = !a.stochastic;
  if (recorder) o.on_env0_step = [&](const game::GameState& s) { recorder->add(s, nullptr); };
  o.on_episode = [](int index, const run::EpisodeRecord& r) {
    // Numbered in finishing order; game 0's episodes are the ones --record films ("game 0 #k").
    std::printf("episode %3d (game %d #%d): return %8.1f  length %4d  %s\n", index + 1, r.game,
                r.game_episode, r.episode_return, r.length, r.survived ? "survived" : "hit");
  };
  std::vector<run::HitRecord> hits;
  o.on_hit = [&hits](const run::HitRecord& h) { hits.push_back(h); };
  const run::EvalSummary s = run::evaluate(config, *agent, o);
  const auto& records = s.episodes;
  if (recorder) recorder->close();
  std::printf("\nmean return %.1f +/- %.1f  (min %.1f, max %.1f)\n", s.mean_return, s.std_return,
              s.min_return, s.max_return);
  std::printf("mean length %.1f +/- %.1f\n", s.mean_length, s.std_length);
  std::printf("success rate %.1f%% (%d of %zu episodes reached %d steps)\n", 100 * s.success_rate,
              static_cast<int>(std::lround(s.success_rate * static_cast<double>(records.size()))),
              records.size(), config.env.game.max_episode_steps);
  std::printf("%s\n", run::hits_line(run::summarize_hits(hits)).c_str());
  if (recorder) std::printf("recorded %s\n", a.record.c_str());
  if (!a.deaths.empty()) {
    run::write_deaths_png(a.deaths, hits, static_cast<int>(records.size()),
                          fmt::format("{} (step {}), seed {}", config.name, run::checkpoint_step(dir), seed));
    std::printf("wrote %s\n", a.deaths.c_str());
  }
  if (!a.json.empty()) {
    nlohmann::json j;
    j["checkpoint"] = dir;
    j["step"] = run::checkpoint_step(dir);
    j["episodes_requested"] = a.episodes;
    j["seed"] = seed;
    j["deterministic"] = !a.stochastic;
    j["mean_return"] = s.mean_return;
    j["std_return"] = s.std_return;
    j["min_return"] = s.min_return;
    j["max_return"] = s.max_return;
    j["mean_length"] = s.mean_length;
    j["std_length"] = s.std_length;
    j["success_rate"] = s.success_rate;
    j["episodes"] = nlohmann::json::array();
    for (const auto& r : records)
      j["episodes"].push_back({{"return", r.episode_return},
                               {"length", r.length},
                               {"survived", r.survived},
                               {"game", r.game},
                               {"game_episode", r.game_episode}});
    j["hits"] = nlohmann::json::array();
    for (const auto& h : hits) j["hits"].push_back(hit_json(h));
    std::ofstream f(a.json);
    f << j.dump(2) << "\n";
    if (!f) throw run::UserError("--json " + a.json + ": cannot write the file");
  }
}

}  // namespace

void register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd =
      app.add_subcommand("eval", "Evaluate a run or checkpoint headless: episodes, summary, JSON, GIF");
  cmd->add_option("path", a->path, "run folder (its newest checkpoint) or checkpoint folder")->required();
  cmd->add_option("--episodes,-n", a->episodes, "episodes")->capture_default_str();
  cmd->add_option_function<std::int64_t>(
      "--seed", [a](const std::int64_t& s) { a->seed = s; }, "eval seed");
  cmd->add_flag("--stochastic", a->stochastic, "sample actions instead of the mean");
  cmd->add_option("--json", a->json, "write the episodes and the summary as JSON");
  cmd->add_option("--set", a->overrides, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--device", a->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--envs", a->envs, "parallel games")->capture_default_str();
  cmd->add_option("--record", a->record, "write the first episode(s) of game 0 as an animated GIF");
  cmd->add_option("--record-episodes", a->record_episodes, "episodes to record")->capture_default_str();
  cmd->add_option("--deaths", a->deaths,
                  "draw where the hits came from and where the agent stood (PNG); --json lists every hit");
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace dodge::commands

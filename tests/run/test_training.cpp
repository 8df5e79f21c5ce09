// dodge train / eval end to end: results folder, logs, checkpoints, resume equality, signals.
#include "torch_catch.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "dodge/output/bench_report.hpp"
#include "dodge/output/tensorboard.hpp"
#include "dodge/run/agent.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/setup.hpp"
#include "dodge/run/training.hpp"
#include "test_util.hpp"

using namespace dodge::run;
using namespace dodge::output;
namespace fs = std::filesystem;

namespace {

std::map<std::string, torch::Tensor> read_agent(const fs::path& file) {
  torch::serialize::InputArchive ar;
  ar.load_from(file.string());
  std::map<std::string, torch::Tensor> m;
  for (const auto& key : ar.keys()) {
    torch::Tensor t;
    if (ar.try_read(key, t)) m[key] = t;
  }
  return m;
}

// Trains the tiny config (tests/test_util.hpp) in dir with these overrides; returns the run folder
// and its training_summary.json.
std::pair<fs::path, nlohmann::json> train_tiny(const fs::path& dir, const std::vector<std::string>& overrides) {
  TrainArgs args;
  args.config_path = write_tiny_config(dir, "tiny");
  args.results = (dir / "results").string();
  args.overrides = overrides;
  train(args);
  const fs::path run = only_run(dir / "results", "tiny");
  return {run, nlohmann::json::parse(std::ifstream(run / "training_summary.json"))};
}

std::string file_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the sac keys reach the learner's options", "[train]") {
  Config c = parse_config("env: {observation_mode: topdown, frame_stack: 3}\n", "x.yaml");
  dodge::learn::SacOptions o = sac_options(c);
  CHECK(o.obs_shape == std::vector<std::int64_t>{3, 84, 84});
  CHECK(o.precision == dodge::learn::Precision::Tf32);
  CHECK(o.target_encoder);
  apply_overrides(c, {"sac.precision=fp32", "sac.target_encoder=false", "sac.encoder_tau=0.05", "sac.tau=0.01"});
  o = sac_options(c);
  CHECK(o.precision == dodge::learn::Precision::Fp32);
  CHECK_FALSE(o.target_encoder);
  CHECK(o.encoder_tau == 0.05);
  CHECK(o.tau == 0.01);
  apply_overrides(c, {"sac.precision=bf16"});
  CHECK(sac_options(c).precision == dodge::learn::Precision::Bf16);
  apply_overrides(c, {"sac.precision=auto"});
  CHECK(sac_options(c).precision == dodge::learn::Precision::Auto);
  CHECK_THROWS_WITH(apply_overrides(c, {"sac.precision=fp16"}), Catch::Contains("auto"));
}

TEST_CASE("a short training run produces the whole results folder", "[train]") {
  TempDir tmp("train_e2e");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  TrainArgs args;
  args.config_path = cfg;
  args.results = (tmp.path / "results").string();
  args.overrides = {"train.keep_checkpoints=2", "train.checkpoint_freq=200"};
  train(args);
  const fs::path run = only_run(tmp.path / "results", "tiny");
  for (const char* f : {"config.yaml", "evaluations.csv", "training_summary.json", "learning_curve.png",
                        "logs/progress.csv", "monitor.csv", "eval_episodes.csv", "launches.jsonl"})
    CHECK(fs::exists(run / f));
  {
    // monitor.csv: SB3's format, a row per training episode (100-step episodes at most, 2 games).
    std::ifstream m(run / "monitor.csv");
    std::string first, header, line;
    std::getline(m, first);
    std::getline(m, header);
    CHECK_THAT(first, Catch::StartsWith("#{\"t_start\": "));
    CHECK(header == "r,l,t");
    int episodes = 0;
    double last_t = 0;
    while (std::getline(m, line)) {
      ++episodes;
      const auto c1 = line.find(','), c2 = line.rfind(',');
      const int len = std::stoi(line.substr(c1 + 1, c2 - c1 - 1));
      CHECK(len >= 1);
      CHECK(len <= 100);
      const double t = std::stod(line.substr(c2 + 1));
      CHECK(t >= last_t);
      last_t = t;
    }
    CHECK(episodes >= 10);  // 2 games x 1000 steps / 2, episodes of at most 100 steps
    nlohmann::json summary = nlohmann::json::parse(std::ifstream(run / "training_summary.json"));
    CHECK(episodes == summary["episodes"].get<int>());
    // eval_episodes.csv: every evaluation episode, numbered, 4 per evaluation at 500 and 1000.
    std::ifstream e(run / "eval_episodes.csv");
    std::getline(e, header);
    CHECK(header == "timesteps,episode,return,length,survived");
    std::vector<std::string> rows;
    while (std::getline(e, line)) rows.push_back(line);
    REQUIRE(rows.size() == 8);
    CHECK_THAT(rows[0], Catch::StartsWith("500,1,"));
    CHECK_THAT(rows[7], Catch::StartsWith("1000,4,"));
    // launches.jsonl: this launch, with its device and start step.
    std::ifstream l(run / "launches.jsonl");
    std::getline(l, line);
    const auto launch = nlohmann::json::parse(line);
    CHECK(launch["device"] == "cpu");
    CHECK(launch["start_step"] == 0);
  }
  for (const char* d : {"final", "best"})
    for (const auto& f : checkpoint_files()) CHECK(fs::exists(run / d / f));
  CHECK(fs::exists(run / "final" / "replay.zst"));
  // Checkpoints every 200 steps, the last two kept (1000 is final/).
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(run / "checkpoints")) kept.push_back(e.path().filename().string());
  std::sort(kept.begin(), kept.end());
  CHECK(kept == std::vector<std::string>{"step_600", "step_800"});
  CHECK(checkpoint_step((run / "final").string()) == 1000);
  CHECK(find_checkpoint(run.string()) == (run / "final").string());
  // progress.csv: header with SB3 names, then rows.
  std::ifstream p(run / "logs" / "progress.csv");
  std::string header;
  std::getline(p, header);
  CHECK_THAT(header, Catch::Contains("rollout/ep_rew_mean") && Catch::Contains("train/critic_loss") &&
                         Catch::Contains("train/ent_coef") && Catch::Contains("time/fps"));
  CHECK_THAT(header, Catch::Contains("eval/success_rate"));
  // One row per step: a checkpoint at a step that already has a row adds no second one (it once
  // added a row with fps 0, printed as "random actions, no updates yet" in the middle of a run).
  const auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    return cells;
  };
  const auto names = split(header);
  const auto step_col = std::find(names.begin(), names.end(), "time/total_timesteps") - names.begin();
  REQUIRE(step_col < static_cast<std::ptrdiff_t>(names.size()));
  double last_step = -1;
  int rows = 0, eval_rows = 0;
  for (std::string line; std::getline(p, line);) {
    ++rows;
    const double step = std::stod(split(line).at(step_col));
    CHECK(step > last_step);
    last_step = step;
    // An evaluation's row also carries the training scalars of its step (SB3 dumps them together).
    const auto cells = std::count(line.begin(), line.end(), ',');
    CHECK(cells == std::count(header.begin(), header.end(), ','));
    if (line.back() != ',') {  // the eval columns are the last ones
      ++eval_rows;
      CHECK(line.find(",,") == std::string::npos);
    }
  }
  CHECK(rows >= 9);
  CHECK(eval_rows == 2);
  // TensorBoard events read back with their CRCs checked.
  std::vector<fs::path> events;
  for (const auto& e : fs::directory_iterator(run / "logs" / "tensorboard")) events.push_back(e.path());
  REQUIRE(events.size() == 1);
  std::string version;
  const auto scalars = read_tensorboard_scalars(events[0].string(), &version);
  CHECK(version == "brain.Event:2");
  std::set<std::string> tags;
  for (const auto& s : scalars) tags.insert(s.tag);
  for (const char* t : {"rollout/ep_rew_mean", "rollout/ep_len_mean", "train/actor_loss", "train/critic_loss",
                        "train/ent_coef", "train/ent_coef_loss", "train/n_updates", "time/fps", "eval/mean_reward",
                        "eval/mean_ep_length"})
    CHECK(tags.count(t) == 1);
  // Evaluations and the summary.
  std::ifstream ev(run / "evaluations.csv");
  int evals = -1;
  for (std::string line; std::getline(ev, line);) ++evals;
  CHECK(evals == 2);  // at 500 and 1000
  nlohmann::json s = nlohmann::json::parse(std::ifstream(run / "training_summary.json"));
  CHECK(s["stopped"] == "completed");
  CHECK(s["total_timesteps"] == 1000);
  CHECK(s["duration_seconds"].get<double>() > 0);
  CHECK(s.contains("best_eval_mean_reward"));
  CHECK(s.contains("final_ep_rew_mean"));
  CHECK(s["final_eval"]["episodes"] == 4);
}

TEST_CASE("sac.lr_schedule=linear: the updates' rate falls to lr_end x the rate by the last step, as logged",
          "[train][lr]") {
  TempDir tmp("train_lr");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  TrainArgs args;
  args.config_path = cfg;
  args.results = (tmp.path / "results").string();
  args.overrides = {"sac.lr_schedule=linear", "sac.lr_end=0.25", "sac.learning_rate=0.001", "train.checkpoint_freq=0",
                    "train.eval_freq=0"};
  train(args);
  const fs::path run = only_run(tmp.path / "results", "tiny");
  std::ifstream p(run / "logs" / "progress.csv");
  std::string line;
  std::getline(p, line);
  std::vector<std::string> names;
  {
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) names.push_back(cell);
  }
  const auto col = std::find(names.begin(), names.end(), "train/learning_rate") - names.begin();
  const auto step_col = std::find(names.begin(), names.end(), "time/total_timesteps") - names.begin();
  REQUIRE(col < static_cast<std::ptrdiff_t>(names.size()));
  Config c = load_config(cfg);
  apply_overrides(c, args.overrides);
  int rows = 0;
  double last = 1.0, first = 0.0;
  while (std::getline(p, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    const auto step = std::stoll(cells.at(step_col));
    const double lr = std::stod(cells.at(col));
    INFO("step " << step << ": " << lr);
    // The rate the step's updates used: set after the iteration before it (2 games a step).
    CHECK(lr >= 0.001 * lr_scale(c, step, 1000, 0) - 1e-9);
    CHECK(lr <= 0.001 * lr_scale(c, step - 2, 1000, 0) + 1e-9);
    CHECK(lr <= last + 1e-12);
    if (rows++ == 0) first = lr;
    last = lr;
  }
  CHECK(rows >= 9);
  CHECK(first > 0.0009);
  CHECK(last == Approx(0.001 * (0.25 + 0.75 * 0.01)).epsilon(1e-3));  // the last step's rate: 99 % of the way
}

TEST_CASE("a session reports where its time went, from timing_starts_at on", "[train][timings]") {
  TempDir tmp("train_timings");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  TrainArgs args;
  args.config_path = cfg;
  args.results = (tmp.path / "results").string();
  args.steps = 600;
  args.timing_starts_at = 300;  // the last 150 iterations of 2 envs; updates start at step 200
  args.sync_phases = true;
  args.overrides = {"train.eval_freq=250", "train.checkpoint_freq=0"};
  const double t0 = dodge::output::now_seconds();
  const TrainTimings t = train(args);
  const double wall = dodge::output::now_seconds() - t0;
  CHECK(t.env_steps == 300);
  // Every phase ran in the timed part, and the timed part is a part of the whole call.
  for (double s : {t.env, t.upload, t.act, t.update, t.other}) CHECK(s > 0);
  CHECK(t.seconds() < wall);
  // 150 SAC updates cost more than stepping 2 small games 150 times; the eval at step 500 is "other".
  CHECK(t.update > t.env);
  CHECK(t.other > t.env);
  // The same split in training_summary.json.
  const fs::path run = only_run(tmp.path / "results", "tiny");
  std::ifstream in(run / "training_summary.json");
  const auto j = nlohmann::json::parse(in);
  const auto& phases = j.at("loop_seconds_by_phase");
  CHECK(phases.at("env_and_render").get<double>() == Approx(t.env));
  CHECK(phases.at("upload").get<double>() == Approx(t.upload));
  CHECK(phases.at("act").get<double>() == Approx(t.act));
  CHECK(phases.at("update").get<double>() == Approx(t.update));
  CHECK(phases.at("other").get<double>() == Approx(t.other));
}

// sac.prioritized_replay keeps its priorities beside the replay buffer in every checkpoint: a
// resumed run samples the same batches with the same weights as one that never stopped. (beta is
// fixed here: annealed, it follows each launch's own end, as the learning-rate schedule does.)
// sac.normalize_obs keeps its running statistics in agent.pt: the resumed run scales its inputs as
// the uninterrupted one does.
TEST_CASE("a resumed run with prioritized replay and normalized observations equals the uninterrupted one",
          "[train][resume][per][normalize]") {
  TempDir tmp("train_resume_per");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  TrainArgs straight;
  straight.config_path = cfg;
  straight.results = (tmp.path / "a").string();
  straight.steps = 1000;
  straight.overrides = {"sac.prioritized_replay=true", "sac.per_beta=1", "sac.normalize_obs=true"};
  train(straight);
  TrainArgs first = straight;
  first.results = (tmp.path / "b").string();
  first.steps = 500;
  train(first);
  const std::string run_b = only_run(tmp.path / "b", "tiny");
  // The checkpoint holds one priority per buffer position, learned from TD errors (not all equal).
  const auto state = read_agent(fs::path(run_b) / "final" / "trainer.pt");
  REQUIRE(state.count("per_priorities"));
  const auto pr = state.at("per_priorities");
  const auto live = pr.masked_select(pr > 0);
  CHECK(live.numel() > 400);  // about 250 rows of 2 games
  CHECK(live.min().item<float>() < live.max().item<float>());
  // The statistics of every observation the games produced: 250 rows of 2 games.
  const auto agent_b = read_agent(fs::path(run_b) / "final" / "agent.pt");
  REQUIRE(agent_b.count("obs_norm.count"));
  CHECK(agent_b.at("obs_norm.count").item<double>() == Approx(2 * 250 + 1e-4).margin(2.0));
  CHECK(agent_b.at("obs_norm.var").min().item<double>() >= 0.0);
  CHECK(agent_b.at("obs_norm.mean").abs().max().item<double>() > 0.1);  // the player's and balls' positions
  TrainArgs second;
  second.resume = run_b;
  second.steps = 500;
  train(second);
  const auto a = read_agent(fs::path(only_run(tmp.path / "a", "tiny")) / "final" / "agent.pt");
  const auto b = read_agent(fs::path(run_b) / "final" / "agent.pt");
  REQUIRE(a.size() == b.size());
  int differing = 0;
  for (const auto& kv : a)
    if (!torch::equal(kv.second, b.at(kv.first))) ++differing;
  CHECK(differing == 0);
}

TEST_CASE("a resumed run equals the uninterrupted one bit for bit", "[train][resume]") {
  TempDir tmp("train_resume");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  TrainArgs straight;
  straight.config_path = cfg;
  straight.results = (tmp.path / "a").string();
  straight.steps = 1000;
  train(straight);
  TrainArgs first = straight;
  first.results = (tmp.path / "b").string();
  first.steps = 500;
  train(first);
  const std::string run_b = only_run(tmp.path / "b", "tiny");
  TrainArgs second;
  second.resume = run_b;
  second.steps = 500;
  train(second);
  const fs::path final_a = fs::path(only_run(tmp.path / "a", "tiny")) / "final";
  const fs::path final_b = fs::path(run_b) / "final";
  CHECK(checkpoint_step(final_b.string()) == 1000);
  const auto a = read_agent(final_a / "agent.pt"), b = read_agent(final_b / "agent.pt");
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 20);
  int differing = 0;
  for (const auto& kv : a)
    if (!torch::equal(kv.second, b.at(kv.first))) ++differing;
  CHECK(differing == 0);
  // The run keeps the config it started with; each launch is recorded.
  CHECK(load_config((fs::path(run_b) / "config.yaml").string()).train.total_timesteps == 500);
  std::ifstream launches(fs::path(run_b) / "launches.jsonl");
  std::vector<nlohmann::json> l;
  for (std::string line; std::getline(launches, line);) l.push_back(nlohmann::json::parse(line));
  REQUIRE(l.size() == 2);
  CHECK(l[0]["start_step"] == 0);
  CHECK(l[1]["start_step"] == 500);
  CHECK(l[1]["total_timesteps"] == 1000);
  CHECK_THAT(l[1]["resumed_from"].get<std::string>(), Catch::Contains("final"));
  // The logs were appended, not restarted.
  std::ifstream p(fs::path(run_b) / "logs" / "progress.csv");
  int headers = 0;
  for (std::string line; std::getline(p, line);) headers += line.rfind("time/total_timesteps", 0) == 0;
  CHECK(headers == 1);
}

TEST_CASE("SIGINT finishes the step, writes a checkpoint and exits cleanly", "[train][signal]") {
  // save_replay_buffer auto (the default): the interrupt checkpoint keeps the buffer for --resume;
  // an explicit false holds there too (it once saved the buffer whatever the key said).
  for (const std::string setting : {"auto", "false"}) {
    TempDir tmp("sigint_" + setting);
    const std::string cfg = write_tiny_config(tmp.path, "tiny");
    const std::string results = (tmp.path / "r").string();
    const auto r = run_shell("(" + std::string(DODGE_BINARY) + " train --config " + cfg + " --results " + results +
                             " --steps 100000000 --set train.save_replay_buffer=" + setting +
                             " & pid=$!; sleep 4; kill -INT $pid; sleep 0.3; kill -INT $pid; wait $pid)");
    INFO(setting << "\n" << r.output);
    // A second SIGINT within 2 s of the first is the same request (torchrun forwards the
    // terminal's Ctrl-C once more): the run still ends with its checkpoint.
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Catch::Contains("interrupt") && !Catch::Contains("aborting"));
    const std::string run = only_run(results, "tiny");
    const std::string ckpt = find_checkpoint(run);
    CHECK_THAT(ckpt, Catch::Contains("checkpoints/step_"));
    nlohmann::json s = nlohmann::json::parse(std::ifstream(fs::path(run) / "training_summary.json"));
    CHECK(s["stopped"] == "interrupted");
    bool has_replay = false;
    for (const auto& e : fs::directory_iterator(ckpt))
      has_replay = has_replay || e.path().filename().string().rfind("replay", 0) == 0;
    CHECK(has_replay == (setting == "auto"));
  }
}

TEST_CASE("the stop-signal handler: the first asks, a late second Ctrl-C aborts, two at once never do",
          "[train][signal]") {
  const long long t = 5'000'000'000'000LL;  // any monotonic time
  reset_stop_signals();
  CHECK(stop_signal(SIGINT, t) == StopSignal::First);
  CHECK(stop_signal(SIGINT, t + 300'000'000) == StopSignal::Ignored);  // 0.3 s: torchrun's forwarded copy
  CHECK(stop_signal(SIGTERM, t + 10'000'000'000LL) == StopSignal::Ignored);
  CHECK(stop_signal(SIGINT, t + 2'500'000'000LL) == StopSignal::Abort);
  reset_stop_signals();
  CHECK(stop_signal(SIGTERM, t) == StopSignal::First);
  // Two signals at the same moment on two threads (a terminal's Ctrl-C and torchrun's copy): one is
  // the first, the other is ignored; the second once read the first's time before it was stored
  // (0: the machine's uptime as the seconds since the first) and aborted.
  int aborts = 0, firsts = 0;
  for (int i = 0; i < 20000; ++i) {
    reset_stop_signals();
    std::atomic<int> ready{0};
    StopSignal a{}, b{};
    auto go = [&](StopSignal& out) {
      ready.fetch_add(1);
      while (ready.load() < 2) {
      }
      out = stop_signal(SIGINT, t);
    };
    std::thread other([&] { go(b); });
    go(a);
    other.join();
    aborts += (a == StopSignal::Abort) + (b == StopSignal::Abort);
    firsts += (a == StopSignal::First) + (b == StopSignal::First);
  }
  reset_stop_signals();
  CHECK(aborts == 0);
  CHECK(firsts == 20000);
}

TEST_CASE("a run from an older version that recorded save_replay_buffer: false keeps its buffer on Ctrl-C",
          "[train][signal][resume]") {
  TempDir tmp("old_replay_false");
  const auto run = train_tiny(tmp.path, {"train.save_replay_buffer=false"}).first;
  // final/config.yaml as versions before train.curriculum wrote it: false was their default.
  const fs::path cfg = run / "final" / "config.yaml";
  std::string text = file_text(cfg), old;
  std::stringstream lines(text);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("  curriculum:", 0) != 0) old += l + "\n";
  REQUIRE(old.find("  save_replay_buffer: false") != std::string::npos);
  std::ofstream(cfg) << old;
  const auto r = run_shell("(" + std::string(DODGE_BINARY) + " train --resume " + run.string() +
                           " --steps 100000000 & pid=$!; sleep 4; kill -INT $pid; wait $pid)");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("written by an older dodge") && Catch::Contains("read as auto"));
  const std::string ckpt = find_checkpoint(run.string());
  bool has_replay = false;
  for (const auto& e : fs::directory_iterator(ckpt))
    has_replay = has_replay || e.path().filename().string().rfind("replay", 0) == 0;
  CHECK(has_replay);
  // A config written now keeps an explicit false: no notice.
  TempDir tmp2("new_replay_false");
  const auto run2 = train_tiny(tmp2.path, {"train.save_replay_buffer=false"}).first;
  const auto r2 = run_dodge("train --resume " + run2.string() + " --steps 200");
  CHECK(r2.code == 0);
  CHECK_THAT(r2.output, !Catch::Contains("older dodge"));
}

TEST_CASE("a second Ctrl-C aborts only 2 s after the first, SIGTERM never escalates", "[train][signal]") {
  CHECK(second_signal_aborts(SIGINT, 2.5));
  CHECK_FALSE(second_signal_aborts(SIGINT, 0.3));  // torchrun's forwarded copy of the terminal's Ctrl-C
  CHECK_FALSE(second_signal_aborts(SIGTERM, 10.0));
  // SIGTERM twice, as launchers and schedulers send it: the run still writes its checkpoint.
  TempDir tmp("sigterm_twice");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const auto r = run_shell("(" + std::string(DODGE_BINARY) + " train --config " + cfg + " --steps 100000000 --results " +
                           (tmp.path / "r").string() + " & pid=$!; sleep 4; kill -TERM $pid; kill -TERM $pid; wait $pid)");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, !Catch::Contains("aborting"));
  CHECK_THAT(find_checkpoint(only_run((tmp.path / "r").string(), "tiny")), Catch::Contains("checkpoints/step_"));
}

// train.stop_when and train.max_minutes end a run early, as a completed one: a final evaluation,
// final/, and the reason in training_summary.json.
TEST_CASE("a stop rule ends a run at the evaluation that meets it", "[train][stop]") {
  TempDir tmp("train_stop");
  // Every evaluation meets a mean reward of -1e9 and a success rate of 0: the first one (step 500) stops.
  const auto [run, summary] =
      train_tiny(tmp.path, {"train.stop_when={mean_reward: -1e9, success_rate: 0}", "train.save_replay_buffer=false"});
  CHECK(summary["stopped"] == "stop_when");
  CHECK_THAT(summary["stop_reason"].get<std::string>(), Catch::Contains("step 500"));
  CHECK(summary["total_timesteps"] == 500);
  CHECK(checkpoint_step((run / "final").string()) == 500);
  // A threshold no evaluation meets lets the run go to total_timesteps.
  TempDir tmp2("train_stop_not");
  const auto full = train_tiny(tmp2.path, {"train.stop_when={mean_reward: 1e9}", "train.save_replay_buffer=false"}).second;
  CHECK(full["stopped"] == "completed");
  CHECK(full["total_timesteps"] == 1000);
}

TEST_CASE("a run that completes its steps is complete even when its final evaluation meets the rule", "[train][stop]") {
  TempDir tmp("train_stop_final");
  // No evaluation before the final one (eval_freq past the end): the rule is met only there.
  const auto summary = train_tiny(tmp.path, {"train.stop_when={mean_reward: -1e9}", "train.eval_freq=5000",
                                             "train.save_replay_buffer=false"})
                           .second;
  CHECK(summary["stopped"] == "completed");
  CHECK_FALSE(summary.contains("stop_reason"));
  CHECK(summary["final_eval"]["step"] == 1000);
}

TEST_CASE("train.stop_when's no_improvement_evals ends a run after that many evaluations without a new best",
          "[train][stop]") {
  TempDir tmp("train_no_improvement");
  const auto [run, summary] = train_tiny(tmp.path, {"train.stop_when={no_improvement_evals: 2}", "train.eval_freq=100",
                                                    "train.total_timesteps=5000", "train.save_replay_buffer=false"});
  REQUIRE(summary["stopped"] == "no_improvement");
  CHECK_THAT(summary["stop_reason"].get<std::string>(), Catch::Contains("2 evaluations in a row without a new best"));
  // evaluations.csv: the last two evaluations are below the best before them, and no earlier pair was.
  std::ifstream e(run / "evaluations.csv");
  std::string line;
  std::getline(e, line);
  std::vector<double> means;
  while (std::getline(e, line)) {
    std::stringstream ss(line);
    std::string step, mean;
    std::getline(ss, step, ',');
    std::getline(ss, mean, ',');
    means.push_back(std::stod(mean));
  }
  INFO(file_text(run / "evaluations.csv"));
  REQUIRE(means.size() >= 3);
  double best = means[0];
  int without = 0;
  for (std::size_t i = 1; i < means.size(); ++i) {
    CHECK(without < 2);  // the run went on only while the rule did not hold
    without = means[i] > best ? 0 : without + 1;
    best = std::max(best, means[i]);
  }
  CHECK(without == 2);
  CHECK(summary["total_timesteps"].get<int>() < 5000);
}

TEST_CASE("train.max_minutes ends a run after its time, with final/", "[train][stop]") {
  TempDir tmp("train_minutes");
  const auto [run, summary] = train_tiny(
      tmp.path, {"train.max_minutes=0.000001", "train.save_replay_buffer=false", "train.total_timesteps=100000"});
  CHECK(summary["stopped"] == "max_minutes");
  CHECK(summary["total_timesteps"].get<int>() < 100000);
  CHECK(fs::exists(run / "final" / "policy.pt"));
  CHECK(summary["final_eval"]["step"] == summary["total_timesteps"]);
}

TEST_CASE("train.max_minutes counts the whole run: a resume spends only what is left", "[train][stop][resume]") {
  TempDir tmp("train_minutes_resume");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::string results = (tmp.path / "r").string();
  // 0.2 minutes = 12 s of training; Ctrl-C after about 6 s, then a resume with no step limit. A resume
  // that restarted the budget would train 12 s more (about 17 s in all): the bounds below leave 3 s of slack.
  const auto first = run_shell("(" + std::string(DODGE_BINARY) + " train --config " + cfg + " --results " + results +
                               " --steps 100000000 --set train.max_minutes=0.2 --set train.save_replay_buffer=false"
                               " & pid=$!; sleep 6; kill -INT $pid; wait $pid)");
  INFO(first.output);
  REQUIRE(first.code == 0);
  const fs::path run = only_run(results, "tiny");
  const auto before = nlohmann::json::parse(std::ifstream(run / "training_summary.json"));
  REQUIRE(before["stopped"] == "interrupted");
  const double spent = before["duration_seconds"].get<double>();
  REQUIRE(spent > 4.0);  // at least a third of the budget spent, so a restarted budget shows
  REQUIRE(spent < 12.0);
  const auto second = run_dodge("train --resume " + run.string() + " --steps 100000000");
  INFO(second.output);
  REQUIRE(second.code == 0);
  const auto after = nlohmann::json::parse(std::ifstream(run / "training_summary.json"));
  CHECK(after["stopped"] == "max_minutes");
  // The resumed session trained for what was left of the 12 s (one step past it at most), not 12 s again.
  CHECK(after["duration_seconds"].get<double>() >= 12.0);
  CHECK(after["duration_seconds"].get<double>() < 12.0 + 3.0);
  CHECK(after["session_seconds"].get<double>() < 12.0 - spent + 3.0);
  CHECK(fs::exists(run / "final" / "policy.pt"));
}

// With sac.policy_average the evaluations, final/ and eval play the averaged policy: the run's
// last evaluation and an evaluation of final/ on the same games are the same episodes.
TEST_CASE("final/ of a run with an averaged policy evaluates as the run did", "[train][average]") {
  TempDir tmp("train_average");
  const auto [run, summary] = train_tiny(tmp.path, {"sac.policy_average=0.05", "train.save_replay_buffer=false"});
  const auto agent = Agent::load((run / "final").string(), {}, "cpu", 4);
  EvalOptions o;
  o.episodes = 4;
  o.envs = 4;
  o.seed = training_eval_seed(agent->config().train, summary["final_eval"]["step"].get<std::int64_t>());
  const EvalSummary s = evaluate(agent->config(), *agent, o);
  CHECK(s.mean_return == Approx(summary["final_eval"]["mean_reward"].get<double>()).epsilon(1e-9));
  CHECK(s.mean_length == Approx(summary["final_eval"]["mean_ep_length"].get<double>()).epsilon(1e-9));
  // The checkpoint holds both policies, and they differ after 800 updates.
  const auto tensors = read_agent(run / "final" / "agent.pt");
  REQUIRE(tensors.count("avg_actor.mu.weight"));
  CHECK_FALSE(torch::equal(tensors.at("avg_actor.mu.weight"), tensors.at("actor.mu.weight")));
}

// With no update (learning_starts past the end) every evaluation plays the same policy: with fixed
// games they are the same episodes, with fresh games (the default) each evaluation has games of its
// own, and a second run replays them (the seed comes from the step).
TEST_CASE("train.eval_games fresh gives each evaluation games of its own, fixed replays them", "[train]") {
  const auto episodes_by_eval = [](const fs::path& run) {
    std::map<std::string, std::vector<std::string>> by;
    std::ifstream e(run / "eval_episodes.csv");
    std::string line;
    std::getline(e, line);
    while (std::getline(e, line)) {
      const auto c = line.find(',');
      by[line.substr(0, c)].push_back(line.substr(line.find(',', c + 1)));  // return, length, survived
    }
    return by;
  };
  std::map<std::string, std::map<std::string, std::vector<std::string>>> runs;
  for (const std::string games : {"fresh", "fixed", "fresh"}) {
    TempDir tmp("eval_games_" + games);
    const auto run = train_tiny(tmp.path, {"train.learning_starts=5000", "train.eval_games=" + games,
                                           "train.save_replay_buffer=false"})
                         .first;
    const auto by = episodes_by_eval(run);
    REQUIRE(by.size() == 2);
    REQUIRE(by.count("500"));
    REQUIRE(by.count("1000"));
    if (games == "fixed") {
      CHECK(by.at("500") == by.at("1000"));
    } else {
      CHECK(by.at("500") != by.at("1000"));
      if (runs.count(games)) CHECK(by == runs.at(games));
    }
    runs[games] = by;
  }
  CHECK(runs.at("fresh").at("1000") != runs.at("fixed").at("1000"));
  // The seeds themselves: the fixed one is train.seed + 1,000,003 whatever the step; the fresh ones
  // differ by step and from the games `dodge eval` plays (seed + 2,000,003).
  dodge::run::TrainConfig t;
  t.seed = 3;
  t.eval_games = "fixed";
  CHECK(training_eval_seed(t, 500) == 1'000'006);
  CHECK(training_eval_seed(t, 1000) == 1'000'006);
  t.eval_games = "fresh";
  std::set<std::uint64_t> seeds{2'000'006};
  for (std::int64_t step = 10'000; step <= 2'000'000; step += 10'000) seeds.insert(training_eval_seed(t, step));
  CHECK(seeds.size() == 201);
}

TEST_CASE("progress.csv has one row per step when the last step is not an evaluation step", "[train]") {
  // 1100 steps, evaluations every 500: the final evaluation runs at 1100. With log_interval 100
  // the loop's own row at 1100 comes first (the evaluation's scalars join it); with 300 the last
  // row is the evaluation's. Each once wrote two rows for step 1100, the second with fps 0.
  for (const char* interval : {"100", "300"}) {
    TempDir tmp(std::string("last_row_") + interval);
    const auto run = train_tiny(tmp.path, {"train.total_timesteps=1100", std::string("train.log_interval=") + interval,
                                           "train.save_replay_buffer=false"})
                         .first;
    std::ifstream p(run / "logs" / "progress.csv");
    std::string header, line, last;
    std::getline(p, header);
    const auto cols = [](const std::string& l) {
      std::vector<std::string> v;
      std::stringstream ss(l);
      for (std::string c; std::getline(ss, c, ',');) v.push_back(c);
      if (!l.empty() && l.back() == ',') v.emplace_back();
      return v;
    };
    const auto names = cols(header);
    const auto at = [&](const char* name) {
      return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
    };
    std::vector<double> steps;
    while (std::getline(p, line)) {
      steps.push_back(std::stod(cols(line).at(at("time/total_timesteps"))));
      last = line;
    }
    INFO("log_interval " << interval);
    REQUIRE(!steps.empty());
    CHECK(std::adjacent_find(steps.begin(), steps.end(), std::greater_equal<double>()) == steps.end());
    CHECK(steps.back() == 1100);
    const auto row = cols(last);
    CHECK(!row.at(at("eval/mean_reward")).empty());
    CHECK(std::stod(row.at(at("time/fps"))) > 0);
  }
}

namespace {
// One column of monitor.csv (0: return r, 1: length l), in the order the lead finished the episodes.
std::vector<double> monitor_column(const fs::path& run, int column) {
  std::ifstream m(run / "monitor.csv");
  std::vector<double> r;
  std::string line, cell;
  std::getline(m, line);  // the JSON comment
  std::getline(m, line);  // r,l,t
  while (std::getline(m, line)) {
    std::stringstream row(line);
    for (int c = 0; c <= column; ++c) std::getline(row, cell, ',');
    r.push_back(std::stod(cell));
  }
  return r;
}
std::vector<double> monitor_returns(const fs::path& run) {
  return monitor_column(run, 0);
}
}  // namespace

// train.curriculum: a lesson ends when its last min_episodes training episodes meet the criterion, and
// not before; a resume continues the lesson it was in; evaluations always play the target game.
TEST_CASE("a curriculum lesson advances when its criterion holds and not before", "[train][curriculum]") {
  TempDir tmp("curriculum_advance");
  // Random actions all run (no updates): episodes of the 10-degree lesson and the 180-degree target
  // differ only by the game. Lesson 1 ends at the first window of 3 episodes averaging >= -60.
  const auto [run, summary] =
      train_tiny(tmp.path, {"env.spawn_angle_degrees=180", "train.learning_starts=100000",
                            "train.curriculum={key: spawn_angle_degrees, lessons: [10], mean_reward: -60, min_episodes: 3}",
                            "train.save_replay_buffer=false"});
  const auto returns = monitor_returns(run);
  REQUIRE(returns.size() >= 6);
  // The episode count when the last k episodes first average >= -60 (0: never).
  auto first_window = [&](std::size_t k) {
    for (std::size_t i = k; i <= returns.size(); ++i) {
      double sum = 0;
      for (std::size_t j = i - k; j < i; ++j) sum += returns[j];
      if (sum / static_cast<double>(k) >= -60) return i;
    }
    return std::size_t{0};
  };
  const std::size_t expected = first_window(3);
  INFO(file_text(run / "monitor.csv"));
  REQUIRE(expected > 0);
  // These episodes tell a window of 3 from one of 2 and one of 4, so a window off by one fails below.
  CHECK(first_window(2) != expected);
  CHECK(first_window(4) != expected);
  const auto& c = summary["curriculum"];
  CHECK(c["lesson"] == 2);
  CHECK(c["lessons"] == 2);
  REQUIRE(c["lesson_started_at_episodes"].size() == 1);
  CHECK(c["lesson_started_at_episodes"][0].get<std::size_t>() == expected);
  CHECK_THAT(c["now"].get<std::string>(), Catch::Contains("the target game"));
  // A criterion that never holds keeps the first lesson to the end.
  TempDir tmp2("curriculum_stay");
  const auto stay = train_tiny(tmp2.path, {"train.curriculum={key: spawn_angle_degrees, lessons: [10], mean_reward: 1e9, "
                                           "min_episodes: 3}",
                                           "train.save_replay_buffer=false"})
                        .second;
  CHECK(stay["curriculum"]["lesson"] == 1);
  CHECK(stay["curriculum"]["lesson_started_at_steps"].empty());
  // ... unless the lesson has a cap: then it ends at the first step at or past max_steps (2 envs: even
  // steps, so 300 is reached exactly and > instead of >= would give 302), and the next one (capped
  // too) max_steps after that.
  TempDir tmp3("curriculum_cap");
  const auto capped = train_tiny(tmp3.path, {"train.curriculum={key: spawn_angle_degrees, lessons: [10, 20, 30], "
                                             "mean_reward: 1e9, min_episodes: 3, max_steps: 300}",
                                             "train.save_replay_buffer=false"})
                          .second;
  CHECK(capped["curriculum"]["lesson"] == 4);
  CHECK(capped["curriculum"]["lesson_started_at_steps"] == nlohmann::json::array({300, 600, 900}));
  // ... or a share of the run's budget: lesson k ends by k x max_share of it (1000 steps: 250, 500),
  // whatever steps the lesson itself has had, so a slow machine cannot spend its budget in a lesson.
  TempDir tmp4("curriculum_share");
  const auto shared = train_tiny(tmp4.path, {"train.curriculum={key: spawn_angle_degrees, lessons: [10, 20], "
                                             "mean_reward: 1e9, min_episodes: 3, max_share: 0.25}",
                                             "train.save_replay_buffer=false"})
                          .second;
  CHECK(shared["curriculum"]["lesson"] == 3);
  CHECK(shared["curriculum"]["lesson_started_at_steps"] == nlohmann::json::array({250, 500}));
  // progress.csv and TensorBoard carry the lesson.
  CHECK_THAT(file_text(run / "logs" / "progress.csv"), Catch::Contains("curriculum/lesson"));
}

// With several games, the others are mid-episode when a lesson ends: those episodes began in the old
// lesson and count for neither, so a lesson's window holds only episodes played wholly in it.
TEST_CASE("an episode in flight when its lesson ends counts for neither lesson", "[train][curriculum]") {
  TempDir tmp("curriculum_straddle");
  // Random actions (no updates), 2 games, no threshold: each lesson ends at its first counted episode.
  const auto [run, summary] = train_tiny(
      tmp.path, {"train.learning_starts=100000", "train.save_replay_buffer=false",
                 "train.curriculum={key: spawn_angle_degrees, lessons: [10, 20], min_episodes: 1}"});
  const auto& c = summary["curriculum"];
  REQUIRE(c["lesson"] == 3);
  const auto steps = c["lesson_started_at_steps"].get<std::vector<std::int64_t>>();
  const auto episodes = c["lesson_started_at_episodes"].get<std::vector<std::size_t>>();
  REQUIRE(steps.size() == 2);
  const auto lengths = monitor_column(run, 1);
  INFO(file_text(run / "monitor.csv") << summary["curriculum"].dump());
  // Lesson 1 ended at the first episode. In this seed the other game's episode, begun in lesson 1,
  // finished first in lesson 2 and was passed over: lesson 2 ended one episode later ...
  CHECK(episodes[0] == 1);
  REQUIRE(episodes[1] == episodes[0] + 2);
  // ... at an episode that fits wholly inside lesson 2: a reset step, then its length in game steps.
  const auto lesson2_game_steps = static_cast<double>((steps[1] - steps[0]) / 2);
  CHECK(lengths.at(episodes[1] - 1) + 1 <= lesson2_game_steps);
  CHECK(lengths.at(episodes[1] - 2) + 1 > lesson2_game_steps);  // the one passed over did not fit
}

TEST_CASE("a curriculum's training games play the lesson, its evaluations the target game", "[train][curriculum]") {
  // No updates: the policy is the initial one in both runs, so equal evaluations mean equal games.
  TempDir a("curriculum_eval_a"), b("curriculum_eval_b");
  const std::vector<std::string> common = {"env.spawn_angle_degrees=180", "train.learning_starts=100000",
                                           "train.save_replay_buffer=false"};
  auto with = common;
  with.push_back("train.curriculum={key: spawn_angle_degrees, lessons: [5], mean_reward: 1e9}");
  const auto plain = train_tiny(a.path, common).first;
  const auto lesson = train_tiny(b.path, with).first;
  const std::string evals = file_text(plain / "evaluations.csv");
  REQUIRE(std::count(evals.begin(), evals.end(), '\n') == 3);  // a header and the evaluations at 500 and 1000
  CHECK(evals == file_text(lesson / "evaluations.csv"));
  CHECK(monitor_returns(plain) != monitor_returns(lesson));
}

TEST_CASE("a run resumed mid-curriculum continues the lesson it was in", "[train][curriculum][resume]") {
  TempDir tmp("curriculum_resume");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::vector<std::string> sets = {
      "train.curriculum={key: spawn_angle_degrees, lessons: [10, 20, 30, 40, 50], min_episodes: 3}"};
  TrainArgs straight;
  straight.config_path = cfg;
  straight.results = (tmp.path / "a").string();
  straight.overrides = sets;
  straight.steps = 1000;
  train(straight);
  TrainArgs first = straight;
  first.results = (tmp.path / "b").string();
  first.steps = 500;
  train(first);
  const std::string run_b = only_run(tmp.path / "b", "tiny");
  const auto half = nlohmann::json::parse(std::ifstream(fs::path(run_b) / "training_summary.json"));
  TrainArgs second;
  second.resume = run_b;
  second.steps = 500;
  train(second);
  const fs::path run_a = only_run(tmp.path / "a", "tiny");
  const auto sa = nlohmann::json::parse(std::ifstream(run_a / "training_summary.json"));
  const auto sb = nlohmann::json::parse(std::ifstream(fs::path(run_b) / "training_summary.json"));
  // The schedule was mid-way at the stop, and the resumed run went on from there exactly as the straight one.
  INFO(sa["curriculum"].dump() << "\n" << half["curriculum"].dump());
  REQUIRE(half["curriculum"]["lesson"].get<int>() > 1);
  REQUIRE(sa["curriculum"]["lesson"].get<int>() > half["curriculum"]["lesson"].get<int>());
  CHECK(sb["curriculum"] == sa["curriculum"]);
  const auto agent_a = read_agent(run_a / "final" / "agent.pt"), agent_b = read_agent(fs::path(run_b) / "final" / "agent.pt");
  int differing = 0;
  for (const auto& kv : agent_a)
    if (!torch::equal(kv.second, agent_b.at(kv.first))) ++differing;
  CHECK(differing == 0);
}

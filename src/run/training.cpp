// A training session: the loop, checkpoints, resume, evaluation and logs.
#include "dodge/run/training.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "dodge/game/vec_env.hpp"
#include "dodge/learn/archive_io.hpp"
#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/output/bench_report.hpp"
#include "dodge/output/run_logger.hpp"
#include "dodge/render/obs_writer.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/distributed.hpp"
#include "dodge/run/evaluate.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::run {

namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_requests{0};
std::atomic<long long> g_first_request_ns{0};

long long monotonic_ns() {  // clock_gettime is async-signal-safe
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

// The first SIGINT or SIGTERM asks the loop to stop and write a checkpoint. A user's second Ctrl-C
// aborts, but not one within 2 s of the first: under torchrun a Ctrl-C reaches every worker from
// the terminal and again from torchrun, which forwards it. SIGTERM (a launcher's or a scheduler's
// stop) never escalates: the checkpoint is being written.
void on_signal(int sig) {
  switch (stop_signal(sig, monotonic_ns())) {
    case StopSignal::First: {
      const char msg[] =
          "\ndodge: interrupt: finishing the step, writing a checkpoint (Ctrl-C again aborts)\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      return;
    }
    case StopSignal::Ignored: return;
    case StopSignal::Abort: {
      const char msg[] = "\ndodge: second interrupt, aborting now\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(130);
    }
  }
}

class SignalScope {
 public:
  SignalScope() {
    reset_stop_signals();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// The observation writer pointed at the replay buffer's row being filled: one frame per env (the
// buffer stacks at sample time).
void point_at_buffer(render::ObsWriter& writer, learn::ReplayBuffer& rb) {
  if (writer.image())
    writer.point_at(rb.next_frames(), writer.frame_bytes());
  else
    writer.point_at(reinterpret_cast<std::uint8_t*>(rb.next_vectors()), writer.frame_bytes());
}

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", std::localtime(&t));
  return buf;
}

double mean_of(const std::deque<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

class Trainer {
 public:
  explicit Trainer(const TrainArgs& args) : args_(args) {}
  TrainTimings run();

 private:
  void setup();
  void load_configs();
  void join_ranks();
  void make_run_folder();
  void build_games_and_learner();
  void start_new_games();
  void start_buffer_from_games();
  void draw_own_streams();
  void load_checkpoint_state();
  bool load_replay();
  void resume();
  void loop();
  void log_progress();
  // rollout/ep_rew_mean and ep_len_mean: this process's last 100 episodes, or with several ranks
  // every rank's (as of the last reduction).
  double rollout_rew_mean() const {
    return dist_ ? (rollout_sums_[2] > 0 ? rollout_sums_[0] / rollout_sums_[2] : std::nan(""))
                 : mean_of(ep_rew_);
  }
  double rollout_len_mean() const {
    return dist_ ? (rollout_sums_[2] > 0 ? rollout_sums_[1] / rollout_sums_[2] : std::nan(""))
                 : mean_of(ep_len_);
  }
  void run_eval();
  // train.curriculum: the training games play lesson_ (lessons.size(): the target game).
  bool in_curriculum() const { return lesson_ < config_.train.curriculum.lessons.size(); }
  void apply_lesson();
  void count_lesson_episode(const game::EpisodeEnd& f);
  void advance_lesson_if_done();
  std::string lesson_text() const;
  void save_checkpoint(const std::string& dir, bool with_replay);
  void save_trainer_state(const std::string& path) const;
  void load_trainer_state(const std::string& path);
  void prune_checkpoints();
  void write_summary(const std::string& stopped);
  void print_progress_bar();
  // Seconds the run has trained, earlier sessions included.
  double run_seconds() const { return elapsed_before_ + output::now_seconds() - session_start_time_; }
  // Seconds left before train.max_minutes (infinite without it).
  double seconds_left() const {
    return config_.train.max_minutes > 0 ? std::max(0.0, config_.train.max_minutes * 60 - run_seconds())
                                         : std::numeric_limits<double>::infinity();
  }
  std::string curve_title() const {
    return config_.name + "  " + fs::path(run_dir_).filename().string() + ", seed " +
           std::to_string(config_.train.seed);
  }

  // Seconds since the last mark, after the device's queued work when args_.sync_phases.
  double lap(double& mark) const;

  TrainArgs args_;
  TrainTimings timings_;
  Config config_;
  std::string run_dir_, resume_from_;
  torch::Device device_{torch::kCPU};
  std::unique_ptr<game::VecEnv> env_;
  std::unique_ptr<learn::ReplayBuffer> buffer_;
  std::unique_ptr<learn::Sac> sac_;
  std::unique_ptr<render::ObsWriter> sink_;  // frames into the replay buffer
  std::unique_ptr<output::RunLogger> logger_;
  at::Generator sampler_gen_;
  learn::Batch batch_;  // reused by every update's sample
  game::Rng action_rng_;
  game::StepOutputs out_;
  std::vector<float> actions_;
  // Counters (saved in checkpoints)
  std::int64_t num_timesteps_ = 0, n_calls_ = 0, episodes_ = 0, learning_starts_at_ = 0, total_ = 0;
  std::int64_t last_log_ = 0, last_eval_ = 0, last_ckpt_ = 0, best_eval_step_ = -1;
  double best_eval_ = -1e300, peak_ep_rew_ = -1e300, elapsed_before_ = 0;
  std::deque<double> ep_rew_, ep_len_;
  std::array<double, 3> rollout_sums_{0, 0,
                                      0};  // several ranks: returns, lengths, episodes of all ranks' windows
  std::int64_t last_rollout_reduce_ = 0;
  torch::Tensor metrics_sum_;  // the update metrics summed since the last log row (on the device)
  std::int64_t metrics_count_ = 0;
  std::map<std::string, double> pending_eval_;  // eval/* scalars for the next log row
  std::optional<EvalSummary> last_eval_summary_;
  // Session
  std::int64_t session_start_steps_ = 0;
  double session_start_time_ = 0, last_bar_time_ = 0;
  double last_log_time_ = 0;           // when the last progress row was written
  std::int64_t last_log_updates_ = 0;  // sac_->updates() then
  bool tty_ = false;
  bool graph_warned_ = false;
  bool interrupted_ = false;
  bool data_everywhere_ = false;  // every rank's buffer holds a transition (the update decision's own input)
  // train.stop_when / train.max_minutes: why the run ends early (empty: it does not).
  torch::Tensor saved_priorities_;  // from trainer.pt, for the replay buffer loaded after it
  double saved_max_priority_ = 1.0;
  std::string stop_reason_,
      stop_kind_;  // stop_kind_: "stop_when" (the bar) | "no_improvement" | "max_minutes"
  int evals_without_improvement_ = 0;
  // train.curriculum (saved in checkpoints): the lesson, and its training episodes (return, survived),
  // the last min_episodes of them.
  std::size_t lesson_ = 0;
  std::int64_t lesson_episodes_ = 0;
  std::deque<std::pair<double, bool>> lesson_window_;
  // The lesson each game's episode began in: one begun in an earlier lesson counts for neither.
  std::vector<std::size_t> episode_lesson_;
  std::vector<std::int64_t> lesson_steps_;        // the step at which each lesson after the first began
  std::vector<std::int64_t> lesson_episodes_at_;  // and the lead's episode count then
  // Several ranks (torchrun): rank 0 (the lead) writes the run folder and evaluates; every rank
  // steps its own games into its own buffer shard and learns from it, gradients averaged.
  std::unique_ptr<ProcessGroup> dist_;
  int rank_ = 0, world_ = 1;
  bool lead_ = true;
};

// Setup reads as its steps; each case of a start (fresh, resumed, one or several ranks) is one
// short function below.
void Trainer::setup() {
  load_configs();
  join_ranks();
  make_run_folder();
  build_games_and_learner();
  if (resume_from_.empty()) {
    learning_starts_at_ = config_.train.learning_starts;
    if (config_.train.curriculum.any()) apply_lesson();  // the first episodes already play lesson 1
    start_new_games();
  } else {
    resume();
  }
  total_ = args_.steps ? (resume_from_.empty() ? *args_.steps : num_timesteps_ + *args_.steps)
                       : config_.train.total_timesteps;
  config_.train.total_timesteps = total_;
  if (dist_) {
    // Same weights, optimizer state and counters on every rank before the first step (rank 0's).
    sac_->set_collective(dist_.get());
    dist_->broadcast(sac_->replicated_state());
    const auto c = dist_->broadcast_integers(
        {num_timesteps_, n_calls_, learning_starts_at_, total_, static_cast<std::int64_t>(lesson_)});
    num_timesteps_ = c[0];
    n_calls_ = c[1];
    learning_starts_at_ = c[2];
    total_ = c[3];
    lesson_ = static_cast<std::size_t>(c[4]);
    config_.train.total_timesteps = total_;
  }
  if (config_.train.curriculum.any()) {
    // A resume whose config has fewer lessons than the run had reached plays the target game.
    lesson_ = std::min(lesson_, config_.train.curriculum.lessons.size());
    apply_lesson();
  }
  last_log_ = last_eval_ = last_ckpt_ = last_rollout_reduce_ = num_timesteps_;
  last_log_time_ = output::now_seconds();
  last_log_updates_ = sac_->updates();
  if (!lead_) return;
  if (resume_from_.empty()) {
    std::ofstream cfg(fs::path(run_dir_) / "config.yaml");
    cfg << to_yaml(config_);
  }
  {
    nlohmann::json launch;
    launch["time"] = timestamp();
    launch["command"] = output::command_line();
    launch["device"] = device_.str();
    launch["start_step"] = num_timesteps_;
    launch["total_timesteps"] = total_;
    launch["resumed_from"] = resume_from_;
    launch["seed"] = config_.train.seed;
    launch["world_size"] = world_;
    if (dist_) launch["backend"] = dist_->backend();
    launch["dodge_version"] = DODGE_VERSION;
    std::ofstream out(fs::path(run_dir_) / "launches.jsonl", std::ios::app);
    out << launch.dump() << "\n";
  }
  try {
    const std::vector<std::string> lesson_columns = {"curriculum/lesson", "curriculum/lesson_episodes"};
    logger_ = std::make_unique<output::RunLogger>(
        run_dir_, !resume_from_.empty(),
        config_.train.curriculum.any() ? lesson_columns : std::vector<std::string>{});
  } catch (const output::WriteError& e) {
    throw UserError(e.what());
  }
  tty_ = ::isatty(STDOUT_FILENO) != 0;
  spdlog::info("training {} on {}: {} env steps, {} envs, obs {}, results in {}", config_.name, device_.str(),
               total_, config_.env.n_envs, game::to_string(config_.env.game.observation_mode), run_dir_);
  if (config_.train.curriculum.any())
    spdlog::info("curriculum: the training games play {}; evaluations play the target game", lesson_text());
}

void Trainer::load_configs() {
  // Config: from the file, or from the checkpoint when resuming.
  Config ckpt_config;
  if (!args_.resume.empty()) {
    resume_from_ = find_checkpoint(args_.resume);
    ckpt_config = load_checkpoint_config(resume_from_);
    config_ = args_.config_path.empty() ? ckpt_config : load_config(args_.config_path);
    if (!args_.config_path.empty()) config_.name = ckpt_config.name;
    if (args_.config_path.empty() && replay_false_from_older_version(resume_from_)) {
      // Older versions wrote false as the default: it meant "not in every checkpoint", which is auto now.
      config_.train.save_replay_buffer = "auto";
      spdlog::info(
          "train.save_replay_buffer: false in {} was written by an older dodge as its default; read as "
          "auto (Ctrl-C keeps the buffer for --resume). --set train.save_replay_buffer=false keeps none",
          resume_from_);
    }
  } else {
    if (args_.config_path.empty()) throw UserError("train: --config FILE is required (or --resume RUN_DIR)");
    config_ = load_config(args_.config_path);
  }
  apply_overrides(config_, args_.overrides);
  if (args_.seed) config_.train.seed = *args_.seed;
  if (!args_.device.empty()) config_.train.device = args_.device;
  validate(config_);
  if (!resume_from_.empty()) check_compatible(config_, ckpt_config, resume_from_);
}

void Trainer::join_ranks() {
  device_ = resolve_device(config_.train.device);
  if (const auto denv = dist_env_from_environment()) {
    rank_ = denv->rank;
    world_ = denv->world_size;
    lead_ = rank_ == 0;
    // One GPU per rank on a node: cuda:LOCAL_RANK unless the config names one.
    if (device_.is_cuda() && (config_.train.device == "auto" || config_.train.device == "cuda"))
      device_ = resolve_device("cuda:" + std::to_string(denv->local_rank));
    if (config_.sac.cuda_graph) {
      if (lead_ && device_.is_cuda())
        spdlog::warn(
            "sac.cuda_graph is off with several ranks: the all-reduces run between the update's pieces");
      config_.sac.cuda_graph = false;
    }
    dist_ = ProcessGroup::connect(*denv, device_, std::chrono::seconds(config_.train.dist_timeout));
    if (!lead_) {
      // Only the lead prints progress; the others say only what goes wrong.
      spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [rank " + std::to_string(rank_) + "] [%l] %v");
      spdlog::set_level(spdlog::level::warn);
    }
    spdlog::info(
        "rank {} of {} ({} on {}): batch_size {} per rank, {} envs per rank, env steps counted over all "
        "ranks",
        rank_, world_, dist_->backend(), device_.str(), config_.sac.batch_size, config_.env.n_envs);
  }
}

void Trainer::make_run_folder() {
  // The lead's alone with several ranks.
  if (!resume_from_.empty()) {
    run_dir_ = run_dir_of_checkpoint(resume_from_);
  } else if (lead_) {
    fs::path base = fs::path(args_.results) / config_.name / timestamp();
    fs::path dir = base;
    for (int i = 2; fs::exists(dir); ++i) dir = base.string() + "_" + std::to_string(i);
    run_dir_ = dir.string();
  }
  std::error_code ec;
  if (lead_) {
    fs::create_directories(run_dir_, ec);
    // A new run's config.yaml; a resumed run keeps the one it started with (each launch is in
    // launches.jsonl, and every checkpoint holds the config it was written with).
    std::ofstream probe(fs::path(run_dir_) / (resume_from_.empty() ? "config.yaml" : "launches.jsonl"),
                        resume_from_.empty() ? std::ios::out : std::ios::app);
    if (resume_from_.empty()) probe << to_yaml(config_);
    if (ec || !probe)
      throw UserError("cannot write the results folder " + run_dir_ + " (permissions or disk?)");
  }
}

void Trainer::build_games_and_learner() {
  const ObsSpec spec = obs_spec(config_);
  const int n = config_.env.n_envs;
  const std::uint64_t seed = rank_seed(static_cast<std::uint64_t>(config_.train.seed), rank_);
  env_ = std::make_unique<game::VecEnv>(config_.env.game, n, env_threads(config_), seed);
  const auto rspec = replay_spec(config_);
  try {
    buffer_ = std::make_unique<learn::ReplayBuffer>(rspec, device_);
  } catch (const learn::OutOfMemory& e) {
    throw UserError(std::string("sac.buffer_size = ") + std::to_string(config_.sac.buffer_size) + ": " +
                    e.what());
  }
  if (config_.sac.prioritized_replay) {
    buffer_->enable_priorities(learn::Priorities{config_.sac.per_alpha});
    spdlog::info("prioritized replay: alpha {}, beta {} rising to 1 by the run's end{}",
                 config_.sac.per_alpha, config_.sac.per_beta,
                 device_.is_cuda() ? " (updates run eagerly: no CUDA graph)" : "");
  }
  spdlog::info("replay buffer: {} transitions x {} B = {:.1f} MB on {}", buffer_->capacity(),
               learn::ReplayBuffer::bytes_per_transition(rspec),
               static_cast<double>(learn::ReplayBuffer::bytes_needed(rspec)) / 1e6, device_.str());
  learn::SacOptions sac_opts = sac_options(config_);
  if (lead_ && device_.is_cpu() && sac_opts.precision == learn::Precision::Bf16 &&
      !learn::cpu_has_native_bf16())
    spdlog::warn(
        "sac.precision: bf16 on a CPU without AVX-512 BF16 or AMX: it is emulated here, 10-20x slower "
        "than fp32 (docs/performance-history.md, \"Pixels on the CPU\"); use fp32 or auto");
  sac_opts.seed = seed;  // noise and augmentation differ per rank; the weights come from rank 0
  sac_ = std::make_unique<learn::Sac>(sac_opts, device_);
  if (lead_ && sac_opts.precision == learn::Precision::Auto) {
    const learn::Precision chosen = sac_->options().precision;  // the learner resolved auto for its device
    const char* why = !device_.is_cpu()                  ? ""
                      : chosen == learn::Precision::Bf16 ? " (this CPU computes bf16 natively)"
                                                         : " (this CPU has no native bf16)";
    spdlog::info("sac.precision: auto is {} on {}{}", learn::precision_name(chosen), device_.str(), why);
  }
  sampler_gen_ = make_generator(device_, seed + 7919);
  action_rng_ = game::Rng(seed ^ 0xA5A5A5A5ull);
  sink_ = std::make_unique<render::ObsWriter>(config_.env, n, /*stack=*/false);
  actions_.assign(static_cast<std::size_t>(n * spec.action_dim), 0.0f);
  out_.resize(n);
}

// The games' first observations into the buffer: new games, or the games as they stand (a
// resumed lead whose buffer was not saved, or belongs to several ranks).
void Trainer::start_new_games() {
  point_at_buffer(*sink_, *buffer_);
  env_->reset(sink_.get());
  buffer_->commit_reset();
  episode_lesson_.assign(static_cast<std::size_t>(env_->size()), lesson_);
}
void Trainer::start_buffer_from_games() {
  point_at_buffer(*sink_, *buffer_);
  for (int e = 0; e < env_->size(); ++e) sink_->write(e, env_->state(e));
  buffer_->commit_reset();
}

// The checkpoint holds rank 0's random streams: the other ranks draw their own again, from their
// rank seed and the step (distinct per rank, the same on every resume from here), and new games.
void Trainer::draw_own_streams() {
  const std::uint64_t s = rank_seed(static_cast<std::uint64_t>(config_.train.seed) ^
                                        (static_cast<std::uint64_t>(num_timesteps_) * 0xD1B54A32D192ED03ull),
                                    rank_);
  sac_->generator().set_current_seed(s);
  sampler_gen_ = make_generator(device_, s + 7919);
  action_rng_ = game::Rng(s ^ 0xA5A5A5A5ull);
  for (int e = 0; e < env_->size(); ++e) env_->reseed(e, s, static_cast<std::uint64_t>(e));
  ep_rew_.clear();  // rank 0's episodes: this rank counts its own
  ep_len_.clear();
  lesson_window_.clear();  // pooled over the ranks at log rows: rank 0's would count once per rank
  lesson_episodes_ = 0;
}

void Trainer::load_checkpoint_state() {
  try {
    sac_->load((fs::path(resume_from_) / "agent.pt").string());
    if (sac_->target_encoder_filled())
      spdlog::warn(
          "{} predates the shared encoder's target copy: the copy starts from the online encoder "
          "(--set sac.target_encoder=false continues without one, as the run was trained)",
          resume_from_);
    if (sac_->policy_average_filled())
      spdlog::info("{} has no averaged policy (sac.policy_average was 0): it starts from the online weights",
                   resume_from_);
    load_trainer_state((fs::path(resume_from_) / "trainer.pt").string());
    if (lead_) {
      std::ifstream es(fs::path(resume_from_) / "env_state.bin", std::ios::binary);
      env_->load_state(es);
    } else {
      draw_own_streams();
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    throw UserError("checkpoint " + resume_from_ + " is damaged: " + std::string(e.what()).substr(0, 300));
  }
}

// The lead's saved buffer; true when it was loaded and is the whole run's (a single rank).
bool Trainer::load_replay() {
  const fs::path replay = fs::path(resume_from_) / "replay.zst";
  if (!lead_ || !fs::exists(replay)) return false;
  try {
    buffer_->load(replay.string());
    // Saved by a run with prioritized replay, resumed with it: the priorities as they were. Without
    // them (the run had none) every loaded transition starts at the largest priority.
    if (buffer_->prioritized() && saved_priorities_.defined() &&
        saved_priorities_.numel() == buffer_->capacity())
      buffer_->set_priorities(saved_priorities_, saved_max_priority_);
  } catch (const std::exception& e) {
    throw UserError(std::string(e.what()));
  }
  return world_ == 1;
}

void Trainer::resume() {
  load_checkpoint_state();
  if (config_.train.curriculum.any()) {
    // The saved lesson, before any new game starts (a resume whose config has fewer lessons than the
    // run had reached plays the target game).
    lesson_ = std::min(lesson_, config_.train.curriculum.lessons.size());
    apply_lesson();
  }
  const bool whole_buffer = load_replay();
  if (world_ > 1) {
    // The checkpoint holds rank 0's games and buffer shard only: the other ranks start new games.
    if (!lead_)
      start_new_games();
    else if (buffer_->size() == 0)
      start_buffer_from_games();
    // Updates are collective, so every rank needs samples: all collect learning_starts more
    // steps before the updates go on.
    learning_starts_at_ = num_timesteps_ + config_.train.learning_starts;
    spdlog::info("{} ranks resume: {} steps of random actions refill the other ranks' buffers first", world_,
                 config_.train.learning_starts);
  } else if (!whole_buffer) {
    spdlog::warn(
        "checkpoint {} has no replay buffer (train.save_replay_buffer was not true): starting with an empty "
        "buffer and {} steps of random actions",
        resume_from_, config_.train.learning_starts);
    learning_starts_at_ = num_timesteps_ + config_.train.learning_starts;
    start_buffer_from_games();
  }
  spdlog::info("resumed from {} at step {}", resume_from_, num_timesteps_);
}

void Trainer::loop() {
  const int n = config_.env.n_envs;
  const int dim = static_cast<int>(actions_.size()) / n;
  const std::int64_t step_n = static_cast<std::int64_t>(n) * world_;  // env steps per iteration, all ranks
  session_start_steps_ = num_timesteps_;
  session_start_time_ = output::now_seconds();
  // From the saved clock, which every rank read from the same checkpoint.
  sac_->set_lr_scale(lr_scale(config_, num_timesteps_, total_, elapsed_before_));
  double mark = session_start_time_;
  while (num_timesteps_ < total_) {
    const bool timed = num_timesteps_ >= args_.timing_starts_at;
    TrainTimings t;
    lap(mark);
    if (num_timesteps_ < learning_starts_at_) {
      for (auto& a : actions_) a = static_cast<float>(action_rng_.uniform(-1.0, 1.0));
    } else {
      auto a = sac_->act(buffer_->current_stacks(), false).to(torch::kCPU).contiguous();
      std::memcpy(actions_.data(), a.data_ptr<float>(), sizeof(float) * static_cast<std::size_t>(n * dim));
    }
    t.act = lap(mark);
    // The updates this step earns are queued before the games step: on a GPU they run while the
    // CPU steps and renders (the next act() waits for them). They sample the buffer as it stands,
    // one step behind SB3's order. Updates start once more than learning_starts steps were
    // collected (as in SB3).
    // Whether to update must be the same on every rank (the updates are collective): after a
    // resume rank 0 has the loaded buffer and the others start empty, so "my buffer has data" is
    // agreed on by all until it holds everywhere (it then stays true).
    if (!data_everywhere_) data_everywhere_ = dist_ ? !dist_->any(buffer_->size() == 0) : buffer_->size() > 0;
    if (num_timesteps_ + step_n > learning_starts_at_ && (n_calls_ + 1) % config_.train.train_freq == 0 &&
        data_everywhere_) {
      const int steps =
          config_.train.gradient_steps > 0 ? config_.train.gradient_steps : config_.train.train_freq * n;
      for (int g = 0; g < steps; ++g) {
        const learn::NStep n_step{config_.sac.n_step, config_.sac.gamma};
        if (buffer_->prioritized())
          buffer_->sample_into(batch_, config_.sac.batch_size, sampler_gen_, n_step,
                               per_beta(config_, num_timesteps_, total_, run_seconds()));
        else
          buffer_->sample_into(batch_, config_.sac.batch_size, sampler_gen_, n_step);
        // SB3 logs each train/* scalar as the mean over the updates since the last row.
        const learn::SacMetrics m = sac_->update(batch_);
        if (buffer_->prioritized()) buffer_->update_priorities(batch_.positions, m.td_error);
        if (!lead_) continue;
        const torch::Tensor v = learn::stack_metrics(m);
        metrics_sum_ = metrics_sum_.defined() ? metrics_sum_.add_(v) : v.clone();
        ++metrics_count_;
      }
      if (!graph_warned_ && !sac_->graph_failure().empty()) {
        spdlog::warn("the CUDA graph capture failed ({}); updating eagerly", sac_->graph_failure());
        graph_warned_ = true;
      }
    }
    t.update = lap(mark);
    point_at_buffer(*sink_, *buffer_);
    env_->step(actions_.data(), out_, sink_.get());
    t.env = lap(mark);
    buffer_->commit_step(actions_.data(), out_.rewards.data(), out_.terminated.data(), out_.truncated.data(),
                         out_.episode_start.data());
    // sac.normalize_obs: the statistics follow the games (current_stacks is a gather: only when needed).
    if (config_.sac.normalize_obs) sac_->observe(buffer_->current_stacks());
    t.upload = lap(mark);
    num_timesteps_ += step_n;
    n_calls_ += 1;
    for (std::size_t e = 0; e < episode_lesson_.size(); ++e)
      if (out_.episode_start[e]) episode_lesson_[e] = lesson_;
    for (const auto& f : out_.finished) {
      // Every rank keeps its last 100 episodes (rollout/* are reduced over the ranks); rank 0 alone
      // writes monitor.csv and counts time/episodes.
      ep_rew_.push_back(f.episode_return);
      ep_len_.push_back(f.length);
      if (ep_rew_.size() > 100) {
        ep_rew_.pop_front();
        ep_len_.pop_front();
      }
      count_lesson_episode(f);
      if (!lead_) continue;
      ++episodes_;
      logger_->record_episode(f.episode_return, f.length, run_seconds());
    }
    advance_lesson_if_done();
    // rollout/* over all ranks' games: a few numbers reduced every log_interval steps (a condition
    // on the global step, the same on every rank).
    if (dist_ &&
        num_timesteps_ / config_.train.log_interval > last_rollout_reduce_ / config_.train.log_interval) {
      last_rollout_reduce_ = num_timesteps_;
      double sr = 0, sl = 0;
      for (double x : ep_rew_) sr += x;
      for (double x : ep_len_) sl += x;
      torch::Tensor t =
          torch::tensor({sr, sl, static_cast<double>(ep_rew_.size())}, torch::kFloat64).to(device_);
      dist_->average({t});
      t = t.cpu() * static_cast<double>(world_);
      rollout_sums_ = {t[0].item<double>(), t[1].item<double>(), t[2].item<double>()};
    }
    if (learning_starts_at_ > 0 && num_timesteps_ - step_n < learning_starts_at_ &&
        num_timesteps_ >= learning_starts_at_) {
      if (tty_) std::printf("\n");
      spdlog::info(
          "step {}: the {} steps of random actions are done; from here on the policy acts and learns",
          num_timesteps_, learning_starts_at_);
    }
    // Evaluations write their own row (with the training scalars), so they come first.
    // With several ranks the lead alone evaluates, logs and saves; the others wait for it in
    // their next collective (train.dist_timeout bounds that wait).
    if (lead_ && config_.train.eval_freq > 0 &&
        num_timesteps_ / config_.train.eval_freq > last_eval_ / config_.train.eval_freq) {
      last_eval_ = num_timesteps_;
      run_eval();
    }
    // A row every log_interval steps, and at least every 30 s so that slow (pixel) runs are not silent.
    if (lead_ && (num_timesteps_ - last_log_ >= config_.train.log_interval ||
                  output::now_seconds() - last_log_time_ >= 30.0))
      log_progress();
    if (tty_) print_progress_bar();
    if (lead_ && config_.train.checkpoint_freq > 0 &&
        num_timesteps_ / config_.train.checkpoint_freq > last_ckpt_ / config_.train.checkpoint_freq &&
        num_timesteps_ < total_) {
      last_ckpt_ = num_timesteps_;
      // Also checks the losses are finite before saving; an eval row at this step already did.
      if (last_log_ != num_timesteps_) log_progress();
      save_checkpoint(
          (fs::path(run_dir_) / "checkpoints" / ("step_" + std::to_string(num_timesteps_))).string(),
          config_.train.replay_in_checkpoints());
      prune_checkpoints();
    }
    t.other = lap(mark);
    if (timed) {
      timings_.env_steps += n;
      timings_.act += t.act;
      timings_.env += t.env;
      timings_.upload += t.upload;
      timings_.update += t.update;
      timings_.other += t.other;
    }
    // train.max_minutes by the lead's clock alone: the other ranks start their loops earlier (the lead
    // writes the run folder first), and one of them reaching the limit a step first once read as a
    // Ctrl-C on the lead (an interrupt checkpoint, no final/).
    if (lead_ && stop_reason_.empty() && seconds_left() <= 0) {
      stop_reason_ = fmt::format("train.max_minutes = {} reached", config_.train.max_minutes);
      stop_kind_ = "max_minutes";
    }
    // A stop request seen by any rank, or the lead's stop rule or time limit, stops every rank after
    // the same step; a request (Ctrl-C) wins over a rule met at the same step.
    // The learning rate of the next updates: by the lead's clock too, since the ranks' networks
    // must stay equal.
    bool interrupt = g_stop_requests.load() > 0, early = !stop_reason_.empty();
    double scale = lr_scale(config_, num_timesteps_, total_, run_seconds());
    if (dist_) {
      torch::Tensor t = torch::tensor({interrupt ? 1.0f : 0.0f, early ? 1.0f : 0.0f,
                                       lead_ ? static_cast<float>(scale * world_) : 0.0f})
                            .to(device_);
      dist_->average({t});
      t = t.cpu();
      interrupt = t[0].item<float>() > 0, early = t[1].item<float>() > 0;
      scale = t[2].item<float>();
    }
    sac_->set_lr_scale(scale);
    if (interrupt || early) {
      interrupted_ = interrupt;
      if (!lead_ && !interrupt) stop_reason_ = "rank 0 ended the run", stop_kind_ = "lead";
      break;
    }
  }
}

void Trainer::apply_lesson() {
  const Config lesson = lesson_config(config_, lesson_);
  env_->set_params(game::resolve(lesson.env.game));
}

std::string Trainer::lesson_text() const {
  const Curriculum& c = config_.train.curriculum;
  Config lesson = lesson_config(config_, lesson_);
  std::string value = "?";
  for (const auto& f : schema(lesson))
    if (f.section == "env" && f.key == c.key) value = f.get();
  return fmt::format("lesson {}/{} ({} = {}{})", lesson_ + 1, c.lessons.size() + 1, c.key, value,
                     in_curriculum() ? "" : ", the target game");
}

void Trainer::count_lesson_episode(const game::EpisodeEnd& f) {
  // An episode still in flight when its lesson ended played part of it: not the lesson's measure.
  if (!in_curriculum() || episode_lesson_.at(static_cast<std::size_t>(f.env)) != lesson_) return;
  ++lesson_episodes_;
  lesson_window_.emplace_back(f.episode_return, f.truncated && !f.terminated);
  if (lesson_window_.size() > static_cast<std::size_t>(config_.train.curriculum.min_episodes))
    lesson_window_.pop_front();
}

// A lesson ends when its last min_episodes training episodes meet the criterion, or when it has run
// max_steps env steps. Several ranks pool their windows (sums reduced at the same steps on every rank),
// so they all advance together.
void Trainer::advance_lesson_if_done() {
  if (!in_curriculum()) return;
  const Curriculum& c = config_.train.curriculum;
  // lesson_steps_ holds the start of each lesson after the first; the first began at step 0.
  const std::int64_t began = lesson_ == 0 || lesson_steps_.size() < lesson_ ? 0 : lesson_steps_[lesson_ - 1];
  bool timed_out = c.max_steps && num_timesteps_ - began >= *c.max_steps;
  // max_share by the lead's clock (ranks start at different moments; the reduction below shares it).
  bool out_of_share = lead_ && c.max_share &&
                      run_progress(config_, num_timesteps_, total_, run_seconds()) >=
                          static_cast<double>(lesson_ + 1) * *c.max_share - 1e-12;
  double returns = 0, survived = 0, count = static_cast<double>(lesson_window_.size());
  for (const auto& [r, s] : lesson_window_) {
    returns += r;
    survived += s ? 1 : 0;
  }
  if (dist_) {
    // Only at log rows: a collective on every step would cost more than the decision is worth.
    if (num_timesteps_ / config_.train.log_interval ==
        (num_timesteps_ - static_cast<std::int64_t>(config_.env.n_envs) * world_) /
            config_.train.log_interval)
      return;
    torch::Tensor t =
        torch::tensor({returns, survived, count, out_of_share ? 1.0 : 0.0}, torch::kFloat64).to(device_);
    dist_->average({t});
    t = t.cpu() * static_cast<double>(world_);
    returns = t[0].item<double>(), survived = t[1].item<double>(), count = t[2].item<double>();
    out_of_share = t[3].item<double>() > 0;
  }
  timed_out = timed_out || out_of_share;
  const double mean = count ? returns / count : 0, rate = count ? survived / count : 0;
  const bool met = count >= c.min_episodes && !(c.mean_reward && mean < *c.mean_reward) &&
                   !(c.success_rate && rate < *c.success_rate);
  if (!met && !timed_out) return;
  const std::string was = lesson_text();
  ++lesson_;
  lesson_episodes_ = 0;
  lesson_window_.clear();
  lesson_steps_.push_back(num_timesteps_);
  lesson_episodes_at_.push_back(episodes_);
  apply_lesson();
  if (!lead_) return;
  if (tty_) std::printf("\n");
  spdlog::info(
      "step {}: curriculum: {} {} (its last {:.0f} training episodes: mean {:.1f}, {:.0f}% surviving); "
      "now {}",
      num_timesteps_, was,
      met ? std::string("done")
          : out_of_share ? fmt::format("ended by max_share {} (the run is {:.0f}% of its way) without meeting its criterion",
                                       *c.max_share, 100 * run_progress(config_, num_timesteps_, total_, run_seconds()))
                         : fmt::format("ended by max_steps {} without meeting its criterion", *c.max_steps),
      count, mean, 100 * rate, lesson_text());
}

double Trainer::lap(double& mark) const {
  if (args_.sync_phases) synchronize(device_);
  const double now = output::now_seconds();
  const double dt = now - mark;
  mark = now;
  return dt;
}

void Trainer::log_progress() {
  const double now = output::now_seconds();
  const double elapsed = now - session_start_time_, interval = now - last_log_time_;
  const std::int64_t interval_steps = num_timesteps_ - last_log_;
  const std::int64_t interval_updates = sac_->updates() - last_log_updates_;
  last_log_ = num_timesteps_;
  last_log_time_ = now;
  last_log_updates_ = sac_->updates();
  std::map<std::string, double> s;
  s["time/total_timesteps"] = static_cast<double>(num_timesteps_);
  // Env steps per second since the previous row: a run's speed now, not averaged with the
  // (much faster) random-action phase.
  s["time/fps"] = interval > 0 ? static_cast<double>(interval_steps) / interval : 0.0;
  s["time/time_elapsed"] = elapsed_before_ + elapsed;
  s["time/episodes"] = static_cast<double>(episodes_);
  s["rollout/ep_rew_mean"] = rollout_rew_mean();
  s["rollout/ep_len_mean"] = rollout_len_mean();
  if (std::isfinite(s["rollout/ep_rew_mean"]))
    peak_ep_rew_ = std::max(peak_ep_rew_, s["rollout/ep_rew_mean"]);
  if (metrics_count_ > 0) {
    // The only host sync, once per row.
    const learn::SacMetricsHost m =
        learn::metrics_to_host(metrics_sum_ / static_cast<double>(metrics_count_));
    metrics_sum_.zero_();
    metrics_count_ = 0;
    if (!std::isfinite(m.critic_loss) || !std::isfinite(m.actor_loss) || !std::isfinite(m.ent_coef)) {
      logger_->record(num_timesteps_, s);
      logger_->flush();
      write_summary("diverged");
      throw std::runtime_error("training diverged at step " + std::to_string(num_timesteps_) +
                               ": critic loss " + std::to_string(m.critic_loss) + ", actor loss " +
                               std::to_string(m.actor_loss) + ", ent_coef " + std::to_string(m.ent_coef) +
                               " (not finite); the last good checkpoint is kept in " + run_dir_ +
                               ". Try a lower sac.learning_rate.");
    }
    s["train/actor_loss"] = m.actor_loss;
    s["train/critic_loss"] = m.critic_loss;
    s["train/ent_coef"] = m.ent_coef;
    s["train/ent_coef_loss"] = m.ent_coef_loss;
    s["train/q_mean"] = m.q_mean;
    s["train/entropy"] = m.entropy;
  }
  s["train/n_updates"] = static_cast<double>(sac_->updates());
  s["train/learning_rate"] = sac_->lr_scale() * sac_->options().critic_lr;
  if (config_.train.curriculum.any()) {
    s["curriculum/lesson"] = static_cast<double>(lesson_ + 1);
    s["curriculum/lesson_episodes"] = static_cast<double>(lesson_episodes_);
  }
  for (const auto& kv : pending_eval_) s[kv.first] = kv.second;
  const bool eval_row = !pending_eval_.empty();
  pending_eval_.clear();
  logger_->record(num_timesteps_, s);
  logger_->flush();
  if (tty_ || eval_row) return;  // the bar shows progress on a terminal; the eval has its own line
  const double fps_run =
      elapsed > 0 ? static_cast<double>(num_timesteps_ - session_start_steps_) / elapsed : 0.0;
  const double eta =
      std::min(fps_run > 0 ? static_cast<double>(total_ - num_timesteps_) / fps_run : 0.0, seconds_left());
  auto hms = [](double secs) {
    const auto t = static_cast<long long>(secs);
    return fmt::format("{}:{:02d}:{:02d}", t / 3600, static_cast<int>(t / 60 % 60), static_cast<int>(t % 60));
  };
  spdlog::info(
      "step {:>9}/{}  {} elapsed, ETA {}  fps {:>6.0f}  updates/s {:>6.1f}  episodes {:>6}  "
      "ep_rew_mean {:>8.1f}  ep_len_mean {:>6.1f}  {}",
      num_timesteps_, total_, hms(elapsed_before_ + elapsed), hms(eta), s["time/fps"],
      interval > 0 ? static_cast<double>(interval_updates) / interval : 0.0, episodes_,
      s["rollout/ep_rew_mean"], s["rollout/ep_len_mean"],
      (s.count("train/critic_loss")
           ? fmt::format("critic_loss {:.3g}  ent_coef {:.3g}", s["train/critic_loss"], s["train/ent_coef"])
           : std::string("(random actions, no updates yet)")) +
          (config_.train.curriculum.any() ? "  " + lesson_text() : std::string()));
}

void Trainer::print_progress_bar() {
  const double now = output::now_seconds();
  if (now - last_bar_time_ < 0.25 && num_timesteps_ < total_) return;
  last_bar_time_ = now;
  const double elapsed = now - session_start_time_;
  const double fps = elapsed > 0 ? static_cast<double>(num_timesteps_ - session_start_steps_) / elapsed : 0.0;
  const double frac =
      static_cast<double>(num_timesteps_) / static_cast<double>(std::max<std::int64_t>(1, total_));
  const int width = 30;
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<std::size_t>(std::clamp(filled, 0, width)), '#');
  bar += std::string(static_cast<std::size_t>(width - std::clamp(filled, 0, width)), '.');
  const double eta =
      std::min(fps > 0 ? static_cast<double>(total_ - num_timesteps_) / fps : 0.0, seconds_left());
  std::printf("\r[%s] %5.1f%% %lld/%lld  %.0f steps/s  ETA %02d:%02d:%02d  ep_rew_mean %.1f   ", bar.c_str(),
              100.0 * frac, static_cast<long long>(num_timesteps_), static_cast<long long>(total_), fps,
              static_cast<int>(eta) / 3600, static_cast<int>(eta) / 60 % 60, static_cast<int>(eta) % 60,
              std::isfinite(rollout_rew_mean()) ? rollout_rew_mean() : 0.0);
  std::fflush(stdout);
}

void Trainer::run_eval() {
  const int envs =
      config_.train.eval_envs > 0 ? config_.train.eval_envs : std::min(config_.train.n_eval_episodes, 16);
  PolicyRunner runner(config_, *sac_, envs);
  EvalOptions o;
  o.episodes = config_.train.n_eval_episodes;
  o.envs = envs;
  o.threads = env_threads(config_);
  o.seed = static_cast<std::uint64_t>(config_.train.seed) + 1'000'003;
  o.deterministic = true;
  const EvalSummary s = evaluate(config_, runner, o);
  last_eval_summary_ = s;
  std::vector<output::EpisodeRow> rows;
  for (const auto& e : s.episodes) rows.push_back({e.episode_return, e.length, e.survived});
  logger_->record_eval(num_timesteps_, s.mean_return, s.std_return, s.mean_length, s.std_length,
                       s.success_rate, rows);
  pending_eval_ = {{"eval/mean_reward", s.mean_return},
                   {"eval/mean_ep_length", s.mean_length},
                   {"eval/success_rate", s.success_rate}};
  if (tty_) std::printf("\n");
  spdlog::info("eval at step {}: mean reward {:.1f} +/- {:.1f}, length {:.1f}, survived {:.0f}%{}",
               num_timesteps_, s.mean_return, s.std_return, s.mean_length, 100 * s.success_rate,
               s.mean_return > best_eval_ ? " (new best)" : "");
  const bool improved = s.mean_return > best_eval_;
  if (improved) {
    best_eval_ = s.mean_return;
    best_eval_step_ = num_timesteps_;
    save_checkpoint((fs::path(run_dir_) / "best").string(), false);
  }
  evals_without_improvement_ = improved ? 0 : evals_without_improvement_ + 1;
  const StopRule& rule = config_.train.stop_when;
  if (stop_reason_.empty() && (rule.mean_reward || rule.success_rate) &&
      (!rule.mean_reward || s.mean_return >= *rule.mean_reward) &&
      (!rule.success_rate || s.success_rate >= *rule.success_rate))
    stop_kind_ = "stop_when",
    stop_reason_ =
        fmt::format("train.stop_when met: the evaluation at step {} scored {:.1f} with {:.0f}% surviving",
                    num_timesteps_, s.mean_return, 100 * s.success_rate);
  if (stop_reason_.empty() && rule.no_improvement_evals > 0 &&
      evals_without_improvement_ >= rule.no_improvement_evals)
    // Its own kind: a plateau is not the bar (the tuner's time objective counts only the bar).
    stop_kind_ = "no_improvement",
    stop_reason_ = fmt::format(
        "train.stop_when met: {} evaluations in a row without a new best (best {:.1f} at step {})",
        evals_without_improvement_, best_eval_, best_eval_step_);
  log_progress();  // the eval/* scalars in a row with the training scalars of this step, as SB3 dumps them
  logger_->write_curve(curve_title());
  logger_->flush();
}

void Trainer::save_trainer_state(const std::string& path) const {
  torch::serialize::OutputArchive ar;
  auto i64 = [](std::int64_t v) { return torch::tensor(v, torch::kInt64); };
  auto f64 = [](double v) { return torch::tensor(v, torch::kFloat64); };
  ar.write("num_timesteps", i64(num_timesteps_));
  ar.write("n_calls", i64(n_calls_));
  ar.write("episodes", i64(episodes_));
  ar.write("learning_starts_at", i64(learning_starts_at_));
  ar.write("best_eval", f64(best_eval_));
  ar.write("best_eval_step", i64(best_eval_step_));
  ar.write("peak_ep_rew", f64(peak_ep_rew_));
  ar.write("evals_without_improvement", i64(evals_without_improvement_));
  ar.write("elapsed", f64(run_seconds()));
  ar.write("ep_rew", torch::tensor(std::vector<double>(ep_rew_.begin(), ep_rew_.end()), torch::kFloat64));
  ar.write("ep_len", torch::tensor(std::vector<double>(ep_len_.begin(), ep_len_.end()), torch::kFloat64));
  const auto& rs = action_rng_.state();
  std::vector<std::int64_t> words(rs.begin(), rs.end());
  ar.write("action_rng", torch::tensor(words, torch::kInt64));
  ar.write("sampler_rng", sampler_gen_.get_state());
  ar.write("sampler_on_cuda", torch::tensor(device_.is_cuda() ? 1 : 0, torch::kInt64));
  ar.write("world_size", i64(world_));
  ar.write("lesson", i64(static_cast<std::int64_t>(lesson_)));
  ar.write("lesson_episodes", i64(lesson_episodes_));
  std::vector<double> window;
  for (const auto& [r, s] : lesson_window_) window.insert(window.end(), {r, s ? 1.0 : 0.0});
  ar.write("lesson_window", torch::tensor(window, torch::kFloat64));
  ar.write("lesson_steps", torch::tensor(lesson_steps_, torch::kInt64));
  ar.write("lesson_episodes_at", torch::tensor(lesson_episodes_at_, torch::kInt64));
  ar.write("episode_lesson",
           torch::tensor(std::vector<std::int64_t>(episode_lesson_.begin(), episode_lesson_.end()),
                         torch::kInt64));
  // The priorities belong with the replay buffer they describe: a resume restores them with it.
  if (buffer_->prioritized()) {
    ar.write("per_priorities", buffer_->priorities());
    ar.write("per_max_priority", torch::tensor(buffer_->max_priority(), torch::kFloat64));
  }
  learn::save_archive(ar, path);
}

void Trainer::load_trainer_state(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  auto read = [&](const char* key) {
    torch::Tensor t;
    if (!ar.try_read(key, t)) throw UserError(path + ": missing " + key + " (damaged checkpoint?)");
    return t;
  };
  // Another world size would change what a step and a batch mean (both count over the ranks).
  torch::Tensor saved_world;
  const std::int64_t was = ar.try_read("world_size", saved_world) ? saved_world.item<std::int64_t>() : 1;
  if (was != world_)
    throw UserError(path + ": the run was trained with " + std::to_string(was) +
                    " rank(s) and this launch has " + std::to_string(world_) +
                    " (WORLD_SIZE): resume it with WORLD_SIZE=" + std::to_string(was));
  num_timesteps_ = read("num_timesteps").item<std::int64_t>();
  n_calls_ = read("n_calls").item<std::int64_t>();
  episodes_ = read("episodes").item<std::int64_t>();
  learning_starts_at_ = read("learning_starts_at").item<std::int64_t>();
  best_eval_ = read("best_eval").item<double>();
  best_eval_step_ = read("best_eval_step").item<std::int64_t>();
  peak_ep_rew_ = read("peak_ep_rew").item<double>();
  torch::Tensor stale;  // absent in checkpoints from before train.stop_when
  evals_without_improvement_ =
      ar.try_read("evals_without_improvement", stale) ? static_cast<int>(stale.item<std::int64_t>()) : 0;
  elapsed_before_ = read("elapsed").item<double>();
  auto r = read("ep_rew"), l = read("ep_len");
  ep_rew_.assign(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
  ep_len_.assign(l.data_ptr<double>(), l.data_ptr<double>() + l.numel());
  torch::Tensor lesson;  // absent in checkpoints from before train.curriculum: the first lesson
  if (ar.try_read("lesson", lesson)) {
    lesson_ = static_cast<std::size_t>(lesson.item<std::int64_t>());
    lesson_episodes_ = read("lesson_episodes").item<std::int64_t>();
    const auto win = read("lesson_window").contiguous();
    lesson_window_.clear();
    for (std::int64_t i = 0; i + 1 < win.numel(); i += 2)
      lesson_window_.emplace_back(win.data_ptr<double>()[i], win.data_ptr<double>()[i + 1] > 0.5);
    const auto steps = read("lesson_steps").contiguous();
    lesson_steps_.assign(steps.data_ptr<std::int64_t>(), steps.data_ptr<std::int64_t>() + steps.numel());
    const auto eps = read("lesson_episodes_at").contiguous();
    lesson_episodes_at_.assign(eps.data_ptr<std::int64_t>(), eps.data_ptr<std::int64_t>() + eps.numel());
  }
  // Absent in checkpoints from before: the games in flight count for the lesson they are in.
  torch::Tensor began;
  episode_lesson_.assign(static_cast<std::size_t>(config_.env.n_envs), lesson_);
  if (ar.try_read("episode_lesson", began) && began.numel() == config_.env.n_envs) {
    const auto b = began.contiguous();
    for (std::size_t e = 0; e < episode_lesson_.size(); ++e)
      episode_lesson_[e] = static_cast<std::size_t>(b.data_ptr<std::int64_t>()[e]);
  }
  saved_priorities_ = torch::Tensor();
  torch::Tensor per_max;
  if (ar.try_read("per_priorities", saved_priorities_) && ar.try_read("per_max_priority", per_max))
    saved_max_priority_ = per_max.item<double>();
  else
    saved_priorities_ = torch::Tensor();
  auto w = read("action_rng");
  std::array<std::uint64_t, 4> s{};
  for (int i = 0; i < 4; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(w[i].item<std::int64_t>());
  action_rng_.set_state(s);
  // Sampler states only fit a generator on the same kind of device (resuming elsewhere reseeds).
  torch::Tensor on_cuda;
  if (ar.try_read("sampler_on_cuda", on_cuda) && (on_cuda.item<std::int64_t>() == 1) == device_.is_cuda())
    sampler_gen_.set_state(read("sampler_rng"));
  else
    spdlog::warn("{}: the checkpoint was written on another kind of device; the replay sampler is reseeded",
                 path);
}

void Trainer::save_checkpoint(const std::string& dir, bool with_replay) {
  write_checkpoint_atomically(dir, [&](const std::string& tmp) {
    const fs::path t(tmp);
    {
      std::ofstream cfg(t / "config.yaml");
      cfg << to_yaml(config_);
      if (!cfg) throw std::runtime_error("config.yaml: write failed");
    }
    sac_->save((t / "agent.pt").string());
    save_trainer_state((t / "trainer.pt").string());
    {
      std::ofstream es(t / "env_state.bin", std::ios::binary);
      env_->save_state(es);
      es.flush();
      if (!es) throw std::runtime_error("env_state.bin: write failed");
    }
    if (with_replay) buffer_->save((t / "replay.zst").string());
    sac_->export_policy((t / "policy.pt").string());
    write_manifest((t / "manifest.json").string(), config_, num_timesteps_);
  });
}

void Trainer::prune_checkpoints() {
  const fs::path dir = fs::path(run_dir_) / "checkpoints";
  std::vector<std::pair<std::int64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) != 0 || name.find('.') != std::string::npos) continue;
    found.emplace_back(std::stoll(name.substr(5)), e.path());
  }
  std::sort(found.begin(), found.end());
  const auto keep = static_cast<std::size_t>(config_.train.keep_checkpoints);
  for (std::size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
}

void Trainer::write_summary(const std::string& stopped) {
  nlohmann::json j;
  j["config"] = config_.name;
  j["run_dir"] = run_dir_;
  j["device"] = device_.str();
  j["stopped"] = stopped;
  if (!stop_reason_.empty() && !interrupted_) j["stop_reason"] = stop_reason_;
  const double session = output::now_seconds() - session_start_time_;
  j["duration_seconds"] = elapsed_before_ + session;
  j["session_seconds"] = session;
  j["total_timesteps"] = num_timesteps_;
  j["session_fps"] = session > 0 ? static_cast<double>(num_timesteps_ - session_start_steps_) / session : 0.0;
  j["episodes"] = episodes_;
  j["n_updates"] = sac_->updates();
  j["world_size"] = world_;
  if (dist_) {
    j["backend"] = dist_->backend();
    j["collective_seconds"] = dist_->seconds();
  }
  auto num = [](double v) {
    return std::isfinite(v) && std::abs(v) < 1e299 ? nlohmann::json(v) : nlohmann::json();
  };
  j["final_ep_rew_mean"] = num(rollout_rew_mean());
  j["final_ep_len_mean"] = num(rollout_len_mean());
  j["peak_ep_rew_mean"] = num(peak_ep_rew_);
  j["best_eval_mean_reward"] = num(best_eval_);
  j["best_eval_step"] = best_eval_step_;
  if (config_.train.curriculum.any())
    j["curriculum"] = {{"key", config_.train.curriculum.key},
                       {"lesson", lesson_ + 1},
                       {"lessons", config_.train.curriculum.lessons.size() + 1},
                       {"now", lesson_text()},
                       {"lesson_started_at_steps", lesson_steps_},
                       {"lesson_started_at_episodes", lesson_episodes_at_}};
  if (last_eval_summary_) {
    const auto& s = *last_eval_summary_;
    j["final_eval"] = {{"step", last_eval_},
                       {"mean_reward", s.mean_return},
                       {"std_reward", s.std_return},
                       {"mean_ep_length", s.mean_length},
                       {"std_ep_length", s.std_length},
                       {"success_rate", s.success_rate},
                       {"episodes", s.episodes.size()}};
  }
  const TrainTimings& t = timings_;
  j["loop_seconds_by_phase"] = {{"env_and_render", t.env},
                                {"upload", t.upload},
                                {"act", t.act},
                                {"update", t.update},
                                {"other", t.other}};
  std::ofstream out(fs::path(run_dir_) / "training_summary.json");
  out << j.dump(2) << "\n";
}

TrainTimings Trainer::run() {
  setup();
  SignalScope signals;
  loop();
  if (tty_) std::printf("\n");
  const bool interrupted = interrupted_;
  if (dist_) {
    timings_.collective = dist_->seconds();
    // Equal digests on every rank: the ranks stayed in step (the multi-rank test reads this line).
    spdlog::set_level(spdlog::level::info);
    // The random streams differ per rank (noise, shifts, sampling, games): their digest shows it.
    const auto rs = action_rng_.state();
    const torch::Tensor action_state = torch::tensor(std::vector<std::int64_t>(rs.begin(), rs.end()),
                                                     torch::TensorOptions().dtype(torch::kInt64));
    spdlog::info(
        "rank {} of {}: {} updates, parameters digest {}, streams digest {}, {:.1f} s in collectives", rank_,
        world_, sac_->updates(), digest(sac_->replicated_state()),
        digest({sac_->generator().get_state(), sampler_gen_.get_state(), action_state}), dist_->seconds());
    if (!lead_) return timings_;
  }
  // The last step's row (a final evaluation's eval/* scalars join it: RunLogger keeps one row a step).
  const bool final_eval = !interrupted && config_.train.eval_freq > 0 && last_eval_ != num_timesteps_;
  if (last_log_ != num_timesteps_) log_progress();
  if (interrupted) {
    // The interrupt checkpoint keeps the replay buffer unless save_replay_buffer is false: without
    // it a resume starts from an empty buffer and learning_starts random steps again.
    const bool with_replay = config_.train.replay_on_interrupt();
    if (with_replay && !config_.train.replay_in_checkpoints())
      spdlog::info(
          "saving the replay buffer with the interrupt checkpoint, for --resume (Ctrl-C again to abort)");
    save_checkpoint(
        (fs::path(run_dir_) / "checkpoints" / ("step_" + std::to_string(num_timesteps_))).string(),
        with_replay);
    prune_checkpoints();
  } else {
    if (final_eval) {
      last_eval_ = num_timesteps_;  // training_summary's final_eval.step
      const bool ended_early = !stop_reason_.empty();
      run_eval();
      // A run that completed its steps is complete even when its final evaluation meets the stop rule.
      if (!ended_early) stop_reason_.clear(), stop_kind_.clear();
    }
    save_checkpoint((fs::path(run_dir_) / "final").string(), config_.train.replay_in_checkpoints());
  }
  logger_->write_curve(curve_title());
  logger_->flush();
  write_summary(interrupted ? "interrupted" : stop_reason_.empty() ? "completed" : stop_kind_);
  if (!interrupted && !stop_reason_.empty()) spdlog::info("stopping early: {}", stop_reason_);
  spdlog::info(
      "{} at step {}: {} episodes, {}, {}; {} in {}", interrupted ? "interrupted" : "done", num_timesteps_,
      episodes_,
      !std::isfinite(rollout_rew_mean()) ? std::string("no episode finished yet")
                                         : fmt::format("ep_rew_mean {:.1f}", rollout_rew_mean()),
      best_eval_ > -1e299 ? fmt::format("best eval {:.1f}", best_eval_) : std::string("no evaluation yet"),
      interrupted ? "checkpoint" : "final/", run_dir_);
  // What to do next, with this run's own paths.
  const std::string best =
      fs::exists(fs::path(run_dir_) / "best") ? (fs::path(run_dir_) / "best").string() : run_dir_;
  // train.max_minutes counts the whole run: a resume of a run that spent it needs a larger one.
  const std::string more = stop_kind_ == "max_minutes" && !interrupted
                               ? fmt::format(" --set train.max_minutes={:g}", 2 * config_.train.max_minutes)
                               : std::string();
  spdlog::info(
      "next: dodge eval {} --episodes 100   |   dodge watch {}   |   dodge train --resume {} --steps N{}   | "
      "  "
      "tensorboard --logdir {}",
      best, best, run_dir_, more, (fs::path(run_dir_) / "logs").string());
  const TrainTimings& t = timings_;
  if (t.seconds() > 0) {
    auto pct = [&](double s) { return 100.0 * s / t.seconds(); };
    spdlog::info(
        "time{}: env+render {:.0f}%, upload {:.0f}%, act {:.0f}%, update {:.0f}%, logs/evals/checkpoints "
        "{:.0f}%",
        device_.is_cuda() && !args_.sync_phases ? " (host side: GPU work counts where the host waits)" : "",
        pct(t.env), pct(t.upload), pct(t.act), pct(t.update), pct(t.other));
  }
  return timings_;
}

}  // namespace

bool second_signal_aborts(int signal, double seconds_since_first) {
  return signal == SIGINT && seconds_since_first >= 2.0;
}

StopSignal stop_signal(int signal, long long now_ns) {
  // The first request's time is recorded before it counts: a signal landing on another thread at
  // the same moment reads that time, never the 0 of "no request yet" (which once made the machine's
  // uptime the seconds since the first, and aborted the torchrun-forwarded copy).
  long long first = 0;
  const bool is_first = g_first_request_ns.compare_exchange_strong(first, now_ns);
  g_stop_requests.fetch_add(1);
  if (is_first) return StopSignal::First;
  return second_signal_aborts(signal, static_cast<double>(now_ns - first) * 1e-9) ? StopSignal::Abort
                                                                                  : StopSignal::Ignored;
}

void reset_stop_signals() {
  g_first_request_ns = 0;
  g_stop_requests = 0;
}

TrainTimings train(const TrainArgs& args) {
  Trainer t(args);
  return t.run();
}

}  // namespace dodge::run

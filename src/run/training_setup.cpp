// The start of a training session: its config, the ranks, the run folder, the games and the
// learner, fresh or from a checkpoint.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dodge/output/bench_report.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/setup.hpp"
#include "trainer.hpp"

namespace dodge::run {

namespace fs = std::filesystem;

std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", std::localtime(&t));
  return buf;
}

// Setup reads as its steps; each case of a start (fresh, resumed, one or several ranks) is one
// short function below.
void Trainer::setup() {
  load_configs();
  stop_ = StopRules(config_.train.stop_when, config_.train.max_minutes);
  lessons_ = LessonTracker(config_.train.curriculum);
  schedule_ = EvalSchedule(config_.train);
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
    const auto c = dist_->broadcast_integers({num_timesteps_, n_calls_, learning_starts_at_, total_,
                                              static_cast<std::int64_t>(lessons_.lesson())});
    num_timesteps_ = c[0];
    n_calls_ = c[1];
    learning_starts_at_ = c[2];
    total_ = c[3];
    lessons_.set_lesson(static_cast<std::size_t>(c[4]));
    config_.train.total_timesteps = total_;
  }
  if (config_.train.curriculum.any()) {
    // A resume whose config has fewer lessons than the run had reached plays the target game.
    lessons_.keep_within_lessons();
    apply_lesson();
  }
  schedule_.start(num_timesteps_, output::now_seconds());
  last_log_updates_ = sac_->updates();
  if (!lead_) return;
  if (resume_from_.empty()) {
    std::ofstream cfg(fs::path(run_dir_) / "config.yaml");
    cfg << to_yaml(config_);
  }
  write_launch();
  open_logs();
}

void Trainer::write_launch() {
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

void Trainer::open_logs() {
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
  point_at_buffer();
  env_->reset(sink_.get());
  buffer_->commit_reset();
  lessons_.start_games(env_->size());
}
void Trainer::start_buffer_from_games() {
  point_at_buffer();
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
  lessons_.forget_episodes();  // pooled over the ranks at log rows: rank 0's would count once per rank
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
    lessons_.keep_within_lessons();
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

}  // namespace dodge::run

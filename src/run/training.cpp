// A training session: the loop and its steps, evaluations, logs and the end of a run. The start is
// in training_setup.cpp, checkpoints in training_checkpoint.cpp; the rules the loop asks are units
// of their own: stop_rules.hpp (when a run ends early), curriculum.hpp (the lesson), eval_schedule.hpp
// (when evaluations, checkpoints and rows are due), rank_sync.hpp (what the ranks agree on).
#include "dodge/run/training.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dodge/run/setup.hpp"
#include "trainer.hpp"

namespace dodge::run {

namespace fs = std::filesystem;

namespace {

double mean_of(const std::deque<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace

// One iteration: every game steps once; the earned updates are queued before the games step, so
// that on a GPU they run while the CPU steps and renders (the next act() waits for them).
void Trainer::loop() {
  begin_session();
  double mark = session_start_time_;
  while (num_timesteps_ < total_) {
    const bool timed = num_timesteps_ >= args_.timing_starts_at;
    TrainTimings t;
    lap(mark);
    act();
    t.act = lap(mark);
    update();
    t.update = lap(mark);
    step_games();
    t.env = lap(mark);
    store();
    t.upload = lap(mark);
    count_episodes();
    maybe_advance_lesson();
    maybe_pool_rollout();
    announce_learning_start();
    maybe_evaluate();  // an evaluation writes its own row (with the training scalars), so it comes first
    maybe_log();
    maybe_checkpoint();
    t.other = lap(mark);
    if (timed) add_timings(t);
    if (maybe_stop()) break;
  }
}

void Trainer::begin_session() {
  step_n_ = static_cast<std::int64_t>(config_.env.n_envs) * world_;
  session_start_steps_ = num_timesteps_;
  session_start_time_ = output::now_seconds();
  // From the saved clock, which every rank read from the same checkpoint.
  sac_->set_lr_scale(lr_scale(config_, num_timesteps_, total_, elapsed_before_));
}

// Uniform random actions for the first learning_starts steps, then the policy's.
void Trainer::act() {
  if (num_timesteps_ < learning_starts_at_) {
    for (auto& a : actions_) a = static_cast<float>(action_rng_.uniform(-1.0, 1.0));
    return;
  }
  auto a = sac_->act(buffer_->current_stacks(), false).to(torch::kCPU).contiguous();
  std::memcpy(actions_.data(), a.data_ptr<float>(), sizeof(float) * actions_.size());
}

// The updates this step earns. They sample the buffer as it stands, one step behind SB3's order, and
// start once more than learning_starts steps were collected (as in SB3).
void Trainer::update() {
  // Whether to update must be the same on every rank (the updates are collective): after a resume
  // rank 0 has the loaded buffer and the others start empty, so "my buffer has data" is agreed on
  // by all until it holds everywhere (it then stays true).
  if (!data_everywhere_) data_everywhere_ = dist_ ? !dist_->any(buffer_->size() == 0) : buffer_->size() > 0;
  if (!(num_timesteps_ + step_n_ > learning_starts_at_ && (n_calls_ + 1) % config_.train.train_freq == 0 &&
        data_everywhere_))
    return;
  const int steps = config_.train.gradient_steps > 0 ? config_.train.gradient_steps
                                                     : config_.train.train_freq * config_.env.n_envs;
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

// The games step and render into the buffer's next row.
void Trainer::step_games() {
  point_at_buffer();
  env_->step(actions_.data(), out_, sink_.get());
}

// The step's row committed (on a GPU: its upload).
void Trainer::store() {
  buffer_->commit_step(actions_.data(), out_.rewards.data(), out_.terminated.data(), out_.truncated.data(),
                       out_.episode_start.data());
  // sac.normalize_obs: the statistics follow the games (current_stacks is a gather: only when needed).
  if (config_.sac.normalize_obs) sac_->observe(buffer_->current_stacks());
}

void Trainer::count_episodes() {
  num_timesteps_ += step_n_;
  n_calls_ += 1;
  lessons_.note_episode_starts(out_.episode_start);
  for (const auto& f : out_.finished) {
    // Every rank keeps its last 100 episodes (rollout/* are pooled over the ranks); rank 0 alone
    // writes monitor.csv and counts time/episodes.
    ep_rew_.push_back(f.episode_return);
    ep_len_.push_back(f.length);
    if (ep_rew_.size() > 100) {
      ep_rew_.pop_front();
      ep_len_.pop_front();
    }
    lessons_.count_episode(f);
    if (!lead_) continue;
    ++episodes_;
    logger_->record_episode(f.episode_return, f.length, run_seconds());
  }
}

// A lesson ends when its last min_episodes training episodes meet the criterion, when it has run
// max_steps env steps, or by max_share of the run (by the lead's clock: ranks start at different
// moments). Several ranks pool their windows at log_interval multiples only (a collective on every
// step would cost more than the decision is worth), so they all advance together.
void Trainer::maybe_advance_lesson() {
  if (!lessons_.in_curriculum() || (dist_ && !schedule_.pooling_due(num_timesteps_, step_n_))) return;
  const double progress = run_progress(config_, num_timesteps_, total_, run_seconds());
  PooledLesson p{lessons_.window(), lead_ && lessons_.share_spent(progress)};
  if (dist_) p = pool_lesson(*dist_, p.window, p.share_spent, device_);
  const LessonEnd end = lessons_.ends(p.window, lessons_.steps_spent(num_timesteps_), p.share_spent);
  if (end == LessonEnd::None) return;
  const std::string was = lesson_text();
  lessons_.advance(num_timesteps_, episodes_);
  apply_lesson();
  if (!lead_) return;
  if (tty_) std::printf("\n");
  const Curriculum& c = config_.train.curriculum;
  const std::string how =
      end == LessonEnd::Met ? std::string("done")
      : end == LessonEnd::MaxShare
          ? fmt::format("ended by max_share {} (the run is {:.0f}% of its way) without meeting its criterion",
                        *c.max_share, 100 * progress)
          : fmt::format("ended by max_steps {} without meeting its criterion", *c.max_steps);
  spdlog::info(
      "step {}: curriculum: {} {} (its last {:.0f} training episodes: mean {:.1f}, {:.0f}% surviving); "
      "now {}",
      num_timesteps_, was, how, p.window.count, p.window.mean(), 100 * p.window.rate(), lesson_text());
}

void Trainer::apply_lesson() {
  env_->set_params(game::resolve(lesson_config(config_, lessons_.lesson()).env.game));
}

// rollout/* over all ranks' games, pooled at log_interval multiples (the same steps on every rank).
void Trainer::maybe_pool_rollout() {
  if (dist_ && schedule_.pooling_due(num_timesteps_, step_n_))
    rollout_sums_ = pool_episodes(*dist_, ep_rew_, ep_len_, device_);
}

void Trainer::announce_learning_start() {
  if (learning_starts_at_ > 0 && num_timesteps_ - step_n_ < learning_starts_at_ &&
      num_timesteps_ >= learning_starts_at_) {
    if (tty_) std::printf("\n");
    spdlog::info("step {}: the {} steps of random actions are done; from here on the policy acts and learns",
                 num_timesteps_, learning_starts_at_);
  }
}

// With several ranks the lead alone evaluates, logs and saves; the others wait for it in their next
// collective (train.dist_timeout bounds that wait).
void Trainer::maybe_evaluate() {
  if (!lead_ || !schedule_.evaluation_due(num_timesteps_)) return;
  schedule_.evaluated(num_timesteps_);
  run_eval();
}

// A row every log_interval steps, and at least every 30 s; the bar on a terminal.
void Trainer::maybe_log() {
  if (lead_ && schedule_.row_due(num_timesteps_, output::now_seconds())) log_progress();
  if (tty_) print_progress_bar();
}

void Trainer::maybe_checkpoint() {
  if (!lead_ || !schedule_.checkpoint_due(num_timesteps_, total_)) return;
  schedule_.checkpointed(num_timesteps_);
  // Also checks the losses are finite before saving; an eval row at this step already did.
  if (schedule_.last_row() != num_timesteps_) log_progress();
  save_step_checkpoint(config_.train.replay_in_checkpoints());
}

// A stop request seen by any rank, or the lead's stop rule or time limit, stops every rank after the
// same step; a request (Ctrl-C) wins over a rule met at the same step. train.max_minutes goes by the
// lead's clock alone: the other ranks start their loops earlier (the lead writes the run folder
// first), and one of them reaching the limit a step first once read as a Ctrl-C on the lead (an
// interrupt checkpoint, no final/). The learning rate of the next updates goes by the lead's clock
// too, since the ranks' networks must stay equal.
bool Trainer::maybe_stop() {
  if (lead_) stop_.judge_clock(seconds_left());
  StepVote vote{stop_requested(), stop_.stopping(), lr_scale(config_, num_timesteps_, total_, run_seconds())};
  if (dist_) vote = agree_on_step(*dist_, vote, device_);
  sac_->set_lr_scale(vote.lr_scale);
  if (!vote.interrupt && !vote.stop) return false;
  interrupted_ = vote.interrupt;
  if (!lead_ && !vote.interrupt) stop_.lead_ended();
  return true;
}

void Trainer::add_timings(const TrainTimings& t) {
  timings_.env_steps += config_.env.n_envs;
  timings_.act += t.act;
  timings_.env += t.env;
  timings_.upload += t.upload;
  timings_.update += t.update;
  timings_.other += t.other;
}

void Trainer::run_eval() {
  const int envs =
      config_.train.eval_envs > 0 ? config_.train.eval_envs : std::min(config_.train.n_eval_episodes, 16);
  PolicyRunner runner(config_, *sac_, envs);
  EvalOptions o;
  o.episodes = config_.train.n_eval_episodes;
  o.envs = envs;
  o.threads = env_threads(config_);
  o.seed = training_eval_seed(config_.train, num_timesteps_);
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
  const bool improved = stop_.record_best(num_timesteps_, s.mean_return);
  spdlog::info("eval at step {}: mean reward {:.1f} +/- {:.1f}, length {:.1f}, survived {:.0f}%{}",
               num_timesteps_, s.mean_return, s.std_return, s.mean_length, 100 * s.success_rate,
               improved ? " (new best)" : "");
  if (improved) save_checkpoint((fs::path(run_dir_) / "best").string(), false);
  stop_.judge_evaluation(num_timesteps_, s.mean_return, s.success_rate, improved);
  log_progress();  // the eval/* scalars in a row with the training scalars of this step, as SB3 dumps them
  logger_->write_curve(curve_title());
  logger_->flush();
}

double Trainer::rollout_rew_mean() const {
  return dist_ ? (rollout_sums_.episodes > 0 ? rollout_sums_.returns / rollout_sums_.episodes : std::nan(""))
               : mean_of(ep_rew_);
}

double Trainer::rollout_len_mean() const {
  return dist_ ? (rollout_sums_.episodes > 0 ? rollout_sums_.lengths / rollout_sums_.episodes : std::nan(""))
               : mean_of(ep_len_);
}

std::string Trainer::curve_title() const {
  return config_.name + "  " + fs::path(run_dir_).filename().string() + ", seed " +
         std::to_string(config_.train.seed);
}

void Trainer::point_at_buffer() {
  // One frame per env (the buffer stacks at sample time).
  if (sink_->image())
    sink_->point_at(buffer_->next_frames(), sink_->frame_bytes());
  else
    sink_->point_at(reinterpret_cast<std::uint8_t*>(buffer_->next_vectors()), sink_->frame_bytes());
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
  const double elapsed = now - session_start_time_, interval = now - schedule_.last_row_time();
  const std::int64_t interval_steps = num_timesteps_ - schedule_.last_row();
  const std::int64_t interval_updates = sac_->updates() - last_log_updates_;
  schedule_.row_written(num_timesteps_, now);
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
    s["curriculum/lesson"] = static_cast<double>(lessons_.lesson() + 1);
    s["curriculum/lesson_episodes"] = static_cast<double>(lessons_.state().lesson_episodes);
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

void Trainer::write_summary(const std::string& stopped) {
  nlohmann::json j;
  j["config"] = config_.name;
  j["run_dir"] = run_dir_;
  j["device"] = device_.str();
  j["stopped"] = stopped;
  if (stop_.stopping() && !interrupted_) j["stop_reason"] = stop_.reason();
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
  j["best_eval_mean_reward"] = num(stop_.best());
  j["best_eval_step"] = stop_.best_step();
  if (config_.train.curriculum.any())
    j["curriculum"] = {{"key", config_.train.curriculum.key},
                       {"lesson", lessons_.lesson() + 1},
                       {"lessons", config_.train.curriculum.lessons.size() + 1},
                       {"now", lesson_text()},
                       {"lesson_started_at_steps", lessons_.state().lesson_steps},
                       {"lesson_started_at_episodes", lessons_.state().lesson_episodes_at}};
  if (last_eval_summary_) {
    const auto& s = *last_eval_summary_;
    j["final_eval"] = {{"step", schedule_.last_evaluation()}, {"mean_reward", s.mean_return},
                       {"std_reward", s.std_return},          {"mean_ep_length", s.mean_length},
                       {"std_ep_length", s.std_length},       {"success_rate", s.success_rate},
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
  StopSignalScope signals;  // to the end: a late second Ctrl-C aborts the last checkpoint's writing too
  loop();
  if (tty_) std::printf("\n");
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
  finish();
  say_goodbye();
  return timings_;
}

// The lead's end of a run: the last row, the interrupt checkpoint or the final evaluation and
// final/, the curve and training_summary.json.
void Trainer::finish() {
  // The last step's row (a final evaluation's eval/* scalars join it: RunLogger keeps one row a step).
  const bool final_eval = schedule_.final_evaluation_due(num_timesteps_, interrupted_);
  if (schedule_.last_row() != num_timesteps_) log_progress();
  if (interrupted_) {
    // The interrupt checkpoint keeps the replay buffer unless save_replay_buffer is false: without
    // it a resume starts from an empty buffer and learning_starts random steps again.
    const bool with_replay = config_.train.replay_on_interrupt();
    if (with_replay && !config_.train.replay_in_checkpoints())
      spdlog::info(
          "saving the replay buffer with the interrupt checkpoint, for --resume (Ctrl-C again to abort)");
    save_step_checkpoint(with_replay);
  } else {
    if (final_eval) {
      schedule_.evaluated(num_timesteps_);  // training_summary's final_eval.step
      const bool ended_early = stop_.stopping();
      run_eval();
      // A run that completed its steps is complete even when its final evaluation meets the stop rule.
      if (!ended_early) stop_.forget_reason();
    }
    save_checkpoint((fs::path(run_dir_) / "final").string(), config_.train.replay_in_checkpoints());
  }
  logger_->write_curve(curve_title());
  logger_->flush();
  write_summary(stop_.stopped(interrupted_));
}

void Trainer::say_goodbye() {
  const bool interrupted = interrupted_;
  if (!interrupted && stop_.stopping()) spdlog::info("stopping early: {}", stop_.reason());
  spdlog::info("{} at step {}: {} episodes, {}, {}; {} in {}", interrupted ? "interrupted" : "done",
               num_timesteps_, episodes_,
               !std::isfinite(rollout_rew_mean()) ? std::string("no episode finished yet")
                                                  : fmt::format("ep_rew_mean {:.1f}", rollout_rew_mean()),
               stop_.best() > -1e299 ? fmt::format("best eval {:.1f}", stop_.best())
                                     : std::string("no evaluation yet"),
               interrupted ? "checkpoint" : "final/", run_dir_);
  // What to do next, with this run's own paths.
  const std::string best =
      fs::exists(fs::path(run_dir_) / "best") ? (fs::path(run_dir_) / "best").string() : run_dir_;
  // train.max_minutes counts the whole run: a resume of a run that spent it needs a larger one.
  const std::string more = stop_.kind() == "max_minutes" && !interrupted
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
}

TrainTimings train(const TrainArgs& args) {
  Trainer t(args);
  return t.run();
}

}  // namespace dodge::run

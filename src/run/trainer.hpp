// The training session's class, private to src/run: training.cpp (the loop and its steps, the end of
// a run), training_setup.cpp (a fresh or resumed start, one rank or several) and
// training_checkpoint.cpp (checkpoints and the trainer state in them). train() (training.hpp) is
// its only door.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dodge/game/vec_env.hpp"
#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/output/clock.hpp"
#include "dodge/output/run_logger.hpp"
#include "dodge/render/obs_writer.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/curriculum.hpp"
#include "dodge/run/distributed.hpp"
#include "dodge/run/eval_schedule.hpp"
#include "dodge/run/evaluate.hpp"
#include "dodge/run/rank_sync.hpp"
#include "dodge/run/stop_rules.hpp"
#include "dodge/run/training.hpp"

namespace dodge::run {

class Trainer {
 public:
  explicit Trainer(const TrainArgs& args) : args_(args) {}
  TrainTimings run();

 private:
  // training_setup.cpp: setup reads as its steps; each case of a start (fresh, resumed, one or
  // several ranks) is one short function.
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
  void write_launch();
  void open_logs();

  // training.cpp: the loop and its steps, in the order they run.
  void loop();
  void begin_session();
  void act();
  void update();
  void step_games();
  void store();
  void count_episodes();
  void maybe_advance_lesson();
  void maybe_pool_rollout();
  void announce_learning_start();
  void maybe_evaluate();
  void maybe_log();
  void maybe_checkpoint();
  bool maybe_stop();
  void add_timings(const TrainTimings& t);
  // And what they call.
  void run_eval();
  void apply_lesson();
  std::string lesson_text() const { return run::lesson_text(config_, lessons_.lesson()); }
  void log_progress();
  void print_progress_bar();
  void finish();
  void write_summary(const std::string& stopped);
  void say_goodbye();

  // training_checkpoint.cpp
  void save_checkpoint(const std::string& dir, bool with_replay);
  void save_step_checkpoint(bool with_replay);  // checkpoints/step_N, the oldest pruned
  void save_trainer_state(const std::string& path) const;
  void load_trainer_state(const std::string& path);

  // rollout/ep_rew_mean and ep_len_mean: this process's last 100 episodes, or with several ranks
  // every rank's (as of the last pooling).
  double rollout_rew_mean() const;
  double rollout_len_mean() const;
  // Seconds the run has trained, earlier sessions included.
  double run_seconds() const { return elapsed_before_ + output::now_seconds() - session_start_time_; }
  // Seconds left before train.max_minutes (infinite without it).
  double seconds_left() const {
    return config_.train.max_minutes > 0 ? std::max(0.0, config_.train.max_minutes * 60 - run_seconds())
                                         : std::numeric_limits<double>::infinity();
  }
  std::string curve_title() const;
  // Seconds since the last mark, after the device's queued work when args_.sync_phases.
  double lap(double& mark) const;
  // The observation writer pointed at the replay buffer's row being filled.
  void point_at_buffer();

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
  double peak_ep_rew_ = -1e300, elapsed_before_ = 0;
  std::deque<double> ep_rew_, ep_len_;
  // The rules and schedules, each its own unit: train.stop_when and max_minutes (the best evaluation
  // is saved in checkpoints), train.curriculum (saved), evaluations, checkpoints and log rows.
  StopRules stop_;
  LessonTracker lessons_;
  EvalSchedule schedule_;
  EpisodeSums rollout_sums_;   // several ranks: all ranks' windows (pooled at log_interval multiples)
  torch::Tensor metrics_sum_;  // the update metrics summed since the last log row (on the device)
  std::int64_t metrics_count_ = 0;
  std::map<std::string, double> pending_eval_;  // eval/* scalars for the next log row
  std::optional<EvalSummary> last_eval_summary_;
  // Session
  std::int64_t step_n_ = 0;  // env steps per iteration, all ranks
  std::int64_t session_start_steps_ = 0;
  double session_start_time_ = 0, last_bar_time_ = 0;
  std::int64_t last_log_updates_ = 0;  // sac_->updates() at the last progress row
  bool tty_ = false;
  bool graph_warned_ = false;
  bool interrupted_ = false;
  bool data_everywhere_ = false;  // every rank's buffer holds a transition (the update decision's own input)
  torch::Tensor saved_priorities_;  // from trainer.pt, for the replay buffer loaded after it
  double saved_max_priority_ = 1.0;
  // Several ranks (torchrun): rank 0 (the lead) writes the run folder and evaluates; every rank
  // steps its own games into its own buffer shard and learns from it, gradients averaged.
  std::unique_ptr<ProcessGroup> dist_;
  int rank_ = 0, world_ = 1;
  bool lead_ = true;
};

// "20240101_120000": the local time, for run folders and launches.jsonl.
std::string timestamp();

}  // namespace dodge::run

// The training loop's outputs: logs/progress.csv, TensorBoard events with Stable-Baselines3's
// scalar names, monitor.csv (every training episode, as SB3's VecMonitor), evaluations.csv (a row
// per evaluation), eval_episodes.csv (every evaluation episode, what SB3's evaluations.npz holds)
// and the learning-curve picture.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dodge/output/tensorboard.hpp"
#include "dodge/output/write_error.hpp"

namespace dodge::output {

struct EpisodeRow {
  double episode_return = 0;
  int length = 0;
  bool survived = false;
};

class RunLogger {
 public:
  // Opens (appending on resume) the files under run_dir; throws WriteError when it cannot open
  // its CSV files, std::runtime_error for other failures.
  // extra_columns: progress.csv columns after the standard ones (a curriculum's lesson, say).
  RunLogger(const std::string& run_dir, bool resume, const std::vector<std::string>& extra_columns = {});
  ~RunLogger();

  // One row of progress.csv and the same scalars to TensorBoard.
  void record(std::int64_t step, const std::map<std::string, double>& scalars);
  // evaluations.csv and eval_episodes.csv; the eval/* scalars go into the next record() row.
  void record_eval(std::int64_t step, double mean_reward, double std_reward, double mean_length, double std_length,
                   double success_rate, const std::vector<EpisodeRow>& episodes);
  // A finished training episode into monitor.csv: return, length (agent steps), seconds since the
  // run started (earlier sessions included).
  void record_episode(double episode_return, int length, double seconds);
  // Redraws learning_curve.png from everything logged in this run (earlier sessions included),
  // under `title` (the trainer passes "<config> <run folder>, seed S").
  void write_curve(const std::string& title);
  void flush();

 private:
  void write_row(const std::map<std::string, double>& scalars);

  std::string run_dir_;
  std::FILE* progress_ = nullptr;
  std::FILE* evals_ = nullptr;
  std::FILE* eval_episodes_ = nullptr;
  std::FILE* monitor_ = nullptr;
  std::vector<std::string> columns_;
  // The last progress.csv row: where it starts, its step and values (a second row for the same
  // step is merged into it).
  long last_row_offset_ = -1;
  std::int64_t last_row_step_ = -1;
  std::map<std::string, double> last_row_;
  std::unique_ptr<TensorBoardWriter> tb_;
  // For the curve
  std::vector<double> steps_, ep_rew_, eval_steps_, eval_rew_, eval_std_;
};

// The progress.csv columns, in order.
const std::vector<std::string>& progress_columns();

// One row of RUN/evaluations.csv (timesteps,mean_reward,std_reward,...).
struct EvalRow {
  std::int64_t step = 0;
  double mean_reward = 0.0, std_reward = 0.0;
};
// Reads an evaluations.csv: a header, then a row per evaluation. Throws std::runtime_error naming
// the file (and path:row for a row that is not numbers).
std::vector<EvalRow> read_evaluations(const std::string& path);

}  // namespace dodge::output

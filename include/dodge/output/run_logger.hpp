// The training loop's outputs: logs/progress.csv, TensorBoard events with Stable-Baselines3's
// scalar names, evaluations.csv and the learning-curve picture.
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

class RunLogger {
 public:
  // Opens (appending on resume) the files under run_dir; throws WriteError when it cannot open
  // its CSV files, std::runtime_error for other failures.
  RunLogger(const std::string& run_dir, bool resume);
  ~RunLogger();

  // One row of progress.csv and the same scalars to TensorBoard.
  void record(std::int64_t step, const std::map<std::string, double>& scalars);
  void record_eval(std::int64_t step, double mean_reward, double std_reward, double mean_length, double std_length,
                   double success_rate);
  // Redraws learning_curve.png from everything logged in this run (earlier sessions included).
  void write_curve(const std::string& title);
  void flush();

 private:
  void write_row(const std::map<std::string, double>& scalars);

  std::string run_dir_;
  std::FILE* progress_ = nullptr;
  std::FILE* evals_ = nullptr;
  std::vector<std::string> columns_;
  std::unique_ptr<TensorBoardWriter> tb_;
  // For the curve
  std::vector<double> steps_, ep_rew_, eval_steps_, eval_rew_;
};

// The progress.csv columns, in order.
const std::vector<std::string>& progress_columns();

}  // namespace dodge::output

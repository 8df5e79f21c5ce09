#include "dodge/output/run_logger.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dodge/output/plot.hpp"

namespace dodge::output {

namespace fs = std::filesystem;

const std::vector<std::string>& progress_columns() {
  static const std::vector<std::string> cols = {
      "time/total_timesteps", "time/fps",           "time/time_elapsed",  "time/episodes",
      "rollout/ep_rew_mean",  "rollout/ep_len_mean", "train/actor_loss",   "train/critic_loss",
      "train/ent_coef",       "train/ent_coef_loss", "train/q_mean",       "train/entropy",
      "train/n_updates",      "train/learning_rate", "eval/mean_reward",    "eval/mean_ep_length",
      "eval/success_rate"};
  return cols;
}

namespace {
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> v;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(item);
  if (!line.empty() && line.back() == ',') v.push_back("");
  return v;
}
}  // namespace

RunLogger::RunLogger(const std::string& run_dir, bool resume, const std::vector<std::string>& extra_columns)
    : run_dir_(run_dir), columns_(progress_columns()) {
  columns_.insert(columns_.end(), extra_columns.begin(), extra_columns.end());
  const fs::path logs = fs::path(run_dir) / "logs";
  std::error_code ec;
  fs::create_directories(logs, ec);
  const fs::path progress = logs / "progress.csv";
  const fs::path evals = fs::path(run_dir) / "evaluations.csv";
  // Reload what earlier sessions logged, for the learning curve.
  if (resume) {
    std::ifstream in(progress);
    std::string line;
    std::getline(in, line);
    const auto header = split_csv(line);
    // Rows appended to a file from an older version keep that file's columns.
    if (!header.empty() && !header[0].empty()) columns_ = header;
    int si = -1, ri = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "time/total_timesteps") si = static_cast<int>(i);
      if (header[i] == "rollout/ep_rew_mean") ri = static_cast<int>(i);
    }
    while (si >= 0 && ri >= 0 && std::getline(in, line)) {
      const auto cells = split_csv(line);
      if (static_cast<int>(cells.size()) <= std::max(si, ri) || cells[static_cast<std::size_t>(ri)].empty()) continue;
      steps_.push_back(std::stod(cells[static_cast<std::size_t>(si)]));
      ep_rew_.push_back(std::stod(cells[static_cast<std::size_t>(ri)]));
    }
    try {
      for (const EvalRow& r : read_evaluations(evals.string())) {
        eval_steps_.push_back(static_cast<double>(r.step));
        eval_rew_.push_back(r.mean_reward);
        eval_std_.push_back(r.std_reward);
      }
    } catch (const std::runtime_error&) {
      // Only the learning curve's history: a damaged or missing file leaves it without.
    }
  }
  const bool new_progress = !fs::exists(progress) || !resume;
  progress_ = std::fopen(progress.c_str(), new_progress ? "w" : "a");
  const bool new_evals = !fs::exists(evals) || !resume;
  evals_ = std::fopen(evals.c_str(), new_evals ? "w" : "a");
  const fs::path eval_episodes = fs::path(run_dir) / "eval_episodes.csv";
  const bool new_eval_episodes = !fs::exists(eval_episodes) || !resume;
  eval_episodes_ = std::fopen(eval_episodes.c_str(), new_eval_episodes ? "w" : "a");
  const fs::path monitor = fs::path(run_dir) / "monitor.csv";
  const bool new_monitor = !fs::exists(monitor) || !resume;
  monitor_ = std::fopen(monitor.c_str(), new_monitor ? "w" : "a");
  if (!progress_ || !evals_ || !eval_episodes_ || !monitor_)
    throw WriteError(run_dir + ": cannot write the run's log files");
  if (new_eval_episodes) std::fprintf(eval_episodes_, "timesteps,episode,return,length,survived\n");
  // SB3's monitor format: a JSON comment line, then r (return), l (length), t (seconds).
  if (new_monitor)
    std::fprintf(monitor_, "#{\"t_start\": %.3f, \"env_id\": \"dodge\"}\nr,l,t\n",
                 std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  if (new_progress) {
    for (std::size_t i = 0; i < columns_.size(); ++i) std::fprintf(progress_, "%s%s", i ? "," : "", columns_[i].c_str());
    std::fprintf(progress_, "\n");
  }
  if (new_evals) std::fprintf(evals_, "timesteps,mean_reward,std_reward,mean_ep_length,std_ep_length,success_rate\n");
  tb_ = std::make_unique<TensorBoardWriter>((logs / "tensorboard").string());
}

RunLogger::~RunLogger() {
  for (std::FILE* f : {progress_, evals_, eval_episodes_, monitor_})
    if (f) std::fclose(f);
}

void RunLogger::write_row(const std::map<std::string, double>& s) {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto it = s.find(columns_[i]);
    if (i) std::fputc(',', progress_);
    if (it != s.end() && std::isfinite(it->second)) std::fprintf(progress_, "%.10g", it->second);
  }
  std::fputc('\n', progress_);
}

void RunLogger::record(std::int64_t step, const std::map<std::string, double>& s) {
  if (step == last_row_step_ && last_row_offset_ >= 0 && std::fflush(progress_) == 0 &&
      ::ftruncate(::fileno(progress_), last_row_offset_) == 0 && std::fseek(progress_, last_row_offset_, SEEK_SET) == 0) {
    // A second row for the same step (the final evaluation after the step's regular row): one row,
    // the first's values and the new keys (eval/*), as SB3 dumps them together.
    for (const auto& kv : s)
      if (last_row_.emplace(kv.first, kv.second).second && std::isfinite(kv.second))
        tb_->add_scalar(kv.first, kv.second, step);
    write_row(last_row_);
    return;
  }
  std::fflush(progress_);
  last_row_offset_ = std::ftell(progress_);
  last_row_step_ = step;
  last_row_ = s;
  write_row(s);
  for (const auto& kv : s)
    if (std::isfinite(kv.second)) tb_->add_scalar(kv.first, kv.second, step);
  const auto r = s.find("rollout/ep_rew_mean");
  if (r != s.end() && std::isfinite(r->second)) {
    steps_.push_back(static_cast<double>(step));
    ep_rew_.push_back(r->second);
  }
}

void RunLogger::record_eval(std::int64_t step, double mean, double std_r, double mean_len, double std_len,
                            double success, const std::vector<EpisodeRow>& episodes) {
  std::fprintf(evals_, "%lld,%.6f,%.6f,%.3f,%.3f,%.4f\n", static_cast<long long>(step), mean, std_r, mean_len,
               std_len, success);
  for (std::size_t i = 0; i < episodes.size(); ++i)
    std::fprintf(eval_episodes_, "%lld,%zu,%.6f,%d,%d\n", static_cast<long long>(step), i + 1,
                 episodes[i].episode_return, episodes[i].length, episodes[i].survived ? 1 : 0);
  eval_steps_.push_back(static_cast<double>(step));
  eval_rew_.push_back(mean);
  eval_std_.push_back(std_r);
}

void RunLogger::record_episode(double episode_return, int length, double seconds) {
  std::fprintf(monitor_, "%.6g,%d,%.3f\n", episode_return, length, seconds);
}

void RunLogger::write_curve(const std::string& title) {
  Series train{"training episodes (mean of the last 100)", steps_, ep_rew_, 40, 110, 220, false, {}, {}};
  Series eval{"evaluations (deterministic; band: +-1 std)", eval_steps_, eval_rew_, 230, 80, 30, true, {}, {}};
  for (std::size_t i = 0; i < eval_rew_.size(); ++i) {
    eval.lo.push_back(eval_rew_[i] - eval_std_[i]);
    eval.hi.push_back(eval_rew_[i] + eval_std_[i]);
  }
  PlotOptions o;
  o.title = title;
  o.x_label = "env steps";
  o.y_label = "reward";
  const std::string path = (fs::path(run_dir_) / "learning_curve.png").string();
  const std::string tmp = path + ".tmp";
  write_learning_curve(tmp, {train, eval}, o);
  fs::rename(tmp, path);
}

void RunLogger::flush() {
  for (std::FILE* f : {progress_, evals_, eval_episodes_, monitor_}) std::fflush(f);
  tb_->flush();
}

std::vector<EvalRow> read_evaluations(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open (missing or unreadable)");
  std::vector<EvalRow> rows;
  std::string line;
  std::getline(in, line);
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    const auto cells = split_csv(line);
    try {
      if (cells.size() < 2) throw std::invalid_argument("short row");
      EvalRow r;
      r.step = std::stoll(cells[0]);
      r.mean_reward = std::stod(cells[1]);
      r.std_reward = cells.size() > 2 && !cells[2].empty() ? std::stod(cells[2]) : 0.0;
      rows.push_back(r);
    } catch (const std::exception&) {
      throw std::runtime_error(path + ":" + std::to_string(row) + ": not numbers (expected timesteps,mean_reward,...): " +
                               line);
    }
  }
  return rows;
}

}  // namespace dodge::output

// A training session (run/training.cpp): config, results folder, loop, evaluations, checkpoints,
// resume, logs. Ctrl-C / SIGTERM finish the step and write a checkpoint.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dodge::run {

struct TrainArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string resume;
  std::string device;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> steps;
  std::string results = "results";
};

// Runs a training session; throws UserError for bad input.
void train(const TrainArgs& args);

}  // namespace dodge::run

// dodge train (see train.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dodge::app {

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

}  // namespace dodge::app

// A training session (run/training.cpp): config, results folder, loop, evaluations, checkpoints,
// resume, logs. Ctrl-C / SIGTERM finish the step and write a checkpoint (stop_signal.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dodge/run/stop_signal.hpp"  // the signal rules, which the tests reach through this header

namespace dodge::run {

struct TrainArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string resume;
  std::string device;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> steps;
  std::string results = "results";
  // The returned timings count env steps from this step on; earlier ones are warm-up.
  std::int64_t timing_starts_at = 0;
  // Wait for the device at each phase boundary, so that each phase's time is its own: CUDA work
  // is asynchronous and otherwise lands in whichever phase waits next. Costs a little speed.
  bool sync_phases = false;
};

// Where a session's wall time went, over its env steps from timing_starts_at on.
struct TrainTimings {
  std::int64_t env_steps = 0;
  double env = 0;     // stepping the games and rendering into the buffer's next row
  double upload = 0;  // committing the step: the row's host-to-device copy on a GPU
  double act = 0;     // the actor's forward pass and the actions back on the host
  double update = 0;  // sampling batches and SAC updates
  double other = 0;   // logs, evaluations, checkpoints
  double collective = 0;  // of update: all-reduces with the other ranks (waits for them included)
  double seconds() const { return env + upload + act + update + other; }
};

// Runs a training session; throws UserError for bad input.
TrainTimings train(const TrainArgs& args);

}  // namespace dodge::run

// A monotonic clock in seconds, for durations in logs, benchmarks and collectives' timings.
#pragma once

#include <chrono>

namespace dodge::output {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace dodge::output

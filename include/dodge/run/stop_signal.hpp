// Ctrl-C and SIGTERM during a training session: the first asks the loop to finish its step and
// write a checkpoint; a user's late second Ctrl-C aborts.
#pragma once

#include <signal.h>

namespace dodge::run {

// The first SIGINT or SIGTERM stops the run with a checkpoint. Whether a later one aborts at once:
// only a SIGINT at least 2 s after the first (under torchrun a Ctrl-C arrives twice, from the
// terminal and forwarded by torchrun); SIGTERM never escalates.
bool second_signal_aborts(int signal, double seconds_since_first);

// What the signal handler does with a SIGINT or SIGTERM arriving at now_ns (CLOCK_MONOTONIC): the
// first asks for a stop; a later one is ignored or aborts (second_signal_aborts). Async-signal-safe
// and safe when two threads take signals at once. The handler calls it; tests call it directly.
enum class StopSignal { First, Ignored, Abort };
StopSignal stop_signal(int signal, long long now_ns);
// Forgets earlier requests (a new training session).
void reset_stop_signals();
// Whether a stop was asked for since the last reset.
bool stop_requested();

// While it lives, SIGINT and SIGTERM go to the handler above (earlier requests forgotten); the
// previous handlers come back after.
class StopSignalScope {
 public:
  StopSignalScope();
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace dodge::run

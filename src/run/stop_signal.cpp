// Ctrl-C and SIGTERM during a training session.
#include "dodge/run/stop_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <ctime>

namespace dodge::run {

namespace {

std::atomic<int> g_stop_requests{0};
std::atomic<long long> g_first_request_ns{0};

long long monotonic_ns() {  // clock_gettime is async-signal-safe
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec;
}

// The first SIGINT or SIGTERM asks the loop to stop and write a checkpoint. A user's second Ctrl-C
// aborts, but not one within 2 s of the first: under torchrun a Ctrl-C reaches every worker from
// the terminal and again from torchrun, which forwards it. SIGTERM (a launcher's or a scheduler's
// stop) never escalates: the checkpoint is being written.
void on_signal(int sig) {
  switch (stop_signal(sig, monotonic_ns())) {
    case StopSignal::First: {
      const char msg[] =
          "\ndodge: interrupt: finishing the step, writing a checkpoint (Ctrl-C again aborts)\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      return;
    }
    case StopSignal::Ignored: return;
    case StopSignal::Abort: {
      const char msg[] = "\ndodge: second interrupt, aborting now\n";
      ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      (void)ignored;
      ::_exit(130);
    }
  }
}

}  // namespace

bool second_signal_aborts(int signal, double seconds_since_first) {
  return signal == SIGINT && seconds_since_first >= 2.0;
}

StopSignal stop_signal(int signal, long long now_ns) {
  // The first request's time is recorded before it counts: a signal landing on another thread at
  // the same moment reads that time, never the 0 of "no request yet" (which once made the machine's
  // uptime the seconds since the first, and aborted the torchrun-forwarded copy).
  long long first = 0;
  const bool is_first = g_first_request_ns.compare_exchange_strong(first, now_ns);
  g_stop_requests.fetch_add(1);
  if (is_first) return StopSignal::First;
  return second_signal_aborts(signal, static_cast<double>(now_ns - first) * 1e-9) ? StopSignal::Abort
                                                                                  : StopSignal::Ignored;
}

void reset_stop_signals() {
  g_first_request_ns = 0;
  g_stop_requests = 0;
}

bool stop_requested() {
  return g_stop_requests.load() > 0;
}

StopSignalScope::StopSignalScope() {
  reset_stop_signals();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalScope::~StopSignalScope() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

}  // namespace dodge::run

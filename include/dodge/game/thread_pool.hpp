// A fixed pool of worker threads for data-parallel loops. The calling thread takes part, so a pool
// of T threads starts T - 1 workers. Work is split into contiguous static chunks, one per thread:
// each index is processed exactly once, and results that are written per index do not depend on
// the thread count. Workers spin briefly between jobs (a vectorized step is microseconds long),
// then sleep, so an idle pool does not steal cores from the learner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dodge::game {

// Threads for stepping n games when the user says 0 (automatic), for dodge train and the Python
// package alike: a few games step and render in microseconds, and extra threads would only compete
// with the learner's for the cores; many games are worth spreading over all of them.
int auto_threads(int n_envs);

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over a partition of [0, n) and returns when all calls are done.
  // The first exception thrown by any chunk is rethrown here.
  void parallel_for(int n, const std::function<void(int, int)>& fn);

 private:
  void worker_loop(int worker);
  void run_chunk(int chunk);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  // Current job (written before generation_ is bumped, read after it is seen)
  const std::function<void(int, int)>* fn_ = nullptr;
  int n_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace dodge::game

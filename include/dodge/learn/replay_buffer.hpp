// Replay buffer on a torch device (CPU or CUDA) that stores each observation once.
//
// Layout: a ring of R rows of N slots (N = n_envs); a vectorized step writes one row, env e in
// slot e. Slot (r, e) holds env e's observation at that step (a uint8 CHW frame or a float
// vector) and, once the next row is written, the action taken from it, the reward, terminated,
// truncated, and how many frames its episode had before it ("back", capped at 255).
// The next observation of (r, e) is (r + 1, e): no separate next-observation storage and no
// stacked copies. Stacks are rebuilt at sample time by the rule of render/frame_stack.hpp.
//
// With the VecEnv's next-step auto-reset, an episode's final frame gets its own slot (so a
// truncated transition bootstraps from the true final frame) and that slot starts no transition.
// Valid transition slots are kept in a FIFO of indices on the device, so sampling is uniform over
// exactly the valid ones and needs no host loop and no synchronisation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dodge/learn/sum_tree.hpp"

namespace dodge::learn {

struct ReplaySpec {
  std::int64_t capacity = 100000;  // transitions (rounded down to a multiple of n_envs)
  int n_envs = 1;
  int frame_stack = 1;
  std::vector<std::int64_t> obs_shape;  // one frame: {C, H, W} (uint8) or one vector: {D} (float)
  int action_dim = 3;
  // Write through a staging row and one upload per step even on the CPU, as CUDA always does
  // (tests compare both paths).
  bool staged_writes = false;
  bool image() const { return obs_shape.size() == 3; }
  std::int64_t obs_bytes() const;  // bytes of one stored observation
};

struct Batch {
  torch::Tensor obs;       // [B, k*C, H, W] uint8 or [B, k*D] float
  torch::Tensor actions;   // [B, A]
  torch::Tensor rewards;   // [B, 1]
  torch::Tensor next_obs;  // like obs
  torch::Tensor not_done;  // [B, 1]: 0 where terminated, else 1 (truncation bootstraps)
  // [B, 1]: the factor on the bootstrap value, gamma^h * not_done for an h-step return. Filled by
  // sampling with NStep; undefined otherwise, and then SAC uses gamma * not_done.
  torch::Tensor discount;
  // From ReplayBuffer::sample_into: [2B, ...] whose halves are obs and next_obs, reused by the next
  // sample_into of the same size.
  torch::Tensor stacks;
  // Prioritized replay only: [B, 1] importance weights on the critic loss (undefined: uniform
  // sampling), and where each sample sits in the buffer's priorities (for update_priorities).
  torch::Tensor weights;
  std::vector<std::int64_t> positions;
};

// Proportional prioritized replay (Schaul et al. 2016): P(i) = p_i^alpha / sum_k p_k^alpha with
// p_i = |TD error| + eps; new transitions enter at the largest priority so far; importance
// weights (N P(i))^-beta divided by the batch's largest (as Dopamine), beta annealed by the caller.
struct Priorities {
  double alpha = 0.6;
  double eps = 1e-6;
};

// n-step returns at sample time: rewards = sum_{k<h} gamma^k r_{t+k} and next_obs = obs_{t+h}, where
// h = n, or fewer when the episode ends (terminated or truncated) or the newest row comes first.
// As in SB3's n-step buffer, the entropy bonus counts only at the bootstrap state.
struct NStep {
  int n = 1;
  double gamma = 0.99;
};

// The replay buffer would not fit on its device.
class OutOfMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ReplayBuffer {
 public:
  // Bytes per transition: one observation, the action, reward, flags, back and the FIFO entry.
  static std::int64_t bytes_per_transition(const ReplaySpec& spec);
  static std::int64_t bytes_needed(const ReplaySpec& spec);
  // Free bytes on a device (CPU: MemAvailable; CUDA: cudaMemGetInfo).
  static std::int64_t free_bytes(const torch::Device& device);

  // Throws OutOfMemory (bytes needed vs free) before allocating anything when it does not fit.
  ReplayBuffer(const ReplaySpec& spec, torch::Device device);

  const ReplaySpec& spec() const { return spec_; }
  torch::Device device() const { return device_; }
  std::int64_t rows() const { return rows_; }
  std::int64_t capacity() const { return rows_ * spec_.n_envs; }
  std::int64_t size() const { return valid_count_; }  // transitions that can be sampled
  std::int64_t rows_written() const { return rows_written_; }

  // Writing, once per vectorized step:
  //   frames: render the N observations into next_frames() (or next_vectors()),
  //   then commit_reset() for the first row or commit_step() for every later one.
  // Host memory: the storage itself on CPU, a pinned staging row on CUDA (one copy per row).
  std::uint8_t* next_frames();
  float* next_vectors();
  void commit_reset();
  // actions [N*A], rewards [N], terminated/truncated/episode_start [N]: the step from the
  // previous row to the row just written. episode_start[e] = 1 means env e was reset instead.
  void commit_step(const float* actions, const float* rewards, const std::uint8_t* terminated,
                   const std::uint8_t* truncated, const std::uint8_t* episode_start);

  // B transitions, uniform over the valid ones, gathered on the device.
  Batch sample(std::int64_t batch_size, at::Generator& generator) const;
  // The same into `batch`, reusing its stack storage: the training loop keeps one Batch, so a
  // sample allocates no new frame memory (on the CPU a fresh 20-40 MB tensor per sample is a fresh
  // mmap, and its page faults cost more than the gather). The previous contents are overwritten.
  void sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator) const;
  // With n-step returns (n = 1 gives the same transitions as above, with discount filled in).
  void sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator,
                   const NStep& n_step) const;
  // Sampling in proportion to priority (enable_priorities first), with importance weights for this
  // beta; the batch's positions then go to update_priorities with the samples' |TD errors|.
  void sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator, const NStep& n_step,
                   double beta) const;
  void enable_priorities(const Priorities& priorities);
  bool prioritized() const { return static_cast<bool>(tree_); }
  // td_abs: [B] on any device, one per batch.positions entry.
  void update_priorities(const std::vector<std::int64_t>& positions, const torch::Tensor& td_abs);
  // The priority of each FIFO position (p^alpha, float64; 0 where no transition is) and the largest
  // |TD|-based priority so far: for checkpoints, which keep them beside the buffer.
  torch::Tensor priorities() const;
  double max_priority() const { return max_priority_; }
  void set_priorities(const torch::Tensor& priorities, double max_priority);
  // Stacks of given slots (obs) as sampled: [n, k*C, H, W].
  torch::Tensor stacks(const torch::Tensor& slots) const;
  // The newest row's stacks: the current observation of every env, [N, k*C, H, W].
  torch::Tensor current_stacks() const;

  // Inspection (tests): slot index of (row, env) and the valid slots, on the CPU.
  torch::Tensor valid_slots() const;
  std::int64_t newest_row() const { return (rows_written_ - 1) % rows_; }

  // Saves the filled part, zstd-compressed, to path (throws std::runtime_error on I/O errors).
  void save(const std::string& path) const;
  // Loads a file saved with the same spec; throws std::runtime_error naming the file and what is
  // wrong (truncated, corrupt, other spec).
  void load(const std::string& path);

 private:
  // ring: FIFO positions to sample (undefined: uniform over the valid ones).
  void sample_impl(Batch& batch, std::int64_t batch_size, at::Generator& generator, const NStep* n_step,
                   const torch::Tensor& ring = {}) const;
  torch::Tensor gather_stacks(const torch::Tensor& slots, const torch::Tensor& rows,
                              const torch::Tensor& back, const torch::Tensor& age) const;
  torch::Tensor frame_indices(const torch::Tensor& slots, const torch::Tensor& rows,
                              const torch::Tensor& back, const torch::Tensor& age) const;
  void begin_row();
  std::uint8_t* staging_row();
  void finish_row(const std::uint8_t* episode_start, std::int64_t prev, std::int64_t pushed,
                  std::int64_t tail);
  void upload_row(std::int64_t pos, std::int64_t prev, std::int64_t pushed, std::int64_t tail);

  ReplaySpec spec_;
  torch::Device device_;
  std::int64_t rows_ = 0;
  // Device storage
  torch::Tensor obs_;      // [R*N, ...obs_shape] uint8 or float
  torch::Tensor actions_;  // [R*N, A] float
  torch::Tensor rewards_;  // [R*N] float
  torch::Tensor flags_;    // [R*N] uint8: bit 0 terminated, bit 1 truncated
  torch::Tensor back_;     // [R*N] uint8: frames of its episode before this one (capped)
  torch::Tensor fifo_;     // [R*N] int64: valid transition slots, oldest first (ring)
  // Staged writes (always on CUDA): a vectorized step goes into a host staging row, pinned on CUDA,
  // laid out as frames | actions | rewards | flags | back | FIFO pushes; one asynchronous copy takes
  // it to device_stage_, and device-side copies put each part in place. Two host rows are used in
  // turn, each reused only after its copy has finished.
  struct StageLayout {
    std::int64_t actions = 0, rewards = 0, flags = 0, back = 0, push = 0, bytes = 0;  // byte offsets
  };
  bool staged_ = false;
  StageLayout layout_;
  torch::Tensor staging_[2];
  torch::Tensor device_stage_;
  int staging_index_ = 0;
  struct CopyEvents;
  std::shared_ptr<CopyEvents> events_;
  bool row_open_ = false;
  // Host bookkeeping
  std::int64_t rows_written_ = 0;        // rows committed so far (absolute)
  std::vector<std::int64_t> row_valid_;  // valid FIFO entries per row position
  std::int64_t fifo_head_ = 0, valid_count_ = 0;
  std::vector<int> since_start_;  // per env, frames since its episode's first
  // Scratch (host) for one row's metadata on the direct (unstaged) path
  std::vector<std::uint8_t> row_back_, row_flags_;
  std::vector<std::int64_t> push_slots_;
  // Prioritized replay: a sum tree over FIFO positions (an entry keeps its position while it lives).
  std::unique_ptr<SumTree> tree_;
  Priorities per_;
  double max_priority_ = 1.0;  // of p^alpha
};

}  // namespace dodge::learn

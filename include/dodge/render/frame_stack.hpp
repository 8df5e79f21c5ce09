// Frame stacks rebuilt from single frames.
//
// The rule (shared by the host ring below and the replay buffer's device gather): the stack of
// frame t holds frames t-k+1 .. t, oldest first, along the channel axis. Position j (j = 0 the
// newest) takes frame t - min(j, since_start, available - 1), where since_start counts the frames
// since the episode's first frame and available the frames still held. So positions before an
// episode's first frame repeat that first frame (SB3's VecFrameStack pads with zeros instead),
// and a stack never mixes two episodes.
#pragma once

#include <cstdint>
#include <vector>

namespace dodge::render {

// Offset back from the newest frame for stack position j (0 = newest).
inline int stack_offset(int j, int since_start, int available) {
  int o = j;
  if (since_start < o) o = since_start;
  if (available - 1 < o) o = available - 1;
  return o < 0 ? 0 : o;
}

// The last k frames of each of n envs, for acting on the current observation.
class FrameStacker {
 public:
  FrameStacker(int n_envs, int k, std::int64_t frame_bytes);

  int stack() const { return k_; }
  std::int64_t frame_bytes() const { return frame_bytes_; }
  // Where env's next frame goes (render straight into it), then push() to commit it.
  std::uint8_t* next_frame(int env);
  void push(int env, bool episode_start);
  // Writes env's [k * C, H, W] stack, oldest first, to dst (k * frame_bytes bytes).
  void write_stack(int env, std::uint8_t* dst) const;
  // All envs' stacks, env after env (n * k * frame_bytes bytes).
  void write_all(std::uint8_t* dst) const;

 private:
  int n_, k_;
  std::int64_t frame_bytes_;
  std::vector<std::uint8_t> ring_;   // n * k frames
  std::vector<int> head_;            // slot of the newest committed frame per env
  std::vector<int> since_start_;     // frames since the episode's first, per env
  std::vector<int> count_;           // frames held per env (<= k)
};

}  // namespace dodge::render

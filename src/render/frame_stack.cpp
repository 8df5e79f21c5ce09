#include "dodge/render/frame_stack.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace dodge::render {

FrameStacker::FrameStacker(int n_envs, int k, std::int64_t frame_bytes)
    : n_(n_envs), k_(k), frame_bytes_(frame_bytes) {
  if (n_envs < 1) throw std::invalid_argument("FrameStacker: n_envs = " + std::to_string(n_envs) + " < 1");
  if (k < 1) throw std::invalid_argument("FrameStacker: stack = " + std::to_string(k) + " < 1");
  if (frame_bytes < 1)
    throw std::invalid_argument("FrameStacker: frame_bytes = " + std::to_string(frame_bytes) + " < 1");
  // Zeroed, so a stack read before an env's first push is defined (all zeros).
  ring_.assign(static_cast<std::size_t>(n_envs) * k * frame_bytes, 0);
  head_.assign(static_cast<std::size_t>(n_envs), k - 1);  // the first push lands in slot 0
  since_start_.assign(static_cast<std::size_t>(n_envs), 0);
  count_.assign(static_cast<std::size_t>(n_envs), 0);
}

std::uint8_t* FrameStacker::next_frame(int env) {
  const std::size_t e = static_cast<std::size_t>(env);
  const int slot = (head_[e] + 1) % k_;
  return ring_.data() + (static_cast<std::int64_t>(env) * k_ + slot) * frame_bytes_;
}

void FrameStacker::push(int env, bool episode_start) {
  const std::size_t e = static_cast<std::size_t>(env);
  head_[e] = (head_[e] + 1) % k_;
  // An env's first frame starts its history whatever the flag says.
  if (episode_start || count_[e] == 0) {
    since_start_[e] = 0;
    count_[e] = 1;
  } else {
    // Offsets never exceed k - 1, so capping at k keeps the rule and avoids overflow.
    if (since_start_[e] < k_) ++since_start_[e];
    if (count_[e] < k_) ++count_[e];
  }
}

void FrameStacker::write_stack(int env, std::uint8_t* dst) const {
  const std::size_t e = static_cast<std::size_t>(env);
  const std::uint8_t* base = ring_.data() + static_cast<std::int64_t>(env) * k_ * frame_bytes_;
  for (int p = 0; p < k_; ++p) {
    const int j = k_ - 1 - p;  // oldest first: output position p holds stack position k-1-p
    const int slot = (head_[e] - stack_offset(j, since_start_[e], count_[e]) + k_) % k_;
    std::memcpy(dst + p * frame_bytes_, base + slot * frame_bytes_, static_cast<std::size_t>(frame_bytes_));
  }
}

void FrameStacker::write_all(std::uint8_t* dst) const {
  for (int env = 0; env < n_; ++env)
    write_stack(env, dst + static_cast<std::int64_t>(env) * k_ * frame_bytes_);
}

}  // namespace dodge::render

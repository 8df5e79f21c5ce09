// The one observation writer: each env's frame (a rendered image or the game's vector) written
// where its consumer keeps it. The replay buffer's sink (frames straight into the buffer's next
// row, stacked at sample time), the Python env's rows and a policy's input stacks all use it.
#pragma once

#include <cstdint>
#include <optional>

#include "dodge/game/vec_env.hpp"
#include "dodge/render/env_config.hpp"
#include "dodge/render/frame_stack.hpp"
#include "dodge/render/render.hpp"

namespace dodge::render {

class ObsWriter : public game::ObsSink {
 public:
  // stack false: each observation is one frame (the replay buffer stacks at sample time). stack
  // true: each observation is the stack of the env's last frame_stack frames, oldest first (a
  // ring per env keeps them; with frame_stack 1 the frame goes straight to its row).
  ObsWriter(const EnvConfig& config, int n_envs, bool stack);

  bool image() const { return image_; }
  std::int64_t frame_bytes() const { return frame_bytes_; }
  std::int64_t observation_bytes() const { return frame_bytes_ * (stacker_ ? stacker_->stack() : 1); }

  // Where observations go: env e's at base + e * stride (the replay buffer's next row, the Python
  // env's rows, a policy's input batch). Call again when the destination moves.
  void point_at(std::uint8_t* base, std::int64_t stride) {
    base_ = base;
    stride_ = stride;
  }

  // A VecEnv sink: env's observation after a reset or a step (a new episode when s.steps == 0).
  // Distinct envs may be written from distinct threads at once.
  void write(int env, const game::GameState& s) override { observe(env, s, s.steps == 0); }
  void observe(int env, const game::GameState& s, bool episode_start);

 private:
  void write_frame(const game::GameState& s, std::uint8_t* dst) const;

  game::GameParams params_;
  bool image_;
  std::optional<Renderer> renderer_;  // images only
  std::int64_t frame_bytes_;
  std::optional<FrameStacker> stacker_;  // stacks of more than one frame only
  std::uint8_t* base_ = nullptr;
  std::int64_t stride_ = 0;
};

}  // namespace dodge::render

// Episode recordings as animated GIFs: the top-down scene at 256 x 256 RGB with off-screen
// markers, in real time (agent steps subsampled to at most 30 frames/s), with an overlay: the
// episode as `dodge eval` numbers it, step, return, and a marked hit.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dodge/game/game.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/config.hpp"

namespace dodge::run {

class EpisodeRecorder {
 public:
  EpisodeRecorder(const std::string& path, const Config& config, int episodes, int size = 256);
  // Call after each reset/step of the recorded game; stops by itself after `episodes` episodes.
  void add(const game::GameState& state, const float* action);
  void close();
  bool done() const { return episodes_done_ >= episodes_; }

 private:
  render::Renderer renderer_;
  std::unique_ptr<output::GifWriter> gif_;
  std::vector<std::uint8_t> chw_;
  int episodes_, episodes_done_ = 0, stride_ = 1, counter_ = 0, hold_frames_ = 0;
  bool started_ = false;
};

}  // namespace dodge::run

#include "dodge/run/recording.hpp"

#include <cmath>

namespace dodge::run {

namespace {
render::RenderConfig recording_render(const Config& c, int size) {
  render::RenderConfig r = c.env.render;
  r.width = r.height = size;
  r.grayscale = false;
  r.offscreen_markers = true;
  r.min_radius_px = 2.0;
  return r;
}
}  // namespace

EpisodeRecorder::EpisodeRecorder(const std::string& path, const Config& config, int episodes, int size)
    : renderer_(recording_render(config, size)), episodes_(std::max(1, episodes)) {
  const double agent_fps = static_cast<double>(config.env.game.physics_hz) / config.env.game.frame_skip;
  stride_ = std::max(1, static_cast<int>(std::ceil(agent_fps / 30.0 - 1e-9)));
  try {
    gif_ = std::make_unique<output::GifWriter>(path, size, size, agent_fps / stride_);
  } catch (const std::exception& e) {
    throw UserError(std::string("--record: ") + e.what());
  }
  chw_.resize(static_cast<std::size_t>(renderer_.config().frame_bytes()));
}

void EpisodeRecorder::add(const game::GameState& state, const float*) {
  if (done() || !gif_) return;
  if (state.steps == 0) {
    if (started_) ++episodes_done_;
    started_ = true;
    counter_ = 0;
    if (done()) return;
  }
  const bool last = state.terminated || state.truncated;
  if (counter_++ % stride_ != 0 && !last) return;
  renderer_.render(state, render::dense_view(renderer_.config(), chw_.data()));
  const auto& rc = renderer_.config();
  gif_->add_frame(output::chw_to_image(chw_.data(), 3, rc.height, rc.width, 1));
}

void EpisodeRecorder::close() {
  if (gif_) gif_->close();
}

}  // namespace dodge::run

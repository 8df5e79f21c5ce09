#include "dodge/run/recording.hpp"

#include <cmath>
#include <cstdio>

#include "dodge/game/constants.hpp"
#include "dodge/output/plot.hpp"

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
  hold_frames_ = static_cast<int>(std::lround(0.5 * agent_fps / stride_));
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
  output::Image img = output::chw_to_image(chw_.data(), 3, rc.height, rc.width, 1);
  // The overlay: which episode (as `dodge eval` numbers them), the step and the return so far;
  // a hit gets a red ring and a label, held for half a second.
  char text[96];
  std::snprintf(text, sizeof text, "game 0 #%d  step %d  return %.0f", episodes_done_ + 1, state.steps,
                state.episode_return);
  output::draw_text(img, 4, 4, text, 255, 255, 255, 1);
  if (state.terminated) {
    const double cx = renderer_.to_px(state.player.x), cy = renderer_.to_py(state.player.y);
    const double r = std::max(game::kPlayerRadius * rc.width / rc.view_extent, 4.0) + 3.0;
    for (int a = 0; a < 720; ++a) {
      const double t = a * M_PI / 360.0;
      for (double dr : {0.0, 1.0}) {
        const int x = static_cast<int>(std::lround(cx + (r + dr) * std::cos(t)));
        const int y = static_cast<int>(std::lround(cy + (r + dr) * std::sin(t)));
        if (x >= 0 && y >= 0 && x < img.width && y < img.height) {
          std::uint8_t* p = img.at(x, y);
          p[0] = 255, p[1] = 40, p[2] = 40;
        }
      }
    }
    output::draw_text(img, 4, 14, "HIT", 255, 40, 40, 2);
  }
  if (state.truncated && !state.terminated) output::draw_text(img, 4, 14, "SURVIVED", 80, 230, 80, 2);
  gif_->add_frame(img);
  if (last)
    for (int i = 0; i < hold_frames_; ++i) gif_->add_frame(img);
}

void EpisodeRecorder::close() {
  if (gif_) gif_->close();
}

}  // namespace dodge::run

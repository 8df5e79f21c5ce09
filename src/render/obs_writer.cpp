#include "dodge/render/obs_writer.hpp"

namespace dodge::render {

namespace {
std::int64_t frame_bytes_of(const EnvConfig& c, bool image) {
  return image ? c.render.frame_bytes()
               : static_cast<std::int64_t>(game::vector_obs_size(c.game.observation_mode)) *
                     static_cast<std::int64_t>(sizeof(float));
}
}  // namespace

ObsWriter::ObsWriter(const EnvConfig& c, int n_envs, bool stack)
    : params_(game::resolve(c.game)),
      image_(c.game.observation_mode == game::ObsMode::Topdown),
      frame_bytes_(frame_bytes_of(c, image_)) {
  if (image_) renderer_.emplace(c.render);
  if (stack && c.frame_stack > 1) stacker_.emplace(n_envs, c.frame_stack, frame_bytes_);
}

void ObsWriter::write_frame(const game::GameState& s, std::uint8_t* dst) const {
  if (image_)
    renderer_->render(s, dense_view(renderer_->config(), dst));
  else
    game::write_vector_obs(params_, s, reinterpret_cast<float*>(dst));
}

void ObsWriter::observe(int env, const game::GameState& s, bool episode_start) {
  std::uint8_t* dst = base_ + env * stride_;
  if (!stacker_) {
    write_frame(s, dst);
    return;
  }
  write_frame(s, stacker_->next_frame(env));
  stacker_->push(env, episode_start);
  stacker_->write_stack(env, dst);
}

}  // namespace dodge::render

// TEMPORARY (local link only; delete before commit): a fake Agent so `dodge watch` can run.
#include <cmath>
#include "dodge/app/agent.hpp"
#include "dodge/render/frame_stack.hpp"
#include "dodge/render/render.hpp"
namespace dodge::app {
namespace {
class StubAgent : public Agent {
 public:
  StubAgent(Config c, std::string dir)
      : c_(std::move(c)), dir_(std::move(dir)), r_(c_.env.render), st_(1, c_.env.frame_stack, c_.env.render.frame_bytes()) {}
  const Config& config() const override { return c_; }
  const std::string& checkpoint_dir() const override { return dir_; }
  int n_envs() const override { return 1; }
  void observe(int, const game::GameState& s, bool start) override {
    s_ = s;
    if (c_.env.game.observation_mode == game::ObsMode::Topdown) {
      r_.render(s, render::dense_view(c_.env.render, st_.next_frame(0)));
      st_.push(0, start);
    }
  }
  void act(bool, float* a) override {
    double dx = 0, dy = 0;
    for (auto& b : s_.balls) {
      double rx = s_.player.x - b.x, ry = s_.player.y - b.y, d = std::hypot(rx, ry);
      if (d < 6) dx += rx / (d * d), dy += ry / (d * d);
    }
    dx -= s_.player.x * 0.05; dy -= s_.player.y * 0.05;
    double l = std::hypot(dx, dy) + 1e-9;
    a[0] = float(dx / l); a[1] = float(dy / l); a[2] = 1.0f;
  }
  std::vector<std::uint8_t> stacked_frames(int) const override {
    if (c_.env.game.observation_mode != game::ObsMode::Topdown) return {};
    std::vector<std::uint8_t> v(st_.stack() * st_.frame_bytes());
    st_.write_stack(0, v.data());
    return v;
  }
 private:
  Config c_; std::string dir_; render::Renderer r_; render::FrameStacker st_; game::GameState s_;
};
}  // namespace
std::unique_ptr<Agent> Agent::load(const std::string& path, const std::vector<std::string>& ov, const std::string&, int) {
  if (path == "missing") throw UserError("no checkpoint at " + path + " (stub)");
  Config c;
  c.env.game.observation_mode = game::ObsMode::Topdown;
  c.env.frame_stack = 4;
  apply_overrides(c, ov);
  return std::make_unique<StubAgent>(c, path);
}
}  // namespace dodge::app

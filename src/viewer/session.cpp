#include "dodge/viewer/session.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "dodge/game/constants.hpp"

namespace dodge::viewer {

namespace {
constexpr int kMaxStepsPerFrame = 64;  // at high speed, drop the backlog rather than freeze
constexpr double kGifMaxFps = 50.0;    // GIF delays are whole 1/100 s, at least 2
}  // namespace

Session::Session(Viewer& viewer, const run::Config& config, const SessionOptions& options)
    : options_(options), viewer_(viewer), config_(config) {
  if (options_.fps < 0 || options_.fps > 1000) throw run::UserError("--fps must be in [0, 1000]");
  const double fps = options_.fps > 0 ? options_.fps : viewer_.refresh_rate();
  frame_seconds_ = 1.0 / fps;
  set_config(config);
  if (!options_.record_path.empty()) {
    if (options_.record_episodes < 1) throw run::UserError("--record-episodes must be at least 1");
    // Keep every n-th frame so the GIF's rate is at most 50 fps and at most the agent's step rate.
    const double cap = std::min(kGifMaxFps, 1.0 / step_seconds_);
    gif_every_ = std::max(1, static_cast<int>(std::ceil(fps / cap - 1e-9)));
    recording_ = true;
  }
}

Session::~Session() {
  try {
    finish_recording();
  } catch (...) {
    // A destructor must not throw; run() reports write errors.
  }
}

void Session::set_config(const run::Config& config) {
  config_ = config;
  const auto& g = config_.env.game;
  env_ = std::make_unique<game::VecEnv>(g, 1, 1, options_.seed);
  out_.resize(1);
  action_.assign(static_cast<std::size_t>(env_->action_dim()), 0.0f);
  step_seconds_ = static_cast<double>(g.frame_skip) / g.physics_hz;
  start_episode(false);
}

void Session::start_episode(bool via_step) {
  if (via_step) {
    env_->step(action_.data(), out_, nullptr);  // NextStep auto-reset: the action is ignored
  } else {
    env_->reset(nullptr);
  }
  if (started_ && episode_has_steps_) ++episode_;  // a reset of an unplayed episode keeps its number
  started_ = true;
  episode_has_steps_ = false;
  viewer_.track(state(), true);
  observe_pending_ = true;  // observed() is virtual: deliver it from frame(), not a constructor
  holding_ = waiting_restart_ = hold_ended_ = false;
  last_hit_ = last_survived_ = false;
  has_action_ = false;
  clock_ = 0.0;
}

void Session::flush_observe() {
  if (!observe_pending_) return;
  observe_pending_ = false;
  observed(true);
}

void Session::agent_step() {
  flush_observe();
  if (holding_) {
    start_episode(true);
    flush_observe();
    return;
  }
  act(action_.data());
  has_action_ = episode_has_steps_ = true;
  env_->step(action_.data(), out_, nullptr);
  viewer_.track(state(), false);
  observed(false);
  if (!out_.finished.empty()) end_episode(out_.finished.front(), false);
}

void Session::restart() {
  const auto& s = state();
  if (!holding_ && s.steps > 0) {
    game::EpisodeEnd end;
    end.episode_return = s.episode_return;
    end.length = s.steps;
    end_episode(end, true);
  }
  start_episode(false);
}

void Session::end_episode(const game::EpisodeEnd& end, bool by_reset) {
  ++finished_;
  episode_done(end, by_reset);
  bool stop_recording = false;
  if (recording_ && ++recorded_episodes_ >= options_.record_episodes) stop_recording = true;
  const bool stop = options_.max_episodes > 0 && finished_ >= options_.max_episodes;
  if (by_reset) {
    if (stop_recording) finish_recording();
    if (stop) quit_ = true;
    return;
  }
  holding_ = true;
  waiting_restart_ = !options_.auto_restart;
  hold_left_ = options_.hold_seconds;
  last_hit_ = end.terminated;
  last_survived_ = !end.terminated;
  // The recording and the run end once the GAME OVER frame has been on screen for the hold.
  stop_recording_after_hold_ = stop_recording;
  quit_after_hold_ = stop;
}

void Session::hold_done() {
  hold_ended_ = true;
  if (stop_recording_after_hold_) finish_recording();
  stop_recording_after_hold_ = false;
  if (quit_after_hold_) {
    quit_ = true;
    return;
  }
  if (!waiting_restart_) start_episode(true);
}

void Session::toggle_pause() {
  paused_ = !paused_;
}

bool Session::press(SDL_Keycode key) {
  if (key == SDLK_ESCAPE || key == SDLK_q) {
    quit_ = true;
    return false;
  }
  if (on_key(key)) return true;
  switch (key) {
    case SDLK_SPACE: toggle_pause(); return true;
    case SDLK_n:
      if (paused_) {
        agent_step();
        stepped_ = true;
      }
      return true;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS: speed_ = std::min(speed_ * 2.0, 16.0); return true;
    case SDLK_MINUS:
    case SDLK_KP_MINUS: speed_ = std::max(speed_ / 2.0, 1.0 / 16.0); return true;
    case SDLK_r: restart(); return true;
    default: return true;
  }
}

bool Session::frame() {
  flush_observe();
  const Events ev = viewer_.poll_events();
  if (ev.quit) quit_ = true;
  for (SDL_Keycode k : ev.pressed) {
    if (quit_) break;
    press(k);
  }
  if (quit_) return false;

  // Advance the game clock; the env steps whenever a whole agent step is owed.
  bool advanced = stepped_;
  stepped_ = false;
  if (!paused_) {
    const double dt = frame_seconds_ * speed_;
    if (holding_) {
      advanced = !hold_ended_;
      hold_left_ -= dt;
      if (!hold_ended_ && hold_left_ <= 0) hold_done();
    } else {
      advanced = true;
      clock_ += dt;
      int n = 0;
      while (clock_ >= step_seconds_ - 1e-9 && !holding_ && n < kMaxStepsPerFrame) {
        agent_step();
        clock_ -= step_seconds_;
        ++n;
      }
      if (holding_ || n == kMaxStepsPerFrame) clock_ = 0.0;
    }
  }
  if (quit_) return false;
  flush_observe();

  HudInfo hud;
  const auto& s = state();
  hud.level = config_.env.game.level;
  hud.episode = episode_;
  hud.step = s.steps;
  hud.max_steps = config_.env.game.max_episode_steps;
  hud.episode_return = s.episode_return;
  hud.action_type = config_.env.game.action_space_type;
  if (has_action_) hud.action = action_;
  const bool paced = options_.pace && options_.screenshot_path.empty();
  // Unpaced runs (screenshots, tests) draw faster than real time; show the game's frame rate then.
  hud.fps = paced ? fps_measured_ : 1.0 / frame_seconds_;
  hud.target_fps = paced ? 1.0 / frame_seconds_ : 0.0;
  hud.game_over = holding_ && last_hit_;
  hud.survived = holding_ && last_survived_;
  if (paused_) hud.lines.push_back("PAUSED  (N: one step)");
  if (speed_ != 1.0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "game speed x%g", speed_);
    hud.lines.push_back(buf);
  }
  fill_hud(hud);
  viewer_.draw(s, hud, inset());
  ++frames_;
  if (recording_ && advanced && gif_counter_++ % gif_every_ == 0) record_frame();
  if (!options_.screenshot_path.empty() && frames_ >= options_.screenshot_frames) {
    output::write_png(options_.screenshot_path, viewer_.read_pixels());
    std::printf("wrote %s (frame %d, %dx%d)\n", options_.screenshot_path.c_str(), frames_, viewer_.width(),
                viewer_.height());
    std::fflush(stdout);
    quit_ = true;
  }
  viewer_.present();
  measure_fps();
  pace();
  return !quit_;
}

void Session::run() {
  while (frame()) {
  }
  finish_recording();
}

void Session::record_frame() {
  output::Image image = viewer_.read_pixels();
  if (!options_.record_full_size) image = downscale2(image);
  if (!gif_) {
    gif_width_ = image.width;
    gif_height_ = image.height;
    gif_fps_ = 1.0 / (frame_seconds_ * gif_every_);
    gif_ = std::make_unique<output::GifWriter>(options_.record_path, gif_width_, gif_height_, gif_fps_);
  }
  gif_->add_frame(reduce_colors(resize_nearest(image, gif_width_, gif_height_)));
}

void Session::finish_recording() {
  if (!recording_) return;
  recording_ = false;
  if (!gif_) return;
  const int n = gif_->frames();
  gif_->close();
  gif_.reset();
  std::printf("wrote %s (%d frames, %dx%d, %.1f fps)\n", options_.record_path.c_str(), n, gif_width_,
              gif_height_, gif_fps_);
  std::fflush(stdout);
}

void Session::measure_fps() {
  const std::uint64_t now = SDL_GetPerformanceCounter();
  const double freq = static_cast<double>(SDL_GetPerformanceFrequency());
  if (fps_t0_ == 0) fps_t0_ = now;
  ++fps_frames_;
  const double elapsed = static_cast<double>(now - fps_t0_) / freq;
  if (elapsed >= 0.5) {
    fps_measured_ = fps_frames_ / elapsed;
    fps_frames_ = 0;
    fps_t0_ = now;
  }
}

void Session::pace() {
  // Screenshots and tests run as fast as they can; vsync (--fps 0) paces itself in present().
  if (!options_.pace || !options_.screenshot_path.empty() || options_.fps <= 0) return;
  const std::uint64_t freq = SDL_GetPerformanceFrequency();
  const std::uint64_t period = freq / static_cast<std::uint64_t>(options_.fps);
  std::uint64_t now = SDL_GetPerformanceCounter();
  if (next_deadline_ == 0 || now > next_deadline_ + period) {
    next_deadline_ = now + period;  // first frame, or too far behind to catch up
    return;
  }
  while (now < next_deadline_) {
    const std::uint64_t ms = (next_deadline_ - now) * 1000 / freq;
    if (ms > 1) SDL_Delay(static_cast<Uint32>(ms - 1));
    now = SDL_GetPerformanceCounter();
  }
  next_deadline_ += period;
}

// ---------------------------------------------------------------------------------------------
// play

PlaySession::PlaySession(Viewer& viewer, const run::Config& config, const SessionOptions& options,
                         std::function<game::Keys(const game::GameState&)> pilot)
    : Session(viewer, config, options), pilot_(std::move(pilot)) {}

void PlaySession::act(float* action) {
  const game::Keys keys = pilot_ ? pilot_(state()) : viewer().held_keys();
  game::keyboard_action(config().env.game.action_space_type, keys, action);
}

bool PlaySession::on_key(SDL_Keycode key) {
  switch (key) {
    case SDLK_SPACE: return true;  // jump: read from the held keys at the next step
    case SDLK_p: toggle_pause(); return true;
    case SDLK_l: {
      restart();  // the episode on screen ends here (and is reported) before the level changes
      run::Config c = config();
      c.env.game.level = c.env.game.level == 1 ? 2 : 1;
      set_config(c);
      return true;
    }
    default: return false;
  }
}

void PlaySession::fill_hud(HudInfo& hud) {
  const auto& g = config().env.game;
  char buf[160];
  std::snprintf(buf, sizeof buf, "dodge play   %s   frame_skip %d%s", game::to_string(g.action_space_type),
                g.frame_skip, pilot_ ? "   (demo pilot)" : "");
  hud.title = buf;
  hud.return_label = "score";
  if (has_best_) {
    std::snprintf(buf, sizeof buf, "best    %.2f", best_);
    hud.lines.insert(hud.lines.begin(), buf);
  }
  hud.controls =
      "WASD/arrows move   Shift sprint   Space jump   P pause   R restart   L level 1<->2   Esc/Q quit";
  if (holding()) {
    std::snprintf(buf, sizeof buf, "score %.1f%s", state().episode_return,
                  options_.auto_restart ? "" : "   press R to play again");
    hud.banner_note = buf;
  }
}

void PlaySession::episode_done(const game::EpisodeEnd& end, bool by_reset) {
  best_ = has_best_ ? std::max(best_, end.episode_return) : end.episode_return;
  has_best_ = true;
  std::printf("episode %d: score %.2f, length %d, %s\n", episode_number(), end.episode_return, end.length,
              by_reset         ? "restarted"
              : end.terminated ? "hit"
                               : "survived");
  std::fflush(stdout);
}

std::function<game::Keys(const game::GameState&)> demo_pilot(const game::GameParams& params,
                                                             std::uint64_t seed) {
  struct Pilot {
    game::GameParams params;
    game::Rng rng;
    double tx = 0, ty = 0;  // wander target
    int steps_left = 0;
  };
  auto pilot = std::make_shared<Pilot>();
  pilot->params = params;
  pilot->rng = game::Rng(seed ^ 0x5eedULL);
  return [pilot](const game::GameState& s) {
    Pilot& p = *pilot;
    const double speed = p.params.player_speed * (1.0 + p.params.sprint_multiplier);
    const double px = s.player.x, py = s.player.y, pz = s.player.z;
    // Try the 8 directions at full sprint and standing still: keep the one whose closest
    // predicted ball (straight flight under gravity, no bounce) over the next 0.6 s stays farthest.
    constexpr int kDirs = 9;
    double best_score = -1e9, stay_clearance = 1e9;
    int best = 8;
    for (int d = 0; d < kDirs; ++d) {
      const double a = d * M_PI / 4;
      const double dx = d < 8 ? std::cos(a) : 0.0, dy = d < 8 ? std::sin(a) : 0.0;
      double clearance = 1e9;
      for (double t = 0; t <= 0.6; t += 1.0 / 60) {
        const double x = std::clamp(px + dx * speed * t, -game::kCourtHalfX, game::kCourtHalfX);
        const double y = std::clamp(py + dy * speed * t, -game::kCourtHalfY, game::kCourtHalfY);
        for (const auto& b : s.balls) {
          const double bz = std::max(game::kBounceHeight, b.z + b.vz * t - 0.5 * game::kBallGravity * t * t);
          clearance = std::min(clearance, std::hypot(b.x + b.vx * t - x, b.y + b.vy * t - y, bz - pz));
        }
        for (const auto& in : s.indicators) {  // a throw about to launch from its indicator
          if (in.time_left > t) continue;
          const double u = t - in.time_left;
          const auto& b = in.ball;
          clearance = std::min(clearance, std::hypot(b.x + b.vx * u - x, b.y + b.vy * u - y, b.z - pz));
        }
      }
      if (d == 8) stay_clearance = clearance;
      // Small pull to the middle of the court, where every direction stays open.
      const double ex = px + dx * speed * 0.3, ey = py + dy * speed * 0.3;
      const double score = std::min(clearance, 3.0) - 0.05 * std::hypot(ex, ey);
      if (score > best_score + 1e-9) best_score = score, best = d;
    }
    game::Keys k;
    const bool threat = stay_clearance < 2.5;
    double dx = 0, dy = 0;
    if (threat) {
      if (best < 8) dx = std::cos(best * M_PI / 4), dy = std::sin(best * M_PI / 4);
    } else {
      if (--p.steps_left <= 0 || std::hypot(p.tx - px, p.ty - py) < 0.3) {
        p.tx = p.rng.uniform(-3.0, 3.0);
        p.ty = p.rng.uniform(-2.5, 2.5);
        p.steps_left = 90;
      }
      dx = p.tx - px;
      dy = p.ty - py;
    }
    const double len = std::hypot(dx, dy);
    if (len > 1e-6) {
      k.right = dx / len > 0.38;
      k.left = dx / len < -0.38;
      k.up = dy / len > 0.38;
      k.down = dy / len < -0.38;
    }
    k.sprint = threat;
    return k;
  };
}

// ---------------------------------------------------------------------------------------------
// watch

WatchSession::WatchSession(Viewer& viewer, run::Agent& agent, const SessionOptions& options,
                           bool deterministic, std::string title)
    : Session(viewer, agent.config(), options),
      agent_(agent),
      deterministic_(deterministic),
      title_(std::move(title)) {}

void WatchSession::act(float* action) {
  agent_.act(deterministic_, action);
  // A policy's output is in [-1, 1] up to rounding; the env rejects anything outside.
  for (int i = 0; i < game::action_dim(config().env.game.action_space_type); ++i)
    action[i] = std::clamp(action[i], -1.0f, 1.0f);
}

void WatchSession::observed(bool episode_start) {
  agent_.observe(0, state(), episode_start);
}

bool WatchSession::on_key(SDL_Keycode key) {
  if (key != SDLK_d) return false;
  deterministic_ = !deterministic_;
  return true;
}

void WatchSession::fill_hud(HudInfo& hud) {
  hud.title = title_;
  const auto& env = config().env;
  char buf[200];
  if (env.game.observation_mode == game::ObsMode::Topdown)
    std::snprintf(buf, sizeof buf, "policy %s   obs topdown %dx%d %s x%d",
                  deterministic_ ? "deterministic" : "stochastic", env.render.width, env.render.height,
                  env.render.grayscale ? "grey" : "RGB", env.frame_stack);
  else
    std::snprintf(buf, sizeof buf, "policy %s   obs %s", deterministic_ ? "deterministic" : "stochastic",
                  game::to_string(env.game.observation_mode));
  hud.lines.insert(hud.lines.begin(), buf);
  hud.controls = "Space pause   N step   +/- speed   R reset   D deterministic/stochastic   Esc/Q quit";
}

const InsetInfo* WatchSession::inset() {
  const auto& env = config().env;
  inset_ = InsetInfo{};
  if (env.game.observation_mode != game::ObsMode::Topdown) {
    inset_.note = std::string("agent input: ") +
                  std::to_string(game::vector_obs_size(env.game.observation_mode)) + "-float vector (" +
                  game::to_string(env.game.observation_mode) + "), no image";
    return &inset_;
  }
  stack_ = agent_.stacked_frames(0);
  const int c = env.render.channels(), h = env.render.height, w = env.render.width;
  const std::size_t frame_bytes = static_cast<std::size_t>(c) * h * w;
  if (stack_.empty() || stack_.size() % frame_bytes != 0) {
    inset_.note = "agent input: not available";
    return &inset_;
  }
  inset_.frames = stack_.data();
  inset_.k = static_cast<int>(stack_.size() / frame_bytes);
  inset_.channels = c;
  inset_.height = h;
  inset_.width = w;
  char buf[128];
  std::snprintf(buf, sizeof buf, "agent input: %d x %dx%d %s", inset_.k, w, h, c == 1 ? "grey" : "RGB");
  inset_.note = buf;
  return &inset_;
}

void WatchSession::episode_done(const game::EpisodeEnd& end, bool by_reset) {
  std::printf("episode %d: return %.2f, length %d, %s\n", episode_number(), end.episode_return, end.length,
              by_reset         ? "reset"
              : end.terminated ? "hit"
                               : "survived");
  std::fflush(stdout);
}

}  // namespace dodge::viewer

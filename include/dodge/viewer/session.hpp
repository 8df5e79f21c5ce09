// The loops of dodge watch and dodge play: one game (a VecEnv of one env, so the rules, seeding and
// auto-reset are exactly those of training) shown in a Viewer at a fixed frame rate. The game clock
// advances speed / fps seconds per window frame and the env steps every frame_skip / physics_hz
// seconds, so at speed 1 the game runs in real time. After an episode the last frame stays up for a
// moment (GAME OVER / SURVIVED). Optional: a GIF of the first episodes, a PNG after N frames.
#pragma once

#include <SDL.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dodge/game/vec_env.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/run/agent.hpp"
#include "dodge/run/config.hpp"
#include "dodge/viewer/viewer.hpp"

namespace dodge::viewer {

struct SessionOptions {
  int fps = 60;             // window frames per second (0: the display's refresh, with vsync)
  std::uint64_t seed = 0;   // run seed of the game's RNG streams
  std::string record_path;  // GIF of the first record_episodes episodes ("" = none)
  int record_episodes = 1;
  bool record_full_size = false;  // keep the window size (default: half size, smaller files)
  std::string screenshot_path;    // PNG of frame screenshot_frames, then stop ("" = none)
  int screenshot_frames = 60;
  int max_episodes = 0;       // stop after this many finished episodes (0: until closed)
  double hold_seconds = 1.0;  // game time the last frame of an episode stays up
  bool auto_restart = true;   // false: wait for R after an episode (play)
  bool pace = true;           // wait for each frame's time (off: as fast as possible, for tests)
};

class Session {
 public:
  Session(Viewer& viewer, const run::Config& config, const SessionOptions& options);
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs frames until quit, the screenshot, or max_episodes; then finishes the recording.
  void run();
  // One window frame: events, due game steps, drawing, recording, pacing. False when done.
  bool frame();
  // A key press (also used by tests). Returns false if the key means quit.
  bool press(SDL_Keycode key);

  const game::GameState& state() const { return env_->state(0); }
  const run::Config& config() const { return config_; }
  int episodes_finished() const { return finished_; }
  int frames_drawn() const { return frames_; }
  bool paused() const { return paused_; }
  double speed() const { return speed_; }
  const std::vector<float>& last_action() const { return action_; }
  // Closes the GIF (if any) now; run() does this at the end.
  void finish_recording();

 protected:
  // The action for the next agent step (action_dim floats in [-1, 1]).
  virtual void act(float* action) = 0;
  // After every reset (episode_start) and step.
  virtual void observed(bool /*episode_start*/) {}
  // Keys beyond the common ones (pause, step, speed, reset, quit). True if handled.
  virtual bool on_key(SDL_Keycode /*key*/) { return false; }
  virtual void fill_hud(HudInfo& /*hud*/) {}
  virtual const InsetInfo* inset() { return nullptr; }
  virtual void episode_done(const game::EpisodeEnd& /*end*/, bool /*by_reset*/) {}

  // Rebuilds the game from a changed config (e.g. another level) and starts a new episode.
  void set_config(const run::Config& config);
  // Ends the episode on screen (if any steps were taken) and starts a new one.
  void restart();
  void toggle_pause();
  int episode_number() const { return episode_; }
  bool holding() const { return holding_; }
  Viewer& viewer() { return viewer_; }

  const SessionOptions options_;

 private:
  void start_episode(bool via_step);
  void flush_observe();
  void agent_step();
  void end_episode(const game::EpisodeEnd& end, bool by_reset);
  void hold_done();
  void record_frame();
  void measure_fps();
  void pace();

  Viewer& viewer_;
  run::Config config_;
  std::unique_ptr<game::VecEnv> env_;
  game::StepOutputs out_;
  std::vector<float> action_;
  bool has_action_ = false;            // action_ holds this episode's last action
  double step_seconds_ = 1.0 / 60.0;   // game time per agent step
  double frame_seconds_ = 1.0 / 60.0;  // game time per window frame at speed 1
  double clock_ = 0.0;                 // game time owed to the env
  double speed_ = 1.0;
  bool started_ = false, observe_pending_ = false, episode_has_steps_ = false;
  bool paused_ = false, stepped_ = false, quit_ = false;
  bool holding_ = false;          // showing the end of an episode
  bool waiting_restart_ = false;  // holding until R (no auto restart)
  bool hold_ended_ = false;
  double hold_left_ = 0.0;
  bool last_hit_ = false, last_survived_ = false;
  bool stop_recording_after_hold_ = false, quit_after_hold_ = false;
  int episode_ = 1, finished_ = 0, frames_ = 0;
  // Frame rate
  std::uint64_t next_deadline_ = 0;
  std::uint64_t fps_t0_ = 0;
  int fps_frames_ = 0;
  double fps_measured_ = 0.0;
  // Recording
  bool recording_ = false;
  std::unique_ptr<output::GifWriter> gif_;  // opened at the first recorded frame (its size)
  int gif_every_ = 1;                    // keep every n-th frame in which the game advanced
  int gif_counter_ = 0;
  int recorded_episodes_ = 0;
  int gif_width_ = 0, gif_height_ = 0;
  double gif_fps_ = 0.0;
};

// dodge play: a person plays with the keyboard (or a scripted pilot when keys is set).
class PlaySession : public Session {
 public:
  PlaySession(Viewer& viewer, const run::Config& config, const SessionOptions& options,
              std::function<game::Keys(const game::GameState&)> pilot = {});
  double best_score() const { return best_; }

 protected:
  void act(float* action) override;
  bool on_key(SDL_Keycode key) override;
  void fill_hud(HudInfo& hud) override;
  void episode_done(const game::EpisodeEnd& end, bool by_reset) override;

 private:
  std::function<game::Keys(const game::GameState&)> pilot_;
  double best_ = 0.0;
  bool has_best_ = false;
};

// A scripted player for screenshots and demos: sprints in the direction that keeps the balls of the
// next 0.6 s farthest away, and wanders when none is near.
std::function<game::Keys(const game::GameState&)> demo_pilot(const game::GameParams& params,
                                                             std::uint64_t seed);

// dodge watch: a trained agent plays; the inset shows its stacked input frames.
class WatchSession : public Session {
 public:
  WatchSession(Viewer& viewer, run::Agent& agent, const SessionOptions& options, bool deterministic,
               std::string title);
  bool deterministic() const { return deterministic_; }

 protected:
  void act(float* action) override;
  void observed(bool episode_start) override;
  bool on_key(SDL_Keycode key) override;
  void fill_hud(HudInfo& hud) override;
  const InsetInfo* inset() override;
  void episode_done(const game::EpisodeEnd& end, bool by_reset) override;

 private:
  run::Agent& agent_;
  bool deterministic_;
  std::string title_;
  std::vector<std::uint8_t> stack_;
  InsetInfo inset_;
};

}  // namespace dodge::viewer

// dodge watch / dodge play: command-line options, then a Session in a Viewer.
#include "dodge/viewer/commands.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dodge/run/agent.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/setup.hpp"
#include "dodge/viewer/session.hpp"
#include "dodge/viewer/viewer.hpp"

namespace dodge::viewer {

namespace {

// Options both commands share.
struct WindowOptions {
  int fps = 60;
  std::uint64_t seed = 0;
  std::vector<std::string> overrides;
  std::string record;
  int record_episodes = 1;
  bool record_full_size = false;
  std::string screenshot;
  int frames = 60;
  int episodes = 0;
  int width = 1280, height = 720;
};

void add_window_options(CLI::App* cmd, WindowOptions& o) {
  cmd->add_option("--set", o.overrides, "override a config key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--fps", o.fps, "window frames per second; 0: the display's refresh (vsync)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the game's random streams")->capture_default_str();
  cmd->add_option("--record", o.record, "write an animated GIF of the first episodes");
  cmd->add_option("--record-episodes", o.record_episodes, "episodes in the GIF")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--record-full-size", o.record_full_size, "GIF at the window size (default: half)");
  cmd->add_option("--screenshot", o.screenshot, "save a PNG of the window after --frames frames, then exit");
  cmd->add_option("--frames", o.frames, "frames before the screenshot")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--episodes", o.episodes, "exit after this many episodes (0: when the window closes)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--width", o.width, "window width")->check(CLI::Range(64, 16384))->capture_default_str();
  cmd->add_option("--height", o.height, "window height")->check(CLI::Range(64, 16384))->capture_default_str();
}

SessionOptions session_options(const WindowOptions& o) {
  // Output paths before the window opens and the agent loads.
  if (!o.record.empty()) run::require_writable_file("--record", o.record);
  if (!o.screenshot.empty()) run::require_writable_file("--screenshot", o.screenshot);
  SessionOptions s;
  s.fps = o.fps;
  s.seed = o.seed;
  s.record_path = o.record;
  s.record_episodes = o.record_episodes;
  s.record_full_size = o.record_full_size;
  s.screenshot_path = o.screenshot;
  s.screenshot_frames = o.frames;
  s.max_episodes = o.episodes;
  return s;
}

ViewerOptions viewer_options(const WindowOptions& o, const run::Config& config, const std::string& title) {
  ViewerOptions v;
  v.width = o.width;
  v.height = o.height;
  v.title = title;
  v.vsync = o.fps == 0;
  v.view_extent = config.env.render.view_extent;
  return v;
}

struct PlayOptions {
  WindowOptions window;
  std::string config;
  bool demo = false;
};

void run_play(const PlayOptions& o) {
  SessionOptions so = session_options(o.window);
  run::Config config;
  config.name = "play";
  if (!o.config.empty()) config = run::load_config(o.config);
  run::apply_overrides(config, o.window.overrides);
  run::validate(config);
  so.auto_restart = o.demo;  // a person restarts with R; the demo pilot goes on by itself
  Viewer viewer(viewer_options(o.window, config, "dodge play"));
  PlaySession session(viewer, config, so,
                      o.demo ? demo_pilot(game::resolve(config.env.game), o.window.seed) : nullptr);
  session.run();
}

struct WatchOptions {
  WindowOptions window;
  std::string path;
  std::string device = "auto";
  bool stochastic = false;
};

// The end of a long path ("...sac_topdown_cnn/20261124_103150/checkpoints/step_380"), for the HUD.
std::string path_tail(const std::string& path, std::size_t max) {
  if (path.size() <= max) return path;
  const std::size_t from = path.size() - (max - 3);
  const std::size_t slash = path.find('/', from);
  return "..." + path.substr(slash == std::string::npos ? from : slash);
}

void run_watch(const WatchOptions& o) {
  const SessionOptions so = session_options(o.window);
  auto agent = run::Agent::load(o.path, o.window.overrides, o.device, 1);
  const std::string title = "dodge watch " + agent->checkpoint_dir();
  Viewer viewer(viewer_options(o.window, agent->config(), title));
  WatchSession session(viewer, *agent, so, !o.stochastic,
                       "dodge watch " + path_tail(agent->checkpoint_dir(), 40));
  session.run();
}

}  // namespace

void register_play(CLI::App& app) {
  auto o = std::make_shared<PlayOptions>();
  auto* cmd = app.add_subcommand("play", "Play the game with the keyboard in a window (training rules)");
  cmd->add_option("--config", o->config, "YAML config (default: level 2, basic_3d, the built-in defaults)");
  add_window_options(cmd, o->window);
  cmd->add_flag("--demo", o->demo, "a scripted pilot plays instead of the keyboard (for screenshots)");
  cmd->callback([o] { run_play(*o); });
}

void register_watch(CLI::App& app) {
  auto o = std::make_shared<WatchOptions>();
  auto* cmd = app.add_subcommand("watch", "Watch a trained agent play in a window");
  cmd->add_option("path", o->path, "run folder or checkpoint folder")->required();
  cmd->add_option("--device", o->device, "auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_flag("--stochastic", o->stochastic, "sample actions (default: the policy's mean); D toggles");
  add_window_options(cmd, o->window);
  cmd->callback([o] { run_watch(*o); });
}

}  // namespace dodge::viewer

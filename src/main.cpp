// dodge: train an agent to play dodgeball from pixels, in one process.
#include <CLI/CLI.hpp>

#include "dodge/app/commands.hpp"
#ifdef DODGE_HAVE_VIEWER
#include "dodge/viewer/commands.hpp"
#endif

int main(int argc, char** argv) {
  CLI::App app{"dodge: a dodgeball game and a Soft Actor-Critic trainer that learns it from pixels"};
  app.set_version_flag("--version", std::string("dodge ") + DODGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  dodge::app::register_train(app);
  dodge::app::register_eval(app);
#ifdef DODGE_HAVE_VIEWER
  dodge::viewer::register_watch(app);
  dodge::viewer::register_play(app);
#endif
  dodge::app::register_bench(app);
  dodge::app::register_dump_obs(app);
  return dodge::app::run_cli(app, argc, argv);
}

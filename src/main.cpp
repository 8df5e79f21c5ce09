// dodge: train an agent to play dodgeball from pixels, in one process.
// main only dispatches: it registers both front ends' commands, runs the chosen one and turns
// what it throws into one line on stderr and an exit code (2 for bad input, 1 otherwise).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "dodge/commands/commands.hpp"
#include "dodge/output/bench_report.hpp"
#include "dodge/run/distributed.hpp"
#include "dodge/run/error.hpp"
#include "dodge/run/setup.hpp"
#ifdef DODGE_HAVE_VIEWER
#include "dodge/viewer/commands.hpp"
#endif

namespace {

// LibTorch's messages carry a backtrace after the first line.
std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

int unknown_command(CLI::App& app, const char* name) {
  std::string names;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    names += (names.empty() ? "" : ", ") + sub->get_name();
  std::fprintf(stderr, "dodge: error: unknown command '%s'; commands: %s (see dodge --help)\n", name,
               names.c_str());
  return 2;
}

bool is_command(CLI::App& app, const std::string& name) {
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dodge;
  // Environment first, while this is the only thread (setenv is not safe beside other threads).
  run::enable_nccl_blocking_wait();
  CLI::App app{"dodge: a dodgeball game and a Soft Actor-Critic trainer that learns it from pixels"};
  app.set_version_flag("--version", std::string("dodge ") + DODGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  commands::register_train(app);
  commands::register_config(app);
  commands::register_eval(app);
  commands::register_plot(app);
#ifdef DODGE_HAVE_VIEWER
  viewer::register_watch(app);
  viewer::register_play(app);
#endif
  commands::register_bench(app);
  commands::register_dump_obs(app);
  commands::register_export(app);

  output::command_line() = output::join_args(argc, argv);  // recorded in bench reports
  run::keep_freed_memory();
  run::flush_denormals();
  run::use_all_cores();
  run::use_fastest_convolutions();
  if (argc > 1 && argv[1][0] != '-' && !is_command(app, argv[1])) return unknown_command(app, argv[1]);
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "dodge: error: %s (see dodge --help)\n", e.what());
    return 2;
  } catch (const run::UserError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "dodge: error: %s\n", first_line(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "dodge: error: %s\n", first_line(e.what()).c_str());
    return 1;
  }
}

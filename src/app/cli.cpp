#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "dodge/app/bench_report.hpp"
#include "dodge/app/commands.hpp"
#include "dodge/app/config.hpp"

namespace dodge::app {

int run_cli(CLI::App& app, int argc, char** argv) {
  command_line() = join_args(argc, argv);
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
  } catch (const UserError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "dodge: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "dodge: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace dodge::app

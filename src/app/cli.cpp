#include <spdlog/spdlog.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <exception>

#include "dodge/app/bench_report.hpp"
#include "dodge/app/commands.hpp"
#include "dodge/app/config.hpp"

namespace dodge::app {

namespace {
// Errors are one line: LibTorch's messages carry a backtrace after the first line.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

int run_cli(CLI::App& app, int argc, char** argv) {
  command_line() = join_args(argc, argv);
  // Debian's LibTorch starts with one intra-op thread; use every core unless told otherwise.
  if (!std::getenv("OMP_NUM_THREADS")) at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::string names;
  bool known = false;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
    known = known || (argc > 1 && sub->get_name() == argv[1]);
  }
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::fprintf(stderr, "dodge: error: unknown command '%s'; commands: %s (see dodge --help)\n", argv[1],
                 names.c_str());
    return 2;
  }
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
    std::fprintf(stderr, "dodge: error: %s\n", first_line(e.what()).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "dodge: error: %s\n", first_line(e.what()).c_str());
    return 1;
  }
}

}  // namespace dodge::app

// Commands not built yet (filled in by later work).
#include "dodge/app/bench.hpp"
#include "dodge/app/commands.hpp"

namespace dodge::app {
void register_learn_benches(CLI::App&) {}
}  // namespace dodge::app

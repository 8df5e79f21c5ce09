#include "dodge/viewer/commands.hpp"

namespace dodge::viewer {
void register_watch(CLI::App&) {}
void register_play(CLI::App&) {}
}  // namespace dodge::viewer

// dodge watch / dodge play: the game in an SDL2 window.
#pragma once

#include <CLI/CLI.hpp>

namespace dodge::viewer {

void register_watch(CLI::App& app);
void register_play(CLI::App& app);

}  // namespace dodge::viewer

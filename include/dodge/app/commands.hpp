// Subcommands of the dodge executable. Each registers itself on the CLI11 app; its callback
// runs the command and throws UserError for bad input (exit code 2).
#pragma once

#include <CLI/CLI.hpp>

namespace dodge::app {

void register_bench(CLI::App& app);
void register_dump_obs(CLI::App& app);
void register_train(CLI::App& app);
void register_eval(CLI::App& app);

// Parses argv and runs the chosen command; returns the process exit code. Prints one-line errors.
int run_cli(CLI::App& app, int argc, char** argv);

}  // namespace dodge::app

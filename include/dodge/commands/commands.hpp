// The command-line front end: train, config, eval, bench, dump-obs and export. Each registers itself on the
// CLI11 app; its callback runs the command over the run library and throws run::UserError for bad input.
#pragma once

#include <CLI/CLI.hpp>

namespace dodge::commands {

void register_bench(CLI::App& app);
void register_dump_obs(CLI::App& app);
void register_train(CLI::App& app);
void register_config(CLI::App& app);
void register_eval(CLI::App& app);
void register_plot(CLI::App& app);
void register_export(CLI::App& app);

}  // namespace dodge::commands

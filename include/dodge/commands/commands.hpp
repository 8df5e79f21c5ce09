// The command-line front end: train, config, eval, bench, dump-obs and export. Each registers itself on the
// CLI11 app; its callback runs the command over the run library and throws run::UserError for bad input.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace dodge::commands {

// --steps N for train and config: a positive integer, 1e6 written as such allowed.
void add_steps_option(CLI::App* cmd, std::optional<std::int64_t>& steps, const std::string& help);

void register_bench(CLI::App& app);
void register_dump_obs(CLI::App& app);
void register_train(CLI::App& app);
void register_config(CLI::App& app);
void register_eval(CLI::App& app);
void register_plot(CLI::App& app);
void register_export(CLI::App& app);

}  // namespace dodge::commands

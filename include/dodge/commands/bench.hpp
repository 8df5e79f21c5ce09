// Shared pieces of the bench subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "dodge/output/bench_report.hpp"

namespace dodge::commands {

std::vector<int> parse_int_list(const std::string& text, const std::string& option);
double median(std::vector<double> v);
// The overrides of a --variant: split at the commas outside brackets, braces and quotes, so that
// "sac.net_arch=[128,128],sac.batch_size=64" is two of them.
std::vector<std::string> split_overrides(const std::string& text);
void finish_report(const output::BenchReport& report, const std::string& json_path);

// bench replay | update | train (bench_learn.cpp).
void register_learn_benches(CLI::App& bench);

}  // namespace dodge::commands

// Benchmark tables: rows of named columns printed as an aligned table and saved as JSON with the
// machine, the date and the command line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dodge/output/write_error.hpp"

namespace dodge::output {

struct BenchReport {
  std::string name;       // "env", "replay", "update", "train"
  std::string command;    // the command line that produced it
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<double>> numbers;  // the same rows as numbers where numeric (NaN otherwise)

  void add_row(const std::vector<std::pair<std::string, double>>& values);
  std::string table() const;
  // Writes JSON (creating parent folders); throws WriteError naming the file when it cannot.
  void write_json(const std::string& path) const;
};

std::string machine_description();  // CPU model, cores
std::string now_iso8601();
std::string join_args(int argc, char** argv);

// Seconds on a monotonic clock.
double now_seconds();

}  // namespace dodge::output

namespace dodge::output {
// The command line of this process (set by main), recorded in reports.
std::string& command_line();
}  // namespace dodge::output

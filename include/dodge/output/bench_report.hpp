// Benchmark tables: rows of named columns printed as an aligned table and saved as JSON with the
// machine, the date and the command line.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "dodge/output/clock.hpp"
#include "dodge/output/write_error.hpp"

namespace dodge::output {

// One table cell: a number, or a label such as a precision's name.
struct Cell {
  Cell(double v) : number(v) {}  // NOLINT: rows are written as {"name", value}
  Cell(std::string s) : is_text(true), text(std::move(s)) {}  // NOLINT
  Cell(const char* s) : is_text(true), text(s) {}             // NOLINT
  double number = 0.0;
  bool is_text = false;
  std::string text;
};

struct BenchReport {
  std::string name;       // "env", "replay", "update", "train"
  std::string command;    // the command line that produced it
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<Cell>> cells;  // the same rows as values (numbers stay numbers in JSON)
  // What holds for every row (e.g. the parts of the CPU's peak): JSON "details".
  std::vector<std::pair<std::string, Cell>> details;

  void add_row(const std::vector<std::pair<std::string, Cell>>& values);
  // Sets a detail (replacing one of the same name).
  void set_detail(const std::string& name, const Cell& value);
  std::string table() const;
  // Writes JSON (creating parent folders); throws WriteError naming the file when it cannot.
  void write_json(const std::string& path) const;
};

std::string machine_description();  // CPU model, cores
std::string now_iso8601();
std::string join_args(int argc, char** argv);

}  // namespace dodge::output

namespace dodge::output {
// The command line of this process (set by main), recorded in reports.
std::string& command_line();
}  // namespace dodge::output

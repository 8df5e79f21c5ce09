#include "dodge/output/bench_report.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>


namespace dodge::output {

namespace {
std::string format_number(double v) {
  char buf[64];
  if (std::isnan(v)) return "-";
  if (std::abs(v) >= 1000 || v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (std::abs(v) >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  // Thousands separators for large numbers keep tables readable.
  std::string s = buf;
  if (s.find('.') == std::string::npos && s.size() > 4) {
    std::string out;
    int n = 0;
    for (auto it = s.rbegin(); it != s.rend(); ++it) {
      if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
      out.insert(out.begin(), *it);
      ++n;
    }
    s = out;
  }
  return s;
}
}  // namespace

void BenchReport::add_row(const std::vector<std::pair<std::string, Cell>>& values) {
  if (columns.empty())
    for (const auto& kv : values) columns.push_back(kv.first);
  std::vector<std::string> row;
  std::vector<Cell> values_only;
  for (const auto& kv : values) {
    row.push_back(kv.second.is_text ? kv.second.text : format_number(kv.second.number));
    values_only.push_back(kv.second);
  }
  rows.push_back(row);
  cells.push_back(values_only);
}

void BenchReport::set_detail(const std::string& name, const Cell& value) {
  for (auto& kv : details)
    if (kv.first == name) {
      kv.second = value;
      return;
    }
  details.emplace_back(name, value);
}

std::string BenchReport::table() const {
  std::vector<std::size_t> w(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    w[c] = columns[c].size();
    for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
  }
  std::ostringstream os;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      os << (c ? "  " : "");
      os << std::string(w[c] - cells[c].size(), ' ') << cells[c];
    }
    os << "\n";
  };
  line(columns);
  std::vector<std::string> rule;
  for (auto x : w) rule.push_back(std::string(x, '-'));
  line(rule);
  for (const auto& r : rows) line(r);
  return os.str();
}

void BenchReport::write_json(const std::string& path) const {
  nlohmann::json j;
  j["benchmark"] = name;
  j["command"] = command;
  j["machine"] = machine_description();
  j["date"] = now_iso8601();
  if (!details.empty()) {
    j["details"] = nlohmann::json::object();
    for (const auto& kv : details)
      j["details"][kv.first] = kv.second.is_text ? nlohmann::json(kv.second.text) : nlohmann::json(kv.second.number);
  }
  j["rows"] = nlohmann::json::array();
  for (const auto& r : cells) {
    nlohmann::json row;
    for (std::size_t c = 0; c < columns.size(); ++c)
      row[columns[c]] = r[c].is_text ? nlohmann::json(r[c].text) : nlohmann::json(r[c].number);
    j["rows"].push_back(row);
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path);
  if (!out) throw WriteError(path + ": cannot write the benchmark JSON");
  out << j.dump(2) << "\n";
}

std::string machine_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " logical cores";
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::localtime(&t));
  return buf;
}

std::string join_args(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

}  // namespace dodge::output

namespace dodge::output {
std::string& command_line() {
  static std::string s;
  return s;
}
}  // namespace dodge::output

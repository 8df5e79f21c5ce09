// Benchmark reports: the aligned table and the JSON rows (numbers stay numbers, labels text).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dodge/output/bench_report.hpp"

using namespace dodge::output;
namespace fs = std::filesystem;

TEST_CASE("a report prints an aligned table and writes numbers and labels to JSON", "[bench_report]") {
  BenchReport r;
  r.name = "update";
  r.command = "dodge bench update";
  r.add_row({{"precision", "tf32"}, {"batch", 256}, {"updates/s", 51234.4}});
  r.add_row({{"precision", std::string("bf16")}, {"batch", 64}, {"updates/s", 7.25}});
  const std::string t = r.table();
  CHECK(t ==
        "precision  batch  updates/s\n"
        "---------  -----  ---------\n"
        "     tf32    256     51,234\n"
        "     bf16     64       7.25\n");
  const fs::path path = fs::temp_directory_path() / ("dodge_report_" + std::to_string(::getpid())) / "u.json";
  r.write_json(path.string());
  nlohmann::json j;
  std::ifstream(path) >> j;
  CHECK(j["benchmark"] == "update");
  CHECK(j["command"] == "dodge bench update");
  REQUIRE(j["rows"].size() == 2);
  CHECK(j["rows"][0]["precision"] == "tf32");
  CHECK(j["rows"][0]["batch"].is_number());
  CHECK(j["rows"][0]["batch"] == 256);
  CHECK(j["rows"][1]["updates/s"].get<double>() == 7.25);
  CHECK_FALSE(j.contains("details"));
  // Details hold for the whole report (bench update: the parts of the CPU's peak).
  r.set_detail("peak GHz", 2.6);
  r.set_detail("peak clock source", "cpu MHz");
  r.set_detail("peak GHz", 3.5);
  r.write_json(path.string());
  std::ifstream(path) >> j;
  CHECK(j["details"]["peak GHz"].get<double>() == 3.5);
  CHECK(j["details"]["peak clock source"] == "cpu MHz");
  CHECK(r.details.size() == 2);
  fs::remove_all(path.parent_path());
}

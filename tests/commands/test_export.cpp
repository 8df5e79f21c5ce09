// dodge export --onnx end to end: the file, its determinism, its help, and bad input (one line, exit 2,
// nothing written). That ONNX Runtime computes dodge's actions from it is tests/onnx/ (CTest onnx:*).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void check_one_line_error(const RunResult& r, const std::string& contains) {
  INFO(r.output);
  CHECK(r.code == 2);
  std::string out = r.output;
  REQUIRE_FALSE(out.empty());
  if (out.back() == '\n') out.pop_back();
  CHECK(out.find('\n') == std::string::npos);  // nothing else printed
  CHECK_THAT(out, Catch::StartsWith("dodge: error: ") && Catch::Contains(contains));
}

// Only `names` in the folder: no temporary left behind.
void check_folder_holds(const fs::path& dir, std::vector<std::string> names) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) found.push_back(e.path().filename().string());
  std::sort(found.begin(), found.end());
  std::sort(names.begin(), names.end());
  CHECK(found == names);
}

}  // namespace

TEST_CASE("dodge export --onnx writes a run's policy, the same bytes each time", "[export]") {
  TempDir tmp("export_onnx");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  REQUIRE(run_dodge("train --config " + cfg + " --results " + tmp.file("r") + " --steps 300").code == 0);
  const std::string run = only_run(tmp.path / "r", "tiny");
  fs::create_directories(tmp.path / "out");
  const std::string onnx = (tmp.path / "out" / "agent.onnx").string();
  const auto r = run_dodge("export " + run + " --onnx " + onnx);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("wrote " + onnx) && Catch::Contains("float32 [batch, 65]") &&
                           Catch::Contains("action [batch, 3]"));
  const std::string bytes = read_bytes(onnx);
  // ModelProto field 1 (ir_version) = 8 first; the graph's names and the metadata inside.
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(0, 2) == std::string("\x08\x08", 2));
  for (const char* s : {"obs", "action", "Gemm", "Tanh", "dodge.version", "env.frame_skip", "env.level",
                        "env.spawn_angle_degrees", "dodge.eval_seed", "[batch, 65]"})
    CHECK(bytes.find(s) != std::string::npos);
  check_folder_holds(tmp.path / "out", {"agent.onnx"});
  // The checkpoint folder itself works too, and gives the same file (final/ is the newest).
  const std::string again = (tmp.path / "out" / "again.onnx").string();
  REQUIRE(run_dodge("export " + run + "/final --onnx " + again).code == 0);
  CHECK(read_bytes(again) == bytes);
}

TEST_CASE("dodge export --help says what the ONNX file holds", "[export]") {
  const auto r = run_dodge("export --help");
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("--onnx") && Catch::Contains("uint8 [batch, k*C, H, W]") &&
                           Catch::Contains("float32 [batch, k*D]") && Catch::Contains("[-1, 1]") &&
                           Catch::Contains("metadata") && Catch::Contains("averaged"));
}

TEST_CASE("dodge export: bad input is one line, exit 2, and no file", "[export][bad_input]") {
  TempDir tmp("export_bad");
  fs::create_directories(tmp.path / "out");
  const std::string onnx = (tmp.path / "out" / "agent.onnx").string();

  SECTION("no checkpoint there") {
    check_one_line_error(run_dodge("export " + tmp.file("nothing") + " --onnx " + onnx), tmp.file("nothing"));
    check_folder_holds(tmp.path / "out", {});
  }
  SECTION("a damaged checkpoint, an unwritable path") {
    const std::string cfg = write_tiny_config(tmp.path, "tiny");
    REQUIRE(run_dodge("train --config " + cfg + " --results " + tmp.file("r") + " --steps 300").code == 0);
    const std::string run = only_run(tmp.path / "r", "tiny");
    // An output folder that is not there, or a folder as the file: refused before loading.
    check_one_line_error(run_dodge("export " + run + " --onnx " + tmp.file("missing/agent.onnx")),
                         tmp.file("missing/agent.onnx"));
    check_one_line_error(run_dodge("export " + run + " --onnx " + (tmp.path / "out").string()),
                         "is a folder");
    // agent.pt cut short: named, and nothing written.
    const fs::path agent = fs::path(run) / "final" / "agent.pt";
    const std::string head = read_bytes(agent).substr(0, 100);
    std::ofstream(agent, std::ios::binary | std::ios::trunc) << head;
    check_one_line_error(run_dodge("export " + run + "/final --onnx " + onnx), "agent.pt");
    check_folder_holds(tmp.path / "out", {});
  }
}

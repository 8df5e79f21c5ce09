// Bad input: one line naming what and where, exit code 2, nothing saved lost.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "dodge/app/checkpoint.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {

// The error is exactly one line, the last, starting with "dodge: error:"; no backtrace.
void check_one_line_error(const RunResult& r, const std::string& contains) {
  INFO(r.output);
  CHECK(r.code == 2);
  std::string out = r.output;
  REQUIRE_FALSE(out.empty());
  if (out.back() == '\n') out.pop_back();
  const std::string last = out.substr(out.find_last_of('\n') == std::string::npos ? 0 : out.find_last_of('\n') + 1);
  CHECK_THAT(last, Catch::StartsWith("dodge: error: ") && Catch::Contains(contains));
  CHECK(out.find("dodge: error") == out.size() - last.size());  // the only error line
  CHECK_THAT(out, !Catch::Contains("frame #") && !Catch::Contains("Exception raised"));
}

std::string write(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

// A finished tiny run to resume or evaluate (made once per test case that needs it).
std::string tiny_run(const TempDir& tmp) {
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const auto r = run_dodge("train --config " + cfg + " --results " + (tmp.path / "r").string() +
                           " --steps 300 --set train.checkpoint_freq=200");
  REQUIRE(r.code == 0);
  for (const auto& e : fs::directory_iterator(tmp.path / "r" / "tiny")) return e.path().string();
  return "";
}

}  // namespace

TEST_CASE("CLI: unknown subcommand or flag is a one-line error with exit code 2", "[cli]") {
  check_one_line_error(run_dodge("fly"), "fly");
  check_one_line_error(run_dodge("bench env --warp 9"), "--warp");
  const auto help = run_dodge("--help");
  CHECK(help.code == 0);
  CHECK_THAT(help.output, Catch::Contains("train") && Catch::Contains("eval") && Catch::Contains("bench") &&
                              Catch::Contains("dump-obs"));
  const auto v = run_dodge("--version");
  CHECK(v.code == 0);
  CHECK_THAT(v.output, Catch::StartsWith("dodge "));
}

TEST_CASE("train: config file errors", "[cli][bad-input]") {
  TempDir tmp("bad_config");
  const auto base = "train --results " + (tmp.path / "r").string() + " --config ";
  check_one_line_error(run_dodge(base + "/nonexistent/cfg.yaml"),
                       "/nonexistent/cfg.yaml: cannot open the config file");
  const auto syntax = write(tmp.path / "syntax.yaml", "env:\n  level: [2\n");
  check_one_line_error(run_dodge(base + syntax), "syntax.yaml:3:1: YAML syntax error");
  const auto unknown = write(tmp.path / "unknown.yaml", "env:\n  sprint_multiplyer: 1\n");
  check_one_line_error(run_dodge(base + unknown),
                       "unknown.yaml:2:3: unknown key env.sprint_multiplyer; did you mean env.sprint_multiplier?");
  const auto type = write(tmp.path / "type.yaml", "train:\n  seed: abc\n");
  check_one_line_error(run_dodge(base + type), "type.yaml:2:9: train.seed must be an integer");
  const auto range = write(tmp.path / "range.yaml", "env:\n  image_width: 1024\n");
  check_one_line_error(run_dodge(base + range), "range.yaml:2:16: env.image_width = 1024 is not allowed; allowed: an integer in [16, 512]");
  check_one_line_error(run_dodge(base + range + " --set env.level=7"), "env.image_width = 1024");
  const auto ok = write_tiny_config(tmp.path, "ok");
  check_one_line_error(run_dodge(base + ok + " --set env.level=7"),
                       "--set env.level=7: env.level = 7 is not allowed; allowed: an integer in [1, 2]");
  CHECK_FALSE(fs::exists(tmp.path / "r"));  // nothing was started
}

TEST_CASE("train: device, results folder and replay size errors", "[cli][bad-input]") {
  TempDir tmp("bad_env");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::string base = "train --config " + cfg + " --steps 100 ";
  if (!std::getenv("DODGE_TEST_HAS_CUDA"))
    check_one_line_error(run_dodge(base + "--results " + (tmp.path / "r").string() + " --device cuda"),
                         "device cuda: no CUDA device is available");
  // A results folder under a file cannot be created.
  write(tmp.path / "file", "x");
  check_one_line_error(run_dodge(base + "--results " + (tmp.path / "file").string()), "cannot write the results folder");
  check_one_line_error(
      run_dodge(base + "--results " + (tmp.path / "r").string() +
                " --set sac.buffer_size=9000000000 --set env.observation_mode=topdown --set env.image_width=512 "
                "--set env.image_height=512 --set env.image_grayscale=false"),
      "sac.buffer_size = 9000000000: the replay buffer needs");
}

TEST_CASE("resume and eval: missing paths, damaged checkpoints, mismatched configs", "[cli][bad-input]") {
  TempDir tmp("bad_resume");
  const std::string run = tiny_run(tmp);
  check_one_line_error(run_dodge("train --resume " + (tmp.path / "nope").string()), "nope: no such run folder");
  check_one_line_error(run_dodge("eval " + (tmp.path / "nope").string()), "no such run folder or checkpoint");
  // Mismatch on a shape key names the key and both values.
  check_one_line_error(run_dodge("train --resume " + run + " --steps 10 --set sac.net_arch=[64]"),
                       "sac.net_arch: [32, 32] vs [64]");
  // A checkpoint with a missing file.
  const fs::path ck = fs::path(run) / "checkpoints" / "step_200";
  REQUIRE(fs::exists(ck));
  fs::copy(ck, tmp.path / "broken", fs::copy_options::recursive);
  fs::remove(tmp.path / "broken" / "trainer.pt");
  check_one_line_error(run_dodge("train --resume " + (tmp.path / "broken").string() + " --steps 10"),
                       "is incomplete: trainer.pt is missing");
  // A truncated agent.pt.
  fs::copy(ck, tmp.path / "cut", fs::copy_options::recursive);
  fs::resize_file(tmp.path / "cut" / "agent.pt", fs::file_size(tmp.path / "cut" / "agent.pt") / 2);
  check_one_line_error(run_dodge("eval " + (tmp.path / "cut").string() + " --episodes 1"), "is damaged");
  check_one_line_error(run_dodge("train --resume " + (tmp.path / "cut").string() + " --steps 10"), "is damaged");
  // The run itself is untouched by the failed attempts.
  CHECK(dodge::app::checkpoint_step((fs::path(run) / "final").string()) == 300);
}

TEST_CASE("a full disk while writing a checkpoint keeps the previous one", "[cli][bad-input]") {
  TempDir tmp("disk_full");
  const std::string run = tiny_run(tmp);
  const auto before = fs::file_size(fs::path(run) / "final" / "agent.pt");
  // Resume with a file-size limit: the replay buffer file cannot be written, as on a full disk.
  const auto r = run_shell("trap '' XFSZ; ulimit -f 40; " + std::string(DODGE_BINARY) + " train --resume " + run +
                           " --steps 200 --set train.eval_freq=0");
  INFO(r.output);
  CHECK(r.code != 0);
  CHECK_THAT(r.output, Catch::Contains("writing checkpoint") && Catch::Contains("previous checkpoint is kept"));
  CHECK(dodge::app::checkpoint_step((fs::path(run) / "final").string()) == 300);
  CHECK(fs::file_size(fs::path(run) / "final" / "agent.pt") == before);
  CHECK_FALSE(fs::exists(fs::path(run) / "final.tmp"));
}

TEST_CASE("dump-obs writes frames and stacks, and refuses an unwritable folder", "[cli][dump-obs]") {
  TempDir tmp("dump");
  const auto r = run_dodge("dump-obs --set env.observation_mode=topdown --set env.frame_stack=3 --steps 3 --out " +
                           (tmp.path / "out").string() + " --scale 2");
  INFO(r.output);
  REQUIRE(r.code == 0);
  for (const char* f : {"frame_0000.png", "frame_0002.png", "stack_0002.png"}) CHECK(fs::exists(tmp.path / "out" / f));
  write(tmp.path / "file", "x");
  check_one_line_error(run_dodge("dump-obs --set env.observation_mode=topdown --out " + (tmp.path / "file").string() +
                                 "/sub"),
                       "cannot write to the folder");
  check_one_line_error(run_dodge("dump-obs --out " + (tmp.path / "o2").string()), "dump-obs shows images");
}

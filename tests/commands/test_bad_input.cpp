// Bad input: one line naming what and where, exit code 2, nothing saved lost.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "dodge/run/checkpoint.hpp"
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
  // eval plays the checkpoint's networks: only env.* keys may change, and the message says so.
  check_one_line_error(run_dodge("eval " + run + " --episodes 1 --set sac.learning_rate=0.1"),
                       "not a key for playing a checkpoint");
  const auto shape = run_dodge("eval " + run + " --episodes 1 --set env.observation_mode=topdown");
  check_one_line_error(shape, "cannot change when playing a checkpoint");
  // One folder too high: the runs inside are named.
  check_one_line_error(run_dodge("eval " + fs::path(run).parent_path().string() + " --episodes 1"),
                       "a folder of runs, not a run; pass one of them (newest first): " + run);
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
  CHECK(dodge::run::checkpoint_step((fs::path(run) / "final").string()) == 300);
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
  CHECK(dodge::run::checkpoint_step((fs::path(run) / "final").string()) == 300);
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

TEST_CASE("train: a folder, an empty or comment-only config, and --steps below 1 are refused", "[cli][bad-input]") {
  TempDir tmp("bad_config2");
  const std::string results = (tmp.path / "r").string();
  const auto base = "train --results " + results + " --config ";
  fs::create_directories(tmp.path / "configs");
  check_one_line_error(run_dodge(base + (tmp.path / "configs").string()), "configs: is a directory");
  const auto empty = write(tmp.path / "empty.yaml", "");
  check_one_line_error(run_dodge(base + empty), "empty.yaml: the config is empty");
  const auto comments = write(tmp.path / "comments.yaml", "# only a comment\n\n   # and another\n");
  check_one_line_error(run_dodge(base + comments), "comments.yaml: the config is empty");
  const std::string ok = write_tiny_config(tmp.path, "ok");
  check_one_line_error(run_dodge(base + ok + " --steps -1"), "--steps: must be a positive integer (100000 or 1e5), got -1");
  check_one_line_error(run_dodge(base + ok + " --steps 0"), "--steps: must be a positive integer (100000 or 1e5), got 0");
  check_one_line_error(run_dodge(base + ok + " --steps 2.5"), "--steps: must be a positive integer (100000 or 1e5), got 2.5");
  CHECK_FALSE(fs::exists(tmp.path / "r"));  // nothing was written
  // RL Zoo's notation is an integer when exact; --out is --results by its other name.
  const auto r = run_dodge("train --config " + ok + " --out " + (tmp.path / "o").string() +
                           " --steps 3e2 --set train.eval_freq=0 --set train.learning_starts=2e2");
  INFO(r.output);
  CHECK(r.code == 0);
  const auto summary = nlohmann::json::parse(std::ifstream(fs::path(only_run(tmp.path / "o", "ok")) / "training_summary.json"));
  CHECK(summary["total_timesteps"] == 300);
}

TEST_CASE("eval: output paths are checked before any episode is played", "[cli][bad-input]") {
  TempDir tmp("bad_eval_out");
  const std::string run = tiny_run(tmp);
  for (const std::string opt : {"--json", "--record"}) {
    const auto r = run_dodge("eval " + run + " --episodes 1 " + opt + " /nonexistent-dir/x.out");
    check_one_line_error(r, opt + " /nonexistent-dir/x.out: the folder /nonexistent-dir does not exist");
    CHECK_THAT(r.output, !Catch::Contains("episode   1"));  // failed before playing
  }
  check_one_line_error(run_dodge("eval " + run + " --episodes 1 --json " + tmp.path.string()), "is a folder");
}

TEST_CASE("a full disk while writing replay.zst keeps the previous checkpoint", "[cli][bad-input]") {
  TempDir tmp("disk_full_replay");
  const std::string run = tiny_run(tmp);
  const fs::path final_dir = fs::path(run) / "final";
  // A per-file size limit above every other checkpoint file but below the replay buffer: only
  // replay.zst (the largest file, written after agent.pt, trainer.pt and env_state.bin) fails.
  std::uintmax_t others = 0;
  for (const auto& e : fs::directory_iterator(final_dir))
    if (e.path().filename() != "replay.zst") others = std::max(others, fs::file_size(e.path()));
  const auto replay_before = fs::file_size(final_dir / "replay.zst");
  const auto agent_before = fs::file_size(final_dir / "agent.pt");
  const std::uintmax_t limit_blocks = others / 512 + 8;  // /bin/sh's ulimit -f counts 512-byte blocks
  // 5000 more steps fill the buffer (5000 transitions): its file is then about 225 KB, agent.pt 173 KB.
  REQUIRE(replay_before > 0);
  const auto r = run_shell("trap '' XFSZ; ulimit -f " + std::to_string(limit_blocks) + "; " + std::string(DODGE_BINARY) +
                           " train --resume " + run + " --steps 5000 --set train.eval_freq=0 --set train.checkpoint_freq=0");
  INFO(r.output << "\nlimit " << limit_blocks * 512 << " B, largest other file " << others << " B");
  CHECK(r.code != 0);
  CHECK_THAT(r.output, Catch::Contains("replay.zst") && Catch::Contains("previous checkpoint is kept"));
  CHECK(dodge::run::checkpoint_step(final_dir.string()) == 300);
  CHECK(fs::file_size(final_dir / "replay.zst") == replay_before);
  CHECK(fs::file_size(final_dir / "agent.pt") == agent_before);
  CHECK_FALSE(fs::exists(fs::path(run) / "final.tmp"));
  // The run resumes from it afterwards.
  const auto again = run_dodge("train --resume " + run + " --steps 100 --set train.eval_freq=0");
  INFO(again.output);
  CHECK(again.code == 0);
  CHECK_THAT(again.output, Catch::Contains(" at step 300\n"));
}

TEST_CASE("kill -9 at random moments while checkpoints are written: resume finds the newest complete one",
          "[cli][bad-input][kill]") {
  TempDir tmp("kill9");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::string results = (tmp.path / "r").string();
  // A checkpoint (with the replay buffer) every 100 steps, all kept: most of the time goes into writing them.
  const std::string opts = " --set train.checkpoint_freq=100 --set train.keep_checkpoints=1000"
                           " --set train.eval_freq=0 --set train.log_interval=100000";
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(100, 2500);
  auto complete = [&](const fs::path& run) {
    std::map<std::string, std::int64_t> found;  // name -> step
    if (!fs::exists(run / "checkpoints")) return found;
    for (const auto& e : fs::directory_iterator(run / "checkpoints")) {
      const std::string name = e.path().filename().string();
      if (name.find('.') != std::string::npos) continue;  // a .tmp left by the kill
      for (const auto& f : dodge::run::checkpoint_files()) {
        INFO(name << " lacks " << f);
        REQUIRE(fs::exists(e.path() / f));  // every visible checkpoint is complete
      }
      REQUIRE(fs::exists(e.path() / "replay.zst"));
      found[name] = dodge::run::checkpoint_step(e.path().string());
      REQUIRE(found[name] == std::stoll(name.substr(5)));
    }
    return found;
  };
  std::string run;
  std::map<std::string, std::int64_t> before;
  for (int round = 0; round < 4; ++round) {
    const int ms = delay_ms(rng);
    const std::string cmd = run.empty() ? "train --config " + cfg + " --results " + results + " --steps 1000000" + opts
                                        : "train --resume " + run + " --steps 1000000" + opts;
    // Wait (up to 60 s) for a first checkpoint, so a slow machine still has one to resume from, then
    // kill at a random moment.
    const auto r = run_shell(std::string(DODGE_BINARY) + " " + cmd + " > " + tmp.file("log") +
                             " 2>&1 & pid=$!; for i in $(seq 600); do find " + results +
                             " -path '*/checkpoints/step_*' ! -name '*.*' 2>/dev/null | grep -q . && break; sleep 0.1;"
                             " done; sleep " +
                             std::to_string(ms / 1000.0) + "; kill -9 $pid; wait $pid; echo killed $?");
    INFO("round " << round << ", killed after " << ms << " ms: " << r.output);
    REQUIRE_THAT(r.output, Catch::Contains("killed 137"));
    if (run.empty()) {
      REQUIRE(fs::exists(fs::path(results) / "tiny"));
      for (const auto& e : fs::directory_iterator(fs::path(results) / "tiny")) run = e.path().string();
    }
    const auto now = complete(run);
    for (const auto& kv : before) CHECK(now.count(kv.first) == 1);  // nothing older was lost
    if (!now.empty()) {
      std::int64_t newest = 0;
      for (const auto& kv : now) newest = std::max(newest, kv.second);
      CHECK(dodge::run::find_checkpoint(run) == (fs::path(run) / "checkpoints" / ("step_" + std::to_string(newest))).string());
    }
    before = now;
  }
  REQUIRE_FALSE(before.empty());
  std::int64_t newest = 0;
  for (const auto& kv : before) newest = std::max(newest, kv.second);
  const auto last = run_dodge("train --resume " + run + " --steps 100" + opts);
  INFO(last.output);
  CHECK(last.code == 0);
  CHECK_THAT(last.output, Catch::Contains("resumed from " + (fs::path(run) / "checkpoints").string()) &&
                              Catch::Contains(" at step " + std::to_string(newest) + "\n"));
}

TEST_CASE("bench: a --json path that cannot be written is a one-line error", "[cli][bad-input]") {
  check_one_line_error(run_dodge("bench env --envs 1 --steps 100 --repeats 1 --warmup 0 --json /proc/dodge/x.json"),
                       "/proc/dodge/x.json: cannot write the benchmark JSON");
}

TEST_CASE("bench: a --json path below a file is refused before any measuring", "[cli][bad-input]") {
  TempDir tmp("bench_json");
  const std::string file = (tmp.path / "plain_file").string();
  std::ofstream(file) << "x";
  for (const char* bench : {"env --envs 1 --steps 100", "replay", "update", "train"}) {
    const auto r = run_dodge(std::string("bench ") + bench + " --json " + file + "/sub/x.json");
    check_one_line_error(r, file + "/sub/x.json: " + file + " is not a folder");
    CHECK_THAT(r.output, !Catch::Contains("----"));  // no table: nothing was measured
  }
}

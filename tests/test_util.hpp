// Helpers for tests that run training or the dodge executable.
#pragma once

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>
#include <unistd.h>

// A fresh folder under /tmp, removed with everything in it at the end of the scope.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("dodge_test_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct RunResult {
  int code = -1;
  std::string output;
};

// Runs a shell command; returns its exit code and stdout+stderr.
inline RunResult run_shell(const std::string& cmd) {
  RunResult r;
  std::FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), p)) r.output += buf.data();
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline RunResult run_dodge(const std::string& args) { return run_shell(std::string(DODGE_BINARY) + " " + args); }

// A small, fast config: vector observations, short episodes, small networks.
inline std::string write_tiny_config(const std::filesystem::path& dir, const std::string& name) {
  const std::string path = (dir / (name + ".yaml")).string();
  std::ofstream f(path);
  f << "env:\n  level: 2\n  observation_mode: standard\n  max_episode_steps: 100\n  n_envs: 2\n"
       "sac:\n  buffer_size: 5000\n  batch_size: 32\n  net_arch: [32, 32]\n"
       "train:\n  total_timesteps: 1000\n  learning_starts: 200\n  eval_freq: 500\n  n_eval_episodes: 4\n"
       "  checkpoint_freq: 500\n  save_replay_buffer: true\n  log_interval: 100\n  threads: 1\n  seed: 3\n"
       "  device: cpu\n";
  return path;
}

// The one run folder under results/<name>/ (a test made exactly one run there); throws otherwise.
inline std::string only_run(const std::filesystem::path& results, const std::string& name) {
  std::vector<std::filesystem::path> runs;
  for (const auto& e : std::filesystem::directory_iterator(results / name)) runs.push_back(e.path());
  if (runs.size() != 1)
    throw std::runtime_error((results / name).string() + ": expected one run folder, found " +
                             std::to_string(runs.size()));
  return runs[0].string();
}

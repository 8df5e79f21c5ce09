// Several ranks on c10d (loopback only): the learner's gradients averaged, every rank's
// parameters bitwise equal, the toy task learned; dodge train under 2 ranks writes one run folder;
// a rank that dies stops the other with one line; bad launch variables are one-line errors.
#include "torch_catch.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "dodge/run/distributed.hpp"
#include "gloo_group.hpp"
#include "point_task.hpp"
#include "skip.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using dodge::run::DistEnv;
using dodge::run::ProcessGroup;

namespace {

std::string rank_env(int rank, int world, int port) {
  return "env WORLD_SIZE=" + std::to_string(world) + " RANK=" + std::to_string(rank) +
         " LOCAL_RANK=" + std::to_string(rank) + " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
         " OMP_NUM_THREADS=1 ";
}

struct RankLine {
  long long updates = -1;
  std::string digest;
  std::string streams;  // the rank's random streams (noise, shifts, sampler, random actions)
};

// "rank R of W: N updates, parameters digest D, ..." from a rank's output.
RankLine rank_line(const std::string& out, int rank) {
  std::smatch m;
  const std::regex re("rank " + std::to_string(rank) +
                       " of [0-9]+: ([0-9]+) updates, parameters digest ([0-9a-f]+), streams digest ([0-9a-f]+)");
  RankLine r;
  if (std::regex_search(out, m, re)) {
    r.updates = std::stoll(m[1]);
    r.digest = m[2];
    r.streams = m[3];
  }
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Launches `world` ranks of `dodge ARGS` at once and waits for all; rank r's output goes to
// dir/rank<r>.log, its exit code to dir/rank<r>.rc.
void launch_ranks(const fs::path& dir, int world, const std::string& args, int timeout_s = 240) {
  const int port = free_port();
  std::string cmd;
  for (int r = 0; r < world; ++r) {
    const std::string log = (dir / ("rank" + std::to_string(r))).string();
    cmd += "(" + rank_env(r, world, port) + "timeout " + std::to_string(timeout_s) + " " + DODGE_BINARY + " " + args +
           " > " + log + ".log 2>&1; echo $? > " + log + ".rc) & ";
  }
  run_shell(cmd + "wait");
}

int rank_rc(const fs::path& dir, int r) { return std::stoi(slurp(dir / ("rank" + std::to_string(r) + ".rc"))); }

}  // namespace

TEST_CASE("several ranks: the learner's gradients are averaged, ranks stay bitwise equal and learn the toy task",
          "[dist]") {
  if (!have_gloo()) return;
  const int port = free_port();
  struct Out {
    toy::ToyResult result;
    std::string error;
  };
  Out out[2];
  auto rank_main = [&](int rank) {
    try {
      auto pg = join_cpu_group(rank, 2, port);
      // Each rank its own games, samples and noise (as the trainer seeds them); rank 0's weights.
      out[rank].result = toy::train_point(false, 1500, 64, dodge::run::rank_seed(1, rank), false, 1, nullptr,
                                          [&](dodge::learn::Sac& sac) {
                                            sac.set_collective(pg.get());
                                            pg->broadcast(sac.replicated_state());
                                          });
    } catch (const std::exception& e) {
      out[rank].error = e.what();
    }
  };
  std::thread other([&] { rank_main(1); });
  rank_main(0);
  other.join();
  INFO("rank 0: " << out[0].error << " / rank 1: " << out[1].error);
  REQUIRE(out[0].error.empty());
  REQUIRE(out[1].error.empty());
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ": trained " << out[r].result.final_distance_trained << " random "
                 << out[r].result.final_distance_random);
    CHECK(out[r].result.final_distance_random > 0.5);
    CHECK(out[r].result.final_distance_trained < 0.12);
  }
  // Different batches on each rank, yet every parameter, target and optimizer moment is the same.
  const auto& a = out[0].result.state;
  const auto& b = out[1].result.state;
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 10);
  std::size_t equal = 0;
  for (std::size_t i = 0; i < a.size(); ++i) equal += torch::equal(a[i], b[i]) ? 1 : 0;
  CHECK(equal == a.size());
  CHECK(dodge::run::digest(a) == dodge::run::digest(b));
}

TEST_CASE("several ranks: with the group but without the all-reduce the same two ranks drift apart", "[dist]") {
  // The check above can fail: the same two ranks in a process group, starting from rank 0's
  // broadcast weights, but the learner not told to average: their own batches pull them apart.
  if (!have_gloo()) return;
  const int port = free_port();
  std::string digests[2], errors[2], starts[2];
  auto rank_main = [&](int rank) {
    try {
      auto pg = join_cpu_group(rank, 2, port);
      const auto r = toy::train_point(false, 50, 64, dodge::run::rank_seed(1, rank), false, 1, nullptr,
                                      [&](dodge::learn::Sac& sac) {
                                        pg->broadcast(sac.replicated_state());
                                        starts[rank] = dodge::run::digest(sac.replicated_state());
                                      });
      digests[rank] = dodge::run::digest(r.state);
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread other([&] { rank_main(1); });
  rank_main(0);
  other.join();
  INFO(errors[0] << " / " << errors[1]);
  REQUIRE(errors[0].empty());
  REQUIRE(errors[1].empty());
  CHECK(starts[0] == starts[1]);  // the same start (the broadcast worked) ...
  CHECK(digests[0] != digests[1]);  // ... and apart without the all-reduce
}

TEST_CASE("several ranks: average() gives the exact mean, in fp32 and bf16", "[dist]") {
  // Adam hardly notices a constant factor, so a sum or a copy of rank 0 would pass the learning
  // test: 3 ranks contribute r + 1 (and r + 1 times a position) and each must get the mean.
  if (!have_gloo()) return;
  const int port = free_port(), world = 3;
  std::string errors[3];
  std::vector<torch::Tensor> got[3];
  auto rank_main = [&](int rank) {
    try {
      auto pg = join_cpu_group(rank, world, port);
      const float v = static_cast<float>(rank + 1);
      std::vector<torch::Tensor> t = {torch::full({5}, v), torch::arange(7, torch::kFloat32) * v,
                                      torch::full({4}, v, torch::kBFloat16),
                                      torch::arange(6, torch::kFloat32).to(torch::kBFloat16) * v};
      pg->average(t);
      got[rank] = t;
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread t1([&] { rank_main(1); }), t2([&] { rank_main(2); });
  rank_main(0);
  t1.join();
  t2.join();
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r << ": " << errors[r]);
    REQUIRE(errors[r].empty());
    REQUIRE(got[r].size() == 4);
    // The mean of 1, 2 and 3 is 2, exactly representable in both types.
    CHECK(torch::equal(got[r][0], torch::full({5}, 2.0f)));
    CHECK(torch::equal(got[r][1], torch::arange(7, torch::kFloat32) * 2.0f));
    CHECK(got[r][2].scalar_type() == torch::kBFloat16);
    CHECK(torch::equal(got[r][2], torch::full({4}, 2.0f, torch::kBFloat16)));
    CHECK(torch::equal(got[r][3], (torch::arange(6, torch::kFloat32) * 2.0f).to(torch::kBFloat16)));
  }
}

TEST_CASE("several ranks: dodge train under 2 ranks stays in step, writes one run folder, resumes only with 2",
          "[dist][train]") {
  if (!have_gloo()) return;
  TempDir tmp("dist_train");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::string results = (tmp.path / "r").string();
  launch_ranks(tmp.path, 2, "train --config " + cfg + " --results " + results + " --steps 1200");
  const std::string log0 = slurp(tmp.path / "rank0.log"), log1 = slurp(tmp.path / "rank1.log");
  INFO("rank 0:\n" << log0 << "\nrank 1:\n" << log1);
  REQUIRE(rank_rc(tmp.path, 0) == 0);
  REQUIRE(rank_rc(tmp.path, 1) == 0);
  const RankLine a = rank_line(log0, 0), b = rank_line(log1, 1);
  CHECK(a.updates > 100);
  CHECK(a.updates == b.updates);
  CHECK(!a.digest.empty());
  CHECK(a.digest == b.digest);
  // One run folder, written by rank 0; steps count over both ranks (1200 = 2 ranks x 2 envs x 300).
  const std::string run = only_run(results, "tiny");
  const auto summary = nlohmann::json::parse(slurp(fs::path(run) / "training_summary.json"));
  CHECK(summary["world_size"] == 2);
  CHECK(summary["total_timesteps"] == 1200);
  CHECK(summary["backend"] == "gloo");
  CHECK_THAT(slurp(fs::path(run) / "launches.jsonl"), Catch::Contains("\"world_size\":2"));
  CHECK_THAT(log1, !Catch::Contains("results in"));
  {
    // rollout/* are over both ranks' games: the last row's ep_len_mean is not rank 0's alone
    // (monitor.csv holds rank 0's episodes; their last 100 would be its window).
    std::vector<double> lengths;
    std::ifstream m(fs::path(run) / "monitor.csv");
    std::string line;
    std::getline(m, line);
    std::getline(m, line);
    while (std::getline(m, line)) {
      const auto c1 = line.find(','), c2 = line.rfind(',');
      lengths.push_back(std::stod(line.substr(c1 + 1, c2 - c1 - 1)));
    }
    REQUIRE(lengths.size() >= 5);
    const std::size_t k = std::min<std::size_t>(100, lengths.size());
    double rank0 = 0;
    for (std::size_t i = lengths.size() - k; i < lengths.size(); ++i) rank0 += lengths[i] / static_cast<double>(k);
    std::ifstream p(fs::path(run) / "logs" / "progress.csv");
    std::string header, last;
    std::getline(p, header);
    while (std::getline(p, line)) last = line;
    auto cells = [](const std::string& l) {
      std::vector<std::string> v;
      std::stringstream ss(l);
      for (std::string c; std::getline(ss, c, ',');) v.push_back(c);
      return v;
    };
    const auto names = cells(header), row = cells(last);
    const auto col = static_cast<std::size_t>(std::find(names.begin(), names.end(), "rollout/ep_len_mean") - names.begin());
    REQUIRE(col < row.size());
    const double both = std::stod(row[col]);
    INFO("rank 0's window " << rank0 << ", logged " << both);
    CHECK(both > 0);
    CHECK(std::abs(both - rank0) > 1e-6);  // more than the CSV's 10 digits
    const auto summary_end = nlohmann::json::parse(slurp(fs::path(run) / "training_summary.json"));
    CHECK(std::abs(summary_end["final_ep_len_mean"].get<double>() - both) < 1e-6);
  }

  // Resuming with another world size is refused, with one line; with 2 ranks it goes on in step.
  const auto single = run_dodge("train --resume " + run + " --steps 400");
  CHECK(single.code == 2);
  CHECK_THAT(single.output, Catch::Contains("trained with 2 rank(s)") && Catch::Contains("WORLD_SIZE=2"));
  launch_ranks(tmp.path, 2, "train --resume " + run + " --steps 800");
  const std::string again0 = slurp(tmp.path / "rank0.log"), again1 = slurp(tmp.path / "rank1.log");
  INFO("resumed rank 0:\n" << again0 << "\nresumed rank 1:\n" << again1);
  REQUIRE(rank_rc(tmp.path, 0) == 0);
  REQUIRE(rank_rc(tmp.path, 1) == 0);
  const RankLine c = rank_line(again0, 0), d = rank_line(again1, 1);
  CHECK(c.updates > a.updates);
  CHECK(c.digest == d.digest);
  CHECK(nlohmann::json::parse(slurp(fs::path(run) / "training_summary.json"))["total_timesteps"] == 2000);
  // Each rank keeps its own randomness: distinct streams before and after the resume (the
  // checkpoint holds rank 0's; every rank once restored those and drew the same numbers).
  CHECK(a.streams != b.streams);
  CHECK(c.streams != d.streams);

  // learning_starts 0: rank 0 resumes with its buffer, rank 1 with an empty one; whether to update
  // is still decided alike on both (rank 0 once updated alone and the collectives paired wrong
  // tensors until the job hung).
  launch_ranks(tmp.path, 2, "train --resume " + run + " --steps 400 --set train.learning_starts=0", 120);
  const std::string zero0 = slurp(tmp.path / "rank0.log"), zero1 = slurp(tmp.path / "rank1.log");
  INFO("learning_starts 0, rank 0:\n" << zero0 << "\nrank 1:\n" << zero1);
  REQUIRE(rank_rc(tmp.path, 0) == 0);
  REQUIRE(rank_rc(tmp.path, 1) == 0);
  const RankLine e = rank_line(zero0, 0), f = rank_line(zero1, 1);
  CHECK(e.updates > c.updates);
  CHECK(e.updates == f.updates);
  CHECK(e.digest == f.digest);
  CHECK(e.streams != f.streams);
}

// The lead decides when a run ends early (train.max_minutes by its clock, the stop rule at its
// evaluations): every rank ends after the same step, and the run ends as completed runs do. Another
// rank's clock once reached max_minutes a step before the lead's (the lead starts its loop last),
// and the lead took the stop for a Ctrl-C: an interrupt checkpoint, no final/.
TEST_CASE("several ranks: max_minutes and the stop rule end the run with final/ and the real reason", "[dist][train]") {
  if (!have_gloo()) return;
  struct Case {
    std::string set, kind, reason;
  };
  // The first case's learning rate also falls with the lead's clock: the ranks must agree on it.
  for (const Case& c : {Case{"train.max_minutes=0.05 --set sac.lr_schedule=linear", "max_minutes",
                             "train.max_minutes = 0.05 reached"},
                        Case{"'train.stop_when={mean_reward: -1e9}'", "stop_when", "train.stop_when met"}}) {
    TempDir tmp("dist_stop_" + c.kind);
    const std::string cfg = write_tiny_config(tmp.path, "tiny");
    const std::string results = (tmp.path / "r").string();
    launch_ranks(tmp.path, 2,
                 "train --config " + cfg + " --results " + results + " --steps 100000000 --set " + c.set +
                     " --set train.save_replay_buffer=false",
                 120);
    const std::string log0 = slurp(tmp.path / "rank0.log"), log1 = slurp(tmp.path / "rank1.log");
    INFO(c.kind << "\nrank 0:\n" << log0 << "\nrank 1:\n" << log1);
    REQUIRE(rank_rc(tmp.path, 0) == 0);
    REQUIRE(rank_rc(tmp.path, 1) == 0);
    const fs::path run = only_run(results, "tiny");
    const auto summary = nlohmann::json::parse(slurp(run / "training_summary.json"));
    CHECK(summary["stopped"] == c.kind);
    CHECK_THAT(summary["stop_reason"].get<std::string>(), Catch::Contains(c.reason));
    CHECK(fs::exists(run / "final" / "policy.pt"));
    CHECK(summary["final_eval"]["step"] == summary["total_timesteps"]);
    CHECK_THAT(log0, !Catch::Contains("interrupted at step"));
    const RankLine a = rank_line(log0, 0), b = rank_line(log1, 1);
    CHECK(a.updates == b.updates);
    CHECK(a.digest == b.digest);
  }
}

TEST_CASE("several ranks: a rank that dies stops the other with one line, in bounded time", "[dist][train]") {
  if (!have_gloo()) return;
  TempDir tmp("dist_kill");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const int port = free_port();
  const std::string args = std::string(DODGE_BINARY) + " train --config " + cfg + " --results " +
                           (tmp.path / "r").string() + " --steps 10000000 --set train.eval_freq=0";
  const std::string log0 = tmp.file("rank0.log"), log1 = tmp.file("rank1.log");
  // Rank 1 is killed (SIGKILL: no goodbye) once both learn; rank 0 must notice and exit.
  const std::string script =
      "(" + rank_env(0, 2, port) + "timeout 120 " + args + " > " + log0 + " 2>&1; echo $? > " + tmp.file("rc0") +
      ") & " + rank_env(1, 2, port) + args + " > " + log1 + " 2>&1 & p1=$!; " +
      "for i in $(seq 600); do grep -q 'random actions are done' " + log0 + " && break; sleep 0.1; done; sleep 2; " +
      "kill -9 $p1; t0=$(date +%s.%N); wait; echo $(date +%s.%N) $t0 | awk '{print $1 - $2}' > " +
      tmp.file("seconds");
  run_shell(script);
  const std::string out = slurp(tmp.path / "rank0.log");
  INFO(out);
  const int rc = std::stoi(slurp(tmp.path / "rc0"));
  CHECK(rc != 0);
  CHECK(rc != 124);  // not the test's timeout: rank 0 stopped by itself
  CHECK(std::stod(slurp(tmp.path / "seconds")) < 60.0);
  std::string text = out;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const std::string last = text.substr(text.find_last_of('\n') + 1);
  CHECK_THAT(last, Catch::StartsWith("dodge: error: rank 0: ") && Catch::Contains("with the other ranks failed"));
  CHECK_THAT(out, !Catch::Contains("frame #"));
}

namespace {
// dodge train of a tiny config, results under tmp/r.
std::string tiny_train(const TempDir& tmp) {
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  return std::string(DODGE_BINARY) + " train --config " + cfg + " --results " + (tmp.path / "r").string() +
         " --steps 200";
}

void check_one_line_error(const RunResult& r, const std::string& contains) {
  INFO(r.output);
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("dodge: error: ") && Catch::Contains(contains));
  CHECK_THAT(r.output, !Catch::Contains("frame #"));
}
}  // namespace

TEST_CASE("several ranks: bad launch variables are one-line errors with exit code 2", "[dist][bad-input]") {
  TempDir tmp("dist_bad");
  const std::string train = tiny_train(tmp);
  check_one_line_error(run_shell("env WORLD_SIZE=2 " + train), "RANK is not set");
  check_one_line_error(run_shell("env RANK=0 " + train), "WORLD_SIZE is not");
  check_one_line_error(run_shell("env WORLD_SIZE=2 RANK=2 " + train), "RANK=2");
  check_one_line_error(run_shell("env WORLD_SIZE=two RANK=0 " + train), "WORLD_SIZE=two");
}

// Apart from the test above: it needs Gloo, and without it is skipped (the checks above still run).
TEST_CASE("several ranks: a rank whose master never comes gives up after train.dist_timeout with one line",
          "[dist][bad-input]") {
  if (!have_gloo()) return;
  TempDir tmp("dist_no_master");
  const std::string train = tiny_train(tmp);
  const auto t0 = std::chrono::steady_clock::now();
  check_one_line_error(run_shell(rank_env(1, 2, free_port()) + train + " --set train.dist_timeout=10"),
                       "cannot reach");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60));
  // Nothing was written by the rank that failed.
  CHECK_FALSE(fs::exists(tmp.path / "r"));
}

// LibTorch renamed the variable in 2.2; 2.0 and 2.1 read only the old name, so blocking wait
// would silently stay off there.
TEST_CASE("NCCL blocking wait: the variable the linked LibTorch version reads", "[dist]") {
  using dodge::run::nccl_blocking_wait_variable;
  CHECK(std::string(nccl_blocking_wait_variable(1, 13)) == "NCCL_BLOCKING_WAIT");
  CHECK(std::string(nccl_blocking_wait_variable(2, 0)) == "NCCL_BLOCKING_WAIT");
  CHECK(std::string(nccl_blocking_wait_variable(2, 1)) == "NCCL_BLOCKING_WAIT");
  CHECK(std::string(nccl_blocking_wait_variable(2, 2)) == "TORCH_NCCL_BLOCKING_WAIT");
  CHECK(std::string(nccl_blocking_wait_variable(2, 11)) == "TORCH_NCCL_BLOCKING_WAIT");
  CHECK(std::string(nccl_blocking_wait_variable(3, 0)) == "TORCH_NCCL_BLOCKING_WAIT");
}

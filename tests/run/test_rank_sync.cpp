// What the ranks agree on besides the gradients, over a real two-rank Gloo group in one process:
// pooled episode statistics and lesson windows, and the end-of-step vote (stops, the lead's rate).
#include "torch_catch.hpp"

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "dodge/run/rank_sync.hpp"
#include "gloo_group.hpp"

using namespace dodge::run;

namespace {

// Runs body(rank, group) on two ranks at once; the error each rank threw, if any.
void on_two_ranks(const std::function<void(int, ProcessGroup&)>& body) {
  const int port = free_port();
  std::string error[2];
  auto rank_main = [&](int rank) {
    try {
      auto group = join_cpu_group(rank, 2, port);
      body(rank, *group);
    } catch (const std::exception& e) {
      error[rank] = e.what();
    }
  };
  std::thread other([&] { rank_main(1); });
  rank_main(0);
  other.join();
  INFO("rank 0: " << error[0] << " / rank 1: " << error[1]);
  REQUIRE(error[0].empty());
  REQUIRE(error[1].empty());
}

}  // namespace

TEST_CASE("several ranks: episode statistics and lesson windows pool to every rank's sums", "[dist][rank-sync]") {
  if (!have_gloo()) return;
  EpisodeSums episodes[2];
  PooledLesson lesson[2];
  on_two_ranks([&](int rank, ProcessGroup& group) {
    const std::deque<double> returns = rank == 0 ? std::deque<double>{1.5, -2, 3} : std::deque<double>{-40.25};
    const std::deque<double> lengths = rank == 0 ? std::deque<double>{10, 20, 30} : std::deque<double>{400};
    episodes[rank] = pool_episodes(group, returns, lengths, torch::kCPU);
    // The lead's clock alone says whether max_share is spent; the others pass false.
    const LessonWindow mine = rank == 0 ? LessonWindow{-10, 1, 2} : LessonWindow{-20.5, 2, 3};
    lesson[rank] = pool_lesson(group, mine, rank == 0, torch::kCPU);
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    CHECK(episodes[r].returns == -37.75);
    CHECK(episodes[r].lengths == 460);
    CHECK(episodes[r].episodes == 4);
    CHECK(lesson[r].window.returns == -30.5);
    CHECK(lesson[r].window.survived == 3);
    CHECK(lesson[r].window.count == 5);
    CHECK(lesson[r].share_spent);
  }
}

TEST_CASE("several ranks: any rank's interrupt stops all, the lead's rule and rate hold for all",
          "[dist][rank-sync]") {
  if (!have_gloo()) return;
  StepVote quiet[2], interrupted[2], ruled[2];
  on_two_ranks([&](int rank, ProcessGroup& group) {
    // Each rank computes a rate from its own clock; the lead's is the one every rank uses.
    const double rate = rank == 0 ? 0.3 : 0.9;
    quiet[rank] = agree_on_step(group, StepVote{false, false, rate}, torch::kCPU);
    interrupted[rank] = agree_on_step(group, StepVote{rank == 1, false, rate}, torch::kCPU);
    ruled[rank] = agree_on_step(group, StepVote{false, rank == 0, rate}, torch::kCPU);
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    CHECK_FALSE(quiet[r].interrupt);
    CHECK_FALSE(quiet[r].stop);
    // Exchanged as fp32: the lead's 0.3 in single precision, the same bits on every rank.
    CHECK(quiet[r].lr_scale == static_cast<double>(0.3f));
    CHECK(interrupted[r].interrupt);
    CHECK_FALSE(interrupted[r].stop);
    CHECK_FALSE(ruled[r].interrupt);
    CHECK(ruled[r].stop);
    CHECK(ruled[r].lr_scale == static_cast<double>(0.3f));
  }
}

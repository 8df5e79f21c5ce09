#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "dodge/render/frame_stack.hpp"

using dodge::render::FrameStacker;
using dodge::render::stack_offset;

namespace {

constexpr std::int64_t kFrameBytes = 6;

// Writes a frame whose bytes all equal id, then commits it.
void push(FrameStacker& s, int env, std::uint8_t id, bool start) {
  std::memset(s.next_frame(env), id, static_cast<std::size_t>(s.frame_bytes()));
  s.push(env, start);
}

// The frame ids of env's stack, oldest first (checking every byte of each frame agrees).
std::vector<int> stack_ids(const FrameStacker& s, int env) {
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(s.stack() * s.frame_bytes()), 0xEE);
  s.write_stack(env, buf.data());
  std::vector<int> ids;
  for (int p = 0; p < s.stack(); ++p) {
    const std::uint8_t* f = buf.data() + p * s.frame_bytes();
    for (std::int64_t b = 1; b < s.frame_bytes(); ++b) REQUIRE(f[b] == f[0]);
    ids.push_back(f[0]);
  }
  return ids;
}

}  // namespace

TEST_CASE("stack_offset follows the rule", "[frame_stack]") {
  CHECK(stack_offset(0, 5, 4) == 0);
  CHECK(stack_offset(3, 5, 4) == 3);
  CHECK(stack_offset(3, 1, 4) == 1);  // before the episode's first frame: repeat it
  CHECK(stack_offset(3, 5, 2) == 1);  // only two frames held
  CHECK(stack_offset(2, 0, 0) == 0);  // nothing held yet
}

TEST_CASE("FrameStacker: zeros before the first push", "[frame_stack]") {
  FrameStacker s(2, 4, kFrameBytes);
  CHECK(stack_ids(s, 0) == std::vector<int>{0, 0, 0, 0});
  CHECK(stack_ids(s, 1) == std::vector<int>{0, 0, 0, 0});
}

TEST_CASE("FrameStacker: early positions repeat the first frame, oldest first", "[frame_stack]") {
  FrameStacker s(1, 4, kFrameBytes);
  push(s, 0, 1, true);
  CHECK(stack_ids(s, 0) == std::vector<int>{1, 1, 1, 1});
  push(s, 0, 2, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{1, 1, 1, 2});
  push(s, 0, 3, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{1, 1, 2, 3});
  push(s, 0, 4, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{1, 2, 3, 4});
  push(s, 0, 5, false);
  push(s, 0, 6, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{3, 4, 5, 6});
}

TEST_CASE("FrameStacker: a stack never mixes two episodes", "[frame_stack]") {
  FrameStacker s(1, 4, kFrameBytes);
  for (int i = 1; i <= 5; ++i) push(s, 0, static_cast<std::uint8_t>(i), i == 1);
  push(s, 0, 10, true);
  CHECK(stack_ids(s, 0) == std::vector<int>{10, 10, 10, 10});
  push(s, 0, 11, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{10, 10, 10, 11});
  push(s, 0, 12, true);  // a one-frame episode ended at 11
  push(s, 0, 13, false);
  push(s, 0, 14, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{12, 12, 13, 14});
}

TEST_CASE("FrameStacker: stack of one is the newest frame", "[frame_stack]") {
  FrameStacker s(1, 1, kFrameBytes);
  push(s, 0, 7, true);
  CHECK(stack_ids(s, 0) == std::vector<int>{7});
  push(s, 0, 8, false);
  CHECK(stack_ids(s, 0) == std::vector<int>{8});
}

TEST_CASE("FrameStacker: envs are independent, write_all concatenates", "[frame_stack]") {
  FrameStacker s(3, 3, kFrameBytes);
  push(s, 0, 1, true);
  push(s, 1, 50, true);
  push(s, 0, 2, false);
  push(s, 0, 3, false);
  push(s, 1, 51, false);
  push(s, 0, 4, true);
  CHECK(stack_ids(s, 0) == std::vector<int>{4, 4, 4});
  CHECK(stack_ids(s, 1) == std::vector<int>{50, 50, 51});
  CHECK(stack_ids(s, 2) == std::vector<int>{0, 0, 0});  // never pushed

  const std::size_t per_env = static_cast<std::size_t>(s.stack() * s.frame_bytes());
  std::vector<std::uint8_t> all(3 * per_env), one(per_env);
  s.write_all(all.data());
  for (int e = 0; e < 3; ++e) {
    s.write_stack(e, one.data());
    CHECK(std::equal(one.begin(), one.end(), all.begin() + static_cast<std::ptrdiff_t>(e * per_env)));
  }
}

TEST_CASE("FrameStacker matches the rule on random episodes", "[frame_stack]") {
  const int n = 3, k = 4;
  FrameStacker s(n, k, kFrameBytes);
  std::mt19937 rng(1);
  std::bernoulli_distribution start(0.15);
  // Full history per env: frame ids and the episode each belongs to.
  std::vector<std::vector<int>> ids(n), episode(n);
  std::vector<int> since(n, 0), episodes(n, 0);
  int next_id = 1;
  for (int t = 0; t < 600; ++t) {
    const int e = static_cast<int>(rng() % n);
    const bool st = ids[static_cast<std::size_t>(e)].empty() || start(rng);
    auto& h = ids[static_cast<std::size_t>(e)];
    auto& ep = episode[static_cast<std::size_t>(e)];
    if (st) {
      ++episodes[static_cast<std::size_t>(e)];
      since[static_cast<std::size_t>(e)] = 0;
    } else {
      ++since[static_cast<std::size_t>(e)];
    }
    const int id = next_id;
    next_id = next_id % 250 + 1;
    h.push_back(id);
    ep.push_back(episodes[static_cast<std::size_t>(e)]);
    push(s, e, static_cast<std::uint8_t>(id), st);

    std::vector<int> got = stack_ids(s, e);
    const int last = static_cast<int>(h.size()) - 1;
    for (int p = 0; p < k; ++p) {
      const int j = k - 1 - p;
      const int frame = last - std::min(j, since[static_cast<std::size_t>(e)]);
      REQUIRE(got[static_cast<std::size_t>(p)] == h[static_cast<std::size_t>(frame)]);
      REQUIRE(ep[static_cast<std::size_t>(frame)] == ep.back());  // same episode as the newest
    }
  }
}

TEST_CASE("FrameStacker rejects bad sizes", "[frame_stack]") {
  CHECK_THROWS_AS(FrameStacker(0, 4, 10), std::invalid_argument);
  CHECK_THROWS_AS(FrameStacker(2, 0, 10), std::invalid_argument);
  CHECK_THROWS_AS(FrameStacker(2, 4, 0), std::invalid_argument);
}

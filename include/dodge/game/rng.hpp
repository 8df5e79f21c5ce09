// Per-env random numbers: xoshiro256** seeded through splitmix64 from (run seed, env, episode).
// Small, fast, and its whole state is four words, so checkpoints can store it.
#pragma once

#include <array>
#include <cstdint>

namespace dodge::game {

inline std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  Rng() : Rng(0) {}
  explicit Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x);
  }
  // The stream of one episode of one env of a run (GAME.md section 10).
  static Rng for_episode(std::uint64_t run_seed, std::uint64_t env_index, std::uint64_t episode) {
    std::uint64_t x = run_seed;
    std::uint64_t h = splitmix64(x);
    x = h ^ (env_index * 0xD1B54A32D192ED03ull);
    h = splitmix64(x);
    x = h ^ (episode * 0x8CB92BA72F3D8DD7ull);
    return Rng(splitmix64(x));
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  const std::array<std::uint64_t, 4>& state() const { return s_; }
  void set_state(const std::array<std::uint64_t, 4>& s) { s_ = s; }
  bool operator==(const Rng& o) const { return s_ == o.s_; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace dodge::game

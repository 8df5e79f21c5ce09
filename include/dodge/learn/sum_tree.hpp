// A sum tree over n non-negative priorities (Schaul et al. 2016, proportional prioritized replay):
// set a leaf and draw a leaf with probability priority / total, each in O(log n).
#pragma once

#include <cstdint>
#include <vector>

namespace dodge::learn {

class SumTree {
 public:
  explicit SumTree(std::int64_t n = 0);
  std::int64_t size() const { return n_; }
  void set(std::int64_t i, double priority);
  double get(std::int64_t i) const { return tree_[static_cast<std::size_t>(leaves_ + i)]; }
  double total() const { return tree_.size() > 1 ? tree_[1] : 0.0; }
  // The leaf where the running sum of priorities passes `mass` (in [0, total)); never a zero leaf.
  std::int64_t find(double mass) const;
  // Sets leaves [begin, begin + count) (wrapping at n) to `priority`.
  void fill(std::int64_t begin, std::int64_t count, double priority);
  std::vector<double> leaves() const;
  void set_leaves(const std::vector<double>& priorities);  // exact: a resume samples as before

 private:
  std::int64_t n_ = 0, leaves_ = 1;  // leaves_: a power of two >= n; leaf i at tree_[leaves_ + i]
  std::vector<double> tree_;
};

}  // namespace dodge::learn

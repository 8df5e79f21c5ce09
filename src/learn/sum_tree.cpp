#include "dodge/learn/sum_tree.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace dodge::learn {

SumTree::SumTree(std::int64_t n) : n_(n) {
  while (leaves_ < n_) leaves_ *= 2;
  tree_.assign(static_cast<std::size_t>(2 * leaves_), 0.0);
}

void SumTree::set(std::int64_t i, double priority) {
  if (i < 0 || i >= n_)
    throw std::out_of_range("SumTree::set: leaf " + std::to_string(i) + " of " + std::to_string(n_));
  std::size_t k = static_cast<std::size_t>(leaves_ + i);
  tree_[k] = priority;
  // The parents again from their children: a running difference would drift over millions of sets.
  for (k /= 2; k >= 1; k /= 2) tree_[k] = tree_[2 * k] + tree_[2 * k + 1];
}

std::int64_t SumTree::find(double mass) const {
  std::size_t k = 1;
  while (k < static_cast<std::size_t>(leaves_)) {
    const double left = tree_[2 * k];
    // Rounding can leave `mass` past a subtree's sum: take the right child only where it has mass.
    if (mass < left || tree_[2 * k + 1] <= 0.0) {
      k = 2 * k;
    } else {
      mass -= left;
      k = 2 * k + 1;
    }
  }
  return static_cast<std::int64_t>(k) - leaves_;
}

void SumTree::fill(std::int64_t begin, std::int64_t count, double priority) {
  for (std::int64_t j = 0; j < count; ++j) set((begin + j) % n_, priority);
}

std::vector<double> SumTree::leaves() const {
  std::vector<double> out(static_cast<std::size_t>(n_));
  for (std::int64_t i = 0; i < n_; ++i) out[static_cast<std::size_t>(i)] = get(i);
  return out;
}

void SumTree::set_leaves(const std::vector<double>& priorities) {
  if (static_cast<std::int64_t>(priorities.size()) != n_)
    throw std::invalid_argument("SumTree::set_leaves: " + std::to_string(priorities.size()) +
                                " priorities for " + std::to_string(n_) + " leaves");
  std::fill(tree_.begin(), tree_.end(), 0.0);
  for (std::int64_t i = 0; i < n_; ++i)
    tree_[static_cast<std::size_t>(leaves_ + i)] = priorities[static_cast<std::size_t>(i)];
  for (std::int64_t k = leaves_ - 1; k >= 1; --k)
    tree_[static_cast<std::size_t>(k)] =
        tree_[static_cast<std::size_t>(2 * k)] + tree_[static_cast<std::size_t>(2 * k + 1)];
}

}  // namespace dodge::learn

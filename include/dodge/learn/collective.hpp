// The learner's side of data-parallel training: what Sac needs from the other ranks, without
// knowing how they are reached (run/distributed.cpp implements it over PyTorch's c10d).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace dodge::learn {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // The mean over ranks, in place. Every rank must call it with the same shapes in the same order.
  virtual void average(const std::vector<torch::Tensor>& tensors) = 0;
  // Rank 0's values into every rank's tensors, in place.
  virtual void broadcast(const std::vector<torch::Tensor>& tensors) = 0;
};

// One contiguous buffer per dtype, so that a whole gradient set is one collective call; `op` runs on
// each buffer, whose values are then copied back into the tensors.
template <typename Op>
void on_flattened(const std::vector<torch::Tensor>& tensors, Op op) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<torch::Tensor>> groups;
  for (const auto& t : tensors) {
    bool placed = false;
    for (auto& g : groups)
      if (g.front().scalar_type() == t.scalar_type() && g.front().device() == t.device()) {
        g.push_back(t);
        placed = true;
        break;
      }
    if (!placed) groups.push_back({t});
  }
  for (auto& g : groups) {
    std::vector<torch::Tensor> flat;
    for (const auto& t : g) flat.push_back(t.reshape({-1}));
    torch::Tensor buffer = torch::cat(flat);
    op(buffer);
    std::int64_t at = 0;
    for (auto& t : g) {
      const auto n = t.numel();
      t.copy_(buffer.narrow(0, at, n).view(t.sizes()));
      at += n;
    }
  }
}

}  // namespace dodge::learn

// Adam whose step counter lives on the device as a tensor, so a step needs no host value and
// can be captured in a CUDA graph (LibTorch's own Adam keeps its step count on the host, which a
// captured graph would freeze, and with it the bias correction). With LibTorch 2.4+ a step is one
// fused multi-tensor kernel (CPU and CUDA); 1.13 takes a few element-wise ops per tensor.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace dodge::learn {

class DeviceAdam {
 public:
  DeviceAdam(std::vector<torch::Tensor> params, double lr, double beta1 = 0.9, double beta2 = 0.999,
             double eps = 1e-8);

  // Zeroes gradients in place (keeps their storage, as graph capture needs).
  void zero_grad();
  void step();

  const std::vector<torch::Tensor>& params() const { return params_; }
  const std::vector<torch::Tensor>& grads() const { return grads_; }
  double lr() const { return lr_; }
  // A new rate from the next step on (a learning-rate schedule).
  void set_lr(double lr) { lr_ = lr; }
  torch::Tensor step_count() const { return step_; }
  // Moments and step back to zero, in place (a reset of the networks it steps).
  void restart();

  // State for checkpoints: step, then exp_avg and exp_avg_sq of each parameter.
  std::vector<torch::Tensor> state() const;
  void load_state(const std::vector<torch::Tensor>& state);

 private:
  std::vector<torch::Tensor> params_, grads_, exp_avg_, exp_avg_sq_;  // grads_: the params' own, kept
  torch::Tensor step_;  // float scalar on the parameters' device
  double lr_, beta1_, beta2_, eps_;
};

}  // namespace dodge::learn

#include "dodge/learn/adam.hpp"

#include <torch/version.h>

// LibTorch 2.4+ has a fused Adam on CPU and CUDA: one multi-tensor kernel for every parameter,
// reading the step from the device (capturable), instead of ~7 small kernels per tensor.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define DODGE_FUSED_ADAM 1
#endif

namespace dodge::learn {

DeviceAdam::DeviceAdam(std::vector<torch::Tensor> params, double lr, double beta1, double beta2, double eps)
    : params_(std::move(params)), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  torch::NoGradGuard no_grad;
  for (auto& p : params_) {
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
    // Gradients exist from the start, so zero_grad() and graph capture see fixed storage.
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  }
  auto dev = params_.empty() ? torch::Device(torch::kCPU) : params_.front().device();
  step_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(dev));
  for (auto& p : params_) grads_.push_back(p.grad());
}

void DeviceAdam::restart() {
  torch::NoGradGuard no_grad;
  for (auto& m : exp_avg_) m.zero_();
  for (auto& v : exp_avg_sq_) v.zero_();
  step_.zero_();
}

void DeviceAdam::zero_grad() {
  for (auto& g : grads_) g.zero_();
}

void DeviceAdam::step() {
  torch::NoGradGuard no_grad;
  step_.add_(1.0);
#ifdef DODGE_FUSED_ADAM
  if (params_.empty()) return;
  // The fused kernel reads one step tensor per parameter: they all share this optimizer's.
  const std::vector<torch::Tensor> steps(params_.size(), step_);
  at::_fused_adam_(params_, grads_, exp_avg_, exp_avg_sq_, /*max_exp_avg_sqs=*/{}, steps, lr_, beta1_, beta2_,
                   /*weight_decay=*/0.0, eps_, /*amsgrad=*/false, /*maximize=*/false);
#else
  // Bias corrections from the device-side step: 1 - beta^t.
  auto bc1 = 1.0 - torch::pow(beta1_, step_);
  auto bc2 = 1.0 - torch::pow(beta2_, step_);
  auto step_size = (-lr_) / bc1;
  auto bc2_sqrt = bc2.sqrt();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& g = grads_[i];
    exp_avg_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    auto denom = (exp_avg_sq_[i].sqrt() / bc2_sqrt).add_(eps_);
    p.add_(exp_avg_[i] / denom * step_size);
  }
#endif
}

std::vector<torch::Tensor> DeviceAdam::state() const {
  std::vector<torch::Tensor> s{step_};
  s.insert(s.end(), exp_avg_.begin(), exp_avg_.end());
  s.insert(s.end(), exp_avg_sq_.begin(), exp_avg_sq_.end());
  return s;
}

void DeviceAdam::load_state(const std::vector<torch::Tensor>& s) {
  if (s.size() != 1 + 2 * params_.size())
    throw std::runtime_error("optimizer state has " + std::to_string(s.size()) + " tensors, expected " +
                             std::to_string(1 + 2 * params_.size()));
  torch::NoGradGuard no_grad;
  step_.copy_(s[0]);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(s[1 + i]);
    exp_avg_sq_[i].copy_(s[1 + params_.size() + i]);
  }
}

}  // namespace dodge::learn

// Networks of the SAC agent: encoders (NatureCNN for uint8 frame stacks, flatten for vectors),
// MLP heads, the squashed-Gaussian actor and the twin-Q critic.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace dodge::learn {

// NatureCNN (Mnih et al. 2015): conv 32x8/4, 64x4/2, 64x3/1, linear -> features_dim, ReLU.
// Takes uint8 [B, C, H, W] and divides by 255 inside, so pixels stay uint8 until here.
struct NatureCnnImpl : torch::nn::Module {
  NatureCnnImpl(std::int64_t in_channels, std::int64_t height, std::int64_t width, std::int64_t features_dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear fc{nullptr};
  std::int64_t features_dim = 0;
};
TORCH_MODULE(NatureCnn);

// An encoder: NatureCNN for images, the identity (flatten) for vectors.
struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const std::vector<std::int64_t>& obs_shape, std::int64_t features_dim);
  torch::Tensor forward(const torch::Tensor& obs);
  std::int64_t out_dim() const { return out_dim_; }
  NatureCnn cnn{nullptr};
  std::int64_t out_dim_ = 0;
};
TORCH_MODULE(Encoder);

// Linear+ReLU layers then a final linear to out_dim.
torch::nn::Sequential make_mlp(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t out_dim);

struct ActorHeadImpl : torch::nn::Module {
  ActorHeadImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim);
  // Mean and log-std (clamped to [-20, 2]).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features);
  torch::nn::Sequential trunk{nullptr};
  torch::nn::Linear mu{nullptr}, log_std{nullptr};
};
TORCH_MODULE(ActorHead);

struct TwinQImpl : torch::nn::Module {
  TwinQImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features, const torch::Tensor& actions);
  torch::nn::Sequential q1{nullptr}, q2{nullptr};
};
TORCH_MODULE(TwinQ);

// Squashed Gaussian: a = tanh(u), u ~ N(mu, std); log-prob with the tanh correction in the
// numerically stable form 2 (log 2 - u - softplus(-2u)).
struct SquashedSample {
  torch::Tensor action, log_prob;  // [B, A], [B, 1]
};
SquashedSample squashed_sample(const torch::Tensor& mu, const torch::Tensor& log_std, const torch::Tensor& noise);

}  // namespace dodge::learn

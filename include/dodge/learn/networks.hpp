// Networks of the SAC agent: encoders (NatureCNN or DrQ convolutions for uint8 frame stacks, flatten
// for vectors), MLP heads, the squashed-Gaussian actor and the twin-Q critic.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace dodge::learn {

// The convolution stacks an image encoder can use.
enum class EncoderKind {
  Nature,  // NatureCNN (Mnih et al. 2015): conv 32x8/4, 64x4/2, 64x3/1 (SB3's CnnPolicy)
  Drq,     // DrQ / SAC-AE (Yarats et al.): conv 32x3/2, then three 32x3/1; sized for small images
};
// "nature" | "drq"; throws std::invalid_argument for anything else.
EncoderKind encoder_kind_named(const std::string& name);
const char* to_string(EncoderKind kind);

// A CNN image encoder: the convolutions of its kind (ReLU after each), then a linear layer to
// features_dim followed either by ReLU (SB3) or, with layer_norm, by LayerNorm and tanh (DrQ,
// SAC-AE: bounded features keep the critic's inputs on one scale while the encoder moves).
// Takes uint8 [B, C, H, W] (or frames_to_input's values of them) and divides by 255 inside, so
// pixels stay uint8 until here.
struct ConvEncoderImpl : torch::nn::Module {
  // conv1_kernel / conv1_stride: the first layer's size and stride (0: the kind's own). A first layer
  // that strides further reads large frames (84x84) at about the cost of small ones.
  ConvEncoderImpl(EncoderKind kind, std::int64_t in_channels, std::int64_t height, std::int64_t width,
                  std::int64_t features_dim, bool layer_norm, int conv1_kernel = 0, int conv1_stride = 0);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr};  // conv4: Drq only
  torch::nn::Linear fc{nullptr};
  torch::nn::LayerNorm norm{nullptr};  // with layer_norm only
  std::int64_t features_dim = 0;
};
TORCH_MODULE(ConvEncoder);

struct EncoderOptions {
  EncoderKind kind = EncoderKind::Nature;
  std::int64_t features_dim = 512;
  bool layer_norm = false;
  int conv1_kernel = 0;  // 0: the kind's own (8 nature, 3 drq)
  int conv1_stride = 0;  // 0: the kind's own (4 nature, 2 drq)
};

// uint8 frames [N, C, H, W] as the values a convolution reads: dtype (float or bf16 on the CPU; 0..255
// exactly), channels-last. With shifts (int64 [N, 2] of (dy, dx)), sample n moves by its own shift
// with edge replication, the same for all its channels (DrQ's random shift). On the CPU this is one
// pass over the batch instead of a gather, a reorder and a conversion. With reuse, the result is
// written into *reuse when it has the right size, type and layout (else *reuse becomes a new tensor):
// batches of tens of MB would otherwise be fresh pages from the OS at every update.
torch::Tensor frames_to_input(const torch::Tensor& frames, at::ScalarType dtype,
                              const torch::Tensor& shifts = torch::Tensor(), torch::Tensor* reuse = nullptr);
// The shift alone, on uint8 frames of any device: frame n moved by shifts[n] = (dy, dx).
torch::Tensor shift_frames(const torch::Tensor& frames, const torch::Tensor& shifts);

// An encoder: a ConvEncoder for images ({C, H, W}), the identity (flatten) for vectors.
struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const std::vector<std::int64_t>& obs_shape, const EncoderOptions& options);
  torch::Tensor forward(const torch::Tensor& obs);
  std::int64_t out_dim() const { return out_dim_; }
  ConvEncoder cnn{nullptr};
  std::int64_t out_dim_ = 0;
};
TORCH_MODULE(Encoder);

// The hidden layers of the actor and the critics.
enum class HeadKind {
  Mlp,       // Linear + ReLU per entry of net_arch (SB3)
  Residual,  // SimBa (Lee et al. 2025): Linear to the width, a residual block per entry, LayerNorm
};
// "mlp" | "residual"; throws std::invalid_argument for anything else.
HeadKind head_kind_named(const std::string& name);
const char* to_string(HeadKind kind);

// SimBa's block: x + W2 relu(W1 LayerNorm(x)), W1 widening `expansion` times. The skip keeps the
// gradient's path short as blocks are added; the LayerNorm keeps every block's input on one scale.
struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(std::int64_t width, std::int64_t expansion);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear up{nullptr}, down{nullptr};
};
TORCH_MODULE(ResidualBlock);

// The residual trunk: Linear(in, width), `blocks` residual blocks, a LayerNorm before whatever reads it.
struct ResidualTrunkImpl : torch::nn::Module {
  ResidualTrunkImpl(std::int64_t in_dim, std::int64_t width, int blocks, std::int64_t expansion = 4);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear input{nullptr};
  std::vector<ResidualBlock> blocks;
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(ResidualTrunk);

// Batch renormalisation (Ioffe 2017) as CrossQ's critics use it (Bhatt et al. 2024; SB3-contrib's
// BatchRenorm): in training mode the batch's mean and variance normalise it, corrected toward the
// running statistics by r = sigma_B / sigma_run in [1/3, 3] and d = (mu_B - mu_run) / sigma_run in [-5, 5]
// once `warmup` training passes have run (plain batch norm before), and the running statistics move
// by `momentum`; in evaluation mode the running statistics alone. Then a learned scale and shift.
// The warm-up test and the counter are tensors: no host read, so a CUDA graph can hold it.
struct BatchRenormImpl : torch::nn::Module {
  BatchRenormImpl(std::int64_t features, std::int64_t warmup, double momentum = 0.01, double eps = 1e-3);
  torch::Tensor forward(const torch::Tensor& x);
  // Back to a new layer's state: scale 1, shift 0, running mean 0 and variance 1, no passes (resets).
  void restart();
  torch::Tensor weight, bias;                      // parameters
  torch::Tensor running_mean, running_var, steps;  // buffers (steps: float64, the training passes so far)
  std::int64_t warmup;
  double momentum, eps;
};
TORCH_MODULE(BatchRenorm);

// The hidden layers then, when out_dim > 0, a final linear to out_dim. Mlp: Linear+ReLU per entry of
// hidden. Residual: a ResidualTrunk of width hidden[0] with one block per entry (all entries equal;
// std::invalid_argument otherwise). renorm_warmup >= 0 (Mlp only): a BatchRenorm before every linear
// layer, the input's included (CrossQ's critic), with that warm-up.
torch::nn::Sequential make_mlp(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t out_dim,
                               HeadKind kind = HeadKind::Mlp, std::int64_t renorm_warmup = -1);

struct ActorHeadImpl : torch::nn::Module {
  ActorHeadImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim,
                HeadKind kind = HeadKind::Mlp);
  // Mean and log-std (clamped to [-20, 2]).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features);
  torch::nn::Sequential trunk{nullptr};
  torch::nn::Linear mu{nullptr}, log_std{nullptr};
};
TORCH_MODULE(ActorHead);

struct TwinQImpl : torch::nn::Module {
  // out_dim: 1 (a value) or the bins of a categorical critic (HL-Gauss). renorm_warmup >= 0: batch
  // renormalisation before each linear layer (CrossQ), see make_mlp.
  TwinQImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim,
            HeadKind kind = HeadKind::Mlp, std::int64_t out_dim = 1, std::int64_t renorm_warmup = -1);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features,
                                                  const torch::Tensor& actions);
  torch::nn::Sequential q1{nullptr}, q2{nullptr};
};
TORCH_MODULE(TwinQ);

// Squashed Gaussian: a = tanh(u), u ~ N(mu, std); log-prob with the tanh correction in the
// numerically stable form 2 (log 2 - u - softplus(-2u)).
struct SquashedSample {
  torch::Tensor action, log_prob;  // [B, A], [B, 1]
};
SquashedSample squashed_sample(const torch::Tensor& mu, const torch::Tensor& log_std,
                               const torch::Tensor& noise);

}  // namespace dodge::learn

#include "dodge/learn/networks.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "dodge/learn/conv_shape.hpp"

namespace dodge::learn {

namespace F = torch::nn::functional;

EncoderKind encoder_kind_named(const std::string& name) {
  if (name == "nature") return EncoderKind::Nature;
  if (name == "drq") return EncoderKind::Drq;
  throw std::invalid_argument("encoder " + name + ": allowed: nature | drq");
}

const char* to_string(EncoderKind kind) {
  return kind == EncoderKind::Drq ? "drq" : "nature";
}

ConvEncoderImpl::ConvEncoderImpl(EncoderKind kind, std::int64_t c, std::int64_t h, std::int64_t w,
                                 std::int64_t features, bool layer_norm, int conv1_kernel, int conv1_stride)
    : features_dim(features) {
  using torch::nn::Conv2dOptions;
  auto out = [](std::int64_t n, std::int64_t k, std::int64_t s) { return (n - k) / s + 1; };
  const bool nature = kind == EncoderKind::Nature;
  const Conv1Shape first = conv1_shape(nature, conv1_kernel, conv1_stride);
  const std::int64_t k1 = first.kernel, s1 = first.stride;
  const std::int64_t need = min_image_side(nature, first);
  if (h < need || w < need)
    throw std::invalid_argument(
        std::string("the ") + to_string(kind) + " encoder (first layer " + std::to_string(k1) + "x" +
        std::to_string(k1) + "/" + std::to_string(s1) + ") needs images of at least " + std::to_string(need) +
        "x" + std::to_string(need) + ", got " + std::to_string(h) + "x" + std::to_string(w));
  std::int64_t oh = out(h, k1, s1), ow = out(w, k1, s1), channels = 0;
  conv1 = register_module("conv1", torch::nn::Conv2d(Conv2dOptions(c, 32, k1).stride(s1)));
  if (nature) {
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(32, 64, 4).stride(2)));
    conv3 = register_module("conv3", torch::nn::Conv2d(Conv2dOptions(64, 64, 3).stride(1)));
    oh = out(out(oh, 4, 2), 3, 1);
    ow = out(out(ow, 4, 2), 3, 1);
    channels = 64;
  } else {
    conv2 = register_module("conv2", torch::nn::Conv2d(Conv2dOptions(32, 32, 3).stride(1)));
    conv3 = register_module("conv3", torch::nn::Conv2d(Conv2dOptions(32, 32, 3).stride(1)));
    conv4 = register_module("conv4", torch::nn::Conv2d(Conv2dOptions(32, 32, 3).stride(1)));
    oh = out(out(out(oh, 3, 1), 3, 1), 3, 1);
    ow = out(out(out(ow, 3, 1), 3, 1), 3, 1);
    channels = 32;
  }
  fc = register_module("fc", torch::nn::Linear(channels * oh * ow, features));
  if (layer_norm)
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({features})));
}

namespace {
// The dtype a convolution computes in here: autocast's while it is on for this device, else the weights'.
at::ScalarType compute_dtype(const torch::Tensor& x, const torch::Tensor& weight) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  const auto type = x.is_cuda() ? at::kCUDA : at::kCPU;
  if (at::autocast::is_autocast_enabled(type)) return at::autocast::get_autocast_dtype(type);
#else
  if (x.is_cuda() ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled())
    return x.is_cuda() ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
  return weight.scalar_type();
}
}  // namespace

namespace {
// A byte as the convolution's value: exact in float and in bf16 (0..255 needs 8 significant bits,
// bf16 has 8), so bf16 is the float's upper half.
template <typename T>
inline T byte_value(std::uint8_t v);
template <>
inline float byte_value<float>(std::uint8_t v) {
  return static_cast<float>(v);
}
template <>
inline at::BFloat16 byte_value<at::BFloat16>(std::uint8_t v) {
  const float f = static_cast<float>(v);
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return at::BFloat16(static_cast<std::uint16_t>(bits >> 16), at::BFloat16::from_bits());
}

// out[n, y, x, c] = src[n, c, y + dy_n, x + dx_n] (clamped), channels-last, in one pass. Rows (n, y)
// are independent, so the threads split them; a row's C source rows stay in L1 while it is written.
template <typename T>
void frames_to_channels_last(const std::uint8_t* src, T* dst, const std::int64_t* shifts, std::int64_t n,
                             std::int64_t c, std::int64_t h, std::int64_t w) {
  at::parallel_for(0, n * h, 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t i = r / h, y = r % h;
      const std::int64_t dy = shifts ? shifts[2 * i] : 0, dx = shifts ? shifts[2 * i + 1] : 0;
      const std::uint8_t* in = src + (i * c * h + std::clamp<std::int64_t>(y + dy, 0, h - 1)) * w;
      T* out = dst + r * w * c;
      for (std::int64_t x = 0; x < w; ++x) {
        const std::uint8_t* px = in + std::clamp<std::int64_t>(x + dx, 0, w - 1);
        for (std::int64_t ch = 0; ch < c; ++ch) out[x * c + ch] = byte_value<T>(px[ch * h * w]);
      }
    }
  });
}
}  // namespace

torch::Tensor shift_frames(const torch::Tensor& frames, const torch::Tensor& shifts) {
  const auto b = frames.size(0), c = frames.size(1), h = frames.size(2), w = frames.size(3);
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(frames.device());
  auto s = shifts.to(opts);
  // Shifting by (dy, dx) with edge replication is a gather with clamped coordinates.
  auto rows = (torch::arange(h, opts).unsqueeze(0) + s.select(1, 0).unsqueeze(1)).clamp(0, h - 1);
  auto cols = (torch::arange(w, opts).unsqueeze(0) + s.select(1, 1).unsqueeze(1)).clamp(0, w - 1);
  auto idx = (rows.unsqueeze(2) * w + cols.unsqueeze(1)).view({b, 1, h * w}).expand({b, c, h * w});
  return frames.reshape({b, c, h * w}).gather(2, idx).view({b, c, h, w});
}

torch::Tensor frames_to_input(const torch::Tensor& frames, at::ScalarType dtype, const torch::Tensor& shifts,
                              torch::Tensor* reuse) {
  TORCH_CHECK(frames.scalar_type() == torch::kUInt8 && frames.dim() == 4,
              "frames_to_input: uint8 [N, C, H, W]");
  if (frames.is_cpu() && (dtype == torch::kFloat32 || dtype == torch::kBFloat16)) {
    const auto x = frames.contiguous();
    const auto layout = at::MemoryFormat::ChannelsLast;
    torch::Tensor out;
    // Written through its pointer, unseen by autograd's version counter: reused only while nothing
    // else (a graph that saved it, a caller) holds it.
    if (reuse && reuse->defined() && reuse->use_count() == 1 && reuse->sizes() == x.sizes() &&
        reuse->scalar_type() == dtype && reuse->is_cpu() && reuse->is_contiguous(layout))
      out = *reuse;
    else
      out = torch::empty(x.sizes(), x.options().dtype(dtype).memory_format(layout));
    if (reuse) *reuse = out;
    torch::Tensor s;
    if (shifts.defined()) {
      TORCH_CHECK(shifts.dim() == 2 && shifts.size(0) == x.size(0) && shifts.size(1) == 2,
                  "frames_to_input: shifts must be [N, 2]");
      s = shifts.to(torch::kCPU, torch::kInt64).contiguous();
    }
    const std::int64_t* sp = s.defined() ? s.data_ptr<std::int64_t>() : nullptr;
    const auto* src = x.data_ptr<std::uint8_t>();
    if (dtype == torch::kFloat32)
      frames_to_channels_last(src, out.data_ptr<float>(), sp, x.size(0), x.size(1), x.size(2), x.size(3));
    else
      frames_to_channels_last(src, out.data_ptr<at::BFloat16>(), sp, x.size(0), x.size(1), x.size(2),
                              x.size(3));
    return out;
  }
  // Other devices (and dtypes): reorder while still one byte a value, then convert once.
  const auto x = shifts.defined() ? shift_frames(frames, shifts) : frames;
  return x.contiguous(at::MemoryFormat::ChannelsLast).to(dtype);
}

torch::Tensor ConvEncoderImpl::forward(const torch::Tensor& x) {
  // Channels-last activations let oneDNN (CPU) and cuDNN run the convolutions without reorders.
  // uint8 frames become the dtype the convolution computes in (bf16 holds 0..255 exactly) in one
  // pass; the 1/255 scale goes into conv1's weights (thousands of values) instead of the batch
  // (millions). frames_to_input's own output (the learner's augmented batch) passes as is.
  const auto dtype = compute_dtype(x, conv1->weight);
  torch::Tensor h;
  if (x.scalar_type() == torch::kUInt8)
    h = frames_to_input(x, dtype);
  else if (x.scalar_type() == dtype)
    h = x.contiguous(at::MemoryFormat::ChannelsLast);
  else
    h = x.to(conv1->weight.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
  auto o = conv1->options;
  h = torch::relu(
      F::conv2d(h, conv1->weight * (1.0 / 255.0),
                F::Conv2dFuncOptions().bias(conv1->bias).stride(o.stride()).padding(o.padding())));
  h = torch::relu(conv2(h));
  h = torch::relu(conv3(h));
  if (conv4) h = torch::relu(conv4(h));
  h = fc(h.flatten(1));
  // LayerNorm in fp32: under bf16 autocast its statistics would round, and LibTorch 1.13's CPU
  // autocast passes it through with bf16 input and fp32 weights, which it refuses.
  if (norm) return torch::tanh(norm(h.to(torch::kFloat32)));
  return torch::relu(h);
}

EncoderImpl::EncoderImpl(const std::vector<std::int64_t>& obs_shape, const EncoderOptions& o) {
  if (obs_shape.size() == 3) {
    cnn = register_module("cnn", ConvEncoder(o.kind, obs_shape[0], obs_shape[1], obs_shape[2], o.features_dim,
                                             o.layer_norm, o.conv1_kernel, o.conv1_stride));
    out_dim_ = o.features_dim;
  } else {
    out_dim_ = 1;
    for (auto d : obs_shape) out_dim_ *= d;
  }
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& obs) {
  if (cnn) return cnn(obs);
  return obs.flatten(1);
}

HeadKind head_kind_named(const std::string& name) {
  if (name == "mlp") return HeadKind::Mlp;
  if (name == "residual") return HeadKind::Residual;
  throw std::invalid_argument("head " + name + ": allowed: mlp | residual");
}

const char* to_string(HeadKind kind) {
  return kind == HeadKind::Residual ? "residual" : "mlp";
}

ResidualBlockImpl::ResidualBlockImpl(std::int64_t width, std::int64_t expansion) {
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  up = register_module("up", torch::nn::Linear(width, width * expansion));
  down = register_module("down", torch::nn::Linear(width * expansion, width));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
  // LayerNorm in fp32, as the encoder's: bf16 autocast would round its statistics.
  return x + down(torch::relu(up(norm(x.to(torch::kFloat32)))));
}

ResidualTrunkImpl::ResidualTrunkImpl(std::int64_t in_dim, std::int64_t width, int n_blocks,
                                     std::int64_t expansion) {
  input = register_module("input", torch::nn::Linear(in_dim, width));
  for (int i = 0; i < n_blocks; ++i)
    blocks.push_back(register_module("block" + std::to_string(i), ResidualBlock(width, expansion)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
}

torch::Tensor ResidualTrunkImpl::forward(const torch::Tensor& x) {
  auto h = input(x);
  for (auto& b : blocks) h = b(h);
  return norm(h.to(torch::kFloat32));
}

BatchRenormImpl::BatchRenormImpl(std::int64_t features, std::int64_t warmup_passes, double momentum_rate,
                                 double epsilon)
    : warmup(warmup_passes), momentum(momentum_rate), eps(epsilon) {
  weight = register_parameter("weight", torch::ones({features}));
  bias = register_parameter("bias", torch::zeros({features}));
  running_mean = register_buffer("running_mean", torch::zeros({features}));
  running_var = register_buffer("running_var", torch::ones({features}));
  steps = register_buffer("steps", torch::zeros({}, torch::kFloat64));  // float32 would stop counting at 2^24
}

void BatchRenormImpl::restart() {
  torch::NoGradGuard no_grad;
  weight.fill_(1.0);
  bias.zero_();
  running_mean.zero_();
  running_var.fill_(1.0);
  steps.zero_();
}

torch::Tensor BatchRenormImpl::forward(const torch::Tensor& input) {
  const auto x = input.to(torch::kFloat32);
  torch::Tensor mean, var;
  if (is_training()) {
    const auto batch_mean = x.mean(0);
    const auto batch_var = x.var(0, /*unbiased=*/true);
    torch::Tensor r, d;
    {
      torch::NoGradGuard no_grad;
      const auto run_std = (running_var + eps).sqrt();
      // Plain batch norm during the warm-up (r = 1, d = 0): the running statistics are not yet worth
      // correcting toward. r and d carry no gradient (Ioffe 2017).
      const auto on = (steps >= static_cast<double>(warmup)).to(torch::kFloat32);
      r = 1.0 + on * (((batch_var + eps).sqrt() / run_std).clamp(1.0 / 3.0, 3.0) - 1.0);
      d = on * ((batch_mean - running_mean) / run_std).clamp(-5.0, 5.0);
      running_mean.add_(momentum * (batch_mean - running_mean));
      running_var.add_(momentum * (batch_var - running_var));
      steps.add_(1.0);
    }
    // (x - mu_B) / sigma_B * r + d, written as one mean and variance. (The clamp keeps the square
    // root's gradient finite where a feature is constant over the batch.)
    mean = batch_mean - d * batch_var.clamp_min(1e-12).sqrt() / r;
    var = batch_var / (r * r);
  } else {
    mean = running_mean;
    var = running_var;
  }
  return (x - mean) / (var + eps).sqrt() * weight + bias;
}

torch::nn::Sequential make_mlp(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t out_dim,
                               HeadKind kind, std::int64_t renorm_warmup) {
  torch::nn::Sequential s;
  std::int64_t d = in_dim;
  if (kind == HeadKind::Residual && renorm_warmup >= 0)
    throw std::invalid_argument("batch renormalisation (crossq) needs mlp heads, not residual ones");
  if (kind == HeadKind::Residual) {
    if (hidden.empty() || std::any_of(hidden.begin(), hidden.end(), [&](int h) { return h != hidden[0]; }))
      throw std::invalid_argument("a residual head needs net_arch of one width repeated (one block each), e.g. "
                                  "[128, 128]");
    s->push_back(ResidualTrunk(in_dim, hidden[0], static_cast<int>(hidden.size())));
    if (out_dim > 0) s->push_back(torch::nn::Linear(hidden[0], out_dim));
    return s;
  }
  for (int h : hidden) {
    if (renorm_warmup >= 0) s->push_back(BatchRenorm(d, renorm_warmup));
    s->push_back(torch::nn::Linear(d, h));
    s->push_back(torch::nn::ReLU());
    d = h;
  }
  if (out_dim > 0) {
    if (renorm_warmup >= 0) s->push_back(BatchRenorm(d, renorm_warmup));
    s->push_back(torch::nn::Linear(d, out_dim));
  }
  return s;
}

ActorHeadImpl::ActorHeadImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim,
                             HeadKind kind) {
  trunk = register_module("trunk", make_mlp(in_dim, hidden, 0, kind));
  const std::int64_t last = hidden.empty() ? in_dim : hidden.back();
  mu = register_module("mu", torch::nn::Linear(last, action_dim));
  log_std = register_module("log_std", torch::nn::Linear(last, action_dim));
}

std::pair<torch::Tensor, torch::Tensor> ActorHeadImpl::forward(const torch::Tensor& features) {
  // net_arch: [] means linear heads straight on the features (an empty Sequential cannot forward).
  auto h = trunk->is_empty() ? features : trunk->forward(features);
  return {mu(h), torch::clamp(log_std(h), -20.0, 2.0)};
}

TwinQImpl::TwinQImpl(std::int64_t in_dim, const std::vector<int>& hidden, std::int64_t action_dim,
                     HeadKind kind, std::int64_t out_dim, std::int64_t renorm_warmup) {
  q1 = register_module("q1", make_mlp(in_dim + action_dim, hidden, out_dim, kind, renorm_warmup));
  q2 = register_module("q2", make_mlp(in_dim + action_dim, hidden, out_dim, kind, renorm_warmup));
}

std::pair<torch::Tensor, torch::Tensor> TwinQImpl::forward(const torch::Tensor& features,
                                                           const torch::Tensor& actions) {
  auto x = torch::cat({features, actions}, 1);
  return {q1->forward(x), q2->forward(x)};
}

SquashedSample squashed_sample(const torch::Tensor& mu, const torch::Tensor& log_std,
                               const torch::Tensor& noise) {
  auto std = log_std.exp();
  auto u = mu + std * noise;
  // Normal log-density of u, summed over action dimensions.
  auto log_prob = (-0.5 * noise.pow(2) - log_std - 0.5 * std::log(2.0 * M_PI)).sum(1, true);
  log_prob = log_prob - (2.0 * (std::log(2.0) - u - torch::softplus(-2.0 * u))).sum(1, true);
  return {torch::tanh(u), log_prob};
}

}  // namespace dodge::learn

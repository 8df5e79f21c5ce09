#include "dodge/learn/sac.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/version.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "dodge/learn/archive_io.hpp"
#include "dodge/learn/cpu_info.hpp"

#ifdef DODGE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace dodge::learn {

namespace {

std::vector<torch::Tensor> params_of(std::initializer_list<const torch::nn::Module*> modules) {
  std::vector<torch::Tensor> v;
  for (const auto* m : modules)
    if (m)
      for (const auto& p : m->parameters()) v.push_back(p);
  return v;
}

// The module behind a holder, or null for an empty holder (get() would throw).
template <typename Holder>
torch::nn::Module* ptr(Holder& h) {
  return h.is_empty() ? nullptr : h.get();
}
template <typename Holder>
const torch::nn::Module* ptr(const Holder& h) {
  return h.is_empty() ? nullptr : h.get();
}

void copy_params(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.parameters();
  auto dst = to.parameters();
  for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

// Sets the fp32 arithmetic of CUDA matmuls and convolutions (TF32 or IEEE) for the lifetime of the
// object, then restores what was set before. Per call rather than per process, so two agents with
// different precisions (bench update) do not affect each other. cuBLAS and cuDNN read these flags at
// each call, and a captured graph keeps the kernels chosen at capture.
class CudaMath {
 public:
  CudaMath(bool cuda, Precision precision) : on_(cuda) {
    if (!on_) return;
    auto& ctx = at::globalContext();
    cublas_tf32_ = ctx.allowTF32CuBLAS();
    cudnn_tf32_ = ctx.allowTF32CuDNN();
    const bool tf32 = precision != Precision::Fp32;
    // The legacy setters: LibTorch 1.13 has no other, and 2.9+ keeps them in step with its new API.
    if (cublas_tf32_ != tf32) ctx.setAllowTF32CuBLAS(tf32);
    if (cudnn_tf32_ != tf32) ctx.setAllowTF32CuDNN(tf32);
  }
  ~CudaMath() {
    if (!on_) return;
    auto& ctx = at::globalContext();
    if (ctx.allowTF32CuBLAS() != cublas_tf32_) ctx.setAllowTF32CuBLAS(cublas_tf32_);
    if (ctx.allowTF32CuDNN() != cudnn_tf32_) ctx.setAllowTF32CuDNN(cudnn_tf32_);
  }
  CudaMath(const CudaMath&) = delete;
  CudaMath& operator=(const CudaMath&) = delete;

 private:
  bool on_;
  bool cublas_tf32_ = false, cudnn_tf32_ = true;
};

// bf16 autocast on this device type while the object lives, then the previous state. Wraps only the
// encoders' forward passes (the backward pass follows the dtypes autograd recorded).
class Bf16Autocast {
 public:
  Bf16Autocast(bool on, bool cuda) : on_(on), cuda_(cuda) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    was_ = at::autocast::is_autocast_enabled(type);
    dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, at::kBFloat16);
#else
    was_ = cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    dtype_ = cuda_ ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda_) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    }
#endif
  }
  ~Bf16Autocast() {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    const auto type = cuda_ ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(type, was_);
    at::autocast::set_autocast_dtype(type, dtype_);
#else
    if (cuda_) {
      at::autocast::set_enabled(was_);
      at::autocast::set_autocast_gpu_dtype(dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_);
      at::autocast::set_autocast_cpu_dtype(dtype_);
    }
#endif
    // The cast weights are cached while autocast is on: the next call must see updated weights.
    if (!was_) at::autocast::clear_cache();
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  bool on_, cuda_, was_ = false;
  at::ScalarType dtype_ = at::kBFloat16;
};

}  // namespace

bool cpu_has_native_bf16() {
  return native_bf16(this_cpu());
}

Precision precision_named(const std::string& name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "tf32") return Precision::Tf32;
  if (name == "bf16") return Precision::Bf16;
  if (name == "auto") return Precision::Auto;
  throw std::invalid_argument("precision " + name + ": allowed: fp32 | tf32 | bf16 | auto");
}

Precision resolve_precision(Precision precision, const torch::Device& device, bool cpu_native_bf16) {
  if (precision != Precision::Auto) return precision;
  if (device.is_cuda()) return Precision::Tf32;
  return cpu_native_bf16 ? Precision::Bf16 : Precision::Fp32;
}

Precision resolve_precision(Precision precision, const torch::Device& device) {
  return resolve_precision(precision, device, cpu_has_native_bf16());
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::Fp32: return "fp32";
    case Precision::Tf32: return "tf32";
    case Precision::Bf16: return "bf16";
    case Precision::Auto: return "auto";
  }
  return "?";
}

torch::Tensor stack_metrics(const SacMetrics& m) {
  return torch::stack({m.actor_loss.to(torch::kFloat32), m.critic_loss.to(torch::kFloat32),
                       m.ent_coef.to(torch::kFloat32), m.ent_coef_loss.to(torch::kFloat32),
                       m.q_mean.to(torch::kFloat32), m.entropy.to(torch::kFloat32)});
}

SacMetricsHost metrics_to_host(const torch::Tensor& stacked) {
  // One transfer for all six scalars.
  auto all = stacked.to(torch::kCPU, torch::kFloat32).contiguous();
  auto a = all.accessor<float, 1>();
  return SacMetricsHost{a[0], a[1], a[2], a[3], a[4], a[5]};
}

SacMetricsHost to_host(const SacMetrics& m) {
  return metrics_to_host(stack_metrics(m));
}

// Generators can be registered with a graph (instead of using the default one) since 2.4.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define DODGE_GRAPH_GENERATORS 1
#endif

#ifdef DODGE_CUDA
namespace {
// Makes `waiter` wait for the work queued so far on `before`.
void stream_wait(const c10::cuda::CUDAStream& waiter, const c10::cuda::CUDAStream& before) {
  at::cuda::CUDAEvent ev;
  ev.record(before);
  ev.block(waiter);
}
}  // namespace

// Settings for the length of a capture, restored even when it throws:
// - no autocast weight cache: its casts would live in the graph's pool;
// - no cuDNN benchmark mode: the warm-up cached a plan for every convolution, and should one miss,
//   cuDNN's heuristics pick a plan without the timing runs benchmark mode would try in the capture.
class CaptureSettings {
 public:
  CaptureSettings()
      : cache_(at::autocast::is_autocast_cache_enabled()), benchmark_(at::globalContext().benchmarkCuDNN()) {
    at::autocast::set_autocast_cache_enabled(false);
    at::globalContext().setBenchmarkCuDNN(false);
  }
  ~CaptureSettings() {
    at::autocast::set_autocast_cache_enabled(cache_);
    at::globalContext().setBenchmarkCuDNN(benchmark_);
  }
  CaptureSettings(const CaptureSettings&) = delete;
  CaptureSettings& operator=(const CaptureSettings&) = delete;

 private:
  bool cache_, benchmark_;
};

namespace {
// Ends a capture on `stream` that an exception interrupted: through the graph when it can (which
// also unregisters it), else through the runtime; clears the error either leaves behind.
void end_capture_quietly(const c10::cuda::CUDAStream& stream, at::cuda::CUDAGraph& graph) {
  auto capturing = [&] {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    return cudaStreamIsCapturing(stream.stream(), &status) == cudaSuccess &&
           status != cudaStreamCaptureStatusNone;
  };
  if (capturing()) {
    try {
      graph.capture_end();
    } catch (const std::exception&) {
      // An invalidated capture: cudaStreamEndCapture has ended it and returned an error.
    }
  }
  if (capturing()) {
    cudaGraph_t raw = nullptr;
    if (cudaStreamEndCapture(stream.stream(), &raw) == cudaSuccess && raw) cudaGraphDestroy(raw);
  }
  (void)cudaGetLastError();
}
}  // namespace

struct Sac::Graph {
  at::cuda::CUDAGraph graph;
  Batch inputs;  // static input tensors
  SacMetrics outputs;
  // One side stream for warm-up and capture, so cuBLAS/cuDNN workspaces are set up once, before capture.
  c10::optional<c10::cuda::CUDAStream> side;
  int warmup_left = 3;
  bool captured = false;
};
#else
struct Sac::Graph {};
#endif

Sac::Sac(const SacOptions& o, torch::Device device)
    : options_(o),
      device_(device.is_cuda() && !device.has_index() ? torch::Device(torch::kCUDA, 0) : device) {
  if (o.obs_shape.empty()) throw std::invalid_argument("SAC: empty observation shape");
  options_.precision = resolve_precision(o.precision, device_);
  // Parameter initialisation draws from torch's global generator: seed it for reproducibility.
  torch::manual_seed(o.seed);
  const EncoderOptions encoder{o.encoder, o.features_dim, o.layer_norm, o.conv1_kernel, o.conv1_stride};
  critic_encoder_ = Encoder(o.obs_shape, encoder);
  const std::int64_t feat = critic_encoder_->out_dim();
  const std::int64_t q_out = o.critic_bins > 0 ? o.critic_bins : 1;
  const auto& critic_arch = o.critic_net_arch.empty() ? o.net_arch : o.critic_net_arch;
  if (o.crossq) {
    if (o.head != HeadKind::Mlp) throw std::invalid_argument("SAC: crossq needs mlp heads");
    critic_ =
        TwinQ(feat, critic_arch, o.action_dim, o.head, q_out, std::max<std::int64_t>(0, o.renorm_warmup));
    critic_->eval();  // the running statistics, except in the update's joint pass
  } else {
    critic_ = TwinQ(feat, critic_arch, o.action_dim, o.head, q_out);
    critic_target_ = TwinQ(feat, critic_arch, o.action_dim, o.head, q_out);
  }
  if (o.critic_bins > 0) {
    if (o.critic_bins < 2 || !(o.value_max > o.value_min))
      throw std::invalid_argument("SAC: HL-Gauss needs at least 2 bins and value_max > value_min");
    bin_edges_ = torch::linspace(o.value_min, o.value_max, o.critic_bins + 1,
                                 torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    bin_centers_ = 0.5 * (bin_edges_.slice(0, 0, -1) + bin_edges_.slice(0, 1));
  }
  actor_ = ActorHead(feat, o.net_arch, o.action_dim, o.head);
  if (!o.shared_encoder) actor_encoder_ = Encoder(o.obs_shape, encoder);
  if (!o.crossq && (!o.shared_encoder || o.target_encoder)) target_encoder_ = Encoder(o.obs_shape, encoder);
  if (o.policy_average > 0) {
    avg_encoder_ = Encoder(o.obs_shape, encoder);
    avg_actor_ = ActorHead(feat, o.net_arch, o.action_dim, o.head);
  }
  for (auto* m : std::initializer_list<torch::nn::Module*>{
           ptr(critic_encoder_), ptr(critic_), ptr(critic_target_), ptr(actor_), ptr(actor_encoder_),
           ptr(target_encoder_), ptr(avg_encoder_), ptr(avg_actor_)})
    if (m) m->to(device);
  if (device.is_cuda()) {
    // Activations are channels-last (ConvEncoder): weights in the same layout spare cuDNN a
    // conversion of every convolution's weights at every call. Adam's moments follow (zeros_like).
    torch::NoGradGuard no_grad;
    for (auto* enc : {ptr(critic_encoder_), ptr(actor_encoder_), ptr(target_encoder_), ptr(avg_encoder_)})
      if (enc)
        for (auto& p : enc->parameters())
          if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
  if (o.normalize_obs) {
    if (o.obs_shape.size() != 1) throw std::invalid_argument("SAC: normalize_obs is for state vectors only");
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
    obs_mean_ = torch::zeros({o.obs_shape[0]}, f64);
    obs_var_ = torch::ones({o.obs_shape[0]}, f64);
  }
  if (critic_target_) {
    copy_params(*critic_, *critic_target_);
    for (auto& p : critic_target_->parameters()) p.set_requires_grad(false);
  }
  if (target_encoder_) copy_params(*critic_encoder_, *target_encoder_);
  if (target_encoder_)
    for (auto& p : target_encoder_->parameters()) p.set_requires_grad(false);
  if (avg_actor_) {
    copy_params(options_.shared_encoder ? *critic_encoder_ : *actor_encoder_, *avg_encoder_);
    copy_params(*actor_, *avg_actor_);
    for (auto* m : {ptr(avg_encoder_), ptr(avg_actor_)})
      for (auto& p : m->parameters()) p.set_requires_grad(false);
  }

  log_ent_coef_ = torch::full({1}, std::log(o.ent_coef), torch::TensorOptions().device(device))
                      .set_requires_grad(o.learn_ent_coef);
  target_entropy_ = std::isnan(o.target_entropy) ? -static_cast<double>(o.action_dim) : o.target_entropy;

  critic_opt_ = std::make_unique<DeviceAdam>(params_of({ptr(critic_encoder_), ptr(critic_)}), o.critic_lr,
                                             o.adam_beta1);
  actor_opt_ =
      std::make_unique<DeviceAdam>(params_of({ptr(actor_), ptr(actor_encoder_)}), o.actor_lr, o.adam_beta1);
  if (o.learn_ent_coef)
    ent_opt_ = std::make_unique<DeviceAdam>(std::vector<torch::Tensor>{log_ent_coef_}, o.ent_coef_lr);

  if (device.is_cuda()) {
#ifdef DODGE_CUDA
#ifdef DODGE_GRAPH_GENERATORS
    gen_ = at::cuda::detail::createCUDAGenerator(device.has_index() ? device.index() : 0);
#else
    // Older LibTorch graphs capture only the default generator.
    gen_ = at::cuda::detail::getDefaultCUDAGenerator(device.has_index() ? device.index() : 0);
#endif
    gen_.set_current_seed(o.seed);
#else
    throw std::runtime_error("this build of dodge has no CUDA support");
#endif
  } else {
    gen_ = at::detail::createCPUGenerator(o.seed);
  }
#ifdef DODGE_CUDA
  if (device.is_cuda() && o.cuda_graph) graph_ = std::make_unique<Graph>();
#endif
}

Sac::~Sac() = default;

void Sac::set_lr_scale(double scale) {
  if (scale == lr_scale_) return;
  lr_scale_ = scale;
  critic_opt_->set_lr(options_.critic_lr * scale);
  actor_opt_->set_lr(options_.actor_lr * scale);
  if (ent_opt_) ent_opt_->set_lr(options_.ent_coef_lr * scale);
#ifdef DODGE_CUDA
  // The captured kernels hold the old rates: capture again at the next update (its warm-up is done).
  if (graph_ && graph_->captured) {
    graph_ = std::make_unique<Graph>();
    graph_->warmup_left = 0;
  }
#endif
}

torch::Tensor Sac::randn(const torch::Tensor& like) {
  return torch::randn(like.sizes(), gen_, like.options());
}

namespace {
// One (dy, dx) in [-pad, pad] per sample, int64 [b, 2]: all dy drawn first, then all dx.
torch::Tensor draw_shifts(std::int64_t b, int pad, at::Generator& generator, torch::Device device) {
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  auto dy = torch::randint(-pad, pad + 1, {b, 1}, generator, opts);
  auto dx = torch::randint(-pad, pad + 1, {b, 1}, generator, opts);
  return torch::cat({dy, dx}, 1);
}
}  // namespace

torch::Tensor random_shift(const torch::Tensor& x, int pad, at::Generator& generator) {
  return shift_frames(x, draw_shifts(x.size(0), pad, generator, x.device()));
}

namespace {
// target += tau (online - target), parameter by parameter.
void blend(const torch::nn::Module& online, torch::nn::Module& target, double tau) {
  torch::NoGradGuard no_grad;
  const auto src = online.parameters();
  auto dst = target.parameters();
  if (dst.empty()) return;
#if TORCH_VERSION_MAJOR >= 2
  // One multi-tensor kernel instead of two per tensor.
  at::_foreach_lerp_(dst, src, tau);
#else
  for (std::size_t i = 0; i < src.size(); ++i) dst[i].mul_(1.0 - tau).add_(src[i], tau);
#endif
}
}  // namespace

void Sac::average_policy() {
  if (!avg_actor_) return;
  blend(options_.shared_encoder ? *critic_encoder_ : *actor_encoder_, *avg_encoder_, options_.policy_average);
  blend(*actor_, *avg_actor_, options_.policy_average);
}

namespace {
// Fresh weights for every Linear, Conv2d and LayerNorm of m, as LibTorch's own initialisation draws
// them (uniform in +-1/sqrt(fan_in) for weights and biases; LayerNorm 1 and 0), from gen.
void redraw(torch::nn::Module& m, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  auto uniform = [&](torch::Tensor& t, std::int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    t.copy_((torch::rand(t.sizes(), gen, torch::kFloat32) * 2.0 - 1.0) * bound);
  };
  for (const auto& sub : m.modules(/*include_self=*/true)) {
    if (auto* lin = sub->as<torch::nn::Linear>()) {
      uniform(lin->weight, lin->weight.size(1));
      if (lin->bias.defined()) uniform(lin->bias, lin->weight.size(1));
    } else if (auto* conv = sub->as<torch::nn::Conv2d>()) {
      const std::int64_t fan_in = conv->weight[0].numel();
      uniform(conv->weight, fan_in);
      if (conv->bias.defined()) uniform(conv->bias, fan_in);
    } else if (auto* norm = sub->as<torch::nn::LayerNorm>()) {
      norm->weight.fill_(1.0);
      norm->bias.zero_();
    } else if (auto* renorm = sub->as<BatchRenorm>()) {
      renorm->restart();
    }
  }
}
}  // namespace

torch::Tensor hl_gauss_probs(const torch::Tensor& target, const torch::Tensor& edges, double sigma) {
  // Tensor bounds: no host read (a captured CUDA graph cannot have one).
  const auto t = torch::maximum(torch::minimum(target, edges.select(0, -1)), edges.select(0, 0));
  const auto cdf = torch::erf((edges.unsqueeze(0) - t) / (sigma * std::sqrt(2.0)));  // [B, K+1], 2 Phi - 1
  const auto mass = cdf.slice(1, 1) - cdf.slice(1, 0, -1);
  return mass / (cdf.select(1, -1) - cdf.select(1, 0)).unsqueeze(1).clamp_min(1e-12);
}

torch::Tensor categorical_value(const torch::Tensor& logits, const torch::Tensor& centers) {
  return (torch::softmax(logits.to(torch::kFloat32), 1) * centers).sum(1, true);
}

torch::Tensor Sac::q_value(const torch::Tensor& head_out) const {
  return bin_centers_.defined() ? categorical_value(head_out, bin_centers_) : head_out;
}

void Sac::maybe_reset() {
  const auto k = options_.reset_interval;
  if (k <= 0 || n_updates_ % k != 0) return;
  // Its own generator per reset: the draw depends on the seed and the reset's number only, so a
  // resumed run draws what the uninterrupted one did.
  auto gen = at::detail::createCPUGenerator(options_.seed * 1000003ULL + static_cast<std::uint64_t>(n_updates_ / k));
  redraw(*critic_, gen);
  redraw(*actor_, gen);
  if (options_.reset_encoder) {
    redraw(*critic_encoder_, gen);
    if (actor_encoder_) redraw(*actor_encoder_, gen);
    if (target_encoder_) copy_params(*critic_encoder_, *target_encoder_);
  }
  if (critic_target_) copy_params(*critic_, *critic_target_);
  if (avg_actor_) {
    copy_params(options_.shared_encoder ? *critic_encoder_ : *actor_encoder_, *avg_encoder_);
    copy_params(*actor_, *avg_actor_);
  }
  critic_opt_->restart();
  actor_opt_->restart();
}

std::vector<torch::Tensor> Sac::renorm_statistics() const {
  std::vector<torch::Tensor> v;
  for (const auto& sub : critic_->modules(/*include_self=*/false))
    if (const auto* renorm = sub->as<BatchRenorm>()) {
      v.push_back(renorm->running_mean);
      v.push_back(renorm->running_var);
    }
  return v;
}

void Sac::polyak() {
  if (critic_target_) blend(*critic_, *critic_target_, options_.tau);
  if (target_encoder_)
    blend(*critic_encoder_, *target_encoder_, options_.encoder_tau > 0 ? options_.encoder_tau : options_.tau);
}

torch::Tensor Sac::encode(Encoder& encoder, const torch::Tensor& obs) {
  Bf16Autocast bf16(options_.precision == Precision::Bf16, device_.is_cuda());
  if (obs_mean_.defined()) {
    const auto scaled =
        (obs - obs_mean_.to(torch::kFloat32)) / torch::sqrt(obs_var_ + 1e-8).to(torch::kFloat32);
    return encoder(scaled.clamp(-10.0, 10.0)).to(torch::kFloat32);
  }
  return encoder(obs).to(torch::kFloat32);
}

void Sac::observe(const torch::Tensor& obs) {
  if (!obs_mean_.defined()) return;
  torch::NoGradGuard no_grad;
  // Chan et al.'s parallel update of mean and variance (SB3's RunningMeanStd.update_from_moments).
  const auto x = obs.to(device_, torch::kFloat64).reshape({obs.size(0), -1});
  const double n = static_cast<double>(x.size(0));
  if (n == 0) return;
  const auto batch_mean = x.mean(0);
  const auto batch_var = x.var(0, /*unbiased=*/false);
  const double total = obs_count_ + n;
  const auto delta = batch_mean - obs_mean_;
  const auto m2 = obs_var_ * obs_count_ + batch_var * n + delta.pow(2) * (obs_count_ * n / total);
  obs_mean_.add_(delta * (n / total));
  obs_var_.copy_(m2 / total);
  obs_count_ = total;
}

void Sac::step(DeviceAdam& opt) {
  if (collective_) collective_->average(opt.grads());
  opt.step();
}

SacMetrics Sac::update_eager(const Batch& batch) {
  const bool image = options_.obs_shape.size() == 3;
  torch::Tensor obs = batch.obs, next_obs = batch.next_obs;
  if (image && obs.scalar_type() == torch::kUInt8 && obs.is_cpu()) {
    // Shifted (augment), reordered and converted in one pass each: the encoders then read them as is.
    // (On a GPU the encoders convert: a float copy of next_obs would otherwise live all update long.)
    torch::Tensor obs_shifts, next_shifts;
    if (options_.augment) {
      obs_shifts = draw_shifts(obs.size(0), options_.augment_pad, gen_, obs.device());
      next_shifts = draw_shifts(next_obs.size(0), options_.augment_pad, gen_, obs.device());
    }
    const auto dtype = options_.precision == Precision::Bf16 ? torch::kBFloat16 : torch::kFloat32;
    obs = frames_to_input(obs, dtype, obs_shifts, &obs_input_);
    next_obs = frames_to_input(next_obs, dtype, next_shifts, &next_obs_input_);
  } else if (image && options_.augment) {
    obs = random_shift(obs, options_.augment_pad, gen_);
    next_obs = random_shift(next_obs, options_.augment_pad, gen_);
  }
  SacMetrics m;
  CudaMath math(device_.is_cuda(), options_.precision);

  // Features.
  torch::Tensor feat = encode(critic_encoder_, obs), actor_feat, next_actor_feat, target_feat;
  {
    torch::NoGradGuard no_grad;
    // The next action comes from the online policy, the bootstrap value from the target networks.
    next_actor_feat = encode(options_.shared_encoder ? critic_encoder_ : actor_encoder_, next_obs);
    target_feat = target_encoder_           ? encode(target_encoder_, next_obs)
                  : options_.shared_encoder ? next_actor_feat
                                            : encode(critic_encoder_, next_obs);  // crossq, separate encoders
  }
  // The actor and the entropy coefficient learn at every actor_update_interval-th update.
  const bool actor_step = n_updates_ % options_.actor_update_interval == 0;
  if (actor_step) actor_feat = options_.shared_encoder ? feat.detach() : encode(actor_encoder_, obs);

  // Policy on the current observations (for the entropy coefficient and the actor loss).
  SquashedSample pi;
  if (actor_step) {
    auto [mu, log_std] = actor_(actor_feat);
    pi = squashed_sample(mu, log_std, randn(mu));
  }

  // Entropy coefficient (its value for this update is taken before its step, as in SB3).
  torch::Tensor ent_coef;
  if (!actor_step) {
    ent_coef = log_ent_coef_.detach().exp();
  } else if (ent_opt_) {
    ent_coef = log_ent_coef_.detach().exp();
    m.ent_coef_loss = -(log_ent_coef_ * (pi.log_prob + target_entropy_).detach()).mean();
    ent_opt_->zero_grad();
    m.ent_coef_loss.backward();
    step(*ent_opt_);
  } else {
    ent_coef = log_ent_coef_.detach().exp();
    m.ent_coef_loss = torch::zeros({}, log_ent_coef_.options());
  }

  // Critic target.
  torch::Tensor target_q, q1_out, q2_out;
  SquashedSample next;
  {
    torch::NoGradGuard no_grad;
    auto [nmu, nlog_std] = actor_(next_actor_feat);
    next = squashed_sample(nmu, nlog_std, randn(nmu));
  }
  if (options_.crossq) {
    // One pass over [(s, a); (s', a')] in training mode: the batch statistics cover both halves.
    const std::int64_t b = feat.size(0);
    critic_->train();
    auto [j1, j2] = critic_(torch::cat({feat, target_feat}), torch::cat({batch.actions, next.action}));
    critic_->eval();
    q1_out = j1.slice(0, 0, b);
    q2_out = j2.slice(0, 0, b);
    torch::NoGradGuard no_grad;
    auto tq = torch::minimum(q_value(j1.slice(0, b).detach()), q_value(j2.slice(0, b).detach()));
    target_q = batch.rewards + batch.discount * (tq - ent_coef * next.log_prob);
  } else {
    torch::NoGradGuard no_grad;
    auto [tq1, tq2] = critic_target_(target_feat, next.action);
    auto tq = torch::minimum(q_value(tq1), q_value(tq2)) - ent_coef * next.log_prob;
    target_q = batch.rewards + batch.discount * tq;
  }

  // Critic update.
  if (!options_.crossq) std::tie(q1_out, q2_out) = critic_(feat, batch.actions);
  torch::Tensor q1, q2;
  if (bin_centers_.defined()) {
    // HL-Gauss: cross-entropy per sample against the smeared target; the values for the TD errors.
    const double sigma = 0.75 * (options_.value_max - options_.value_min) / options_.critic_bins;
    const auto probs = hl_gauss_probs(target_q, bin_edges_, sigma);
    const auto ce1 = -(probs * torch::log_softmax(q1_out.to(torch::kFloat32), 1)).sum(1, true);
    const auto ce2 = -(probs * torch::log_softmax(q2_out.to(torch::kFloat32), 1)).sum(1, true);
    const auto w = batch.weights.defined() ? batch.weights : torch::ones_like(ce1);
    m.critic_loss = 0.5 * ((w * ce1).mean() + (w * ce2).mean());
    q1 = q_value(q1_out.detach());
    q2 = q_value(q2_out.detach());
    if (batch.weights.defined())
      m.td_error = (0.5 * ((q1 - target_q).abs() + (q2 - target_q).abs())).squeeze(1);
  } else if (batch.weights.defined()) {
    q1 = q1_out;
    q2 = q2_out;
    // Prioritized replay: importance weights undo the sampling's bias; the mean |TD error| of the
    // two critics is each sample's new priority.
    auto e1 = q1 - target_q, e2 = q2 - target_q;
    m.critic_loss = 0.5 * ((batch.weights * e1.pow(2)).mean() + (batch.weights * e2.pow(2)).mean());
    m.td_error = (0.5 * (e1.abs() + e2.abs())).detach().squeeze(1);
  } else {
    q1 = q1_out;
    q2 = q2_out;
    m.critic_loss = 0.5 * (torch::mse_loss(q1, target_q) + torch::mse_loss(q2, target_q));
  }
  critic_opt_->zero_grad();
  m.critic_loss.backward();
  step(*critic_opt_);
  // Data-parallel CrossQ: every rank's batch moved its running statistics; their mean keeps the
  // ranks' critics identical.
  if (options_.crossq && collective_) collective_->average(renorm_statistics());

  m.ent_coef = ent_coef.squeeze();
  m.critic_loss = m.critic_loss.detach();
  m.q_mean = q1.detach().mean();
  if (!actor_step) {
    // The metrics of the last actor step stand for this update's (the logs average over updates);
    // zeros before the first one after a load.
    const bool seen = last_actor_.actor_loss.defined();
    m.actor_loss = seen ? last_actor_.actor_loss : torch::zeros_like(m.critic_loss);
    m.ent_coef_loss = seen ? last_actor_.ent_coef_loss : torch::zeros_like(m.critic_loss);
    m.entropy = seen ? last_actor_.entropy : torch::zeros_like(m.critic_loss);
    return m;
  }

  // Actor update: Q of the policy's actions from the updated critic heads on detached features.
  auto [qp1, qp2] = critic_(feat.detach(), pi.action);
  auto min_qp = torch::minimum(q_value(qp1), q_value(qp2));
  m.actor_loss = (ent_coef * pi.log_prob - min_qp).mean();
  actor_opt_->zero_grad();
  m.actor_loss.backward();
  step(*actor_opt_);

  m.ent_coef_loss = m.ent_coef_loss.detach();
  m.actor_loss = m.actor_loss.detach();
  m.entropy = -pi.log_prob.detach().mean();
  last_actor_ = m;
  return m;
}

SacMetrics Sac::update(const Batch& sampled) {
  // A batch without n-step discounts (a 1-step sample, or built by hand) bootstraps with gamma.
  Batch with_discount;
  if (!sampled.discount.defined()) {
    with_discount = sampled;
    with_discount.discount = sampled.not_done * options_.gamma;
  }
  const Batch& batch = sampled.discount.defined() ? sampled : with_discount;
  SacMetrics m;
#ifdef DODGE_CUDA
  // Prioritized batches (importance weights, per-sample TD errors back to the host) update eagerly.
  if (graph_ && options_.target_update_interval == 1 && options_.actor_update_interval == 1 &&
      !batch.weights.defined()) {
    Graph& g = *graph_;
    // Streams and the pool belong to the current device: make it this agent's (cuda:N).
    c10::cuda::CUDAGuard device_guard(device_);
    if (g.captured) {
      TORCH_CHECK(
          batch.obs.sizes() == g.inputs.obs.sizes() && batch.actions.sizes() == g.inputs.actions.sizes(),
          "SAC: a captured update needs batches of the captured shape ", g.inputs.obs.sizes());
      // A batch sampled into the stacks the graph reads (sample_into reuses a batch's storage) is
      // already in place: only batches from elsewhere are copied.
      if (batch.obs.data_ptr() != g.inputs.obs.data_ptr()) g.inputs.obs.copy_(batch.obs, true);
      if (batch.next_obs.data_ptr() != g.inputs.next_obs.data_ptr())
        g.inputs.next_obs.copy_(batch.next_obs, true);
      g.inputs.actions.copy_(batch.actions, true);
      g.inputs.rewards.copy_(batch.rewards, true);
      g.inputs.not_done.copy_(batch.not_done, true);
      g.inputs.discount.copy_(batch.discount, true);
      g.graph.replay();
      ++n_updates_;
      maybe_reset();
      return g.outputs;
    }
    if (!g.side) g.side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_.index());
    const auto main_stream = c10::cuda::getCurrentCUDAStream(device_.index());
    if (g.warmup_left > 0) {
      // Warm-up on the side stream, as capture requires (cuDNN/cuBLAS workspaces get allocated).
      stream_wait(*g.side, main_stream);
      {
        c10::cuda::CUDAStreamGuard guard(*g.side);
        m = update_eager(batch);
        polyak();
        average_policy();
      }
      stream_wait(main_stream, *g.side);
      --g.warmup_left;
      ++n_updates_;
      maybe_reset();
      return m;
    }
    // Static inputs of the graph. The observation stacks of a sampled batch are adopted, not cloned:
    // the trainer samples every later batch into the same storage, so its observations need no copy.
    g.inputs = Batch{};
    const bool sampled_stacks = batch.stacks.defined() && batch.obs.is_alias_of(batch.stacks) &&
                                batch.next_obs.is_alias_of(batch.stacks);
    g.inputs.stacks = sampled_stacks ? batch.stacks : torch::Tensor();
    g.inputs.obs = sampled_stacks ? batch.obs : batch.obs.clone();
    g.inputs.next_obs = sampled_stacks ? batch.next_obs : batch.next_obs.clone();
    g.inputs.actions = batch.actions.clone();
    g.inputs.rewards = batch.rewards.clone();
    g.inputs.not_done = batch.not_done.clone();
    g.inputs.discount = batch.discount.clone();
    stream_wait(*g.side, main_stream);
    {
      c10::cuda::CUDAStreamGuard guard(*g.side);
      CaptureSettings settings;
      try {
#ifdef DODGE_GRAPH_GENERATORS
        g.graph.register_generator_state(gen_);
#endif
        g.graph.capture_begin();
        if (fail_capture_for_testing_) throw std::runtime_error("a capture failure injected by a test");
        g.outputs = update_eager(g.inputs);
        polyak();
        average_policy();
        g.graph.capture_end();
      } catch (const std::exception& e) {
        // Left capturing (global mode), the stream would make every later CUDA call in the process
        // fail: end the capture whatever state it is in, drop the graph, and update eagerly from now on.
        end_capture_quietly(*g.side, g.graph);
        graph_failure_ = e.what();
      }
    }
    stream_wait(main_stream, *g.side);
    if (!graph_failure_.empty()) {
      graph_.reset();
      m = update_eager(batch);  // nothing of the capture ran: this update is still to do
      polyak();
      average_policy();
      ++n_updates_;
      maybe_reset();
      return m;
    }
    g.captured = true;
    g.graph.replay();  // the capture itself did not run the update
    ++n_updates_;
      maybe_reset();
    return g.outputs;
  }
#endif
  m = update_eager(batch);
  ++n_updates_;
  if (n_updates_ % options_.target_update_interval == 0) polyak();
  average_policy();
  maybe_reset();
  return m;
}

torch::Tensor Sac::act(const torch::Tensor& obs, bool deterministic, bool shipped) {
  torch::NoGradGuard no_grad;
  CudaMath math(device_.is_cuda(), options_.precision);
  const bool avg = shipped && avg_actor_;
  auto feat = encode(avg ? avg_encoder_ : options_.shared_encoder ? critic_encoder_ : actor_encoder_, obs);
  auto [mu, log_std] = avg ? avg_actor_(feat) : actor_(feat);
  if (deterministic) return torch::tanh(mu);
  return squashed_sample(mu, log_std, randn(mu)).action;
}

std::vector<torch::Tensor> Sac::replicated_state() const {
  std::vector<torch::Tensor> v;
  for (const auto& kv : named_tensors()) v.push_back(kv.second);
  for (const DeviceAdam* opt : {critic_opt_.get(), actor_opt_.get(), ent_opt_.get()})
    if (opt)
      for (const auto& t : opt->state()) v.push_back(t);
  return v;
}

std::vector<std::pair<std::string, torch::Tensor>> Sac::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> v;
  auto add = [&](const std::string& prefix, const torch::nn::Module* m) {
    if (!m) return;
    for (const auto& kv : m->named_parameters()) v.emplace_back(prefix + "." + kv.key(), kv.value());
    // Buffers: CrossQ's running statistics (no other network has any).
    for (const auto& kv : m->named_buffers()) v.emplace_back(prefix + "." + kv.key(), kv.value());
  };
  add("critic_encoder", ptr(critic_encoder_));
  add("critic", ptr(critic_));
  add("critic_target", ptr(critic_target_));
  add("actor", ptr(actor_));
  add("actor_encoder", ptr(actor_encoder_));
  add("target_encoder", ptr(target_encoder_));
  add("avg_encoder", ptr(avg_encoder_));
  add("avg_actor", ptr(avg_actor_));
  v.emplace_back("log_ent_coef", log_ent_coef_);
  return v;
}

void Sac::save(const std::string& path) const {
  torch::serialize::OutputArchive ar;
  for (const auto& kv : named_tensors()) ar.write(kv.first, kv.second.detach().cpu());
  auto write_opt = [&](const std::string& name, const DeviceAdam* opt) {
    if (!opt) return;
    const auto s = opt->state();
    for (std::size_t i = 0; i < s.size(); ++i) ar.write(name + "." + std::to_string(i), s[i].cpu());
  };
  write_opt("critic_opt", critic_opt_.get());
  write_opt("actor_opt", actor_opt_.get());
  write_opt("ent_opt", ent_opt_.get());
  ar.write("n_updates", torch::tensor(n_updates_, torch::kInt64));
  if (obs_mean_.defined()) {
    ar.write("obs_norm.mean", obs_mean_.cpu());
    ar.write("obs_norm.var", obs_var_.cpu());
    ar.write("obs_norm.count", torch::tensor(obs_count_, torch::kFloat64));
  }
  ar.write("generator", gen_.get_state());
  ar.write("generator_on_cuda", torch::tensor(device_.is_cuda() ? 1 : 0, torch::kInt64));
  save_archive(ar, path);
}

void Sac::load(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path, torch::kCPU);
  torch::NoGradGuard no_grad;
  // Shared-mode checkpoints from before the target encoder existed have none of its tensors: it
  // starts as a copy of the online encoder, as in a new agent. Some but not all is damage, and the
  // loop below names the first missing one. (A vector encoder has no parameters: nothing to fill.)
  bool fill_target_encoder = false;
  if (options_.shared_encoder && target_encoder_) {
    fill_target_encoder = !target_encoder_->parameters().empty();
    for (const auto& key : target_encoder_->named_parameters().keys()) {
      torch::Tensor probe;  // a fresh one each time: try_read into a defined tensor set_()s it, and
                            // that tensor would be the archive's own copy of the previous key
      if (ar.try_read("target_encoder." + key, probe)) fill_target_encoder = false;
    }
  }
  target_encoder_filled_ = fill_target_encoder;
  // Likewise the averaged policy of a run that had none: it starts from the online weights.
  bool fill_average = false;
  if (avg_actor_) {
    fill_average = true;
    for (const auto& key : avg_actor_->named_parameters().keys()) {
      torch::Tensor probe;
      if (ar.try_read("avg_actor." + key, probe)) fill_average = false;
    }
  }
  policy_average_filled_ = fill_average;
  for (auto& kv : named_tensors()) {
    torch::Tensor t;
    if (fill_target_encoder && kv.first.rfind("target_encoder.", 0) == 0) continue;
    if (fill_average && kv.first.rfind("avg_", 0) == 0) continue;
    if (!ar.try_read(kv.first, t))
      throw std::runtime_error(path + ": the agent state has no tensor " + kv.first + " (other network?)");
    if (t.sizes() != kv.second.sizes())
      throw std::runtime_error(path + ": " + kv.first + " has shape " + c10::str(t.sizes()) +
                               ", this network has " + c10::str(kv.second.sizes()));
    kv.second.copy_(t);
  }
  if (fill_target_encoder) copy_params(*critic_encoder_, *target_encoder_);
  if (fill_average) {
    copy_params(options_.shared_encoder ? *critic_encoder_ : *actor_encoder_, *avg_encoder_);
    copy_params(*actor_, *avg_actor_);
  }
  auto read_opt = [&](const std::string& name, DeviceAdam* opt) {
    if (!opt) return;
    std::vector<torch::Tensor> s(opt->state().size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (!ar.try_read(name + "." + std::to_string(i), s[i]))
        throw std::runtime_error(path + ": the optimizer state " + name + " is incomplete");
      s[i] = s[i].to(device_);
    }
    opt->load_state(s);
  };
  read_opt("critic_opt", critic_opt_.get());
  read_opt("actor_opt", actor_opt_.get());
  read_opt("ent_opt", ent_opt_.get());
  torch::Tensor n, g;
  if (!ar.try_read("n_updates", n) || !ar.try_read("generator", g))
    throw std::runtime_error(path + ": the agent state lacks its counters");
  n_updates_ = n.item<std::int64_t>();
  if (obs_mean_.defined()) {
    torch::Tensor mean, var, count;
    if (!ar.try_read("obs_norm.mean", mean) || !ar.try_read("obs_norm.var", var) ||
        !ar.try_read("obs_norm.count", count))
      throw std::runtime_error(path + ": no observation statistics (trained without sac.normalize_obs)");
    if (mean.numel() != obs_mean_.numel() || var.numel() != obs_var_.numel())
      throw std::runtime_error(path + ": observation statistics of another size");
    obs_mean_.copy_(mean);
    obs_var_.copy_(var);
    obs_count_ = count.item<double>();
  }
  // A generator state only fits a generator of the same kind: a checkpoint trained on another
  // device keeps this run's seeded generator instead.
  torch::Tensor on_cuda;
  const bool saved_on_cuda = ar.try_read("generator_on_cuda", on_cuda) && on_cuda.item<std::int64_t>() == 1;
  if (saved_on_cuda == device_.is_cuda()) gen_.set_state(g);
}

void Sac::export_policy(const std::string& path) const {
  c10::Dict<std::string, at::Tensor> dict;
  // normalize_obs: the statistics the policy's input is scaled by (obs - mean) / sqrt(var + 1e-8), clipped to
  // +-10.
  if (obs_mean_.defined()) {
    dict.insert("obs_norm.mean", obs_mean_.to(torch::kFloat32).cpu().clone());
    dict.insert("obs_norm.var", obs_var_.to(torch::kFloat32).cpu().clone());
  }
  const torch::nn::Module* enc = avg_actor_                ? ptr(avg_encoder_)
                                 : options_.shared_encoder ? ptr(critic_encoder_)
                                                           : ptr(actor_encoder_);
  const torch::nn::Module* actor = avg_actor_ ? ptr(avg_actor_) : ptr(actor_);
  for (const auto& kv : enc->named_parameters())
    dict.insert("encoder." + kv.key(), kv.value().detach().cpu().clone());
  for (const auto& kv : actor->named_parameters())
    dict.insert("actor." + kv.key(), kv.value().detach().cpu().clone());
  // torch::pickle_save would tag the dict with torch.jit._pickle.restore_type_tag, which torch.load's
  // default weights-only unpickler (torch >= 2.6) refuses: pickle it plainly, in the same zip layout.
  std::vector<char> pickled;
  torch::jit::Pickler pickler([&](const char* b, std::size_t n) { pickled.insert(pickled.end(), b, b + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(dict);
  pickler.stop();
  std::vector<char> bytes;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* b, std::size_t n) {
      const char* c = static_cast<const char*>(b);
      bytes.insert(bytes.end(), c, c + n);
      return n;
    });
    torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), writer);
    writer.writeEndOfFile();
  }
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": cannot write the policy");
}

}  // namespace dodge::learn

// Soft Actor-Critic (Haarnoja et al. 2018) on images or vectors, in the Stable-Baselines3 order:
// entropy coefficient, critics, actor, Polyak. update() never synchronises with the host: its
// metrics stay on the device until the caller reads them, and on CUDA the whole update can be
// captured as a CUDA graph and replayed.
//
// encoder_mode:
//   shared   - one encoder trained by the critic loss; the actor reads detached features. With
//              target_encoder (the default) the target critic reads a Polyak copy of it, as SB3's
//              share_features_extractor and DrQ do; without, the online encoder's features (DrQ-v2
//              style, but here the encoder includes the 3136->512 layer).
//   separate - actor and critic each own an encoder; the target critic has its own encoder
//              copy (Stable-Baselines3's default for CnnPolicy).
#pragma once

#include <torch/torch.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dodge/learn/adam.hpp"
#include "dodge/learn/collective.hpp"
#include "dodge/learn/networks.hpp"
#include "dodge/learn/replay_buffer.hpp"

namespace dodge::learn {

// The learner's arithmetic: IEEE fp32; TF32 tensor cores for CUDA matmuls and convolutions (10-bit
// mantissa products, fp32 sums; the CPU computes fp32); or bf16 autocast of the encoders, on CUDA
// and on the CPU (oneDNN's AVX-512 BF16 kernels), with their features cast back to fp32 so that the
// heads, losses, log-probs and the entropy term stay fp32 (TF32 on CUDA). bf16 Q values would be
// rounded by about 0.4 at |Q| ~ 100, larger than the TD errors the critic learns from.
// Auto is resolved by Sac for its device: TF32 on CUDA, bf16 on a CPU that computes it natively,
// fp32 on other CPUs (where bf16 is emulated and slower than fp32).
enum class Precision { Fp32, Tf32, Bf16, Auto };
// "fp32" | "tf32" | "bf16" | "auto"; throws std::invalid_argument for anything else.
Precision precision_named(const std::string& name);
// Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX, from /proc/cpuinfo). Without it
// oneDNN emulates bf16, 10-20x slower than fp32 (docs/performance-history.md).
bool cpu_has_native_bf16();
// What Auto means on a device; any other precision is returned as it is.
Precision resolve_precision(Precision precision, const torch::Device& device);
// The same decision for a CPU that does or does not compute bf16 natively.
Precision resolve_precision(Precision precision, const torch::Device& device, bool cpu_native_bf16);
const char* precision_name(Precision precision);

struct SacOptions {
  std::vector<std::int64_t> obs_shape;  // the network input: {k*C, H, W} (uint8) or {k*D} (float)
  int action_dim = 3;
  std::vector<int> net_arch = {256, 256};
  std::vector<int> critic_net_arch;  // the critics' hidden layers (empty: net_arch); CrossQ's are wider
  HeadKind head = HeadKind::Mlp;  // the actor's and the critics' hidden layers (residual: SimBa blocks)
  int features_dim = 512;
  EncoderKind encoder = EncoderKind::Nature;  // the image encoder's convolutions
  bool layer_norm = false;                    // LayerNorm + tanh on the image features (else ReLU)
  int conv1_kernel = 0, conv1_stride = 0;     // the first convolution (0: the kind's own)
  bool shared_encoder = true;
  bool target_encoder = true;  // shared mode: the target critic reads a Polyak copy of the encoder
  double encoder_tau = 0.0;    // the target encoder's Polyak rate (0: tau)
  bool augment = true;         // random shift (pad 4, replicate) of obs and next obs; images only
  int augment_pad = 4;
  double actor_lr = 3e-4, critic_lr = 3e-4, ent_coef_lr = 3e-4;
  double gamma = 0.99;
  double tau = 0.005;
  bool learn_ent_coef = true;
  double ent_coef = 1.0;                                             // initial value when learned, else fixed
  double target_entropy = std::numeric_limits<double>::quiet_NaN();  // NaN: -action_dim (SB3's "auto")
  int target_update_interval = 1;
  // The actor and the entropy coefficient learn at every k-th update, the critic at each (TD3's
  // policy delay): fewer passes per update where the update is the cost.
  int actor_update_interval = 1;
  // Rate of an exponential moving average of the acting encoder and the actor, updated after each
  // update (avg += rate (online - avg)); 0: none. When present it is the policy that evaluations,
  // best/, final/, policy.pt, eval and watch use: late-training swings average out.
  double policy_average = 0.0;
  // State inputs only: every network reads (obs - mean) / sqrt(var + 1e-8), clipped to [-10, 10],
  // with the running mean and variance of the observations given to observe() (Stable-Baselines3's
  // VecNormalize, SimBa's RSNorm). Acting and evaluating never change them.
  bool normalize_obs = false;
  // Resets (Nikishin et al. 2022, "The primacy bias in deep RL"): every reset_interval updates (0:
  // never) the actor and the critics start again from fresh weights (drawn from the seed and the
  // reset's number), their targets and averaged copies with them, and the optimizers' moments
  // restart; the replay buffer, the entropy coefficient and the observation statistics stay. With
  // reset_encoder the image encoders are drawn again too (vectors have none).
  // HL-Gauss (Farebrother et al. 2024, "Stop Regressing"): with critic_bins > 0 each critic outputs
  // logits over that many equal bins spanning [value_min, value_max]; its value is the softmax's
  // mean, and it learns by cross-entropy against the TD target smeared by a Gaussian (sigma 0.75
  // bins). 0: the usual regression (MSE).
  int critic_bins = 0;
  double value_min = -110.0, value_max = 110.0;
  std::int64_t reset_interval = 0;
  bool reset_encoder = false;
  // CrossQ (Bhatt et al. 2024): no target networks; the critics renormalise every layer's input by
  // its batch (BatchRenorm, plain batch norm for the first renorm_warmup updates) and read (s, a)
  // and (s', a') in one batch, so the statistics cover both; the bootstrap value is the online
  // critics' on the second half, without gradient. tau, target_update_interval and the target
  // encoder are unused. The actor stays a plain MLP: what ships (policy.pt, ONNX) is unchanged.
  bool crossq = false;
  std::int64_t renorm_warmup = 100000;
  double adam_beta1 = 0.9;  // the actor's and the critics' Adam (CrossQ: 0.5)
  Precision precision = Precision::Tf32;
  bool cuda_graph = false;  // capture the update on CUDA after warm-up
  std::uint64_t seed = 0;
};

// Device scalars (no host copy until to_host()). With a captured CUDA graph every update returns the
// same tensors, overwritten by the next replay: clone() what must outlive the next update.
struct SacMetrics {
  torch::Tensor actor_loss, critic_loss, ent_coef, ent_coef_loss, q_mean, entropy;
  torch::Tensor td_error;  // [B] |TD error| per sample, for prioritized batches (batch.weights) only
};
struct SacMetricsHost {
  double actor_loss = 0, critic_loss = 0, ent_coef = 0, ent_coef_loss = 0, q_mean = 0, entropy = 0;
};
SacMetricsHost to_host(const SacMetrics& m);
// The six metrics as one float tensor [6] on their device (actor_loss, critic_loss, ent_coef,
// ent_coef_loss, q_mean, entropy), e.g. to sum them over updates without a host copy.
torch::Tensor stack_metrics(const SacMetrics& m);
// Such a tensor (or a mean of several) on the host.
SacMetricsHost metrics_to_host(const torch::Tensor& stacked);

// HL-Gauss: the probability of each bin [edges[i], edges[i+1]) under N(target, sigma), the tails
// beyond the first and last edges left out and the rest renormalised. target [B, 1], edges [K+1]
// -> [B, K]. Targets are clamped into the edges first.
torch::Tensor hl_gauss_probs(const torch::Tensor& target, const torch::Tensor& edges, double sigma);
// The value of a categorical critic: sum_i softmax(logits)_i * centers_i, [B, K] -> [B, 1].
torch::Tensor categorical_value(const torch::Tensor& logits, const torch::Tensor& centers);

// DrQ's random shift: each sample [B, C, H, W] moves by its own (dy, dx) in [-pad, pad] with edge
// replication, the same for all its channels (so all frames of a stack move together).
torch::Tensor random_shift(const torch::Tensor& x, int pad, at::Generator& generator);

class Sac {
 public:
  Sac(const SacOptions& options, torch::Device device);
  ~Sac();

  const SacOptions& options() const { return options_; }
  torch::Device device() const { return device_; }
  std::int64_t updates() const { return n_updates_; }

  // One gradient step on a batch (tensors on this device). No host synchronisation. The target is
  // rewards + discount * (min target Q - alpha log pi), discount defaulting to gamma * not_done.
  SacMetrics update(const Batch& batch);

  // Every optimizer's rate becomes its configured rate x scale from the next update on (a
  // learning-rate schedule). A captured CUDA graph is captured again when the scale changes.
  void set_lr_scale(double scale);
  double lr_scale() const { return lr_scale_; }

  // Actions in [-1, 1] for observations [N, ...] on this device: the mean (deterministic) or a
  // sample. No gradients. `shipped`: from the averaged policy when there is one (evaluation,
  // eval, watch), else from the online one (exploration while training).
  torch::Tensor act(const torch::Tensor& obs, bool deterministic, bool shipped = false);
  bool has_policy_average() const { return !avg_actor_.is_empty(); }

  // normalize_obs: folds a batch of observations [N, ...] into the running statistics (the
  // training loop calls it with each step's new observations); a no-op otherwise.
  void observe(const torch::Tensor& obs);
  // The statistics (float64, on this device; undefined without normalize_obs) and their count.
  torch::Tensor obs_mean() const { return obs_mean_; }
  torch::Tensor obs_var() const { return obs_var_; }
  double obs_count() const { return obs_count_; }

  // Checkpoint state: networks, targets, optimizers, entropy coefficient, counters, RNG.
  void save(const std::string& path) const;
  void load(const std::string& path);
  // Whether the last load() found a shared-mode checkpoint without a target encoder (made before
  // it existed) and started the copy from the online encoder.
  bool target_encoder_filled() const { return target_encoder_filled_; }
  // Whether the last load() found no averaged policy (made without sac.policy_average) and started
  // it from the online weights.
  bool policy_average_filled() const { return policy_average_filled_; }
  // A dict of CPU tensors (encoder.* and actor.*) readable by Python's torch.load: the averaged
  // policy when there is one.
  void export_policy(const std::string& path) const;

  // Why capturing the update as a CUDA graph failed (empty while it has not): the agent then
  // updates eagerly. The training loop warns once.
  const std::string& graph_failure() const { return graph_failure_; }
  // Tests only: the next capture throws inside capture_begin/capture_end.
  void fail_capture_for_testing() { fail_capture_for_testing_ = true; }

  // Every parameter, target included, by name (tests, equality checks).
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  // Everything that must be equal on every rank of a data-parallel run: named_tensors(), the
  // optimizers' moments and step counts.
  std::vector<torch::Tensor> replicated_state() const;

  // Data-parallel training: each backward pass's gradients are averaged over the ranks before
  // the optimizer steps, so that every rank's networks stay identical. Eager updates only (a
  // CUDA graph cannot hold Gloo's host-side collectives; the trainer turns graphs off).
  void set_collective(Collective* collective) { collective_ = collective; }
  at::Generator& generator() { return gen_; }

 private:
  SacMetrics update_eager(const Batch& batch);
  // Features in fp32, from an encoder run under bf16 autocast when the precision says so.
  torch::Tensor encode(Encoder& encoder, const torch::Tensor& obs);
  torch::Tensor randn(const torch::Tensor& like);
  void polyak();
  void average_policy();
  void maybe_reset();
  std::vector<torch::Tensor> renorm_statistics() const;  // crossq: the critics' running means and variances

  SacOptions options_;
  torch::Device device_;
  Encoder critic_encoder_{nullptr}, actor_encoder_{nullptr}, target_encoder_{nullptr};
  TwinQ critic_{nullptr}, critic_target_{nullptr};
  ActorHead actor_{nullptr};
  Encoder avg_encoder_{nullptr};  // sac.policy_average: averaged copies of the acting encoder and actor
  ActorHead avg_actor_{nullptr};
  torch::Tensor log_ent_coef_;
  torch::Tensor bin_edges_, bin_centers_;  // critic_bins > 0
  torch::Tensor q_value(const torch::Tensor& head_out) const;  // a critic's output as a value [B, 1]
  torch::Tensor obs_mean_, obs_var_;  // normalize_obs: updated in place (a captured graph reads them)
  double obs_count_ = 1e-4;           // as SB3's RunningMeanStd: a prior of mean 0, var 1
  double target_entropy_ = 0.0;
  std::unique_ptr<DeviceAdam> critic_opt_, actor_opt_, ent_opt_;
  Collective* collective_ = nullptr;
  void step(DeviceAdam& opt);
  at::Generator gen_;
  torch::Tensor obs_input_, next_obs_input_;  // the CPU update's converted batches, reused
  std::int64_t n_updates_ = 0;
  double lr_scale_ = 1.0;
  bool target_encoder_filled_ = false, policy_average_filled_ = false;
  SacMetrics last_actor_;  // the metrics of the last actor step (actor_update_interval > 1)
  std::string graph_failure_;
  bool fail_capture_for_testing_ = false;

  struct Graph;  // CUDA graph state (DODGE_CUDA builds only)
  std::unique_ptr<Graph> graph_;
};

}  // namespace dodge::learn

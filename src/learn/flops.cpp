#include "dodge/learn/flops.hpp"

#include <sstream>

namespace dodge::learn {

namespace {

// Linear layers of a module in registration order: 2 * in * out per sample each.
LayerFlops linear_flops(const torch::nn::Module& m) {
  LayerFlops f;
  bool first = true;
  for (const auto& sub : m.modules(/*include_self=*/true)) {
    if (const auto* lin = sub->as<torch::nn::Linear>()) {
      const double v = 2.0 * static_cast<double>(lin->weight.size(0) * lin->weight.size(1));
      f.all += v;
      if (first) f.first = v;
      first = false;
    }
  }
  return f;
}

std::int64_t conv_out(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t p) {
  return (n + 2 * p - k) / s + 1;
}

}  // namespace

LayerFlops encoder_forward_flops(const SacOptions& o) {
  LayerFlops f;
  if (o.obs_shape.size() != 3) return f;  // vectors: the encoder is a flatten
  Encoder enc(o.obs_shape, EncoderOptions{o.encoder, o.features_dim, o.layer_norm, o.conv1_kernel, o.conv1_stride});
  std::int64_t h = o.obs_shape[1], w = o.obs_shape[2];
  bool first = true;
  for (auto* conv : {&enc->cnn->conv1, &enc->cnn->conv2, &enc->cnn->conv3, &enc->cnn->conv4}) {
    if (conv->is_empty()) continue;
    const auto& opt = (*conv)->options;
    const auto k = (*opt.kernel_size())[0], s = (*opt.stride())[0];
    h = conv_out(h, k, s, 0);  // our encoders pad nothing
    w = conv_out(w, k, s, 0);
    const double v = 2.0 * static_cast<double>(opt.in_channels() * k * k * opt.out_channels() * h * w);
    f.all += v;
    if (first) f.first = v;
    first = false;
  }
  const auto& fc = enc->cnn->fc;
  f.all += 2.0 * static_cast<double>(fc->weight.size(0) * fc->weight.size(1));
  return f;
}

UpdateFlops count_update_flops(const SacOptions& o, std::int64_t batch) {
  const LayerFlops e = encoder_forward_flops(o);
  const std::int64_t feat = o.obs_shape.size() == 3 ? o.features_dim : [&] {
    std::int64_t d = 1;
    for (auto x : o.obs_shape) d *= x;
    return d;
  }();
  // Both critics' first layers are "first": neither needs an input gradient when the features do not.
  // (CrossQ's joint pass over 2B rows costs what the critic and the target critic do over B each; its
  // batch renormalisation is element-wise and not counted.)
  const TwinQ twin(feat, o.critic_net_arch.empty() ? o.net_arch : o.critic_net_arch, o.action_dim, o.head,
                   o.critic_bins > 0 ? o.critic_bins : 1);
  LayerFlops q = linear_flops(*twin->q1);
  const LayerFlops q2 = linear_flops(*twin->q2);
  q.all += q2.all;
  q.first += q2.first;
  const LayerFlops a = linear_flops(*ActorHead(feat, o.net_arch, o.action_dim, o.head));
  // Vector observations are the features themselves: no gradient reaches them.
  const bool image = o.obs_shape.size() == 3;
  const double k = 1.0 / std::max(1, o.actor_update_interval);  // share of updates with an actor step
  const double b = static_cast<double>(batch);
  UpdateFlops u;
  std::ostringstream words;
  // Backward of a layer stack: weight gradients (= its forward) and input gradients (= its forward
  // again) except below the first layer when its input needs none (pixels; detached features).
  auto backward = [](const LayerFlops& f, bool input_grad) { return 2 * f.all - (input_grad ? 0 : f.first); };
  if (o.shared_encoder) {
    const bool target = o.target_encoder && !o.crossq;
    const int passes = 2 + (target ? 1 : 0);
    u.encoder_forward = b * e.all * passes;  // obs (with gradients), next obs online, [next obs target]
    u.encoder_backward = b * backward(e, false);
    words << "encoder: " << passes << " forward (obs, next obs" << (target ? ", next obs target" : "")
          << "), 1 backward; ";
  } else {
    // Critic encoder on obs, actor encoder on next obs (and on obs for an actor step), target on next obs.
    u.encoder_forward = b * e.all * (3 + k);
    u.encoder_backward = b * backward(e, false) * (1 + k);
    words << "encoders: critic, actor (next obs), target forward and the critic's backward each update; the "
             "actor's "
             "forward and backward on actor steps; ";
  }
  // Heads: actor on next obs; target critic; critic forward and backward (input gradients reach the
  // image features). Actor steps add: actor forward, critic forward and backward to the actions, actor
  // backward (its input is detached in shared mode, and vector observations need no gradient).
  u.heads_forward = b * (a.all + 2 * q.all + k * (a.all + q.all));
  // CrossQ: the critics' backward runs over both halves of its joint pass (the batch statistics tie them).
  const double critic_rows = o.crossq ? 2.0 : 1.0;
  u.heads_backward = b * (critic_rows * backward(q, image) +
                          k * (backward(q, true) + backward(a, image && !o.shared_encoder)));
  words << (o.crossq ? "heads: actor on next obs, critics forward + backward over (s, a) and (s', a') together"
                     : "heads: actor on next obs, target critic, critic forward + backward");
  if (k < 1) words << "; every " << o.actor_update_interval << " updates";
  words << ": actor forward + backward, critic forward + backward for the actor loss";
  u.passes = words.str();
  return u;
}

}  // namespace dodge::learn

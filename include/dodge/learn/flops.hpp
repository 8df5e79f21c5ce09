// The arithmetic of one SAC update, counted from the layers' shapes, and what this CPU could do
// at most: the figures `dodge bench update` sets side by side.
#pragma once

#include <string>

#include "dodge/learn/sac.hpp"

namespace dodge::learn {

// Floating-point operations (a multiply-add is 2) of convolutions and linear layers only; the
// element-wise work (activations, LayerNorm, Adam, the shift) is not counted.
struct UpdateFlops {
  double encoder_forward = 0;   // every encoder pass of one update, the whole batch
  double encoder_backward = 0;  // weight gradients, and input gradients below the first layer
  double heads_forward = 0;     // actor and twin critics, every pass
  double heads_backward = 0;
  double total() const { return encoder_forward + encoder_backward + heads_forward + heads_backward; }
  double encoder() const { return encoder_forward + encoder_backward; }
  double heads() const { return heads_forward + heads_backward; }
  std::string passes;  // which passes were counted, in words
};

// One update of an agent with these options on a batch of `batch` samples, averaged over
// actor_update_interval updates (the actor's passes run on one in k).
UpdateFlops count_update_flops(const SacOptions& options, std::int64_t batch);

// Forward FLOPs per sample of one encoder and of the first layer alone (its input needs no gradient).
struct LayerFlops {
  double all = 0, first = 0;
};
LayerFlops encoder_forward_flops(const SacOptions& options);

}  // namespace dodge::learn

// A checkpoint's deterministic policy as an ONNX model (dodge export --onnx): the network and weights
// that `dodge eval` plays (the averaged encoder and actor where the run keeps one), from the game's
// own observation (uint8 frame stacks or float32 vectors, any batch size) to the action in [-1, 1].
#pragma once

#include <cstdint>
#include <string>

#include "dodge/output/onnx.hpp"

namespace dodge::run {

struct OnnxExport {
  output::onnx::Model model;
  std::string checkpoint_dir;  // the checkpoint the weights came from
  std::int64_t step = 0;
  bool averaged = false;  // the averaged policy (sac.policy_average), else the online actor
};

// Builds the model from a run folder (its newest checkpoint) or a checkpoint folder. Throws
// UserError for a missing or damaged checkpoint.
OnnxExport onnx_policy(const std::string& run_or_checkpoint);

}  // namespace dodge::run

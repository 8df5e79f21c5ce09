// dodge export: a checkpoint's policy for use outside dodge (--onnx: one ONNX file).
#include <cstdio>
#include <memory>

#include "dodge/commands/commands.hpp"
#include "dodge/output/write_error.hpp"
#include "dodge/run/error.hpp"
#include "dodge/run/onnx_export.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::commands {

namespace {

struct ExportArgs {
  std::string path;
  std::string onnx;
};

void run_export(const ExportArgs& a) {
  // The output path first: a typo must not cost the loading.
  run::require_writable_file("--onnx", a.onnx);
  const run::OnnxExport e = run::onnx_policy(a.path);
  try {
    output::onnx::write(e.model, a.onnx);
  } catch (const output::WriteError& err) {
    throw run::UserError(std::string("--onnx ") + err.what());
  }
  const auto& in = e.model.inputs.front();
  std::string shape = "[batch";
  for (std::size_t i = 1; i < in.shape.size(); ++i) shape += ", " + std::to_string(in.shape[i].value);
  std::printf(
      "wrote %s: the %s policy of %s (step %lld), opset %lld; obs %s %s] -> action [batch, %lld] in [-1, "
      "1]\n",
      a.onnx.c_str(), e.averaged ? "averaged" : "deterministic", e.checkpoint_dir.c_str(),
      static_cast<long long>(e.step), static_cast<long long>(e.model.opset),
      in.type == output::onnx::DataType::Uint8 ? "uint8" : "float32", shape.c_str(),
      static_cast<long long>(e.model.outputs.front().shape[1].value));
}

}  // namespace

void register_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd =
      app.add_subcommand("export", "Write a checkpoint's policy for other runtimes (--onnx: an ONNX file)");
  cmd->footer(
      "The ONNX file holds the deterministic policy that `dodge eval` plays (the averaged encoder and actor\n"
      "where the run keeps one), opset 17, float32 arithmetic:\n"
      "  input  obs     uint8 [batch, k*C, H, W] frame stacks (pixels 0..255, divided by 255 inside), or\n"
      "                 float32 [batch, k*D] state vectors, exactly as the game produces them\n"
      "  output action  float32 [batch, A], tanh of the actor's mean, in [-1, 1]\n"
      "  metadata       input/output names and shapes, every env key of the training game (image size,\n"
      "                 grey/RGB, frame_stack, frame_skip = action repeat, level, spawn_angle_degrees, "
      "...),\n"
      "                 the dodge version, checkpoint and step.\n"
      "See docs/onnx.md.");
  cmd->add_option("path", a->path, "run folder (its newest checkpoint) or checkpoint folder")->required();
  cmd->add_option("--onnx", a->onnx, "write the policy as this ONNX file")->required();
  cmd->callback([a] { run_export(*a); });
}

}  // namespace dodge::commands

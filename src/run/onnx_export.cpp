// dodge export --onnx: the acting network as an ONNX graph. The graph is read off modules built
// exactly as the learner builds them (learn::Encoder, learn::ActorHead), holding the checkpoint's
// weights, so a change of architecture there shows up here or fails the tests (tests/onnx/),
// never silently.
#include "dodge/run/onnx_export.hpp"

#include <filesystem>
#include <map>
#include <sstream>

#include "dodge/learn/networks.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/run/checkpoint.hpp"
#include "dodge/run/error.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::run {

namespace {

namespace onnx = output::onnx;

std::vector<std::int64_t> dims_of(const torch::Tensor& t) {
  return t.sizes().vec();
}

onnx::Initializer initializer(const std::string& name, const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = c.data_ptr<float>();
  return {name, dims_of(c), std::vector<float>(p, p + c.numel())};
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::ostringstream s;
  s << "[batch";
  for (auto d : dims) s << ", " << d;
  s << "]";
  return s.str();
}

// Appends nodes and initializers; returns the name of each result.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::Model& m) : m_(m) {}

  std::string add(const std::string& op, std::vector<std::string> inputs, const std::string& output,
                  std::vector<onnx::Attribute> attributes = {}) {
    m_.nodes.push_back({op, std::move(inputs), {output}, output, std::move(attributes)});
    return output;
  }
  std::string weight(const std::string& name, const torch::Tensor& t) {
    m_.initializers.push_back(initializer(name, t));
    return name;
  }
  // y = x W^T + b, as torch::nn::Linear.
  std::string linear(const std::string& x, const torch::nn::LinearImpl& l, const std::string& name) {
    return add("Gemm", {x, weight(name + ".weight", l.weight), weight(name + ".bias", l.bias)}, name,
               {onnx::Attribute::integer("transB", 1)});
  }
  // LayerNormalization over the last axis (opset 17), as torch::nn::LayerNorm.
  std::string layer_norm(const std::string& x, const torch::nn::LayerNormImpl& n, const std::string& name) {
    return add("LayerNormalization", {x, weight(name + ".weight", n.weight), weight(name + ".bias", n.bias)}, name,
               {onnx::Attribute::integer("axis", -1),
                onnx::Attribute::real("epsilon", static_cast<float>(n.options.eps()))});
  }

 private:
  onnx::Model& m_;
};

// The convolution's attributes from the module itself (padding, dilation and groups are the
// LibTorch defaults the encoders use: 0, 1, 1).
std::vector<onnx::Attribute> conv_attributes(const torch::nn::Conv2dImpl& c) {
  const auto& o = c.options;
  return {onnx::Attribute::integers("kernel_shape", {(*o.kernel_size())[0], (*o.kernel_size())[1]}),
          onnx::Attribute::integers("strides", {(*o.stride())[0], (*o.stride())[1]})};
}

// Copies the tensors of `prefix` + each parameter name of `module` from the agent's tensors.
void fill(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& tensors,
          const std::string& prefix, const std::string& where) {
  torch::NoGradGuard no_grad;
  for (auto& kv : module.named_parameters()) {
    const auto it = tensors.find(prefix + kv.key());
    if (it == tensors.end() || it->second.sizes() != kv.value().sizes())
      throw UserError("checkpoint " + where + " is damaged: agent.pt has no tensor " + prefix + kv.key() +
                      " of the network its config.yaml describes");
    kv.value().copy_(it->second);
  }
}

}  // namespace

OnnxExport onnx_policy(const std::string& run_or_checkpoint) {
  const std::string dir = find_checkpoint(run_or_checkpoint);
  const Config config = load_checkpoint_config(dir);
  const learn::SacOptions so = sac_options(config);
  const ObsSpec spec = obs_spec(config);

  // The agent on the CPU, loaded as dodge eval loads it (run/agent.cpp).
  learn::Sac sac(so, torch::kCPU);
  try {
    sac.load((std::filesystem::path(dir) / "agent.pt").string());
  } catch (const std::exception& e) {
    throw UserError("checkpoint " + dir + " is damaged: agent.pt cannot be read (" +
                    std::string(e.what()).substr(0, 200) + ")");
  }
  // The acting networks, chosen as Sac::act(obs, deterministic, /*shipped=*/true) chooses them.
  const bool averaged = sac.has_policy_average();
  const std::string enc_prefix = averaged            ? "avg_encoder."
                                 : so.shared_encoder ? "critic_encoder."
                                                     : "actor_encoder.";
  const std::string actor_prefix = averaged ? "avg_actor." : "actor.";
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& kv : sac.named_tensors()) tensors.emplace(kv.first, kv.second);

  learn::EncoderOptions eo;
  eo.kind = so.encoder;
  eo.features_dim = so.features_dim;
  eo.layer_norm = so.layer_norm;
  eo.conv1_kernel = so.conv1_kernel;
  eo.conv1_stride = so.conv1_stride;
  learn::Encoder encoder(so.obs_shape, eo);
  learn::ActorHead actor(encoder->out_dim(), so.net_arch, so.action_dim, so.head);
  fill(*encoder, tensors, enc_prefix, dir);
  fill(*actor, tensors, actor_prefix, dir);

  OnnxExport out;
  out.checkpoint_dir = dir;
  out.step = checkpoint_step(dir);
  out.averaged = averaged;
  onnx::Model& m = out.model;
  m.producer_name = "dodge";
  m.producer_version = DODGE_VERSION;
  m.graph_name = "dodge_policy";
  GraphBuilder g(m);

  // Input: the stack as the game produces it; output: tanh of the actor's mean.
  onnx::ValueInfo in{"obs", spec.image ? onnx::DataType::Uint8 : onnx::DataType::Float, {{0, "batch"}}, ""};
  for (auto d : spec.stacked) in.shape.push_back({d, ""});
  in.doc = spec.image
               ? "uint8 frame stacks [batch, k*C, H, W]: k frames oldest first, each C planes (R, G, B "
                 "or grey) of H x W pixels, 0..255"
               : "float32 state vectors [batch, k*D]: k observations oldest first";
  m.inputs.push_back(in);
  m.outputs.push_back({"action",
                       onnx::DataType::Float,
                       {{0, "batch"}, {so.action_dim, ""}},
                       "the deterministic action tanh(mean), in [-1, 1]"});

  std::string h = "obs";
  if (sac.obs_mean().defined()) {
    // sac.normalize_obs: the running statistics, as Sac::encode applies them.
    torch::Tensor mean, std;
    {
      torch::NoGradGuard no_grad;
      mean = sac.obs_mean().to(torch::kFloat32);
      std = torch::sqrt(sac.obs_var() + 1e-8).to(torch::kFloat32);
    }
    h = g.add("Sub", {h, g.weight("obs_norm.mean", mean)}, "obs_norm.centred");
    h = g.add("Div", {h, g.weight("obs_norm.std", std)}, "obs_norm.scaled");
    h = g.add(
        "Clip",
        {h, g.weight("obs_norm.low", torch::tensor(-10.0f)), g.weight("obs_norm.high", torch::tensor(10.0f))},
        "obs_norm");
  }
  if (const auto& cnn = encoder->cnn) {
    // The encoder's arithmetic (networks.cpp): bytes as floats, the 1/255 folded into conv1's
    // weights (the same product, so the same float32 weights), ReLU after each convolution.
    h = g.add("Cast", {h}, "obs_float",
              {onnx::Attribute::integer("to", static_cast<int>(onnx::DataType::Float))});
    torch::Tensor w1;
    {
      torch::NoGradGuard no_grad;
      w1 = cnn->conv1->weight * (1.0 / 255.0);
    }
    const torch::nn::Conv2d convs[] = {cnn->conv1, cnn->conv2, cnn->conv3, cnn->conv4};
    for (int i = 0; i < 4 && convs[i]; ++i) {
      const std::string name = "encoder.cnn.conv" + std::to_string(i + 1);
      const std::string w =
          g.weight(name + (i == 0 ? ".weight_over_255" : ".weight"), i == 0 ? w1 : convs[i]->weight);
      h = g.add("Conv", {h, w, g.weight(name + ".bias", convs[i]->bias)}, name, conv_attributes(*convs[i]));
      h = g.add("Relu", {h}, name + ".relu");
    }
    h = g.add("Flatten", {h}, "encoder.cnn.flatten", {onnx::Attribute::integer("axis", 1)});
    h = g.linear(h, *cnn->fc, "encoder.cnn.fc");
    if (cnn->norm) {
      h = g.layer_norm(h, *cnn->norm, "encoder.cnn.norm");
      h = g.add("Tanh", {h}, "encoder.cnn.tanh");
    } else {
      h = g.add("Relu", {h}, "encoder.cnn.relu");
    }
  }
  // The actor's trunk (Linear, ReLU, ...), then the mean head; log_std is not needed to act.
  int index = 0;
  for (const auto& layer : actor->trunk->children()) {
    const std::string name = "actor.trunk." + std::to_string(index++);
    if (const auto* linear = layer->as<torch::nn::Linear>())
      h = g.linear(h, *linear, name);
    else if (layer->as<torch::nn::ReLU>())
      h = g.add("Relu", {h}, name);
    else if (const auto* trunk = layer->as<learn::ResidualTrunk>()) {
      h = g.linear(h, *trunk->input, name + ".input");
      for (std::size_t b = 0; b < trunk->blocks.size(); ++b) {
        const auto& block = *trunk->blocks[b];
        const std::string bn = name + ".block" + std::to_string(b);
        auto u = g.layer_norm(h, *block.norm, bn + ".norm");
        u = g.add("Relu", {g.linear(u, *block.up, bn + ".up")}, bn + ".relu");
        h = g.add("Add", {h, g.linear(u, *block.down, bn + ".down")}, bn + ".add");
      }
      h = g.layer_norm(h, *trunk->norm, name + ".norm");
    } else
      throw std::logic_error("onnx export: the actor's trunk holds a layer it does not know: " +
                             layer->name());
  }
  h = g.linear(h, *actor->mu, "actor.mu");
  g.add("Tanh", {h}, "action");

  // What a player of the file needs to know: the tensors, and the game the policy was trained on.
  auto meta = [&](const std::string& k, const std::string& v) { m.metadata.emplace_back(k, v); };
  meta("dodge.format", "dodge-onnx-policy-1");
  meta("dodge.version", DODGE_VERSION);
  meta("dodge.checkpoint", dir);
  meta("dodge.step", std::to_string(out.step));
  meta("dodge.config_name", config.name);
  meta("dodge.policy",
       averaged ? "averaged (sac.policy_average), deterministic" : "online actor, deterministic");
  // dodge eval's default games (--seed), so that another player can replay its episodes.
  meta("dodge.eval_seed", std::to_string(static_cast<std::uint64_t>(config.train.seed) + 2'000'003));
  meta("dodge.training_precision", config.sac.precision + " (this graph computes in float32)");
  meta("input.name", "obs");
  meta("input.dtype", spec.image ? "uint8" : "float32");
  meta("input.shape", shape_text(spec.stacked));
  meta("input.layout", in.doc);
  meta("output.name", "action");
  meta("output.dtype", "float32");
  meta("output.shape", shape_text({so.action_dim}));
  meta("output.range", "[-1, 1]");
  meta("encoder", !spec.image ? "flatten"
                              : std::string(learn::to_string(so.encoder)) +
                                    (so.layer_norm ? " + layernorm + tanh" : " + relu"));
  meta("net_arch", [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < so.net_arch.size(); ++i)
      s += (i ? ", " : "") + std::to_string(so.net_arch[i]);
    return s + "]";
  }());
  // Every env key (the game's settings): resolution, grey/RGB, stack, action repeat (frame_skip),
  // level, fan (spawn_angle_degrees), ... as config.yaml writes them.
  render::EnvConfig env = config.env;
  for (const auto& key : render::env_keys(env)) meta("env." + key.key, key.get());
  std::ostringstream doc;
  doc << "dodge " << DODGE_VERSION << " policy from " << dir << " (step " << out.step << "): obs "
      << (spec.image ? "uint8 " : "float32 ") << shape_text(spec.stacked) << " -> action float32 "
      << shape_text({so.action_dim}) << " in [-1, 1]; see the metadata for the game's settings.";
  m.doc = doc.str();
  return out;
}

}  // namespace dodge::run

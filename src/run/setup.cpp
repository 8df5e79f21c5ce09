#include "dodge/run/setup.hpp"

#include "dodge/game/thread_pool.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#ifdef DODGE_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <algorithm>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <unistd.h>

namespace dodge::run {

torch::Device resolve_device(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    if (!cuda)
      throw UserError("device " + name +
                      ": no CUDA device is available (this dodge is built with a CPU-only LibTorch or no GPU is "
                      "visible); use --device cpu or build for CUDA (README: Building for CUDA)");
    const int index = name.size() > 5 ? std::stoi(name.substr(5)) : 0;
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw UserError("device " + name + ": only " + std::to_string(torch::cuda::device_count()) +
                      " CUDA device(s) are visible");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw UserError("device " + name + ": allowed: auto | cpu | cuda | cuda:N");
}

namespace {

// The checks both share: `path` is not a folder, `dir` (the folder it goes in) is writable, and
// so is the file if it already exists. With create_folders, dir is the nearest existing folder.
void require_writable(const std::string& option, const std::string& path, bool create_folders) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) throw UserError(option + " " + path + ": is a folder; give a file name");
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (create_folders) {
    // Up to the nearest folder that exists; a relative path ends at the working directory.
    while (!fs::exists(dir, ec)) {
      if (!dir.has_parent_path() || dir.parent_path() == dir) {
        dir = ".";
        break;
      }
      dir = dir.parent_path();
    }
    if (!fs::is_directory(dir, ec)) throw UserError(option + " " + path + ": " + dir.string() + " is not a folder");
  } else if (!fs::is_directory(dir, ec)) {
    throw UserError(option + " " + path + ": the folder " + dir.string() + " does not exist");
  }
  if (::access(dir.c_str(), W_OK) != 0 || (fs::exists(p, ec) && ::access(p.c_str(), W_OK) != 0))
    throw UserError(option + " " + path + ": cannot be written (permission denied)");
}

}  // namespace

void require_writable_file(const std::string& option, const std::string& path) {
  require_writable(option, path, false);
}

void require_creatable_file(const std::string& option, const std::string& path) {
  require_writable(option, path, true);
}

ObsSpec obs_spec(const Config& c) { return render::obs_spec(c.env); }

learn::SacOptions sac_options(const Config& c) {
  const ObsSpec spec = obs_spec(c);
  learn::SacOptions o;
  o.obs_shape = spec.stacked;
  o.action_dim = spec.action_dim;
  o.net_arch = c.sac.net_arch;
  o.critic_net_arch = c.sac.critic_net_arch;
  o.head = learn::head_kind_named(c.sac.head);
  o.features_dim = c.sac.features_dim;
  o.encoder = learn::encoder_kind_named(c.sac.encoder);  // the schema allowed only these names
  o.layer_norm = c.sac.layer_norm;
  o.conv1_kernel = c.sac.conv1_kernel;
  o.conv1_stride = c.sac.conv1_stride;
  o.shared_encoder = c.sac.encoder_mode == "shared";
  o.target_encoder = c.sac.target_encoder;
  o.encoder_tau = c.sac.encoder_tau;
  o.augment = c.sac.augment == "random_shift";
  o.actor_lr = c.sac.actor_learning_rate > 0 ? c.sac.actor_learning_rate : c.sac.learning_rate;
  o.critic_lr = c.sac.critic_learning_rate > 0 ? c.sac.critic_learning_rate : c.sac.learning_rate;
  o.ent_coef_lr = c.sac.learning_rate;
  o.gamma = c.sac.gamma;
  o.tau = c.sac.tau;
  o.learn_ent_coef = c.sac.ent_coef == "auto";
  o.ent_coef = o.learn_ent_coef ? c.sac.ent_coef_init : std::stod(c.sac.ent_coef);
  o.target_entropy = c.sac.target_entropy_text == "auto" ? std::nan("") : std::stod(c.sac.target_entropy_text);
  o.target_update_interval = c.sac.target_update_interval;
  o.actor_update_interval = c.sac.actor_update_interval;
  o.policy_average = c.sac.policy_average;
  o.normalize_obs = c.sac.normalize_obs;
  o.critic_bins = c.sac.critic_bins;
  o.value_min = c.sac.value_min;
  o.value_max = c.sac.value_max;
  o.reset_interval = c.sac.reset_interval;
  o.reset_encoder = c.sac.reset_encoder;
  o.crossq = c.sac.crossq;
  o.renorm_warmup = c.sac.renorm_warmup;
  o.adam_beta1 = c.sac.adam_beta1;
  o.precision = learn::precision_named(c.sac.precision);  // the schema allowed only these names
  o.cuda_graph = c.sac.cuda_graph;
  o.seed = static_cast<std::uint64_t>(c.train.seed);
  return o;
}

double run_progress(const Config& c, std::int64_t steps, std::int64_t total, double seconds) {
  double progress = total > 0 ? static_cast<double>(steps) / static_cast<double>(total) : 0.0;
  if (c.train.max_minutes > 0) progress = std::max(progress, seconds / (60.0 * c.train.max_minutes));
  return std::clamp(progress, 0.0, 1.0);
}

double lr_scale(const Config& c, std::int64_t steps, std::int64_t total, double seconds) {
  if (c.sac.lr_schedule != "linear") return 1.0;
  const double progress = std::floor(run_progress(c, steps, total, seconds) * 100.0) / 100.0;
  return 1.0 - progress * (1.0 - c.sac.lr_end);
}

double per_beta(const Config& c, std::int64_t steps, std::int64_t total, double seconds) {
  return c.sac.per_beta + (1.0 - c.sac.per_beta) * run_progress(c, steps, total, seconds);
}

learn::ReplaySpec replay_spec(const Config& c) {
  const ObsSpec spec = obs_spec(c);
  learn::ReplaySpec r;
  r.capacity = c.sac.buffer_size;
  r.n_envs = c.env.n_envs;
  r.frame_stack = c.env.frame_stack;
  r.obs_shape = spec.frame;
  r.action_dim = spec.action_dim;
  return r;
}

const std::vector<std::string>& shape_keys() {
  static const std::vector<std::string> keys = {
      "env.observation_mode", "env.action_space_type", "env.image_width",  "env.image_height",
      "env.image_grayscale",  "env.grey_palette",      "env.rgb_palette",  "env.frame_stack",
      "env.n_envs",           "sac.net_arch",          "sac.features_dim", "sac.encoder",
      "sac.layer_norm",       "sac.conv1_kernel",      "sac.conv1_stride", "sac.encoder_mode",
      "sac.ent_coef",         "sac.normalize_obs",     "sac.head",
      "sac.critic_bins",      "sac.critic_net_arch",   "sac.crossq"};
  return keys;
}

void synchronize(const torch::Device& device) {
#ifdef DODGE_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#else
  (void)device;
#endif
}

at::Generator make_generator(const torch::Device& device, std::uint64_t seed) {
#ifdef DODGE_CUDA
  if (device.is_cuda()) {
    auto g = at::cuda::detail::createCUDAGenerator(device.index());
    g.set_current_seed(seed);
    return g;
  }
#endif
  (void)device;
  return at::detail::createCPUGenerator(seed);
}

void use_all_cores() {
  // Debian's LibTorch starts with one intra-op thread.
  if (!std::getenv("OMP_NUM_THREADS")) at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

void keep_freed_memory() {
#ifdef __GLIBC__
  const char* v = std::getenv("DODGE_MALLOC_DEFAULTS");
  if (v && std::string(v) == "1") return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks up to 32 MB from the heap (the most glibc allows)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);   // give the heap's top back only past 1 GB free
  mallopt(M_TOP_PAD, 64 << 20);         // and grow it in 64 MB steps
#endif
}

void flush_denormals() {
  // Adam's second moments of near-dead units fall below 1e-38, where x86 arithmetic takes a slow
  // path. Set before LibTorch starts its threads, which inherit the setting (FTZ/DAZ).
  at::globalContext().setFlushDenormal(true);
}

void use_fastest_convolutions() {
  const char* v = std::getenv("DODGE_CUDNN_BENCHMARK");
  at::globalContext().setBenchmarkCuDNN(!(v && std::string(v) == "0"));
}

int env_threads(const Config& c) {
  return c.train.threads > 0 ? c.train.threads : game::auto_threads(c.env.n_envs);
}

}  // namespace dodge::run

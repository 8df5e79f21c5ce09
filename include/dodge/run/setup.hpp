// Turning a Config into the learner's pieces: device, observation shapes, SAC options.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "dodge/learn/replay_buffer.hpp"
#include "dodge/learn/sac.hpp"
#include "dodge/run/config.hpp"

namespace dodge::run {

// "auto" -> CUDA when available, else CPU. Throws UserError for a device that is not there.
torch::Device resolve_device(const std::string& name);

// Checks, before any work starts, that `path` can be written as a file (its folder exists and is
// writable, and it is not a folder); otherwise a UserError naming the option and the path.
void require_writable_file(const std::string& option, const std::string& path);
// The same for a file whose missing folders the writer creates (bench JSON): the nearest existing
// folder above it must be writable.
void require_creatable_file(const std::string& option, const std::string& path);

using ObsSpec = render::ObsSpec;
ObsSpec obs_spec(const Config& config);

learn::SacOptions sac_options(const Config& config);

// sac.lr_schedule: the factor on every learning rate after `steps` of `total` env steps and
// `seconds` of training. Constant: 1. Linear: from 1 down to sac.lr_end over the run's budget,
// total steps or train.max_minutes, whichever ends the run first (so a time-bound run reaches the
// end rate as it stops). Progress moves in 1 % steps: a captured CUDA graph, which holds the rates
// as kernel arguments, is captured again at most 100 times.
double lr_scale(const Config& config, std::int64_t steps, std::int64_t total, double seconds);
// How far the run is, in [0, 1]: steps of total, or minutes of train.max_minutes, whichever is further.
double run_progress(const Config& config, std::int64_t steps, std::int64_t total, double seconds);
// Prioritized replay's importance-weight exponent: sac.per_beta at the start, 1 at the run's end.
double per_beta(const Config& config, std::int64_t steps, std::int64_t total, double seconds);

learn::ReplaySpec replay_spec(const Config& config);

// Keys that fix the shapes of networks, env state and buffer: they must match on resume.
const std::vector<std::string>& shape_keys();

// Waits for the work queued on a device (nothing to wait for on the CPU).
void synchronize(const torch::Device& device);

// A random generator on a device (CPU, or a new CUDA generator), seeded.
at::Generator make_generator(const torch::Device& device, std::uint64_t seed);

// Env threads for a config (train.threads, or all cores).
int env_threads(const Config& config);

// LibTorch intra-op threads on every core, unless OMP_NUM_THREADS says otherwise.
void use_all_cores();

// LibTorch's CPU tensors come from malloc and go back at once: an update frees and reallocates
// tens of MB of activations. glibc's defaults return such blocks to the kernel (mmap/munmap, heap
// trimming), so each update paid thousands of page faults to get zeroed pages back (bench update:
// 3.5k faults and ~20 % of the update's time at 48x48, batch 128). Keeps freed memory in the heap
// instead, unless DODGE_MALLOC_DEFAULTS=1 (glibc only).
void keep_freed_memory();

// Denormal floats (below 1e-38) flushed to zero on the CPU: they cost ~100x a normal operation.
// Called before the first parallel operation, so that LibTorch's threads inherit it.
void flush_denormals();

// cuDNN times its convolution algorithms once per shape and keeps the fastest (our shapes are
// fixed), unless DODGE_CUDNN_BENCHMARK=0. No effect without CUDA.
void use_fastest_convolutions();

}  // namespace dodge::run

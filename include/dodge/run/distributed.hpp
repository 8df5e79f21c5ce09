// Data-parallel training across processes and machines on PyTorch's own runtime (c10d): a
// TCPStore for the rendezvous, Gloo between CPUs, NCCL between GPUs. Launched by torchrun (or
// Slurm's srun, or by hand) through the variables they set: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT, and torchrun's TORCHELASTIC_USE_AGENT_STORE / _RESTART_COUNT.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dodge/learn/collective.hpp"

namespace dodge::run {

struct DistEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // torchrun's agent hosts the store: every rank is a client
  int restart_count = 0;     // torchrun's, for the store prefix of this attempt
};

// The launch variables, or nullopt for a single-process run (WORLD_SIZE unset or 1). Throws
// UserError for an incomplete or inconsistent set (WORLD_SIZE without RANK, RANK >= WORLD_SIZE, ...).
std::optional<DistEnv> dist_env_from_environment();

// Which backends this build has ("gloo", "nccl"; empty: none, a single-process build).
std::vector<std::string> dist_backends();

// The environment variable that turns on NCCL's blocking wait in LibTorch major.minor:
// NCCL_BLOCKING_WAIT up to 2.1, TORCH_NCCL_BLOCKING_WAIT from 2.2.
const char* nccl_blocking_wait_variable(int torch_major, int torch_minor);
// Sets it to 1 (unless already set) where this build has NCCL, so that a collective with a dead or
// hung peer throws after the group's timeout. setenv races with getenv in other threads (glibc may
// free the old environment under a reader): call it before any thread starts, first in main.
void enable_nccl_blocking_wait();

class ProcessGroup : public learn::Collective {
 public:
  // Joins the group: Gloo for a CPU device, NCCL for a CUDA one. Every blocking call gives up
  // after `timeout` (a rank that died or hangs); an unreachable master is a UserError.
  static std::unique_ptr<ProcessGroup> connect(const DistEnv& env, torch::Device device, std::chrono::seconds timeout);
  ~ProcessGroup() override;

  int rank() const override { return env_.rank; }
  int world_size() const override { return env_.world_size; }
  int local_rank() const { return env_.local_rank; }
  const std::string& backend() const { return backend_; }
  void average(const std::vector<torch::Tensor>& tensors) override;
  void broadcast(const std::vector<torch::Tensor>& tensors) override;
  // Rank 0's integers on every rank.
  std::vector<std::int64_t> broadcast_integers(std::vector<std::int64_t> values);
  // Whether any rank passed true (a stop request seen by one rank stops all at the same step).
  bool any(bool flag);
  void barrier();
  // Seconds spent inside collectives so far (waiting for slower ranks included).
  double seconds() const { return seconds_; }
  // Bytes all-reduced so far (each rank's contribution).
  double bytes_reduced() const { return bytes_; }

 private:
  struct Impl;
  ProcessGroup(const DistEnv& env, torch::Device device);
  void all_reduce_sum(torch::Tensor& buffer);
  DistEnv env_;
  torch::Device device_;
  std::string backend_;
  std::unique_ptr<Impl> impl_;
  double seconds_ = 0, bytes_ = 0;
};

// Seeds that differ per rank; rank 0's is the seed itself (a single-process run is unchanged).
std::uint64_t rank_seed(std::uint64_t seed, int rank);

// A short hex digest of the tensors' bytes (equal on every rank of a healthy data-parallel run).
std::string digest(const std::vector<torch::Tensor>& tensors);

}  // namespace dodge::run

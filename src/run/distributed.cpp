// c10d process groups for data-parallel training (see distributed.hpp). Gloo needs the Gloo
// headers (Debian's libgloo-dev, matching Debian's LibTorch); NCCL needs nccl.h and a CUDA LibTorch.
// CMake defines DODGE_GLOO / DODGE_NCCL when they are there.
#include "dodge/run/distributed.hpp"

#include <torch/version.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "dodge/output/clock.hpp"
#include "dodge/run/error.hpp"

#if defined(DODGE_GLOO) || defined(DODGE_NCCL)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef DODGE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DODGE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace dodge::run {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

int env_int(const char* name, const std::string& text, int lo, int hi) {
  std::size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < lo || v > hi)
    throw UserError(std::string(name) + "=" + text + ": expected an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
  return static_cast<int>(v);
}

std::string first_line(const std::exception& e) {
  std::string s = e.what();
  return s.substr(0, s.find('\n'));
}

}  // namespace

std::optional<DistEnv> dist_env_from_environment() {
  const auto world = env("WORLD_SIZE");
  if (!world) {
    if (env("RANK")) throw UserError("RANK is set but WORLD_SIZE is not: set both (torchrun and srun do), or neither");
    return std::nullopt;
  }
  DistEnv d;
  d.world_size = env_int("WORLD_SIZE", *world, 1, 1 << 20);
  if (d.world_size == 1) return std::nullopt;
  const auto rank = env("RANK");
  if (!rank)
    throw UserError("WORLD_SIZE=" + *world + " but RANK is not set: launch with torchrun (it sets both), or set RANK "
                    "in [0, " + std::to_string(d.world_size - 1) + "] for each process");
  d.rank = env_int("RANK", *rank, 0, d.world_size - 1);
  d.local_rank = env("LOCAL_RANK") ? env_int("LOCAL_RANK", *env("LOCAL_RANK"), 0, 1 << 16) : 0;
  if (const auto a = env("MASTER_ADDR")) d.master_addr = *a;
  if (const auto p = env("MASTER_PORT")) d.master_port = env_int("MASTER_PORT", *p, 1, 65535);
  d.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (const auto r = env("TORCHELASTIC_RESTART_COUNT")) d.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", *r, 0, 1 << 20);
  return d;
}

std::vector<std::string> dist_backends() {
  std::vector<std::string> b;
#ifdef DODGE_GLOO
  b.push_back("gloo");
#endif
#ifdef DODGE_NCCL
  b.push_back("nccl");
#endif
  return b;
}

const char* nccl_blocking_wait_variable(int torch_major, int torch_minor) {
  // Renamed in LibTorch 2.2 (pytorch#114077); 2.2 and later still read the old name, with a warning.
  return torch_major > 2 || (torch_major == 2 && torch_minor >= 2) ? "TORCH_NCCL_BLOCKING_WAIT" : "NCCL_BLOCKING_WAIT";
}

void enable_nccl_blocking_wait() {
#ifdef DODGE_NCCL
  // NCCL's work->wait() only orders CUDA streams: a dead or hung peer would block the job until
  // NCCL's watchdog, with no error of ours. Blocking wait makes wait() hold the host until the
  // collective completes or train.dist_timeout passes, then throw: Impl::wait's one-line error.
  // Only the name this LibTorch reads (the other would draw a deprecation warning from 2.2 on); a
  // user's own setting wins. (Not verified on a GPU yet.)
  ::setenv(nccl_blocking_wait_variable(TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR), "1", 0);
#endif
}

ProcessGroup::ProcessGroup(const DistEnv& env, torch::Device device) : env_(env), device_(device) {}

std::uint64_t rank_seed(std::uint64_t seed, int rank) {
  return seed ^ (static_cast<std::uint64_t>(rank) * 0x9E3779B97F4A7C15ull);
}

std::string digest(const std::vector<torch::Tensor>& tensors) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over every byte, in order
  for (const auto& t : tensors) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(c.data_ptr());
    const auto n = static_cast<std::size_t>(c.numel()) * c.element_size();
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

#if defined(DODGE_GLOO) || defined(DODGE_NCCL)

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  // One of the two (ProcessGroup in LibTorch 1.13, Backend in 2.x: no common base to hold).
#ifdef DODGE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef DODGE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  template <typename Call>
  void run(Call call, int rank, const char* what) {
#ifdef DODGE_NCCL
    if (nccl) return wait(call(*nccl), rank, what);
#endif
#ifdef DODGE_GLOO
    if (gloo) return wait(call(*gloo), rank, what);
#endif
  }
  std::chrono::milliseconds timeout{0};

  // The one place where c10d's work is waited on: its errors (a peer gone, a timeout) become one
  // line that says what happened.
  template <typename Work>
  void wait(const Work& work, int rank, const char* what) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw std::runtime_error("rank " + std::to_string(rank) + ": " + what +
                               " with the other ranks failed (a rank exited, or did not answer within " +
                               std::to_string(timeout.count() / 1000) + " s, train.dist_timeout): " + first_line(e));
    }
  }
};

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env, torch::Device device,
                                                    std::chrono::seconds timeout) {
  std::unique_ptr<ProcessGroup> pg(new ProcessGroup(env, device));
  pg->impl_ = std::make_unique<Impl>();
  Impl& im = *pg->impl_;
  im.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(env.master_port);
    // torchrun's agent already serves the store on MASTER_PORT (static and c10d rendezvous):
    // every worker is a client there, under the prefix Python's workers use.
    o.isServer = env.rank == 0 && !env.agent_store;
    o.numWorkers = static_cast<std::size_t>(env.world_size);
    o.waitWorkers = false;
    o.timeout = im.timeout;
    c10::intrusive_ptr<c10d::Store> tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    im.store = tcp;
    if (env.agent_store)
      im.store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count), tcp);
  } catch (const std::exception& e) {
    throw UserError("rank " + std::to_string(env.rank) + ": cannot " +
                    (env.rank == 0 && !env.agent_store ? "serve" : "reach") + " the rendezvous store at " + where +
                    " (MASTER_ADDR, MASTER_PORT) within " + std::to_string(timeout.count()) + " s: " + first_line(e));
  }
  try {
    if (device.is_cuda()) {
#ifdef DODGE_NCCL
      c10::cuda::set_device(device.index());
      // Blocking wait was turned on by main, before any thread started (enable_nccl_blocking_wait).
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = im.timeout;
      im.nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(im.store, env.rank, env.world_size, o);
      pg->backend_ = "nccl";
#else
      throw UserError("this dodge has no NCCL (built without nccl.h or a CUDA LibTorch): several ranks need "
                      "--device cpu here");
#endif
    } else {
#ifdef DODGE_GLOO
      auto o = c10d::ProcessGroupGloo::Options::create(im.timeout);
      const auto iface = std::getenv("GLOO_SOCKET_IFNAME");
      const bool loopback = env.master_addr.rfind("127.", 0) == 0 || env.master_addr == "localhost";
      // As PyTorch: GLOO_SOCKET_IFNAME names the interface; else the host name's address. A job on
      // one machine (MASTER_ADDR on the loopback) stays on the loopback.
      o->devices.push_back(iface && *iface ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                           : loopback      ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                           : c10d::ProcessGroupGloo::createDefaultDevice());
      o->threads = 2;
      im.gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(im.store, env.rank, env.world_size, o);
      pg->backend_ = "gloo";
#else
      throw UserError("this dodge has no Gloo (built without the Gloo headers: Debian's libgloo-dev with Debian's "
                      "LibTorch): several ranks need a build with it");
#endif
    }
  } catch (const UserError&) {
    throw;
  } catch (const std::exception& e) {
    throw UserError("rank " + std::to_string(env.rank) + ": the " + (device.is_cuda() ? "NCCL" : "Gloo") +
                    " group of " + std::to_string(env.world_size) + " ranks did not form within " +
                    std::to_string(timeout.count()) + " s (store " + where + "): " + first_line(e));
  }
  return pg;
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(torch::Tensor& buffer) {
  const double t0 = output::now_seconds();
  std::vector<torch::Tensor> v{buffer};
  impl_->run([&](auto& g) { return g.allreduce(v); }, env_.rank, "an all-reduce");
  seconds_ += output::now_seconds() - t0;
  bytes_ += static_cast<double>(buffer.numel() * buffer.element_size());
}

void ProcessGroup::average(const std::vector<torch::Tensor>& tensors) {
  const double n = static_cast<double>(env_.world_size);
  learn::on_flattened(tensors, [&](torch::Tensor& buffer) {
    // Gloo (LibTorch 1.13) has no bf16 or fp16 reduction ("Invalid scalar type"): those sum in fp32,
    // which is also exact for more ranks; NCCL reduces them natively.
    if (backend_ == "gloo" && (buffer.scalar_type() == torch::kBFloat16 || buffer.scalar_type() == torch::kHalf)) {
      torch::Tensor wide = buffer.to(torch::kFloat32);
      all_reduce_sum(wide);
      buffer.copy_(wide.div_(n));
      return;
    }
    all_reduce_sum(buffer);
    buffer.div_(n);
  });
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors) {
  const double t0 = output::now_seconds();
  learn::on_flattened(tensors, [&](torch::Tensor& buffer) {
    std::vector<torch::Tensor> v{buffer};
    impl_->run([&](auto& g) { return g.broadcast(v); }, env_.rank, "a broadcast");
  });
  seconds_ += output::now_seconds() - t0;
}

std::vector<std::int64_t> ProcessGroup::broadcast_integers(std::vector<std::int64_t> values) {
  auto t = torch::tensor(values, torch::kInt64).to(device_);
  broadcast({t});
  t = t.cpu();
  return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel());
}

bool ProcessGroup::any(bool flag) {
  auto t = torch::full({1}, flag ? 1.0f : 0.0f, torch::TensorOptions().device(device_));
  all_reduce_sum(t);
  return t.item<float>() > 0.5f;
}

void ProcessGroup::barrier() { any(false); }

#else  // a build without c10d backends

struct ProcessGroup::Impl {};

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env, torch::Device, std::chrono::seconds) {
  throw UserError("WORLD_SIZE=" + std::to_string(env.world_size) +
                  ": this dodge was built without c10d's Gloo or NCCL (install libgloo-dev and rebuild: "
                  "scripts/install-deps.sh does); a single process needs no WORLD_SIZE");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::all_reduce_sum(torch::Tensor&) {}
void ProcessGroup::average(const std::vector<torch::Tensor>&) {}
void ProcessGroup::broadcast(const std::vector<torch::Tensor>&) {}
std::vector<std::int64_t> ProcessGroup::broadcast_integers(std::vector<std::int64_t> v) { return v; }
bool ProcessGroup::any(bool flag) { return flag; }
void ProcessGroup::barrier() {}

#endif

}  // namespace dodge::run

#include "dodge/learn/replay_buffer.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#ifdef DODGE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace dodge::learn {

#ifdef DODGE_CUDA
struct ReplayBuffer::CopyEvents {
  at::cuda::CUDAEvent done[2];
  bool pending[2] = {false, false};
};
#else
struct ReplayBuffer::CopyEvents {};
#endif
namespace {

std::string human_bytes(double b) {
  char buf[64];
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

}  // namespace

std::int64_t ReplaySpec::obs_bytes() const {
  return numel(obs_shape) * (image() ? 1 : static_cast<std::int64_t>(sizeof(float)));
}

std::int64_t ReplayBuffer::bytes_per_transition(const ReplaySpec& s) {
  // obs + action floats + reward float + flags byte + back byte + FIFO entry (int64)
  return s.obs_bytes() + 4LL * s.action_dim + 4 + 1 + 1 + 8;
}

std::int64_t ReplayBuffer::bytes_needed(const ReplaySpec& s) {
  const std::int64_t rows = std::max<std::int64_t>(2, s.capacity / s.n_envs);
  return rows * s.n_envs * bytes_per_transition(s);
}

std::int64_t ReplayBuffer::free_bytes(const torch::Device& device) {
  if (device.is_cuda()) {
#ifdef DODGE_CUDA
    size_t free = 0, total = 0;
    c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0));
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
    return static_cast<std::int64_t>(free);
#else
    return 0;
#endif
  }
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return std::int64_t{1} << 40;  // unknown: do not refuse
}

ReplayBuffer::ReplayBuffer(const ReplaySpec& spec, torch::Device device) : spec_(spec), device_(device) {
  if (spec.n_envs < 1 || spec.frame_stack < 1 || spec.action_dim < 1 || spec.obs_shape.empty())
    throw std::invalid_argument("replay buffer: bad spec");
  rows_ = std::max<std::int64_t>(2, spec.capacity / spec.n_envs);
  if (rows_ <= spec.frame_stack)
    throw std::invalid_argument("replay buffer: capacity " + std::to_string(spec.capacity) +
                                " is too small for " + std::to_string(spec.n_envs) + " envs and a stack of " +
                                std::to_string(spec.frame_stack));
  const std::int64_t need = bytes_needed(spec);
  const std::int64_t free = free_bytes(device);
  // Leave room for the networks and the rest of the process.
  const std::int64_t reserve = device.is_cuda() ? (std::int64_t{2} << 30) : (std::int64_t{1} << 30);
  if (need > free - reserve)
    throw OutOfMemory("the replay buffer needs " + human_bytes(static_cast<double>(need)) + " (" +
                      std::to_string(rows_ * spec.n_envs) + " transitions x " +
                      std::to_string(bytes_per_transition(spec)) + " B) but " + device.str() + " has " +
                      human_bytes(static_cast<double>(free)) + " free (keeping " +
                      human_bytes(static_cast<double>(reserve)) + " for the rest); lower sac.buffer_size");
  const std::int64_t slots = rows_ * spec.n_envs;
  auto opts = torch::TensorOptions().device(device);
  std::vector<std::int64_t> obs_dims{slots};
  obs_dims.insert(obs_dims.end(), spec.obs_shape.begin(), spec.obs_shape.end());
  obs_ = torch::zeros(obs_dims, opts.dtype(spec.image() ? torch::kUInt8 : torch::kFloat32));
  actions_ = torch::zeros({slots, spec.action_dim}, opts.dtype(torch::kFloat32));
  rewards_ = torch::zeros({slots}, opts.dtype(torch::kFloat32));
  flags_ = torch::zeros({slots}, opts.dtype(torch::kUInt8));
  back_ = torch::zeros({slots}, opts.dtype(torch::kUInt8));
  fifo_ = torch::zeros({slots}, opts.dtype(torch::kInt64));
  staged_ = device.is_cuda() || spec.staged_writes;
  if (staged_) {
    // One staging row: frames | actions | rewards | flags | back | FIFO pushes, each 8-byte aligned.
    const std::int64_t n = spec.n_envs;
    auto align = [](std::int64_t b) { return (b + 7) / 8 * 8; };
    layout_.actions = align(n * spec.obs_bytes());
    layout_.rewards = layout_.actions + align(n * spec.action_dim * 4);
    layout_.flags = layout_.rewards + align(n * 4);
    layout_.back = layout_.flags + align(n);
    layout_.push = layout_.back + align(n);
    layout_.bytes = layout_.push + n * 8;
    for (auto& st : staging_)
      st = torch::zeros({layout_.bytes},
                        torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(device.is_cuda()));
    device_stage_ = torch::zeros({layout_.bytes}, opts.dtype(torch::kUInt8));
    if (device.is_cuda()) events_ = std::make_shared<CopyEvents>();
  }
  row_valid_.assign(static_cast<std::size_t>(rows_), 0);
  since_start_.assign(static_cast<std::size_t>(spec.n_envs), 0);
  row_back_.assign(static_cast<std::size_t>(spec.n_envs), 0);
  row_flags_.assign(static_cast<std::size_t>(spec.n_envs), 0);
  push_slots_.assign(static_cast<std::size_t>(spec.n_envs), 0);
}

void ReplayBuffer::begin_row() {
  if (row_open_) return;
#ifdef DODGE_CUDA
  // The staging row handed out next must not still be on its way to the device.
  if (events_ && events_->pending[staging_index_]) {
    events_->done[staging_index_].synchronize();
    events_->pending[staging_index_] = false;
  }
#endif
  const std::int64_t pos = rows_written_ % rows_;
  // Rows leave the FIFO oldest first, so their entries are at its front.
  auto drop = [&](std::int64_t row) {
    const std::int64_t d = row_valid_[static_cast<std::size_t>(row)];
    if (tree_) tree_->fill(fifo_head_, d, 0.0);
    fifo_head_ = (fifo_head_ + d) % capacity();
    valid_count_ -= d;
    row_valid_[static_cast<std::size_t>(row)] = 0;
  };
  drop(pos);  // about to be overwritten
  // Once the ring wraps, the k-1 oldest rows that remain have lost frames their stacks need.
  if (rows_written_ >= rows_)
    for (std::int64_t i = 1; i < spec_.frame_stack; ++i) drop((pos + i) % rows_);
  row_open_ = true;
}

std::uint8_t* ReplayBuffer::staging_row() {
  return staging_[staging_index_].data_ptr<std::uint8_t>();
}

std::uint8_t* ReplayBuffer::next_frames() {
  if (!spec_.image()) throw std::logic_error("next_frames() on a vector replay buffer");
  begin_row();
  if (staged_) return staging_row();
  const std::int64_t pos = rows_written_ % rows_;
  return obs_.data_ptr<std::uint8_t>() + pos * spec_.n_envs * spec_.obs_bytes();
}

float* ReplayBuffer::next_vectors() {
  if (spec_.image()) throw std::logic_error("next_vectors() on an image replay buffer");
  begin_row();
  if (staged_) return reinterpret_cast<float*>(staging_row());
  const std::int64_t pos = rows_written_ % rows_;
  return obs_.data_ptr<float>() + pos * spec_.n_envs * numel(spec_.obs_shape);
}

void ReplayBuffer::finish_row(const std::uint8_t* episode_start, std::int64_t prev, std::int64_t pushed,
                              std::int64_t tail) {
  const std::int64_t pos = rows_written_ % rows_;
  const std::int64_t n = spec_.n_envs;
  std::uint8_t* back = staged_ ? staging_row() + layout_.back : row_back_.data();
  for (std::int64_t e = 0; e < n; ++e) {
    auto& s = since_start_[static_cast<std::size_t>(e)];
    s = episode_start[e] ? 0 : std::min(s + 1, 255);
    back[e] = static_cast<std::uint8_t>(s);
  }
  if (staged_)
    upload_row(pos, prev, pushed, tail);
  else
    back_.narrow(0, pos * n, n).copy_(torch::from_blob(back, {n}, torch::kUInt8));
  rows_written_ += 1;
  row_open_ = false;
}

void ReplayBuffer::upload_row(std::int64_t pos, std::int64_t prev, std::int64_t pushed, std::int64_t tail) {
  // One copy of the whole staging row (frames and metadata), asynchronous from pinned memory, then
  // copies into place on the device: nothing here waits for the device.
  const std::int64_t n = spec_.n_envs, a = spec_.action_dim;
  device_stage_.copy_(staging_[staging_index_], /*non_blocking=*/true);
  auto part = [&](std::int64_t offset, std::int64_t bytes, torch::ScalarType type) {
    return device_stage_.narrow(0, offset, bytes).view(type);
  };
  std::vector<std::int64_t> frame_dims{n};
  frame_dims.insert(frame_dims.end(), spec_.obs_shape.begin(), spec_.obs_shape.end());
  obs_.narrow(0, pos * n, n)
      .copy_(part(0, n * spec_.obs_bytes(), obs_.scalar_type()).view(frame_dims), /*non_blocking=*/true);
  if (prev >= 0) {
    actions_.narrow(0, prev * n, n)
        .copy_(part(layout_.actions, n * a * 4, torch::kFloat32).view({n, a}), true);
    rewards_.narrow(0, prev * n, n).copy_(part(layout_.rewards, n * 4, torch::kFloat32), true);
    flags_.narrow(0, prev * n, n).copy_(part(layout_.flags, n, torch::kUInt8), true);
  }
  back_.narrow(0, pos * n, n).copy_(part(layout_.back, n, torch::kUInt8), true);
  if (pushed > 0) {
    auto src = part(layout_.push, pushed * 8, torch::kInt64);
    const std::int64_t first = std::min(pushed, capacity() - tail);
    fifo_.narrow(0, tail, first).copy_(src.narrow(0, 0, first), true);
    if (first < pushed) fifo_.narrow(0, 0, pushed - first).copy_(src.narrow(0, first, pushed - first), true);
  }
#ifdef DODGE_CUDA
  if (events_) {
    events_->done[staging_index_].record(c10::cuda::getCurrentCUDAStream(device_.index()));
    events_->pending[staging_index_] = true;
  }
#endif
  staging_index_ ^= 1;
}

void ReplayBuffer::commit_reset() {
  begin_row();
  std::vector<std::uint8_t> starts(static_cast<std::size_t>(spec_.n_envs), 1);
  finish_row(starts.data(), -1, 0, 0);
}

void ReplayBuffer::commit_step(const float* actions, const float* rewards, const std::uint8_t* terminated,
                               const std::uint8_t* truncated, const std::uint8_t* episode_start) {
  if (rows_written_ == 0) throw std::logic_error("commit_step() before commit_reset()");
  begin_row();
  const std::int64_t n = spec_.n_envs, a = spec_.action_dim;
  const std::int64_t prev = (rows_written_ - 1) % rows_;
  // The previous row's transitions: into the staging row (one upload) or straight into storage.
  std::uint8_t* flags = staged_ ? staging_row() + layout_.flags : row_flags_.data();
  std::int64_t* push =
      staged_ ? reinterpret_cast<std::int64_t*>(staging_row() + layout_.push) : push_slots_.data();
  std::int64_t pushed = 0;
  for (std::int64_t e = 0; e < n; ++e) {
    flags[e] = static_cast<std::uint8_t>((terminated[e] ? 1 : 0) | (truncated[e] ? 2 : 0));
    // Slots whose next observation belongs to the same episode start a transition.
    if (!episode_start[e]) push[pushed++] = prev * n + e;
  }
  const std::int64_t tail = (fifo_head_ + valid_count_) % capacity();
  if (staged_) {
    std::memcpy(staging_row() + layout_.actions, actions, static_cast<std::size_t>(n * a) * sizeof(float));
    std::memcpy(staging_row() + layout_.rewards, rewards, static_cast<std::size_t>(n) * sizeof(float));
  } else {
    actions_.narrow(0, prev * n, n)
        .copy_(torch::from_blob(const_cast<float*>(actions), {n, a}, torch::kFloat32));
    rewards_.narrow(0, prev * n, n)
        .copy_(torch::from_blob(const_cast<float*>(rewards), {n}, torch::kFloat32));
    flags_.narrow(0, prev * n, n).copy_(torch::from_blob(flags, {n}, torch::kUInt8));
    if (pushed > 0) {
      auto src = torch::from_blob(push, {pushed}, torch::kInt64);
      const std::int64_t first = std::min(pushed, capacity() - tail);
      fifo_.narrow(0, tail, first).copy_(src.narrow(0, 0, first));
      if (first < pushed) fifo_.narrow(0, 0, pushed - first).copy_(src.narrow(0, first, pushed - first));
    }
  }
  valid_count_ += pushed;
  row_valid_[static_cast<std::size_t>(prev)] += pushed;
  if (tree_) tree_->fill(tail, pushed, max_priority_);  // new transitions: the largest priority so far
  finish_row(episode_start, prev, pushed, tail);
}

torch::Tensor ReplayBuffer::frame_indices(const torch::Tensor& slots, const torch::Tensor& rows,
                                          const torch::Tensor& back, const torch::Tensor& age) const {
  const std::int64_t k = spec_.frame_stack;
  const std::int64_t n = spec_.n_envs;
  if (k == 1) return slots;
  // Offset of stack position j (0 = newest) is min(j, back, age): the stack rule.
  auto j = torch::arange(k - 1, -1, -1, slots.options());  // oldest first
  auto limit = torch::minimum(back, age).unsqueeze(1);
  auto off = torch::minimum(j.unsqueeze(0), limit);
  auto env = (slots % n).unsqueeze(1);
  return (((rows.unsqueeze(1) - off + rows_) % rows_) * n + env).reshape({-1});
}

static std::vector<std::int64_t> stacked_dims(const ReplaySpec& spec, std::int64_t b) {
  const std::int64_t k = spec.frame_stack;
  if (spec.image()) return {b, k * spec.obs_shape[0], spec.obs_shape[1], spec.obs_shape[2]};
  return {b, k * numel(spec.obs_shape)};
}

torch::Tensor ReplayBuffer::gather_stacks(const torch::Tensor& slots, const torch::Tensor& rows,
                                          const torch::Tensor& back, const torch::Tensor& age) const {
  return obs_.index_select(0, frame_indices(slots, rows, back, age)).view(stacked_dims(spec_, slots.size(0)));
}

torch::Tensor ReplayBuffer::stacks(const torch::Tensor& slots) const {
  const std::int64_t n = spec_.n_envs;
  const std::int64_t oldest_abs = std::max<std::int64_t>(0, rows_written_ + (row_open_ ? 1 : 0) - rows_);
  const std::int64_t oldest_pos = oldest_abs % rows_;
  auto rows = torch::div(slots, n, "floor");
  auto age = (rows - oldest_pos + rows_) % rows_;
  auto back = back_.index_select(0, slots).to(torch::kInt64);
  return gather_stacks(slots, rows, back, age);
}

torch::Tensor ReplayBuffer::current_stacks() const {
  if (rows_written_ == 0) throw std::logic_error("current_stacks() before any row");
  const std::int64_t n = spec_.n_envs;
  auto slots =
      torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(device_)) + newest_row() * n;
  return stacks(slots);
}

Batch ReplayBuffer::sample(std::int64_t batch_size, at::Generator& generator) const {
  Batch batch;
  sample_into(batch, batch_size, generator);
  return batch;
}

void ReplayBuffer::sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator) const {
  sample_impl(batch, batch_size, generator, nullptr);
}

void ReplayBuffer::sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator,
                               const NStep& n_step) const {
  if (n_step.n < 1)
    throw std::invalid_argument("n-step returns need n >= 1, got " + std::to_string(n_step.n));
  sample_impl(batch, batch_size, generator, &n_step);
}

void ReplayBuffer::sample_impl(Batch& batch, std::int64_t batch_size, at::Generator& generator,
                               const NStep* n_step, const torch::Tensor& ring) const {
  if (valid_count_ == 0) throw std::logic_error("sample() from an empty replay buffer");
  const std::int64_t n = spec_.n_envs;
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  torch::Tensor slots;
  if (ring.defined()) {
    slots = fifo_.index_select(0, ring);
  } else {
    auto j = torch::randint(valid_count_, {batch_size}, generator, opts);
    slots = fifo_.index_select(0, (j + fifo_head_) % capacity());
    batch.weights = torch::Tensor();
    batch.positions.clear();
  }
  const std::int64_t oldest_abs = std::max<std::int64_t>(0, rows_written_ + (row_open_ ? 1 : 0) - rows_);
  const std::int64_t oldest_pos = oldest_abs % rows_;
  auto rows = torch::div(slots, n, "floor");
  auto age = (rows - oldest_pos + rows_) % rows_;
  torch::Tensor steps;  // h: the next observation is h rows on (undefined: 1)
  if (n_step && n_step->n > 1) {
    // Rewards and flags of the n slots from each sampled one on, in its env's column.
    const std::int64_t h_max = n_step->n;
    auto ks = torch::arange(h_max, opts);
    auto chain = (((rows.unsqueeze(1) + ks) % rows_) * n + (slots % n).unsqueeze(1)).reshape({-1});
    auto r = rewards_.index_select(0, chain).view({batch_size, h_max});
    auto flags = flags_.index_select(0, chain).view({batch_size, h_max});
    auto ended = flags.bitwise_and(3).ne(0).to(torch::kFloat32);
    // Step k counts while no earlier step ended the episode and its next row is written (rows
    // after the newest are old data). The counted steps are a prefix, at least the first.
    auto ahead = (newest_row() - rows + rows_) % rows_;
    auto alive = torch::cat(
        {torch::ones({batch_size, 1}, r.options()), (1 - ended.narrow(1, 0, h_max - 1)).cumprod(1)}, 1);
    auto counted = alive * ks.unsqueeze(0).lt(ahead.unsqueeze(1)).to(torch::kFloat32);
    auto powers = torch::pow(n_step->gamma, ks.to(torch::kFloat64)).to(torch::kFloat32);
    steps = counted.sum(1).to(torch::kInt64);
    auto last_terminated = flags.bitwise_and(1).gather(1, (steps - 1).unsqueeze(1)).to(torch::kFloat32);
    batch.rewards = (r * counted * powers.unsqueeze(0)).sum(1, true);
    batch.not_done = 1 - last_terminated;
    batch.discount = torch::pow(n_step->gamma, steps.to(torch::kFloat64)).to(torch::kFloat32).unsqueeze(1) *
                     batch.not_done;
  } else {
    batch.rewards = rewards_.index_select(0, slots).unsqueeze(1);
    auto terminated = flags_.index_select(0, slots).bitwise_and(1);
    batch.not_done = (1 - terminated.to(torch::kFloat32)).unsqueeze(1);
    batch.discount = n_step ? batch.not_done * n_step->gamma : torch::Tensor();
  }
  auto next_rows = steps.defined() ? (rows + steps) % rows_ : (rows + 1) % rows_;
  auto next_slots = next_rows * n + slots % n;
  // One gather for obs and next obs, into the batch's own storage when it has the right size.
  auto all_slots = torch::cat({slots, next_slots});
  auto all_rows = torch::cat({rows, next_rows});
  auto all_back = back_.index_select(0, all_slots).to(torch::kInt64);
  auto all_age = torch::cat({age, steps.defined() ? age + steps : age + 1});
  const auto dims = stacked_dims(spec_, 2 * batch_size);
  if (!batch.stacks.defined() || batch.stacks.sizes() != torch::IntArrayRef(dims) ||
      batch.stacks.device() != obs_.device() || batch.stacks.scalar_type() != obs_.scalar_type())
    batch.stacks = torch::empty(dims, obs_.options());
  std::vector<std::int64_t> frames_dims{-1};
  frames_dims.insert(frames_dims.end(), spec_.obs_shape.begin(), spec_.obs_shape.end());
  auto frames = batch.stacks.view(frames_dims);
  torch::index_select_out(frames, obs_, 0, frame_indices(all_slots, all_rows, all_back, all_age));
  batch.obs = batch.stacks.narrow(0, 0, batch_size);
  batch.next_obs = batch.stacks.narrow(0, batch_size, batch_size);
  batch.actions = actions_.index_select(0, slots);
}

void ReplayBuffer::enable_priorities(const Priorities& priorities) {
  if (priorities.alpha < 0 || priorities.eps <= 0)
    throw std::invalid_argument("enable_priorities: alpha >= 0, eps > 0");
  per_ = priorities;
  tree_ = std::make_unique<SumTree>(capacity());
  max_priority_ = 1.0;
  if (valid_count_ > 0) tree_->fill(fifo_head_, valid_count_, max_priority_);
}

void ReplayBuffer::sample_into(Batch& batch, std::int64_t batch_size, at::Generator& generator,
                               const NStep& n_step, double beta) const {
  if (!tree_) return sample_into(batch, batch_size, generator, n_step);
  if (valid_count_ == 0) throw std::logic_error("sample() from an empty replay buffer");
  // Stratified: one draw in each of batch_size equal parts of the total mass (as Schaul et al.),
  // from the sampler's own generator so that a seed replays the same batches.
  const double total = tree_->total();
  auto u = torch::rand({batch_size}, generator,
                       torch::TensorOptions().dtype(torch::kFloat64).device(generator.device()))
               .to(torch::kCPU)
               .contiguous();
  const double* up = u.data_ptr<double>();
  batch.positions.resize(static_cast<std::size_t>(batch_size));
  std::vector<float> w(static_cast<std::size_t>(batch_size));
  float w_max = 0.0f;
  for (std::int64_t i = 0; i < batch_size; ++i) {
    const double mass = (static_cast<double>(i) + up[i]) * total / static_cast<double>(batch_size);
    const std::int64_t pos = tree_->find(std::min(mass, total * (1 - 1e-12)));
    batch.positions[static_cast<std::size_t>(i)] = pos;
    const double p = tree_->get(pos) / total;
    const auto wi = static_cast<float>(std::pow(static_cast<double>(valid_count_) * p, -beta));
    w[static_cast<std::size_t>(i)] = wi;
    w_max = std::max(w_max, wi);
  }
  for (auto& x : w) x /= w_max;
  // from_blob borrows the host vectors; to() alone would keep borrowing them on the CPU.
  auto ring = torch::from_blob(batch.positions.data(), {batch_size}, torch::kInt64).clone().to(device_);
  sample_impl(batch, batch_size, generator, &n_step, ring);
  batch.weights = torch::from_blob(w.data(), {batch_size, 1}, torch::kFloat32).clone().to(device_);
}

void ReplayBuffer::update_priorities(const std::vector<std::int64_t>& positions,
                                     const torch::Tensor& td_abs) {
  if (!tree_) throw std::logic_error("update_priorities without enable_priorities");
  auto td = td_abs.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  if (td.numel() != static_cast<std::int64_t>(positions.size()))
    throw std::invalid_argument("update_priorities: " + std::to_string(td.numel()) + " errors for " +
                                std::to_string(positions.size()) + " positions");
  const double* t = td.data_ptr<double>();
  for (std::size_t i = 0; i < positions.size(); ++i) {
    // A sample whose transition left the buffer since it was drawn keeps priority 0.
    if (tree_->get(positions[i]) <= 0.0) continue;
    const double p = std::pow(std::abs(t[i]) + per_.eps, per_.alpha);
    tree_->set(positions[i], p);
    max_priority_ = std::max(max_priority_, p);
  }
}

torch::Tensor ReplayBuffer::priorities() const {
  if (!tree_) return {};
  auto l = tree_->leaves();
  return torch::from_blob(l.data(), {static_cast<std::int64_t>(l.size())}, torch::kFloat64).clone();
}

void ReplayBuffer::set_priorities(const torch::Tensor& priorities, double max_priority) {
  if (!tree_) throw std::logic_error("set_priorities without enable_priorities");
  auto p = priorities.to(torch::kCPU, torch::kFloat64).contiguous();
  if (p.numel() != capacity())
    throw std::runtime_error("the saved priorities hold " + std::to_string(p.numel()) +
                             " entries, the buffer " + std::to_string(capacity()));
  tree_->set_leaves(std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel()));
  max_priority_ = max_priority;
}

torch::Tensor ReplayBuffer::valid_slots() const {
  if (valid_count_ == 0) return torch::zeros({0}, torch::kInt64);
  auto idx = (torch::arange(valid_count_, torch::kInt64) + fifo_head_) % capacity();
  return fifo_.cpu().index_select(0, idx);
}

// ---- save / load: header, bookkeeping, then each tensor's filled part, in one zstd stream ----

namespace {

constexpr char kMagic[8] = {'D', 'O', 'D', 'G', 'E', 'R', 'B', '1'};

class ZstdWriter {
 public:
  ZstdWriter(const std::string& path) : path_(path), out_(path, std::ios::binary) {
    if (!out_) throw std::runtime_error(path + ": cannot open for writing");
    cctx_.reset(ZSTD_createCCtx());
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_nbWorkers, 2);  // ignored when zstd lacks threads
    buf_.resize(ZSTD_CStreamOutSize());
  }
  void write(const void* data, std::size_t n) { pump(data, n, ZSTD_e_continue); }
  void finish() {
    pump(nullptr, 0, ZSTD_e_end);
    out_.flush();
    if (!out_) throw std::runtime_error(path_ + ": write failed (disk full?)");
  }

 private:
  void pump(const void* data, std::size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      const std::size_t rem = ZSTD_compressStream2(cctx_.get(), &o, &in, mode);
      if (ZSTD_isError(rem)) throw std::runtime_error(path_ + ": zstd: " + ZSTD_getErrorName(rem));
      out_.write(buf_.data(), static_cast<std::streamsize>(o.pos));
      if (!out_) throw std::runtime_error(path_ + ": write failed (disk full?)");
      if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size) break;
    }
  }
  struct Free {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  std::string path_;
  std::ofstream out_;
  std::unique_ptr<ZSTD_CCtx, Free> cctx_;
  std::vector<char> buf_;
};

class ZstdReader {
 public:
  ZstdReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw std::runtime_error(path + ": cannot open the replay buffer file");
    dctx_.reset(ZSTD_createDCtx());
    inbuf_.resize(ZSTD_DStreamInSize());
  }
  void read(void* dst, std::size_t n) {
    ZSTD_outBuffer out{dst, n, 0};
    while (out.pos < out.size) {
      if (in_pos_ == in_size_ && !refill())
        throw std::runtime_error(path_ + ": the replay buffer file is truncated");
      decompress(out);
    }
  }
  // The stream must end exactly here, with its checksum verified.
  void finish() {
    char extra = 0;
    ZSTD_outBuffer out{&extra, 1, 0};
    for (;;) {
      if (in_pos_ == in_size_ && !refill()) {
        if (last_ret_ == 0) return;  // the frame ended exactly at the end of the file
        throw std::runtime_error(path_ + ": the replay buffer file is truncated");
      }
      if (last_ret_ == 0) throw std::runtime_error(path_ + ": the replay buffer file has trailing data");
      decompress(out);
      if (out.pos > 0) throw std::runtime_error(path_ + ": the replay buffer file has trailing data");
    }
  }

 private:
  // Reads the next chunk of the file; false at its end.
  bool refill() {
    in_.read(inbuf_.data(), static_cast<std::streamsize>(inbuf_.size()));
    in_size_ = static_cast<std::size_t>(in_.gcount());
    in_pos_ = 0;
    return in_size_ > 0;
  }
  void decompress(ZSTD_outBuffer& out) {
    ZSTD_inBuffer in{inbuf_.data(), in_size_, in_pos_};
    last_ret_ = ZSTD_decompressStream(dctx_.get(), &out, &in);
    if (ZSTD_isError(last_ret_))
      throw std::runtime_error(path_ + ": the replay buffer file is corrupt (" +
                               ZSTD_getErrorName(last_ret_) + ")");
    in_pos_ = in.pos;
  }
  struct Free {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  std::string path_;
  std::ifstream in_;
  std::unique_ptr<ZSTD_DCtx, Free> dctx_;
  std::vector<char> inbuf_;
  std::size_t in_pos_ = 0, in_size_ = 0, last_ret_ = 1;
};

template <typename T>
void put(ZstdWriter& w, const T& v) {
  w.write(&v, sizeof(T));
}
template <typename T>
T get(ZstdReader& r) {
  T v{};
  r.read(&v, sizeof(T));
  return v;
}

void write_tensor(ZstdWriter& w, const torch::Tensor& t, std::int64_t rows) {
  // Copy in chunks so a large device buffer never needs a full host copy.
  const std::int64_t chunk =
      std::max<std::int64_t>(1, (64LL << 20) / std::max<std::int64_t>(1, t[0].nbytes()));
  for (std::int64_t r = 0; r < rows; r += chunk) {
    auto part = t.narrow(0, r, std::min(chunk, rows - r)).to(torch::kCPU).contiguous();
    w.write(part.data_ptr(), part.nbytes());
  }
}

void read_tensor(ZstdReader& rd, torch::Tensor& t, std::int64_t rows) {
  const std::int64_t chunk =
      std::max<std::int64_t>(1, (64LL << 20) / std::max<std::int64_t>(1, t[0].nbytes()));
  for (std::int64_t r = 0; r < rows; r += chunk) {
    auto dst = t.narrow(0, r, std::min(chunk, rows - r));
    auto host = torch::empty(dst.sizes(), dst.options().device(torch::kCPU));
    rd.read(host.data_ptr(), host.nbytes());
    dst.copy_(host);
  }
}

}  // namespace

void ReplayBuffer::save(const std::string& path) const {
  if (row_open_) throw std::logic_error("save() with a row being written");
  ZstdWriter w(path);
  w.write(kMagic, sizeof kMagic);
  put<std::int64_t>(w, rows_);
  put<std::int64_t>(w, spec_.n_envs);
  put<std::int64_t>(w, spec_.frame_stack);
  put<std::int64_t>(w, spec_.action_dim);
  put<std::int64_t>(w, static_cast<std::int64_t>(spec_.obs_shape.size()));
  for (auto d : spec_.obs_shape) put<std::int64_t>(w, d);
  put<std::int64_t>(w, rows_written_);
  put<std::int64_t>(w, fifo_head_);
  put<std::int64_t>(w, valid_count_);
  w.write(row_valid_.data(), row_valid_.size() * sizeof(std::int64_t));
  w.write(since_start_.data(), since_start_.size() * sizeof(int));
  const std::int64_t filled = std::min(rows_written_, rows_) * spec_.n_envs;
  for (const auto* t : {&obs_, &actions_, &rewards_, &flags_, &back_}) write_tensor(w, *t, filled);
  write_tensor(w, fifo_, capacity());
  w.finish();
}

void ReplayBuffer::load(const std::string& path) {
  ZstdReader r(path);
  char magic[8];
  r.read(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw std::runtime_error(path + ": not a dodge replay buffer file");
  const auto rows = get<std::int64_t>(r), n = get<std::int64_t>(r), k = get<std::int64_t>(r),
             a = get<std::int64_t>(r), dims = get<std::int64_t>(r);
  std::vector<std::int64_t> shape;
  for (std::int64_t i = 0; i < dims && i < 8; ++i) shape.push_back(get<std::int64_t>(r));
  if (rows != rows_ || n != spec_.n_envs || k != spec_.frame_stack || a != spec_.action_dim ||
      shape != spec_.obs_shape)
    throw std::runtime_error(path +
                             ": the replay buffer was saved with another shape (rows, envs, stack, action "
                             "or observation differ from this run's config)");
  rows_written_ = get<std::int64_t>(r);
  fifo_head_ = get<std::int64_t>(r);
  valid_count_ = get<std::int64_t>(r);
  r.read(row_valid_.data(), row_valid_.size() * sizeof(std::int64_t));
  r.read(since_start_.data(), since_start_.size() * sizeof(int));
  if (rows_written_ < 0 || valid_count_ < 0 || valid_count_ > capacity() || fifo_head_ < 0 ||
      fifo_head_ >= capacity())
    throw std::runtime_error(path + ": the replay buffer file is corrupt (counters out of range)");
  const std::int64_t filled = std::min(rows_written_, rows_) * spec_.n_envs;
  for (auto* t : {&obs_, &actions_, &rewards_, &flags_, &back_}) read_tensor(r, *t, filled);
  read_tensor(r, fifo_, capacity());
  r.finish();
  row_open_ = false;
  // Until set_priorities restores the saved ones, every loaded transition has the largest priority.
  if (tree_) {
    tree_ = std::make_unique<SumTree>(capacity());
    tree_->fill(fifo_head_, valid_count_, max_priority_);
  }
}

}  // namespace dodge::learn

// What the ranks agree on besides the gradients: episode statistics, lessons, stops, the lead's clock.
#include "dodge/run/rank_sync.hpp"

namespace dodge::run {

namespace {

// The sums of `values` over the ranks (each rank's contribution times the ranks, averaged).
torch::Tensor sum_over_ranks(learn::Collective& group, const std::vector<double>& values,
                             torch::Device device) {
  torch::Tensor t = torch::tensor(values, torch::kFloat64).to(device);
  group.average({t});
  return t.cpu() * static_cast<double>(group.world_size());
}

}  // namespace

EpisodeSums pool_episodes(learn::Collective& group, const std::deque<double>& returns,
                          const std::deque<double>& lengths, torch::Device device) {
  double sr = 0, sl = 0;
  for (double x : returns) sr += x;
  for (double x : lengths) sl += x;
  const torch::Tensor t = sum_over_ranks(group, {sr, sl, static_cast<double>(returns.size())}, device);
  return {t[0].item<double>(), t[1].item<double>(), t[2].item<double>()};
}

PooledLesson pool_lesson(learn::Collective& group, const LessonWindow& w, bool share_spent,
                         torch::Device device) {
  const torch::Tensor t =
      sum_over_ranks(group, {w.returns, w.survived, w.count, share_spent ? 1.0 : 0.0}, device);
  return {{t[0].item<double>(), t[1].item<double>(), t[2].item<double>()}, t[3].item<double>() > 0};
}

StepVote agree_on_step(learn::Collective& group, const StepVote& mine, torch::Device device) {
  // The lead alone contributes its rate, times the ranks: the average is the lead's rate.
  const bool lead = group.rank() == 0;
  const auto world = static_cast<double>(group.world_size());
  torch::Tensor t = torch::tensor({mine.interrupt ? 1.0f : 0.0f, mine.stop ? 1.0f : 0.0f,
                                   lead ? static_cast<float>(mine.lr_scale * world) : 0.0f})
                        .to(device);
  group.average({t});
  t = t.cpu();
  return {t[0].item<float>() > 0, t[1].item<float>() > 0, t[2].item<float>()};
}

}  // namespace dodge::run

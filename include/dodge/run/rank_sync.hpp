// What the ranks of a run agree on besides the gradients (distributed.hpp joins them; the learner
// averages its own): each a single small all-reduce, called by every rank at the same steps. The
// lead's clock decides time and the learning rate, any rank's Ctrl-C stops all, and episode
// statistics are pooled so that every rank sees the same numbers.
#pragma once

#include <torch/torch.h>

#include <deque>

#include "dodge/learn/collective.hpp"
#include "dodge/run/curriculum.hpp"

namespace dodge::run {

// rollout/*: every rank's window of last episodes, summed.
struct EpisodeSums {
  double returns = 0, lengths = 0, episodes = 0;
};
EpisodeSums pool_episodes(learn::Collective& group, const std::deque<double>& returns,
                          const std::deque<double>& lengths, torch::Device device);

// A curriculum lesson's window summed over the ranks; max_share is spent when the lead says so (the
// other ranks pass false: they started their clocks at other moments).
struct PooledLesson {
  LessonWindow window;
  bool share_spent = false;
};
PooledLesson pool_lesson(learn::Collective& group, const LessonWindow& window, bool share_spent,
                         torch::Device device);

// The end of every step: whether to stop, and the learning rate of the next updates.
struct StepVote {
  bool interrupt = false;  // a stop request (Ctrl-C, SIGTERM): any rank's stops all
  bool stop = false;       // a stop rule or the time limit: the lead's
  double lr_scale = 1;     // the lead's (fp32, as the ranks exchange it): the networks must stay equal
};
StepVote agree_on_step(learn::Collective& group, const StepVote& mine, torch::Device device);

}  // namespace dodge::run

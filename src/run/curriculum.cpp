// train.curriculum during a run: the lesson, its episodes and the rule that ends it.
#include "dodge/run/curriculum.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace dodge::run {

void LessonTracker::keep_within_lessons() {
  s_.lesson = std::min(s_.lesson, c_.lessons.size());
}

void LessonTracker::note_episode_starts(const std::vector<std::uint8_t>& episode_start) {
  for (std::size_t e = 0; e < s_.episode_lesson.size(); ++e)
    if (episode_start[e]) s_.episode_lesson[e] = s_.lesson;
}

void LessonTracker::count_episode(const game::EpisodeEnd& episode) {
  if (!in_curriculum() || s_.episode_lesson.at(static_cast<std::size_t>(episode.env)) != s_.lesson) return;
  ++s_.lesson_episodes;
  s_.window.emplace_back(episode.episode_return, episode.truncated && !episode.terminated);
  if (s_.window.size() > static_cast<std::size_t>(c_.min_episodes)) s_.window.pop_front();
}

void LessonTracker::forget_episodes() {
  s_.window.clear();
  s_.lesson_episodes = 0;
}

LessonWindow LessonTracker::window() const {
  LessonWindow w;
  w.count = static_cast<double>(s_.window.size());
  for (const auto& [r, s] : s_.window) {
    w.returns += r;
    w.survived += s ? 1 : 0;
  }
  return w;
}

bool LessonTracker::steps_spent(std::int64_t step) const {
  // lesson_steps holds the start of each lesson after the first; the first began at step 0.
  const std::size_t l = s_.lesson;
  const std::int64_t began = l == 0 || s_.lesson_steps.size() < l ? 0 : s_.lesson_steps[l - 1];
  return c_.max_steps && step - began >= *c_.max_steps;
}

bool LessonTracker::share_spent(double progress) const {
  return c_.max_share && progress >= static_cast<double>(s_.lesson + 1) * *c_.max_share - 1e-12;
}

LessonEnd LessonTracker::ends(const LessonWindow& w, bool steps_spent, bool share_spent) const {
  const bool met = w.count >= c_.min_episodes && !(c_.mean_reward && w.mean() < *c_.mean_reward) &&
                   !(c_.success_rate && w.rate() < *c_.success_rate);
  if (met) return LessonEnd::Met;
  if (share_spent) return LessonEnd::MaxShare;
  if (steps_spent) return LessonEnd::MaxSteps;
  return LessonEnd::None;
}

void LessonTracker::advance(std::int64_t step, std::int64_t episodes) {
  ++s_.lesson;
  s_.lesson_episodes = 0;
  s_.window.clear();
  s_.lesson_steps.push_back(step);
  s_.lesson_episodes_at.push_back(episodes);
}

std::string lesson_text(const Config& config, std::size_t lesson) {
  const Curriculum& c = config.train.curriculum;
  Config played = lesson_config(config, lesson);
  std::string value = "?";
  for (const auto& f : schema(played))
    if (f.section == "env" && f.key == c.key) value = f.get();
  return fmt::format("lesson {}/{} ({} = {}{})", lesson + 1, c.lessons.size() + 1, c.key, value,
                     lesson < c.lessons.size() ? "" : ", the target game");
}

}  // namespace dodge::run

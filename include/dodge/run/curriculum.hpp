// train.curriculum during a run (config.hpp's Curriculum says what the keys mean): the lesson the
// training games play, the training episodes that count for it, and when it ends. Torch-free: the
// trainer pools the window over the ranks (rank_sync.hpp) and writes the state into trainer.pt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "dodge/game/vec_env.hpp"
#include "dodge/run/config.hpp"

namespace dodge::run {

// What a checkpoint keeps of a curriculum (trainer.pt's lesson, lesson_episodes, lesson_window,
// lesson_steps, lesson_episodes_at and episode_lesson).
struct LessonState {
  std::size_t lesson = 0;                        // from 0; lessons.size(): the target game
  std::int64_t lesson_episodes = 0;              // training episodes counted for the lesson
  std::deque<std::pair<double, bool>> window;    // the last min_episodes of them: return, survived
  std::vector<std::int64_t> lesson_steps;        // the step at which each lesson after the first began
  std::vector<std::int64_t> lesson_episodes_at;  // and the lead's episode count then
  std::vector<std::size_t> episode_lesson;       // the lesson each game's episode began in
};

// A lesson's window summed: the returns, the survivors and the episodes (several ranks: all ranks').
struct LessonWindow {
  double returns = 0, survived = 0, count = 0;
  double mean() const { return count ? returns / count : 0; }
  double rate() const { return count ? survived / count : 0; }
};

// Why a lesson ends: its criterion met (first), max_share of the run spent, or max_steps.
enum class LessonEnd { None, Met, MaxShare, MaxSteps };

class LessonTracker {
 public:
  LessonTracker() = default;
  explicit LessonTracker(Curriculum curriculum) : c_(std::move(curriculum)) {}

  const Curriculum& curriculum() const { return c_; }
  std::size_t lesson() const { return s_.lesson; }
  // The training games play a lesson (not yet the target game).
  bool in_curriculum() const { return s_.lesson < c_.lessons.size(); }
  // Rank 0's lesson, on the other ranks.
  void set_lesson(std::size_t lesson) { s_.lesson = lesson; }
  // At most the target game: a resume whose config has fewer lessons than the run had reached.
  void keep_within_lessons();

  // n new games: their episodes begin in the current lesson.
  void start_games(int n) { s_.episode_lesson.assign(static_cast<std::size_t>(n), s_.lesson); }
  // The games whose flag is set began an episode this step, in the current lesson.
  void note_episode_starts(const std::vector<std::uint8_t>& episode_start);
  // A training episode ended: it counts for the lesson when it began in it (one still in flight when
  // its lesson ended played part of it, so counts for neither).
  void count_episode(const game::EpisodeEnd& episode);
  // Forgets the counted episodes (a rank other than the lead resuming from rank 0's checkpoint: the
  // windows are pooled over the ranks, and rank 0's would count once per rank).
  void forget_episodes();

  // This process's window.
  LessonWindow window() const;
  // The lesson has run max_steps env steps by `step`.
  bool steps_spent(std::int64_t step) const;
  // The run is (lesson + 1) x max_share of its way (progress in [0, 1], run_progress()).
  bool share_spent(double progress) const;
  // Whether the lesson ends, given its (pooled) window and the two caps.
  LessonEnd ends(const LessonWindow& window, bool steps_spent, bool share_spent) const;
  // The next lesson begins at `step`, after `episodes` of the lead's episodes.
  void advance(std::int64_t step, std::int64_t episodes);

  const LessonState& state() const { return s_; }
  void restore(LessonState state) { s_ = std::move(state); }

 private:
  Curriculum c_;
  LessonState s_;
};

// "lesson 2/3 (spawn_angle_degrees = 20)", or "..., the target game)" for the last.
std::string lesson_text(const Config& config, std::size_t lesson);

}  // namespace dodge::run

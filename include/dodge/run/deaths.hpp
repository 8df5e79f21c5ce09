// Why the agent dies: for every hit of an evaluation, where the ball came from, how fast and how
// long it flew, whether the agent could have seen it in the frames it acted on, where the agent
// stood and what it did last. `dodge eval` prints the counts by sector, writes one JSON record per
// hit and draws them (a polar histogram of bearings and a heat map of the court).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "dodge/game/game.hpp"
#include "dodge/render/env_config.hpp"

namespace dodge::run {

// Bearings in degrees in (-180, 180]: 0 ahead, +90 to the right, 180 behind. "Ahead" is up the
// court (+y, towards the throwers of a level-2 fan at 0°): the player has no facing of its own.
inline constexpr int kHitSectors = 8;
const char* sector_name(int sector);  // 0 "front", 1 "front-right", ... 7 "front-left"
int sector_of(double bearing_degrees);

struct HitRecord {
  int episode = 0;  // 1-based, in finishing order (the numbering `dodge eval` prints)
  int game = 0, game_episode = 1;
  int step = 0;        // agent step of the hit (the episode's length)
  double bearing = 0;  // where the ball came from (against its horizontal velocity), to the court's ahead
  std::optional<double> bearing_to_motion;  // the same, to the agent's commanded velocity; none when standing
  double ball_speed = 0;                    // units/s at contact, 3D
  double ball_height = 0;     // z of the ball's centre at contact (the player's is 1 on the ground)
  double flight_seconds = 0;  // from launch to contact (± half an agent step)
  int frames_seen = 0;        // of the stacked observations the last action was chosen from
  std::vector<bool> in_view;  // per stacked observation, newest first: the ball was in it
  double wall_distance = 0;   // from the agent's centre to the nearest court edge (units)
  double x = 0, y = 0;        // the agent's position at contact
  std::vector<std::vector<float>> last_actions;  // the last few actions, oldest first (the fatal one last)
};

// Follows every game of an evaluation step by step (the games' own states, nothing drawn) and
// describes each hit. A ball's past is found by matching positions between steps: horizontal
// motion is straight apart from a 5 % slow-down at a bounce, and balls fly ~12 units apart.
class HitTracker {
 public:
  HitTracker(const render::EnvConfig& env, int n_envs, int action_dim);
  // The env started an episode (its state after the reset).
  void start(int env, const game::GameState& state);
  // The env took `action` and is now in `state`.
  void step(int env, const float* action, const game::GameState& state);
  // The hit that ended the env's episode (its last step() had a terminated state).
  HitRecord hit(int env) const;

  static constexpr int kActionsKept = 4;

 private:
  struct Seen {
    int step = 0;  // the episode's agent step this state followed
    std::vector<game::Ball> balls;
    game::Player player;
  };
  struct History {
    std::deque<Seen> states;  // newest last, at most capacity_
    std::deque<std::vector<float>> actions;
  };
  bool in_view(const Seen& s, const game::Ball& b) const;
  // The ball of `earlier` (one agent step before) that became `later`, or -1: none (it was launched since).
  int match(const Seen& earlier, const game::Ball& later) const;

  render::EnvConfig env_;
  game::GameParams params_;
  int stack_, action_dim_;
  double step_seconds_;
  std::size_t capacity_;  // states kept: the stack and a few seconds of flight
  std::vector<History> history_;
};

struct HitSummary {
  std::array<int, kHitSectors> by_sector{};
  int hits = 0;
};
HitSummary summarize_hits(const std::vector<HitRecord>& hits);
// "8 hits: front 0, front-right 1, ..." (the line `dodge eval` prints).
std::string hits_line(const HitSummary& summary);

// The picture: a polar histogram of bearings (16 bins) beside a heat map of where the agent stood
// on the court, with the counts by sector; written as PNG. Throws std::runtime_error on write errors.
void write_deaths_png(const std::string& path, const std::vector<HitRecord>& hits, int episodes,
                      const std::string& title);

}  // namespace dodge::run

#include "dodge/run/deaths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "dodge/game/constants.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/output/plot.hpp"

namespace dodge::run {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kFlightSecondsKept = 4.0;  // a ball leaves the removal box within ~2 s of its launch

double wrap_degrees(double d) {
  d = std::fmod(d, 360.0);
  if (d <= -180.0) d += 360.0;
  if (d > 180.0) d -= 360.0;
  return d;
}

// Bearing of the direction (dx, dy): 0 along +y, +90 along +x.
double bearing_of(double dx, double dy) {
  return wrap_degrees(std::atan2(dx, dy) * 180.0 / kPi);
}

}  // namespace

const char* sector_name(int sector) {
  static const char* names[kHitSectors] = {"front",  "front-right", "right", "behind-right",
                                           "behind", "behind-left", "left",  "front-left"};
  return names[((sector % kHitSectors) + kHitSectors) % kHitSectors];
}

int sector_of(double bearing_degrees) {
  const int s = static_cast<int>(std::floor((wrap_degrees(bearing_degrees) + 22.5) / 45.0));
  return ((s % kHitSectors) + kHitSectors) % kHitSectors;
}

HitTracker::HitTracker(const render::EnvConfig& env, int n_envs, int action_dim)
    : env_(env),
      params_(game::resolve(env.game)),
      stack_(std::max(1, env.frame_stack)),
      action_dim_(action_dim),
      step_seconds_(params_.dt * params_.frame_skip),
      history_(static_cast<std::size_t>(n_envs)) {
  capacity_ = static_cast<std::size_t>(stack_) + 2 +
              static_cast<std::size_t>(
                  std::ceil(std::max(kFlightSecondsKept, 2 * params_.flight_time) / step_seconds_));
}

void HitTracker::start(int env, const game::GameState& state) {
  History& h = history_[static_cast<std::size_t>(env)];
  h.states.clear();
  h.actions.clear();
  h.states.push_back(Seen{state.steps, state.balls, state.player});
}

void HitTracker::step(int env, const float* action, const game::GameState& state) {
  History& h = history_[static_cast<std::size_t>(env)];
  h.states.push_back(Seen{state.steps, state.balls, state.player});
  if (h.states.size() > capacity_) h.states.pop_front();
  h.actions.emplace_back(action, action + action_dim_);
  if (h.actions.size() > static_cast<std::size_t>(kActionsKept)) h.actions.pop_front();
}

int HitTracker::match(const Seen& earlier, const game::Ball& later) const {
  int best = -1;
  double best_d = 1e300;
  for (std::size_t i = 0; i < earlier.balls.size(); ++i) {
    const game::Ball& b = earlier.balls[i];
    // Where the earlier ball went in one agent step: a segment (a hit ends the step early).
    const double sx = b.vx * step_seconds_, sy = b.vy * step_seconds_;
    const double len2 = sx * sx + sy * sy;
    double t = len2 > 0 ? ((later.x - b.x) * sx + (later.y - b.y) * sy) / len2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const double dx = later.x - (b.x + t * sx), dy = later.y - (b.y + t * sy);
    const double d = std::sqrt(dx * dx + dy * dy);
    // A bounce slows the horizontal motion by 5 %: allow that share of the step, and a margin.
    const double tolerance = 0.25 + 0.06 * std::sqrt(len2);
    if (d < tolerance && d < best_d) best = static_cast<int>(i), best_d = d;
  }
  return best;
}

bool HitTracker::in_view(const Seen& s, const game::Ball& ball) const {
  if (params_.obs_mode == game::ObsMode::Topdown) {
    // Any pixel of the disc inside the window that the frame shows.
    const double half = env_.render.view_extent / 2 + game::kBallRadius;
    return std::abs(ball.x) < half && std::abs(ball.y) < half;
  }
  // The vector holds the kObsBallSlots nearest balls.
  auto d2 = [&](const game::Ball& b) {
    const double dx = b.x - s.player.x, dy = b.y - s.player.y, dz = b.z - s.player.z;
    return dx * dx + dy * dy + dz * dz;
  };
  const double mine = d2(ball);
  int nearer = 0;
  for (const auto& b : s.balls)
    if (d2(b) < mine) ++nearer;
  return nearer < game::kObsBallSlots;
}

HitRecord HitTracker::hit(int env) const {
  const History& h = history_[static_cast<std::size_t>(env)];
  if (h.states.empty()) throw std::logic_error("HitTracker::hit: no state for env " + std::to_string(env));
  const Seen& last = h.states.back();
  HitRecord r;
  r.step = last.step;
  const game::Player& p = last.player;
  r.x = p.x, r.y = p.y;
  r.wall_distance = std::min(game::kCourtHalfX - std::abs(p.x), game::kCourtHalfY - std::abs(p.y));
  for (const auto& a : h.actions) r.last_actions.push_back(a);
  r.in_view.assign(static_cast<std::size_t>(stack_), false);
  // The ball that hit: the nearest (the game ends the episode at the first contact).
  int index = -1;
  double nearest = 1e300;
  for (std::size_t i = 0; i < last.balls.size(); ++i) {
    const auto& b = last.balls[i];
    const double d = std::hypot(b.x - p.x, b.y - p.y, b.z - p.z);
    if (d < nearest) nearest = d, index = static_cast<int>(i);
  }
  if (index < 0) return r;  // not a hit (the caller asked for a truncated episode)
  const game::Ball& ball = last.balls[static_cast<std::size_t>(index)];
  r.ball_speed = std::sqrt(ball.vx * ball.vx + ball.vy * ball.vy + ball.vz * ball.vz);
  r.ball_height = ball.z;
  // From where it came: against its horizontal velocity; a ball falling straight down, from its side.
  r.bearing = std::hypot(ball.vx, ball.vy) > 1e-6 ? bearing_of(-ball.vx, -ball.vy)
                                                  : bearing_of(ball.x - p.x, ball.y - p.y);
  if (std::hypot(p.vx, p.vy) > 1e-6) r.bearing_to_motion = wrap_degrees(r.bearing - bearing_of(p.vx, p.vy));
  // Back through the kept states: which stacked observations showed it, and when it was launched.
  // The last action was chosen from the observations of the states before the last one.
  game::Ball traced = ball;
  const int n = static_cast<int>(h.states.size());
  int first_seen = n - 1;
  for (int i = n - 2; i >= 0; --i) {
    const Seen& s = h.states[static_cast<std::size_t>(i)];
    const int m = match(s, traced);
    if (m < 0) break;
    traced = s.balls[static_cast<std::size_t>(m)];
    first_seen = i;
    const int k = n - 2 - i;  // 0: the newest observation the last action saw
    if (k < stack_) r.in_view[static_cast<std::size_t>(k)] = in_view(s, traced);
  }
  // Places older than the episode repeat its first observation (as the frame stack does).
  if (n >= 2 && h.states.front().step == 0)
    for (int k = n - 1; k < stack_; ++k)
      r.in_view[static_cast<std::size_t>(k)] = r.in_view[static_cast<std::size_t>(n - 2)];
  r.frames_seen = static_cast<int>(std::count(r.in_view.begin(), r.in_view.end(), true));
  // Launched during the step that led to the state it was first seen in (half a step, on average),
  // and hit after the physics steps of the last agent step that ran (a hit ends the step early).
  double last_step = step_seconds_;
  if (n >= 2 && first_seen <= n - 2) {
    const Seen& before = h.states[static_cast<std::size_t>(n - 2)];
    const int m = match(before, ball);
    const double vh = std::hypot(ball.vx, ball.vy);
    if (m >= 0 && vh > 1e-6) {
      const auto& b = before.balls[static_cast<std::size_t>(m)];
      const double k = std::round(std::hypot(ball.x - b.x, ball.y - b.y) / (vh * params_.dt));
      last_step = std::clamp(k, 1.0, static_cast<double>(params_.frame_skip)) * params_.dt;
    }
  }
  const int whole_steps = std::max(0, r.step - h.states[static_cast<std::size_t>(first_seen)].step - 1);
  r.flight_seconds = whole_steps * step_seconds_ + last_step + (first_seen < n - 1 ? step_seconds_ / 2 : 0.0);
  return r;
}

HitSummary summarize_hits(const std::vector<HitRecord>& hits) {
  HitSummary s;
  for (const auto& h : hits) ++s.by_sector[static_cast<std::size_t>(sector_of(h.bearing))], ++s.hits;
  return s;
}

std::string hits_line(const HitSummary& s) {
  std::string line = fmt::format("{} hit{} by where the ball came from:", s.hits, s.hits == 1 ? "" : "s");
  for (int k = 0; k < kHitSectors; ++k)
    line += fmt::format("{} {} {}", k ? "," : "", sector_name(k), s.by_sector[static_cast<std::size_t>(k)]);
  return line;
}

namespace {

void fill_rect(output::Image& im, int x0, int y0, int x1, int y1, unsigned char r, unsigned char g,
               unsigned char b) {
  for (int y = std::max(0, y0); y < std::min(im.height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(im.width, x1); ++x) {
      auto* px = im.at(x, y);
      px[0] = r, px[1] = g, px[2] = b;
    }
}

void outline(output::Image& im, int x0, int y0, int x1, int y1, unsigned char c) {
  fill_rect(im, x0, y0, x1, y0 + 1, c, c, c);
  fill_rect(im, x0, y1 - 1, x1, y1, c, c, c);
  fill_rect(im, x0, y0, x0 + 1, y1, c, c, c);
  fill_rect(im, x1 - 1, y0, x1, y1, c, c, c);
}

}  // namespace

void write_deaths_png(const std::string& path, const std::vector<HitRecord>& hits, int episodes,
                      const std::string& title) {
  constexpr int kW = 960, kH = 560;
  output::Image im(kW, kH, 3);
  std::fill(im.pixels.begin(), im.pixels.end(), static_cast<std::uint8_t>(255));
  const HitSummary sum = summarize_hits(hits);
  output::draw_text(im, 16, 12, title, 0, 0, 0, 2);
  output::draw_text(im, 16, 36,
                    fmt::format("{} hits in {} episodes ({:.0f}% surviving)", sum.hits, episodes,
                                episodes ? 100.0 * (episodes - sum.hits) / episodes : 0.0),
                    60, 60, 60, 2);

  // Left: where the hits came from, 16 bins of 22.5 degrees, ahead (+y, up the court) at the top.
  constexpr int kBins = 16;
  std::array<int, kBins> bins{};
  for (const auto& h : hits) {
    const int b = static_cast<int>(std::floor((wrap_degrees(h.bearing) + 180.0 + 11.25) / 22.5)) % kBins;
    ++bins[static_cast<std::size_t>(b)];
  }
  const int most = std::max(1, *std::max_element(bins.begin(), bins.end()));
  const int cx = 250, cy = 290, radius = 170;
  for (int y = cy - radius; y <= cy + radius; ++y)
    for (int x = cx - radius; x <= cx + radius; ++x) {
      const double dx = x - cx, dy = cy - y, r = std::hypot(dx, dy);
      if (r > radius) continue;
      const double bearing = bearing_of(dx, dy);
      const int b = static_cast<int>(std::floor((bearing + 180.0 + 11.25) / 22.5)) % kBins;
      auto* px = im.at(x, y);
      if (r <= radius * static_cast<double>(bins[static_cast<std::size_t>(b)]) / most && r > 2) {
        px[0] = 200, px[1] = 40, px[2] = 40;
      } else {
        const bool ring = std::abs(r - radius) < 1.0 || std::abs(r - radius / 2.0) < 0.6;
        const unsigned char c = ring ? 170 : 245;
        px[0] = px[1] = px[2] = c;
      }
    }
  output::draw_text(im, cx - 24, cy - radius - 22, "ahead", 0, 0, 0, 2);
  output::draw_text(im, cx - 30, cy + radius + 8, "behind", 0, 0, 0, 2);
  output::draw_text(im, cx - radius - 52, cy - 7, "left", 0, 0, 0, 2);
  output::draw_text(im, cx + radius + 6, cy - 7, "right", 0, 0, 0, 2);
  output::draw_text(im, cx - radius, cy + radius + 34,
                    fmt::format("where the ball came from (outer ring: {} hits)", most), 60, 60, 60, 1);

  // Right: where the agent stood, 0.5-unit cells of the 10 x 8 court.
  constexpr double kPxPerUnit = 40.0;
  constexpr int kCellsX = 20, kCellsY = 16;
  const int ox = 520, oy = 130;  // the court's top-left corner (x = -5, y = +4)
  std::array<int, kCellsX * kCellsY> cells{};
  for (const auto& h : hits) {
    const int i = std::clamp(static_cast<int>((h.x + game::kCourtHalfX) / 0.5), 0, kCellsX - 1);
    const int j = std::clamp(static_cast<int>((game::kCourtHalfY - h.y) / 0.5), 0, kCellsY - 1);
    ++cells[static_cast<std::size_t>(j * kCellsX + i)];
  }
  const int densest = std::max(1, *std::max_element(cells.begin(), cells.end()));
  for (int j = 0; j < kCellsY; ++j)
    for (int i = 0; i < kCellsX; ++i) {
      // White to dark red; the square root keeps a cell of one hit visible beside one of fifty.
      const double f =
          std::sqrt(static_cast<double>(cells[static_cast<std::size_t>(j * kCellsX + i)]) / densest);
      const auto g = static_cast<unsigned char>(std::lround(240 * (1 - f)));
      const auto r = static_cast<unsigned char>(std::lround(240 - 40 * f));
      const int x0 = ox + static_cast<int>(i * 0.5 * kPxPerUnit),
                y0 = oy + static_cast<int>(j * 0.5 * kPxPerUnit);
      fill_rect(im, x0, y0, x0 + 20, y0 + 20, r, g, g);
    }
  outline(im, ox, oy, ox + 400, oy + 320, 80);
  fill_rect(im, ox + 199, oy, ox + 201, oy + 320, 200, 200, 200);  // the centre lines
  fill_rect(im, ox, oy + 159, ox + 400, oy + 161, 200, 200, 200);
  output::draw_text(im, ox, oy - 24, fmt::format("where the agent stood (darkest: {} hits)", densest), 60, 60,
                    60, 1);
  output::draw_text(im, ox + 150, oy - 12, "up the court (+y)", 100, 100, 100, 1);

  // The counts by sector, as the summary line says them.
  for (int k = 0; k < kHitSectors; ++k)
    output::draw_text(im, ox + (k / 4) * 215, oy + 336 + (k % 4) * 18,
                      fmt::format("{:<13}{:>3}", sector_name(k), sum.by_sector[static_cast<std::size_t>(k)]),
                      0, 0, 0, 2);
  output::write_png(path, im);
}

}  // namespace dodge::run

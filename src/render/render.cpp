#include "dodge/render/render.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dodge/game/constants.hpp"

namespace dodge::render {
namespace {

// Integer weights so the documented grey values come out exactly (0.299 etc. are not exact doubles).
constexpr std::uint8_t grey_of(Rgb c) {
  return static_cast<std::uint8_t>((299 * c.r + 587 * c.g + 114 * c.b) / 1000);
}

constexpr Rgb kColors[] = {kBackground, kCourtLine, kIndicatorColor, kBallColor, kPlayerColor};  // by Thing

Planes planes_of(Thing t, const RenderConfig& config) {
  if (!config.grayscale) {
    const Rgb c = config.rgb_palette == RgbPalette::Contrast ? contrast_rgb(t) : kColors[static_cast<int>(t)];
    return {{c.r, c.g, c.b}, 3};
  }
  const Rgb c = kColors[static_cast<int>(t)];
  return {{config.grey_palette == GreyPalette::Contrast ? contrast_grey(t) : grey_of(c), 0, 0}, 1};
}

// The pixel-centre rule: pixel i of a row with squared vertical distance dy2 is inside the disc.
// Tests use the same expression, so the spans below must agree with it bit for bit.
inline bool inside(int i, double cx, double dy2, double r2) {
  double dx = (i + 0.5) - cx;
  return dx * dx + dy2 <= r2;
}

// Calls fn(row, first, last) for every image row the disc touches, with the columns whose pixel
// centres lie within r of (cx, cy). The span comes from the circle equation and is then nudged
// by the exact test, so rounding in sqrt cannot add or drop a pixel.
template <class Fn>
void for_each_span(double cx, double cy, double r, int w, int h, Fn&& fn) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(r > 0)) return;
  double r2 = r * r;
  // One extra row each side absorbs rounding in the bounds; the dy2 test decides.
  double jlo = std::max(std::ceil(cy - r - 0.5) - 1.0, 0.0);
  double jhi = std::min(std::floor(cy + r - 0.5) + 1.0, static_cast<double>(h - 1));
  if (jlo > jhi) return;
  for (int j = static_cast<int>(jlo), j_end = static_cast<int>(jhi); j <= j_end; ++j) {
    double dy = (j + 0.5) - cy;
    double dy2 = dy * dy;
    if (dy2 > r2) continue;  // then dx*dx + dy2 > r2 for every dx
    double half = std::sqrt(r2 - dy2);
    double lo = std::min(std::max(std::ceil(cx - half - 0.5), 0.0), static_cast<double>(w));
    double hi = std::min(std::max(std::floor(cx + half - 0.5), -1.0), static_cast<double>(w - 1));
    int i0 = static_cast<int>(lo), i1 = static_cast<int>(hi);
    while (i0 <= i1 && !inside(i0, cx, dy2, r2)) ++i0;
    while (i0 > 0 && inside(i0 - 1, cx, dy2, r2)) --i0;
    while (i1 >= i0 && !inside(i1, cx, dy2, r2)) --i1;
    while (i1 < w - 1 && inside(i1 + 1, cx, dy2, r2)) ++i1;
    if (i0 <= i1) fn(j, i0, i1);
  }
}

// The pixel whose [i, i + 1) interval holds coordinate v, clamped into [0, n).
inline int pixel_index(double v, int n) {
  double f = std::floor(v);
  if (!(f >= 0)) return 0;
  if (f > n - 1) return n - 1;
  return static_cast<int>(f);
}

}  // namespace

std::uint8_t grey(Rgb c) {
  return grey_of(c);
}

std::uint8_t contrast_grey(Thing t) {
  static constexpr std::uint8_t kGrey[] = {0, 70, 110, 255, 170};  // by Thing
  return kGrey[static_cast<int>(t)];
}

const char* to_string(GreyPalette p) {
  return p == GreyPalette::Contrast ? "contrast" : "luma";
}

// The game colour scaled (truncating) so its brightest channel is the thing's contrast grey.
Rgb contrast_rgb(Thing t) {
  const Rgb c = kColors[static_cast<int>(t)];
  const int top = std::max({c.r, c.g, c.b}), to = contrast_grey(t);
  auto scale = [&](std::uint8_t v) { return static_cast<std::uint8_t>(v * to / top); };
  return {scale(c.r), scale(c.g), scale(c.b)};
}

const char* to_string(RgbPalette p) {
  return p == RgbPalette::Contrast ? "contrast" : "game";
}

FrameView dense_view(const RenderConfig& config, std::uint8_t* p) {
  return FrameView{p, static_cast<std::int64_t>(config.width) * config.height, config.width};
}

Renderer::Renderer(const RenderConfig& config) : config_(config) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("RenderConfig: " + what); };
  if (config.width < 16 || config.width > 512)
    bad("width = " + std::to_string(config.width) + " is not in [16, 512]");
  if (config.height < 16 || config.height > 512)
    bad("height = " + std::to_string(config.height) + " is not in [16, 512]");
  if (!(config.view_extent > 0) || !std::isfinite(config.view_extent))
    bad("view_extent = " + std::to_string(config.view_extent) + " must be > 0");
  if (!(config.min_radius_px >= 0) || !std::isfinite(config.min_radius_px))
    bad("min_radius_px = " + std::to_string(config.min_radius_px) + " must be >= 0");

  for (int t = 0; t < 5; ++t) planes_[t] = planes_of(static_cast<Thing>(t), config);
  scale_x_ = config.width / config.view_extent;
  scale_y_ = config.height / config.view_extent;
  court_x0_ = pixel_index(to_px(-game::kCourtHalfX), config.width);
  court_x1_ = pixel_index(to_px(game::kCourtHalfX), config.width);
  court_y0_ = pixel_index(to_py(game::kCourtHalfY), config.height);  // top row (+Y is up)
  court_y1_ = pixel_index(to_py(-game::kCourtHalfY), config.height);
}

// Multiply before dividing: with the usual integer-ish inputs the product is exact, so a value that
// lies exactly on a pixel boundary (a court line at 48 px, say) is not rounded into the pixel below.
double Renderer::to_px(double x) const {
  return (x + config_.view_extent / 2) * config_.width / config_.view_extent;
}
double Renderer::to_py(double y) const {
  return (config_.view_extent / 2 - y) * config_.height / config_.view_extent;
}

void Renderer::fill(const FrameView& dst, const Planes& p) const {
  const int w = config_.width, h = config_.height;
  for (int k = 0; k < p.n; ++k) {
    std::uint8_t* plane = dst.data + k * dst.channel_stride;
    if (dst.row_stride == w) {
      std::memset(plane, p.v[k], static_cast<std::size_t>(w) * h);
    } else {
      for (int j = 0; j < h; ++j) std::memset(plane + j * dst.row_stride, p.v[k], w);
    }
  }
}

void Renderer::disc(const FrameView& dst, double cx, double cy, double r_px, const Planes& p) const {
  for_each_span(cx, cy, r_px, config_.width, config_.height, [&](int j, int i0, int i1) {
    for (int k = 0; k < p.n; ++k)
      std::memset(dst.data + k * dst.channel_stride + j * dst.row_stride + i0, p.v[k], i1 - i0 + 1);
  });
}

// A marker of radius r_px on the border, where the ray from the image centre towards (cx, cy)
// leaves the image rectangle inset by r_px (so the whole marker stays inside). The limiting axis
// is set to the border exactly, so a marker straight above the centre lands on a known pixel set.
void Renderer::marker(const FrameView& dst, double cx, double cy, double r_px, const Planes& p) const {
  if (!std::isfinite(cx) || !std::isfinite(cy)) return;
  const double mx = config_.width / 2.0, my = config_.height / 2.0;
  const double hx = std::max(mx - r_px, 0.0), hy = std::max(my - r_px, 0.0);
  const double dx = cx - mx, dy = cy - my;
  const double tx = std::abs(dx) > hx ? hx / std::abs(dx) : 1.0;
  const double ty = std::abs(dy) > hy ? hy / std::abs(dy) : 1.0;
  const double t = std::min(tx, ty);
  double px = t == tx && tx < 1.0 ? mx + std::copysign(hx, dx) : mx + t * dx;
  double py = t == ty && ty < 1.0 ? my + std::copysign(hy, dy) : my + t * dy;
  px = std::clamp(px, mx - hx, mx + hx);
  py = std::clamp(py, my - hy, my + hy);
  disc(dst, px, py, r_px, p);
}

// Non-square images: the radius uses the x scale (W / E) on both axes, so discs stay round in
// pixels while positions use each axis's own scale.
void Renderer::object(const FrameView& dst, double x, double y, double world_radius, Thing t) const {
  const double cx = to_px(x), cy = to_py(y);
  const double r = std::max(world_radius * scale_x_, config_.min_radius_px);
  if (config_.offscreen_markers) {
    // Off-screen means the disc fills no pixel, so an object is never invisible with markers on.
    bool visible = false;
    for_each_span(cx, cy, r, config_.width, config_.height, [&](int, int, int) { visible = true; });
    if (!visible) {
      marker(dst, cx, cy, std::max(config_.min_radius_px, 1.5), planes(t));
      return;
    }
  }
  disc(dst, cx, cy, r, planes(t));
}

void Renderer::render(const game::GameState& state, const FrameView& dst) const {
  fill(dst, planes(Thing::Background));

  // Court boundary: only the segment between the corners.
  const Planes& line = planes(Thing::CourtLine);
  const int span = court_x1_ - court_x0_ + 1;
  for (int k = 0; k < line.n; ++k) {
    std::uint8_t* plane = dst.data + k * dst.channel_stride;
    std::memset(plane + court_y0_ * dst.row_stride + court_x0_, line.v[k], span);
    std::memset(plane + court_y1_ * dst.row_stride + court_x0_, line.v[k], span);
    for (int j = court_y0_; j <= court_y1_; ++j) {
      plane[j * dst.row_stride + court_x0_] = line.v[k];
      plane[j * dst.row_stride + court_x1_] = line.v[k];
    }
  }

  for (const game::Indicator& ind : state.indicators)
    object(dst, ind.ball.x, ind.ball.y, game::kIndicatorRadius, Thing::Indicator);
  for (const game::Ball& b : state.balls) object(dst, b.x, b.y, game::kBallRadius, Thing::Ball);
  object(dst, state.player.x, state.player.y, game::kPlayerRadius, Thing::Player);
}

void FrameSink::write(int env, const game::GameState& state) {
  renderer_.render(state, dense_view(renderer_.config(), base_ + env * stride_));
}

void render_batch(game::ThreadPool& pool, const Renderer& renderer, const game::GameState* const* states,
                  int n, std::uint8_t* dst) {
  const RenderConfig& config = renderer.config();
  const std::int64_t bytes = config.frame_bytes();
  pool.parallel_for(n, [&](int begin, int end) {
    for (int i = begin; i < end; ++i) renderer.render(*states[i], dense_view(config, dst + i * bytes));
  });
}

}  // namespace dodge::render

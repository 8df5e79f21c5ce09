// Top-down renderer (GAME.md section 9): one game state -> planar CHW uint8 pixels in caller
// memory. No allocation per frame; every per-config constant is computed once in Renderer.
#pragma once

#include <cstdint>

#include "dodge/game/game.hpp"
#include "dodge/game/vec_env.hpp"

namespace dodge::render {

// Grey values of grayscale frames. luma: Y of the RGB colours (GAME.md 9: background 31, court 182,
// thrower 158, ball 111, player 132; the player and a ball differ by 21 levels). contrast: one value
// per kind of object, far apart, the threat brightest (background 0, court 70, thrower 110, player
// 170, ball 255). RGB frames use rgb_palette.
enum class GreyPalette { Luma, Contrast };
const char* to_string(GreyPalette p);

// Colours of RGB frames. game: GAME.md 9's colours. contrast: the same hues at the contrast grey
// palette's brightness (the brightest channel is that value) on a black background, so that only the
// objects light the input, the ball most (background 0/0/0, court 70/70/17, thrower 110/60/0,
// player 33/100/170, ball 255/50/50). Grey frames use grey_palette.
enum class RgbPalette { Game, Contrast };
const char* to_string(RgbPalette p);

struct RenderConfig {
  int width = 84;                  // pixels, 16..512
  int height = 84;                 // pixels, 16..512
  bool grayscale = true;           // 1 plane (Y) instead of 3 (R, G, B)
  GreyPalette grey_palette = GreyPalette::Luma;  // grey values of grayscale frames
  RgbPalette rgb_palette = RgbPalette::Game;     // colours of RGB frames
  double view_extent = 24.0;       // world units shown across the image (x, y in [-E/2, E/2])
  double min_radius_px = 1.5;      // smallest disc radius drawn (pixels)
  bool offscreen_markers = false;  // draw objects outside the window as border markers

  int channels() const { return grayscale ? 1 : 3; }
  std::int64_t frame_bytes() const { return static_cast<std::int64_t>(channels()) * width * height; }
};

struct Rgb {
  std::uint8_t r, g, b;
};
inline constexpr Rgb kBackground{30, 30, 40};
inline constexpr Rgb kCourtLine{200, 200, 50};
inline constexpr Rgb kIndicatorColor{255, 140, 0};
inline constexpr Rgb kBallColor{255, 50, 50};
inline constexpr Rgb kPlayerColor{50, 150, 255};

// Grey value of a colour: trunc(0.299 R + 0.587 G + 0.114 B).
std::uint8_t grey(Rgb c);

// What the renderer draws, one value each in a palette.
enum class Thing { Background, CourtLine, Indicator, Ball, Player };
// The contrast palette's grey value of a thing.
std::uint8_t contrast_grey(Thing t);
// The contrast palette's colour of a thing in RGB frames.
Rgb contrast_rgb(Thing t);

// Per-plane byte values of one colour in a frame format (1 grey plane or 3 RGB planes).
struct Planes {
  std::uint8_t v[3];
  int n;
};

// Where a frame goes: plane c, row y, column x is at data[c * channel_stride + y * row_stride + x].
struct FrameView {
  std::uint8_t* data = nullptr;
  std::int64_t channel_stride = 0;  // bytes between planes
  std::int64_t row_stride = 0;      // bytes between rows
};

// A dense CHW frame at p: channel_stride = H * W, row_stride = W.
FrameView dense_view(const RenderConfig& config, std::uint8_t* p);

class Renderer {
 public:
  explicit Renderer(const RenderConfig& config);
  const RenderConfig& config() const { return config_; }

  // Draws the state (background, court lines, indicators, balls, player) into dst.
  void render(const game::GameState& state, const FrameView& dst) const;

  // World (x, y) to continuous pixel coordinates (pixel (i, j) covers [i, i+1) x [j, j+1)).
  double to_px(double x) const;
  double to_py(double y) const;

 private:
  const Planes& planes(Thing t) const { return planes_[static_cast<int>(t)]; }
  void fill(const FrameView& dst, const Planes& p) const;
  void disc(const FrameView& dst, double cx, double cy, double r_px, const Planes& p) const;
  void marker(const FrameView& dst, double cx, double cy, double r_px, const Planes& p) const;
  void object(const FrameView& dst, double x, double y, double world_radius, Thing t) const;

  RenderConfig config_;
  Planes planes_[5];          // by Thing, in this config's format and palette
  double scale_x_, scale_y_;  // pixels per world unit
  int court_x0_, court_x1_, court_y0_, court_y1_;  // pixel columns / rows of the court lines
};

// Renders env i into base + i * frame_stride (a dense CHW frame), for use as a VecEnv sink:
// frames land straight in a replay-buffer row or a staging buffer.
class FrameSink : public game::ObsSink {
 public:
  FrameSink(const RenderConfig& config, std::uint8_t* base, std::int64_t frame_stride)
      : renderer_(config), base_(base), stride_(frame_stride) {}
  void set_base(std::uint8_t* base) { base_ = base; }
  void write(int env, const game::GameState& state) override;

 private:
  Renderer renderer_;
  std::uint8_t* base_;
  std::int64_t stride_;
};

// Renders n states into n consecutive dense frames (dst + i * frame_bytes) over the pool.
void render_batch(game::ThreadPool& pool, const Renderer& renderer, const game::GameState* const* states,
                  int n, std::uint8_t* dst);

}  // namespace dodge::render

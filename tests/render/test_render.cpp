#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "dodge/game/constants.hpp"
#include "dodge/game/game.hpp"
#include "dodge/game/thread_pool.hpp"
#include "dodge/game/vec_env.hpp"
#include "dodge/render/render.hpp"

using dodge::game::Ball;
using dodge::game::GameState;
using dodge::game::Indicator;
using namespace dodge::render;

namespace {

using Pixels = std::set<std::pair<int, int>>;  // (column, row)

RenderConfig make_config(int w, int h, bool grayscale, double extent = 24.0, double min_r = 1.5,
                         bool markers = false) {
  RenderConfig c;
  c.width = w;
  c.height = h;
  c.grayscale = grayscale;
  c.view_extent = extent;
  c.min_radius_px = min_r;
  c.offscreen_markers = markers;
  return c;
}

// A state with only the player, parked far outside the window (draws nothing with markers off).
GameState empty_state() {
  GameState s;
  s.player.x = 1000;
  s.player.y = 1000;
  return s;
}

Ball ball_at(double x, double y) {
  Ball b;
  b.x = x;
  b.y = y;
  b.z = 1.0;
  return b;
}

Indicator indicator_at(double x, double y) {
  Indicator i;
  i.ball = ball_at(x, y);
  i.time_left = 0.3;
  return i;
}

// The palette tests' scene: the player at the centre, a ball at (2, 2), a thrower's mark at (-2, -2).
GameState one_of_each() {
  GameState s = empty_state();
  s.player.x = 0;
  s.player.y = 0;
  s.balls.push_back(ball_at(2, 2));
  s.indicators.push_back(indicator_at(-2, -2));
  return s;
}

struct Frame {
  RenderConfig config;
  std::vector<std::uint8_t> data;
  std::uint8_t at(int c, int x, int y) const {
    return data[static_cast<std::size_t>((c * config.height + y) * config.width + x)];
  }
  bool is(int x, int y, Rgb col) const {
    if (config.grayscale) return at(0, x, y) == grey(col);
    return at(0, x, y) == col.r && at(1, x, y) == col.g && at(2, x, y) == col.b;
  }
  Pixels where(Rgb col) const {
    Pixels p;
    for (int y = 0; y < config.height; ++y)
      for (int x = 0; x < config.width; ++x)
        if (is(x, y, col)) p.insert({x, y});
    return p;
  }
};

Frame render_frame(const RenderConfig& config, const GameState& state) {
  Frame f{config, std::vector<std::uint8_t>(static_cast<std::size_t>(config.frame_bytes()), 0)};
  Renderer(config).render(state, dense_view(config, f.data.data()));
  return f;
}

// Brute force over every pixel with the pixel-centre rule (same expression as GAME.md section 9).
Pixels brute_disc(double cx, double cy, double r, int w, int h) {
  Pixels p;
  for (int j = 0; j < h; ++j)
    for (int i = 0; i < w; ++i) {
      double dx = (i + 0.5) - cx, dy = (j + 0.5) - cy;
      if (dx * dx + dy * dy <= r * r) p.insert({i, j});
    }
  return p;
}

Pixels block(int x0, int x1, int y0, int y1) {
  Pixels p;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) p.insert({x, y});
  return p;
}

// Court pixels expected from line columns/rows (segment between the corners only).
Pixels court(int x0, int x1, int y0, int y1) {
  Pixels p;
  for (int x = x0; x <= x1; ++x) p.insert({x, y0}), p.insert({x, y1});
  for (int y = y0; y <= y1; ++y) p.insert({x0, y}), p.insert({x1, y});
  return p;
}

}  // namespace

TEST_CASE("grey values of the palette are exact", "[render]") {
  CHECK(grey(kBackground) == 31);
  CHECK(grey(kCourtLine) == 182);
  CHECK(grey(kIndicatorColor) == 158);
  CHECK(grey(kBallColor) == 111);
  CHECK(grey(kPlayerColor) == 132);

  // And in a rendered grey frame (84 x 84): each object apart from the others.
  GameState s = one_of_each();
  Frame f = render_frame(make_config(84, 84, true), s);
  CHECK(f.at(0, 0, 0) == 31);
  CHECK(f.at(0, 24, 40) == 182);                                                // x = -5 column
  CHECK(f.at(0, 42, 42) == 132);                                                // player at the centre
  CHECK(f.at(0, int(f.config.width * 14.0 / 24), int(84 * 10.0 / 24)) == 111);  // ball at (2, 2)
  CHECK(f.at(0, int(84 * 10.0 / 24), int(84 * 14.0 / 24)) == 158);              // indicator at (-2, -2)
}

TEST_CASE("the contrast grey palette: one value per kind of object, RGB frames unchanged", "[render]") {
  CHECK(contrast_grey(Thing::Background) == 0);
  CHECK(contrast_grey(Thing::CourtLine) == 70);
  CHECK(contrast_grey(Thing::Indicator) == 110);
  CHECK(contrast_grey(Thing::Player) == 170);
  CHECK(contrast_grey(Thing::Ball) == 255);

  GameState s = one_of_each();
  RenderConfig c = make_config(84, 84, true);
  c.grey_palette = GreyPalette::Contrast;
  Frame f = render_frame(c, s);
  CHECK(f.at(0, 0, 0) == 0);
  CHECK(f.at(0, 24, 40) == 70);
  CHECK(f.at(0, 42, 42) == 170);
  CHECK(f.at(0, int(84 * 14.0 / 24), int(84 * 10.0 / 24)) == 255);
  CHECK(f.at(0, int(84 * 10.0 / 24), int(84 * 14.0 / 24)) == 110);
  // Only the grey values differ: the same pixels are covered as with luma.
  Frame luma = render_frame(make_config(84, 84, true), s);
  REQUIRE(luma.data.size() == f.data.size());
  for (std::size_t i = 0; i < f.data.size(); ++i) CHECK((f.data[i] == 0) == (luma.data[i] == 31));

  // RGB frames keep their colours whatever the grey palette says.
  RenderConfig rgb = make_config(84, 84, false);
  RenderConfig rgb_contrast = rgb;
  rgb_contrast.grey_palette = GreyPalette::Contrast;
  CHECK(render_frame(rgb, s).data == render_frame(rgb_contrast, s).data);
}

TEST_CASE("the contrast RGB palette: the game's hues at the contrast greys, on black", "[render]") {
  GameState s = one_of_each();
  RenderConfig c = make_config(84, 84, false);
  c.rgb_palette = RgbPalette::Contrast;
  Frame f = render_frame(c, s);
  auto rgb_at = [](const Frame& fr, int x, int y) {
    return std::array<int, 3>{fr.at(0, x, y), fr.at(1, x, y), fr.at(2, x, y)};
  };
  const int near = int(84 * 10.0 / 24), far = int(84 * 14.0 / 24);  // pixels of world -2 / +2 and +2 / -2
  CHECK(rgb_at(f, 0, 0) == std::array<int, 3>{0, 0, 0});
  CHECK(rgb_at(f, 24, 40) == std::array<int, 3>{70, 70, 17});  // x = -5 column
  CHECK(rgb_at(f, 42, 42) == std::array<int, 3>{33, 100, 170});
  CHECK(rgb_at(f, far, near) == std::array<int, 3>{255, 50, 50});  // ball at (2, 2)
  CHECK(rgb_at(f, near, far) == std::array<int, 3>{110, 60, 0});   // indicator at (-2, -2)
  // The brightest channel of every colour is the thing's contrast grey.
  for (Thing t : {Thing::Background, Thing::CourtLine, Thing::Indicator, Thing::Ball, Thing::Player}) {
    Rgb k = contrast_rgb(t);
    CHECK(std::max({k.r, k.g, k.b}) == contrast_grey(t));
  }
  // The game palette draws GAME.md's colours on the same pixels, and grey frames ignore the key.
  Frame game = render_frame(make_config(84, 84, false), s);
  CHECK(rgb_at(game, 0, 0) == std::array<int, 3>{30, 30, 40});
  CHECK(rgb_at(game, 42, 42) == std::array<int, 3>{50, 150, 255});
  REQUIRE(game.data.size() == f.data.size());
  for (std::size_t i = 0; i < 84 * 84; ++i) CHECK((f.data[i] == 0) == (game.data[i] == 30));  // the R plane
  RenderConfig grey = make_config(84, 84, true), grey_rgb_contrast = grey;
  grey_rgb_contrast.rgb_palette = RgbPalette::Contrast;
  CHECK(render_frame(grey, s).data == render_frame(grey_rgb_contrast, s).data);
}

TEST_CASE("mapping follows GAME.md", "[render]") {
  Renderer r(make_config(84, 84, true));
  CHECK(r.to_px(0) == 42.0);
  CHECK(r.to_py(0) == 42.0);
  CHECK(r.to_px(1) == 45.5);
  CHECK(r.to_py(1) == 38.5);  // +Y is up
  CHECK(r.to_px(-12) == 0.0);
  CHECK(r.to_px(12) == 84.0);
  CHECK(r.to_py(12) == 0.0);
  CHECK(r.to_py(-12) == 84.0);
}

TEST_CASE("player at the origin lands on the centre pixels", "[render]") {
  SECTION("16 x 16: radius = min 1.5 px, a 2 x 2 block") {
    for (bool g : {true, false}) {
      GameState s = empty_state();
      s.player.x = s.player.y = 0;
      Frame f = render_frame(make_config(16, 16, g), s);
      CHECK(f.where(kPlayerColor) == block(7, 8, 7, 8));
      CHECK(f.is(7, 7, kPlayerColor));
    }
  }
  SECTION("84 x 84: radius 1.75 px, a 4 x 4 block without its corners") {
    for (bool g : {true, false}) {
      GameState s = empty_state();
      s.player.x = s.player.y = 0;
      Frame f = render_frame(make_config(84, 84, g), s);
      Pixels expected = block(40, 43, 40, 43);
      for (auto c : Pixels{{40, 40}, {43, 40}, {40, 43}, {43, 43}}) expected.erase(c);
      CHECK(f.where(kPlayerColor) == expected);
      if (!g) {
        CHECK(f.at(0, 42, 42) == 50);
        CHECK(f.at(1, 42, 42) == 150);
        CHECK(f.at(2, 42, 42) == 255);
      }
    }
  }
}

TEST_CASE("a ball covers exactly the pixels whose centres lie in its disc", "[render]") {
  SECTION("by hand, 84 x 84, ball at (1, 1) -> centre (45.5, 38.5)") {
    GameState s = empty_state();
    s.balls.push_back(ball_at(1, 1));
    // r = max(0.3 * 3.5, 1.5) = 1.5: the 3 x 3 block around the centre pixel (diagonals at 1.41).
    CHECK(render_frame(make_config(84, 84, false), s).where(kBallColor) == block(44, 46, 37, 39));
    // r = 1.05 without the minimum: the centre pixel and its four neighbours.
    Pixels plus = {{45, 38}, {44, 38}, {46, 38}, {45, 37}, {45, 39}};
    CHECK(render_frame(make_config(84, 84, false, 24.0, 0.0), s).where(kBallColor) == plus);
  }
  SECTION("brute force at 16 x 16 and 84 x 84") {
    for (int size : {16, 84}) {
      for (auto pos :
           std::vector<std::pair<double, double>>{{1.0, 1.0}, {-3.3, 2.7}, {0.123, -0.456}, {4.9, -3.9}}) {
        GameState s = empty_state();
        s.balls.push_back(ball_at(pos.first, pos.second));
        RenderConfig c = make_config(size, size, false);
        Renderer r(c);
        double rp = std::max(dodge::game::kBallRadius * size / 24.0, 1.5);
        Pixels expected = brute_disc(r.to_px(pos.first), r.to_py(pos.second), rp, size, size);
        CHECK(!expected.empty());
        CHECK(render_frame(c, s).where(kBallColor) == expected);
      }
    }
  }
}

TEST_CASE("disc row spans equal the pixel-centre test", "[render]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> pos(-14.0, 14.0), rad(0.0, 9.0), unit(0.0, 1.0);
  std::uniform_int_distribution<int> size(16, 64);
  int checked = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    RenderConfig c = make_config(size(rng), size(rng), false, 24.0, rad(rng));
    Renderer r(c);
    double x = pos(rng), y = pos(rng);
    if (trial % 3 == 0) {
      // Centres on a quarter-pixel grid and radii that hit pixel centres exactly: the tie cases.
      x = std::floor(r.to_px(x) * 4) / 4 * 24.0 / c.width - 12.0;
      y = 12.0 - std::floor(r.to_py(y) * 4) / 4 * 24.0 / c.height;
      c.min_radius_px = std::sqrt(std::floor(unit(rng) * 40) / 4);
      r = Renderer(c);
    }
    GameState s = empty_state();
    s.balls.push_back(ball_at(x, y));
    double rp = std::max(dodge::game::kBallRadius * c.width / 24.0, c.min_radius_px);
    Pixels expected = brute_disc(r.to_px(x), r.to_py(y), rp, c.width, c.height);
    Pixels got = render_frame(c, s).where(kBallColor);
    REQUIRE(got == expected);
    checked += !expected.empty();
  }
  CHECK(checked > 500);
}

TEST_CASE("court lines sit on the pixels containing x = +-5, y = +-4", "[render]") {
  SECTION("84 x 84: columns 24 and 59 (24.5, 59.5), rows 28 and 56") {
    Frame f = render_frame(make_config(84, 84, false), empty_state());
    CHECK(f.where(kCourtLine) == court(24, 59, 28, 56));
    CHECK(f.is(24, 27, kBackground));  // the lines stop at the corners
    CHECK(f.is(23, 28, kBackground));
    CHECK(f.is(60, 56, kBackground));
  }
  SECTION("256 x 256: 74.67 -> 74, 181.33 -> 181, 85.33 -> 85, 170.67 -> 170") {
    Frame f = render_frame(make_config(256, 256, true), empty_state());
    CHECK(f.where(kCourtLine) == court(74, 181, 85, 170));
  }
  SECTION("48 x 48: lines exactly on pixel boundaries take the pixel to their right / below") {
    Frame f = render_frame(make_config(48, 48, true), empty_state());
    CHECK(f.where(kCourtLine) == court(14, 34, 16, 32));
  }
  SECTION("a window smaller than the court clamps the lines into the image") {
    Frame f = render_frame(make_config(16, 16, true, 8.0), empty_state());
    CHECK(f.where(kCourtLine) == court(0, 15, 0, 15));
  }
}

TEST_CASE("draw order: indicator, then ball, then player", "[render]") {
  for (bool g : {true, false}) {
    RenderConfig c = make_config(84, 84, g);
    SECTION(g ? "grey: player over ball at the same position" : "rgb: player over ball") {
      GameState s = empty_state();
      s.player.x = s.player.y = 0;
      s.balls.push_back(ball_at(0, 0));
      Frame f = render_frame(c, s);
      CHECK(f.is(42, 42, kPlayerColor));
      CHECK(f.where(kBallColor).empty());  // the ball (r 1.5) is inside the player (r 1.75)
    }
    SECTION(g ? "grey: ball over indicator" : "rgb: ball over indicator") {
      GameState s = empty_state();
      s.indicators.push_back(indicator_at(1, 1));
      s.balls.push_back(ball_at(1, 1));
      Frame f = render_frame(c, s);
      CHECK(f.is(45, 38, kBallColor));
      CHECK(f.where(kIndicatorColor).empty());
    }
    SECTION(g ? "grey: overlapping discs" : "rgb: overlapping discs") {
      // Ball at pixel centre (45.5, 38.5), player 0.6 units (2.1 px) to its right: they share column 46.
      GameState s = empty_state();
      s.balls.push_back(ball_at(1, 1));
      s.player.x = 1.6;
      s.player.y = 1;
      Frame f = render_frame(c, s);
      Renderer r(c);
      Pixels player = brute_disc(r.to_px(1.6), r.to_py(1), 1.75, 84, 84);
      Pixels ball = brute_disc(r.to_px(1), r.to_py(1), 1.5, 84, 84);
      Pixels ball_visible;
      for (auto p : ball)
        if (!player.count(p)) ball_visible.insert(p);
      REQUIRE(ball_visible.size() < ball.size());  // they do overlap
      CHECK(f.where(kPlayerColor) == player);
      CHECK(f.where(kBallColor) == ball_visible);
    }
  }
}

TEST_CASE("objects outside the window: nothing, or a border marker", "[render]") {
  GameState base = empty_state();
  GameState s = base;
  s.indicators.push_back(indicator_at(0, 20));  // above the window (py = -28)
  s.balls.push_back(ball_at(-20, 0));           // left of it (px = -28)

  SECTION("markers off: identical to the frame without them") {
    RenderConfig c = make_config(84, 84, false);
    CHECK(render_frame(c, s).data == render_frame(c, base).data);
  }
  SECTION("markers on: a radius-1.5 disc on the border in the object's direction") {
    RenderConfig c = make_config(84, 84, false, 24.0, 1.5, true);
    Frame f = render_frame(c, s);
    CHECK(f.where(kIndicatorColor) == brute_disc(42.0, 1.5, 1.5, 84, 84));
    CHECK(f.where(kBallColor) == brute_disc(1.5, 42.0, 1.5, 84, 84));
    Pixels by_hand = block(0, 2, 41, 42);  // centre (1.5, 42): column 1 reaches rows 40 and 43 (d = 1.5)
    by_hand.insert({1, 40});
    by_hand.insert({1, 43});
    CHECK(f.where(kBallColor) == by_hand);
  }
  SECTION("markers on, diagonal: the corners") {
    RenderConfig c = make_config(84, 84, false, 24.0, 1.5, true);
    GameState d = base;  // the parked player at (1000, 1000) marks the top-right corner
    d.balls.push_back(ball_at(-30, -30));
    Frame f = render_frame(c, d);
    CHECK(f.where(kBallColor) == brute_disc(1.5, 82.5, 1.5, 84, 84));
    CHECK(f.where(kPlayerColor) == brute_disc(82.5, 1.5, 1.5, 84, 84));
  }
  SECTION("markers on, a larger minimum radius sizes the marker") {
    RenderConfig c = make_config(84, 84, false, 24.0, 3.0, true);
    GameState d = base;
    d.balls.push_back(ball_at(-20, 0));
    CHECK(render_frame(c, d).where(kBallColor) == brute_disc(3.0, 42.0, 3.0, 84, 84));
  }
  SECTION("partly inside: drawn normally and clipped, with or without markers") {
    GameState d = base;
    d.balls.push_back(ball_at(-12, 0));  // centre on the left edge, px = 0
    Pixels expected = brute_disc(0.0, 42.0, 1.5, 84, 84);
    CHECK(expected == Pixels{{0, 41}, {0, 42}});  // half a disc
    for (bool markers : {false, true}) {
      RenderConfig c = make_config(84, 84, false, 24.0, 1.5, markers);
      CHECK(render_frame(c, d).where(kBallColor) == expected);
    }
  }
}

TEST_CASE("non-square images", "[render]") {
  SECTION("32 x 20: mapping, court lines, player") {
    RenderConfig c = make_config(32, 20, false);
    Renderer r(c);
    CHECK(r.to_px(1) == Approx(13.0 * 32 / 24));
    CHECK(r.to_py(1) == Approx(11.0 * 20 / 24));
    GameState s = empty_state();
    s.player.x = s.player.y = 1;
    Frame f = render_frame(c, s);
    // 7*32/24 = 9.33, 17*32/24 = 22.67, 8*20/24 = 6.67, 16*20/24 = 13.33
    Pixels expected_court = court(9, 22, 6, 13);
    Pixels player = brute_disc(r.to_px(1), r.to_py(1), 1.5, 32, 20);
    Pixels by_hand = block(16, 18, 8, 9);  // centre (17.33, 9.17), r 1.5
    by_hand.insert({17, 10});
    CHECK(player == by_hand);
    CHECK(f.where(kPlayerColor) == player);
    for (auto p : player) expected_court.erase(p);
    CHECK(f.where(kCourtLine) == expected_court);
  }
  SECTION("20 x 48: mapping and court lines") {
    RenderConfig c = make_config(20, 48, true);
    Renderer r(c);
    CHECK(r.to_px(-5) == Approx(7.0 * 20 / 24));
    CHECK(r.to_py(-4) == 32.0);
    // 5.83 -> 5, 14.17 -> 14, 16 -> 16, 32 -> 32
    CHECK(render_frame(c, empty_state()).where(kCourtLine) == court(5, 14, 16, 32));
  }
  SECTION("20 x 48: the radius uses the x scale on both axes") {
    RenderConfig c = make_config(20, 48, false, 4.0, 0.0);  // x scale 5 px/unit, y scale 12
    GameState s = empty_state();
    s.player.x = s.player.y = 0;  // centre (10, 24), radius 0.5 * 5 = 2.5 px
    Pixels got = render_frame(c, s).where(kPlayerColor);
    CHECK(got == brute_disc(10.0, 24.0, 2.5, 20, 48));
    int top = 48, bottom = -1;
    for (auto p : got) top = std::min(top, p.second), bottom = std::max(bottom, p.second);
    CHECK(bottom - top + 1 == 4);  // round in pixels, not 12 px tall
  }
}

TEST_CASE("strided views leave padding and guard bytes untouched", "[render]") {
  for (bool g : {true, false}) {
    RenderConfig c = make_config(20, 16, g);
    const std::size_t guard = 64;
    const int row_stride = c.width + 7;
    const std::int64_t channel_stride = static_cast<std::int64_t>(c.height) * row_stride + 13;
    const std::size_t body = static_cast<std::size_t>(channel_stride * c.channels());
    std::vector<std::uint8_t> buf(guard + body + guard, 0xAB);

    GameState s = empty_state();
    s.player.x = -11.9;  // partly off the left edge
    s.player.y = 0;
    s.balls.push_back(ball_at(11.9, 11.9));  // partly off the top-right corner
    s.indicators.push_back(indicator_at(3, -3));
    Renderer r(c);
    r.render(s, FrameView{buf.data() + guard, channel_stride, row_stride});

    Frame dense = render_frame(c, s);
    for (std::size_t i = 0; i < buf.size(); ++i) {
      bool pixel = false;
      if (i >= guard && i < guard + body) {
        std::int64_t o = static_cast<std::int64_t>(i - guard);
        int ch = static_cast<int>(o / channel_stride);
        std::int64_t in = o % channel_stride;
        int y = static_cast<int>(in / row_stride), x = static_cast<int>(in % row_stride);
        if (y < c.height && x < c.width) {
          pixel = true;
          REQUIRE(buf[i] == dense.at(ch, x, y));
        }
      }
      if (!pixel) REQUIRE(buf[i] == 0xAB);
    }
  }
}

TEST_CASE("render_batch equals single renders byte for byte", "[render]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-14.0, 14.0);
  std::vector<GameState> states(9);
  for (auto& s : states) {
    s.player.x = u(rng) / 2;
    s.player.y = u(rng) / 2;
    for (int b = 0; b < 4; ++b) s.balls.push_back(ball_at(u(rng), u(rng)));
    s.indicators.push_back(indicator_at(u(rng), u(rng)));
  }
  std::vector<const GameState*> ptrs;
  for (auto& s : states) ptrs.push_back(&s);

  for (bool g : {true, false}) {
    RenderConfig c = make_config(36, 28, g, 24.0, 1.5, true);
    Renderer r(c);
    dodge::game::ThreadPool pool(2);
    const auto fb = static_cast<std::size_t>(c.frame_bytes());
    std::vector<std::uint8_t> batch(fb * states.size(), 0), single(fb * states.size(), 1);
    render_batch(pool, r, ptrs.data(), static_cast<int>(ptrs.size()), batch.data());
    for (std::size_t i = 0; i < states.size(); ++i)
      r.render(states[i], dense_view(c, single.data() + i * fb));
    CHECK(batch == single);
  }
}

TEST_CASE("FrameSink as a VecEnv sink matches rendering the states afterwards", "[render]") {
  dodge::game::GameConfig gc;
  gc.observation_mode = dodge::game::ObsMode::Topdown;
  gc.thrower_indicator = dodge::game::ThrowerIndicator::On;
  gc.max_episode_steps = 40;  // episode ends (and auto-resets) inside the run
  const int n = 3;
  dodge::game::VecEnv env(gc, n, 2, 11);
  RenderConfig c = make_config(32, 32, false, 24.0, 1.5, true);
  const std::int64_t stride = c.frame_bytes() + 5;  // rows of a wider buffer
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(stride * n), 0);
  FrameSink sink(c, buf.data(), stride);
  Renderer r(c);

  auto check = [&] {
    std::vector<std::uint8_t> expected(static_cast<std::size_t>(c.frame_bytes()));
    for (int e = 0; e < n; ++e) {
      r.render(env.state(e), dense_view(c, expected.data()));
      REQUIRE(std::equal(expected.begin(), expected.end(), buf.begin() + e * stride));
    }
  };
  env.reset(&sink);
  check();
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> a(-1.0f, 1.0f);
  std::vector<float> actions(static_cast<std::size_t>(n * env.action_dim()));
  dodge::game::StepOutputs out;
  for (int t = 0; t < 60; ++t) {
    for (float& v : actions) v = a(rng);
    env.step(actions.data(), out, &sink);
    check();
  }
}

TEST_CASE("Renderer rejects configs outside its ranges", "[render]") {
  CHECK_THROWS_AS(Renderer(make_config(15, 84, true)), std::invalid_argument);
  CHECK_THROWS_AS(Renderer(make_config(84, 513, true)), std::invalid_argument);
  CHECK_THROWS_AS(Renderer(make_config(84, 84, true, 0.0)), std::invalid_argument);
  CHECK_THROWS_AS(Renderer(make_config(84, 84, true, 24.0, -1.0)), std::invalid_argument);
}

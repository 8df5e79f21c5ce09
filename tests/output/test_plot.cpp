// Learning-curve pictures: size, series colours, degenerate data, and the bitmap font.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include "test_util.hpp"
#include "dodge/output/plot.hpp"

using namespace dodge::output;
namespace fs = std::filesystem;

namespace {


Series make_series(const std::string& label, unsigned char r, unsigned char g, unsigned char b) {
  Series s;
  s.label = label;
  s.r = r;
  s.g = g;
  s.b = b;
  return s;
}

int count_colour(const Image& img, int r, int g, int b) {
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      n += p[0] == r && p[1] == g && p[2] == b;
    }
  return n;
}

int count_non_white(const Image& img) {
  int n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      n += !(p[0] == 255 && p[1] == 255 && p[2] == 255);
    }
  return n;
}

}  // namespace

TEST_CASE("a learning curve PNG has the requested size and every series' colour", "[output][plot]") {
  TempDir dir("curve");
  Series a = make_series("train return", 220, 30, 30);
  Series b = make_series("eval return", 30, 60, 220);
  b.markers = true;
  for (int i = 0; i <= 100; ++i) {
    a.x.push_back(i * 20000.0);
    a.y.push_back(-21.0 + 0.3 * i + 2.0 * std::sin(i * 0.7));
    if (i % 10 == 0) {
      b.x.push_back(i * 20000.0);
      b.y.push_back(-20.0 + 0.35 * i);
    }
  }
  PlotOptions opt;
  opt.width = 640;
  opt.height = 360;
  opt.title = "Dodgeball PPO";
  opt.x_label = "environment steps";
  opt.y_label = "return";
  const std::string path = (dir.path / "curve.png").string();
  write_learning_curve(path, {a, b}, opt);

  const Image img = read_png(path);
  CHECK(img.width == 640);
  CHECK(img.height == 360);
  REQUIRE(img.channels == 3);
  CHECK(img.at(0, 0)[0] == 255);  // white background in the corner
  // Far more pixels of each colour than a legend swatch holds: the lines themselves are there.
  CHECK(count_colour(img, 220, 30, 30) > 600);
  CHECK(count_colour(img, 30, 60, 220) > 300);
  CHECK(count_colour(img, 0, 0, 0) > 200);  // title, tick labels and legend text
}

TEST_CASE("a spread band is a light tint of its series between lo and hi, and empty series get no legend",
          "[output][plot]") {
  Series m = make_series("mean of seeds", 200, 40, 40);
  m.x = {0, 100};
  m.y = {50, 50};
  m.lo = {0, 0};
  m.hi = {100, 100};
  PlotOptions opt;
  opt.width = 400;
  opt.height = 300;
  const Image img = plot_lines({m}, opt);
  // The tint: 255 - (255 - c) / 4 per channel.
  const int tr = 255 - (255 - 200) / 4, tg = 255 - (255 - 40) / 4;
  const int band = count_colour(img, tr, tg, tg);
  // The band fills most of the plot area (lo..hi is the whole y range), the line lies over it.
  CHECK(band > 400 * 300 / 3);
  CHECK(count_colour(img, 200, 40, 40) > 200);
  // Without a band, no tint.
  Series plain = m;
  plain.lo.clear();
  plain.hi.clear();
  CHECK(count_colour(plot_lines({plain}, opt), tr, tg, tg) == 0);
  // A series without points has no legend entry: its colour appears nowhere (not even a swatch).
  Series none = make_series("evaluation", 10, 200, 10);
  CHECK(count_colour(plot_lines({plain, none}, opt), 10, 200, 10) == 0);
  none.x = {50};
  none.y = {60};
  CHECK(count_colour(plot_lines({plain, none}, opt), 10, 200, 10) > 0);
}

TEST_CASE("degenerate data plots without trouble", "[output][plot]") {
  PlotOptions opt;
  opt.width = 300;
  opt.height = 200;

  SECTION("no series at all still draws axes") {
    const Image img = plot_lines({}, opt);
    CHECK(img.width == 300);
    CHECK(img.height == 200);
    CHECK(count_non_white(img) > 100);
  }
  SECTION("an empty series") {
    const Image img = plot_lines({make_series("empty", 200, 0, 0)}, opt);
    CHECK(count_non_white(img) > 100);
  }
  SECTION("a single point is drawn as a dot") {
    Series s = make_series("", 0, 150, 0);
    s.x = {5.0};
    s.y = {3.0};
    const Image img = plot_lines({s}, opt);
    CHECK(count_colour(img, 0, 150, 0) >= 9);
  }
  SECTION("a constant series is one horizontal line") {
    Series s = make_series("", 0, 0, 200);
    s.x = {0, 1, 2, 3, 4};
    s.y = {7, 7, 7, 7, 7};
    const Image img = plot_lines({s}, opt);
    int rows = 0, min_x = img.width, max_x = -1;
    for (int y = 0; y < img.height; ++y) {
      bool any = false;
      for (int x = 0; x < img.width; ++x) {
        const std::uint8_t* p = img.at(x, y);
        if (p[0] == 0 && p[1] == 0 && p[2] == 200) {
          any = true;
          min_x = std::min(min_x, x);
          max_x = std::max(max_x, x);
        }
      }
      rows += any;
    }
    CHECK(rows == 2);                      // a 2 px line
    CHECK(max_x - min_x > img.width / 2);  // spanning the plot
  }
  SECTION("non-finite values are skipped") {
    Series s = make_series("nan", 10, 20, 30);
    s.x = {0, 1, 2, 3};
    s.y = {1, std::numeric_limits<double>::quiet_NaN(), 2, std::numeric_limits<double>::infinity()};
    const Image img = plot_lines({s}, opt);
    CHECK(count_colour(img, 10, 20, 30) > 0);
  }
  SECTION("tiny and huge ranges") {
    Series s = make_series("tiny", 1, 2, 3);
    s.x = {1e9, 1e9 + 1};
    s.y = {1e-12, 2e-12};
    CHECK(count_colour(plot_lines({s}, opt), 1, 2, 3) > 0);
    opt.width = 24;
    opt.height = 12;
    const Image small = plot_lines({s}, opt);
    CHECK(small.width == 24);
    CHECK(small.height == 12);
  }
  SECTION("a bad size throws") {
    opt.width = 0;
    CHECK_THROWS(plot_lines({}, opt));
  }
}

TEST_CASE("draw_text puts glyph pixels inside the expected box", "[output][plot]") {
  Image img(60, 30, 3);
  std::fill(img.pixels.begin(), img.pixels.end(), std::uint8_t{255});
  draw_text(img, 3, 4, "AB", 10, 20, 30, 2);
  // Two glyphs at scale 2: 5x7 cells, 6 px advance -> box x in [3, 3 + 22), y in [4, 4 + 14).
  int inside = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = img.at(x, y);
      const bool ink = p[0] == 10 && p[1] == 20 && p[2] == 30;
      const bool white = p[0] == 255 && p[1] == 255 && p[2] == 255;
      REQUIRE((ink || white));
      if (ink) {
        INFO("ink at " << x << "," << y);
        CHECK(x >= 3);
        CHECK(x < 3 + 22);
        CHECK(y >= 4);
        CHECK(y < 4 + 14);
        ++inside;
      }
    }
  CHECK(inside > 40);
  // 'A' has an empty top-left corner and a filled top second column; 'B' starts with a full column.
  CHECK(img.at(3, 4)[0] == 255);
  CHECK(img.at(5, 4)[0] == 10);
  CHECK(img.at(6, 5)[0] == 10);
  for (int y = 4; y < 18; ++y) CHECK(img.at(15, y)[0] == 10);
  // The blank column between glyphs stays white.
  for (int y = 0; y < img.height; ++y) CHECK(img.at(13, y)[0] == 255);

  // Text running off the image is clipped, not a crash; unknown characters draw as '?'.
  draw_text(img, 55, 25, "clip\x01", 0, 0, 0, 3);
  draw_text(img, -10, -10, "neg", 0, 0, 0, 1);
}

// Learning curves drawn straight into an RGB buffer: nice-number axes, a 5x7 bitmap font,
// 2 px lines and a legend placed in the emptiest corner of the plot area.
#include "dodge/output/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace dodge::output {

namespace {

// 5x7 font for ASCII 32..126: five column bytes per glyph, bit 0 is the top row.
constexpr unsigned char kFont[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00},  // ' '
    {0x00, 0x00, 0x5F, 0x00, 0x00},  // !
    {0x00, 0x07, 0x00, 0x07, 0x00},  // "
    {0x14, 0x7F, 0x14, 0x7F, 0x14},  // #
    {0x24, 0x2A, 0x7F, 0x2A, 0x12},  // $
    {0x23, 0x13, 0x08, 0x64, 0x62},  // %
    {0x36, 0x49, 0x55, 0x22, 0x50},  // &
    {0x00, 0x05, 0x03, 0x00, 0x00},  // '
    {0x00, 0x1C, 0x22, 0x41, 0x00},  // (
    {0x00, 0x41, 0x22, 0x1C, 0x00},  // )
    {0x08, 0x2A, 0x1C, 0x2A, 0x08},  // *
    {0x08, 0x08, 0x3E, 0x08, 0x08},  // +
    {0x00, 0x50, 0x30, 0x00, 0x00},  // ,
    {0x08, 0x08, 0x08, 0x08, 0x08},  // -
    {0x00, 0x60, 0x60, 0x00, 0x00},  // .
    {0x20, 0x10, 0x08, 0x04, 0x02},  // /
    {0x3E, 0x51, 0x49, 0x45, 0x3E},  // 0
    {0x00, 0x42, 0x7F, 0x40, 0x00},  // 1
    {0x42, 0x61, 0x51, 0x49, 0x46},  // 2
    {0x21, 0x41, 0x45, 0x4B, 0x31},  // 3
    {0x18, 0x14, 0x12, 0x7F, 0x10},  // 4
    {0x27, 0x45, 0x45, 0x45, 0x39},  // 5
    {0x3C, 0x4A, 0x49, 0x49, 0x30},  // 6
    {0x01, 0x71, 0x09, 0x05, 0x03},  // 7
    {0x36, 0x49, 0x49, 0x49, 0x36},  // 8
    {0x06, 0x49, 0x49, 0x29, 0x1E},  // 9
    {0x00, 0x36, 0x36, 0x00, 0x00},  // :
    {0x00, 0x56, 0x36, 0x00, 0x00},  // ;
    {0x08, 0x14, 0x22, 0x41, 0x00},  // <
    {0x14, 0x14, 0x14, 0x14, 0x14},  // =
    {0x00, 0x41, 0x22, 0x14, 0x08},  // >
    {0x02, 0x01, 0x51, 0x09, 0x06},  // ?
    {0x32, 0x49, 0x79, 0x41, 0x3E},  // @
    {0x7E, 0x11, 0x11, 0x11, 0x7E},  // A
    {0x7F, 0x49, 0x49, 0x49, 0x36},  // B
    {0x3E, 0x41, 0x41, 0x41, 0x22},  // C
    {0x7F, 0x41, 0x41, 0x22, 0x1C},  // D
    {0x7F, 0x49, 0x49, 0x49, 0x41},  // E
    {0x7F, 0x09, 0x09, 0x09, 0x01},  // F
    {0x3E, 0x41, 0x49, 0x49, 0x7A},  // G
    {0x7F, 0x08, 0x08, 0x08, 0x7F},  // H
    {0x00, 0x41, 0x7F, 0x41, 0x00},  // I
    {0x20, 0x40, 0x41, 0x3F, 0x01},  // J
    {0x7F, 0x08, 0x14, 0x22, 0x41},  // K
    {0x7F, 0x40, 0x40, 0x40, 0x40},  // L
    {0x7F, 0x02, 0x0C, 0x02, 0x7F},  // M
    {0x7F, 0x04, 0x08, 0x10, 0x7F},  // N
    {0x3E, 0x41, 0x41, 0x41, 0x3E},  // O
    {0x7F, 0x09, 0x09, 0x09, 0x06},  // P
    {0x3E, 0x41, 0x51, 0x21, 0x5E},  // Q
    {0x7F, 0x09, 0x19, 0x29, 0x46},  // R
    {0x46, 0x49, 0x49, 0x49, 0x31},  // S
    {0x01, 0x01, 0x7F, 0x01, 0x01},  // T
    {0x3F, 0x40, 0x40, 0x40, 0x3F},  // U
    {0x1F, 0x20, 0x40, 0x20, 0x1F},  // V
    {0x3F, 0x40, 0x38, 0x40, 0x3F},  // W
    {0x63, 0x14, 0x08, 0x14, 0x63},  // X
    {0x07, 0x08, 0x70, 0x08, 0x07},  // Y
    {0x61, 0x51, 0x49, 0x45, 0x43},  // Z
    {0x00, 0x7F, 0x41, 0x41, 0x00},  // [
    {0x02, 0x04, 0x08, 0x10, 0x20},  // backslash
    {0x00, 0x41, 0x41, 0x7F, 0x00},  // ]
    {0x04, 0x02, 0x01, 0x02, 0x04},  // ^
    {0x40, 0x40, 0x40, 0x40, 0x40},  // _
    {0x00, 0x01, 0x02, 0x04, 0x00},  // `
    {0x20, 0x54, 0x54, 0x54, 0x78},  // a
    {0x7F, 0x48, 0x44, 0x44, 0x38},  // b
    {0x38, 0x44, 0x44, 0x44, 0x20},  // c
    {0x38, 0x44, 0x44, 0x48, 0x7F},  // d
    {0x38, 0x54, 0x54, 0x54, 0x18},  // e
    {0x08, 0x7E, 0x09, 0x01, 0x02},  // f
    {0x0C, 0x52, 0x52, 0x52, 0x3E},  // g
    {0x7F, 0x08, 0x04, 0x04, 0x78},  // h
    {0x00, 0x44, 0x7D, 0x40, 0x00},  // i
    {0x20, 0x40, 0x44, 0x3D, 0x00},  // j
    {0x7F, 0x10, 0x28, 0x44, 0x00},  // k
    {0x00, 0x41, 0x7F, 0x40, 0x00},  // l
    {0x7C, 0x04, 0x18, 0x04, 0x78},  // m
    {0x7C, 0x08, 0x04, 0x04, 0x78},  // n
    {0x38, 0x44, 0x44, 0x44, 0x38},  // o
    {0x7C, 0x14, 0x14, 0x14, 0x08},  // p
    {0x08, 0x14, 0x14, 0x18, 0x7C},  // q
    {0x7C, 0x08, 0x04, 0x04, 0x08},  // r
    {0x48, 0x54, 0x54, 0x54, 0x20},  // s
    {0x04, 0x3F, 0x44, 0x40, 0x20},  // t
    {0x3C, 0x40, 0x40, 0x20, 0x7C},  // u
    {0x1C, 0x20, 0x40, 0x20, 0x1C},  // v
    {0x3C, 0x40, 0x30, 0x40, 0x3C},  // w
    {0x44, 0x28, 0x10, 0x28, 0x44},  // x
    {0x0C, 0x50, 0x50, 0x50, 0x3C},  // y
    {0x44, 0x64, 0x54, 0x4C, 0x44},  // z
    {0x00, 0x08, 0x36, 0x41, 0x00},  // {
    {0x00, 0x00, 0x7F, 0x00, 0x00},  // |
    {0x00, 0x41, 0x36, 0x08, 0x00},  // }
    {0x08, 0x04, 0x08, 0x10, 0x08},  // ~
};

constexpr int kGlyphW = 5, kGlyphH = 7, kAdvance = 6;  // advance leaves one blank column

struct Rgb {
  unsigned char r, g, b;
};
constexpr Rgb kBlack{0, 0, 0}, kAxisGrey{90, 90, 90}, kGridGrey{225, 225, 225}, kBorderGrey{160, 160, 160};

void set_pixel(Image& image, int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  std::uint8_t* p = image.at(x, y);
  if (image.channels == 3) {
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  } else {
    p[0] = static_cast<std::uint8_t>((299 * c.r + 587 * c.g + 114 * c.b) / 1000);
  }
}

void fill_rect(Image& image, int x0, int y0, int x1, int y1, Rgb c) {  // inclusive corners
  for (int y = std::max(y0, 0); y <= std::min(y1, image.height - 1); ++y)
    for (int x = std::max(x0, 0); x <= std::min(x1, image.width - 1); ++x) set_pixel(image, x, y, c);
}

const unsigned char* glyph(char ch) {
  const int code = static_cast<unsigned char>(ch);
  return kFont[(code >= 32 && code <= 126 ? code : '?') - 32];
}

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * kAdvance - 1) * scale;
}

// Text turned 90 degrees counter-clockwise (reads bottom to top); (x, y) is the top-left of its box.
void draw_text_up(Image& image, int x, int y, const std::string& text, Rgb c, int scale) {
  const int length = text_width(text, scale);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char* g = glyph(text[i]);
    for (int col = 0; col < kGlyphW; ++col)
      for (int row = 0; row < kGlyphH; ++row) {
        if (!(g[col] >> row & 1)) continue;
        const int u = static_cast<int>(i) * kAdvance + col;  // along the text
        fill_rect(image, x + row * scale, y + length - (u + 1) * scale, x + (row + 1) * scale - 1,
                  y + length - u * scale - 1, c);
      }
  }
}

// Heckbert's "nice numbers": 1, 2 or 5 times a power of ten.
double nice_number(double x, bool round) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, e);
  double nf;
  if (round)
    nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * std::pow(10.0, e);
}

struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  std::vector<double> ticks;
  std::vector<std::string> labels;
  double span() const { return hi - lo; }
};

// Widens a degenerate range (no data, one point, constant values) so nothing divides by zero.
Axis make_axis(double lo, double hi, int target_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  const double magnitude = std::max(std::fabs(lo), std::fabs(hi));
  if (hi - lo <= 1e-9 * magnitude || hi - lo <= 1e-300) {
    const double pad = magnitude > 0 ? 0.1 * magnitude : 0.5;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = nice_number(nice_number(hi - lo, false) / std::max(1, target_ticks - 1), true);
  a.lo = std::floor(lo / a.step) * a.step;
  a.hi = std::ceil(hi / a.step) * a.step;
  const int n = static_cast<int>(std::llround(a.span() / a.step));
  // Large numbers get k / M suffixes so labels stay short; decimals follow the step size.
  const double big = std::max(std::fabs(a.lo), std::fabs(a.hi));
  const double divisor = big >= 1e6 ? 1e6 : big >= 1e4 ? 1e3 : 1;
  const char* suffix = big >= 1e6 ? "M" : big >= 1e4 ? "k" : "";
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(a.step / divisor) + 1e-9)), 0, 9);
  for (int i = 0; i <= std::min(n, 100); ++i) {
    double v = a.lo + i * a.step;
    if (std::fabs(v) < a.step * 1e-6) v = 0;  // no "-0"
    char buffer[64];
    if (v == 0 && divisor > 1)
      std::snprintf(buffer, sizeof(buffer), "0");  // "0", not "0M"
    else
      std::snprintf(buffer, sizeof(buffer), "%.*f%s", decimals, v / divisor, suffix);
    a.ticks.push_back(v);
    a.labels.emplace_back(buffer);
  }
  return a;
}

struct Frame {
  int left, top, right, bottom;  // plot area, inclusive pixel bounds
  Axis x, y;
  double px(double v) const { return left + (v - x.lo) / x.span() * (right - left); }
  double py(double v) const { return bottom - (v - y.lo) / y.span() * (bottom - top); }
};

// Marks drawn data so the legend can avoid it.
struct Canvas {
  Image& image;
  const Frame& f;
  std::vector<unsigned char> used;
  void plot(int x, int y, Rgb c) {
    if (x < f.left || x > f.right || y < f.top || y > f.bottom) return;
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;  // tiny images
    set_pixel(image, x, y, c);
    used[static_cast<std::size_t>(y) * image.width + x] = 1;
  }
  void brush(int x, int y, Rgb c) {  // 2x2 pen: clean 2 px lines without anti-aliasing
    plot(x, y, c);
    plot(x + 1, y, c);
    plot(x, y + 1, c);
    plot(x + 1, y + 1, c);
  }
  void line(int x0, int y0, int x1, int y1, Rgb c) {  // Bresenham
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      brush(x0, y0, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  void dot(int cx, int cy, int radius, Rgb c) {
    for (int y = -radius; y <= radius; ++y)
      for (int x = -radius; x <= radius; ++x)
        if (x * x + y * y <= radius * radius + radius) plot(cx + x, cy + y, c);
  }
};

int to_pixel(double v) {
  return static_cast<int>(std::lround(std::clamp(v, -1e6, 1e6)));
}

}  // namespace

void draw_text(Image& image, int x, int y, const std::string& text, unsigned char r, unsigned char g,
               unsigned char b, int scale) {
  scale = std::max(scale, 1);
  const Rgb c{r, g, b};
  int cx = x;
  for (const char ch : text) {
    if (ch == '\n') {
      cx = x;
      y += (kGlyphH + 2) * scale;
      continue;
    }
    const unsigned char* gl = glyph(ch);
    for (int col = 0; col < kGlyphW; ++col)
      for (int row = 0; row < kGlyphH; ++row)
        if (gl[col] >> row & 1)
          fill_rect(image, cx + col * scale, y + row * scale, cx + (col + 1) * scale - 1,
                    y + (row + 1) * scale - 1, c);
    cx += kAdvance * scale;
  }
}

Image plot_lines(const std::vector<Series>& series, const PlotOptions& options) {
  if (options.width <= 0 || options.height <= 0)
    throw std::invalid_argument("plot_lines: size must be positive");
  Image image(options.width, options.height, 3);
  std::fill(image.pixels.begin(), image.pixels.end(), std::uint8_t{255});

  // Data range over finite points only.
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series)
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
      for (const auto* edge : {&s.lo, &s.hi})
        if (i < edge->size() && std::isfinite((*edge)[i])) {
          y_lo = std::min(y_lo, (*edge)[i]);
          y_hi = std::max(y_hi, (*edge)[i]);
        }
    }
  if (x_lo > x_hi) x_lo = 0, x_hi = 1;
  if (y_lo > y_hi) y_lo = 0, y_hi = 1;

  // Layout: vertical margins first, since the y tick labels decide the left margin.
  const int s = options.height >= 400 && options.width >= 600 ? 2 : 1;  // text scale
  const int title_scale = s + 1;
  const int pad = 6 * s, tick = 3 * s, text_h = kGlyphH * s;
  Frame f;
  f.top = options.title.empty() ? pad + text_h / 2 : pad + kGlyphH * title_scale + pad;
  f.bottom =
      options.height - 1 - (pad + text_h + tick + pad / 2 + (options.x_label.empty() ? 0 : text_h + pad));
  f.bottom = std::max(f.bottom, f.top + 1);
  f.y = make_axis(y_lo, y_hi, std::clamp((f.bottom - f.top) / (14 * s), 2, 8));
  int y_label_w = 0;
  for (const auto& l : f.y.labels) y_label_w = std::max(y_label_w, text_width(l, s));
  f.left = pad + (options.y_label.empty() ? 0 : text_h + pad) + y_label_w + tick + pad / 2;
  f.right = options.width - 1 - 3 * pad;  // room for half of the last x label
  f.right = std::max(f.right, f.left + 1);
  f.x = make_axis(x_lo, x_hi, std::clamp((f.right - f.left) / (50 * s), 2, 10));

  // Grid, ticks and tick labels.
  for (std::size_t i = 0; i < f.y.ticks.size(); ++i) {
    const int y = to_pixel(f.py(f.y.ticks[i]));
    fill_rect(image, f.left + 1, y, f.right, y, kGridGrey);
    fill_rect(image, f.left - tick, y, f.left - 1, y, kAxisGrey);
    const std::string& l = f.y.labels[i];
    draw_text(image, f.left - tick - pad / 2 - text_width(l, s), y - text_h / 2, l, 0, 0, 0, s);
  }
  for (std::size_t i = 0; i < f.x.ticks.size(); ++i) {
    const int x = to_pixel(f.px(f.x.ticks[i]));
    fill_rect(image, x, f.top, x, f.bottom - 1, kGridGrey);
    fill_rect(image, x, f.bottom + 1, x, f.bottom + tick, kAxisGrey);
    const std::string& l = f.x.labels[i];
    draw_text(image, x - text_width(l, s) / 2, f.bottom + tick + pad / 2, l, 0, 0, 0, s);
  }
  fill_rect(image, f.left, f.top, f.left, f.bottom, kAxisGrey);
  fill_rect(image, f.left, f.bottom, f.right, f.bottom, kAxisGrey);

  // Title and axis labels, centred on the plot area.
  const int mid_x = (f.left + f.right) / 2, mid_y = (f.top + f.bottom) / 2;
  draw_text(image, mid_x - text_width(options.title, title_scale) / 2, pad, options.title, 0, 0, 0,
            title_scale);
  draw_text(image, mid_x - text_width(options.x_label, s) / 2, options.height - pad - text_h, options.x_label,
            0, 0, 0, s);
  draw_text_up(image, pad, mid_y - text_width(options.y_label, s) / 2, options.y_label, kBlack, s);

  // Bands first, under every line: each pixel column between two finite points is filled from the
  // interpolated hi to lo, in the series colour at a quarter strength over white.
  for (const Series& ser : series) {
    const std::size_t n = std::min({ser.x.size(), ser.lo.size(), ser.hi.size()});
    const Rgb tint{static_cast<unsigned char>(255 - (255 - ser.r) / 4), static_cast<unsigned char>(255 - (255 - ser.g) / 4),
                   static_cast<unsigned char>(255 - (255 - ser.b) / 4)};
    auto ok = [&](std::size_t i) {
      return std::isfinite(ser.x[i]) && std::isfinite(ser.lo[i]) && std::isfinite(ser.hi[i]);
    };
    for (std::size_t i = 0; i + 1 < n; ++i) {
      if (!ok(i) || !ok(i + 1)) continue;
      const double x0 = f.px(ser.x[i]), x1 = f.px(ser.x[i + 1]);
      for (int x = std::max(to_pixel(std::min(x0, x1)), f.left + 1); x <= std::min(to_pixel(std::max(x0, x1)), f.right);
           ++x) {
        const double t = x1 == x0 ? 0.0 : std::clamp((x - x0) / (x1 - x0), 0.0, 1.0);
        const double hi = ser.hi[i] + t * (ser.hi[i + 1] - ser.hi[i]), lo = ser.lo[i] + t * (ser.lo[i + 1] - ser.lo[i]);
        fill_rect(image, x, std::max(to_pixel(f.py(hi)), f.top), x, std::min(to_pixel(f.py(lo)), f.bottom - 1), tint);
      }
    }
  }

  // Series: polylines broken at non-finite points; lone points and markers as dots.
  Canvas canvas{image, f, std::vector<unsigned char>(image.pixels.size() / 3, 0)};
  for (const Series& ser : series) {
    const Rgb c{ser.r, ser.g, ser.b};
    const std::size_t n = std::min(ser.x.size(), ser.y.size());
    auto finite = [&](std::size_t i) { return i < n && std::isfinite(ser.x[i]) && std::isfinite(ser.y[i]); };
    for (std::size_t i = 0; i < n; ++i) {
      if (!finite(i)) continue;
      const int x0 = to_pixel(f.px(ser.x[i])), y0 = to_pixel(f.py(ser.y[i]));
      if (finite(i + 1)) {
        canvas.line(x0, y0, to_pixel(f.px(ser.x[i + 1])), to_pixel(f.py(ser.y[i + 1])), c);
      }
      const bool alone = !finite(i + 1) && (i == 0 || !finite(i - 1));
      if (ser.markers || alone) canvas.dot(x0, y0, 2 + s, c);
    }
  }

  // Legend in whichever plot corner the data covers least (top right on ties).
  std::vector<const Series*> entries;
  std::size_t longest = 0;
  auto has_points = [](const Series& ser) {
    for (std::size_t i = 0; i < std::min(ser.x.size(), ser.y.size()); ++i)
      if (std::isfinite(ser.x[i]) && std::isfinite(ser.y[i])) return true;
    return false;
  };
  for (const Series& ser : series)
    if (!ser.label.empty() && has_points(ser)) {  // no legend entry for what is not drawn
      entries.push_back(&ser);
      longest = std::max(longest, ser.label.size());
    }
  if (!entries.empty()) {
    const int swatch = 12 * s, row_h = text_h + 4 * s;
    const int w = pad + swatch + pad + text_width(std::string(longest, 'x'), s) + pad;
    const int h = pad + static_cast<int>(entries.size()) * row_h - 4 * s + pad;
    const int m = 2 * s;  // gap between legend and axes
    const int xs[2] = {f.right - m - w, f.left + 1 + m}, ys[2] = {f.top + m, f.bottom - 1 - m - h};
    int best_x = xs[1], best_y = ys[0];
    long best = -1;
    for (const int ly : ys)
      for (const int lx : xs) {
        long covered = 0;
        for (int y = std::max(ly, 0); y < std::min(ly + h, image.height); ++y)
          for (int x = std::max(lx, 0); x < std::min(lx + w, image.width); ++x)
            covered += canvas.used[static_cast<std::size_t>(y) * image.width + x];
        if (best < 0 || covered < best) best = covered, best_x = lx, best_y = ly;
      }
    fill_rect(image, best_x, best_y, best_x + w - 1, best_y + h - 1, Rgb{255, 255, 255});
    fill_rect(image, best_x, best_y, best_x + w - 1, best_y, kBorderGrey);
    fill_rect(image, best_x, best_y + h - 1, best_x + w - 1, best_y + h - 1, kBorderGrey);
    fill_rect(image, best_x, best_y, best_x, best_y + h - 1, kBorderGrey);
    fill_rect(image, best_x + w - 1, best_y, best_x + w - 1, best_y + h - 1, kBorderGrey);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Series& ser = *entries[i];
      const Rgb c{ser.r, ser.g, ser.b};
      const int ry = best_y + pad + static_cast<int>(i) * row_h, cy = ry + text_h / 2;
      fill_rect(image, best_x + pad, cy - 1, best_x + pad + swatch - 1, cy, c);
      if (ser.markers) {
        const int r = 1 + s, cx = best_x + pad + swatch / 2;
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx)
            if (dx * dx + dy * dy <= r * r + r) set_pixel(image, cx + dx, cy + dy, c);
      }
      draw_text(image, best_x + pad + swatch + pad, ry, ser.label, 0, 0, 0, s);
    }
  }
  return image;
}

void write_learning_curve(const std::string& png_path, const std::vector<Series>& series,
                          const PlotOptions& options) {
  write_png(png_path, plot_lines(series, options));
}

}  // namespace dodge::output

// Small image helpers for recordings: halving, resizing, and a palette that keeps exact colours.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

#include "dodge/viewer/viewer.hpp"

namespace dodge::viewer {

output::Image downscale2(const output::Image& in) {
  const int w = std::max(1, in.width / 2), h = std::max(1, in.height / 2), c = in.channels;
  output::Image out(w, h, c);
  for (int y = 0; y < h; ++y) {
    const int y0 = std::min(2 * y, in.height - 1), y1 = std::min(2 * y + 1, in.height - 1);
    for (int x = 0; x < w; ++x) {
      const int x0 = std::min(2 * x, in.width - 1), x1 = std::min(2 * x + 1, in.width - 1);
      std::uint8_t* d = out.at(x, y);
      for (int k = 0; k < c; ++k) {
        const int sum = in.at(x0, y0)[k] + in.at(x1, y0)[k] + in.at(x0, y1)[k] + in.at(x1, y1)[k];
        d[k] = static_cast<std::uint8_t>((sum + 2) / 4);
      }
    }
  }
  return out;
}

output::Image resize_nearest(const output::Image& in, int width, int height) {
  if (in.width == width && in.height == height) return in;
  output::Image out(width, height, in.channels);
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(in.height - 1, static_cast<int>(static_cast<long long>(y) * in.height / height));
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(in.width - 1, static_cast<int>(static_cast<long long>(x) * in.width / width));
      std::copy_n(in.at(sx, sy), in.channels, out.at(x, y));
    }
  }
  return out;
}

namespace {
std::uint32_t pack(const std::uint8_t* p) {
  return std::uint32_t(p[0]) << 16 | std::uint32_t(p[1]) << 8 | p[2];
}
}  // namespace

output::Image reduce_colors(const output::Image& in, int max_colors) {
  if (in.channels != 3 || max_colors < 1) return in;
  const std::size_t n = static_cast<std::size_t>(in.width) * in.height;
  std::unordered_map<std::uint32_t, std::uint32_t> count;
  count.reserve(1024);
  for (std::size_t i = 0; i < n; ++i) ++count[pack(&in.pixels[i * 3])];
  if (count.size() <= static_cast<std::size_t>(max_colors)) return in;

  // Keep the most frequent colours (the game's flat colours, the text's solid core) exactly.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> by_count(count.begin(), count.end());
  std::sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  by_count.resize(static_cast<std::size_t>(max_colors));
  std::unordered_map<std::uint32_t, std::uint32_t> to;  // colour -> kept colour
  to.reserve(count.size());
  for (const auto& [c, k] : by_count) to.emplace(c, c);
  for (const auto& [c, k] : count) {
    if (to.count(c)) continue;
    const int r = c >> 16 & 255, g = c >> 8 & 255, b = c & 255;
    std::uint32_t best = by_count[0].first;
    int best_d = std::numeric_limits<int>::max();
    for (const auto& [p, pk] : by_count) {
      const int dr = r - static_cast<int>(p >> 16 & 255), dg = g - static_cast<int>(p >> 8 & 255),
                db = b - static_cast<int>(p & 255);
      const int d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;  // rough perceptual weights
      if (d < best_d) best_d = d, best = p;
    }
    to.emplace(c, best);
  }
  output::Image out = in;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t* p = &out.pixels[i * 3];
    const std::uint32_t c = to.at(pack(p));
    p[0] = static_cast<std::uint8_t>(c >> 16);
    p[1] = static_cast<std::uint8_t>(c >> 8);
    p[2] = static_cast<std::uint8_t>(c);
  }
  return out;
}

}  // namespace dodge::viewer

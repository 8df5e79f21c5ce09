// Writing pictures: PNG (libpng) and animated GIF (giflib). Errors throw std::runtime_error
// with the file name and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dodge::output {

// An 8-bit image in HWC order (channels 1 = grey, 3 = RGB).
struct Image {
  int width = 0, height = 0, channels = 3;
  std::vector<std::uint8_t> pixels;  // height * width * channels
  Image() = default;
  Image(int w, int h, int c) : width(w), height(h), channels(c), pixels(static_cast<std::size_t>(w) * h * c) {}
  std::uint8_t* at(int x, int y) { return &pixels[(static_cast<std::size_t>(y) * width + x) * channels]; }
  const std::uint8_t* at(int x, int y) const {
    return &pixels[(static_cast<std::size_t>(y) * width + x) * channels];
  }
};

// Planar CHW frame (C = 1 or 3) to HWC, each pixel repeated scale x scale times.
Image chw_to_image(const std::uint8_t* chw, int channels, int height, int width, int scale = 1);

void write_png(const std::string& path, const Image& image);
Image read_png(const std::string& path);  // for tests and tools; returns grey or RGB

// Animated GIF writer: frames of one size, a fixed frame delay; colours quantised to a
// 256-entry palette (exact for this game's few colours). RGB or grey frames.
class GifWriter {
 public:
  GifWriter(const std::string& path, int width, int height, double fps);
  ~GifWriter();
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;
  void add_frame(const Image& frame);
  // Writes the file; called by the destructor if not called before. Throws on failure.
  void close();
  int frames() const { return frames_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int frames_ = 0;
};

// Reads a GIF back (tests): frame count, size and the delay of the first frame in 1/100 s.
struct GifInfo {
  int frames = 0, width = 0, height = 0, delay_cs = 0;
};
GifInfo read_gif_info(const std::string& path);

}  // namespace dodge::output

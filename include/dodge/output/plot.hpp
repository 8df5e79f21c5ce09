// A learning-curve picture without any plotting library: lines, axes with tick labels (a small
// built-in bitmap font), a legend; written as PNG.
#pragma once

#include <string>
#include <vector>

#include "dodge/output/image_io.hpp"

namespace dodge::output {

struct Series {
  std::string label;
  std::vector<double> x, y;
  unsigned char r = 0, g = 0, b = 0;
  bool markers = false;  // draw a dot at each point (e.g. evaluations)
};

struct PlotOptions {
  int width = 900, height = 500;
  std::string title, x_label, y_label;
};

Image plot_lines(const std::vector<Series>& series, const PlotOptions& options);
void write_learning_curve(const std::string& png_path, const std::vector<Series>& series,
                          const PlotOptions& options);

// Draws text with the built-in 5x7 font (ASCII 32..126), scale s, into an RGB image.
void draw_text(Image& image, int x, int y, const std::string& text, unsigned char r, unsigned char g,
               unsigned char b, int scale = 1);

}  // namespace dodge::output

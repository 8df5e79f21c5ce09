// A learning-curve picture without any plotting library: lines with optional spread bands, axes with
// tick labels (a small built-in bitmap font), a legend of the series that have points; written as PNG.
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
  // A shaded band from lo to hi at each x (a spread: ± std, or min..max over seeds), drawn under
  // every line in a light tint of the series colour; empty: none.
  std::vector<double> lo, hi;
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

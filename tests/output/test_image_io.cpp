// PNG and GIF writing: round trips, CHW conversion, exact palette colours, frame delays, errors.
#include <gif_lib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "dodge/output/image_io.hpp"

using namespace dodge::output;
namespace fs = std::filesystem;

namespace {


Image pattern(int w, int h, int c) {
  Image img(w, h, c);
  for (std::size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return img;
}

struct Rgb {
  int r, g, b;
};

// Decoded GIF frames as RGB, via giflib's own reader.
struct DecodedGif {
  int width = 0, height = 0;
  std::vector<std::vector<Rgb>> frames;
  std::vector<int> delays;
  std::vector<bool> local_map;  // frame carries its own colour table
};

DecodedGif decode_gif(const std::string& path) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  REQUIRE(gif != nullptr);
  REQUIRE(DGifSlurp(gif) == GIF_OK);
  DecodedGif out;
  out.width = gif->SWidth;
  out.height = gif->SHeight;
  for (int k = 0; k < gif->ImageCount; ++k) {
    const SavedImage& image = gif->SavedImages[k];
    const ColorMapObject* map = image.ImageDesc.ColorMap ? image.ImageDesc.ColorMap : gif->SColorMap;
    REQUIRE(map != nullptr);
    REQUIRE(image.ImageDesc.Width == out.width);
    REQUIRE(image.ImageDesc.Height == out.height);
    std::vector<Rgb> pixels;
    for (int i = 0; i < out.width * out.height; ++i) {
      const int index = image.RasterBits[i];
      REQUIRE(index < map->ColorCount);
      const GifColorType& c = map->Colors[index];
      pixels.push_back({c.Red, c.Green, c.Blue});
    }
    out.frames.push_back(std::move(pixels));
    out.local_map.push_back(image.ImageDesc.ColorMap != nullptr);
    GraphicsControlBlock gcb;
    REQUIRE(DGifSavedExtensionToGCB(gif, k, &gcb) == GIF_OK);
    out.delays.push_back(gcb.DelayTime);
  }
  DGifCloseFile(gif, &error);
  return out;
}

}  // namespace

TEST_CASE("chw_to_image moves planes to HWC and repeats pixels", "[output][image_io]") {
  const int c = 3, h = 2, w = 3;
  std::vector<std::uint8_t> chw(c * h * w);
  for (int ch = 0; ch < c; ++ch)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        chw[(ch * h + y) * w + x] = static_cast<std::uint8_t>(100 * ch + 10 * y + x);

  const Image img = chw_to_image(chw.data(), c, h, w, 2);
  REQUIRE(img.width == 6);
  REQUIRE(img.height == 4);
  REQUIRE(img.channels == 3);
  // Output (5, 3) comes from source (2, 1); its 2x2 block shares the value.
  for (int ch = 0; ch < 3; ++ch) {
    CHECK(img.at(5, 3)[ch] == 100 * ch + 12);
    CHECK(img.at(4, 2)[ch] == 100 * ch + 12);
    CHECK(img.at(0, 0)[ch] == 100 * ch);
    CHECK(img.at(1, 1)[ch] == 100 * ch);
    CHECK(img.at(2, 1)[ch] == 100 * ch + 1);
    CHECK(img.at(3, 2)[ch] == 100 * ch + 11);
  }

  const Image grey = chw_to_image(chw.data(), 1, h, w);
  REQUIRE(grey.channels == 1);
  REQUIRE(grey.width == 3);
  CHECK(grey.at(2, 1)[0] == 12);
  CHECK(grey.at(0, 1)[0] == 10);

  CHECK_THROWS_AS(chw_to_image(chw.data(), 2, h, w), std::invalid_argument);
  CHECK_THROWS_AS(chw_to_image(chw.data(), 3, h, w, 0), std::invalid_argument);
}

TEST_CASE("PNG round trip is lossless for grey and RGB", "[output][image_io]") {
  TempDir dir("png");
  for (int channels : {1, 3}) {
    const Image img = pattern(17, 9, channels);
    const std::string path = dir.file("img" + std::to_string(channels) + ".png");
    write_png(path, img);
    const Image back = read_png(path);
    CHECK(back.width == 17);
    CHECK(back.height == 9);
    CHECK(back.channels == channels);
    CHECK(back.pixels == img.pixels);
  }
}

TEST_CASE("PNG errors name the file", "[output][image_io]") {
  const Image img = pattern(4, 4, 3);
  CHECK_THROWS_WITH(write_png("/nonexistent/dir/x.png", img), Catch::Contains("/nonexistent/dir/x.png"));
  CHECK_THROWS_WITH(read_png("/nonexistent/dir/y.png"), Catch::Contains("/nonexistent/dir/y.png"));
  Image wrong = img;
  wrong.pixels.pop_back();
  TempDir dir("pngbad");
  CHECK_THROWS_AS(write_png(dir.file("wrong.png"), wrong), std::runtime_error);
  Image two(4, 4, 2);
  CHECK_THROWS_AS(write_png(dir.file("two.png"), two), std::runtime_error);
}

TEST_CASE("GIF frames keep their exact colours, size and count", "[output][image_io]") {
  TempDir dir("gif");
  const std::string path = dir.file("anim.gif");
  const int w = 12, h = 7, k = 5;
  auto colour_of = [](int frame, int x, int y) {
    if (frame == 4) frame = 0;                            // repeats the first frame's colours
    if (x == 3 && y == 2) return Rgb{255, 255, 255};      // one marker pixel
    if (frame == 3 && x < 4) return Rgb{1, 2, 3};         // a colour new in frame 3
    return Rgb{frame * 50, 255 - frame * 40, 7 + x + y};  // gradients across frames
  };
  {
    GifWriter gif(path, w, h, 30.0);
    for (int f = 0; f < k; ++f) {
      Image img(w, h, 3);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const Rgb c = colour_of(f, x, y);
          img.at(x, y)[0] = static_cast<std::uint8_t>(c.r);
          img.at(x, y)[1] = static_cast<std::uint8_t>(c.g);
          img.at(x, y)[2] = static_cast<std::uint8_t>(c.b);
        }
      gif.add_frame(img);
    }
    CHECK(gif.frames() == k);
    gif.close();
    gif.close();  // idempotent
  }
  const GifInfo info = read_gif_info(path);
  CHECK(info.frames == k);
  CHECK(info.width == w);
  CHECK(info.height == h);
  CHECK(info.delay_cs == 3);

  const DecodedGif decoded = decode_gif(path);
  REQUIRE(decoded.frames.size() == static_cast<std::size_t>(k));
  // The first frame's palette is global; only frames with new colours carry a local one.
  CHECK_FALSE(decoded.local_map[0]);
  CHECK(decoded.local_map[1]);
  CHECK(decoded.local_map[3]);
  CHECK_FALSE(decoded.local_map[4]);
  for (int f = 0; f < k; ++f)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const Rgb want = colour_of(f, x, y), got = decoded.frames[f][y * w + x];
        INFO("frame " << f << " pixel " << x << "," << y);
        CHECK(got.r == want.r);
        CHECK(got.g == want.g);
        CHECK(got.b == want.b);
      }
}

TEST_CASE("GIF delays average 1/fps over many frames", "[output][image_io]") {
  TempDir dir("gifdelay");
  const std::string path = dir.file("delay.gif");
  {
    GifWriter gif(path, 4, 4, 30.0);
    Image img(4, 4, 1);
    for (int f = 0; f < 30; ++f) {
      std::fill(img.pixels.begin(), img.pixels.end(), static_cast<std::uint8_t>(f * 8));
      gif.add_frame(img);
    }
  }  // the destructor writes the file
  const DecodedGif decoded = decode_gif(path);
  REQUIRE(decoded.delays.size() == 30);
  int total = 0;
  for (int d : decoded.delays) {
    CHECK((d == 3 || d == 4));
    total += d;
  }
  CHECK(total == 100);  // 30 frames at 30 fps last exactly one second
  CHECK(total / 30.0 == Approx(100.0 / 30.0).margin(0.01));
  // Grey frames decode as equal RGB.
  CHECK(decoded.frames[5][0].r == 40);
  CHECK(decoded.frames[5][0].g == 40);
  CHECK(decoded.frames[5][0].b == 40);
}

TEST_CASE("GIF frames with more than 256 colours are quantised closely", "[output][image_io]") {
  TempDir dir("gifmany");
  const std::string path = dir.file("many.gif");
  Image img(32, 32, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      img.at(x, y)[0] = static_cast<std::uint8_t>(x * 8);
      img.at(x, y)[1] = static_cast<std::uint8_t>(y * 8);
      img.at(x, y)[2] = static_cast<std::uint8_t>((x + y) * 4);
    }
  {
    GifWriter gif(path, 32, 32, 10.0);
    gif.add_frame(img);
    gif.add_frame(img);
  }
  const DecodedGif decoded = decode_gif(path);
  REQUIRE(decoded.frames.size() == 2);
  CHECK(decoded.delays[0] == 10);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const Rgb got = decoded.frames[1][y * 32 + x];
      CHECK(std::abs(got.r - img.at(x, y)[0]) <= 19);
      CHECK(std::abs(got.g - img.at(x, y)[1]) <= 19);
      CHECK(std::abs(got.b - img.at(x, y)[2]) <= 43);
    }
}

TEST_CASE("GIF errors throw", "[output][image_io]") {
  CHECK_THROWS_WITH(GifWriter("/nonexistent/dir/x.gif", 4, 4, 30.0),
                    Catch::Contains("/nonexistent/dir/x.gif"));
  CHECK_THROWS_WITH(read_gif_info("/nonexistent/dir/y.gif"), Catch::Contains("/nonexistent/dir/y.gif"));
  TempDir dir("gifbad");
  CHECK_THROWS_AS(GifWriter(dir.file("a.gif"), 0, 4, 30.0), std::runtime_error);
  CHECK_THROWS_AS(GifWriter(dir.file("b.gif"), 4, 4, 0.0), std::runtime_error);
  GifWriter gif(dir.file("c.gif"), 4, 4, 30.0);
  CHECK_THROWS_AS(gif.add_frame(Image(5, 4, 3)), std::runtime_error);
  CHECK(gif.frames() == 0);
  gif.close();
  CHECK_THROWS_AS(gif.add_frame(Image(4, 4, 3)), std::runtime_error);
  // With no frames the file is still a valid, empty GIF.
  const GifInfo info = read_gif_info(dir.file("c.gif"));
  CHECK(info.frames == 0);
  CHECK(info.width == 4);
}

// PNG through libpng's simplified API (no setjmp/longjmp across C++ frames) and animated GIF
// through giflib's low-level writer, so frames stream to disk instead of piling up in memory.
#include "dodge/output/image_io.hpp"

#include <fcntl.h>
#include <gif_lib.h>
#include <unistd.h>
#include <png.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace dodge::output {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

void check_image(const Image& image, const std::string& path) {
  if (image.width <= 0 || image.height <= 0) fail(path, "image has no pixels");
  if (image.channels != 1 && image.channels != 3) fail(path, "image must have 1 or 3 channels");
  const std::size_t want = static_cast<std::size_t>(image.width) * image.height * image.channels;
  if (image.pixels.size() != want) fail(path, "pixel buffer size does not match width * height * channels");
}

std::string gif_error(int code) {
  const char* s = GifErrorString(code);
  return s ? s : "giflib error " + std::to_string(code);
}

struct MapDeleter {
  void operator()(ColorMapObject* map) const { GifFreeMapObject(map); }
};
using ColorMapPtr = std::unique_ptr<ColorMapObject, MapDeleter>;

// giflib only accepts power-of-two colour tables (at least 2 entries).
ColorMapPtr make_map(const std::vector<GifColorType>& colours) {
  int size = 2;
  while (size < static_cast<int>(colours.size())) size *= 2;
  std::vector<GifColorType> padded(static_cast<std::size_t>(size), GifColorType{0, 0, 0});
  std::copy(colours.begin(), colours.end(), padded.begin());
  return ColorMapPtr(GifMakeMapObject(size, padded.data()));
}

std::uint32_t pack(const std::uint8_t* p, int channels) {
  if (channels == 1) return static_cast<std::uint32_t>(p[0]) * 0x010101u;
  return static_cast<std::uint32_t>(p[0]) << 16 | static_cast<std::uint32_t>(p[1]) << 8 | p[2];
}

}  // namespace

Image chw_to_image(const std::uint8_t* chw, int channels, int height, int width, int scale) {
  if (channels != 1 && channels != 3) throw std::invalid_argument("chw_to_image: channels must be 1 or 3");
  if (height <= 0 || width <= 0 || scale <= 0) throw std::invalid_argument("chw_to_image: bad size or scale");
  Image out(width * scale, height * scale, channels);
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int y = 0; y < out.height; ++y) {
    const int sy = y / scale;
    for (int x = 0; x < out.width; ++x) {
      const std::size_t src = static_cast<std::size_t>(sy) * width + x / scale;
      std::uint8_t* dst = out.at(x, y);
      for (int c = 0; c < channels; ++c) dst[c] = chw[c * plane + src];
    }
  }
  return out;
}

void write_png(const std::string& path, const Image& image) {
  check_image(image, path);
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  const png_int_32 stride = image.width * image.channels;
  const int ok = png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), stride, nullptr);
  const std::string message = png.message;
  png_image_free(&png);
  if (!ok) fail(path, "cannot write PNG: " + message);
}

Image read_png(const std::string& path) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    const std::string message = png.message;
    png_image_free(&png);
    fail(path, "cannot read PNG: " + message);
  }
  const bool colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  png.format = colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  Image image(static_cast<int>(png.width), static_cast<int>(png.height), colour ? 3 : 1);
  // Any alpha is composited onto white, the usual page colour.
  png_color white{255, 255, 255};
  const png_int_32 stride = image.width * image.channels;
  if (!png_image_finish_read(&png, &white, image.pixels.data(), stride, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    fail(path, "cannot decode PNG: " + message);
  }
  return image;
}

struct GifWriter::Impl {
  std::string path;
  int width = 0, height = 0;
  double fps = 0;
  GifFileType* gif = nullptr;
  bool header_written = false;
  // The first frame's palette becomes the global one; later frames that fit it need no local table.
  std::unordered_map<std::uint32_t, std::uint8_t> global_index;
  bool global_is_332 = false;  // the first frame needed the fixed 3-3-2 palette
  long long elapsed_cs = 0;    // delays written so far, so rounding errors do not accumulate
  std::vector<GifPixelType> indices;

  void check(int status, const char* what) const {
    if (status == GIF_ERROR) fail(path, std::string(what) + ": " + gif_error(gif->Error));
  }

  void write_header(const std::vector<GifColorType>& palette) {
    ColorMapPtr map = make_map(palette);
    if (!map) fail(path, "cannot allocate GIF colour map");
    EGifSetGifVersion(gif, true);  // GIF89a: needed for the delay and loop extensions
    check(EGifPutScreenDesc(gif, width, height, map->BitsPerPixel, 0, map.get()), "EGifPutScreenDesc");
    // NETSCAPE2.0 application extension: loop forever (count 0).
    check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), "EGifPutExtensionLeader");
    check(EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0"), "EGifPutExtensionBlock");
    const unsigned char loop[3] = {1, 0, 0};
    check(EGifPutExtensionBlock(gif, 3, loop), "EGifPutExtensionBlock");
    check(EGifPutExtensionTrailer(gif), "EGifPutExtensionTrailer");
    header_written = true;
  }

  // Delay of the next frame in 1/100 s, chosen so the running total tracks frames / fps.
  int next_delay(int frame_number) {
    const long long target = std::llround((frame_number + 1) * 100.0 / fps);
    // Viewers replace delays below 2 cs with 10 cs, which is far slower; 50 fps is the GIF ceiling.
    const int delay = static_cast<int>(std::clamp<long long>(target - elapsed_cs, 2, 65535));
    elapsed_cs += delay;
    return delay;
  }
};

GifWriter::GifWriter(const std::string& path, int width, int height, double fps)
    : impl_(std::make_unique<Impl>()) {
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) fail(path, "bad GIF size");
  if (!(fps > 0) || !std::isfinite(fps)) fail(path, "GIF fps must be positive");
  impl_->path = path;
  impl_->width = width;
  impl_->height = height;
  impl_->fps = fps;
  int error = 0;
  errno = 0;
  // Open the file ourselves: giflib's EGifOpenFileName creates it with mode 0600.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd >= 0) {
    impl_->gif = EGifOpenFileHandle(fd, &error);
    if (!impl_->gif) ::close(fd);
  }
  if (!impl_->gif) {
    const std::string reason = errno ? std::strerror(errno) : gif_error(error);
    fail(path, "cannot open GIF for writing: " + reason);
  }
}

GifWriter::~GifWriter() {
  try {
    close();
  } catch (...) {
    // Destructors must not throw; callers who care call close() themselves.
  }
}

void GifWriter::add_frame(const Image& frame) {
  Impl& s = *impl_;
  if (!s.gif) fail(s.path, "GIF already closed");
  check_image(frame, s.path);
  if (frame.width != s.width || frame.height != s.height)
    fail(s.path, "GIF frame size differs from the first");

  // Distinct colours of this frame, stopping once there are more than a palette holds.
  std::unordered_map<std::uint32_t, std::uint8_t> local_index;
  std::vector<GifColorType> local;
  const std::size_t n = static_cast<std::size_t>(s.width) * s.height;
  bool too_many = false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t key = pack(&frame.pixels[i * frame.channels], frame.channels);
    if (local_index.count(key)) continue;
    if (local.size() == 256) {
      too_many = true;
      break;
    }
    local_index.emplace(key, static_cast<std::uint8_t>(local.size()));
    local.push_back(GifColorType{static_cast<GifByteType>(key >> 16), static_cast<GifByteType>(key >> 8),
                                 static_cast<GifByteType>(key)});
  }
  bool fits_global = s.header_written && too_many == s.global_is_332;
  for (auto it = local_index.begin(); fits_global && !too_many && it != local_index.end(); ++it)
    fits_global = s.global_index.count(it->first) > 0;
  const auto& table = fits_global ? s.global_index : local_index;

  s.indices.resize(n);
  if (too_many) {
    // Photographic frames: a fixed 3-3-2 palette with nearest-level rounding per channel.
    local.resize(256);
    for (int i = 0; i < 256; ++i) {
      local[static_cast<std::size_t>(i)] = GifColorType{static_cast<GifByteType>((i >> 5) * 255 / 7),
                                                        static_cast<GifByteType>(((i >> 2) & 7) * 255 / 7),
                                                        static_cast<GifByteType>((i & 3) * 255 / 3)};
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t key = pack(&frame.pixels[i * frame.channels], frame.channels);
      const int r = ((key >> 16 & 255) * 7 + 127) / 255, g = ((key >> 8 & 255) * 7 + 127) / 255;
      const int b = ((key & 255) * 3 + 127) / 255;
      s.indices[i] = static_cast<GifPixelType>(r << 5 | g << 2 | b);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i)
      s.indices[i] = table.at(pack(&frame.pixels[i * frame.channels], frame.channels));
  }

  bool use_local = !fits_global;
  if (!s.header_written) {
    s.write_header(local);
    s.global_is_332 = too_many;
    if (!too_many) s.global_index = local_index;
    use_local = false;
  }

  GraphicsControlBlock gcb;
  gcb.DisposalMode = DISPOSE_DO_NOT;
  gcb.UserInputFlag = false;
  gcb.DelayTime = s.next_delay(frames_);
  gcb.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType ext[4];
  const size_t ext_len = EGifGCBToExtension(&gcb, ext);
  s.check(EGifPutExtension(s.gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(ext_len), ext),
          "EGifPutExtension");

  ColorMapPtr map;
  if (use_local) {
    map = make_map(local);
    if (!map) fail(s.path, "cannot allocate GIF colour map");
  }
  if (!map && s.gif->Image.ColorMap) {
    // giflib 5.2 drops the previous frame's local table without freeing it when the next has none.
    GifFreeMapObject(s.gif->Image.ColorMap);
    s.gif->Image.ColorMap = nullptr;
  }
  s.check(EGifPutImageDesc(s.gif, 0, 0, s.width, s.height, false, map.get()), "EGifPutImageDesc");
  for (int y = 0; y < s.height; ++y)
    s.check(EGifPutLine(s.gif, &s.indices[static_cast<std::size_t>(y) * s.width], s.width), "EGifPutLine");
  ++frames_;
}

void GifWriter::close() {
  Impl& s = *impl_;
  if (!s.gif) return;
  GifFileType* gif = s.gif;
  try {
    // A file needs a screen descriptor to be valid even with no frames.
    if (!s.header_written) s.write_header({GifColorType{0, 0, 0}, GifColorType{255, 255, 255}});
  } catch (...) {
    int ignored = 0;
    s.gif = nullptr;
    EGifCloseFile(gif, &ignored);
    throw;
  }
  s.gif = nullptr;
  int error = 0;
  if (EGifCloseFile(gif, &error) == GIF_ERROR) fail(s.path, "cannot finish GIF: " + gif_error(error));
}

GifInfo read_gif_info(const std::string& path) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  if (!gif) fail(path, "cannot open GIF: " + gif_error(error));
  // giflib calls a file without images an error; for a writer closed early that is "0 frames".
  if (DGifSlurp(gif) == GIF_ERROR && !(gif->Error == D_GIF_ERR_NO_IMAG_DSCR && gif->ImageCount == 0)) {
    const int code = gif->Error;
    DGifCloseFile(gif, &error);
    fail(path, "cannot decode GIF: " + gif_error(code));
  }
  GifInfo info;
  info.frames = gif->ImageCount;
  info.width = gif->SWidth;
  info.height = gif->SHeight;
  GraphicsControlBlock gcb;
  if (gif->ImageCount > 0 && DGifSavedExtensionToGCB(gif, 0, &gcb) == GIF_OK) info.delay_cs = gcb.DelayTime;
  DGifCloseFile(gif, &error);
  return info;
}

}  // namespace dodge::output

#include "dodge/viewer/viewer.hpp"

#include <SDL_ttf.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "dodge/game/constants.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/error.hpp"

namespace dodge::viewer {

void SdlDeleter::operator()(TTF_Font* p) const {
  TTF_CloseFont(p);
}

// ---------------------------------------------------------------------------------------------
// Trails

void Trails::clear() {
  for (auto& v : ring_) v.clear();
  head_ = -1;
  count_ = 0;
}

void Trails::push(const game::GameState& state) {
  head_ = (head_ + 1) % kLength;
  auto& slot = ring_[static_cast<std::size_t>(head_)];
  slot.clear();
  for (const auto& b : state.balls) slot.push_back({static_cast<float>(b.x), static_cast<float>(b.y)});
  count_ = std::min(count_ + 1, kLength);
}

const std::vector<std::array<float, 2>>& Trails::ago(int i) const {
  if (i < 0 || i >= count_) throw std::out_of_range("Trails::ago: " + std::to_string(i));
  return ring_[static_cast<std::size_t>((head_ - i + kLength) % kLength)];
}

// ---------------------------------------------------------------------------------------------
// Window

namespace {

constexpr SDL_Color sdl(render::Rgb c, Uint8 a = 255) {
  return SDL_Color{c.r, c.g, c.b, a};
}

constexpr SDL_Color kText{230, 230, 230, 255};
constexpr SDL_Color kTitle{255, 215, 120, 255};
constexpr SDL_Color kDim{150, 150, 165, 255};
constexpr SDL_Color kPanel{0, 0, 0, 160};
constexpr SDL_Color kCourtFloor{35, 35, 48, 255};   // a shade lighter than the background
constexpr SDL_Color kViewOutline{60, 60, 78, 255};  // the agent's view_extent window
constexpr SDL_Color kGameOver{255, 70, 70, 255};
constexpr SDL_Color kSurvived{120, 230, 120, 255};

run::UserError no_display(const std::string& what) {
  return run::UserError("cannot open a window (" + what +
                        "); no display? Record episodes without one: dodge eval RUN --record out.gif");
}

}  // namespace

Viewer::Subsystems::~Subsystems() {
  if (ttf) TTF_Quit();
  if (video) SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

Viewer::Viewer(const ViewerOptions& options) : options_(options) {
  const auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  const std::string requested = env("SDL_VIDEODRIVER");
  // Without a display server SDL would fall back to its invisible offscreen driver (or print
  // Wayland noise first); only use that when asked for (tests set SDL_VIDEODRIVER=offscreen).
  if (requested.empty() && env("DISPLAY").empty() && env("WAYLAND_DISPLAY").empty())
    throw no_display("neither DISPLAY nor WAYLAND_DISPLAY is set; SDL_VIDEODRIVER forces a driver");
  if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) throw no_display(std::string("SDL: ") + SDL_GetError());
  subsystems_.video = true;
  const char* driver = SDL_GetCurrentVideoDriver();
  const std::string current = driver ? driver : "";
  if ((current == "offscreen" || current == "dummy") && requested.find(current) == std::string::npos)
    throw no_display("SDL found no display and fell back to its " + current + " driver");
  window_.reset(SDL_CreateWindow(options_.title.c_str(), SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                                 std::max(options_.width, 64), std::max(options_.height, 64),
                                 SDL_WINDOW_RESIZABLE | SDL_WINDOW_SHOWN));
  if (!window_) throw no_display(std::string("SDL_CreateWindow: ") + SDL_GetError());
  const Uint32 vsync = options_.vsync ? SDL_RENDERER_PRESENTVSYNC : 0;
  renderer_.reset(SDL_CreateRenderer(window_.get(), -1, SDL_RENDERER_ACCELERATED | vsync));
  // Xvfb and the offscreen driver often have no GPU: the software renderer draws the same.
  if (!renderer_) renderer_.reset(SDL_CreateRenderer(window_.get(), -1, SDL_RENDERER_SOFTWARE));
  if (!renderer_) throw no_display(std::string("SDL_CreateRenderer: ") + SDL_GetError());
  SDL_RendererInfo info;
  if (SDL_GetRendererInfo(renderer_.get(), &info) == 0) renderer_name_ = info.name;
  SDL_SetRenderDrawBlendMode(renderer_.get(), SDL_BLENDMODE_BLEND);
  if (TTF_Init() != 0) throw run::UserError(std::string("SDL_ttf: ") + TTF_GetError());
  subsystems_.ttf = true;
  update_layout();
}

void Viewer::open_fonts() {
  std::string path = options_.font_path;
  if (path.empty()) {
    const char* env = std::getenv("DODGE_FONT");
    path = env && *env ? env : kDefaultFont;
  }
  texts_.clear();
  font_.reset(TTF_OpenFont(path.c_str(), font_px_));
  if (!font_)
    throw run::UserError("cannot load the HUD font " + path + " (" + TTF_GetError() +
                         "); install fonts-dejavu-core or set DODGE_FONT to a .ttf file");
  big_font_.reset(TTF_OpenFont(path.c_str(), font_px_ * 4));
  if (!big_font_) throw run::UserError("cannot load the HUD font " + path + " (" + TTF_GetError() + ")");
}

void Viewer::update_layout() {
  int w = 0, h = 0;
  if (SDL_GetRendererOutputSize(renderer_.get(), &w, &h) != 0 || w <= 0 || h <= 0) {
    SDL_GetWindowSize(window_.get(), &w, &h);
  }
  width_ = std::max(w, 1);
  height_ = std::max(h, 1);
  ppu_ = std::min(width_, height_) / options_.view_extent;
  // Text scales with the window so the HUD stays readable when resized.
  const int px = std::clamp(static_cast<int>(std::lround(height_ / 40.0)), 11, 48);
  if (px != font_px_ || !font_) {
    font_px_ = px;
    open_fonts();
  }
}

void Viewer::set_size(int width, int height) {
  SDL_SetWindowSize(window_.get(), width, height);
  poll_events();  // the renderer learns the new size from the resize event
}

int Viewer::refresh_rate() const {
  SDL_DisplayMode mode;
  const int display = SDL_GetWindowDisplayIndex(window_.get());
  if (display >= 0 && SDL_GetCurrentDisplayMode(display, &mode) == 0 && mode.refresh_rate > 0)
    return mode.refresh_rate;
  return 60;
}

// ---------------------------------------------------------------------------------------------
// Shapes (screen pixels). All go through SDL_RenderGeometry so alpha blends the same everywhere.

void Viewer::color(SDL_Color c) {
  SDL_SetRenderDrawColor(renderer_.get(), c.r, c.g, c.b, c.a);
}

void Viewer::disc(double cx, double cy, double r, SDL_Color c) {
  const int n = std::clamp(static_cast<int>(r * 0.8) + 10, 10, 72);
  vertices_.clear();
  indices_.clear();
  vertices_.push_back(SDL_Vertex{{static_cast<float>(cx), static_cast<float>(cy)}, c, {0, 0}});
  for (int i = 0; i < n; ++i) {
    const double a = 2.0 * M_PI * i / n;
    vertices_.push_back(SDL_Vertex{
        {static_cast<float>(cx + r * std::cos(a)), static_cast<float>(cy + r * std::sin(a))}, c, {0, 0}});
    indices_.insert(indices_.end(), {0, 1 + i, 1 + (i + 1) % n});
  }
  SDL_RenderGeometry(renderer_.get(), nullptr, vertices_.data(), static_cast<int>(vertices_.size()),
                     indices_.data(), static_cast<int>(indices_.size()));
}

void Viewer::ring(double cx, double cy, double r, double thickness, SDL_Color c) {
  const int n = std::clamp(static_cast<int>(r * 0.8) + 12, 12, 96);
  const double r0 = std::max(0.0, r - thickness / 2), r1 = r + thickness / 2;
  vertices_.clear();
  indices_.clear();
  for (int i = 0; i < n; ++i) {
    const double a = 2.0 * M_PI * i / n, ca = std::cos(a), sa = std::sin(a);
    vertices_.push_back(
        SDL_Vertex{{static_cast<float>(cx + r0 * ca), static_cast<float>(cy + r0 * sa)}, c, {0, 0}});
    vertices_.push_back(
        SDL_Vertex{{static_cast<float>(cx + r1 * ca), static_cast<float>(cy + r1 * sa)}, c, {0, 0}});
    const int j = (i + 1) % n;
    indices_.insert(indices_.end(), {2 * i, 2 * i + 1, 2 * j, 2 * j, 2 * i + 1, 2 * j + 1});
  }
  SDL_RenderGeometry(renderer_.get(), nullptr, vertices_.data(), static_cast<int>(vertices_.size()),
                     indices_.data(), static_cast<int>(indices_.size()));
}

void Viewer::quad_line(double x0, double y0, double x1, double y1, double thickness, SDL_Color c) {
  const double dx = x1 - x0, dy = y1 - y0, len = std::hypot(dx, dy);
  if (len <= 0) return;
  const double nx = -dy / len * thickness / 2, ny = dx / len * thickness / 2;
  const auto f = [](double v) { return static_cast<float>(v); };
  const SDL_Vertex v[4] = {{{f(x0 + nx), f(y0 + ny)}, c, {0, 0}},
                           {{f(x0 - nx), f(y0 - ny)}, c, {0, 0}},
                           {{f(x1 - nx), f(y1 - ny)}, c, {0, 0}},
                           {{f(x1 + nx), f(y1 + ny)}, c, {0, 0}}};
  const int idx[6] = {0, 1, 2, 0, 2, 3};
  SDL_RenderGeometry(renderer_.get(), nullptr, v, 4, idx, 6);
}

void Viewer::triangle(const std::array<SDL_FPoint, 3>& p, SDL_Color c) {
  const SDL_Vertex v[3] = {{p[0], c, {0, 0}}, {p[1], c, {0, 0}}, {p[2], c, {0, 0}}};
  SDL_RenderGeometry(renderer_.get(), nullptr, v, 3, nullptr, 0);
}

// A triangle on the window border pointing at (sx, sy), a point outside the window.
void Viewer::offscreen_arrow(double sx, double sy, double size, SDL_Color c) {
  const double cx = 0.5 * width_, cy = 0.5 * height_;
  const double dx = sx - cx, dy = sy - cy, len = std::hypot(dx, dy);
  if (len <= 0) return;
  const double ux = dx / len, uy = dy / len;
  // Scale the ray from the centre so the tip sits `margin` inside the border.
  const double margin = 4.0;
  const double tx = ux != 0 ? (cx - margin) / std::abs(ux) : 1e30;
  const double ty = uy != 0 ? (cy - margin) / std::abs(uy) : 1e30;
  const double t = std::min(tx, ty);
  const double px = cx + ux * t, py = cy + uy * t;
  const double bx = px - ux * size, by = py - uy * size;  // base centre
  const double hx = -uy * size * 0.45, hy = ux * size * 0.45;
  const auto f = [](double v) { return static_cast<float>(v); };
  triangle({SDL_FPoint{f(px), f(py)}, SDL_FPoint{f(bx + hx), f(by + hy)}, SDL_FPoint{f(bx - hx), f(by - hy)}},
           c);
}

// ---------------------------------------------------------------------------------------------
// Text

const Viewer::Text& Viewer::text(TTF_Font* font, const std::string& s, SDL_Color c) {
  char key_prefix[32];
  std::snprintf(key_prefix, sizeof key_prefix, "%p|%02x%02x%02x%02x|", static_cast<void*>(font), c.r, c.g,
                c.b, c.a);
  const std::string key = key_prefix + s;
  for (auto& [k, t] : texts_) {
    if (k == key) {
      t.used = frame_;
      return t;
    }
  }
  Text t;
  t.used = frame_;
  SdlPtr<SDL_Surface> surface(TTF_RenderUTF8_Blended(font, s.empty() ? " " : s.c_str(), c));
  if (surface) {
    t.texture.reset(SDL_CreateTextureFromSurface(renderer_.get(), surface.get()));
    t.w = surface->w;
    t.h = surface->h;
    if (t.texture) SDL_SetTextureBlendMode(t.texture.get(), SDL_BLENDMODE_BLEND);
  }
  texts_.emplace_back(key, std::move(t));
  return texts_.back().second;
}

SDL_Point Viewer::draw_text(TTF_Font* font, const std::string& s, int x, int y, SDL_Color c) {
  const Text& t = text(font, s, c);
  if (t.texture) {
    const SDL_Rect dst{x, y, t.w, t.h};
    SDL_RenderCopy(renderer_.get(), t.texture.get(), nullptr, &dst);
  }
  return SDL_Point{t.w, t.h};
}

void Viewer::evict_text() {
  // Strings not drawn for a second (numbers that changed) are dropped.
  texts_.erase(std::remove_if(texts_.begin(), texts_.end(),
                              [&](const auto& e) { return e.second.used + 60 < frame_; }),
               texts_.end());
}

// ---------------------------------------------------------------------------------------------
// Frames

void Viewer::track(const game::GameState& state, bool episode_start) {
  if (episode_start) trails_.clear();
  trails_.push(state);
}

void Viewer::draw_scene(const game::GameState& s) {
  SDL_Renderer* r = renderer_.get();
  color(sdl(render::kBackground));
  SDL_RenderClear(r);
  const double u = ppu_;
  const auto sx = [&](double x) { return to_screen_x(x); };
  const auto sy = [&](double y) { return to_screen_y(y); };

  // The agent's window (view_extent) and the court floor.
  const double e = options_.view_extent / 2;
  const SDL_FRect view{static_cast<float>(sx(-e)), static_cast<float>(sy(e)), static_cast<float>(2 * e * u),
                       static_cast<float>(2 * e * u)};
  color(kViewOutline);
  SDL_RenderDrawRectF(r, &view);
  const double hx = game::kCourtHalfX, hy = game::kCourtHalfY;
  const SDL_FRect floor{static_cast<float>(sx(-hx)), static_cast<float>(sy(hy)),
                        static_cast<float>(2 * hx * u), static_cast<float>(2 * hy * u)};
  color(kCourtFloor);
  SDL_RenderFillRectF(r, &floor);
  const double t = std::max(2.0, std::round(u * 0.06));
  const SDL_Color line = sdl(render::kCourtLine);
  quad_line(sx(-hx) - t / 2, sy(hy), sx(hx) + t / 2, sy(hy), t, line);
  quad_line(sx(-hx) - t / 2, sy(-hy), sx(hx) + t / 2, sy(-hy), t, line);
  quad_line(sx(-hx), sy(hy), sx(-hx), sy(-hy), t, line);
  quad_line(sx(hx), sy(hy), sx(hx), sy(-hy), t, line);
  // Centre line, faint: helps to read positions.
  quad_line(sx(-hx), sy(0), sx(hx), sy(0), 1, SDL_Color{200, 200, 50, 60});

  const double half_w = 0.5 * width_ / u, half_h = 0.5 * height_ / u;
  const auto visible = [&](double x, double y, double radius) {
    return std::abs(x) - radius <= half_w && std::abs(y) - radius <= half_h;
  };
  const double arrow = std::max(10.0, 0.5 * u);

  // Thrower indicators: a disc at the future spawn point and a ring that shrinks to the throw.
  const SDL_Color ind = sdl(render::kIndicatorColor);
  for (const auto& in : s.indicators) {
    const double x = in.ball.x, y = in.ball.y;
    if (!visible(x, y, game::kIndicatorRadius)) {
      offscreen_arrow(sx(x), sy(y), arrow, SDL_Color{ind.r, ind.g, ind.b, 220});
      continue;
    }
    disc(sx(x), sy(y), std::max(2.0, game::kIndicatorRadius * u), ind);
    ring(sx(x), sy(y), (game::kIndicatorRadius + in.time_left) * u, 2.0, SDL_Color{ind.r, ind.g, ind.b, 150});
  }

  // Motion trails: each ball's last positions as fading, shrinking dots (oldest first).
  const SDL_Color ball = sdl(render::kBallColor);
  for (int i = trails_.size() - 1; i >= 1; --i) {
    const double f = 1.0 - static_cast<double>(i) / Trails::kLength;  // 1 = newest
    const SDL_Color c{ball.r, ball.g, ball.b, static_cast<Uint8>(30 + 120 * f)};
    const double rad = std::max(1.5, game::kBallRadius * u * (0.35 + 0.5 * f));
    for (const auto& p : trails_.ago(i))
      if (visible(p[0], p[1], game::kBallRadius)) disc(sx(p[0]), sy(p[1]), rad, c);
  }

  // Balls; those outside the window get a border arrow while they fly towards the court.
  const double px = s.player.x, py = s.player.y;
  for (const auto& b : s.balls) {
    if (!visible(b.x, b.y, game::kBallRadius)) {
      const bool incoming = b.vx * (px - b.x) + b.vy * (py - b.y) > 0;
      if (incoming) offscreen_arrow(sx(b.x), sy(b.y), arrow, SDL_Color{ball.r, ball.g, ball.b, 230});
      continue;
    }
    disc(sx(b.x), sy(b.y), std::max(2.0, game::kBallRadius * u), ball);
  }

  // Player: a jump shows as a shadow and a slightly larger disc.
  const double lift = std::max(0.0, s.player.z - game::kPlayerStartHeight);
  const double pr = std::max(3.0, game::kPlayerRadius * u * (1.0 + 0.12 * lift));
  if (lift > 1e-3) disc(sx(px), sy(py), game::kPlayerRadius * u, SDL_Color{0, 0, 0, 110});
  if (s.player.sprint > 0.5) ring(sx(px), sy(py), pr + 3, 2.0, SDL_Color{255, 255, 255, 90});
  disc(sx(px), sy(py), pr, sdl(render::kPlayerColor));
  // Commanded velocity, drawn from the rim so the disc's centre keeps its colour.
  const double v = std::hypot(s.player.vx, s.player.vy);
  if (v > 1e-6) {
    const double ux = s.player.vx / v, uy = -s.player.vy / v;  // screen y points down
    const double len = pr * (0.4 + 0.06 * v);
    quad_line(sx(px) + ux * pr, sy(py) + uy * pr, sx(px) + ux * (pr + len), sy(py) + uy * (pr + len),
              std::max(2.0, u * 0.07), SDL_Color{255, 255, 255, 200});
  }
  if (s.terminated) ring(sx(px), sy(py), pr + 6, 4.0, SDL_Color{255, 70, 70, 200});
}

void Viewer::draw_hud(const game::GameState& s, const HudInfo& hud) {
  TTF_Font* f = font_.get();
  const int pad = std::max(4, font_px_ / 2);
  const int line_h = TTF_FontLineSkip(f);
  char buf[256];
  std::vector<std::pair<std::string, SDL_Color>> lines;
  lines.emplace_back(hud.title, kTitle);
  if (hud.max_steps > 0)
    std::snprintf(buf, sizeof buf, "level %d   episode %d   step %d/%d", hud.level, hud.episode, hud.step,
                  hud.max_steps);
  else
    std::snprintf(buf, sizeof buf, "level %d   episode %d   step %d", hud.level, hud.episode, hud.step);
  lines.emplace_back(buf, kText);
  std::snprintf(buf, sizeof buf, "%-7s %.2f", hud.return_label.c_str(), hud.episode_return);
  lines.emplace_back(buf, kText);
  std::string act = "action ";
  if (hud.action.empty()) {
    act += " -";
  } else {
    for (std::size_t i = 0; i < hud.action.size(); ++i) {
      std::snprintf(buf, sizeof buf, " %s %+.2f",
                    game::action_component_name(hud.action_type, static_cast<int>(i)),
                    static_cast<double>(hud.action[i]));
      act += buf;
    }
  }
  lines.emplace_back(act, kText);
  char fps[32] = "-";  // measured over half a second
  if (hud.fps > 0) std::snprintf(fps, sizeof fps, "%.1f", hud.fps);
  const int n =
      std::snprintf(buf, sizeof buf, "speed   %.1f u/s   fps %s", std::hypot(s.player.vx, s.player.vy), fps);
  if (hud.target_fps > 0 && n > 0 && n < static_cast<int>(sizeof buf))
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), " (target %g)", hud.target_fps);
  lines.emplace_back(buf, kText);
  for (const auto& l : hud.lines) lines.emplace_back(l, kDim);

  int w = 0;
  for (const auto& [str, c] : lines) w = std::max(w, text(f, str, c).w);
  const int h = static_cast<int>(lines.size()) * line_h;
  hud_rect_ = SDL_Rect{pad, pad, w + 2 * pad, h + 2 * pad};
  color(kPanel);
  SDL_RenderFillRect(renderer_.get(), &hud_rect_);
  int y = 2 * pad;
  for (const auto& [str, c] : lines) {
    draw_text(f, str, 2 * pad, y, c);
    y += line_h;
  }

  if (!hud.controls.empty()) {
    const Text& t = text(f, hud.controls, kDim);
    const SDL_Rect panel{pad, height_ - pad - t.h - pad, t.w + 2 * pad, t.h + pad};
    color(kPanel);
    SDL_RenderFillRect(renderer_.get(), &panel);
    draw_text(f, hud.controls, 2 * pad, height_ - pad - t.h - pad / 2, kDim);
  }

  if (hud.game_over || hud.survived) {
    const std::string banner = hud.game_over ? "GAME OVER" : "SURVIVED";
    const SDL_Color c = hud.game_over ? kGameOver : kSurvived;
    const Text& big = text(big_font_.get(), banner, c);
    const Text* note = hud.banner_note.empty() ? nullptr : &text(f, hud.banner_note, kText);
    const int bw = std::max(big.w, note ? note->w : 0) + 4 * pad;
    const int bh = big.h + (note ? note->h : 0) + 2 * pad;
    // Below the court, where the player and the incoming balls (from +Y) are not.
    const int below = static_cast<int>(to_screen_y(-game::kCourtHalfY)) + 2 * pad;
    const int y = std::max(0, std::min(below, height_ - bh - 3 * line_h));
    const SDL_Rect panel{(width_ - bw) / 2, y, bw, bh};
    color(kPanel);
    SDL_RenderFillRect(renderer_.get(), &panel);
    draw_text(big_font_.get(), banner, (width_ - big.w) / 2, panel.y + pad, c);
    if (note) draw_text(f, hud.banner_note, (width_ - note->w) / 2, panel.y + pad + big.h, kText);
  }
}

void Viewer::draw_inset(const InsetInfo& in) {
  TTF_Font* f = font_.get();
  const int pad = std::max(4, font_px_ / 2);
  const int line_h = TTF_FontLineSkip(f);
  if (!in.frames || in.k <= 0 || in.width <= 0 || in.height <= 0) {
    const Text& t = text(f, in.note, kDim);
    inset_rect_ = SDL_Rect{width_ - t.w - 3 * pad, pad, t.w + 2 * pad, t.h + 2 * pad};
    color(kPanel);
    SDL_RenderFillRect(renderer_.get(), &inset_rect_);
    draw_text(f, in.note, inset_rect_.x + pad, inset_rect_.y + pad, kDim);
    return;
  }
  // k frames in a near-square grid, upscaled with nearest neighbour (pixels stay visible).
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(in.k))));
  const int rows = (in.k + cols - 1) / cols;
  const int tw = cols * in.width, th = rows * in.height;
  if (!inset_texture_ || inset_tex_w_ != tw || inset_tex_h_ != th) {
    inset_texture_.reset(
        SDL_CreateTexture(renderer_.get(), SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING, tw, th));
    if (!inset_texture_) return;
    SDL_SetTextureScaleMode(inset_texture_.get(), SDL_ScaleModeNearest);
    inset_tex_w_ = tw;
    inset_tex_h_ = th;
  }
  inset_rgb_.assign(static_cast<std::size_t>(tw) * th * 3, 0);
  const std::size_t plane = static_cast<std::size_t>(in.height) * in.width;
  for (int i = 0; i < in.k; ++i) {
    const std::uint8_t* fr = in.frames + static_cast<std::size_t>(i) * in.channels * plane;
    const int ox = (i % cols) * in.width, oy = (i / cols) * in.height;
    for (int y = 0; y < in.height; ++y) {
      for (int x = 0; x < in.width; ++x) {
        const std::size_t p = static_cast<std::size_t>(y) * in.width + x;
        std::uint8_t* d = &inset_rgb_[((static_cast<std::size_t>(oy + y)) * tw + ox + x) * 3];
        for (int c = 0; c < 3; ++c) d[c] = fr[(in.channels == 3 ? c : 0) * plane + p];
      }
    }
  }
  SDL_UpdateTexture(inset_texture_.get(), nullptr, inset_rgb_.data(), tw * 3);

  const double max_w = std::max(0.25 * width_, 0.5 * (width_ - height_) - 2 * pad);
  const double max_h = 0.5 * height_;
  double scale = std::min(max_w / tw, max_h / th);
  if (scale >= 2.0) scale = std::floor(scale);  // whole pixels when that costs little
  const int dw = std::max(1, static_cast<int>(tw * scale)), dh = std::max(1, static_cast<int>(th * scale));
  const Text& label = text(f, in.note, kDim);
  const int pw = std::max(dw, label.w) + 2 * pad;
  inset_rect_ = SDL_Rect{width_ - pw - pad, pad, pw, dh + line_h + 2 * pad};
  color(kPanel);
  SDL_RenderFillRect(renderer_.get(), &inset_rect_);
  draw_text(f, in.note, inset_rect_.x + pad, inset_rect_.y + pad / 2, kDim);
  const SDL_Rect dst{inset_rect_.x + pw - pad - dw, inset_rect_.y + pad / 2 + line_h, dw, dh};
  SDL_RenderCopy(renderer_.get(), inset_texture_.get(), nullptr, &dst);
  // Cell borders and ages (t = the newest), so the k frames read as separate pictures.
  for (int i = 0; i < in.k; ++i) {
    const int cx = dst.x + static_cast<int>((i % cols) * in.width * scale);
    const int cy = dst.y + static_cast<int>((i / cols) * in.height * scale);
    const SDL_Rect cell{cx, cy, static_cast<int>(in.width * scale), static_cast<int>(in.height * scale)};
    color(SDL_Color{90, 90, 110, 255});
    SDL_RenderDrawRect(renderer_.get(), &cell);
    const int age = in.k - 1 - i;
    draw_text(f, age == 0 ? "t" : "t-" + std::to_string(age), cx + 3, cy + 1, kDim);
  }
}

void Viewer::draw(const game::GameState& state, const HudInfo& hud, const InsetInfo* inset) {
  ++frame_;
  update_layout();
  draw_scene(state);
  if (inset) {
    draw_inset(*inset);
  } else {
    inset_rect_ = SDL_Rect{0, 0, 0, 0};
  }
  draw_hud(state, hud);
  evict_text();
}

void Viewer::present() {
  SDL_RenderPresent(renderer_.get());
}

output::Image Viewer::read_pixels() const {
  int w = 0, h = 0;
  if (SDL_GetRendererOutputSize(renderer_.get(), &w, &h) != 0) w = width_, h = height_;
  output::Image image(w, h, 3);
  if (SDL_RenderReadPixels(renderer_.get(), nullptr, SDL_PIXELFORMAT_RGB24, image.pixels.data(), w * 3) != 0)
    throw std::runtime_error(std::string("SDL_RenderReadPixels: ") + SDL_GetError());
  return image;
}

Events Viewer::poll_events() {
  Events ev;
  SDL_Event e;
  while (SDL_PollEvent(&e)) {
    if (e.type == SDL_QUIT) ev.quit = true;
    if (e.type == SDL_WINDOWEVENT && e.window.event == SDL_WINDOWEVENT_CLOSE) ev.quit = true;
    if (e.type == SDL_KEYDOWN && !e.key.repeat) ev.pressed.push_back(e.key.keysym.sym);
  }
  return ev;
}

game::Keys Viewer::held_keys() const {
  const Uint8* k = SDL_GetKeyboardState(nullptr);
  game::Keys keys;
  keys.up = k[SDL_SCANCODE_W] || k[SDL_SCANCODE_UP];
  keys.down = k[SDL_SCANCODE_S] || k[SDL_SCANCODE_DOWN];
  keys.left = k[SDL_SCANCODE_A] || k[SDL_SCANCODE_LEFT];
  keys.right = k[SDL_SCANCODE_D] || k[SDL_SCANCODE_RIGHT];
  keys.sprint = k[SDL_SCANCODE_LSHIFT] || k[SDL_SCANCODE_RSHIFT];
  keys.jump = k[SDL_SCANCODE_SPACE];
  return keys;
}

}  // namespace dodge::viewer

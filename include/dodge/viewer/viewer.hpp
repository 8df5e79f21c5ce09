// The SDL2 window of dodge watch / play: draws a game state at window resolution (court, thrower
// indicators, balls with motion trails, the player, off-screen arrows), a HUD with SDL2_ttf, and
// optionally the agent's stacked input frames. Frames can be read back as output::Image for tests,
// screenshots and GIF recordings.
#pragma once

#include <SDL.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dodge/game/config.hpp"
#include "dodge/game/game.hpp"
#include "dodge/output/image_io.hpp"

typedef struct _TTF_Font TTF_Font;

namespace dodge::viewer {

inline constexpr const char* kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

struct ViewerOptions {
  int width = 1280, height = 720;  // initial window size (pixels); the window is resizable
  std::string title = "dodge";
  bool vsync = false;         // present on the display's refresh (else the caller paces frames)
  double view_extent = 24.0;  // world units across the shorter window side (the agent's window)
  std::string font_path;      // empty: $DODGE_FONT, else kDefaultFont
};

// What the HUD shows; the caller fills it each frame.
struct HudInfo {
  std::string title;  // first line ("dodge play", "dodge watch results/...")
  int level = 2;
  int episode = 1;    // 1-based number of the episode on screen
  int step = 0;       // agent steps in this episode
  int max_steps = 0;  // truncation limit (0: not shown)
  double episode_return = 0.0;
  std::string return_label = "return";  // "score" in play
  game::ActionType action_type = game::ActionType::Basic3d;
  std::vector<float> action;       // the last action (empty: none yet)
  double fps = 0.0;                // measured frames per second
  double target_fps = 0.0;         // the paced rate (0: not shown)
  std::vector<std::string> lines;  // extra status lines under the numbers
  std::string controls;            // bottom line: the keys
  bool game_over = false;          // hit: "GAME OVER"
  bool survived = false;           // truncated without a hit: "SURVIVED"
  std::string banner_note;         // small line under the banner ("press R to play again")
};

// The agent's input drawn as an inset: k frames of C x H x W uint8 (CHW, oldest first), or a note.
struct InsetInfo {
  const std::uint8_t* frames = nullptr;  // k * C * H * W bytes; null: show `note` only
  int k = 0, channels = 1, height = 0, width = 0;
  std::string note;  // e.g. "agent input: 65-float vector"
};

// Balls' recent positions, newest last, for the motion trails (no ball identities needed: each
// past position is drawn as a fading dot).
class Trails {
 public:
  static constexpr int kLength = 8;
  void clear();
  void push(const game::GameState& state);
  int size() const { return count_; }
  // Positions (x, y) recorded i pushes ago (0 = the latest).
  const std::vector<std::array<float, 2>>& ago(int i) const;

 private:
  std::array<std::vector<std::array<float, 2>>, kLength> ring_;
  int head_ = -1, count_ = 0;
};

struct SdlDeleter {
  void operator()(SDL_Window* p) const { SDL_DestroyWindow(p); }
  void operator()(SDL_Renderer* p) const { SDL_DestroyRenderer(p); }
  void operator()(SDL_Texture* p) const { SDL_DestroyTexture(p); }
  void operator()(SDL_Surface* p) const { SDL_FreeSurface(p); }
  void operator()(TTF_Font* p) const;
};
template <class T>
using SdlPtr = std::unique_ptr<T, SdlDeleter>;

struct Events {
  bool quit = false;
  std::vector<SDL_Keycode> pressed;  // key presses this frame, without auto-repeat
};

class Viewer {
 public:
  // Opens the window. Throws run::UserError when there is no display or no font.
  explicit Viewer(const ViewerOptions& options);
  Viewer(const Viewer&) = delete;
  Viewer& operator=(const Viewer&) = delete;

  // Call after every reset (episode_start) and step, so the trails follow the balls.
  void track(const game::GameState& state, bool episode_start);
  const Trails& trails() const { return trails_; }

  // Draws one frame into the back buffer (read it with read_pixels, show it with present).
  void draw(const game::GameState& state, const HudInfo& hud, const InsetInfo* inset = nullptr);
  void present();
  // The back buffer as RGB (call between draw and present).
  output::Image read_pixels() const;

  Events poll_events();
  // Movement keys held now (WASD / arrows, Shift, Space).
  game::Keys held_keys() const;
  // Resizes the window (as a user dragging its border would).
  void set_size(int width, int height);
  // The display's refresh rate (Hz), 60 when unknown.
  int refresh_rate() const;

  // Drawing area and the world-to-pixel mapping (+Y up; origin at the window centre).
  int width() const { return width_; }
  int height() const { return height_; }
  double pixels_per_unit() const { return ppu_; }
  double to_screen_x(double x) const { return 0.5 * width_ + x * ppu_; }
  double to_screen_y(double y) const { return 0.5 * height_ - y * ppu_; }
  // Where the HUD text block and the inset were drawn in the last frame.
  const SDL_Rect& hud_rect() const { return hud_rect_; }
  const SDL_Rect& inset_rect() const { return inset_rect_; }

  const std::string& renderer_name() const { return renderer_name_; }

 private:
  struct Text {
    SdlPtr<SDL_Texture> texture;
    int w = 0, h = 0;
    std::uint64_t used = 0;  // frame number of the last use
  };
  void update_layout();
  void open_fonts();
  void color(SDL_Color c);
  void disc(double cx, double cy, double r, SDL_Color c);
  void ring(double cx, double cy, double r, double thickness, SDL_Color c);
  void quad_line(double x0, double y0, double x1, double y1, double thickness, SDL_Color c);
  void triangle(const std::array<SDL_FPoint, 3>& p, SDL_Color c);
  void offscreen_arrow(double x, double y, double size, SDL_Color c);
  const Text& text(TTF_Font* font, const std::string& s, SDL_Color c);
  // Draws s with its top-left at (x, y); returns its size.
  SDL_Point draw_text(TTF_Font* font, const std::string& s, int x, int y, SDL_Color c);
  void draw_scene(const game::GameState& state);
  void draw_hud(const game::GameState& state, const HudInfo& hud);
  void draw_inset(const InsetInfo& inset);
  void evict_text();

  // Undoes SDL_InitSubSystem / TTF_Init; declared first so it outlives every SDL handle below.
  struct Subsystems {
    bool video = false, ttf = false;
    Subsystems() = default;
    Subsystems(const Subsystems&) = delete;
    Subsystems& operator=(const Subsystems&) = delete;
    ~Subsystems();
  };

  Subsystems subsystems_;
  ViewerOptions options_;
  SdlPtr<SDL_Window> window_;
  SdlPtr<SDL_Renderer> renderer_;
  std::string renderer_name_;
  SdlPtr<TTF_Font> font_, big_font_;
  int font_px_ = 0;
  int width_ = 0, height_ = 0;
  double ppu_ = 1.0;
  Trails trails_;
  std::vector<SDL_Vertex> vertices_;  // reused by every shape
  std::vector<int> indices_;
  std::vector<std::pair<std::string, Text>> texts_;  // small cache of rendered strings
  std::uint64_t frame_ = 0;
  SdlPtr<SDL_Texture> inset_texture_;
  int inset_tex_w_ = 0, inset_tex_h_ = 0;
  std::vector<std::uint8_t> inset_rgb_;
  SDL_Rect hud_rect_{0, 0, 0, 0}, inset_rect_{0, 0, 0, 0};
};

// Halves an image (2 x 2 box average), for smaller GIFs.
output::Image downscale2(const output::Image& image);
// Nearest-neighbour resize (a window resized during a recording keeps the GIF's size).
output::Image resize_nearest(const output::Image& image, int width, int height);
// Maps the colours of an RGB image to at most max_colors (the most frequent kept exactly, the others
// to the nearest kept one), so GifWriter keeps the game's exact colours and text stays legible.
output::Image reduce_colors(const output::Image& image, int max_colors = 256);

}  // namespace dodge::viewer

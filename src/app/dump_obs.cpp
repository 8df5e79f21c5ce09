// dodge dump-obs: PNGs of what the CNN sees, for a seeded episode with random actions.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "dodge/app/commands.hpp"
#include "dodge/app/config.hpp"
#include "dodge/app/image_io.hpp"
#include "dodge/game/vec_env.hpp"
#include "dodge/render/frame_stack.hpp"
#include "dodge/render/render.hpp"

namespace dodge::app {

namespace {

struct DumpArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  int steps = 20;
  int skip = 0;
  std::string out;
  int scale = 4;
  std::int64_t seed = 0;
};

void dump_obs(const DumpArgs& a) {
  Config c = a.config_path.empty() ? Config{} : load_config(a.config_path);
  apply_overrides(c, a.overrides);
  validate(c);
  if (c.env.game.observation_mode != game::ObsMode::Topdown)
    throw UserError("dump-obs: env.observation_mode is " + std::string(game::to_string(c.env.game.observation_mode)) +
                    "; dump-obs shows images, so use a topdown config or --set env.observation_mode=topdown");
  if (a.steps < 1 || a.scale < 1 || a.scale > 16) throw UserError("dump-obs: --steps >= 1 and --scale in [1, 16]");
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  const std::string probe = (std::filesystem::path(a.out) / ".write_test").string();
  if (std::FILE* f = std::fopen(probe.c_str(), "w")) {
    std::fclose(f);
    std::filesystem::remove(probe, ec);
  } else {
    throw UserError("dump-obs: cannot write to the folder " + a.out);
  }
  const auto& rc = c.env.render;
  const int k = c.env.frame_stack;
  game::VecEnv env(c.env.game, 1, 1, static_cast<std::uint64_t>(a.seed));
  render::FrameStacker stacker(1, k, rc.frame_bytes());
  render::Renderer renderer(rc);
  class Sink : public game::ObsSink {
   public:
    Sink(render::Renderer& r, render::FrameStacker& s) : r_(r), s_(s) {}
    void write(int, const game::GameState& st) override {
      r_.render(st, render::dense_view(r_.config(), s_.next_frame(0)));
      s_.push(0, st.steps == 0);
    }

   private:
    render::Renderer& r_;
    render::FrameStacker& s_;
  } sink(renderer, stacker);
  game::Rng rng(static_cast<std::uint64_t>(a.seed) + 17);
  std::vector<float> action(static_cast<std::size_t>(env.action_dim()));
  game::StepOutputs out;
  env.reset(&sink);
  std::vector<std::uint8_t> stack(static_cast<std::size_t>(rc.frame_bytes() * k));
  for (int i = 0; i < a.skip + a.steps; ++i) {
    for (auto& v : action) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    env.step(action.data(), out, &sink);
    if (i < a.skip) continue;
    const int n = i - a.skip;
    stacker.write_stack(0, stack.data());
    const std::uint8_t* newest = stack.data() + (k - 1) * rc.frame_bytes();
    char name[64];
    std::snprintf(name, sizeof name, "frame_%04d.png", n);
    write_png((std::filesystem::path(a.out) / name).string(),
              chw_to_image(newest, rc.channels(), rc.height, rc.width, a.scale));
    // The k stacked frames side by side, oldest left, with a 2-pixel gap.
    const int w = rc.width * a.scale, h = rc.height * a.scale, gap = 2;
    Image strip(k * w + (k - 1) * gap, h, rc.channels());
    std::fill(strip.pixels.begin(), strip.pixels.end(), 255);
    for (int j = 0; j < k; ++j) {
      const Image f = chw_to_image(stack.data() + j * rc.frame_bytes(), rc.channels(), rc.height, rc.width, a.scale);
      for (int y = 0; y < h; ++y)
        std::copy(f.at(0, y), f.at(0, y) + w * rc.channels(), strip.at(j * (w + gap), y));
    }
    std::snprintf(name, sizeof name, "stack_%04d.png", n);
    write_png((std::filesystem::path(a.out) / name).string(), strip);
    if (out.terminated[0] || out.truncated[0]) std::printf("step %d: episode ended\n", n);
  }
  std::printf("wrote %d frames and stacks (%dx%d %s, stack %d, scale %d) to %s\n", a.steps, rc.width, rc.height,
              rc.grayscale ? "grey" : "RGB", k, a.scale, a.out.c_str());
}

}  // namespace

void register_dump_obs(CLI::App& app) {
  auto a = std::make_shared<DumpArgs>();
  auto* cmd = app.add_subcommand("dump-obs", "Write PNGs of what the CNN sees (frames and stacks)");
  cmd->add_option("--config,-c", a->config_path, "YAML config (default: built-in defaults)");
  cmd->add_option("--set", a->overrides, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--steps", a->steps, "steps to dump")->capture_default_str();
  cmd->add_option("--skip", a->skip, "steps to play before dumping")->capture_default_str();
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->add_option("--scale", a->scale, "nearest-neighbour upscaling")->capture_default_str();
  cmd->add_option("--seed", a->seed, "game seed")->capture_default_str();
  cmd->callback([a] { dump_obs(*a); });
}

}  // namespace dodge::app

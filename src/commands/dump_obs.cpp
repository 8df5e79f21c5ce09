// dodge dump-obs: what the network sees (PNGs of frames and stacks, stacks.bin), for a seeded episode
// played with random actions or, with --policy, by a checkpoint (its actions go to actions.json).
// --no-png keeps only stacks.bin and actions.json: thousands of stacks with the policy's actions are
// what the ONNX export is checked against (tests/onnx/).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "dodge/commands/commands.hpp"
#include "dodge/game/vec_env.hpp"
#include "dodge/output/image_io.hpp"
#include "dodge/render/frame_stack.hpp"
#include "dodge/render/render.hpp"
#include "dodge/run/agent.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::commands {

namespace {

struct DumpArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  int steps = 20;
  int skip = 0;
  std::string out;
  int scale = 4;
  std::int64_t seed = 0;
  std::string policy;  // a checkpoint: it plays (deterministic), and its actions are written
  std::string device = "auto";
  bool no_png = false;  // stacks.bin and actions.json only
};

void dump_obs(const DumpArgs& a) {
  // With --policy the checkpoint's own config (plus --set) decides what is observed.
  std::unique_ptr<run::Agent> agent;
  if (!a.policy.empty()) agent = run::Agent::load(a.policy, a.overrides, a.device, 1);
  run::Config c = agent                   ? agent->config()
                  : a.config_path.empty() ? run::Config{}
                                          : run::load_config(a.config_path);
  if (!agent) run::apply_overrides(c, a.overrides);
  run::validate(c);
  const bool image = c.env.game.observation_mode == game::ObsMode::Topdown;
  if (!image && !agent)
    throw run::UserError(
        "dump-obs: env.observation_mode is " + std::string(game::to_string(c.env.game.observation_mode)) +
        "; dump-obs shows images, so use a topdown config or --set env.observation_mode=topdown");
  if (a.steps < 1 || a.scale < 1 || a.scale > 16)
    throw run::UserError("dump-obs: --steps >= 1 and --scale in [1, 16]");
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  const std::string probe = (std::filesystem::path(a.out) / ".write_test").string();
  if (std::FILE* f = std::fopen(probe.c_str(), "w")) {
    std::fclose(f);
    std::filesystem::remove(probe, ec);
  } else {
    throw run::UserError("dump-obs: cannot write to the folder " + a.out);
  }
  const auto& rc = c.env.render;
  const int k = c.env.frame_stack;
  game::VecEnv env(c.env.game, 1, 1, static_cast<std::uint64_t>(a.seed));
  render::FrameStacker stacker(1, k, rc.frame_bytes());
  render::Renderer renderer(rc);
  // Every observation goes to the PNG stacker (images) and to the agent, as in evaluation.
  class Sink : public game::ObsSink {
   public:
    Sink(render::Renderer& r, render::FrameStacker& s, bool image, run::Agent* agent)
        : r_(r), s_(s), image_(image), agent_(agent) {}
    void write(int, const game::GameState& st) override {
      if (image_) {
        r_.render(st, render::dense_view(r_.config(), s_.next_frame(0)));
        s_.push(0, st.steps == 0);
      }
      if (agent_) agent_->observe(0, st, st.steps == 0);
    }

   private:
    render::Renderer& r_;
    render::FrameStacker& s_;
    bool image_;
    run::Agent* agent_;
  } sink(renderer, stacker, image, agent.get());
  game::Rng rng(static_cast<std::uint64_t>(a.seed) + 17);
  std::vector<float> action(static_cast<std::size_t>(env.action_dim()));
  game::StepOutputs out;
  env.reset(&sink);
  const run::ObsSpec spec = run::obs_spec(c);
  // stacks.bin: every dumped stack as the network receives it (raw, C order), for other tools.
  std::ofstream stacks((std::filesystem::path(a.out) / "stacks.bin").string(), std::ios::binary);
  nlohmann::json actions = nlohmann::json::array();
  std::vector<std::uint8_t> stack(static_cast<std::size_t>(rc.frame_bytes() * k));
  for (int i = 0; i < a.skip + a.steps; ++i) {
    // The decision at the current observation: the policy's mean action, or a random one.
    if (agent)
      agent->act(/*deterministic=*/true, action.data());
    else
      for (auto& v : action) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    if (i >= a.skip) {
      const int n = i - a.skip;
      if (agent) {
        const auto obs = agent->stacked_observation(0);
        stacks.write(reinterpret_cast<const char*>(obs.data()), static_cast<std::streamsize>(obs.size()));
      }
      actions.push_back(action);
      if (image) {
        stacker.write_stack(0, stack.data());
        if (!agent)
          stacks.write(reinterpret_cast<const char*>(stack.data()),
                       static_cast<std::streamsize>(stack.size()));
      }
      if (image && !a.no_png) {
        const std::uint8_t* newest = stack.data() + (k - 1) * rc.frame_bytes();
        char name[64];
        std::snprintf(name, sizeof name, "frame_%04d.png", n);
        output::write_png((std::filesystem::path(a.out) / name).string(),
                          output::chw_to_image(newest, rc.channels(), rc.height, rc.width, a.scale));
        // The k stacked frames side by side, oldest left, with a 2-pixel gap.
        const int w = rc.width * a.scale, h = rc.height * a.scale, gap = 2;
        output::Image strip(k * w + (k - 1) * gap, h, rc.channels());
        std::fill(strip.pixels.begin(), strip.pixels.end(), 255);
        for (int j = 0; j < k; ++j) {
          const output::Image f = output::chw_to_image(stack.data() + j * rc.frame_bytes(), rc.channels(),
                                                       rc.height, rc.width, a.scale);
          for (int y = 0; y < h; ++y)
            std::copy(f.at(0, y), f.at(0, y) + w * rc.channels(), strip.at(j * (w + gap), y));
        }
        std::snprintf(name, sizeof name, "stack_%04d.png", n);
        output::write_png((std::filesystem::path(a.out) / name).string(), strip);
      }
    }
    env.step(action.data(), out, &sink);
    if (i >= a.skip && (out.terminated[0] || out.truncated[0]))
      std::printf("step %d: episode ended\n", i - a.skip);
  }
  stacks.close();
  std::vector<std::int64_t> shape{a.steps};
  shape.insert(shape.end(), spec.stacked.begin(), spec.stacked.end());
  nlohmann::json meta{{"shape", shape},
                      {"dtype", image ? "uint8" : "float32"},
                      {"frame_stack", k},
                      {"observation_mode", game::to_string(c.env.game.observation_mode)}};
  std::ofstream((std::filesystem::path(a.out) / "stacks.json").string()) << meta.dump(2) << "\n";
  // The actions taken after each dumped observation, so that another player of the same game
  // (the Python package) can replay the run: the policy's mean actions, or the random ones.
  nlohmann::json j{{"seed", a.seed}, {"skip", a.skip}, {"actions", actions}};
  if (agent) {
    j["checkpoint"] = agent->checkpoint_dir();
    j["deterministic_actions"] = actions;
  }
  std::ofstream((std::filesystem::path(a.out) / "actions.json").string()) << j.dump(2) << "\n";
  if (!stacks) throw run::UserError("dump-obs: writing " + a.out + "/stacks.bin failed (disk full?)");
  std::printf(
      "wrote %d %s (%s, stack %d%s) to %s\n", a.steps, image && !a.no_png ? "frames and stacks" : "stacks",
      image ? (std::to_string(rc.width) + "x" + std::to_string(rc.height) + (rc.grayscale ? " grey" : " RGB"))
                  .c_str()
            : "vectors",
      k, agent ? ", with the policy's actions" : "", a.out.c_str());
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
  cmd->add_option(
      "--policy", a->policy,
      "a run or checkpoint: it plays (deterministic actions, written to actions.json) with its config");
  cmd->add_option("--device", a->device, "auto | cpu | cuda (with --policy)")->capture_default_str();
  cmd->add_flag("--no-png", a->no_png, "write no PNGs: only stacks.bin, stacks.json and actions.json");
  cmd->callback([a] { dump_obs(*a); });
}

}  // namespace dodge::commands

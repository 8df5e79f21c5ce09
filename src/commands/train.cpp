// dodge train: the command line of a training session (run/training.cpp runs it).
#include <cstdint>
#include <memory>
#include <string>

#include "dodge/commands/commands.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/training.hpp"

namespace dodge::commands {

void add_steps_option(CLI::App* cmd, std::optional<std::int64_t>& steps, const std::string& help) {
  cmd->add_option_function<std::string>(
      "--steps",
      [&steps](const std::string& text) {
        const auto s = run::parse_exact_integer(text);
        if (!s || *s <= 0)
          throw CLI::ValidationError("--steps", "must be a positive integer (100000 or 1e5), got " + text);
        steps = *s;
      },
      help);
}

void register_train(CLI::App& app) {
  auto args = std::make_shared<run::TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train a SAC agent from a YAML config (results/<config>/<time>/)");
  cmd->add_option("--config,-c", args->config_path, "YAML config (configs/*.yaml)");
  cmd->add_option("--set", args->overrides, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option("--resume", args->resume,
                  "continue a run folder (its newest checkpoint) or a checkpoint folder");
  cmd->add_option("--device", args->device, "auto | cpu | cuda | cuda:N (overrides train.device)");
  cmd->add_option_function<std::int64_t>(
      "--seed", [args](const std::int64_t& s) { args->seed = s; }, "train.seed");
  add_steps_option(cmd, args->steps, "env steps to train (1e6 works; with --resume: this many more)");
  cmd->add_option("--results,--out", args->results, "results root folder (the run goes in RESULTS/<config>/<time>/)")
      ->capture_default_str();
  cmd->callback([args] { run::train(*args); });
}

}  // namespace dodge::commands

// dodge train: the command line of a training session (run/training.cpp runs it).
#include <cstdint>
#include <memory>
#include <string>

#include "dodge/commands/commands.hpp"
#include "dodge/run/training.hpp"

namespace dodge::commands {

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
  cmd->add_option_function<std::int64_t>(
      "--steps",
      [args](const std::int64_t& s) {
        if (s <= 0)
          throw CLI::ValidationError("--steps", "must be a positive integer, got " + std::to_string(s));
        args->steps = s;
      },
      "env steps to train (with --resume: this many more)");
  cmd->add_option("--results", args->results, "results root folder")->capture_default_str();
  cmd->callback([args] { run::train(*args); });
}

}  // namespace dodge::commands

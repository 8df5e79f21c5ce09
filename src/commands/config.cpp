// dodge config: the fully resolved config a training would use (defaults included), or the list of
// every key with what it allows and its default (docs/configuration.md is checked against it).
#include "dodge/run/config.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dodge/commands/commands.hpp"

namespace dodge::commands {
namespace {

struct ConfigArgs {
  std::string config_path;
  std::vector<std::string> overrides;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> steps;
  std::string device;
  bool keys = false;
};

// One line per key: "section.key<TAB>allowed<TAB>default", in schema order.
void print_keys() {
  run::Config defaults;
  for (const auto& f : run::schema(defaults))
    std::printf("%s.%s\t%s\t%s\n", f.section.c_str(), f.key.c_str(), f.allowed.c_str(), f.get().c_str());
}

// As dodge train resolves it: the file over the defaults, then --set in order, --seed, --steps, --device.
void print_config(const ConfigArgs& a) {
  run::Config c = a.config_path.empty() ? run::Config{} : run::load_config(a.config_path);
  run::apply_overrides(c, a.overrides);
  if (a.seed) c.train.seed = *a.seed;
  if (a.steps) c.train.total_timesteps = *a.steps;
  if (!a.device.empty()) c.train.device = a.device;
  run::validate(c);
  std::printf("# %s: dodge train --config %s would use these values (results/%s/<time>/config.yaml)\n",
              a.config_path.empty() ? "the defaults" : a.config_path.c_str(),
              a.config_path.empty() ? "FILE" : a.config_path.c_str(), c.name.c_str());
  std::fputs(run::to_yaml(c).c_str(), stdout);
}

}  // namespace

void register_config(CLI::App& app) {
  auto args = std::make_shared<ConfigArgs>();
  auto* cmd = app.add_subcommand(
      "config", "Print the fully resolved config (defaults included) that dodge train would use, and exit");
  cmd->add_option("--config,-c", args->config_path, "YAML config (configs/*.yaml); without it: the defaults");
  cmd->add_option("--set", args->overrides, "override a key: section.key=value (repeatable)")->take_all();
  cmd->add_option_function<std::int64_t>(
      "--seed", [args](const std::int64_t& s) { args->seed = s; }, "train.seed");
  add_steps_option(cmd, args->steps, "train.total_timesteps (1e6 works)");
  cmd->add_option("--device", args->device, "auto | cpu | cuda | cuda:N (overrides train.device)");
  cmd->add_flag("--keys", args->keys,
                "instead: every key, one a line: section.key, TAB, what it allows, TAB, its default");
  cmd->callback([args] {
    if (args->keys)
      print_keys();
    else
      print_config(*args);
  });
}

}  // namespace dodge::commands

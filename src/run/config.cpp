#include "dodge/run/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace dodge::run {
namespace {

using game::ActionType;
using game::ObsMode;
using game::ThrowerIndicator;

std::string fmt_double(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  // Keep a float looking like a float in YAML ("2.0", not "2").
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsNull()) return "null";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

[[noreturn]] void bad_value(const std::string& name, const YAML::Node& n, const std::string& allowed) {
  throw ConfigError(name + " = " + scalar_text(n) + " is not allowed; allowed: " + allowed);
}

template <typename T>
T parse_scalar(const std::string& name, const YAML::Node& n, const std::string& type_name,
               const std::string& allowed) {
  if (!n.IsScalar()) throw ConfigError(name + " must be " + type_name + ", got " + scalar_text(n));
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError(name + " must be " + type_name + " (" + allowed + "), got \"" + n.Scalar() + "\"");
  }
}

}  // namespace

std::optional<std::int64_t> parse_exact_integer(const std::string& text) {
  std::int64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (!text.empty() && text[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec == std::errc() && p == e) return v;
  // 1e6, 2.5e5, 100000.0: a finite number with no fractional part, exactly representable.
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d) || d != std::floor(d) ||
      std::abs(d) > 9.007199254740992e15)
    return std::nullopt;
  return static_cast<std::int64_t>(d);
}

namespace {

struct Range {
  double lo, hi;
  bool lo_open = false, hi_open = false;
  bool contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};

std::string range_text(const Range& r, bool integer) {
  auto num = [&](double v) -> std::string {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (integer || (v == std::floor(v) && std::abs(v) < 1e15)) return std::to_string(static_cast<long long>(v));
    std::string s = fmt_double(v);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  };
  return std::string(r.lo_open ? "(" : "[") + num(r.lo) + ", " + num(r.hi) + (r.hi_open ? ")" : "]");
}

constexpr double kInf = std::numeric_limits<double>::infinity();

class Builder {
 public:
  explicit Builder(std::vector<Field>& out) : out_(out) {}
  std::string section;

  template <typename Int>
  void integer(const std::string& key, Int& ref, Range r) {
    const std::string name = section + "." + key;
    const std::string allowed = "an integer in " + range_text(r, true);
    add(key, allowed,
        [&ref, name, r, allowed](const YAML::Node& n) {
          if (!n.IsScalar()) throw ConfigError(name + " must be an integer, got " + scalar_text(n));
          // RL Zoo's YAML writes 1e6: exact integers in float notation are integers too.
          const auto parsed = parse_exact_integer(n.Scalar());
          if (!parsed) throw ConfigError(name + " must be an integer (" + allowed + "), got \"" + n.Scalar() + "\"");
          const long long v = *parsed;
          if (!r.contains(static_cast<double>(v))) bad_value(name, n, allowed);
          ref = static_cast<Int>(v);
        },
        [&ref] { return std::to_string(ref); });
  }

  void real(const std::string& key, double& ref, Range r) {
    const std::string name = section + "." + key;
    const std::string allowed = "a number in " + range_text(r, false);
    add(key, allowed,
        [&ref, name, r, allowed](const YAML::Node& n) {
          const auto v = parse_scalar<double>(name, n, "a number", allowed);
          if (!std::isfinite(v) || !r.contains(v)) bad_value(name, n, allowed);
          ref = v;
        },
        [&ref] { return fmt_double(ref); });
  }

  // null (or absent) means "the level's default".
  void optional_real(const std::string& key, std::optional<double>& ref, Range r) {
    const std::string name = section + "." + key;
    const std::string allowed = "null (the level's default) or a number in " + range_text(r, false);
    add(key, allowed,
        [&ref, name, r, allowed](const YAML::Node& n) {
          if (n.IsNull() || (n.IsScalar() && (n.Scalar() == "null" || n.Scalar() == "~"))) {
            ref.reset();
            return;
          }
          const auto v = parse_scalar<double>(name, n, "a number", allowed);
          if (!std::isfinite(v) || !r.contains(v)) bad_value(name, n, allowed);
          ref = v;
        },
        [&ref] { return ref ? fmt_double(*ref) : std::string("null"); });
  }

  // train.stop_when: a map of optional thresholds, e.g. {mean_reward: 950, success_rate: 0.95}.
  void stop_rule(const std::string& key, StopRule& ref) {
    const std::string name = section + "." + key;
    const std::string allowed =
        "a map with any of mean_reward (a number), success_rate (a number in [0, 1]), no_improvement_evals (an "
        "integer in [0, 1000000]), e.g. {mean_reward: 950, success_rate: 0.95}; {} never stops";
    add(key, allowed,
        [&ref, name, allowed](const YAML::Node& n) {
          StopRule r;
          if (n.IsNull() || (n.IsScalar() && (n.Scalar() == "null" || n.Scalar() == "~"))) {
            ref = r;
            return;
          }
          if (!n.IsMap()) bad_value(name, n, allowed);
          for (const auto& kv : n) {
            const std::string k = kv.first.as<std::string>();
            const std::string sub = name + "." + k;
            if (k == "mean_reward") {
              const auto v = parse_scalar<double>(sub, kv.second, "a number", "a number");
              if (!std::isfinite(v)) bad_value(sub, kv.second, "a finite number");
              r.mean_reward = v;
            } else if (k == "success_rate") {
              const auto v = parse_scalar<double>(sub, kv.second, "a number", "a number in [0, 1]");
              if (!(v >= 0 && v <= 1)) bad_value(sub, kv.second, "a number in [0, 1]");
              r.success_rate = v;
            } else if (k == "no_improvement_evals") {
              const auto v = kv.second.IsScalar() ? parse_exact_integer(kv.second.Scalar()) : std::nullopt;
              if (!v || *v < 0 || *v > 1000000) bad_value(sub, kv.second, "an integer in [0, 1000000]");
              r.no_improvement_evals = static_cast<int>(*v);
            } else {
              throw ConfigError("unknown key " + sub + "; allowed: mean_reward, success_rate, no_improvement_evals");
            }
          }
          ref = r;
        },
        [&ref] {
          std::string s;
          if (ref.mean_reward) s += "mean_reward: " + fmt_double(*ref.mean_reward);
          if (ref.success_rate) s += std::string(s.empty() ? "" : ", ") + "success_rate: " + fmt_double(*ref.success_rate);
          if (ref.no_improvement_evals > 0)
            s += std::string(s.empty() ? "" : ", ") + "no_improvement_evals: " + std::to_string(ref.no_improvement_evals);
          return "{" + s + "}";
        });
  }

  void boolean(const std::string& key, bool& ref) {
    const std::string name = section + "." + key;
    add(key, "true | false",
        [&ref, name](const YAML::Node& n) { ref = parse_scalar<bool>(name, n, "true or false", "true | false"); },
        [&ref] { return std::string(ref ? "true" : "false"); });
  }

  void choice(const std::string& key, std::string& ref, const std::vector<std::string>& choices) {
    const std::string name = section + "." + key;
    std::string allowed;
    for (const auto& c : choices) allowed += (allowed.empty() ? "" : " | ") + c;
    add(key, allowed,
        [&ref, name, choices, allowed](const YAML::Node& n) {
          const auto v = parse_scalar<std::string>(name, n, "a string", allowed);
          if (std::find(choices.begin(), choices.end(), v) == choices.end()) bad_value(name, n, allowed);
          ref = v;
        },
        [&ref] { return ref; });
  }

  // A string validated by a predicate (e.g. "auto" or a positive number).
  void text(const std::string& key, std::string& ref, const std::string& allowed,
            std::function<bool(const std::string&)> ok) {
    const std::string name = section + "." + key;
    add(key, allowed,
        [&ref, name, allowed, ok](const YAML::Node& n) {
          const auto v = parse_scalar<std::string>(name, n, "a string", allowed);
          if (!ok(v)) bad_value(name, n, allowed);
          ref = v;
        },
        [&ref] { return ref; });
  }

  template <typename Enum>
  void enumeration(const std::string& key, Enum& ref, const std::vector<Enum>& values) {
    const std::string name = section + "." + key;
    std::string allowed;
    for (auto v : values) allowed += (allowed.empty() ? "" : " | ") + std::string(to_string(v));
    add(key, allowed,
        [&ref, name, values, allowed](const YAML::Node& n) {
          const auto s = parse_scalar<std::string>(name, n, "a string", allowed);
          for (auto v : values)
            if (s == to_string(v)) {
              ref = v;
              return;
            }
          bad_value(name, n, allowed);
        },
        [&ref] { return std::string(to_string(ref)); });
  }

  void int_list(const std::string& key, std::vector<int>& ref, Range r, int max_len) {
    const std::string name = section + "." + key;
    const std::string allowed = "a list of 1.." + std::to_string(max_len) + " integers in " + range_text(r, true);
    add(key, allowed,
        [&ref, name, r, max_len, allowed](const YAML::Node& n) {
          if (!n.IsSequence() || n.size() < 1 || n.size() > static_cast<std::size_t>(max_len))
            bad_value(name, n, allowed);
          std::vector<int> v;
          for (const auto& item : n) {
            const auto x = parse_scalar<long long>(name, item, "a list of integers", allowed);
            if (!r.contains(static_cast<double>(x))) bad_value(name, n, allowed);
            v.push_back(static_cast<int>(x));
          }
          ref = v;
        },
        [&ref] {
          std::string s = "[";
          for (std::size_t i = 0; i < ref.size(); ++i) s += (i ? ", " : "") + std::to_string(ref[i]);
          return s + "]";
        });
  }

 private:
  void add(const std::string& key, const std::string& allowed, std::function<void(const YAML::Node&)> set,
           std::function<std::string()> get) {
    out_.push_back(Field{section, key, allowed, std::move(set), std::move(get)});
  }
  std::vector<Field>& out_;
};

bool is_positive_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && !s.empty() && std::isfinite(v) && v > 0;
}
bool is_number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && !s.empty() && std::isfinite(v);
}

std::string where(const std::string& source, const YAML::Mark& m) {
  if (m.line < 0) return source;
  return source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::vector<std::string> qualified_keys(const std::vector<Field>& fields) {
  std::vector<std::string> v;
  for (const auto& f : fields) v.push_back(f.section + "." + f.key);
  return v;
}

const Field* find_field(const std::vector<Field>& fields, const std::string& section, const std::string& key) {
  for (const auto& f : fields)
    if (f.section == section && f.key == key) return &f;
  return nullptr;
}

std::string unknown_key_message(const std::vector<Field>& fields, const std::string& section,
                                const std::string& key) {
  std::vector<std::string> in_section;
  for (const auto& f : fields)
    if (f.section == section) in_section.push_back(f.key);
  std::string msg = "unknown key " + section + "." + key;
  std::string s = nearest(key, in_section);
  if (!s.empty()) return msg + "; did you mean " + section + "." + s + "?";
  s = nearest(section + "." + key, qualified_keys(fields));
  if (s.empty()) {
    // The key may belong to another section.
    for (const auto& f : fields)
      if (f.key == key) s = f.section + "." + f.key;
  }
  if (!s.empty()) return msg + "; did you mean " + s + "?";
  return msg + " (see the keys of section " + section + " in configs/)";
}

void apply_node(Config& config, const YAML::Node& root, const std::string& source) {
  std::vector<Field> fields = schema(config);
  const std::vector<std::string> sections = {"env", "sac", "train"};
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(where(source, root.Mark()) + ": the top level must be a map of sections (env, sac, train)");
  for (const auto& sec : root) {
    const std::string section = sec.first.as<std::string>();
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      std::string msg = where(source, sec.first.Mark()) + ": unknown section " + section;
      const std::string s = nearest(section, sections);
      throw ConfigError(msg + (s.empty() ? "; sections are env, sac, train" : "; did you mean " + s + "?"));
    }
    if (sec.second.IsNull()) continue;
    if (!sec.second.IsMap()) throw ConfigError(where(source, sec.second.Mark()) + ": section " + section + " must be a map of keys");
    for (const auto& kv : sec.second) {
      const std::string key = kv.first.as<std::string>();
      const Field* f = find_field(fields, section, key);
      if (!f) throw ConfigError(where(source, kv.first.Mark()) + ": " + unknown_key_message(fields, section, key));
      try {
        f->set(kv.second);
      } catch (const ConfigError& e) {
        throw ConfigError(where(source, kv.second.Mark()) + ": " + e.what());
      }
    }
  }
}

}  // namespace

std::vector<Field> schema(Config& c) {
  std::vector<Field> f;
  Builder b(f);
  game::GameConfig& g = c.env.game;
  render::RenderConfig& r = c.env.render;
  b.section = "env";
  b.integer("level", g.level, {1, 2});
  b.real("spawn_angle_degrees", g.spawn_angle_degrees, {0, 180, true});
  b.real("player_speed", g.player_speed, {0, 50, true});
  b.real("sprint_multiplier", g.sprint_multiplier, {0, 10});
  b.enumeration("action_space_type", g.action_space_type,
                {ActionType::Basic3d, ActionType::Basic4dJump, ActionType::Tilt5d, ActionType::Full6d});
  b.enumeration("observation_mode", g.observation_mode, {ObsMode::Standard, ObsMode::WithThrower, ObsMode::Topdown});
  b.real("thrower_delay_seconds", g.thrower_delay_seconds, {0, 10});
  b.enumeration("thrower_indicator", g.thrower_indicator,
                {ThrowerIndicator::Auto, ThrowerIndicator::On, ThrowerIndicator::Off});
  b.real("collision_penalty", g.collision_penalty, {-1e6, 0});
  b.real("survival_reward", g.survival_reward, {-100, 100});
  b.real("dodge_bonus_threshold", g.dodge_bonus_threshold, {0, 50, true});
  b.real("dodge_bonus_multiplier", g.dodge_bonus_multiplier, {0, 100});
  b.optional_real("projectile_spawn_interval", g.projectile_spawn_interval, {0, 60, true});
  b.optional_real("projectile_spawn_height", g.projectile_spawn_height, {0, 100, true});
  b.optional_real("projectile_flight_time", g.projectile_flight_time, {0, 60, true});
  b.integer("max_episode_steps", g.max_episode_steps, {1, 1e9});
  b.integer("physics_hz", g.physics_hz, {1, 1000});
  b.integer("frame_skip", g.frame_skip, {1, 1000});
  b.integer("image_width", r.width, {16, 512});
  b.integer("image_height", r.height, {16, 512});
  b.boolean("image_grayscale", r.grayscale);
  b.enumeration("grey_palette", r.grey_palette, {render::GreyPalette::Luma, render::GreyPalette::Contrast});
  b.real("view_extent", r.view_extent, {0, 1000, true});
  b.real("min_radius_px", r.min_radius_px, {0, 64});
  b.boolean("offscreen_markers", r.offscreen_markers);
  b.integer("frame_stack", c.env.frame_stack, {1, 16});
  b.integer("n_envs", c.env.n_envs, {1, 4096});

  SacConfig& s = c.sac;
  b.section = "sac";
  b.integer("buffer_size", s.buffer_size, {1, 1e10});
  b.integer("batch_size", s.batch_size, {1, 65536});
  b.real("learning_rate", s.learning_rate, {0, 1, true});
  b.real("actor_learning_rate", s.actor_learning_rate, {0, 1});
  b.real("critic_learning_rate", s.critic_learning_rate, {0, 1});
  b.real("gamma", s.gamma, {0, 1});
  b.real("tau", s.tau, {0, 1, true});
  b.integer("n_step", s.n_step, {1, 100});
  b.text("ent_coef", s.ent_coef, "auto or a positive number",
         [](const std::string& v) { return v == "auto" || is_positive_number(v); });
  b.real("ent_coef_init", s.ent_coef_init, {0, 100, true});
  b.text("target_entropy", s.target_entropy_text, "auto (minus the action dimension) or a number",
         [](const std::string& v) { return v == "auto" || is_number(v); });
  b.int_list("net_arch", s.net_arch, {1, 8192}, 8);
  b.integer("features_dim", s.features_dim, {1, 8192});
  b.choice("encoder", s.encoder, {"nature", "drq"});
  b.boolean("layer_norm", s.layer_norm);
  b.choice("encoder_mode", s.encoder_mode, {"shared", "separate"});
  b.boolean("target_encoder", s.target_encoder);
  b.real("encoder_tau", s.encoder_tau, {0, 1});
  b.choice("augment", s.augment, {"random_shift", "none"});
  b.integer("target_update_interval", s.target_update_interval, {1, 1e6});
  b.integer("actor_update_interval", s.actor_update_interval, {1, 1000});
  b.real("policy_average", s.policy_average, {0, 1});
  b.choice("precision", s.precision, {"fp32", "tf32", "bf16", "auto"});
  b.boolean("cuda_graph", s.cuda_graph);

  TrainConfig& t = c.train;
  b.section = "train";
  b.integer("total_timesteps", t.total_timesteps, {1, 1e12});
  b.integer("learning_starts", t.learning_starts, {0, 1e12});
  b.integer("train_freq", t.train_freq, {1, 1e6});
  b.integer("gradient_steps", t.gradient_steps, {-1, 1e6});
  b.integer("eval_freq", t.eval_freq, {0, 1e12});
  b.integer("n_eval_episodes", t.n_eval_episodes, {1, 100000});
  b.integer("eval_envs", t.eval_envs, {0, 1024});
  b.integer("checkpoint_freq", t.checkpoint_freq, {0, 1e12});
  b.integer("keep_checkpoints", t.keep_checkpoints, {1, 1000});
  b.boolean("save_replay_buffer", t.save_replay_buffer);
  b.integer("seed", t.seed, {0, 9.0e15});
  b.text("device", t.device, "auto | cpu | cuda | cuda:N", [](const std::string& v) {
    if (v == "auto" || v == "cpu" || v == "cuda") return true;
    return v.rfind("cuda:", 0) == 0 && v.size() > 5 &&
           v.find_first_not_of("0123456789", 5) == std::string::npos;
  });
  b.integer("threads", t.threads, {0, 256});
  b.integer("log_interval", t.log_interval, {1, 1e12});
  b.integer("dist_timeout", t.dist_timeout, {10, 604800});
  b.stop_rule("stop_when", t.stop_when);
  b.real("max_minutes", t.max_minutes, {0, 1e7});
  return f;
}

Config parse_config(const std::string& text, const std::string& source) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(where(source, e.mark) + ": YAML syntax error: " + e.msg);
  }
  apply_node(config, root, source);
  return config;
}

Config load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path + ": is a directory; --config takes a YAML file (e.g. configs/quickstart.yaml)");
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the config file (missing or unreadable)");
  std::stringstream ss;
  ss << in.rdbuf();
  // An empty or comment-only file is almost always a mistake (a user who wants every default has
  // configs/example.yaml).
  bool empty = false;
  try {
    const YAML::Node root = YAML::Load(ss.str());
    empty = root.IsNull() || (root.IsMap() && root.size() == 0);
  } catch (const YAML::ParserException&) {
    // parse_config reports the syntax error with its line and column
  }
  if (empty)
    throw ConfigError(path + ": the config is empty (no keys); give at least one of the sections env, sac, train, "
                      "or start from configs/example.yaml");
  Config c = parse_config(ss.str(), path);
  std::string stem = path;
  const auto slash = stem.find_last_of('/');
  if (slash != std::string::npos) stem = stem.substr(slash + 1);
  const auto dot = stem.find_last_of('.');
  if (dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  c.name = stem;
  return c;
}

void apply_overrides(Config& config, const std::vector<std::string>& overrides) {
  std::vector<Field> fields = schema(config);
  for (const auto& o : overrides) {
    const std::string src = "--set " + o;
    const auto eq = o.find('=');
    const auto dot = o.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
      throw ConfigError(src + ": expected section.key=value (e.g. train.seed=3)");
    const std::string section = o.substr(0, dot), key = o.substr(dot + 1, eq - dot - 1), value = o.substr(eq + 1);
    const Field* f = find_field(fields, section, key);
    if (!f) {
      if (section != "env" && section != "sac" && section != "train") {
        const std::string s = nearest(section, {"env", "sac", "train"});
        throw ConfigError(src + ": unknown section " + section + (s.empty() ? "" : "; did you mean " + s + "?"));
      }
      throw ConfigError(src + ": " + unknown_key_message(fields, section, key));
    }
    YAML::Node n;
    try {
      n = YAML::Load(value);
    } catch (const YAML::Exception& e) {
      throw ConfigError(src + ": cannot parse the value: " + e.msg);
    }
    try {
      f->set(n);
    } catch (const ConfigError& e) {
      throw ConfigError(src + ": " + e.what());
    }
  }
}

void validate(const Config& c) {
  const auto& t = c.train;
  const auto& s = c.sac;
  if (c.env.render.width * c.env.render.height == 0) throw ConfigError("env.image_width/height must be positive");
  if (s.buffer_size < s.batch_size)
    throw ConfigError("sac.buffer_size = " + std::to_string(s.buffer_size) + " is smaller than sac.batch_size = " +
                      std::to_string(s.batch_size) + "; allowed: buffer_size >= batch_size");
  if (s.buffer_size < 4 * static_cast<std::int64_t>(c.env.n_envs) * (c.env.frame_stack + 1))
    throw ConfigError("sac.buffer_size = " + std::to_string(s.buffer_size) + " is too small for env.n_envs = " +
                      std::to_string(c.env.n_envs) + "; allowed: at least 4 * n_envs * (frame_stack + 1)");
  if (t.gradient_steps == 0) throw ConfigError("train.gradient_steps = 0 is not allowed; allowed: -1 or [1, 1000000]");
  // sac.augment with vector observations is allowed: the learner only shifts images.
}

std::string to_yaml(const Config& config) {
  Config copy = config;  // schema() binds to a mutable config
  std::string out;
  std::string section;
  for (const auto& f : schema(copy)) {
    if (f.section != section) {
      section = f.section;
      out += section + ":\n";
    }
    out += "  " + f.key + ": " + f.get() + "\n";
  }
  return out;
}

std::vector<std::string> diff(const Config& a, const Config& b, const std::vector<std::string>& keys) {
  Config ca = a, cb = b;
  const auto fa = schema(ca), fb = schema(cb);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < fa.size(); ++i) {
    const std::string q = fa[i].section + "." + fa[i].key;
    if (!keys.empty() && std::find(keys.begin(), keys.end(), q) == keys.end()) continue;
    const std::string va = fa[i].get(), vb = fb[i].get();
    if (va != vb) out.push_back(q + ": " + va + " vs " + vb);
  }
  return out;
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  auto lev = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = lev(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // Close enough: at most a third of the word's letters changed (and at least 2 allowed).
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best_d <= limit) return best;
  // Or an abbreviation / a longer spelling of a candidate ("enviroment" for "env").
  for (const auto& c : candidates)
    if (c.size() >= 3 && word.size() >= 3 && (word.rfind(c, 0) == 0 || c.rfind(word, 0) == 0)) return c;
  return std::string();
}

}  // namespace dodge::run

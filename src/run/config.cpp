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

using game::format_double;
using game::Range;

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsNull()) return "null";
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i) s += (i ? " | " : "") + words[i];
  return s;
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

// A key of game/keys.hpp (checks scalar text) as a Field that reads a YAML node.
Field field_of(const game::Key& k) {
  auto set = [k](const YAML::Node& n) {
    if (!n.IsNull() && !n.IsScalar()) throw ConfigError(k.name() + " must be " + k.type + ", got " + scalar_text(n));
    try {
      k.set(n.IsNull() ? std::nullopt : std::optional<std::string>(n.Scalar()));
    } catch (const game::KeyError& e) {
      throw ConfigError(e.what());
    }
  };
  return Field{k.section, k.key, k.allowed, set, k.get};
}

// Scalar keys come from game::KeyBuilder (the rules the Python package shares); the two keys
// that take a YAML list or map are read here.
class Builder {
 public:
  explicit Builder(std::vector<Field>& out) : out_(out) {}

  void section(const std::string& name) {
    flush();
    keys_ = std::make_unique<game::KeyBuilder>(pending_, name);
  }
  game::KeyBuilder& keys() { return *keys_; }
  void add_keys(const std::vector<game::Key>& keys) {
    for (const auto& k : keys) out_.push_back(field_of(k));
  }
  // Moves the scalar keys built so far into the fields, keeping the schema's order.
  void flush() {
    add_keys(pending_);
    pending_.clear();
  }

  // train.stop_when: a map of optional thresholds, e.g. {mean_reward: 950, success_rate: 0.95}.
  void stop_rule(const std::string& key, StopRule& ref) {
    flush();
    const std::string name = keys_->section() + "." + key;
    const std::string allowed =
        "a map with any of mean_reward (a number), success_rate (a number in [0, 1]), no_improvement_evals (an "
        "integer in [0, 1000000]), evals_in_a_row (an integer in [1, 1000]: how many evaluations in a row must meet "
        "the bar), e.g. {mean_reward: 950, success_rate: 0.95, evals_in_a_row: 2}; {} never stops";
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
            } else if (k == "evals_in_a_row") {
              const auto v = kv.second.IsScalar() ? parse_exact_integer(kv.second.Scalar()) : std::nullopt;
              if (!v || *v < 1 || *v > 1000) bad_value(sub, kv.second, "an integer in [1, 1000]");
              r.evals_in_a_row = static_cast<int>(*v);
            } else {
              throw ConfigError("unknown key " + sub +
                                "; allowed: mean_reward, success_rate, no_improvement_evals, evals_in_a_row");
            }
          }
          ref = r;
        },
        [&ref] {
          std::string s;
          if (ref.mean_reward) s += "mean_reward: " + format_double(*ref.mean_reward);
          if (ref.success_rate) s += std::string(s.empty() ? "" : ", ") + "success_rate: " + format_double(*ref.success_rate);
          if (ref.no_improvement_evals > 0)
            s += std::string(s.empty() ? "" : ", ") + "no_improvement_evals: " + std::to_string(ref.no_improvement_evals);
          if (ref.evals_in_a_row != 1)
            s += std::string(s.empty() ? "" : ", ") + "evals_in_a_row: " + std::to_string(ref.evals_in_a_row);
          return "{" + s + "}";
        });
  }

  // train.curriculum: {key: spawn_angle_degrees, lessons: [30, 60], mean_reward: 900, success_rate: 0.9,
  // min_episodes: 100, max_steps: 100000}. The lesson values are checked against the key in validate().
  void curriculum(const std::string& key, Curriculum& ref) {
    flush();
    const std::string name = keys_->section() + "." + key;
    const std::string allowed =
        "a map with key (one of " + join(curriculum_keys()) +
        "), lessons (a list of 1..16 numbers), and optionally mean_reward (a number), success_rate (a number in "
        "[0, 1]), min_episodes (an integer in [1, 1000000]), max_steps (an integer in [1, 10^12]), max_share (a number in "
        "(0, 1]: lesson k ends by k x max_share of the run's steps or minutes); {} for none";
    add(key, allowed,
        [&ref, name, allowed](const YAML::Node& n) {
          Curriculum c;
          if (n.IsNull() || (n.IsScalar() && (n.Scalar() == "null" || n.Scalar() == "~"))) {
            ref = c;
            return;
          }
          if (!n.IsMap()) bad_value(name, n, allowed);
          for (const auto& kv : n) {
            const std::string k = kv.first.as<std::string>();
            const std::string sub = name + "." + k;
            if (k == "key") {
              c.key = parse_scalar<std::string>(sub, kv.second, "a key name", join(curriculum_keys()));
              const auto& keys = curriculum_keys();
              if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) bad_value(sub, kv.second, join(keys));
            } else if (k == "lessons") {
              if (!kv.second.IsSequence() || kv.second.size() < 1 || kv.second.size() > 16)
                bad_value(sub, kv.second, "a list of 1..16 numbers, e.g. [30, 60]");
              for (const auto& v : kv.second) {
                const auto x = parse_scalar<double>(sub, v, "a list of numbers", "a list of 1..16 numbers");
                if (!std::isfinite(x)) bad_value(sub, kv.second, "a list of finite numbers");
                c.lessons.push_back(x);
              }
            } else if (k == "mean_reward") {
              const auto v = parse_scalar<double>(sub, kv.second, "a number", "a number");
              if (!std::isfinite(v)) bad_value(sub, kv.second, "a finite number");
              c.mean_reward = v;
            } else if (k == "success_rate") {
              const auto v = parse_scalar<double>(sub, kv.second, "a number", "a number in [0, 1]");
              if (!(v >= 0 && v <= 1)) bad_value(sub, kv.second, "a number in [0, 1]");
              c.success_rate = v;
            } else if (k == "min_episodes") {
              const auto v = kv.second.IsScalar() ? parse_exact_integer(kv.second.Scalar()) : std::nullopt;
              if (!v || *v < 1 || *v > 1000000) bad_value(sub, kv.second, "an integer in [1, 1000000]");
              c.min_episodes = static_cast<int>(*v);
            } else if (k == "max_steps") {
              const auto v = kv.second.IsScalar() ? parse_exact_integer(kv.second.Scalar()) : std::nullopt;
              if (!v || *v < 1 || *v > 1'000'000'000'000) bad_value(sub, kv.second, "an integer in [1, 10^12]");
              c.max_steps = *v;
            } else if (k == "max_share") {
              const auto v = parse_scalar<double>(sub, kv.second, "a number", "a number in (0, 1]");
              if (!(v > 0 && v <= 1)) bad_value(sub, kv.second, "a number in (0, 1]");
              c.max_share = v;
            } else {
              const std::vector<std::string> known = {"key", "lessons", "mean_reward", "success_rate", "min_episodes",
                                                      "max_steps",   "max_share"};
              throw ConfigError("unknown key " + sub + "; allowed: " + join(known));
            }
          }
          if (c.key.empty() != c.lessons.empty())
            throw ConfigError(name + " needs both key and lessons (e.g. {key: spawn_angle_degrees, lessons: [30, 60], "
                              "mean_reward: 900, success_rate: 0.9}), or neither");
          ref = c;
        },
        [&ref] {
          if (!ref.any()) return std::string("{}");
          std::string s = "{key: " + ref.key + ", lessons: [";
          for (std::size_t i = 0; i < ref.lessons.size(); ++i) s += (i ? ", " : "") + format_double(ref.lessons[i]);
          s += "]";
          if (ref.mean_reward) s += ", mean_reward: " + format_double(*ref.mean_reward);
          if (ref.success_rate) s += ", success_rate: " + format_double(*ref.success_rate);
          s += ", min_episodes: " + std::to_string(ref.min_episodes);
          if (ref.max_steps) s += ", max_steps: " + std::to_string(*ref.max_steps);
          if (ref.max_share) s += ", max_share: " + format_double(*ref.max_share);
          return s + "}";
        });
  }

  void int_list(const std::string& key, std::vector<int>& ref, Range r, int max_len,
                bool allow_empty = false) {
    flush();
    const std::string name = keys_->section() + "." + key;
    const std::string allowed = "a list of " + std::string(allow_empty ? "0" : "1") + ".." +
                                std::to_string(max_len) + " integers in " + game::range_text(r, true);
    add(
        key, allowed,
        [&ref, name, r, max_len, allowed, allow_empty](const YAML::Node& n) {
          if (!n.IsSequence() || n.size() < (allow_empty ? 0u : 1u) ||
              n.size() > static_cast<std::size_t>(max_len))
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
    out_.push_back(Field{keys_->section(), key, allowed, std::move(set), std::move(get)});
  }
  std::vector<Field>& out_;
  std::vector<game::Key> pending_;
  std::unique_ptr<game::KeyBuilder> keys_;
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
  b.add_keys(render::env_keys(c.env));

  SacConfig& s = c.sac;
  b.section("sac");
  b.keys().integer("buffer_size", s.buffer_size, {1, 1e10});
  b.keys().integer("batch_size", s.batch_size, {1, 65536});
  b.keys().real("learning_rate", s.learning_rate, {0, 1, true});
  b.keys().real("actor_learning_rate", s.actor_learning_rate, {0, 1});
  b.keys().real("critic_learning_rate", s.critic_learning_rate, {0, 1});
  b.keys().choice("lr_schedule", s.lr_schedule, {"constant", "linear"});
  b.keys().real("lr_end", s.lr_end, {0, 1});
  b.keys().real("gamma", s.gamma, {0, 1});
  b.keys().real("tau", s.tau, {0, 1, true});
  b.keys().integer("n_step", s.n_step, {1, 100});
  b.keys().text("ent_coef", s.ent_coef, "auto or a positive number",
         [](const std::string& v) { return v == "auto" || is_positive_number(v); });
  b.keys().real("ent_coef_init", s.ent_coef_init, {0, 100, true});
  b.keys().text("target_entropy", s.target_entropy_text, "auto (minus the action dimension) or a number",
         [](const std::string& v) { return v == "auto" || is_number(v); });
  b.int_list("net_arch", s.net_arch, {1, 8192}, 8);
  b.int_list("critic_net_arch", s.critic_net_arch, {1, 8192}, 8, /*allow_empty=*/true);
  b.keys().choice("head", s.head, {"mlp", "residual"});
  b.keys().integer("features_dim", s.features_dim, {1, 8192});
  b.keys().choice("encoder", s.encoder, {"nature", "drq"});
  b.keys().boolean("layer_norm", s.layer_norm);
  b.keys().integer("conv1_kernel", s.conv1_kernel, {0, 16});
  b.keys().integer("conv1_stride", s.conv1_stride, {0, 16});
  b.keys().choice("encoder_mode", s.encoder_mode, {"shared", "separate"});
  b.keys().boolean("target_encoder", s.target_encoder);
  b.keys().real("encoder_tau", s.encoder_tau, {0, 1});
  b.keys().choice("augment", s.augment, {"random_shift", "none"});
  b.keys().integer("target_update_interval", s.target_update_interval, {1, 1e6});
  b.keys().integer("actor_update_interval", s.actor_update_interval, {1, 1000});
  b.keys().real("policy_average", s.policy_average, {0, 1});
  b.keys().boolean("normalize_obs", s.normalize_obs);
  b.keys().integer("critic_bins", s.critic_bins, {0, 4096});
  b.keys().real("value_min", s.value_min, {-1e9, 1e9});
  b.keys().real("value_max", s.value_max, {-1e9, 1e9});
  b.keys().integer("reset_interval", s.reset_interval, {0, 1e12});
  b.keys().boolean("reset_encoder", s.reset_encoder);
  b.keys().boolean("crossq", s.crossq);
  b.keys().integer("renorm_warmup", s.renorm_warmup, {0, 1e12});
  b.keys().real("adam_beta1", s.adam_beta1, {0, 1, false, true});
  b.keys().boolean("prioritized_replay", s.prioritized_replay);
  b.keys().real("per_alpha", s.per_alpha, {0, 1});
  b.keys().real("per_beta", s.per_beta, {0, 1});
  b.keys().choice("precision", s.precision, {"fp32", "tf32", "bf16", "auto"});
  b.keys().boolean("cuda_graph", s.cuda_graph);

  TrainConfig& t = c.train;
  b.section("train");
  b.keys().integer("total_timesteps", t.total_timesteps, {1, 1e12});
  b.keys().integer("learning_starts", t.learning_starts, {0, 1e12});
  b.keys().integer("train_freq", t.train_freq, {1, 1e6});
  b.keys().integer("gradient_steps", t.gradient_steps, {-1, 1e6});
  b.keys().integer("eval_freq", t.eval_freq, {0, 1e12});
  b.keys().integer("n_eval_episodes", t.n_eval_episodes, {1, 100000});
  b.keys().integer("eval_envs", t.eval_envs, {0, 1024});
  b.keys().choice("eval_games", t.eval_games, {"fresh", "fixed"});
  b.keys().integer("checkpoint_freq", t.checkpoint_freq, {0, 1e12});
  b.keys().integer("keep_checkpoints", t.keep_checkpoints, {1, 1000});
  b.keys().text("save_replay_buffer", t.save_replay_buffer,
                "auto (the interrupt checkpoint only) | true (every checkpoint) | false (none)",
                [](const std::string& v) { return v == "auto" || game::parse_bool(v).has_value(); });
  b.keys().integer("seed", t.seed, {0, 9.0e15});
  b.keys().text("device", t.device, "auto | cpu | cuda | cuda:N", [](const std::string& v) {
    if (v == "auto" || v == "cpu" || v == "cuda") return true;
    return v.rfind("cuda:", 0) == 0 && v.size() > 5 &&
           v.find_first_not_of("0123456789", 5) == std::string::npos;
  });
  b.keys().integer("threads", t.threads, {0, 256});
  b.keys().integer("log_interval", t.log_interval, {1, 1e12});
  b.keys().integer("dist_timeout", t.dist_timeout, {10, 604800});
  b.stop_rule("stop_when", t.stop_when);
  b.keys().real("max_minutes", t.max_minutes, {0, 1e7});
  b.curriculum("curriculum", t.curriculum);
  b.flush();
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

namespace {
std::string to_yaml_list(const std::vector<int>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}
}  // namespace

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
  if (s.head == "residual" &&
      std::any_of(s.net_arch.begin(), s.net_arch.end(), [&](int w) { return w != s.net_arch[0]; }))
    throw ConfigError("sac.net_arch = " + to_yaml_list(s.net_arch) +
                      " with sac.head = residual: allowed: one width repeated, one residual block each (e.g. "
                      "[128, 128])");
  if (s.head == "residual" && std::any_of(s.critic_net_arch.begin(), s.critic_net_arch.end(),
                                          [&](int w) { return w != s.critic_net_arch[0]; }))
    throw ConfigError("sac.critic_net_arch = " + to_yaml_list(s.critic_net_arch) +
                      " with sac.head = residual: allowed: one width repeated, one residual block each (e.g. "
                      "[256, 256])");
  if (s.crossq && s.head == "residual")
    throw ConfigError(
        "sac.crossq = true with sac.head = residual; allowed: sac.head = mlp (CrossQ renormalises "
        "the inputs of plain linear layers)");
  if (s.critic_bins == 1)
    throw ConfigError("sac.critic_bins = 1 is not allowed; allowed: 0 (a regression critic) or 2..4096 bins");
  if (s.critic_bins > 0 && !(s.value_max > s.value_min))
    throw ConfigError("sac.value_min = " + game::format_double(s.value_min) + " is not below sac.value_max = " +
                      game::format_double(s.value_max) + "; allowed: value_min < value_max (the bins' span)");
  if (t.gradient_steps == 0) throw ConfigError("train.gradient_steps = 0 is not allowed; allowed: -1 or [1, 1000000]");
  // sac.augment with vector observations is allowed: the learner only shifts images.
  if (c.env.game.observation_mode == game::ObsMode::Topdown) {
    // The encoder must leave one output of its last layer: said here, before a run folder exists.
    const bool nature = s.encoder != "drq";
    const learn::Conv1Shape first = conv1_of(c);
    const int need = learn::min_image_side(nature, first);
    if (c.env.render.width < need || c.env.render.height < need)
      throw ConfigError("env.image_width x image_height = " + std::to_string(c.env.render.width) + "x" +
                        std::to_string(c.env.render.height) + " is too small for sac.encoder = " + s.encoder +
                        " with a " + std::to_string(first.kernel) + "x" + std::to_string(first.kernel) + "/" +
                        std::to_string(first.stride) +
                        " first layer (sac.conv1_kernel/conv1_stride); allowed: at least " +
                        std::to_string(need) + "x" + std::to_string(need) + ", or a smaller first layer");
  }
  for (std::size_t i = 0; i < t.curriculum.lessons.size(); ++i)
    lesson_config(c, i);  // each value allowed for its key
  // Level 1 throws from a line, not a fan: such lessons would all be the target game.
  if (t.curriculum.key == "spawn_angle_degrees" && c.env.game.level == 1)
    throw ConfigError(
        "train.curriculum.key = spawn_angle_degrees does nothing with env.level = 1 (the fan is a level-2 "
        "rule, GAME.md); allowed: env.level = 2, or another key");
}

learn::Conv1Shape conv1_of(const Config& c) {
  return learn::conv1_shape(c.sac.encoder != "drq", c.sac.conv1_kernel, c.sac.conv1_stride);
}

const std::vector<std::string>& curriculum_keys() {
  static const std::vector<std::string> keys = {"spawn_angle_degrees", "level", "sprint_multiplier",
                                                "projectile_spawn_interval", "projectile_flight_time"};
  return keys;
}

Config lesson_config(const Config& config, std::size_t lesson) {
  const Curriculum& c = config.train.curriculum;
  if (lesson >= c.lessons.size()) return config;
  Config out = config;
  const std::string key = "env." + c.key;
  const double v = c.lessons[lesson];
  // Integral values as integers: integer keys (level) refuse "1.0".
  const std::string text = v == std::floor(v) && std::abs(v) < 1e15 ? std::to_string(static_cast<long long>(v))
                                                                     : format_double(v);
  Field* f = nullptr;
  std::vector<Field> fields = schema(out);
  for (auto& field : fields)
    if (field.section == "env" && field.key == c.key) f = &field;
  if (!f) throw ConfigError("train.curriculum.key = " + c.key + " is not allowed; allowed: " + join(curriculum_keys()));
  try {
    f->set(YAML::Load(text));
  } catch (const ConfigError& e) {
    throw ConfigError("train.curriculum.lessons[" + std::to_string(lesson) + "] for " + key + ": " + e.what());
  }
  return out;
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


}  // namespace dodge::run

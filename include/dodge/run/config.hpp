// The run configuration: one struct per component with defaults, loaded from YAML, validated once.
// Three sections (env, sac, train) with the original project's key names. Unknown keys, wrong
// types and out-of-range values are errors naming file:line:column, the key, the value and what is
// allowed. `--set section.key=value` overrides any key with the same checks.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dodge/game/config.hpp"
#include "dodge/game/keys.hpp"
#include "dodge/learn/conv_shape.hpp"
#include "dodge/render/env_config.hpp"
#include "dodge/run/error.hpp"

namespace YAML {
class Node;
}

namespace dodge::run {

// A user error in a config (file, key or value).
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

// The env section (game, frames, stacking, games): its keys are defined with the renderer so that
// the Python package checks them alike (render/env_config.hpp).
using EnvConfig = render::EnvConfig;

struct SacConfig {
  std::int64_t buffer_size = 1'000'000;  // transitions
  int batch_size = 256;
  double learning_rate = 3e-4;           // for all networks unless overridden below
  double actor_learning_rate = 0.0;      // 0: learning_rate
  double critic_learning_rate = 0.0;     // 0: learning_rate
  std::string lr_schedule = "constant";  // constant | linear: every rate falls to lr_end x itself by the run's end
  double lr_end = 0.0;                   // linear: the fraction of each rate left at the end of the run
  double gamma = 0.99;
  double tau = 0.005;
  int n_step = 1;                        // n-step returns (1: SB3's one-step target)
  std::string ent_coef = "auto";         // "auto" (learned) or a fixed number
  double ent_coef_init = 1.0;            // initial alpha when learned
  std::string target_entropy_text = "auto";  // key target_entropy: auto (-action_dim) or a number
  std::vector<int> net_arch = {256, 256};
  std::vector<int> critic_net_arch;      // the critics' hidden layers (empty: net_arch)
  std::string head = "mlp";              // mlp | residual: the actor's and critics' hidden layers
  int features_dim = 512;                // CNN encoder output
  std::string encoder = "nature";        // nature | drq: the image encoder's convolutions
  bool layer_norm = false;               // LayerNorm + tanh on the image features (else ReLU)
  int conv1_kernel = 0;                  // the first convolution's size (0: the encoder's own, 8 | 3)
  int conv1_stride = 0;                  // and stride (0: the encoder's own, 4 | 2)
  std::string encoder_mode = "shared";   // shared | separate
  bool target_encoder = true;            // shared mode: the target critic reads a Polyak copy
  double encoder_tau = 0.0;              // that copy's Polyak rate (0: tau)
  std::string augment = "random_shift";  // random_shift | none
  int target_update_interval = 1;
  int actor_update_interval = 1;         // actor and entropy coefficient every k-th update (TD3's delay)
  double policy_average = 0.0;           // EMA rate of the acting encoder + actor that is shipped (0: none)
  bool normalize_obs = false;            // state inputs scaled by their running mean and variance (VecNormalize)
  int critic_bins = 0;                   // HL-Gauss: a categorical critic over this many bins (0: regression)
  double value_min = -110.0;             // ... spanning these values (they must hold every Q value)
  double value_max = 110.0;
  std::int64_t reset_interval = 0;       // updates between resets of the actor and critics (0: never)
  bool reset_encoder = false;            // resets draw the image encoders again too
  bool crossq = false;                   // CrossQ: batch-renormalised critics, no target networks
  std::int64_t renorm_warmup = 100000;   // updates of plain batch norm before renormalisation
  double adam_beta1 = 0.9;               // the actor's and critics' Adam beta1 (CrossQ: 0.5)
  bool prioritized_replay = false;       // sample in proportion to |TD error|^per_alpha (Schaul et al. 2016)
  double per_alpha = 0.6;                // how much the priorities count (0: uniform)
  double per_beta = 0.4;                 // importance-weight exponent at the start, annealed to 1 by the run's end
  std::string precision = "tf32";        // fp32 | tf32 (CUDA only; fp32 on the CPU) | bf16 (encoders, CPU and CUDA) | auto
  bool cuda_graph = true;                // capture the update as a CUDA graph on CUDA
};

// When a run ends before total_timesteps, judged at each evaluation (as SB3's
// StopTrainingOnRewardThreshold and StopTrainingOnNoModelImprovement callbacks). A rule whose
// thresholds are all unset never stops a run.
struct StopRule {
  std::optional<double> mean_reward;   // an evaluation's mean reward at least this
  std::optional<double> success_rate;  // and its success rate at least this (both when both are set)
  int no_improvement_evals = 0;        // or this many evaluations in a row without a new best (0: off)
  // The bar must hold on this many evaluations in a row: with fresh games each time, one lucky
  // evaluation of a policy just below the bar no longer ends its run.
  int evals_in_a_row = 1;
  bool any() const { return mean_reward || success_rate || no_improvement_evals > 0; }
};

// train.curriculum: lessons over one game key before the config's own value (the target game), as
// Unity ML-Agents' environment_parameters curriculum with a reward completion criterion. The
// training games play the current lesson; evaluations, best/, final/ and the stop rule always play
// the target game. A lesson ends once it has played min_episodes training episodes and the last
// min_episodes of them average at least mean_reward with at least success_rate surviving (no
// threshold: after min_episodes), or, with max_steps, once it has run that many env steps: a seed that
// plateaus below the criterion still reaches the target game (ADR's widening on time, not on skill).
struct Curriculum {
  std::string key;                     // an env key of the game's rules, e.g. spawn_angle_degrees
  std::vector<double> lessons;         // its values before the target, in order (empty: no curriculum)
  std::optional<double> mean_reward;
  std::optional<double> success_rate;
  int min_episodes = 100;
  std::optional<std::int64_t> max_steps;  // env steps (all envs, all ranks) a lesson may last
  // The k-th lesson (from 1) ends by the time the run is k x max_share of its way (steps of
  // total_timesteps or minutes of max_minutes, whichever is further): a way out on any CPU speed.
  std::optional<double> max_share;
  bool any() const { return !lessons.empty(); }
};
// The env keys a curriculum may move: rules of the game that change neither shapes nor episode length.
const std::vector<std::string>& curriculum_keys();

struct TrainConfig {
  std::int64_t total_timesteps = 100'000;
  std::int64_t learning_starts = 1000;   // env steps of uniform random actions first
  int train_freq = 1;                    // env steps per env between update phases
  int gradient_steps = 1;                // updates per phase (-1: as many as env steps collected)
  std::int64_t eval_freq = 10'000;       // env steps between evaluations (0: never)
  int n_eval_episodes = 10;
  int eval_envs = 0;                     // 0: min(n_eval_episodes, 16)
  // fresh: each evaluation plays games of its own (seeded by its step), so the stop rule and best/
  // do not pick the checkpoint that happens to suit one set of games; fixed: every evaluation
  // replays the same games (curves without game-to-game noise; SB3 comparisons).
  std::string eval_games = "fresh";
  std::int64_t checkpoint_freq = 50'000; // env steps between checkpoints (0: only final)
  int keep_checkpoints = 3;
  // auto: only the interrupt checkpoint keeps the buffer (for --resume); true: every checkpoint;
  // false: none, the interrupt checkpoint included (a big buffer may not finish writing before a
  // launcher's kill). YAML's boolean spellings work for true and false.
  std::string save_replay_buffer = "auto";
  bool replay_in_checkpoints() const { return game::parse_bool(save_replay_buffer).value_or(false); }
  bool replay_on_interrupt() const { return game::parse_bool(save_replay_buffer).value_or(true); }
  std::int64_t seed = 0;
  std::string device = "auto";           // auto | cpu | cuda | cuda:N
  int threads = 0;                       // env threads (0: 1 below 64 envs, else all cores)
  std::int64_t log_interval = 1000;      // env steps between progress lines / metric reads
  int dist_timeout = 1800;               // seconds a rank waits for the others (several ranks only)
  StopRule stop_when;
  double max_minutes = 0;                // wall-clock limit of the whole run, resumes included (0: none)
  Curriculum curriculum;
};

struct Config {
  std::string name = "run";  // the config file's stem: results/<name>/...
  EnvConfig env;
  SacConfig sac;
  TrainConfig train;
};

// One key of the schema, bound to a Config instance.
struct Field {
  std::string section, key;
  std::string allowed;                            // "[16, 512]", "shared | separate", ...
  std::function<void(const YAML::Node&)> set;     // parses and range-checks; throws ConfigError
  std::function<std::string()> get;               // current value as YAML text
};
std::vector<Field> schema(Config& config);

// Loads a YAML file over the defaults; throws ConfigError.
Config load_config(const std::string& path);
// Parses YAML text (source is the name used in messages).
Config parse_config(const std::string& yaml_text, const std::string& source);

using game::parse_exact_integer;
// Applies "section.key=value" overrides in order; throws ConfigError naming the override.
void apply_overrides(Config& config, const std::vector<std::string>& overrides);
// Cross-key checks after loading and overriding; throws ConfigError.
void validate(const Config& config);

// The image encoder's first layer as the networks build it (sac.conv1_kernel/stride, 0: the kind's own).
learn::Conv1Shape conv1_of(const Config& c);
// The config with the curriculum's lesson `lesson` applied to its env (lesson == lessons.size(): the
// config itself, the target game); throws ConfigError when the value is not allowed for the key.
Config lesson_config(const Config& config, std::size_t lesson);
// The resolved config as YAML (every key, in schema order).
std::string to_yaml(const Config& config);
// Keys whose values differ between two configs ("env.image_width: 84 vs 64", ...).
std::vector<std::string> diff(const Config& a, const Config& b, const std::vector<std::string>& keys);

using game::nearest;

}  // namespace dodge::run

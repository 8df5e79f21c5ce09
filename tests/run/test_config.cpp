// Config loading: defaults, every range of GAME.md section 11, unknown keys, types, syntax, --set.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <iterator>

#include "dodge/run/config.hpp"

using namespace dodge::run;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "cfg.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string override_error(const std::string& o) {
  Config c;
  try {
    apply_overrides(c, {o});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("defaults follow GAME.md", "[config]") {
  const Config c = parse_config("", "empty.yaml");
  CHECK(c.env.game.level == 2);
  CHECK(c.env.game.spawn_angle_degrees == 60.0);
  CHECK(c.env.game.sprint_multiplier == 2.0);
  CHECK(c.env.game.collision_penalty == -100.0);
  CHECK(c.env.game.max_episode_steps == 1000);
  CHECK(c.env.game.physics_hz == 60);
  CHECK(c.env.render.width == 84);
  CHECK(c.env.render.min_radius_px == 1.5);
  CHECK(c.env.render.view_extent == 24.0);
  const auto p = dodge::game::resolve(c.env.game);
  CHECK(p.spawn_interval == 0.5);
  CHECK(p.flight_time == 0.8);
  CHECK(c.sac.precision == "tf32");
  CHECK(c.sac.target_encoder);
  CHECK(c.sac.encoder_tau == 0.0);
}

TEST_CASE("values are read from every section", "[config]") {
  const Config c = parse_config(
      "env:\n  level: 1\n  spawn_angle_degrees: 30\n  observation_mode: topdown\n  image_grayscale: false\n"
      "  projectile_spawn_interval: 1.25\nsac:\n  net_arch: [64, 32]\n  ent_coef: '0.1'\n"
      "  target_encoder: false\n  encoder_tau: 0.05\n  precision: bf16\n  n_step: 3\n"
      "train:\n  seed: 5\n  device: cuda:1\n",
      "x.yaml");
  CHECK(c.env.game.level == 1);
  CHECK(c.env.game.observation_mode == dodge::game::ObsMode::Topdown);
  CHECK_FALSE(c.env.render.grayscale);
  CHECK(dodge::game::resolve(c.env.game).spawn_interval == 1.25);
  CHECK(dodge::game::resolve(c.env.game).flight_time == 2.0);  // level 1 default
  CHECK(c.sac.net_arch == std::vector<int>{64, 32});
  CHECK(c.sac.ent_coef == "0.1");
  CHECK_FALSE(c.sac.target_encoder);
  CHECK(c.sac.encoder_tau == 0.05);
  CHECK(c.sac.precision == "bf16");
  CHECK(c.sac.n_step == 3);
  CHECK(c.train.seed == 5);
  CHECK(c.train.device == "cuda:1");
  // The pixel levers, and integers as RL Zoo writes them.
  const Config p = parse_config(
      "env:\n  grey_palette: contrast\n  rgb_palette: contrast\nsac:\n  encoder: drq\n  layer_norm: true\n  buffer_size: 2.5e5\n"
      "train:\n  total_timesteps: 1e6\n",
      "p.yaml");
  CHECK(p.env.render.grey_palette == dodge::render::GreyPalette::Contrast);
  CHECK(p.env.render.rgb_palette == dodge::render::RgbPalette::Contrast);
  CHECK(c.env.render.rgb_palette == dodge::render::RgbPalette::Game);  // the default: GAME.md's colours
  CHECK(p.sac.encoder == "drq");
  CHECK(p.sac.layer_norm);
  CHECK(p.sac.buffer_size == 250000);
  CHECK(p.train.total_timesteps == 1000000);
}

TEST_CASE("integers in float notation are integers when exact", "[config]") {
  CHECK(parse_exact_integer("100000") == 100000);
  CHECK(parse_exact_integer("+7") == 7);
  CHECK(parse_exact_integer("-3") == -3);
  CHECK(parse_exact_integer("1e6") == 1000000);
  CHECK(parse_exact_integer("2.5e5") == 250000);
  CHECK(parse_exact_integer("100000.0") == 100000);
  CHECK_FALSE(parse_exact_integer("1.5").has_value());
  CHECK_FALSE(parse_exact_integer("1e400").has_value());
  CHECK_FALSE(parse_exact_integer("1e17").has_value());  // beyond doubles' exact integers
  CHECK_FALSE(parse_exact_integer("abc").has_value());
  CHECK_FALSE(parse_exact_integer("").has_value());
  CHECK_FALSE(parse_exact_integer("5 ").has_value());
  CHECK(error_of("train:\n  total_timesteps: 2.5e0\n") ==
        "cfg.yaml:2:20: train.total_timesteps must be an integer (an integer in [1, 1000000000000]), got \"2.5e0\"");
}

TEST_CASE("every GAME.md range violation names the key, the value and the range", "[config]") {
  struct Case {
    std::string yaml, expected;
  };
  const Case cases[] = {
      {"env: {level: 3}", "env.level = 3 is not allowed; allowed: an integer in [1, 2]"},
      {"env: {spawn_angle_degrees: 0}", "env.spawn_angle_degrees = 0 is not allowed; allowed: a number in (0, 180]"},
      {"env: {spawn_angle_degrees: 181}", "env.spawn_angle_degrees = 181"},
      {"env: {sprint_multiplier: -1}", "env.sprint_multiplier = -1 is not allowed; allowed: a number in [0, 10]"},
      {"env: {sprint_multiplier: 10.5}", "env.sprint_multiplier = 10.5"},
      {"env: {thrower_delay_seconds: 11}", "env.thrower_delay_seconds = 11 is not allowed; allowed: a number in [0, 10]"},
      {"env: {image_width: 15}", "env.image_width = 15 is not allowed; allowed: an integer in [16, 512]"},
      {"env: {image_height: 513}", "env.image_height = 513 is not allowed; allowed: an integer in [16, 512]"},
      {"env: {collision_penalty: 1}", "env.collision_penalty = 1 is not allowed; allowed: a number in [-1000000, 0]"},
      {"env: {survival_reward: 101}", "env.survival_reward = 101 is not allowed; allowed: a number in [-100, 100]"},
      {"env: {dodge_bonus_threshold: 0}", "env.dodge_bonus_threshold = 0 is not allowed; allowed: a number in (0, 50]"},
      {"env: {dodge_bonus_multiplier: -0.5}", "env.dodge_bonus_multiplier = -0.5 is not allowed; allowed: a number in [0, 100]"},
      {"env: {projectile_spawn_interval: 0}", "env.projectile_spawn_interval = 0 is not allowed"},
      {"env: {projectile_spawn_interval: 61}", "allowed: null (the level's default) or a number in (0, 60]"},
      {"env: {player_speed: 0}", "env.player_speed = 0 is not allowed; allowed: a number in (0, 50]"},
      {"env: {max_episode_steps: 0}", "env.max_episode_steps = 0 is not allowed; allowed: an integer in [1, 1000000000]"},
      {"env: {physics_hz: 1001}", "env.physics_hz = 1001 is not allowed; allowed: an integer in [1, 1000]"},
      {"env: {frame_skip: 0}", "env.frame_skip = 0 is not allowed; allowed: an integer in [1, 1000]"},
      {"env: {frame_stack: 17}", "env.frame_stack = 17 is not allowed; allowed: an integer in [1, 16]"},
      {"env: {action_space_type: basic_2d}", "env.action_space_type = basic_2d is not allowed; allowed: basic_3d | basic_4d_jump | tilt_5d | full_6d"},
      {"sac: {encoder_mode: both}", "sac.encoder_mode = both is not allowed; allowed: shared | separate"},
      {"sac: {precision: fp16}", "sac.precision = fp16 is not allowed; allowed: fp32 | tf32 | bf16"},
      {"sac: {encoder: impala}", "sac.encoder = impala is not allowed; allowed: nature | drq"},
      {"env: {grey_palette: hot}", "env.grey_palette = hot is not allowed; allowed: luma | contrast"},
      {"env: {rgb_palette: luma}", "env.rgb_palette = luma is not allowed; allowed: game | contrast"},
      {"sac: {encoder_tau: 2}", "sac.encoder_tau = 2"},
      {"sac: {n_step: 0}", "sac.n_step = 0 is not allowed; allowed: an integer in [1, 100]"},
      {"sac: {ent_coef: -1}", "sac.ent_coef = -1 is not allowed; allowed: auto or a positive number"},
      {"sac: {net_arch: []}", "sac.net_arch = [] is not allowed"},
      {"train: {device: gpu}", "train.device = gpu is not allowed; allowed: auto | cpu | cuda | cuda:N"},
  };
  for (const auto& c : cases) {
    INFO(c.yaml);
    const std::string e = error_of(c.yaml);
    CHECK_THAT(e, Catch::Contains(c.expected));
    CHECK_THAT(e, Catch::StartsWith("cfg.yaml:1:"));
  }
}

TEST_CASE("an unknown key names the file, line and key and suggests the nearest", "[config]") {
  CHECK(error_of("env:\n  level: 2\n  sprint_multiplyer: 1.0\n") ==
        "cfg.yaml:3:3: unknown key env.sprint_multiplyer; did you mean env.sprint_multiplier?");
  CHECK(error_of("train:\n  batch_size: 64\n") ==
        "cfg.yaml:2:3: unknown key train.batch_size; did you mean sac.batch_size?");
  CHECK(error_of("enviroment:\n  level: 2\n") == "cfg.yaml:1:1: unknown section enviroment; did you mean env?");
  CHECK_THAT(error_of("env:\n  zzzzzzzz: 1\n"), Catch::StartsWith("cfg.yaml:2:3: unknown key env.zzzzzzzz"));
}

TEST_CASE("wrong types and YAML syntax errors give file:line:column", "[config]") {
  CHECK(error_of("env:\n  level: two\n") ==
        "cfg.yaml:2:10: env.level must be an integer (an integer in [1, 2]), got \"two\"");
  CHECK(error_of("env:\n  image_grayscale: maybe\n") ==
        "cfg.yaml:2:20: env.image_grayscale must be true or false (true | false), got \"maybe\"");
  CHECK_THAT(error_of("env:\n  level: [1, 2\n"), Catch::StartsWith("cfg.yaml:") && Catch::Contains("YAML syntax error"));
  CHECK_THAT(error_of("env: 3\n"), Catch::Contains("section env must be a map"));
}

TEST_CASE("a missing file is a clear error", "[config]") {
  CHECK_THROWS_WITH(load_config("/nonexistent/x.yaml"),
                    "/nonexistent/x.yaml: cannot open the config file (missing or unreadable)");
}

TEST_CASE("command-line overrides (--set) reach any key with the same checks", "[config]") {
  Config c;
  apply_overrides(c, {"env.level=1", "sac.net_arch=[32, 32]", "train.seed=9", "env.image_grayscale=false"});
  CHECK(c.env.game.level == 1);
  CHECK(c.sac.net_arch == std::vector<int>{32, 32});
  CHECK(c.train.seed == 9);
  CHECK_FALSE(c.env.render.grayscale);
  CHECK(override_error("env.level=5") == "--set env.level=5: env.level = 5 is not allowed; allowed: an integer in [1, 2]");
  CHECK(override_error("env.levle=1") == "--set env.levle=1: unknown key env.levle; did you mean env.level?");
  CHECK(override_error("level=1") == "--set level=1: expected section.key=value (e.g. train.seed=3)");
  CHECK(override_error("trian.seed=1") == "--set trian.seed=1: unknown section trian; did you mean train?");
}

TEST_CASE("train.stop_when is a map of thresholds, checked key by key", "[config][stop]") {
  Config c;
  CHECK_FALSE(c.train.stop_when.any());
  apply_overrides(c, {"train.stop_when={mean_reward: 950, success_rate: 0.95}", "train.max_minutes=12.5"});
  CHECK(c.train.stop_when.mean_reward.value() == 950);
  CHECK(c.train.stop_when.success_rate.value() == 0.95);
  CHECK(c.train.stop_when.no_improvement_evals == 0);
  CHECK(c.train.max_minutes == 12.5);
  // Round trip through the resolved YAML.
  const Config back = parse_config(to_yaml(c), "resolved.yaml");
  CHECK(back.train.stop_when.mean_reward.value() == 950);
  CHECK(back.train.stop_when.success_rate.value() == 0.95);
  apply_overrides(c, {"train.stop_when={no_improvement_evals: 5}"});
  CHECK_FALSE(c.train.stop_when.mean_reward.has_value());
  CHECK(c.train.stop_when.no_improvement_evals == 5);
  apply_overrides(c, {"train.stop_when={success_rate: 0.95, evals_in_a_row: 2}"});
  CHECK(c.train.stop_when.evals_in_a_row == 2);
  CHECK(parse_config(to_yaml(c), "resolved.yaml").train.stop_when.evals_in_a_row == 2);
  CHECK_THAT(override_error("train.stop_when={success_rate: 0.9, evals_in_a_row: 0}"),
             Catch::Contains("train.stop_when.evals_in_a_row = 0 is not allowed; allowed: an integer in [1, 1000]"));
  apply_overrides(c, {"train.stop_when={}"});
  CHECK_FALSE(c.train.stop_when.any());
  CHECK(c.train.stop_when.evals_in_a_row == 1);
  CHECK_THAT(override_error("train.stop_when={mean_reward: 950, succes_rate: 0.9}"),
             Catch::Contains("unknown key train.stop_when.succes_rate; allowed: mean_reward, success_rate"));
  CHECK_THAT(override_error("train.stop_when={success_rate: 1.5}"),
             Catch::Contains("train.stop_when.success_rate = 1.5 is not allowed; allowed: a number in [0, 1]"));
  CHECK_THAT(override_error("train.stop_when=950"), Catch::Contains("train.stop_when = 950 is not allowed"));
  CHECK_THAT(override_error("train.max_minutes=-1"), Catch::Contains("train.max_minutes = -1 is not allowed"));
  CHECK_THAT(override_error("sac.actor_update_interval=0"), Catch::Contains("an integer in [1, 1000]"));
  CHECK_THAT(override_error("sac.policy_average=2"), Catch::Contains("a number in [0, 1]"));
}

TEST_CASE("train.eval_games is fresh or fixed", "[config]") {
  Config c;
  CHECK(c.train.eval_games == "fresh");
  apply_overrides(c, {"train.eval_games=fixed"});
  CHECK(parse_config(to_yaml(c), "resolved.yaml").train.eval_games == "fixed");
  CHECK_THAT(override_error("train.eval_games=same"),
             Catch::Contains("train.eval_games = same is not allowed") && Catch::Contains("fresh") &&
                 Catch::Contains("fixed"));
}

// An image the encoder cannot read is refused with the config, before any run folder exists (it
// was a torch error from the networks, exit 1, after the run folder was made).
TEST_CASE("an image smaller than the encoder's first layers allow is a config error naming the keys", "[config]") {
  Config c;
  apply_overrides(c, {"env.observation_mode=topdown", "env.image_width=84", "env.image_height=84",
                      "sac.conv1_kernel=7", "sac.conv1_stride=7"});
  CHECK_NOTHROW(validate(c));
  CHECK(conv1_of(c).kernel == 7);
  apply_overrides(c, {"env.image_width=55"});  // 7x7/7 leaves 8 rows for conv2/conv3 from 56 up
  std::string msg;
  try {
    validate(c);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  CHECK(msg == "env.image_width x image_height = 55x84 is too small for sac.encoder = nature with a 7x7/7 first "
               "layer (sac.conv1_kernel/conv1_stride); allowed: at least 56x56, or a smaller first layer");
  apply_overrides(c, {"env.image_width=56"});
  CHECK_NOTHROW(validate(c));
  // Nature's own first layer (8x8/4) needs 36; drq's later layers need 7 rows, so 8x8/4 there needs 32.
  apply_overrides(c, {"sac.conv1_kernel=0", "sac.conv1_stride=0", "env.image_width=35", "env.image_height=35"});
  CHECK_THROWS_AS(validate(c), ConfigError);
  apply_overrides(c, {"env.image_width=36", "env.image_height=36"});
  CHECK_NOTHROW(validate(c));
  apply_overrides(c, {"sac.encoder=drq", "sac.conv1_kernel=8", "sac.conv1_stride=4", "env.image_width=31",
                      "env.image_height=31"});
  CHECK_THROWS_AS(validate(c), ConfigError);
  apply_overrides(c, {"env.image_width=32", "env.image_height=32"});
  CHECK_NOTHROW(validate(c));
  // Vector observations have no encoder to fit.
  apply_overrides(c, {"env.observation_mode=standard", "env.image_width=16", "env.image_height=16"});
  CHECK_NOTHROW(validate(c));
}

TEST_CASE("sac.head: mlp or residual, a residual head one width repeated", "[config][residual]") {
  Config c;
  CHECK(c.sac.head == "mlp");
  apply_overrides(c, {"sac.head=residual", "sac.net_arch=[128, 128, 128]"});
  CHECK_NOTHROW(validate(c));
  apply_overrides(c, {"sac.net_arch=[256, 128]"});
  std::string msg;
  try {
    validate(c);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  CHECK(msg == "sac.net_arch = [256, 128] with sac.head = residual: allowed: one width repeated, one residual "
               "block each (e.g. [128, 128])");
  apply_overrides(c, {"sac.head=mlp"});
  CHECK_NOTHROW(validate(c));
  CHECK_THROWS_WITH(apply_overrides(c, {"sac.head=simba"}), Catch::Contains("mlp | residual"));
}

TEST_CASE("sac.crossq and its keys: critic widths, the warm-up, Adam's beta1, mlp heads only",
          "[config][crossq]") {
  Config c;
  CHECK_FALSE(c.sac.crossq);
  CHECK(c.sac.critic_net_arch.empty());
  CHECK(c.sac.adam_beta1 == 0.9);
  apply_overrides(c, {"sac.crossq=true", "sac.critic_net_arch=[1024, 1024]", "sac.renorm_warmup=5000",
                      "sac.adam_beta1=0.5"});
  CHECK(c.sac.crossq);
  CHECK(c.sac.critic_net_arch == std::vector<int>{1024, 1024});
  CHECK(c.sac.renorm_warmup == 5000);
  CHECK(c.sac.adam_beta1 == 0.5);
  CHECK_NOTHROW(validate(c));
  apply_overrides(c, {"sac.critic_net_arch=[]"});  // back to net_arch's widths
  CHECK(c.sac.critic_net_arch.empty());
  CHECK_THAT(override_error("sac.adam_beta1=1.5"),
             Catch::Contains("sac.adam_beta1") && Catch::Contains("1.5"));
  CHECK_THAT(override_error("sac.adam_beta1=1"), Catch::Contains("[0, 1)"));  // Adam's bias correction divides by 1 - beta1^t
  CHECK_THAT(override_error("sac.renorm_warmup=-1"), Catch::Contains("sac.renorm_warmup"));
  CHECK_THAT(override_error("sac.critic_net_arch=[0]"), Catch::Contains("a list of 0..8 integers"));
  apply_overrides(c, {"sac.head=residual", "sac.net_arch=[64, 64]", "sac.critic_net_arch=[64, 64]"});
  std::string msg;
  try {
    validate(c);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  CHECK(msg ==
        "sac.crossq = true with sac.head = residual; allowed: sac.head = mlp (CrossQ renormalises the "
        "inputs of plain linear layers)");
  // Residual critics of their own widths: one width repeated, as net_arch.
  apply_overrides(c, {"sac.crossq=false", "sac.critic_net_arch=[64, 32]"});
  CHECK_THROWS_WITH(validate(c), Catch::Contains("sac.critic_net_arch = [64, 32] with sac.head = residual"));
}

TEST_CASE("train.curriculum names a game key, its lessons and the criterion, each value checked", "[config][curriculum]") {
  Config c;
  CHECK_FALSE(c.train.curriculum.any());
  apply_overrides(c, {"env.spawn_angle_degrees=180",
                      "train.curriculum={key: spawn_angle_degrees, lessons: [30, 60], mean_reward: 900, success_rate: 0.9}"});
  const Curriculum& k = c.train.curriculum;
  CHECK(k.key == "spawn_angle_degrees");
  CHECK(k.lessons == std::vector<double>{30, 60});
  CHECK(k.mean_reward.value() == 900);
  CHECK(k.success_rate.value() == 0.9);
  CHECK(k.min_episodes == 100);
  CHECK_NOTHROW(validate(c));
  // A lesson is the config with the key set; past the last lesson, the config itself (the target).
  CHECK(lesson_config(c, 0).env.game.spawn_angle_degrees == 30);
  CHECK(lesson_config(c, 1).env.game.spawn_angle_degrees == 60);
  CHECK(lesson_config(c, 2).env.game.spawn_angle_degrees == 180);
  CHECK(lesson_config(c, 1).env.game.level == 2);
  // Round trip through the resolved YAML.
  const Config back = parse_config(to_yaml(c), "resolved.yaml");
  CHECK(back.train.curriculum.lessons == k.lessons);
  CHECK(back.train.curriculum.success_rate.value() == 0.9);
  CHECK(to_yaml(back) == to_yaml(c));
  // Integer keys take integral lessons (level 1 before the target's level 2).
  apply_overrides(c, {"train.curriculum={key: level, lessons: [1], min_episodes: 20}"});
  CHECK(lesson_config(c, 0).env.game.level == 1);
  CHECK(c.train.curriculum.min_episodes == 20);
  CHECK_FALSE(c.train.curriculum.max_steps);
  apply_overrides(c, {"train.curriculum={key: level, lessons: [1], mean_reward: 900, max_steps: 50000}"});
  CHECK(c.train.curriculum.max_steps.value() == 50000);
  CHECK_THAT(to_yaml(c), Catch::Contains("max_steps: 50000}"));
  CHECK(parse_config(to_yaml(c), "resolved.yaml").train.curriculum.max_steps.value() == 50000);
  CHECK_THAT(override_error("train.curriculum={key: level, lessons: [1], max_steps: 0}"),
             Catch::Contains("train.curriculum.max_steps = 0 is not allowed; allowed: an integer in [1, 10^12]"));
  CHECK_THAT(override_error("train.curriculum={key: level, lessons: [1], max_steps: 1.5}"),
             Catch::Contains("train.curriculum.max_steps = 1.5 is not allowed"));
  apply_overrides(c, {"train.curriculum={key: level, lessons: [1], max_share: 0.3}"});
  CHECK(c.train.curriculum.max_share.value() == 0.3);
  CHECK(parse_config(to_yaml(c), "resolved.yaml").train.curriculum.max_share.value() == 0.3);
  CHECK_THAT(override_error("train.curriculum={key: level, lessons: [1], max_share: 0}"),
             Catch::Contains("train.curriculum.max_share = 0 is not allowed; allowed: a number in (0, 1]"));
  CHECK_THAT(override_error("train.curriculum={key: level, lessons: [1], max_share: 1.5}"),
             Catch::Contains("allowed: a number in (0, 1]"));
  apply_overrides(c, {"train.curriculum={}"});
  CHECK_FALSE(c.train.curriculum.any());
  // Bad input names the key and what is allowed.
  CHECK_THAT(override_error("train.curriculum={key: image_width, lessons: [48]}"),
             Catch::Contains("train.curriculum.key = image_width is not allowed; allowed: spawn_angle_degrees | level"));
  CHECK_THAT(override_error("train.curriculum={key: spawn_angle_degrees, lesons: [30]}"),
             Catch::Contains("unknown key train.curriculum.lesons; allowed: key | lessons"));
  CHECK_THAT(override_error("train.curriculum={key: spawn_angle_degrees}"), Catch::Contains("needs both key and lessons"));
  CHECK_THAT(override_error("train.curriculum={key: spawn_angle_degrees, lessons: []}"),
             Catch::Contains("a list of 1..16 numbers"));
  CHECK_THAT(override_error("train.curriculum={key: spawn_angle_degrees, lessons: [30], success_rate: 2}"),
             Catch::Contains("train.curriculum.success_rate = 2 is not allowed; allowed: a number in [0, 1]"));
  apply_overrides(c, {"train.curriculum={key: spawn_angle_degrees, lessons: [30, 200]}"});
  CHECK_THROWS_WITH(validate(c), Catch::Contains("train.curriculum.lessons[1] for env.spawn_angle_degrees") &&
                                     Catch::Contains("200") && Catch::Contains("(0, 180]"));
  apply_overrides(c, {"train.curriculum={key: level, lessons: [1.5]}"});
  CHECK_THROWS_WITH(validate(c), Catch::Contains("train.curriculum.lessons[0] for env.level"));
  // A fan curriculum on level 1 would change nothing the games do.
  apply_overrides(c, {"env.level=1", "train.curriculum={key: spawn_angle_degrees, lessons: [30]}"});
  CHECK_THROWS_WITH(validate(c), Catch::Contains("train.curriculum.key = spawn_angle_degrees does nothing with env.level = 1") &&
                                     Catch::Contains("allowed: env.level = 2"));
  apply_overrides(c, {"env.level=2"});
  CHECK_NOTHROW(validate(c));
}

TEST_CASE("the resolved config round-trips through YAML", "[config]") {
  Config c;
  apply_overrides(c, {"env.level=1", "env.projectile_flight_time=1.5", "sac.learning_rate=0.001", "train.device=cpu"});
  const std::string y = to_yaml(c);
  const Config back = parse_config(y, "resolved.yaml");
  CHECK(to_yaml(back) == y);
  CHECK(back.env.game.projectile_flight_time.value() == 1.5);
  CHECK_FALSE(back.env.game.projectile_spawn_interval.has_value());
  CHECK(diff(c, back, {}).empty());
  Config other = back;
  other.env.render.width = 64;
  CHECK(diff(c, other, {}) == std::vector<std::string>{"env.image_width: 84 vs 64"});
  CHECK(diff(c, other, {"env.level"}).empty());
}

TEST_CASE("every shipped config loads", "[config]") {
  // Every YAML file in configs/ (the study spaces in configs/tune/ are not training configs).
  const std::filesystem::path dir = std::filesystem::path(DODGE_SOURCE_DIR) / "configs";
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".yaml") names.insert(e.path().stem().string());
  for (const char* name : {"quickstart", "sac_topdown_cnn", "sac_topdown_cnn_rgb", "sac_pixels_cpu", "sac_pixels_cpu_fp32",
                           "sac_pixels_cpu_l1", "sac_vector_180_tuned", "example"})
    CHECK(names.count(name) == 1);
  for (const auto& name : names) {
    const std::string path = (dir / (name + ".yaml")).string();
    INFO(path);
    const Config c = load_config(path);
    CHECK(c.name == name);
    CHECK_NOTHROW(validate(c));
  }
  // The fp32 config is the CPU recipe with only the keys its comments explain changed.
  CHECK(diff(load_config((dir / "sac_pixels_cpu.yaml").string()), load_config((dir / "sac_pixels_cpu_fp32.yaml").string()),
             {}) == std::vector<std::string>{"sac.policy_average: 0.005 vs 0.001", "sac.precision: auto vs fp32",
                                             "train.max_minutes: 10.0 vs 15.0"});
  // So is the level 1 config.
  CHECK(diff(load_config((dir / "sac_pixels_cpu.yaml").string()), load_config((dir / "sac_pixels_cpu_l1.yaml").string()),
             {}) == std::vector<std::string>{"env.level: 2 vs 1", "sac.batch_size: 256 vs 128",
                                             "train.max_minutes: 10.0 vs 5.0"});
}

TEST_CASE("configs/example.yaml names every key with its default", "[config]") {
  const std::string path = std::string(DODGE_SOURCE_DIR) + "/configs/example.yaml";
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Config defaults;
  std::vector<std::string> keys;
  for (const Field& f : schema(defaults)) {
    INFO(f.section << "." << f.key);
    CHECK(text.find("\n  " + f.key + ":") != std::string::npos);
    keys.push_back(f.section + "." + f.key);
  }
  const std::vector<std::string> differences = diff(load_config(path), Config{}, keys);
  INFO(differences.size() << " keys differ, first: " << (differences.empty() ? "" : differences.front()));
  CHECK(differences.empty());
}

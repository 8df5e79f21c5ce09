#include "dodge/run/checkpoint.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <fcntl.h>
#include <unistd.h>

#include "dodge/run/setup.hpp"

namespace dodge::run {

namespace fs = std::filesystem;

const std::vector<std::string>& checkpoint_files() {
  static const std::vector<std::string> files = {"config.yaml", "agent.pt", "trainer.pt", "env_state.bin",
                                                 "policy.pt", "manifest.json"};
  return files;
}

namespace {
// fsync of a file or a folder (a folder's entry list is what a rename changes).
void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

void write_checkpoint_atomically(const std::string& dir, const std::function<void(const std::string&)>& fill) {
  const fs::path target(dir);
  const fs::path tmp = target.string() + ".tmp";
  const fs::path old = target.string() + ".old";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    fill(tmp.string());
    // Make the data durable before the rename makes it visible, and the rename durable after.
    for (const auto& e : fs::directory_iterator(tmp))
      if (e.is_regular_file()) fsync_path(e.path());
    fsync_path(tmp);
    fs::remove_all(old, ec);
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(tmp, target);
    fsync_path(target.has_parent_path() ? target.parent_path() : fs::path("."));
    fs::remove_all(old, ec);
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    if (!fs::exists(target) && fs::exists(old)) fs::rename(old, target, ec);
    throw UserError("writing checkpoint " + dir + " failed (" + e.what() +
                    "); the temporary was removed and the previous checkpoint is kept");
  }
}

std::int64_t checkpoint_step(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "manifest.json");
  if (!in) return -1;
  try {
    const auto j = nlohmann::json::parse(in);
    return j.at("step").get<std::int64_t>();
  } catch (const std::exception&) {
    return -1;
  }
}

namespace {
void check_files(const std::string& dir) {
  for (const auto& f : checkpoint_files()) {
    const fs::path p = fs::path(dir) / f;
    if (!fs::exists(p)) throw UserError("checkpoint " + dir + " is incomplete: " + f + " is missing");
    if (fs::file_size(p) == 0) throw UserError("checkpoint " + dir + " is damaged: " + f + " is empty");
  }
}
bool is_checkpoint(const fs::path& p) { return fs::exists(p / "manifest.json") || fs::exists(p / "agent.pt"); }
}  // namespace

std::string find_checkpoint(const std::string& path) {
  const fs::path p(path);
  if (!fs::exists(p)) throw UserError(path + ": no such run folder or checkpoint");
  if (!fs::is_directory(p)) throw UserError(path + ": not a folder (expected a run folder or a checkpoint folder)");
  if (is_checkpoint(p)) {
    check_files(p.string());
    return p.string();
  }
  std::string best;
  std::int64_t best_step = -1;
  auto consider = [&](const fs::path& c) {
    if (!fs::is_directory(c) || !is_checkpoint(c)) return;
    const std::int64_t s = checkpoint_step(c.string());
    if (s > best_step) {
      best_step = s;
      best = c.string();
    }
  };
  consider(p / "final");
  // A crash between the two renames of an atomic write leaves only final.old.
  if (!fs::exists(p / "final")) consider(p / "final.old");
  if (fs::exists(p / "checkpoints"))
    for (const auto& e : fs::directory_iterator(p / "checkpoints")) {
      const std::string name = e.path().filename().string();
      if (name.rfind("step_", 0) == 0 && name.find('.') == std::string::npos) consider(e.path());
    }
  if (best.empty()) {
    if (fs::exists(p / "best") && is_checkpoint(p / "best")) {
      best = (p / "best").string();
    } else {
      // A folder one level too high (results/<config>/) holds runs: name them.
      std::vector<std::string> runs;
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_directory() && fs::exists(e.path() / "config.yaml")) runs.push_back(e.path().string());
      std::sort(runs.rbegin(), runs.rend());
      if (!runs.empty()) {
        std::string list;
        for (std::size_t i = 0; i < runs.size() && i < 5; ++i) list += (i ? ", " : "") + runs[i];
        if (runs.size() > 5) list += ", ... (" + std::to_string(runs.size()) + " in all)";
        throw UserError(path + ": a folder of runs, not a run; pass one of them (newest first): " + list);
      }
      throw UserError(path + ": the run folder has no checkpoint (final/, checkpoints/step_N/ or best/)");
    }
  }
  check_files(best);
  return best;
}

std::string run_dir_of_checkpoint(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (p.parent_path().filename() == "checkpoints") return p.parent_path().parent_path().string();
  return p.parent_path().string();
}

Config load_checkpoint_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.yaml").string();
  Config c = load_config(path);
  std::ifstream in(fs::path(dir) / "manifest.json");
  try {
    const auto j = nlohmann::json::parse(in);
    c.name = j.value("config_name", c.name);
  } catch (const std::exception&) {
    throw UserError("checkpoint " + dir + " is damaged: manifest.json is not valid JSON");
  }
  return c;
}

bool replay_false_from_older_version(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "config.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // Every version since writes train.curriculum into the resolved config.
  return text.find("\n  curriculum:") == std::string::npos &&
         text.find("\n  save_replay_buffer: false") != std::string::npos;
}

void check_compatible(const Config& config, const Config& ckpt, const std::string& dir, const std::string& when) {
  const auto d = diff(ckpt, config, shape_keys());
  if (d.empty()) return;
  std::string msg = "the config does not match checkpoint " + dir + " (checkpoint vs now): ";
  for (std::size_t i = 0; i < d.size(); ++i) msg += (i ? "; " : "") + d[i];
  throw UserError(msg + ". These keys fix the networks and the games and cannot change " + when + ".");
}

void write_manifest(const std::string& path, const Config& c, std::int64_t step) {
  const ObsSpec s = obs_spec(c);
  nlohmann::json j;
  j["format"] = "dodge-checkpoint-1";
  j["dodge_version"] = DODGE_VERSION;
  j["config_name"] = c.name;
  j["step"] = step;
  j["observation_mode"] = game::to_string(c.env.game.observation_mode);
  j["observation_shape"] = s.stacked;
  j["frame_shape"] = s.frame;
  j["frame_stack"] = s.stack;
  j["action_space_type"] = game::to_string(c.env.game.action_space_type);
  j["action_dim"] = s.action_dim;
  const bool target_encoder = !c.sac.crossq && (c.sac.encoder_mode == "separate" || c.sac.target_encoder);
  const auto& critic_arch = c.sac.critic_net_arch.empty() ? c.sac.net_arch : c.sac.critic_net_arch;
  j["architecture"] = {{"encoder", !s.image ? "flatten" : c.sac.encoder == "drq" ? "DrQ" : "NatureCNN"},
                       {"layer_norm", s.image && c.sac.layer_norm},
                       {"conv1", {conv1_of(c).kernel, conv1_of(c).stride}},
                       {"encoder_mode", c.sac.encoder_mode},
                       {"target_encoder", target_encoder},
                       {"features_dim", s.image ? c.sac.features_dim : s.stacked[0]},
                       {"net_arch", c.sac.net_arch},
                       {"critic_net_arch", critic_arch},
                       {"crossq", c.sac.crossq},
                       {"head", c.sac.head},
                       {"critic", c.sac.critic_bins > 0 ? "HL-Gauss, " + std::to_string(c.sac.critic_bins) + " bins"
                                                        : std::string("regression")},
                       {"actor", "tanh-squashed Gaussian, log_std clamped to [-20, 2]"},
                       {"input", s.image ? "uint8 [N, k*C, H, W], divided by 255 inside the encoder"
                                         : "float32 [N, k*D]"}};
  j["policy_keys"] = "policy.pt: encoder.* (shared or actor encoder) and actor.* (trunk, mu, log_std)";
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace dodge::run

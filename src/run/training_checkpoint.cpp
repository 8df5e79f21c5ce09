// A training session's checkpoints: the folder (config, agent, trainer state, games, replay buffer,
// policy, manifest) and trainer.pt, the loop's counters and random streams.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "dodge/learn/archive_io.hpp"
#include "dodge/run/checkpoint.hpp"
#include "trainer.hpp"

namespace dodge::run {

namespace fs = std::filesystem;

void Trainer::save_checkpoint(const std::string& dir, bool with_replay) {
  write_checkpoint_atomically(dir, [&](const std::string& tmp) {
    const fs::path t(tmp);
    {
      std::ofstream cfg(t / "config.yaml");
      cfg << to_yaml(config_);
      if (!cfg) throw std::runtime_error("config.yaml: write failed");
    }
    sac_->save((t / "agent.pt").string());
    save_trainer_state((t / "trainer.pt").string());
    {
      std::ofstream es(t / "env_state.bin", std::ios::binary);
      env_->save_state(es);
      es.flush();
      if (!es) throw std::runtime_error("env_state.bin: write failed");
    }
    if (with_replay) buffer_->save((t / "replay.zst").string());
    sac_->export_policy((t / "policy.pt").string());
    write_manifest((t / "manifest.json").string(), config_, num_timesteps_);
  });
}

// checkpoints/step_N, keeping the newest train.keep_checkpoints of them.
void Trainer::save_step_checkpoint(bool with_replay) {
  save_checkpoint((fs::path(run_dir_) / "checkpoints" / ("step_" + std::to_string(num_timesteps_))).string(),
                  with_replay);
  const fs::path dir = fs::path(run_dir_) / "checkpoints";
  std::vector<std::pair<std::int64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step_", 0) != 0 || name.find('.') != std::string::npos) continue;
    found.emplace_back(std::stoll(name.substr(5)), e.path());
  }
  std::sort(found.begin(), found.end());
  const auto keep = static_cast<std::size_t>(config_.train.keep_checkpoints);
  for (std::size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
}

void Trainer::save_trainer_state(const std::string& path) const {
  torch::serialize::OutputArchive ar;
  auto i64 = [](std::int64_t v) { return torch::tensor(v, torch::kInt64); };
  auto f64 = [](double v) { return torch::tensor(v, torch::kFloat64); };
  ar.write("num_timesteps", i64(num_timesteps_));
  ar.write("n_calls", i64(n_calls_));
  ar.write("episodes", i64(episodes_));
  ar.write("learning_starts_at", i64(learning_starts_at_));
  ar.write("best_eval", f64(stop_.best()));
  ar.write("best_eval_step", i64(stop_.best_step()));
  ar.write("peak_ep_rew", f64(peak_ep_rew_));
  ar.write("evals_without_improvement", i64(stop_.evals_without_improvement()));
  ar.write("evals_at_bar", i64(stop_.evals_at_bar()));
  ar.write("elapsed", f64(run_seconds()));
  ar.write("ep_rew", torch::tensor(std::vector<double>(ep_rew_.begin(), ep_rew_.end()), torch::kFloat64));
  ar.write("ep_len", torch::tensor(std::vector<double>(ep_len_.begin(), ep_len_.end()), torch::kFloat64));
  const auto& rs = action_rng_.state();
  std::vector<std::int64_t> words(rs.begin(), rs.end());
  ar.write("action_rng", torch::tensor(words, torch::kInt64));
  ar.write("sampler_rng", sampler_gen_.get_state());
  ar.write("sampler_on_cuda", torch::tensor(device_.is_cuda() ? 1 : 0, torch::kInt64));
  ar.write("world_size", i64(world_));
  const LessonState& ls = lessons_.state();
  ar.write("lesson", i64(static_cast<std::int64_t>(ls.lesson)));
  ar.write("lesson_episodes", i64(ls.lesson_episodes));
  std::vector<double> window;
  for (const auto& [r, s] : ls.window) window.insert(window.end(), {r, s ? 1.0 : 0.0});
  ar.write("lesson_window", torch::tensor(window, torch::kFloat64));
  ar.write("lesson_steps", torch::tensor(ls.lesson_steps, torch::kInt64));
  ar.write("lesson_episodes_at", torch::tensor(ls.lesson_episodes_at, torch::kInt64));
  ar.write("episode_lesson",
           torch::tensor(std::vector<std::int64_t>(ls.episode_lesson.begin(), ls.episode_lesson.end()),
                         torch::kInt64));
  // The priorities belong with the replay buffer they describe: a resume restores them with it.
  if (buffer_->prioritized()) {
    ar.write("per_priorities", buffer_->priorities());
    ar.write("per_max_priority", torch::tensor(buffer_->max_priority(), torch::kFloat64));
  }
  learn::save_archive(ar, path);
}

void Trainer::load_trainer_state(const std::string& path) {
  torch::serialize::InputArchive ar;
  ar.load_from(path);
  auto read = [&](const char* key) {
    torch::Tensor t;
    if (!ar.try_read(key, t)) throw UserError(path + ": missing " + key + " (damaged checkpoint?)");
    return t;
  };
  // Another world size would change what a step and a batch mean (both count over the ranks).
  torch::Tensor saved_world;
  const std::int64_t was = ar.try_read("world_size", saved_world) ? saved_world.item<std::int64_t>() : 1;
  if (was != world_)
    throw UserError(path + ": the run was trained with " + std::to_string(was) +
                    " rank(s) and this launch has " + std::to_string(world_) +
                    " (WORLD_SIZE): resume it with WORLD_SIZE=" + std::to_string(was));
  num_timesteps_ = read("num_timesteps").item<std::int64_t>();
  n_calls_ = read("n_calls").item<std::int64_t>();
  episodes_ = read("episodes").item<std::int64_t>();
  learning_starts_at_ = read("learning_starts_at").item<std::int64_t>();
  const double best = read("best_eval").item<double>();
  const std::int64_t best_step = read("best_eval_step").item<std::int64_t>();
  peak_ep_rew_ = read("peak_ep_rew").item<double>();
  torch::Tensor stale;  // absent in checkpoints from before train.stop_when
  const int without = ar.try_read("evals_without_improvement", stale) ? static_cast<int>(stale.item<std::int64_t>()) : 0;
  const int at_bar = ar.try_read("evals_at_bar", stale) ? static_cast<int>(stale.item<std::int64_t>()) : 0;
  stop_.restore(best, best_step, without, at_bar);
  elapsed_before_ = read("elapsed").item<double>();
  auto r = read("ep_rew"), l = read("ep_len");
  ep_rew_.assign(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
  ep_len_.assign(l.data_ptr<double>(), l.data_ptr<double>() + l.numel());
  LessonState ls = lessons_.state();
  torch::Tensor lesson;  // absent in checkpoints from before train.curriculum: the first lesson
  if (ar.try_read("lesson", lesson)) {
    ls.lesson = static_cast<std::size_t>(lesson.item<std::int64_t>());
    ls.lesson_episodes = read("lesson_episodes").item<std::int64_t>();
    const auto win = read("lesson_window").contiguous();
    ls.window.clear();
    for (std::int64_t i = 0; i + 1 < win.numel(); i += 2)
      ls.window.emplace_back(win.data_ptr<double>()[i], win.data_ptr<double>()[i + 1] > 0.5);
    const auto steps = read("lesson_steps").contiguous();
    ls.lesson_steps.assign(steps.data_ptr<std::int64_t>(), steps.data_ptr<std::int64_t>() + steps.numel());
    const auto eps = read("lesson_episodes_at").contiguous();
    ls.lesson_episodes_at.assign(eps.data_ptr<std::int64_t>(), eps.data_ptr<std::int64_t>() + eps.numel());
  }
  // Absent in checkpoints from before: the games in flight count for the lesson they are in.
  torch::Tensor began;
  ls.episode_lesson.assign(static_cast<std::size_t>(config_.env.n_envs), ls.lesson);
  if (ar.try_read("episode_lesson", began) && began.numel() == config_.env.n_envs) {
    const auto b = began.contiguous();
    for (std::size_t e = 0; e < ls.episode_lesson.size(); ++e)
      ls.episode_lesson[e] = static_cast<std::size_t>(b.data_ptr<std::int64_t>()[e]);
  }
  lessons_.restore(std::move(ls));
  saved_priorities_ = torch::Tensor();
  torch::Tensor per_max;
  if (ar.try_read("per_priorities", saved_priorities_) && ar.try_read("per_max_priority", per_max))
    saved_max_priority_ = per_max.item<double>();
  else
    saved_priorities_ = torch::Tensor();
  auto w = read("action_rng");
  std::array<std::uint64_t, 4> s{};
  for (int i = 0; i < 4; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(w[i].item<std::int64_t>());
  action_rng_.set_state(s);
  // Sampler states only fit a generator on the same kind of device (resuming elsewhere reseeds).
  torch::Tensor on_cuda;
  if (ar.try_read("sampler_on_cuda", on_cuda) && (on_cuda.item<std::int64_t>() == 1) == device_.is_cuda())
    sampler_gen_.set_state(read("sampler_rng"));
  else
    spdlog::warn("{}: the checkpoint was written on another kind of device; the replay sampler is reseeded",
                 path);
}

}  // namespace dodge::run

// dodge._core: N games stepped in C++ for Python. Links the game and the renderer only.
//
// The Core owns every output buffer (observations, rewards, flags) and writes them in place; the
// Python package hands them out as NumPy views (copy=False) or copies them (copy=True). Steps run
// with the GIL released, on the VecEnv's thread pool. Keys and values are checked by the same
// code as `dodge train`'s env section (render/env_config.hpp); errors become ValueError.
// One Core used from several Python threads: a lock per Core makes each call whole (calls queue).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dodge/game/keys.hpp"
#include "dodge/game/vec_env.hpp"
#include "dodge/render/env_config.hpp"
#include "dodge/render/obs_writer.hpp"
#include "dodge/render/render.hpp"

namespace py = pybind11;
using namespace dodge;

namespace {

enum class Autoreset { NextStep, SameStep, Disabled };

// Throws ValueError naming name unless size is a width and height the renderer draws: checked by
// the keys env.image_width and env.image_height (one range, the renderer's), not a copy of it.
void check_image_size(const std::string& name, std::int64_t size) {
  render::EnvConfig scratch;
  for (const auto& k : render::env_keys(scratch)) {
    if (k.key != "image_width" && k.key != "image_height") continue;
    try {
      k.set(std::to_string(size));
    } catch (const game::KeyError&) {
      throw py::value_error(name + " = " + std::to_string(size) + " is not allowed; allowed: " + k.allowed);
    }
  }
}

Autoreset parse_autoreset(const std::string& s) {
  if (s == "next_step") return Autoreset::NextStep;
  if (s == "same_step") return Autoreset::SameStep;
  if (s == "disabled") return Autoreset::Disabled;
  throw py::value_error("autoreset_mode = " + s +
                        " is not allowed; allowed: next_step | same_step | disabled");
}

class Core {
 public:
  Core(const std::vector<std::pair<std::string, std::optional<std::string>>>& settings, int num_envs,
       int threads, const std::string& autoreset)
      : mode_(parse_autoreset(autoreset)), pid_(getpid()) {
    apply(settings);
    if (num_envs < 1 || num_envs > 65536)
      throw py::value_error("num_envs = " + std::to_string(num_envs) +
                            " is not allowed; allowed: an integer in [1, 65536]");
    if (threads < 0 || threads > 1024)
      throw py::value_error("threads = " + std::to_string(threads) +
                            " is not allowed; allowed: 0 (automatic) or [1, 1024]");
    if (threads == 0) threads = game::auto_threads(num_envs);  // as dodge train's train.threads = 0
    spec_ = render::obs_spec(config_);
    row_bytes_ = (spec_.image ? 1 : 4);
    for (auto d : spec_.stacked) row_bytes_ *= d;
    env_ = std::make_unique<game::VecEnv>(config_.game, num_envs, threads, 0);
    const auto n = static_cast<std::size_t>(num_envs);
    obs_.assign(n * static_cast<std::size_t>(row_bytes_), 0);
    if (mode_ == Autoreset::SameStep) final_obs_.assign(obs_.size(), 0);  // only that mode keeps final observations
    rewards_.assign(n, 0.0f);
    terminated_.assign(n, 0);
    truncated_.assign(n, 0);
    ended_.assign(n, 0);
    out_.resize(num_envs);
    sink_ = std::make_unique<render::ObsWriter>(config_, num_envs, /*stack=*/true);
    sink_->point_at(obs_.data(), row_bytes_);
  }

  ~Core() {
    // A forked child has the parent's memory but not its threads: joining them would hang.
    if (getpid() != pid_ && env_ && env_->threads() > 1) (void)env_.release();
  }

  int num_envs() const { return env_->size(); }
  int threads() const { return env_->threads(); }
  bool image() const { return spec_.image; }
  std::vector<std::int64_t> obs_shape() const { return spec_.stacked; }
  int action_dim() const { return env_->action_dim(); }
  const render::EnvConfig& config() const { return config_; }
  std::string autoreset_mode() const {
    return mode_ == Autoreset::NextStep   ? "next_step"
           : mode_ == Autoreset::SameStep ? "same_step"
                                          : "disabled";
  }
  std::vector<std::pair<std::string, std::string>> settings() {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& k : render::env_keys(config_)) v.emplace_back(k.key, k.get());
    return v;
  }

  // Env e's episodes start again from the first of game `game` of a run with `seed` (a run's env
  // i plays game i: `dodge train --seed s`); the next reset of e plays it.
  void reseed(int e, std::uint64_t seed, std::uint64_t game) {
    if (e < 0 || e >= num_envs()) throw py::index_error("env index " + std::to_string(e));
    const auto lock = lock_core();
    env_->reseed(e, seed, game);
  }

  // Starts a new episode in the envs of mask (all when None) and returns the observations.
  // A reset env has no ended episode: finished() and final_obs() no longer show its last one.
  py::array reset(const std::optional<py::array>& mask, bool copy) {
    check_process();
    const std::vector<std::uint8_t> m = mask_of(mask);  // before the lock: it may run Python code
    const auto lock = lock_core();
    {
      py::gil_scoped_release nogil;
      env_->reset(sink_.get(), m.data());
    }
    bool any = false;
    for (int e = 0; e < num_envs(); ++e) {
      const auto u = static_cast<std::size_t>(e);
      if (m[u]) {
        terminated_[u] = truncated_[u] = ended_[u] = 0;
        rewards_[u] = 0.0f;
      }
      any = any || ended_[u];
    }
    any_ended_ = any;
    return obs_array(copy);
  }

  // (obs, rewards, terminated, truncated, ends): ends is None when no episode ended, else the
  // ended episodes as finished() lists them, each with its final observation (same_step mode) or
  // None. Taken in the same call, they belong to this step even when other threads step the Core.
  py::tuple step(const py::array& actions, bool copy) {
    check_process();
    const auto lock = lock_core();
    const float* a = action_data(actions);
    {
      py::gil_scoped_release nogil;
      try {
        env_->step(a, out_, sink_.get());
      } catch (const std::invalid_argument& e) {
        py::gil_scoped_acquire gil;
        throw py::value_error(std::string("action: ") + e.what());
      }
      std::memcpy(rewards_.data(), out_.rewards.data(), rewards_.size() * sizeof(float));
      std::memcpy(terminated_.data(), out_.terminated.data(), terminated_.size());
      std::memcpy(truncated_.data(), out_.truncated.data(), truncated_.size());
      bool any = false;
      for (std::size_t e = 0; e < ended_.size(); ++e) {
        ended_[e] = terminated_[e] | truncated_[e];
        any = any || ended_[e];
      }
      if (any && mode_ == Autoreset::SameStep) {
        // The final observation is kept aside, then the env starts its next episode now.
        for (std::size_t e = 0; e < ended_.size(); ++e)
          if (ended_[e])
            std::memcpy(final_obs_.data() + e * static_cast<std::size_t>(row_bytes_),
                        obs_.data() + e * static_cast<std::size_t>(row_bytes_),
                        static_cast<std::size_t>(row_bytes_));
        env_->reset(sink_.get(), ended_.data());
      }
      any_ended_ = any;
    }
    py::object ends = py::none();
    if (any_ended_) {
      py::list l;
      for (const auto& f : out_.finished)
        l.append(py::make_tuple(f.env, f.episode_return, f.length, f.terminated, f.truncated,
                                final_obs_.empty() ? py::object(py::none()) : final_row(f.env)));
      ends = l;
    }
    return py::make_tuple(obs_array(copy), flat<float>(rewards_, copy), flags(terminated_, copy),
                          flags(truncated_, copy), ends);
  }

  bool any_ended() {
    const auto lock = lock_core();
    return any_ended_;
  }
  // The episodes that ended in the last step, in envs not reset since: (env, return, length,
  // terminated, truncated).
  std::vector<std::tuple<int, double, int, bool, bool>> finished() {
    const auto lock = lock_core();
    std::vector<std::tuple<int, double, int, bool, bool>> v;
    for (const auto& f : out_.finished)
      if (ended_[static_cast<std::size_t>(f.env)])
        v.emplace_back(f.env, f.episode_return, f.length, f.terminated, f.truncated);
    return v;
  }
  // Env e's final observation of the last step (same_step mode), a copy; None where env e did
  // not end in it or was reset since (as gymnasium's final_obs holds None for it).
  py::object final_obs(int e) {
    if (e < 0 || e >= num_envs()) throw py::index_error("env index " + std::to_string(e));
    if (final_obs_.empty())
      throw std::runtime_error("final observations are kept in autoreset mode same_step only");
    const auto lock = lock_core();
    if (!ended_[static_cast<std::size_t>(e)]) return py::none();
    return final_row(e);
  }

  // Env e's current state drawn in RGB, [height, width, 3] (for render_mode="rgb_array").
  py::array render_rgb(int e, int width, int height) {
    if (e < 0 || e >= num_envs()) throw py::index_error("env index " + std::to_string(e));
    check_image_size("render_rgb: width", width);
    check_image_size("render_rgb: height", height);
    const auto lock = lock_core();
    render::RenderConfig rc = config_.render;
    rc.width = width;
    rc.height = height;
    rc.grayscale = false;
    render::Renderer r(rc);
    std::vector<std::uint8_t> chw(static_cast<std::size_t>(rc.frame_bytes()));
    r.render(env_->state(e), render::dense_view(rc, chw.data()));
    py::array_t<std::uint8_t> out({height, width, 3});
    auto* dst = out.mutable_data();
    const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
    for (std::size_t p = 0; p < plane; ++p)
      for (std::size_t c = 0; c < 3; ++c) dst[p * 3 + c] = chw[c * plane + p];
    return out;
  }

 private:
  void apply(const std::vector<std::pair<std::string, std::optional<std::string>>>& settings) {
    std::vector<game::Key> keys = render::env_keys(config_);
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(k.key);
    for (const auto& [key, value] : settings) {
      const game::Key* found = nullptr;
      for (const auto& k : keys)
        if (k.key == key) found = &k;
      if (!found) {
        const std::string s = game::nearest(key, names);
        throw py::value_error("unknown key " + key + (s.empty() ? "" : "; did you mean " + s + "?") +
                              " (the keys are those of a config's env: section)");
      }
      try {
        found->set(value);
      } catch (const game::KeyError& e) {
        throw py::value_error(e.what());
      }
    }
  }

  // Takes this Core's lock. A thread waiting for it must not hold the GIL: the thread that holds
  // the lock may be waiting for the GIL to finish its call.
  std::unique_lock<std::mutex> lock_core() {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      py::gil_scoped_release nogil;
      lock.lock();
    }
    return lock;
  }

  // Env e's row of the final observations, a copy.
  py::array final_row(int e) const {
    py::array a(dtype(), spec_.stacked);
    std::memcpy(a.mutable_data(),
                final_obs_.data() + static_cast<std::size_t>(e) * static_cast<std::size_t>(row_bytes_),
                static_cast<std::size_t>(row_bytes_));
    return a;
  }

  void check_process() const {
    if (getpid() != pid_ && env_->threads() > 1)
      throw std::runtime_error(
          "this dodge env was created in process " + std::to_string(pid_) + " with " +
          std::to_string(env_->threads()) +
          " threads, which a forked child does not have; create the env in the child (or use threads=1)");
  }

  std::vector<std::uint8_t> mask_of(const std::optional<py::array>& mask) const {
    std::vector<std::uint8_t> m(static_cast<std::size_t>(num_envs()), 1);
    if (!mask) return m;
    const py::array_t<bool> b = py::array_t<bool>::ensure(*mask);
    if (!b || b.ndim() != 1 || b.shape(0) != num_envs() || !py::dtype::of<bool>().is(mask->dtype()))
      throw py::value_error("reset_mask must be a bool array of shape (" + std::to_string(num_envs()) + ",)");
    for (int e = 0; e < num_envs(); ++e) m[static_cast<std::size_t>(e)] = b.at(e) ? 1 : 0;
    return m;
  }

  // Checked action rows: [num_envs, action_dim] float32 (used in place when C-contiguous) or
  // float64 (converted). Values are checked by the game before any env moves.
  const float* action_data(const py::array& a) {
    const int n = num_envs(), d = action_dim();
    const bool f32 = py::dtype::of<float>().is(a.dtype()), f64 = py::dtype::of<double>().is(a.dtype());
    if (!f32 && !f64)
      throw py::type_error("actions must be float32 or float64, got " + std::string(py::str(a.dtype())));
    if (a.ndim() != 2 || a.shape(0) != n || a.shape(1) != d) {
      std::string shape;
      for (py::ssize_t i = 0; i < a.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape(i));
      throw py::value_error("actions must have shape (" + std::to_string(n) + ", " + std::to_string(d) +
                            "), got (" + shape + ")");
    }
    if (f32 && (a.flags() & py::array::c_style)) return static_cast<const float*>(a.data());
    actions_.resize(static_cast<std::size_t>(n) * static_cast<std::size_t>(d));
    if (f32) {
      auto v = a.unchecked<float, 2>();
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < d; ++j) actions_[static_cast<std::size_t>(i * d + j)] = v(i, j);
    } else {
      auto v = a.unchecked<double, 2>();
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < d; ++j)
          actions_[static_cast<std::size_t>(i * d + j)] = static_cast<float>(v(i, j));
    }
    return actions_.data();
  }

  py::dtype dtype() const { return spec_.image ? py::dtype::of<std::uint8_t>() : py::dtype::of<float>(); }

  // A view of a buffer kept alive by this Core's Python object, or a copy. Views stay writable
  // (torch.from_numpy warns on read-only arrays): every step rewrites each row in full.
  py::array view(const py::dtype& dt, std::vector<py::ssize_t> shape, const void* data, bool copy) const {
    if (copy) return py::array(dt, shape, data);
    return py::array(dt, shape, data, py::cast(this, py::return_value_policy::reference));
  }
  py::array obs_array(bool copy) const {
    std::vector<py::ssize_t> shape{num_envs()};
    for (auto d : spec_.stacked) shape.push_back(static_cast<py::ssize_t>(d));
    return view(dtype(), shape, obs_.data(), copy);
  }
  template <typename T>
  py::array flat(const std::vector<T>& v, bool copy) const {
    return view(py::dtype::of<T>(), {static_cast<py::ssize_t>(v.size())}, v.data(), copy);
  }
  py::array flags(const std::vector<std::uint8_t>& v, bool copy) const {
    return view(py::dtype::of<bool>(), {static_cast<py::ssize_t>(v.size())}, v.data(), copy);
  }

  render::EnvConfig config_;
  render::ObsSpec spec_;
  Autoreset mode_;
  pid_t pid_;
  std::int64_t row_bytes_ = 0;
  std::unique_ptr<game::VecEnv> env_;
  std::unique_ptr<render::ObsWriter> sink_;  // each env's stacked observation into its row of obs_
  game::StepOutputs out_;
  std::vector<std::uint8_t> obs_, final_obs_;
  std::vector<float> rewards_;
  std::vector<std::uint8_t> terminated_, truncated_, ended_;
  std::vector<float> actions_;
  bool any_ended_ = false;
  std::mutex mutex_;  // held for the whole of each call that reads or writes the games or buffers
};

// The env keys with their defaults and what each allows, for documentation and error messages.
std::vector<std::tuple<std::string, std::string, std::string>> env_key_table() {
  render::EnvConfig c;
  std::vector<std::tuple<std::string, std::string, std::string>> v;
  for (const auto& k : render::env_keys(c)) v.emplace_back(k.key, k.get(), k.allowed);
  return v;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "dodge's games stepped in C++ (the package's native part; use dodge.make / gymnasium.make)";
  m.def("env_keys", &env_key_table,
        "(key, default, allowed) of every env key, as in a config's env: section");
  m.def("check_image_size", &check_image_size, py::arg("name"), py::arg("size"),
        "raises ValueError naming name unless size is an allowed image width and height (env.image_width's)");
  py::class_<Core>(m, "Core")
      .def(py::init<const std::vector<std::pair<std::string, std::optional<std::string>>>&, int, int,
                    const std::string&>(),
           py::arg("settings"), py::arg("num_envs"), py::arg("threads") = 0,
           py::arg("autoreset_mode") = "next_step")
      .def_property_readonly("num_envs", &Core::num_envs)
      .def_property_readonly("threads", &Core::threads)
      .def_property_readonly("image", &Core::image)
      .def_property_readonly("obs_shape", &Core::obs_shape)
      .def_property_readonly("action_dim", &Core::action_dim)
      .def_property_readonly("autoreset_mode", &Core::autoreset_mode)
      .def_property_readonly("max_episode_steps",
                             [](const Core& c) { return c.config().game.max_episode_steps; })
      .def_property_readonly("agent_hz",
                             [](const Core& c) {
                               return static_cast<double>(c.config().game.physics_hz) /
                                      c.config().game.frame_skip;
                             })
      .def("settings", &Core::settings)
      .def("reseed", &Core::reseed, py::arg("env"), py::arg("seed"), py::arg("game"))
      .def("reset", &Core::reset, py::arg("mask"), py::arg("copy"))
      .def("step", &Core::step, py::arg("actions"), py::arg("copy"))
      .def("any_ended", &Core::any_ended)
      .def("finished", &Core::finished)
      .def("final_obs", &Core::final_obs)
      .def("render_rgb", &Core::render_rgb, py::arg("env"), py::arg("width"), py::arg("height"));
}

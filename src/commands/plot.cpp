// dodge plot: the evaluation curves of several runs (seeds, variants) in one picture: their mean
// with a band from the lowest to the highest run, or each run as its own line.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "dodge/commands/commands.hpp"
#include "dodge/output/plot.hpp"
#include "dodge/output/run_logger.hpp"
#include "dodge/run/error.hpp"
#include "dodge/run/setup.hpp"

namespace dodge::commands {

namespace {

namespace fs = std::filesystem;

struct PlotArgs {
  std::vector<std::string> runs;
  std::string out = "curves.png";
  std::string title;
  bool each = false;
};

struct EvalCurve {
  std::string name;
  std::map<std::int64_t, double> mean_by_step;
};

// RUN/evaluations.csv, read by output's one reader; its errors become one-line user errors.
EvalCurve read_curve(const std::string& run) {
  const fs::path path = fs::path(run) / "evaluations.csv";
  if (!fs::exists(path)) throw run::UserError(run + ": no evaluations.csv (pass run folders: results/<config>/<time>)");
  EvalCurve c;
  const fs::path p = fs::path(run).lexically_normal();
  c.name = (p.filename().empty() ? p.parent_path() : p).filename().string();
  try {
    for (const auto& r : output::read_evaluations(path.string())) c.mean_by_step[r.step] = r.mean_reward;
  } catch (const std::runtime_error& e) {
    throw run::UserError(e.what());
  }
  if (c.mean_by_step.empty()) throw run::UserError(path.string() + ": no evaluation yet");
  return c;
}

constexpr unsigned char kPalette[][3] = {{230, 80, 30}, {40, 110, 220}, {40, 160, 60}, {150, 60, 180},
                                         {200, 160, 0},  {0, 150, 160},  {120, 120, 120}, {220, 60, 140}};

void run_plot(const PlotArgs& a) {
  run::require_creatable_file("--out", a.out);
  std::vector<EvalCurve> curves;
  for (const auto& r : a.runs) curves.push_back(read_curve(r));
  std::vector<output::Series> series;
  if (a.each || curves.size() == 1) {
    for (std::size_t i = 0; i < curves.size(); ++i) {
      output::Series s;
      s.label = curves[i].name;
      const auto* c = kPalette[i % std::size(kPalette)];
      s.r = c[0], s.g = c[1], s.b = c[2];
      s.markers = true;
      for (const auto& [step, mean] : curves[i].mean_by_step) {
        s.x.push_back(static_cast<double>(step));
        s.y.push_back(mean);
      }
      series.push_back(s);
    }
  } else {
    // The steps every run evaluated at (runs of one config with one eval_freq share them all).
    std::vector<std::int64_t> steps;
    for (const auto& kv : curves[0].mean_by_step) {
      bool everywhere = true;
      for (const auto& c : curves) everywhere = everywhere && c.mean_by_step.count(kv.first);
      if (everywhere) steps.push_back(kv.first);
    }
    if (steps.empty())
      throw run::UserError("the runs share no evaluation step (other eval_freq?); plot them with --each");
    output::Series s;
    s.label = "mean of " + std::to_string(curves.size()) + " runs (band: lowest to highest)";
    s.r = kPalette[0][0], s.g = kPalette[0][1], s.b = kPalette[0][2];
    s.markers = true;
    for (std::int64_t step : steps) {
      double sum = 0, lo = INFINITY, hi = -INFINITY;
      for (const auto& c : curves) {
        const double v = c.mean_by_step.at(step);
        sum += v, lo = std::min(lo, v), hi = std::max(hi, v);
      }
      s.x.push_back(static_cast<double>(step));
      s.y.push_back(sum / static_cast<double>(curves.size()));
      s.lo.push_back(lo);
      s.hi.push_back(hi);
    }
    series.push_back(s);
    std::printf("%zu runs, %zu shared evaluation steps; at the last (%lld): mean %.1f, lowest %.1f, highest %.1f\n",
                curves.size(), steps.size(), static_cast<long long>(steps.back()), s.y.back(), s.lo.back(),
                s.hi.back());
  }
  output::PlotOptions o;
  o.title = a.title.empty() ? "evaluation return" : a.title;
  o.x_label = "env steps";
  o.y_label = "mean evaluation return";
  output::write_learning_curve(a.out, series, o);
  std::printf("wrote %s\n", a.out.c_str());
}

}  // namespace

void register_plot(CLI::App& app) {
  auto a = std::make_shared<PlotArgs>();
  auto* cmd = app.add_subcommand("plot", "Evaluation curves of several runs in one PNG (mean and spread, or each)");
  cmd->add_option("runs", a->runs, "run folders (results/<config>/<time>)")->required();
  cmd->add_option("--out", a->out, "PNG to write")->capture_default_str();
  cmd->add_option("--title", a->title, "picture title");
  cmd->add_flag("--each", a->each, "one line per run instead of their mean and spread");
  cmd->callback([a] { run_plot(*a); });
}

}  // namespace dodge::commands

// Output paths are checked before any work starts: what a writer can create is accepted, the rest
// is a UserError naming the option and the path.
#include "torch_catch.hpp"

#include <filesystem>
#include <fstream>

#include "dodge/run/checkpoint.hpp"
#include "dodge/run/config.hpp"
#include "dodge/run/error.hpp"
#include "dodge/run/setup.hpp"
#include "test_util.hpp"

using namespace dodge::run;
namespace fs = std::filesystem;

TEST_CASE("output paths: missing folders the writer creates are fine, files and folders in the way are not",
          "[setup]") {
  TempDir tmp("setup_paths");
  std::ofstream(tmp.file("plain")) << "x";
  // Relative to a working directory where none of the folders exist yet (bench's default JSON).
  const fs::path cwd = fs::current_path();
  fs::current_path(tmp.path);
  CHECK_NOTHROW(require_creatable_file("--json", "results/bench/update.json"));
  CHECK_NOTHROW(require_writable_file("--json", "eval.json"));
  CHECK_THROWS_WITH(require_writable_file("--json", "missing/eval.json"),
                    Catch::Contains("--json missing/eval.json: the folder missing does not exist"));
  fs::current_path(cwd);
  CHECK_NOTHROW(require_creatable_file("--json", tmp.file("a/b/c.json")));
  CHECK_THROWS_WITH(require_creatable_file("--json", tmp.file("plain/b/c.json")),
                    Catch::Contains("is not a folder"));
  CHECK_THROWS_AS(require_creatable_file("--json", tmp.path.string()), UserError);
  CHECK_THROWS_WITH(require_writable_file("--out", tmp.path.string()), Catch::Contains("is a folder"));
}

TEST_CASE("the grey palette fixes what the network sees: eval and resume refuse another", "[setup]") {
  using namespace dodge::run;
  Config trained = parse_config("env: {observation_mode: topdown, grey_palette: contrast}\n", "x.yaml");
  Config now = trained;
  CHECK_NOTHROW(check_compatible(now, trained, "RUN/final", "on eval"));
  apply_overrides(now, {"env.grey_palette=luma"});
  CHECK_THROWS_WITH(check_compatible(now, trained, "RUN/final", "on eval"),
                    Catch::Contains("env.grey_palette: contrast vs luma"));
}

TEST_CASE("sac.lr_schedule: linear falls from 1 to lr_end over steps or minutes, whichever ends the run first",
          "[setup][lr]") {
  Config c = parse_config("sac: {lr_schedule: linear, lr_end: 0.2}\ntrain: {total_timesteps: 1000}\n", "x.yaml");
  CHECK(lr_scale(c, 0, 1000, 0) == 1.0);
  CHECK(lr_scale(c, 500, 1000, 0) == Approx(0.6));
  CHECK(lr_scale(c, 1000, 1000, 0) == Approx(0.2));
  CHECK(lr_scale(c, 5000, 1000, 0) == Approx(0.2));  // past the end: stays at lr_end
  // 1 % steps: 0.5 % of the way is still the start.
  CHECK(lr_scale(c, 5, 1000, 0) == 1.0);
  CHECK(lr_scale(c, 10, 1000, 0) == Approx(1.0 - 0.01 * 0.8));
  // A resume's --steps moves the end: the total is the trainer's, not the config's.
  CHECK(lr_scale(c, 500, 2000, 0) == Approx(0.8));
  // With max_minutes the clock counts too: the run's end is whichever budget runs out first.
  c.train.max_minutes = 10;
  CHECK(lr_scale(c, 100, 1000, 300) == Approx(0.6));  // half the minutes, a tenth of the steps
  CHECK(lr_scale(c, 900, 1000, 60) == Approx(1.0 - 0.9 * 0.8));
  CHECK(lr_scale(c, 0, 1000, 600) == Approx(0.2));
  c.sac.lr_schedule = "constant";
  CHECK(lr_scale(c, 900, 1000, 599) == 1.0);
  CHECK_THROWS_WITH(parse_config("sac: {lr_schedule: cosine}\n", "x.yaml"), Catch::Contains("sac.lr_schedule"));
  CHECK_THROWS_WITH(parse_config("sac: {lr_end: 1.5}\n", "x.yaml"), Catch::Contains("sac.lr_end"));
}

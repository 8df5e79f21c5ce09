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

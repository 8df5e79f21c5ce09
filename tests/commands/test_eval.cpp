// dodge eval end to end: a trained run's episodes, summary, JSON and GIF.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "dodge/output/image_io.hpp"
#include "test_util.hpp"

using dodge::output::GifInfo;
using dodge::output::read_gif_info;

TEST_CASE("dodge eval prints episodes and a summary and writes JSON", "[eval]") {
  TempDir tmp("eval_e2e");
  const std::string cfg = write_tiny_config(tmp.path, "tiny");
  const std::string results = (tmp.path / "r").string();
  REQUIRE(run_dodge("train --config " + cfg + " --results " + results + " --steps 400").code == 0);
  const std::string run = only_run(results, "tiny");
  const std::string json = (tmp.path / "eval.json").string();
  const std::string gif = (tmp.path / "ep.gif").string();
  const auto r = run_dodge("eval " + run + " --episodes 5 --json " + json + " --record " + gif);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.output, Catch::Contains("episode   5 (game ") && Catch::Contains("mean return") &&
                           Catch::Contains("success rate"));
  // Game 0's episodes are numbered so that a line matches the recording's "game 0 #k".
  CHECK_THAT(r.output, Catch::Contains("(game 0 #1): return"));
  nlohmann::json j = nlohmann::json::parse(std::ifstream(json));
  CHECK(j["episodes"].size() == 5);
  int game0 = 0;
  for (const auto& e : j["episodes"])
    if (e["game"] == 0) CHECK(e["game_episode"] == ++game0);
  CHECK(game0 >= 1);
  CHECK(j.contains("mean_return"));
  CHECK(j.contains("success_rate"));
  const GifInfo g = read_gif_info(gif);
  CHECK(g.frames > 2);
  CHECK(g.width == 256);
}

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
  const std::string deaths = (tmp.path / "deaths.png").string();
  const auto r =
      run_dodge("eval " + run + " --episodes 5 --json " + json + " --record " + gif + " --deaths " + deaths);
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
  // One hit record per episode that did not survive, pointing at it; the summary line counts them.
  std::size_t hit = 0;
  for (const auto& e : j["episodes"]) hit += e["survived"] ? 0 : 1;
  REQUIRE(j["hits"].size() == hit);
  REQUIRE(hit > 0);  // 400 steps of training do not survive 5 episodes
  for (const auto& h : j["hits"]) {
    const auto& e = j["episodes"][h["episode"].get<int>() - 1];
    CHECK_FALSE(e["survived"].get<bool>());
    CHECK(h["step"] == e["length"]);
    CHECK(h["game"] == e["game"]);
    CHECK(h.contains("sector"));
    CHECK(h["in_view"].size() == 1);  // the tiny config's stack
    CHECK(h["last_actions"].size() >= 1);
  }
  CHECK_THAT(r.output, Catch::Contains(std::to_string(hit) + " hit") &&
                           Catch::Contains("by where the ball came from: front "));
  CHECK(dodge::output::read_png(deaths).width == 960);
  const GifInfo g = read_gif_info(gif);
  CHECK(g.frames > 2);
  CHECK(g.width == 256);
}

// bench's argument parsing (a --variant's overrides split at the commas between them only), and
// bench update on a config whose observation is not a picture.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dodge/commands/bench.hpp"
#include "dodge/run/config.hpp"
#include "test_util.hpp"

using dodge::commands::split_overrides;
using Strings = std::vector<std::string>;

TEST_CASE("bench update --variant: a bracketed list stays one override", "[cli][bench]") {
  CHECK(split_overrides("sac.net_arch=[128,128]") == Strings{"sac.net_arch=[128,128]"});
  CHECK(split_overrides("sac.batch_size=64,sac.net_arch=[128, 128],sac.target_encoder=false") ==
        Strings{"sac.batch_size=64", "sac.net_arch=[128, 128]", "sac.target_encoder=false"});
  CHECK(split_overrides("sac.batch_size=256,sac.target_encoder=false") ==
        Strings{"sac.batch_size=256", "sac.target_encoder=false"});
  // Nested lists, maps and quoted commas are one value too; empty pieces are dropped.
  CHECK(split_overrides("a.b=[[1,2],[3]],c.d={x: 1, y: 2},e.f=\"g,h\",,") ==
        Strings{"a.b=[[1,2],[3]]", "c.d={x: 1, y: 2}", "e.f=\"g,h\""});
  CHECK(split_overrides("").empty());
  // What bench update then does with them.
  dodge::run::Config cfg;
  dodge::run::apply_overrides(cfg, split_overrides("sac.net_arch=[128,128],sac.batch_size=64"));
  CHECK(cfg.sac.net_arch == std::vector<int>{128, 128});
  CHECK(cfg.sac.batch_size == 64);
}

TEST_CASE("bench update --config measures a state-vector config (its buffer holds floats, not frames)",
          "[cli][bench]") {
  TempDir tmp("bench_vector");
  const std::string json = (tmp.path / "update.json").string();
  const auto r = run_dodge(std::string("bench update --config ") + DODGE_SOURCE_DIR +
                           "/configs/sac_vector_60.yaml --set sac.buffer_size=4096 --set sac.critic_bins=0 --steps 2 --repeats 1 "
                           "--warmup 1 --json " +
                           json);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto report = nlohmann::json::parse(std::ifstream(json));
  REQUIRE(report["rows"].size() == 1);
  const auto& row = report["rows"][0];
  CHECK(row["updates/s"].get<double>() > 0);
  // Two 256-wide layers on 65 floats, batch 128, one output per critic (critic_bins 0): heads only,
  // about 0.28 GFLOP an update.
  CHECK(row["GFLOP/update"].get<double>() == Approx(0.277).epsilon(0.02));
}

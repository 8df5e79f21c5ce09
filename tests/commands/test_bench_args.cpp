// bench's argument parsing: a --variant's overrides split at the commas between them only.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dodge/commands/bench.hpp"
#include "dodge/run/config.hpp"

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

// dodge plot: several runs' evaluation curves in one PNG (mean and spread, or each), and its errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "dodge/output/image_io.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace {
std::string fake_run(const fs::path& root, const std::string& name, const std::string& evaluations_csv) {
  const fs::path run = root / name;
  fs::create_directories(run);
  std::ofstream(run / "evaluations.csv") << "timesteps,mean_reward,std_reward,mean_ep_length,std_ep_length,success_rate\n"
                                         << evaluations_csv;
  return run.string();
}
}  // namespace

TEST_CASE("dodge plot: the mean of several runs with a band, or each run, as a PNG", "[plot]") {
  TempDir tmp("plot_runs");
  const std::string a = fake_run(tmp.path, "a", "1000,10,1,50,1,0\n2000,100,5,80,2,0.1\n3000,900,9,500,0,0.9\n");
  const std::string b = fake_run(tmp.path, "b", "1000,30,1,50,1,0\n2000,300,5,80,2,0.2\n3000,700,9,500,0,0.7\n");
  const std::string png = (tmp.path / "curves.png").string();
  const auto r = run_dodge("plot " + a + " " + b + " --out " + png + " --title seeds");
  INFO(r.output);
  REQUIRE(r.code == 0);
  // The mean at the last shared step, and the spread between the runs.
  CHECK_THAT(r.output, Catch::Contains("2 runs, 3 shared evaluation steps; at the last (3000): mean 800.0, lowest "
                                       "700.0, highest 900.0"));
  const auto img = dodge::output::read_png(png);
  CHECK(img.width == 900);
  CHECK(img.height == 500);
  const std::string each = (tmp.path / "each.png").string();
  CHECK(run_dodge("plot " + a + " " + b + " --each --out " + each).code == 0);
  CHECK(fs::exists(each));
}

TEST_CASE("dodge plot: a folder without evaluations, or runs with no common step, is a one-line error", "[plot]") {
  TempDir tmp("plot_bad");
  fs::create_directories(tmp.path / "empty");
  const auto r = run_dodge("plot " + (tmp.path / "empty").string() + " --out " + (tmp.path / "x.png").string());
  CHECK(r.code == 2);
  CHECK_THAT(r.output, Catch::Contains("no evaluations.csv"));
  const std::string a = fake_run(tmp.path, "a", "1000,10,1,50,1,0\n");
  const std::string b = fake_run(tmp.path, "b", "1500,30,1,50,1,0\n");
  const auto r2 = run_dodge("plot " + a + " " + b + " --out " + (tmp.path / "y.png").string());
  CHECK(r2.code == 2);
  CHECK_THAT(r2.output, Catch::Contains("share no evaluation step"));
  const std::string c = fake_run(tmp.path, "c", "1000,ten,1,50,1,0\n");
  const auto r3 = run_dodge("plot " + c + " --out " + (tmp.path / "z.png").string());
  CHECK(r3.code == 2);
  CHECK_THAT(r3.output, Catch::Contains("evaluations.csv:2: not numbers"));
}

// TensorBoard event files: CRC-32C vectors, exact Event bytes, round trip, corruption detection.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "dodge/output/tensorboard.hpp"

using namespace dodge::output;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::uint64_t le(const std::string& s, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

}  // namespace

TEST_CASE("crc32c matches the Castagnoli check values", "[output][tensorboard]") {
  const char* digits = "123456789";
  CHECK(crc32c(digits, 9) == 0xE3069283u);
  const std::vector<unsigned char> zeros(32, 0);
  CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  const std::vector<unsigned char> ones(32, 0xff);
  CHECK(crc32c(ones.data(), ones.size()) == 0x62A8AB43u);  // RFC 3720 B.4
  CHECK(crc32c(digits, 0) == 0u);
  // Masked form: rotate right by 15, add 0xa282ead8 (computed from 0xE3069283 by hand).
  CHECK(masked_crc32c(digits, 9) == 0xC78AB0E5u);
}

TEST_CASE("a scalar Event is encoded byte for byte", "[output][tensorboard]") {
  TempDir dir("bytes");
  std::string path;
  {
    TensorBoardWriter w(dir.path.string());
    path = w.path();
    w.add_scalar("loss", 0.5, 3, 1.5);
  }
  const std::string file = slurp(path);
  const std::size_t first = 8 + 4 + le(file, 0, 8) + 4;  // skip the file_version record
  REQUIRE(file.size() > first + 12);

  // Event{1: 1.5 (fixed64), 2: 3 (varint), 5: Summary{1: Value{1: "loss", 2: 0.5f (fixed32)}}}
  const std::string event = bytes({0x09, 0,    0,   0,   0,   0,   0, 0xF8, 0x3F,  // wall_time 1.5
                                   0x10, 0x03,                                     // step 3
                                   0x2A, 0x0D,                                     // summary, 13 bytes
                                   0x0A, 0x0B,                                     // value, 11 bytes
                                   0x0A, 0x04, 'l', 'o', 's', 's',                 // tag
                                   0x15, 0,    0,   0,   0x3F});                   // simple_value 0.5f
  REQUIRE(file.size() == first + 12 + event.size() + 4);
  CHECK(le(file, first, 8) == event.size());
  CHECK(le(file, first + 8, 4) == masked_crc32c(file.data() + first, 8));
  CHECK(file.substr(first + 12, event.size()) == event);
  CHECK(le(file, first + 12 + event.size(), 4) == masked_crc32c(event.data(), event.size()));
}

TEST_CASE("event files round-trip tags, values and steps in order", "[output][tensorboard]") {
  TempDir dir("roundtrip");
  std::string path;
  {
    TensorBoardWriter w(dir.path.string() + "/nested/run");  // creates missing folders
    path = w.path();
    CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
    w.add_scalar("train/return", -21.0, 0, 100.0);
    w.add_scalar("train/loss", 0.125, 2048, 101.0);
    w.add_scalar("eval/return", 3.5, 10'000'000'000LL, 102.0);
    w.add_scalar("odd", 1.0, -1, 103.0);  // negative int64 as a ten-byte varint
    w.add_scalar("now", 2.0, 7);          // wall_time defaults to the clock
    w.flush();
  }
  std::string version;
  const auto events = read_tensorboard_scalars(path, &version);
  CHECK(version == "brain.Event:2");
  REQUIRE(events.size() == 5);
  CHECK(events[0].tag == "train/return");
  CHECK(events[0].value == -21.0);
  CHECK(events[0].step == 0);
  CHECK(events[0].wall_time == 100.0);
  CHECK(events[1].tag == "train/loss");
  CHECK(events[1].value == 0.125);
  CHECK(events[1].step == 2048);
  CHECK(events[2].tag == "eval/return");
  CHECK(events[2].value == 3.5);
  CHECK(events[2].step == 10'000'000'000LL);
  CHECK(events[3].step == -1);
  CHECK(events[4].tag == "now");
  CHECK(events[4].wall_time > 1.5e9);  // seconds since 1970, i.e. after 2017
}

TEST_CASE("values are stored as float like TensorBoard's simple_value", "[output][tensorboard]") {
  TempDir dir("float");
  std::string path;
  {
    TensorBoardWriter w(dir.path.string());
    path = w.path();
    w.add_scalar("x", 0.1, 1, 1.0);
  }
  const auto events = read_tensorboard_scalars(path);
  REQUIRE(events.size() == 1);
  CHECK(events[0].value == static_cast<double>(0.1f));
}

TEST_CASE("two writers on one folder make two files", "[output][tensorboard]") {
  TempDir dir("resume");
  TensorBoardWriter a(dir.path.string());
  TensorBoardWriter b(dir.path.string());
  CHECK(a.path() != b.path());
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) files += entry.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("the reader rejects corrupted and truncated files", "[output][tensorboard]") {
  TempDir dir("corrupt");
  std::string path;
  {
    TensorBoardWriter w(dir.path.string());
    path = w.path();
    for (int i = 0; i < 4; ++i) w.add_scalar("loss", 1.0 / (i + 1), i, 10.0 + i);
  }
  const std::string good = slurp(path);
  REQUIRE(read_tensorboard_scalars(path).size() == 4);
  const std::string bad_path = (dir.path / "bad.tfevents").string();

  SECTION("every single flipped byte is caught") {
    for (std::size_t i = 0; i < good.size(); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      spit(bad_path, bad);
      INFO("flipped byte " << i);
      CHECK_THROWS_AS(read_tensorboard_scalars(bad_path), std::runtime_error);
    }
  }
  SECTION("every truncation inside a record is caught") {
    // Cutting exactly between records leaves a valid, shorter file; anywhere else must throw.
    for (std::size_t n = 1; n < good.size(); ++n) {
      spit(bad_path, good.substr(0, n));
      INFO("kept " << n << " bytes");
      bool threw = false;
      try {
        read_tensorboard_scalars(bad_path);
      } catch (const std::runtime_error& e) {
        threw = std::string(e.what()).find(bad_path) != std::string::npos;
      }
      const bool record_boundary = [&] {
        std::size_t at = 0;
        while (at < n) at += 8 + 4 + le(good, at, 8) + 4;
        return at == n;
      }();
      CHECK(threw == !record_boundary);
    }
  }
  SECTION("a missing file throws") {
    CHECK_THROWS_AS(read_tensorboard_scalars((dir.path / "missing").string()), std::runtime_error);
  }
}

TEST_CASE("an unwritable folder throws with its name", "[output][tensorboard]") {
  CHECK_THROWS_WITH(TensorBoardWriter("/proc/dodge_no_such_dir/run"),
                    Catch::Contains("/proc/dodge_no_such_dir"));
}

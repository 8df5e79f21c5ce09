// TensorBoard event files written directly: TFRecord framing (length, masked CRC-32C of the
// length, the Event protobuf, masked CRC-32C of the data), Event{wall_time, step, summary{value
// {tag, simple_value}}} encoded by hand. TensorBoard and tf.summary readers read them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace dodge::output {

std::uint32_t crc32c(const void* data, std::size_t n);
std::uint32_t masked_crc32c(const void* data, std::size_t n);

class TensorBoardWriter {
 public:
  // Creates dir if needed and opens dir/events.out.tfevents.<time>.<host>.<pid> (appends a new
  // file on resume, as TensorBoard merges all files of a folder).
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, double value, std::int64_t step, double wall_time = -1.0);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& data);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reading back (tests and tools): every record's payload, with the CRCs checked.
struct ScalarEvent {
  std::string tag;
  double value = 0.0;
  std::int64_t step = 0;
  double wall_time = 0.0;
};
// Throws std::runtime_error on a bad length/data CRC or a truncated record.
std::vector<ScalarEvent> read_tensorboard_scalars(const std::string& path, std::string* file_version = nullptr);

}  // namespace dodge::output

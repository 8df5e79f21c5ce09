// TensorBoard event files without TensorFlow: the few protobuf fields a scalar needs are
// encoded by hand (varints and length-delimited fields) inside TFRecord framing.
#include "dodge/output/tensorboard.hpp"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace dodge::output {

namespace {

// Reflected CRC-32C (Castagnoli) table, built once.
const std::array<std::uint32_t, 256>& crc_table() {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

double now_seconds() {
  using namespace std::chrono;
  return duration_cast<duration<double>>(system_clock::now().time_since_epoch()).count();
}

// ---- protobuf encoding (little-endian fixed widths, base-128 varints) ----
enum WireType : std::uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, std::uint32_t field, WireType wire) {
  put_varint(out, field << 3 | wire);
}

void put_fixed(std::string& out, std::uint64_t bits, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(bits >> (8 * i) & 0xff));
}

void put_double(std::string& out, std::uint32_t field, double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  put_key(out, field, kFixed64);
  put_fixed(out, bits, 8);
}

void put_float(std::string& out, std::uint32_t field, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  put_key(out, field, kFixed32);
  put_fixed(out, bits, 4);
}

void put_bytes(std::string& out, std::uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

// ---- protobuf decoding with bounds checks ----
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  const std::string* path;  // for error messages

  [[noreturn]] void bad(const char* why) const {
    throw std::runtime_error(*path + ": malformed event: " + why);
  }
  bool done() const { return p == end; }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) bad("truncated varint");
      const unsigned char b = *p++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    bad("varint too long");
  }
  std::uint64_t fixed(int bytes) {
    if (end - p < bytes) bad("truncated fixed-width field");
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(*p++) << (8 * i);
    return v;
  }
  Reader sub() {
    const std::uint64_t n = varint();
    if (n > static_cast<std::uint64_t>(end - p)) bad("length past end of message");
    Reader r{p, p + n, path};
    p += n;
    return r;
  }
  void skip(std::uint32_t wire) {
    switch (wire) {
      case kVarint: varint(); break;
      case kFixed64: fixed(8); break;
      case kLengthDelimited: sub(); break;
      case kFixed32: fixed(4); break;
      default: bad("unsupported wire type");
    }
  }
  std::string string() {
    Reader r = sub();
    return std::string(reinterpret_cast<const char*>(r.p), static_cast<std::size_t>(r.end - r.p));
  }
};

double as_double(std::uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

float as_float(std::uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

std::uint64_t read_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Summary.Value messages holding a simple_value; other kinds (images, tensors) are skipped.
void parse_summary(Reader r, double wall_time, std::int64_t step, std::vector<ScalarEvent>& out) {
  while (!r.done()) {
    const std::uint64_t key = r.varint();
    if (key >> 3 != 1 || (key & 7) != kLengthDelimited) {
      r.skip(key & 7);
      continue;
    }
    Reader v = r.sub();
    ScalarEvent e;
    e.wall_time = wall_time;
    e.step = step;
    bool has_value = false;
    while (!v.done()) {
      const std::uint64_t k = v.varint();
      if (k == (1u << 3 | kLengthDelimited)) {
        e.tag = v.string();
      } else if (k == (2u << 3 | kFixed32)) {
        e.value = as_float(static_cast<std::uint32_t>(v.fixed(4)));
        has_value = true;
      } else {
        v.skip(k & 7);
      }
    }
    if (has_value) out.push_back(std::move(e));
  }
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t n) {
  const auto& table = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  const std::uint32_t crc = crc32c(data, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create directory: " + ec.message());
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  const std::string base = (std::filesystem::path(dir) / "events.out.tfevents.").string() +
                           std::to_string(static_cast<long long>(now_seconds())) + "." + host + "." +
                           std::to_string(static_cast<long long>(getpid()));
  // Never reuse a name: a writer restarted in the same second gets a numbered suffix
  // ("x" makes the open fail rather than truncate an existing file).
  for (int n = 0; !file_ && n < 1000; ++n) {
    path_ = n == 0 ? base : base + "." + std::to_string(n);
    file_ = std::fopen(path_.c_str(), "wbx");
    if (!file_ && errno != EEXIST) break;
  }
  if (!file_) throw std::runtime_error(path_ + ": cannot open event file: " + std::strerror(errno));

  std::string event;
  put_double(event, 1, now_seconds());
  put_bytes(event, 3, "brain.Event:2");
  try {
    write_record(event);
    flush();
  } catch (...) {
    std::fclose(file_);
    file_ = nullptr;
    throw;
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, std::int64_t step,
                                   double wall_time) {
  std::string val;
  put_bytes(val, 1, tag);
  put_float(val, 2, static_cast<float>(value));
  std::string summary;
  put_bytes(summary, 1, val);
  std::string event;
  put_double(event, 1, wall_time < 0 ? now_seconds() : wall_time);
  put_key(event, 2, kVarint);
  put_varint(event, static_cast<std::uint64_t>(step));  // int64: negatives take ten bytes
  put_bytes(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0) throw std::runtime_error(path_ + ": cannot flush: " + std::strerror(errno));
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string record;
  record.reserve(data.size() + 16);
  put_fixed(record, data.size(), 8);
  const std::uint32_t length_crc = masked_crc32c(record.data(), 8);
  put_fixed(record, length_crc, 4);
  record += data;
  put_fixed(record, masked_crc32c(data.data(), data.size()), 4);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw std::runtime_error(path_ + ": cannot write event: " + std::strerror(errno));
}

std::vector<ScalarEvent> read_tensorboard_scalars(const std::string& path, std::string* file_version) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open event file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error(path + ": cannot read event file");

  std::vector<ScalarEvent> out;
  bool version_seen = false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p != end) {
    if (end - p < 12) throw std::runtime_error(path + ": truncated record header");
    const std::uint64_t length = read_le(p, 8);
    if (read_le(p + 8, 4) != masked_crc32c(p, 8)) throw std::runtime_error(path + ": bad length CRC");
    p += 12;
    if (length > static_cast<std::uint64_t>(end - p) || static_cast<std::uint64_t>(end - p) - length < 4)
      throw std::runtime_error(path + ": truncated record data");
    const auto* data = p;
    p += length;
    if (read_le(p, 4) != masked_crc32c(data, length)) throw std::runtime_error(path + ": bad data CRC");
    p += 4;

    Reader r{data, data + length, &path};
    double wall_time = 0;
    std::int64_t step = 0;
    bool has_summary = false;
    Reader summary{data, data, &path};
    while (!r.done()) {
      const std::uint64_t key = r.varint();
      if (key == (1u << 3 | kFixed64)) {
        wall_time = as_double(r.fixed(8));
      } else if (key == (2u << 3 | kVarint)) {
        step = static_cast<std::int64_t>(r.varint());
      } else if (key == (3u << 3 | kLengthDelimited)) {
        std::string version = r.string();
        if (file_version && !version_seen) *file_version = std::move(version);
        version_seen = true;
      } else if (key == (5u << 3 | kLengthDelimited)) {
        summary = r.sub();  // parsed after the loop: step may follow it in the encoding
        has_summary = true;
      } else {
        r.skip(key & 7);
      }
    }
    if (has_summary) parse_summary(summary, wall_time, step, out);
  }
  return out;
}

}  // namespace dodge::output

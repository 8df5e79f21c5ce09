// Saving torch archives safely: serialise in memory, then write with error checks. (LibTorch's
// own file writer throws from a destructor when the disk is full, which aborts the process.)
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace dodge::learn {

inline void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream buffer;
  archive.save_to(buffer);
  const std::string bytes = buffer.str();
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw std::runtime_error(path + ": write failed (disk full?)");
}

}  // namespace dodge::learn

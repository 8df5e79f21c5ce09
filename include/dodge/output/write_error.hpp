// A file the caller named cannot be written (missing or read-only folder, full disk). Callers that
// took the path from the user report it as bad input; other failures stay std::runtime_error.
#pragma once

#include <stdexcept>

namespace dodge::output {

class WriteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dodge::output

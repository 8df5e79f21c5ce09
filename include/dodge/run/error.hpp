// The one error type main turns into a one-line message and exit code 2.
#pragma once

#include <stdexcept>

namespace dodge::run {

// A user error (bad file, key, value, path, device): printed as one line, exit code 2.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dodge::run

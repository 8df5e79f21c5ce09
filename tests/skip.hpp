// Tests that need what a machine may lack (a GPU, Gloo) are reported by CTest as skipped, not as
// passed without running. Include after torch_catch.hpp where LibTorch is used.
#pragma once

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

// CTest runs each test case in a process of its own with DODGE_TEST_EXIT_ON_SKIP set, and reads
// the exit code DODGE_TEST_SKIP_CODE as "Not Run (skipped)" (CMakeLists.txt). There a missing
// resource ends the process with that code. Run by hand (many cases in one process) it warns and
// returns false, so that the caller returns and the other cases still run.
inline bool available_or_skip(bool available, const std::string& what) {
  if (available) return true;
  if (std::getenv("DODGE_TEST_EXIT_ON_SKIP")) {
    std::cout << "skipped: " << what << std::endl;
    std::fflush(nullptr);
    std::_Exit(DODGE_TEST_SKIP_CODE);  // no static destructors: LibTorch's threads may still run
  }
  WARN(what + ": not run");
  return false;
}

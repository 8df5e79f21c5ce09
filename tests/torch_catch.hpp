// LibTorch (Debian's build pulls in glog, whose CHECK macro clashes with Catch's) then Catch2.
#pragma once

#include <torch/torch.h>
#undef CHECK
#include <catch2/catch.hpp>

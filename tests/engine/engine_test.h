// Include this (not catch.hpp directly) in LibTorch tests: Debian's LibTorch pulls in glog,
// whose CHECK macros collide with Catch2's. LibTorch first, glog's macros removed, then Catch2.
#pragma once

#include <torch/torch.h>

#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#undef CHECK_NOTNULL

#include <catch2/catch.hpp>

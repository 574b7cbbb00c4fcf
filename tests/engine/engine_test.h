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

#include "ordertune/model/model.h"

namespace ordertune::testing {

// A tiny XLM-R architecture for fast tests (2 layers, hidden 16, 4 heads).
inline XlmrConfig small_test_config() {
  XlmrConfig c;
  c.vocab_size = 50;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 32;
  c.max_position_embeddings = 40;
  return c;
}

}  // namespace ordertune::testing

// rng — the demo suite's random draws: named streams of base/hash.h's SplitMix64.
//
// Every draw of the demo comes from an Rng: std:: distributions differ between standard
// libraries, these do not, so the same seed gives byte-identical files everywhere. The stream
// is SplitMix64 itself; the bounded draw below(n) is the demo's own (see rng.cpp: it stays
// because the demo's bytes are part of the published demo results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "ordertune/base/hash.h"

namespace ordertune::demo {

class Rng {
 public:
  // A stream named by `stream` under `seed`: distinct names give independent streams.
  Rng(uint64_t seed, std::string_view stream);
  uint64_t next() { return stream_.next(); }
  // Uniform in [0, n), n > 0 (multiply-shift on the high 32 bits; n is small).
  int below(int n);
  int range(int lo, int hi) { return lo + below(hi - lo + 1); }  // inclusive
  bool chance(double p) { return stream_.uniform() < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(below(static_cast<int>(items.size())))];
  }
  template <typename T>
  void shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i)
      std::swap((*items)[i - 1], (*items)[static_cast<size_t>(below(static_cast<int>(i)))]);
  }

 private:
  SplitMix64 stream_;
};

}  // namespace ordertune::demo

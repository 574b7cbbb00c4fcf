// hash — content hashing for cache freshness and config identity, and derived random seeds.
//
// FNV-1a, 64 bit: not cryptographic, only a fingerprint that changes when an input file, a
// setting or the tokenizer changes. Hashes print as 16 lowercase hex digits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ordertune {

class Hasher {
 public:
  Hasher& update(const void* data, size_t size);
  Hasher& update(std::string_view text);
  // Adds a separator-safe field: the length first, so ("ab","c") != ("a","bc").
  Hasher& field(std::string_view text);
  Hasher& file(
      const std::filesystem::path& path);  // the file's bytes; throws DataError if unreadable
  uint64_t digest() const { return state_; }
  std::string hex() const;

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
};

std::string hash_hex(std::string_view text);

// ---- seeds (src/DESIGN.md, decision 6) ---------------------------------------------------

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and the same everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();            // [0, 1) with 53 random bits
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0 (rejection sampling: no bias)

 private:
  uint64_t state_;
};

// A child seed: hash of (parent, label). derive_seed(s, "dropout") != derive_seed(s, "data").
uint64_t derive_seed(uint64_t parent, std::string_view label);
uint64_t derive_seed(uint64_t parent, std::string_view label, uint64_t index);

}  // namespace ordertune

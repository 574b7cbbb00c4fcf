#include "ordertune/base/hash.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "ordertune/base/error.h"

namespace ordertune {

Hasher& Hasher::update(const void* data, size_t size) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;  // FNV-1a 64 prime
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = state_;
  for (size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= kPrime;
  }
  state_ = h;
  return *this;
}

Hasher& Hasher::update(std::string_view text) {
  return update(text.data(), text.size());
}

Hasher& Hasher::field(std::string_view text) {
  const uint64_t n = text.size();
  update(&n, sizeof n);
  return update(text);
}

Hasher& Hasher::file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open file for reading", path.string()));
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return *this;
}

std::string Hasher::hex() const {
  return fmt::format("{:016x}", state_);
}

std::string hash_hex(std::string_view text) {
  return Hasher().update(text).hex();
}

// ---- seeds ------------------------------------------------------------------------------------

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

uint64_t SplitMix64::below(uint64_t n) {
  OT_CHECK(n > 0, "SplitMix64::below(0)");
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // accept [0, limit): a multiple of n
  uint64_t x = next();
  while (x >= limit) x = next();
  return x % n;
}

uint64_t derive_seed(uint64_t parent, std::string_view label) {
  Hasher h;
  h.update(&parent, sizeof parent).field(label);
  // One splitmix64 round on top of FNV-1a spreads the last input bytes over all bits.
  return SplitMix64(h.digest()).next();
}

uint64_t derive_seed(uint64_t parent, std::string_view label, uint64_t index) {
  Hasher h;
  h.update(&parent, sizeof parent).field(label).update(&index, sizeof index);
  return SplitMix64(h.digest()).next();
}

}  // namespace ordertune

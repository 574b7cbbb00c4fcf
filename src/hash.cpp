#include "ordertune/hash.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "ordertune/error.h"

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

Hasher& Hasher::update(std::string_view text) { return update(text.data(), text.size()); }

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

std::string Hasher::hex() const { return fmt::format("{:016x}", state_); }

std::string hash_hex(std::string_view text) { return Hasher().update(text).hex(); }

}  // namespace ordertune

#include "ordertune/base/utf8.h"

#include <algorithm>

namespace ordertune {
namespace {

bool is_continuation(unsigned char b) {
  return (b & 0xC0) == 0x80;
}

// The length of the sequence a lead byte starts (0: not a lead byte) and its payload bits.
int sequence_length(unsigned char lead, uint32_t* bits) {
  if (lead < 0x80) {
    *bits = lead;
    return 1;
  }
  if ((lead & 0xE0) == 0xC0) {
    *bits = lead & 0x1F;
    return 2;
  }
  if ((lead & 0xF0) == 0xE0) {
    *bits = lead & 0x0F;
    return 3;
  }
  if ((lead & 0xF8) == 0xF0) {
    *bits = lead & 0x07;
    return 4;
  }
  return 0;
}

}  // namespace

size_t find_invalid_utf8(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint32_t cp = 0;
    const auto len = static_cast<size_t>(sequence_length(s[i], &cp));
    if (len == 0 || i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if (!is_continuation(s[i + k])) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong encodings, surrogates and code points past U+10FFFF are invalid (RFC 3629).
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += len;
  }
  return std::string::npos;
}

std::u32string decode_utf8(const std::string& text) {
  std::u32string out;
  out.reserve(text.size());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    uint32_t c = 0;
    const auto len = static_cast<size_t>(sequence_length(static_cast<unsigned char>(text[i]), &c));
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (!is_continuation(b)) ok = false;
      c = (c << 6) | (b & 0x3F);
    }
    if (!ok) {
      out.push_back(0xFFFD);
      i += 1;
      continue;
    }
    out.push_back(static_cast<char32_t>(c));
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

size_t codepoint_to_byte_offset(const std::string& text, int64_t codepoint_offset) {
  if (codepoint_offset < 0) return std::string::npos;
  int64_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_continuation(static_cast<unsigned char>(text[i]))) continue;
    if (seen == codepoint_offset) return i;
    ++seen;
  }
  return seen == codepoint_offset ? text.size() : std::string::npos;
}

int64_t byte_to_codepoint_offset(const std::string& text, size_t bytes) {
  int64_t n = 0;
  for (size_t i = 0; i < std::min(bytes, text.size()); ++i)
    if (!is_continuation(static_cast<unsigned char>(text[i]))) ++n;
  return n;
}

size_t next_codepoint(const std::string& text, size_t at) {
  if (at >= text.size()) return text.size();
  size_t n = at + 1;
  while (n < text.size() && is_continuation(static_cast<unsigned char>(text[n]))) ++n;
  return n;
}

size_t utf8_cut(const std::string& text, size_t bytes) {
  if (bytes >= text.size()) return text.size();
  size_t n = bytes;
  while (n > 0 && is_continuation(static_cast<unsigned char>(text[n]))) --n;
  return n;
}

}  // namespace ordertune

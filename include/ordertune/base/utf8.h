// utf8 — UTF-8 text as the readers, the metrics and the messages need it (RFC 3629). The one
// decoder: the readers validate input with find_invalid_utf8, the metrics work on code points
// (the official scripts run on Python 3 str), and messages cut text at a code point boundary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ordertune {

// The byte index of the first invalid UTF-8 sequence (bad lead or continuation byte, truncated,
// overlong, surrogate, past U+10FFFF), or std::string::npos when `text` is valid.
size_t find_invalid_utf8(const std::string& text);

// Code points of `text`; a byte that starts no valid sequence becomes U+FFFD (callers pass
// validated text).
std::u32string decode_utf8(const std::string& text);
// UTF-8 of code points (which must be valid scalar values).
std::string encode_utf8(const std::u32string& text);
void append_utf8(std::string& out, char32_t c);

// The byte offset of code point `codepoint_offset` of `text` (its size for the end), or
// std::string::npos when the offset is negative or past the end.
size_t codepoint_to_byte_offset(const std::string& text, int64_t codepoint_offset);

// The number of code points in the first `bytes` bytes of `text` (the inverse of
// codepoint_to_byte_offset at a code point boundary).
int64_t byte_to_codepoint_offset(const std::string& text, size_t bytes);

// The byte index just after the code point that starts at `at` (text.size() at the end).
size_t next_codepoint(const std::string& text, size_t at);

// The largest n <= bytes at which `text` can be cut without splitting a code point.
size_t utf8_cut(const std::string& text, size_t bytes);

}  // namespace ordertune

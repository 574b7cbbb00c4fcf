// base/utf8: the one UTF-8 decoder, checked against RFC 3629's definitions (the byte patterns
// below are the RFC's and Unicode's, not the program's output).
#include <catch2/catch.hpp>

#include "ordertune/base/utf8.h"

using namespace ordertune;

namespace {
// "añ€𐍈": 1-, 2-, 3- and 4-byte sequences (U+0061, U+00F1, U+20AC, U+10348).
const std::string kMixed = "a\xC3\xB1\xE2\x82\xAC\xF0\x90\x8D\x88";
}  // namespace

TEST_CASE("utf8: decode and encode round-trip every sequence length", "[utf8]") {
  const std::u32string cps = decode_utf8(kMixed);
  REQUIRE(cps == std::u32string{U'a', U'\u00F1', U'\u20AC', U'\U00010348'});
  REQUIRE(encode_utf8(cps) == kMixed);
  REQUIRE(find_invalid_utf8(kMixed) == std::string::npos);
}

TEST_CASE("utf8: invalid input is found at its first bad byte", "[utf8]") {
  REQUIRE(find_invalid_utf8("ab\xFF") == 2);            // never a lead byte
  REQUIRE(find_invalid_utf8("a\x80") == 1);             // lone continuation
  REQUIRE(find_invalid_utf8("a\xE2\x82") == 1);         // truncated
  REQUIRE(find_invalid_utf8("\xC0\xAF") == 0);          // overlong '/'
  REQUIRE(find_invalid_utf8("x\xED\xA0\x80") == 1);     // surrogate U+D800
  REQUIRE(find_invalid_utf8("\xF4\x90\x80\x80") == 0);  // past U+10FFFF
  REQUIRE(decode_utf8("a\xFF"
                      "b") == std::u32string{U'a', U'\uFFFD', U'b'});
}

TEST_CASE("utf8: byte and code point offsets are inverses at boundaries", "[utf8]") {
  // Boundaries of kMixed: bytes 0 1 3 6 10 are code points 0 1 2 3 4.
  const size_t bytes[] = {0, 1, 3, 6, 10};
  for (int64_t cp = 0; cp < 5; ++cp) {
    REQUIRE(codepoint_to_byte_offset(kMixed, cp) == bytes[cp]);
    REQUIRE(byte_to_codepoint_offset(kMixed, bytes[cp]) == cp);
  }
  REQUIRE(codepoint_to_byte_offset(kMixed, 5) == std::string::npos);
  REQUIRE(codepoint_to_byte_offset(kMixed, -1) == std::string::npos);
  // Inside a sequence, the count includes the code point begun there.
  REQUIRE(byte_to_codepoint_offset(kMixed, 4) == 3);
  REQUIRE(byte_to_codepoint_offset(kMixed, 100) == 4);
}

TEST_CASE("utf8: next_codepoint and utf8_cut never split a sequence", "[utf8]") {
  REQUIRE(next_codepoint(kMixed, 0) == 1);
  REQUIRE(next_codepoint(kMixed, 1) == 3);
  REQUIRE(next_codepoint(kMixed, 3) == 6);
  REQUIRE(next_codepoint(kMixed, 6) == 10);
  REQUIRE(next_codepoint(kMixed, 10) == 10);
  REQUIRE(utf8_cut(kMixed, 2) == 1);
  REQUIRE(utf8_cut(kMixed, 9) == 6);
  REQUIRE(utf8_cut(kMixed, 10) == 10);
  REQUIRE(utf8_cut(kMixed, 99) == 10);
}

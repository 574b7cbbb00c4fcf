// choice — a setting with a fixed set of values is an enum, spelt in exactly one table.
//
// Each choice enum specialises ChoiceTraits with its spellings (the words a config file, the
// command line or a data cache uses). Parsing and naming go through that one table, so code
// compares enum values, never strings: a misspelt value does not compile, and a config value
// outside the table is refused where it is read (config.cpp) with the list of what is allowed.
#pragma once

#include <string>
#include <string_view>

namespace ordertune {

template <typename E>
struct Spelling {
  E value;
  const char* name;
};

// Specialise per enum: `static constexpr Spelling<E> spellings[] = {{E::kA, "a"}, ...};`
template <typename E>
struct ChoiceTraits;

// The spelling of `value` ("?" only for a value outside its enum's table: a programming error).
template <typename E>
const char* choice_name(E value) {
  for (const auto& s : ChoiceTraits<E>::spellings)
    if (s.value == value) return s.name;
  return "?";
}

// Sets *out and returns true when `text` is one of E's spellings.
template <typename E>
bool parse_choice(std::string_view text, E* out) {
  for (const auto& s : ChoiceTraits<E>::spellings) {
    if (text == s.name) {
      *out = s.value;
      return true;
    }
  }
  return false;
}

// Every spelling of E, quoted and separated by ", " (for messages: expected one of ...).
template <typename E>
std::string choice_list() {
  std::string out;
  for (const auto& s : ChoiceTraits<E>::spellings) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += s.name;
    out += '"';
  }
  return out;
}

}  // namespace ordertune

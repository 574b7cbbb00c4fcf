// unicode_tables — the Unicode character properties behind metrics.h's Python str semantics.
//
// Lookups in tables that src/scoring/unicode_tables.py generates from Python's unicodedata
// (src/scoring/unicode_tables.cpp names the Unicode version and the Python expression that
// defines each table), so that each predicate answers exactly what Python answers. Any code
// point is valid input.
#pragma once

namespace ordertune::unicode {

bool is_punctuation(char32_t c);  // unicodedata.category(chr(c)).startswith('P')
bool is_alnum(char32_t c);        // chr(c).isalnum()

// The two classes of str.lower()'s Final_Sigma rule (CPython handle_capital_sigma()).
bool is_case_ignorable(char32_t c);       // skipped when looking for a cased neighbour
bool is_cased_not_ignorable(char32_t c);  // stops the search as a cased neighbour

// chr(c).lower() where that is a single code point, else c itself. Not all of str.lower(): U+0130
// lowers to two code points and U+03A3 to the final or medial sigma by context (this gives the
// medial one); the caller handles both (lower_u32 in metrics.cpp).
char32_t lower(char32_t c);

}  // namespace ordertune::unicode

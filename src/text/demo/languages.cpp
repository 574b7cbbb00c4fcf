#include "ordertune/text/demo/languages.h"

#include <set>
#include <utility>

#include <fmt/format.h>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/text/demo/lexicon.h"
#include "ordertune/text/demo/rng.h"

namespace ordertune::demo {
namespace {

using FunctionWords = std::array<const char*, kNumFunctionWords>;
constexpr FunctionWords kEnglishWords = {"the",     "a",    "did",       "not",   "in",  "on",
                                         "with",    "who",  "what",      "where", "how", "many",
                                         "someone", "then", "yesterday", ""};
constexpr FunctionWords kCloseWords = {"de",     "a",   "dida",      "no",  "in",  "on",
                                       "vid",    "hu",  "vat",       "ver", "hau", "meni",
                                       "somvan", "den", "yesterdai", ""};
constexpr FunctionWords kMiddleWords = {"la",       "un",   "",     "ne",   "en",     "lu",
                                        "kon",      "kio",  "ke",   "dove", "kuanti", "",
                                        "kualkuno", "pois", "ieri", ""};
constexpr FunctionWords kFarWords = {"",     "",      "",     "mäs", "dä",   "kün",  "ilä",  "kimu",
                                     "nümä", "hanzä", "kaşu", "",    "birü", "sonä", "düna", "mö"};

// sa's regular sound changes, applied left to right with the longest rule first.
std::string respell(const std::string& word) {
  static const std::pair<const char*, const char*> kRules[] = {
      {"ough", "o"}, {"augh", "a"}, {"tion", "sion"}, {"igh", "i"}, {"th", "d"},
      {"sh", "x"},   {"ch", "c"},   {"ck", "k"},      {"ph", "f"},  {"qu", "kv"},
      {"kn", "n"},   {"wr", "r"},   {"ee", "i"},      {"oo", "u"},  {"ea", "e"},
      {"ay", "ei"},  {"c", "k"},    {"w", "v"},       {"y", "i"},
  };
  std::string out;
  size_t i = 0;
  while (i < word.size()) {
    bool matched = false;
    for (const auto& [from, to] : kRules) {
      const size_t n = std::char_traits<char>::length(from);
      if (word.compare(i, n, from) == 0) {
        out += to;
        i += n;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // Double consonants are written single.
    if (i + 1 < word.size() && word[i] == word[i + 1] && !is_ascii_vowel(word[i])) ++i;
    out += word[i++];
  }
  return out;
}

std::string to_lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A fraction in [0, 1) fixed by a language and a lemma (which lemmas a language shares).
double lemma_fraction(const std::string& language, const std::string& key) {
  return SplitMix64(Hasher().field(language).field(key).digest()).uniform();
}

// A syllable cipher: a stem of 1-3 syllables drawn from the language's inventory.
struct CipherStyle {
  std::vector<const char*> onsets;
  std::vector<const char*> vowels;
  std::vector<bool> front;  // per vowel: front (for vowel harmony)
  std::vector<const char*> codas;
  double coda_probability;  // per syllable
};

struct Stem {
  std::string text;
  bool ends_in_vowel = false;
  bool front = false;  // last vowel is a front vowel
};

Stem cipher_stem(const std::string& language, const std::string& key, int length, int attempt,
                 const CipherStyle& style) {
  Rng rng(0x0D15EA5EULL, fmt::format("{}|{}|{}", language, key, attempt));
  const int syllables = 1 + (length >= 4) + (length >= 7);
  Stem stem;
  for (int s = 0; s < syllables; ++s) {
    stem.text += rng.pick(style.onsets);
    const int v = rng.below(static_cast<int>(style.vowels.size()));
    stem.text += style.vowels[static_cast<size_t>(v)];
    stem.front = style.front[static_cast<size_t>(v)];
    stem.ends_in_vowel = true;
    if (rng.chance(style.coda_probability)) {
      stem.text += rng.pick(style.codas);
      stem.ends_in_vowel = false;
    }
  }
  return stem;
}

// Inflected forms of a ciphered lemma.
std::array<std::string, 2> cipher_forms(const Lemma& lemma, const Stem& stem, bool far) {
  const std::string& s = stem.text;
  switch (lemma.pos) {
    case Pos::kNoun:
      if (far) return {s, s + (stem.front ? "lär" : "lar")};
      return {s, s + (stem.ends_in_vowel ? "s" : "es")};
    case Pos::kVerb:
      if (far) return {s, s + (stem.front ? "di" : "du")};
      return {s, s + (stem.ends_in_vowel ? "ta" : "ata")};
    case Pos::kAdj:
    case Pos::kDay:
      return {s, s};
  }
  return {s, s};
}

const CipherStyle& middle_style() {
  static const CipherStyle style{{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v",
                                  "z", "br", "tr", "pl", "st"},
                                 {"a", "e", "i", "o", "u"},
                                 {false, true, true, false, false},
                                 {"n", "r", "l", "s"},
                                 0.25};
  return style;
}

const CipherStyle& far_style() {
  static const CipherStyle style{
      {"k", "t", "m", "n", "r", "s", "ş", "h", "y", "z", "l", "g", "b", "d"},
      {"a", "e", "i", "o", "u", "ä", "ö", "ü"},
      {false, true, true, false, false, true, true, true},
      {"n", "r", "k", "l", "ş", "m"},
      0.35};
  return style;
}

// Every word form of a language is unique (function words included), so that no two lemmas
// merge: `used` holds the forms taken so far.
bool unused(const std::set<std::string>& used, const std::array<std::string, 2>& f) {
  return !used.count(f[0]) && !used.count(f[1]);
}

// sa's forms of a lemma: 35% of the lemmas respelled, with sa's noun and adjective endings.
std::array<std::string, 2> close_forms(const Lemma& lemma, const std::set<std::string>& used) {
  std::array<std::string, 2> f = lemma.en;
  if (lemma_fraction("sa", lemma.key) >= 0.35) {
    for (auto& form : f) form = respell(to_lower_ascii(form));
    if (lemma.pos == Pos::kNoun) {
      if (!is_ascii_vowel(f[0].back())) f[0] += "o";
      f[1] = f[0] + "s";
    } else if (lemma.pos == Pos::kAdj) {
      if (!is_ascii_vowel(f[0].back())) f[0] += "a";
      f[1] = f[0];
    } else if (lemma.pos == Pos::kDay) {
      f[0] = f[1] = capitalize(f[0]);
    }
    for (int extra = 0; !unused(used, f) && extra < 8; ++extra)
      for (auto& form : f) form += "e";
  }
  // A shared lemma may collide with a respelled one: respell it too, then.
  if (!unused(used, f)) f = {lemma.en[0] + "e", lemma.en[1] + "e"};
  return f;
}

// sb's and sc's forms of a lemma: a cipher stem (15% of sb's lemmas borrowed from English).
std::array<std::string, 2> ciphered_forms(const std::string& code, const Lemma& lemma,
                                          const std::set<std::string>& used) {
  std::array<std::string, 2> f = lemma.en;
  const bool far_language = code == "sc";
  const bool borrowed = !far_language && lemma_fraction(code, lemma.key) < 0.15;
  if (borrowed) f = {to_lower_ascii(lemma.en[0]), to_lower_ascii(lemma.en[1])};
  for (int attempt = 0; !borrowed || !unused(used, f); ++attempt) {
    OT_CHECK(attempt < 1000, "no unused word form for {} in {}", lemma.key, code);
    const Stem stem = cipher_stem(code, lemma.key, static_cast<int>(lemma.en[0].size()), attempt,
                                  far_language ? far_style() : middle_style());
    f = cipher_forms(lemma, stem, far_language);
    if (unused(used, f)) break;
  }
  return f;
}

// A language's word-order switches and function words.
Language language_frame(const std::string& code) {
  Language lang;
  lang.code = code;
  const FunctionWords* words = &kEnglishWords;
  if (code == "en") {
    lang.do_support = lang.an_rule = true;
  } else if (code == "sa") {
    lang.do_support = true;
    words = &kCloseWords;
  } else if (code == "sb") {
    lang.adj_after_noun = true;
    words = &kMiddleWords;
  } else {
    OT_CHECK(code == "sc", "unknown demo language {}", code);
    lang.verb_final = lang.adj_after_noun = lang.postpositions = lang.wh_in_situ = true;
    lang.neg_after_verb = true;
    words = &kFarWords;
  }
  for (int i = 0; i < kNumFunctionWords; ++i) lang.words[i] = (*words)[i];
  return lang;
}

Language make_language(const std::string& code) {
  Language lang = language_frame(code);
  // English itself is taken as it is; the others get a unique form for every lemma.
  std::set<std::string> used;
  for (const auto& w : lang.words)
    if (!w.empty()) used.insert(w);
  for (const Lemma& lemma : lexicon().lemmas) {
    std::array<std::string, 2> f = lemma.en;
    if (code == "sa")
      f = close_forms(lemma, used);
    else if (code == "sb" || code == "sc")
      f = ciphered_forms(code, lemma, used);
    if (code != "en") {
      OT_CHECK(unused(used, f), "word form {} of {} in {} is not unique", f[0], lemma.key, code);
      used.insert(f[0]);
      used.insert(f[1]);
    }
    lang.forms.push_back(f);
  }
  return lang;
}

const std::vector<Language>& languages() {
  static const std::vector<Language> langs = [] {
    std::vector<Language> out;
    for (const char* code : {"en", "sa", "sb", "sc"}) out.push_back(make_language(code));
    return out;
  }();
  return langs;
}

}  // namespace

bool is_ascii_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

std::string capitalize(std::string s) {
  if (s.empty()) return s;
  const auto c0 = static_cast<unsigned char>(s[0]);
  if (c0 >= 'a' && c0 <= 'z') {
    s[0] = static_cast<char>(c0 - 'a' + 'A');
  } else if (s.size() > 1) {
    const auto c1 = static_cast<unsigned char>(s[1]);
    if (c0 == 0xC3 && (c1 == 0xA4 || c1 == 0xB6 || c1 == 0xBC)) s[1] = static_cast<char>(c1 - 0x20);
    if (c0 == 0xC5 && c1 == 0x9F) s[1] = static_cast<char>(0x9E);
  }
  return s;
}

const Language& language(const std::string& code) {
  for (const Language& l : languages())
    if (l.code == code) return l;
  OT_CHECK(false, "unknown demo language {}", code);
}

}  // namespace ordertune::demo

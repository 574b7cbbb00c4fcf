// languages — the demo's languages: English and three synthetic ones made from it, "sa" (close:
// English grammar, content words respelled by regular sound rules), "sb" (middle: a syllable
// cipher, noun-adjective order, no do-support) and "sc" (far: SOV, postpositions, a cipher with
// vowel harmony). Each is a set of word-order switches, its function words and a word form for
// every lemma of the lexicon, fixed by its own constant seed (never by DemoOptions::seed).
#pragma once

#include <array>
#include <string>
#include <vector>

namespace ordertune::demo {

enum FunctionWord {
  kFnThe,   // definite article
  kFnA,     // indefinite article
  kFnDid,   // do-support auxiliary
  kFnNot,   // negation
  kFnIn,    // place adposition
  kFnOn,    // day adposition
  kFnWith,  // companion adposition
  kFnWho,
  kFnWhat,
  kFnWhere,
  kFnHowMany,  // "how" (English, sa) or a one-word "how many" determiner
  kFnMany,     // "many" of "how many"; "" where kFnHowMany is one word
  kFnSomeone,
  kFnThen,
  kFnYesterday,
  kFnParticle,  // final question particle; "" = none
  kNumFunctionWords
};

struct Language {
  std::string code;
  bool verb_final = false;      // SOV: subject, time, place, companion, object, verb
  bool adj_after_noun = false;  // "karo ruja" rather than "red car"
  bool postpositions = false;   // "Paris dä" rather than "in Paris"
  bool wh_in_situ = false;      // question words stay in place; kFnParticle ends questions
  bool do_support = false;      // "did" + base form in negation and non-subject questions
  bool neg_after_verb = false;  // the negation follows the verb
  bool an_rule = false;         // English "an" before a vowel
  std::array<std::string, kNumFunctionWords> words;
  std::vector<std::array<std::string, 2>> forms;  // by lemma id, as Lemma::en
};

// The language of a code ("en", "sa", "sb", "sc"); built once, on first use.
const Language& language(const std::string& code);

bool is_ascii_vowel(char c);
// Upper-cases the first letter: ASCII and the few non-ASCII letters of sc (UTF-8 ä ö ü ş).
std::string capitalize(std::string s);

}  // namespace ordertune::demo

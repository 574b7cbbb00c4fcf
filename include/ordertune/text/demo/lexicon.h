// lexicon — the demo's English vocabulary: ~200 lemmas (object nouns in 8 semantic categories,
// person nouns, transitive verbs that select object categories, intransitive verbs, adjectives
// with antonyms, days), the anchors that no language translates (48 person names, 40 place
// names) and the HellaSwag activity scripts. Built once from word lists (lexicon.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ordertune::demo {

// Semantic categories of object nouns, as bits: a verb selects the categories its object may have.
enum Category : uint32_t {
  kFood = 1u << 0,
  kVehicle = 1u << 1,
  kDocument = 1u << 2,
  kAnimal = 1u << 3,
  kClothing = 1u << 4,
  kTool = 1u << 5,
  kInstrument = 1u << 6,
  kPlant = 1u << 7,
};
constexpr uint32_t kAnyCategory = 0xFF;

enum class Pos { kNoun, kVerb, kAdj, kDay };

struct Lemma {
  Pos pos = Pos::kNoun;
  std::string key;                // unique across the lexicon: "noun:apple", "adj:clean"
  std::array<std::string, 2> en;  // noun: singular, plural; verb: base, past; else the word twice
  uint32_t category = 0;          // object nouns: their category
  uint32_t objects = 0;           // verbs: categories of their object; 0 = intransitive
  int antonym = -1;               // adjectives: lemma id of the antonym, -1 = none
};

struct Script {
  uint32_t category;
  std::string activity;
  std::array<int, 4> steps;  // verb lemma ids
};

struct Lexicon {
  std::vector<Lemma> lemmas;
  std::vector<int> object_nouns, person_nouns, transitive_verbs, intransitive_verbs, thing_adjs,
      person_adjs, days;
  std::vector<std::string> names, places;  // anchors
  std::vector<Script> scripts;

  int find(Pos pos, const std::string& word) const;      // lemma id; the word must be there
  std::vector<int> nouns_matching(uint32_t mask) const;  // object nouns of these categories
};

// The lexicon, built on first use.
const Lexicon& lexicon();
int num_names();
int num_places();

}  // namespace ordertune::demo

// demo_data — the synthetic multilingual demo suite (see demo_data.h).
//
// How the suite is made:
//   1. A small English grammar over a fixed lexicon (~200 lemmas: object nouns in 8 semantic
//      categories, person nouns, transitive verbs that select object categories, intransitive
//      verbs, adjectives with antonyms, days) plus anchors that no language translates: 48 person
//      names, 40 place names and numbers. Every sentence is built as a Clause (subject, verb,
//      object, place, companion, time, negation), so its words, UPOS tags, CCG supertags and the
//      spans of its constituents are known exactly.
//   2. Languages render a Clause with their own lexicon and word order. One clause in each:
//        en  English                                  "Chen did not cut a cold orange in Geneva."
//        sa  close: English order and grammar, content words respelled by regular sound rules
//            (th->d, c->k, w->v, ee->i; -o on nouns, -a on adjectives), 35% of the lemmas
//            identical to English                     "Chen dida no cut a kolda orange in Geneva."
//        sb  middle: SVO, noun-adjective, negation particle and no do-support, a CV-syllable
//            cipher (plural -s/-es, past -ta/-ata), 15% of the lemmas borrowed from English
//                                                     "Chen ne losata un talstel truplo en Geneva."
//        sc  far: SOV, postpositions, no articles, noun-adjective, negation after the verb,
//            questions with the wh-word in place and a final particle "mö", a CVC cipher with
//            ä ö ü ş (plural -lar/-lär, past -di/-du by vowel harmony), no shared words
//                                                     "Chen Geneva dä kemsa momşö makdu mäs."
//      Names, places and numbers (the anchors) are the same in every language. Each language's
//      lexicon is fixed (its own constant seed), not drawn from DemoOptions::seed: the seed
//      varies the sampled examples, never the languages.
//   3. Tasks sample Clauses with a PRNG (splitmix64; std:: distributions differ between standard
//      libraries) seeded from (DemoOptions::seed, task, split), so the same seed gives
//      byte-identical files. Evaluation sets of the targets are parallel across languages, as
//      XNLI, XQuAD and Tatoeba are: one sample of Clauses rendered in every language.
//   4. Each (task, split, language) is written in the format its registry entry names, at
//      task_split_path(): the readers that read real jiant / XTREME files read the demo.
#include "ordertune/text/demo_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/data/task_reader.h"

namespace ordertune {
namespace {

using nlohmann::json;

// Changes whenever the generated content changes, so that an old suite is regenerated.
constexpr const char* kGeneratorVersion = "ordertune demo suite v1";

// Example counts at scale 1.0 (the demo trains a tiny model on 2 CPU cores in minutes).
constexpr int kIntermediateTrain = 2000;
constexpr int kIntermediateEval = 300;  // dev and test of the English intermediate tasks
constexpr int kTargetTrain = 2000;      // English training split of a target with its own
constexpr int kTargetEval = 200;        // per language, dev and test of the targets
constexpr int kMlmTrain = 5000;         // lines per language
constexpr int kMlmEval = 500;
constexpr int kMinExamples = 4;  // floor after scaling, so that every split keeps some variety

// ---- deterministic randomness ----------------------------------------------------------------

// splitmix64 (Steele, Lea, Flood 2014; the reference seeding generator of xoshiro).
uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // A stream named by `stream` under `seed`: distinct names give independent streams.
  Rng(uint64_t seed, std::string_view stream) : state_(seed ^ Hasher().field(stream).digest()) {
    next();
  }
  uint64_t next() { return splitmix64(&state_); }
  // Uniform in [0, n) (multiply-shift on the high 32 bits; n is small).
  int below(int n) {
    OT_CHECK(n > 0, "Rng::below({})", n);
    return static_cast<int>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  int range(int lo, int hi) { return lo + below(hi - lo + 1); }  // inclusive
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(below(static_cast<int>(items.size())))];
  }
  template <typename T>
  void shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i)
      std::swap((*items)[i - 1], (*items)[static_cast<size_t>(below(static_cast<int>(i)))]);
  }

 private:
  uint64_t state_;
};

// ---- the English lexicon ---------------------------------------------------------------------

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

// Word lists are "form/form" pairs separated by spaces, parsed once into the Lexicon.

// Object nouns by category ("singular/plural"); category 0 = persons, which are subjects only.
struct NounGroup {
  uint32_t category;
  const char* nouns;
};
constexpr NounGroup kNounGroups[] = {
    {kFood,
     "apple/apples cake/cakes fish/fish egg/eggs orange/oranges banana/bananas pie/pies "
     "carrot/carrots potato/potatoes tomato/tomatoes cookie/cookies melon/melons"},
    {kVehicle,
     "car/cars bike/bikes boat/boats bus/buses truck/trucks tractor/tractors van/vans "
     "scooter/scooters canoe/canoes taxi/taxis wagon/wagons sled/sleds"},
    {kDocument,
     "book/books letter/letters map/maps newspaper/newspapers poem/poems "
     "report/reports ticket/tickets postcard/postcards diary/diaries novel/novels "
     "magazine/magazines recipe/recipes"},
    {kAnimal,
     "dog/dogs cat/cats horse/horses goat/goats rabbit/rabbits parrot/parrots "
     "sheep/sheep pony/ponies duck/ducks puppy/puppies donkey/donkeys kitten/kittens"},
    {kClothing,
     "coat/coats hat/hats shirt/shirts dress/dresses scarf/scarves jacket/jackets "
     "sock/socks boot/boots skirt/skirts glove/gloves sweater/sweaters "
     "blouse/blouses"},
    {kTool,
     "hammer/hammers knife/knives rope/ropes ladder/ladders shovel/shovels drill/drills "
     "axe/axes wrench/wrenches bucket/buckets rake/rakes chisel/chisels spade/spades"},
    {kInstrument,
     "guitar/guitars piano/pianos drum/drums violin/violins flute/flutes "
     "trumpet/trumpets harp/harps cello/cellos banjo/banjos tuba/tubas "
     "clarinet/clarinets accordion/accordions"},
    {kPlant,
     "flower/flowers tree/trees rose/roses tulip/tulips cactus/cacti fern/ferns "
     "lily/lilies orchid/orchids sunflower/sunflowers bush/bushes daisy/daisies "
     "palm/palms"},
    {0,
     "teacher/teachers doctor/doctors farmer/farmers child/children student/students "
     "driver/drivers baker/bakers singer/singers nurse/nurses pilot/pilots painter/painters "
     "lawyer/lawyers artist/artists engineer/engineers waiter/waiters soldier/soldiers"},
};

// Verbs ("base/past") by the categories their object may have; 0 = intransitive.
struct VerbGroup {
  uint32_t objects;
  const char* verbs;
};
constexpr VerbGroup kVerbGroups[] = {
    {kAnyCategory,
     "buy/bought sell/sold find/found lose/lost see/saw like/liked want/wanted "
     "borrow/borrowed return/returned carry/carried hide/hid show/showed "
     "choose/chose keep/kept photograph/photographed"},
    {kFood, "cook/cooked eat/ate peel/peeled bake/baked taste/tasted"},
    {kFood | kPlant, "cut/cut pick/picked"},
    {kVehicle | kTool | kInstrument, "repair/repaired paint/painted clean/cleaned"},
    {kVehicle, "drive/drove park/parked"},
    {kVehicle | kClothing | kAnimal | kFood, "wash/washed"},
    {kVehicle | kAnimal, "ride/rode"},
    {kDocument, "open/opened read/read write/wrote send/sent sign/signed print/printed"},
    {kAnimal, "feed/fed brush/brushed walk/walked"},
    {kClothing, "iron/ironed wear/wore sew/sewed"},
    {kClothing | kDocument, "fold/folded"},
    {kTool, "use/used sharpen/sharpened"},
    {kInstrument, "tune/tuned play/played"},
    {kPlant, "plant/planted water/watered"},
    {0,
     "sleep/slept laugh/laughed arrive/arrived wait/waited dance/danced sing/sang swim/swam "
     "smile/smiled work/worked run/ran"},
};

// Adjectives of things: antonym pairs (the NLI contradictions use them), then plain ones.
constexpr const char* kAntonymPairs =
    "big/small old/new cheap/expensive clean/dirty heavy/light long/short beautiful/ugly "
    "hot/cold wet/dry soft/hard full/empty";
constexpr const char* kPlainAdjectives =
    "red blue green yellow black white brown famous strange "
    "round";
constexpr const char* kPersonAdjectives = "young tall happy tired friendly clever angry brave";
constexpr const char* kDayNames = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday";
constexpr int kYesterday = 7;  // Clause::time value for "yesterday" (0..6 are the days)

// Anchors: identical in every language.
constexpr const char* kPersonNames =
    "Anna Boris Carlos Dana Elena Farid Greta Hiro Ines Jonas Kofi Lena Marco Nadia Omar Priya "
    "Quentin Rosa Sven Tariq Uma Viktor Wanda Xavier Yuki Zara Amir Bianca Chen Diego Emma Felix "
    "Hana Igor Julia Kenji Leila Mateo Nina Olga Pablo Rahul Sofia Tomas Vera Yusuf Aiko Lukas";
constexpr const char* kPlaceNames =
    "Paris Lima Oslo Cairo Delhi Kyoto Berlin Madrid Nairobi Quito Rome Seoul Tokyo Vienna Warsaw "
    "Dublin Lisbon Prague Athens Bogota Dakar Hanoi Havana Istanbul Jakarta Lagos Manila Moscow "
    "Ottawa Riga Santiago Sydney Tunis Zagreb Boston Chicago Denver Geneva Helsinki Accra";

// HellaSwag-like activity scripts: four steps on one object of a category. Steps 1 and 2 are
// verbs that select the category, so that a coherent ending is decidable from the context.
struct ScriptEntry {
  uint32_t category;
  const char* activity;
  const char* steps;
};
constexpr ScriptEntry kScripts[] = {
    {kFood, "Cooking", "buy cut cook eat"},          {kVehicle, "Driving", "buy repair drive park"},
    {kDocument, "Reading", "find open read return"}, {kAnimal, "Pets", "find feed brush walk"},
    {kClothing, "Laundry", "buy wash iron wear"},    {kTool, "Tools", "borrow clean use return"},
    {kInstrument, "Music", "buy tune play sell"},    {kPlant, "Gardening", "buy plant water pick"},
};

std::vector<std::string> split_words(const char* text) {
  std::vector<std::string> out;
  std::string word;
  for (const char* c = text;; ++c) {
    if (*c == ' ' || *c == '\0') {
      if (!word.empty()) out.push_back(word);
      word.clear();
      if (*c == '\0') return out;
    } else {
      word += *c;
    }
  }
}

// "a/b" -> {"a", "b"}; "a" -> {"a", "a"}.
std::array<std::string, 2> split_pair(const std::string& item) {
  const size_t slash = item.find('/');
  if (slash == std::string::npos) return {item, item};
  return {item.substr(0, slash), item.substr(slash + 1)};
}

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

  int find(Pos pos, const std::string& word) const {
    for (size_t i = 0; i < lemmas.size(); ++i)
      if (lemmas[i].pos == pos && lemmas[i].en[0] == word) return static_cast<int>(i);
    OT_CHECK(false, "demo lexicon has no '{}'", word);
    return -1;
  }
  std::vector<int> nouns_matching(uint32_t mask) const {
    std::vector<int> out;
    for (int n : object_nouns)
      if (lemmas[n].category & mask) out.push_back(n);
    return out;
  }
};

const Lexicon& lexicon() {
  static const Lexicon lex = [] {
    Lexicon l;
    auto add = [&](Pos pos, const std::string& item, std::vector<int>* list) {
      Lemma m;
      m.pos = pos;
      m.en = split_pair(item);
      const char* prefix[] = {"noun:", "verb:", "adj:", "day:"};
      m.key = prefix[static_cast<int>(pos)] + m.en[0];
      l.lemmas.push_back(std::move(m));
      list->push_back(static_cast<int>(l.lemmas.size() - 1));
      return &l.lemmas.back();
    };
    for (const NounGroup& g : kNounGroups)
      for (const std::string& n : split_words(g.nouns))
        add(Pos::kNoun, n, g.category ? &l.object_nouns : &l.person_nouns)->category = g.category;
    for (const VerbGroup& g : kVerbGroups)
      for (const std::string& v : split_words(g.verbs))
        add(Pos::kVerb, v, g.objects ? &l.transitive_verbs : &l.intransitive_verbs)->objects =
            g.objects;
    for (const std::string& pair : split_words(kAntonymPairs)) {
      const auto [a, b] = split_pair(pair);
      add(Pos::kAdj, a, &l.thing_adjs);
      add(Pos::kAdj, b, &l.thing_adjs);
      const int n = static_cast<int>(l.lemmas.size());
      l.lemmas[static_cast<size_t>(n - 2)].antonym = n - 1;
      l.lemmas[static_cast<size_t>(n - 1)].antonym = n - 2;
    }
    for (const std::string& a : split_words(kPlainAdjectives)) add(Pos::kAdj, a, &l.thing_adjs);
    for (const std::string& a : split_words(kPersonAdjectives)) add(Pos::kAdj, a, &l.person_adjs);
    for (const std::string& d : split_words(kDayNames)) add(Pos::kDay, d, &l.days);
    l.names = split_words(kPersonNames);
    l.places = split_words(kPlaceNames);
    for (const ScriptEntry& s : kScripts) {
      const std::vector<std::string> steps = split_words(s.steps);
      OT_CHECK(steps.size() == 4, "script {} needs 4 steps", s.activity);
      Script script{s.category, s.activity, {}};
      for (size_t i = 0; i < 4; ++i) {
        script.steps[i] = l.find(Pos::kVerb, steps[i]);
        OT_CHECK(l.lemmas[static_cast<size_t>(script.steps[i])].objects & s.category,
                 "script {} step '{}' does not take its object", s.activity, steps[i]);
      }
      for (size_t i = 1; i <= 2; ++i)
        OT_CHECK(l.lemmas[static_cast<size_t>(script.steps[i])].objects != kAnyCategory,
                 "script {} step {} must select its object", s.activity, i);
      l.scripts.push_back(script);
    }
    return l;
  }();
  return lex;
}

int num_names() {
  return static_cast<int>(lexicon().names.size());
}
int num_places() {
  return static_cast<int>(lexicon().places.size());
}

// ---- languages -------------------------------------------------------------------------------

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

bool is_ascii_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

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

// Upper-cases the first letter: ASCII and the few non-ASCII letters of sc (UTF-8 ä ö ü ş).
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

// A fraction in [0, 1) fixed by a language and a lemma (which lemmas a language shares).
double lemma_fraction(const std::string& language, const std::string& key) {
  uint64_t state = Hasher().field(language).field(key).digest();
  return static_cast<double>(splitmix64(&state) >> 11) * 0x1.0p-53;
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

Language make_language(const std::string& code) {
  const Lexicon& lex = lexicon();
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

  // Every word form of a language is unique (function words included), so that no two lemmas
  // merge; English itself is taken as it is.
  std::set<std::string> used;
  for (const auto& w : lang.words)
    if (!w.empty()) used.insert(w);
  auto fresh = [&](const std::array<std::string, 2>& f) {
    return !used.count(f[0]) && !used.count(f[1]);
  };
  const CipherStyle middle{{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
                            "br", "tr", "pl", "st"},
                           {"a", "e", "i", "o", "u"},
                           {false, true, true, false, false},
                           {"n", "r", "l", "s"},
                           0.25};
  const CipherStyle far{{"k", "t", "m", "n", "r", "s", "ş", "h", "y", "z", "l", "g", "b", "d"},
                        {"a", "e", "i", "o", "u", "ä", "ö", "ü"},
                        {false, true, true, false, false, true, true, true},
                        {"n", "r", "k", "l", "ş", "m"},
                        0.35};

  for (const Lemma& lemma : lex.lemmas) {
    std::array<std::string, 2> f = lemma.en;
    if (code == "sa") {
      if (lemma_fraction(code, lemma.key) >= 0.35) {
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
        for (int extra = 0; !fresh(f) && extra < 8; ++extra)
          for (auto& form : f) form += "e";
      }
      // A shared lemma may collide with a respelled one: respell it too, then.
      if (!fresh(f)) f = {lemma.en[0] + "e", lemma.en[1] + "e"};
    } else if (code == "sb" || code == "sc") {
      const bool far_language = code == "sc";
      const bool borrowed = !far_language && lemma_fraction(code, lemma.key) < 0.15;
      if (borrowed) f = {to_lower_ascii(lemma.en[0]), to_lower_ascii(lemma.en[1])};
      for (int attempt = 0; !borrowed || !fresh(f); ++attempt) {
        OT_CHECK(attempt < 1000, "no unused word form for {} in {}", lemma.key, code);
        const Stem stem = cipher_stem(code, lemma.key, static_cast<int>(lemma.en[0].size()),
                                      attempt, far_language ? far : middle);
        f = cipher_forms(lemma, stem, far_language);
        if (fresh(f)) break;
      }
    }
    if (code != "en") {
      OT_CHECK(fresh(f), "word form {} of {} in {} is not unique", f[0], lemma.key, code);
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

const Language& language(const std::string& code) {
  for (const Language& l : languages())
    if (l.code == code) return l;
  OT_CHECK(false, "unknown demo language {}", code);
}

// ---- clauses ---------------------------------------------------------------------------------

struct NounPhrase {
  int name = -1;          // kNames index: a person named
  int noun = -1;          // noun lemma id
  int adj = -1;           // adjective lemma id, -1 = none
  int count = 0;          // >= 2: that many, written as a number ("3 apples"); 0: none
  bool plural = false;    // a plural noun without a number: "the apples" (definite only)
  bool definite = false;  // "the" rather than "a"
  bool someone = false;   // the pronoun "someone"
};

struct Clause {
  NounPhrase subject;
  int verb = -1;  // verb lemma id
  bool has_object = false;
  NounPhrase object;
  int place = -1;      // kPlaces index: "in PLACE"
  int companion = -1;  // kNames index: "with NAME"
  int time = -1;       // 0..6: "on DAY"; kYesterday: "yesterday"
  bool negated = false;
};

enum class Question { kNone, kWho, kWhat, kWhere, kHowMany };

// The spans a task may ask for: constituents of a rendered sentence.
enum Slot {
  kSlotSubject,
  kSlotVerb,
  kSlotObject,
  kSlotCount,
  kSlotPlace,
  kSlotCompanion,
  kSlotTime,
  kSlotOther,
  kNumSlots
};

struct Word {
  std::string text;
  const char* upos;  // Universal POS tag
  const char* ccg;   // CCG supertag (meaningful for English declaratives)
};

// CCGbank-style supertags (Hockenmaier & Steedman 2007) for the constructions of the grammar.
constexpr const char* kCcgNp = "NP";
constexpr const char* kCcgDet = "NP[nb]/N";
constexpr const char* kCcgNounMod = "N/N";
constexpr const char* kCcgNoun = "N";
constexpr const char* kCcgTransitive = "(S[dcl]\\NP)/NP";
constexpr const char* kCcgIntransitive = "S[dcl]\\NP";
constexpr const char* kCcgTransitiveBase = "(S[b]\\NP)/NP";
constexpr const char* kCcgIntransitiveBase = "S[b]\\NP";
constexpr const char* kCcgDo = "(S[dcl]\\NP)/(S[b]\\NP)";
constexpr const char* kCcgVpMod = "(S\\NP)\\(S\\NP)";
constexpr const char* kCcgPrep = "((S\\NP)\\(S\\NP))/NP";
constexpr const char* kCcgPostp = "((S\\NP)\\(S\\NP))\\NP";
constexpr const char* kCcgPunct = ".";
constexpr const char* kCcgNone = "";

struct Span {
  Slot slot;
  int begin, end;  // word indices, [begin, end)
};

struct Chunk {
  Slot slot = kSlotOther;
  std::vector<Word> words;
  std::vector<Span> spans;  // relative to the chunk
};

struct Sentence {
  std::vector<Word> words;
  std::array<std::pair<int, int>, kNumSlots> spans;  // [begin, end) words; {-1, -1} = absent

  Sentence() { spans.fill({-1, -1}); }
};

class Renderer {
 public:
  explicit Renderer(const Language& lang) : lang_(lang), lex_(lexicon()) {}

  // A declarative sentence ("Anna bought a red car in Paris."), or its predicate only (HellaSwag
  // endings) when include_subject is false. The first word is capitalized when it starts the
  // sentence.
  Sentence declarative(const Clause& c, bool include_subject = true) const {
    return assemble(c, Question::kNone, include_subject);
  }
  // A question about c's subject, object, place or count.
  Sentence question(const Clause& c, Question q) const {
    OT_CHECK(!c.negated, "questions are asked about positive clauses");
    return assemble(c, q, true);
  }

 private:
  const std::string& fn(FunctionWord w) const { return lang_.words[w]; }

  void add_fn(Chunk* ch, FunctionWord w, const char* upos, const char* ccg) const {
    if (!fn(w).empty()) ch->words.push_back({fn(w), upos, ccg});
  }

  Chunk noun_phrase(const NounPhrase& np, Slot slot) const {
    Chunk ch;
    ch.slot = slot;
    if (np.someone) {
      ch.words.push_back({fn(kFnSomeone), "PRON", kCcgNp});
    } else if (np.name >= 0) {
      ch.words.push_back({lex_.names[np.name], "PROPN", kCcgNp});
    } else {
      const bool plural = np.count >= 2 || np.plural;
      std::vector<Word> core;
      Word noun{lang_.forms[np.noun][plural ? 1 : 0], "NOUN", kCcgNoun};
      if (np.adj >= 0) {
        Word adj{lang_.forms[np.adj][0], "ADJ", kCcgNounMod};
        core = lang_.adj_after_noun ? std::vector<Word>{noun, adj} : std::vector<Word>{adj, noun};
      } else {
        core = {noun};
      }
      if (np.count >= 2) {
        ch.spans.push_back({kSlotCount, 0, 1});
        ch.words.push_back({std::to_string(np.count), "NUM", kCcgNounMod});
      } else {
        add_fn(&ch, np.definite ? kFnThe : kFnA, "DET", kCcgDet);
        if (lang_.an_rule && !np.definite && is_ascii_vowel(core.front().text[0]))
          ch.words.back().text = "an";
      }
      ch.words.insert(ch.words.end(), core.begin(), core.end());
    }
    ch.spans.push_back({slot, 0, static_cast<int>(ch.words.size())});
    return ch;
  }

  // "How many red apples" / "kuanti karos ruja" / "kaşu ... ".
  Chunk how_many(const NounPhrase& np) const {
    Chunk ch;
    ch.slot = kSlotObject;
    const bool two_words = !fn(kFnMany).empty();
    add_fn(&ch, kFnHowMany, two_words ? "ADV" : "DET", kCcgNone);
    add_fn(&ch, kFnMany, "ADJ", kCcgNone);
    Word noun{lang_.forms[np.noun][1], "NOUN", kCcgNone};
    if (np.adj >= 0) {
      Word adj{lang_.forms[np.adj][0], "ADJ", kCcgNone};
      if (lang_.adj_after_noun) {
        ch.words.push_back(noun);
        ch.words.push_back(adj);
      } else {
        ch.words.push_back(adj);
        ch.words.push_back(noun);
      }
    } else {
      ch.words.push_back(noun);
    }
    return ch;
  }

  // An adposition phrase whose object is a single word (place, companion, day).
  Chunk adposition(FunctionWord adp, Word object, Slot slot) const {
    Chunk ch;
    ch.slot = slot;
    if (lang_.postpositions) {
      ch.words.push_back(object);
      add_fn(&ch, adp, "ADP", kCcgPostp);
      ch.spans.push_back({slot, 0, 1});
    } else {
      add_fn(&ch, adp, "ADP", kCcgPrep);
      ch.words.push_back(object);
      ch.spans.push_back(
          {slot, static_cast<int>(ch.words.size()) - 1, static_cast<int>(ch.words.size())});
    }
    return ch;
  }

  Chunk time_phrase(int time) const {
    if (time == kYesterday) {
      Chunk ch;
      ch.slot = kSlotTime;
      add_fn(&ch, kFnYesterday, "ADV", kCcgVpMod);
      ch.spans.push_back({kSlotTime, 0, 1});
      return ch;
    }
    const std::string& day = lang_.forms[lex_.days[static_cast<size_t>(time)]][0];
    return adposition(kFnOn, {day, "PROPN", kCcgNp}, kSlotTime);
  }

  // The verb group; `base` asks for the base form after a fronted "did".
  Chunk verb_group(const Clause& c, bool base) const {
    Chunk ch;
    ch.slot = kSlotVerb;
    const auto& forms = lang_.forms[c.verb];
    const bool transitive = c.has_object;
    if (c.negated && lang_.do_support) {
      add_fn(&ch, kFnDid, "AUX", kCcgDo);
      add_fn(&ch, kFnNot, "PART", kCcgVpMod);
      ch.words.push_back(
          {forms[0], "VERB", transitive ? kCcgTransitiveBase : kCcgIntransitiveBase});
    } else if (c.negated && lang_.neg_after_verb) {
      ch.words.push_back({forms[1], "VERB", kCcgNone});
      add_fn(&ch, kFnNot, "PART", kCcgNone);
    } else if (c.negated) {
      add_fn(&ch, kFnNot, "PART", kCcgNone);
      ch.words.push_back({forms[1], "VERB", kCcgNone});
    } else {
      ch.words.push_back({forms[base ? 0 : 1], "VERB",
                          base ? (transitive ? kCcgTransitiveBase : kCcgIntransitiveBase)
                               : (transitive ? kCcgTransitive : kCcgIntransitive)});
    }
    for (int i = 0; i < static_cast<int>(ch.words.size()); ++i)
      if (std::string_view(ch.words[i].upos) == "VERB") ch.spans.push_back({kSlotVerb, i, i + 1});
    return ch;
  }

  Sentence assemble(const Clause& c, Question q, bool include_subject) const {
    const bool fronted = q != Question::kNone && !lang_.wh_in_situ;
    const bool do_support = fronted && lang_.do_support && q != Question::kWho;
    std::vector<Chunk> subject, verb, object, place, companion, time;
    if (q == Question::kWho) {
      Chunk ch;
      ch.slot = kSlotSubject;
      add_fn(&ch, kFnWho, "PRON", kCcgNone);
      subject.push_back(ch);
    } else if (include_subject) {
      subject.push_back(noun_phrase(c.subject, kSlotSubject));
    }
    verb.push_back(verb_group(c, do_support));
    if (q == Question::kWhat) {
      Chunk ch;
      ch.slot = kSlotObject;
      add_fn(&ch, kFnWhat, "PRON", kCcgNone);
      object.push_back(ch);
    } else if (q == Question::kHowMany) {
      object.push_back(how_many(c.object));
    } else if (c.has_object) {
      object.push_back(noun_phrase(c.object, kSlotObject));
    }
    if (q == Question::kWhere) {
      Chunk ch;
      ch.slot = kSlotPlace;
      add_fn(&ch, kFnWhere, "ADV", kCcgNone);
      place.push_back(ch);
    } else if (c.place >= 0) {
      place.push_back(adposition(kFnIn, {lex_.places[c.place], "PROPN", kCcgNp}, kSlotPlace));
    }
    if (c.companion >= 0)
      companion.push_back(
          adposition(kFnWith, {lex_.names[c.companion], "PROPN", kCcgNp}, kSlotCompanion));
    if (c.time >= 0) time.push_back(time_phrase(c.time));

    std::vector<Chunk> order;
    const std::vector<Chunk>* parts[] = {&subject, &verb, &object, &place, &companion, &time};
    const std::vector<Chunk>* sov[] = {&subject, &time, &place, &companion, &object, &verb};
    for (const std::vector<Chunk>* part : lang_.verb_final ? sov : parts)
      order.insert(order.end(), part->begin(), part->end());
    if (fronted) {
      const Slot wh = q == Question::kWho     ? kSlotSubject
                      : q == Question::kWhere ? kSlotPlace
                                              : kSlotObject;
      auto it =
          std::find_if(order.begin(), order.end(), [&](const Chunk& ch) { return ch.slot == wh; });
      OT_CHECK(it != order.end(), "question word chunk missing");
      std::rotate(order.begin(), it, it + 1);
      if (do_support) {
        Chunk did;
        did.slot = kSlotOther;
        add_fn(&did, kFnDid, "AUX", kCcgNone);
        order.insert(order.begin() + 1, did);
      }
    }
    Chunk end;
    if (q != Question::kNone) {
      add_fn(&end, kFnParticle, "PART", kCcgNone);
      end.words.push_back({"?", "PUNCT", kCcgPunct});
    } else {
      end.words.push_back({".", "PUNCT", kCcgPunct});
    }
    order.push_back(end);

    Sentence out;
    for (const Chunk& ch : order) {
      const int base = static_cast<int>(out.words.size());
      for (const Span& s : ch.spans) out.spans[s.slot] = {base + s.begin, base + s.end};
      out.words.insert(out.words.end(), ch.words.begin(), ch.words.end());
    }
    if (include_subject) out.words[0].text = capitalize(out.words[0].text);
    return out;
  }

  const Language& lang_;
  const Lexicon& lex_;
};

// Text of words, spaces between them but not before punctuation; byte offset of each word.
struct Detokenized {
  std::string text;
  std::vector<size_t> begin;
};

Detokenized detokenize(const std::vector<Word>& words) {
  Detokenized out;
  for (const Word& w : words) {
    const bool punct = w.text == "." || w.text == "?" || w.text == ",";
    if (!out.text.empty() && !punct) out.text += ' ';
    out.begin.push_back(out.text.size());
    out.text += w.text;
  }
  return out;
}

std::string sentence_text(const Sentence& s) {
  return detokenize(s.words).text;
}

std::string join_sentences(const std::vector<std::string>& sentences) {
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + s;
  return out;
}

// ---- sampling clauses ------------------------------------------------------------------------

struct ClauseOptions {
  double p_name_subject = 0.85;  // else a person noun ("the young teacher")
  double p_intransitive = 0.0;
  double p_object_adj = 0.5;
  double p_count = 0.35;  // the object is "N things"
  double p_place = 0.6;
  double p_companion = 0.2;
  double p_time = 0.35;
  double p_negated = 0.0;
};

int pick_except(Rng& rng, int n, const std::set<int>& excluded) {
  OT_CHECK(static_cast<int>(excluded.size()) < n, "nothing left to pick");
  for (;;) {
    const int i = rng.below(n);
    if (!excluded.count(i)) return i;
  }
}

NounPhrase person_phrase(Rng& rng, double p_name, const std::set<int>& excluded_names) {
  const Lexicon& lex = lexicon();
  NounPhrase np;
  if (rng.chance(p_name)) {
    np.name = pick_except(rng, num_names(), excluded_names);
  } else {
    np.noun = rng.pick(lex.person_nouns);
    np.definite = rng.chance(0.6);
    if (rng.chance(0.3)) np.adj = rng.pick(lex.person_adjs);
  }
  return np;
}

NounPhrase object_phrase(Rng& rng, const std::vector<int>& nouns, double p_adj, double p_count) {
  const Lexicon& lex = lexicon();
  NounPhrase np;
  np.noun = rng.pick(nouns);
  if (rng.chance(p_adj)) np.adj = rng.pick(lex.thing_adjs);
  if (rng.chance(p_count)) {
    np.count = rng.range(2, 30);
  } else {
    np.definite = rng.chance(0.5);
  }
  return np;
}

Clause random_clause(Rng& rng, const ClauseOptions& o, const std::set<int>& excluded_names = {}) {
  const Lexicon& lex = lexicon();
  Clause c;
  c.subject = person_phrase(rng, o.p_name_subject, excluded_names);
  if (rng.chance(o.p_intransitive)) {
    c.verb = rng.pick(lex.intransitive_verbs);
  } else {
    c.verb = rng.pick(lex.transitive_verbs);
    c.has_object = true;
    c.object = object_phrase(rng, lex.nouns_matching(lex.lemmas[c.verb].objects), o.p_object_adj,
                             o.p_count);
  }
  if (rng.chance(o.p_place)) c.place = rng.below(num_places());
  if (rng.chance(o.p_companion)) {
    std::set<int> excluded = excluded_names;
    if (c.subject.name >= 0) excluded.insert(c.subject.name);
    c.companion = pick_except(rng, num_names(), excluded);
  }
  if (rng.chance(o.p_time)) c.time = rng.range(0, kYesterday);
  c.negated = rng.chance(o.p_negated);
  return c;
}

// A question whose answer the clause holds (who, what, where, how many: whichever fit).
Question random_question(Rng& rng, const Clause& c) {
  std::vector<Question> kinds = {Question::kWho};
  if (c.has_object) kinds.push_back(Question::kWhat);
  if (c.place >= 0) kinds.push_back(Question::kWhere);
  if (c.has_object && c.object.count >= 2) kinds.push_back(Question::kHowMany);
  return rng.pick(kinds);
}

// ---- what each task holds, before it is written in a format ---------------------------------

struct NliExample {
  std::string premise, hypothesis, label;
};

struct McExample {
  std::string activity, ctx_a, ctx_b;
  std::vector<std::string> endings;
  int label = -1;
};

struct QaQuestion {
  std::string id, question, answer;
  int64_t answer_start = 0;  // CHARACTER (code point) offset, as SQuAD's answer_start
};

struct QaParagraph {
  std::string context;
  std::vector<QaQuestion> qas;
};

struct TaggedSentence {
  std::vector<std::string> words, tags;
};

struct SentencePair {
  std::string source, english;
};

int64_t codepoints(const std::string& utf8, size_t bytes) {
  int64_t n = 0;
  for (size_t i = 0; i < bytes; ++i)
    if ((static_cast<unsigned char>(utf8[i]) & 0xC0) != 0x80) ++n;
  return n;
}

// ---- NLI (MNLI, XNLI) ------------------------------------------------------------------------

constexpr const char* kEntailment = "entailment";
constexpr const char* kNeutral = "neutral";
constexpr const char* kContradiction = "contradiction";

struct NliItem {
  std::vector<Clause> premise;
  Clause hypothesis;
  const char* label;
};

// The optional parts of a clause that hypotheses add or drop.
enum Part { kPartAdj, kPartPlace, kPartCompanion, kPartTime, kNumParts };

bool has_part(const Clause& c, Part p) {
  switch (p) {
    case kPartAdj:
      return c.has_object && c.object.adj >= 0;
    case kPartPlace:
      return c.place >= 0;
    case kPartCompanion:
      return c.companion >= 0;
    case kPartTime:
      return c.time >= 0;
    default:
      return false;
  }
}

void drop_part(Clause* c, Part p) {
  switch (p) {
    case kPartAdj:
      c->object.adj = -1;
      break;
    case kPartPlace:
      c->place = -1;
      break;
    case kPartCompanion:
      c->companion = -1;
      break;
    case kPartTime:
      c->time = -1;
      break;
    default:
      break;
  }
}

void add_part(Rng& rng, Clause* c, Part p) {
  const Lexicon& lex = lexicon();
  switch (p) {
    case kPartAdj:
      c->object.adj = rng.pick(lex.thing_adjs);
      break;
    case kPartPlace:
      c->place = rng.below(num_places());
      break;
    case kPartCompanion: {
      std::set<int> excluded;
      if (c->subject.name >= 0) excluded.insert(c->subject.name);
      c->companion = pick_except(rng, num_names(), excluded);
      break;
    }
    case kPartTime:
      c->time = rng.range(0, kYesterday);
      break;
    default:
      break;
  }
}

std::vector<Part> parts_where(const Clause& c, bool present) {
  std::vector<Part> out;
  for (int p = 0; p < kNumParts; ++p) {
    const Part part = static_cast<Part>(p);
    if (part == kPartAdj && !c.has_object) continue;
    if (has_part(c, part) == present) out.push_back(part);
  }
  return out;
}

// Whether two clauses share a person, place, day, verb, object noun, adjective or number.
bool overlaps(const Clause& a, const Clause& b) {
  auto names = [](const Clause& c) {
    std::set<int> out;
    for (int n : {c.subject.name, c.companion})
      if (n >= 0) out.insert(n);
    return out;
  };
  const std::set<int> na = names(a);
  for (int n : names(b))
    if (na.count(n)) return true;
  auto same = [](int x, int y) { return x >= 0 && x == y; };
  return same(a.place, b.place) || same(a.time, b.time) || a.verb == b.verb ||
         (a.has_object && b.has_object &&
          (same(a.object.noun, b.object.noun) || same(a.object.adj, b.object.adj) ||
           (a.object.count >= 2 && a.object.count == b.object.count)));
}

// One NLI example of the given label. A positive premise entails its subsets (dropping a part,
// "someone" for the subject) and is contradicted by negation, an antonym, another number,
// place or day; a negated premise reverses the monotonicity: adding a part is entailed,
// dropping one is neutral, the positive clause contradicts it.
NliItem make_nli(Rng& rng, const char* label) {
  ClauseOptions o;
  o.p_negated = 0.15;
  o.p_object_adj = 0.55;
  NliItem item;
  item.label = label;
  Clause c = random_clause(rng, o);
  // Keep at least one part present and one absent, so that every label has a move.
  if (parts_where(c, true).empty()) add_part(rng, &c, kPartPlace);
  if (parts_where(c, false).empty()) drop_part(&c, rng.pick(parts_where(c, true)));
  Clause h = c;
  const std::string l = label;
  if (!c.negated) {
    if (l == kEntailment) {
      std::vector<int> moves;  // parts to drop, or kNumParts for "someone"
      for (Part p : parts_where(c, true)) moves.push_back(p);
      if (c.subject.name >= 0) moves.push_back(kNumParts);
      rng.shuffle(&moves);
      const int n = std::min<int>(static_cast<int>(moves.size()), rng.range(1, 2));
      for (int i = 0; i < n; ++i) {
        if (moves[i] == kNumParts) {
          h.subject = NounPhrase();
          h.subject.someone = true;
        } else {
          drop_part(&h, static_cast<Part>(moves[i]));
        }
      }
    } else if (l == kNeutral) {
      const Part added = rng.pick(parts_where(c, false));
      add_part(rng, &h, added);
      std::vector<Part> present = parts_where(c, true);
      if (!present.empty() && rng.chance(0.3)) drop_part(&h, rng.pick(present));
    } else {
      enum Move { kNegate, kAntonym, kNumber, kPlace, kDay };
      std::vector<Move> moves = {kNegate};
      if (c.object.adj >= 0 && lexicon().lemmas[c.object.adj].antonym >= 0)
        moves.push_back(kAntonym);
      if (c.object.count >= 2) moves.push_back(kNumber);
      if (c.place >= 0) moves.push_back(kPlace);
      if (c.time >= 0 && c.time < kYesterday) moves.push_back(kDay);
      switch (rng.pick(moves)) {
        case kNegate: {
          h.negated = true;
          std::vector<Part> present = parts_where(c, true);
          if (!present.empty() && rng.chance(0.5)) drop_part(&h, rng.pick(present));
          break;
        }
        case kAntonym:
          h.object.adj = lexicon().lemmas[c.object.adj].antonym;
          break;
        case kNumber:
          while (h.object.count == c.object.count) h.object.count = rng.range(2, 30);
          break;
        case kPlace:
          h.place = pick_except(rng, num_places(), {c.place});
          break;
        case kDay:
          h.time = pick_except(rng, 7, {c.time});
          break;
      }
    }
  } else {
    if (l == kEntailment) {
      add_part(rng, &h, rng.pick(parts_where(c, false)));
    } else if (l == kNeutral) {
      drop_part(&h, rng.pick(parts_where(c, true)));
    } else {
      h.negated = false;
      std::vector<Part> absent = parts_where(c, false);
      if (rng.chance(0.5)) add_part(rng, &h, rng.pick(absent));
    }
  }
  item.hypothesis = h;
  item.premise = {c};
  // Sometimes a second, unrelated sentence in the premise: it shares nothing with the premise
  // clause or the hypothesis, so it cannot state what the hypothesis adds or changes.
  if (rng.chance(0.25)) {
    ClauseOptions other;
    other.p_name_subject = 1.0;
    other.p_intransitive = 0.3;
    Clause extra;
    do {
      extra = random_clause(rng, other);
    } while (overlaps(extra, c) || overlaps(extra, h));
    item.premise.insert(rng.chance(0.5) ? item.premise.begin() : item.premise.end(), extra);
  }
  return item;
}

std::vector<NliItem> nli_items(Rng& rng, int count) {
  const char* labels[] = {kEntailment, kNeutral, kContradiction};
  std::vector<NliItem> items;
  for (int i = 0; i < count; ++i) items.push_back(make_nli(rng, labels[i % 3]));
  rng.shuffle(&items);
  return items;
}

NliExample render_nli(const NliItem& item, const Language& lang) {
  const Renderer r(lang);
  std::vector<std::string> premise;
  for (const Clause& c : item.premise) premise.push_back(sentence_text(r.declarative(c)));
  return {join_sentences(premise), sentence_text(r.declarative(item.hypothesis)), item.label};
}

// ---- extractive QA (SQuAD, XQuAD) ------------------------------------------------------------

struct QaItem {
  Question kind;
  int clause;    // index into the paragraph's clauses
  Clause asked;  // the clause as the question states it (some adjuncts left out)
};

struct QaParagraphItem {
  std::vector<Clause> clauses;
  std::vector<QaItem> questions;
};

// A paragraph of 3-5 sentences about different people, verbs, objects and places, so that every
// question has exactly one answer in it.
QaParagraphItem make_paragraph(Rng& rng) {
  ClauseOptions o;
  o.p_name_subject = 1.0;
  o.p_count = 0.4;
  o.p_place = 0.75;
  o.p_companion = 0.2;
  o.p_time = 0.3;
  QaParagraphItem p;
  const int n = rng.range(3, 5);
  std::set<int> names, verbs, nouns, places;
  while (static_cast<int>(p.clauses.size()) < n) {
    Clause c = random_clause(rng, o, names);
    if (verbs.count(c.verb) || nouns.count(c.object.noun) || places.count(c.place) ||
        (c.companion >= 0 && names.count(c.companion)))
      continue;
    bool clash = false;  // a companion must not be any clause's subject
    for (const Clause& other : p.clauses)
      clash |=
          other.companion == c.subject.name || (c.companion >= 0 && other.companion == c.companion);
    if (clash) continue;
    names.insert(c.subject.name);
    if (c.companion >= 0) names.insert(c.companion);
    verbs.insert(c.verb);
    nouns.insert(c.object.noun);
    if (c.place >= 0) places.insert(c.place);
    p.clauses.push_back(c);
  }
  std::vector<std::pair<int, Question>> candidates;
  for (int i = 0; i < n; ++i) {
    const Clause& c = p.clauses[static_cast<size_t>(i)];
    candidates.push_back({i, Question::kWho});
    candidates.push_back({i, Question::kWhat});
    if (c.place >= 0) candidates.push_back({i, Question::kWhere});
    if (c.object.count >= 2) candidates.push_back({i, Question::kHowMany});
  }
  rng.shuffle(&candidates);
  const int asked = std::min<int>(static_cast<int>(candidates.size()), rng.range(2, 4));
  for (int k = 0; k < asked; ++k) {
    const auto [i, kind] = candidates[static_cast<size_t>(k)];
    Clause q = p.clauses[static_cast<size_t>(i)];
    if (kind != Question::kWhere && rng.chance(0.5)) q.place = -1;
    if (rng.chance(0.5)) q.companion = -1;
    if (rng.chance(0.5)) q.time = -1;
    p.questions.push_back({kind, i, q});
  }
  return p;
}

std::vector<QaParagraphItem> qa_items(Rng& rng, int questions) {
  std::vector<QaParagraphItem> out;
  int total = 0;
  while (total < questions) {
    out.push_back(make_paragraph(rng));
    QaParagraphItem& p = out.back();
    if (total + static_cast<int>(p.questions.size()) > questions)
      p.questions.resize(static_cast<size_t>(questions - total));
    total += static_cast<int>(p.questions.size());
  }
  return out;
}

Slot answer_slot(Question q) {
  switch (q) {
    case Question::kWho:
      return kSlotSubject;
    case Question::kWhat:
      return kSlotObject;
    case Question::kWhere:
      return kSlotPlace;
    case Question::kHowMany:
      return kSlotCount;
    default:
      break;
  }
  OT_CHECK(false, "no answer slot for this question");
}

// Renders a paragraph in one language; answers are the spans of the asked constituents in the
// rendered context. Question ids are shared by the languages (as XQuAD's).
QaParagraph render_paragraph(const QaParagraphItem& item, const Language& lang,
                             const std::string& id_prefix) {
  const Renderer r(lang);
  QaParagraph out;
  std::vector<size_t> sentence_begin;
  std::vector<Sentence> sentences;
  for (const Clause& c : item.clauses) {
    sentences.push_back(r.declarative(c));
    if (!out.context.empty()) out.context += ' ';
    sentence_begin.push_back(out.context.size());
    out.context += sentence_text(sentences.back());
  }
  for (size_t k = 0; k < item.questions.size(); ++k) {
    const QaItem& q = item.questions[k];
    const Sentence& s = sentences[static_cast<size_t>(q.clause)];
    const auto [b, e] = s.spans[answer_slot(q.kind)];
    OT_CHECK(b >= 0 && e > b, "answer span missing");
    const Detokenized d = detokenize(s.words);
    const size_t begin = sentence_begin[static_cast<size_t>(q.clause)] + d.begin[b];
    const size_t end = sentence_begin[static_cast<size_t>(q.clause)] + d.begin[e - 1] +
                       s.words[static_cast<size_t>(e - 1)].text.size();
    QaQuestion qa;
    qa.id = fmt::format("{}-q{}", id_prefix, k);
    qa.question = sentence_text(r.question(q.asked, q.kind));
    qa.answer = out.context.substr(begin, end - begin);
    qa.answer_start = codepoints(out.context, begin);
    out.qas.push_back(std::move(qa));
  }
  return out;
}

// ---- multiple choice (HellaSwag) -------------------------------------------------------------

// Context: the first 1-3 steps of an activity script on one object; the right ending is the
// next step on that object. Distractors: a verb that cannot take the object, the right verb on
// an object it cannot take, and a step of another activity on another object.
McExample make_hellaswag(Rng& rng) {
  const Lexicon& lex = lexicon();
  const Renderer r(language("en"));
  const Script& script = rng.pick(lex.scripts);
  Clause c;
  c.subject.name = rng.below(num_names());
  c.has_object = true;
  c.object = object_phrase(rng, lex.nouns_matching(script.category), 0.4, 0.4);
  c.object.definite = false;
  if (rng.chance(0.5)) c.place = rng.below(num_places());
  if (rng.chance(0.3)) c.time = rng.range(0, kYesterday);
  int k = rng.range(1, 3);
  if (lex.lemmas[script.steps[k]].objects == kAnyCategory) k = 2;
  // Later mentions of the object: "the (red) apple", "the apples".
  NounPhrase same = c.object;
  same.definite = true;
  same.plural = c.object.count >= 2;
  same.count = 0;
  std::vector<std::string> context;
  for (int step = 0; step < k; ++step) {
    Clause s = c;
    s.verb = script.steps[step];
    if (step > 0) {
      s.object = same;
      if (rng.chance(0.5)) s.object.adj = -1;
      s.place = s.time = -1;
    }
    context.push_back(sentence_text(r.declarative(s)));
  }
  same.adj = -1;
  auto ending = [&](int verb, const NounPhrase& object) {
    Clause e;
    e.subject = c.subject;
    e.verb = verb;
    e.has_object = true;
    e.object = object;
    return sentence_text(r.declarative(e, /*include_subject=*/false));
  };
  auto definite_noun = [&](const std::vector<int>& nouns) {
    NounPhrase np;
    np.noun = rng.pick(nouns);
    np.definite = true;
    return np;
  };
  const int right_verb = script.steps[k];
  std::vector<int> wrong_verbs;  // selective verbs that cannot take the object
  for (int v : lex.transitive_verbs)
    if (lex.lemmas[v].objects != kAnyCategory && !(lex.lemmas[v].objects & script.category))
      wrong_verbs.push_back(v);
  const std::string right = ending(right_verb, same);
  std::vector<std::string> endings = {right};
  for (int attempt = 0; endings.size() < 4; ++attempt) {
    OT_CHECK(attempt < 100, "no distinct HellaSwag distractors");
    std::string d;
    switch (endings.size()) {
      case 1:
        d = ending(rng.pick(wrong_verbs), same);
        break;
      case 2:
        d = ending(right_verb, definite_noun(lex.nouns_matching(kAnyCategory &
                                                                ~lex.lemmas[right_verb].objects)));
        break;
      default: {
        const Script* other = &script;
        while (other->category == script.category) other = &rng.pick(lex.scripts);
        d = ending(other->steps[rng.range(1, 2)],
                   definite_noun(lex.nouns_matching(other->category)));
      }
    }
    if (std::find(endings.begin(), endings.end(), d) == endings.end()) endings.push_back(d);
  }
  rng.shuffle(&endings);
  McExample ex;
  ex.activity = script.activity;
  ex.ctx_a = join_sentences(context);
  ex.ctx_b =
      fmt::format("{} {}", capitalize(language("en").words[kFnThen]), lex.names[c.subject.name]);
  ex.endings = endings;
  ex.label = static_cast<int>(std::find(endings.begin(), endings.end(), right) - endings.begin());
  return ex;
}

// ---- tagging (CCG, UD-POS) and sentence sets (Tatoeba, MLM) ----------------------------------

// A sentence to render in every language: a declarative clause or a question about it.
struct SentenceItem {
  Clause clause;
  Question question = Question::kNone;
};

SentenceItem random_sentence(Rng& rng, double p_question) {
  ClauseOptions o;
  o.p_intransitive = 0.2;
  o.p_negated = 0.15;
  o.p_name_subject = 0.75;
  SentenceItem item;
  item.clause = random_clause(rng, o);
  if (rng.chance(p_question)) {
    item.clause.negated = false;
    item.question = random_question(rng, item.clause);
  }
  return item;
}

Sentence render_sentence(const SentenceItem& item, const Language& lang) {
  const Renderer r(lang);
  return item.question == Question::kNone ? r.declarative(item.clause)
                                          : r.question(item.clause, item.question);
}

TaggedSentence ccg_sentence(Rng& rng) {
  ClauseOptions o;
  o.p_intransitive = 0.2;
  o.p_negated = 0.2;
  o.p_name_subject = 0.7;
  const Sentence s = Renderer(language("en")).declarative(random_clause(rng, o));
  TaggedSentence out;
  for (const Word& w : s.words) {
    out.words.push_back(w.text);
    out.tags.push_back(w.ccg);
  }
  return out;
}

TaggedSentence pos_sentence(const Sentence& s) {
  TaggedSentence out;
  for (const Word& w : s.words) {
    out.words.push_back(w.text);
    out.tags.push_back(w.upos);
  }
  return out;
}

// ---- writing files ---------------------------------------------------------------------------

class SuiteWriter {
 public:
  explicit SuiteWriter(std::filesystem::path root) : root_(std::move(root)) {}

  // Writes a whole file (creating folders) and remembers it for the stamp.
  void write(const std::filesystem::path& path, const std::string& content) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      throw DataError(fmt::format("{}: cannot create folder for the demo suite: {}",
                                  path.parent_path().string(), ec.message()));
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) throw DataError(fmt::format("{}: cannot write the demo suite file", path.string()));
    files_.push_back({path, content.size()});
  }

  const std::vector<std::pair<std::filesystem::path, size_t>>& files() const { return files_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::vector<std::pair<std::filesystem::path, size_t>> files_;
};

std::string option(const TaskSpec& spec, const std::string& key, const std::string& fallback) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? fallback : it->second;
}

[[noreturn]] void unsupported_format(const TaskSpec& spec, const std::string& what) {
  throw ConfigError(fmt::format("tasks.{}.format: the demo generator writes {} as {}, found '{}'",
                                spec.name, choice_name(spec.type), what, spec.format));
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string nli_file(const TaskSpec& spec, const std::vector<NliExample>& examples,
                     const std::string& split) {
  std::string out;
  // jiant's MNLI test split keeps HF datasets' hidden-label mark -1.
  const bool hidden = spec.name == "mnli" && split == kSplitTest;
  if (spec.format == "jiant_pair_jsonl" || spec.format == "jsonl") {
    const std::string a = option(spec, "text_a", "text_a"), b = option(spec, "text_b", "text_b"),
                      label = option(spec, "label", "label"), id = option(spec, "id", "");
    for (size_t i = 0; i < examples.size(); ++i) {
      json j;
      j[a] = examples[i].premise;
      j[b] = examples[i].hypothesis;
      if (hidden)
        j[label] = -1;
      else
        j[label] = examples[i].label;
      if (!id.empty()) j[id] = static_cast<int64_t>(i);
      out += j.dump() + "\n";
    }
  } else if (spec.format == "tsv") {
    // XTREME's processed XNLI: "sentence1<TAB>sentence2<TAB>label", columns from the options.
    const int a = std::stoi(option(spec, "text_a", "0")),
              b = std::stoi(option(spec, "text_b", "1")),
              label = std::stoi(option(spec, "label", "2"));
    const int columns = std::max({a, b, label}) + 1;
    if (option(spec, "header", "false") == "true") {
      std::vector<std::string> header(static_cast<size_t>(columns), "_");
      header[static_cast<size_t>(a)] = "sentence1";
      header[static_cast<size_t>(b)] = "sentence2";
      header[static_cast<size_t>(label)] = "label";
      out += join(header, "\t") + "\n";
    }
    for (const NliExample& ex : examples) {
      std::vector<std::string> cols(static_cast<size_t>(columns), "_");
      cols[static_cast<size_t>(a)] = ex.premise;
      cols[static_cast<size_t>(b)] = ex.hypothesis;
      cols[static_cast<size_t>(label)] = ex.label;
      out += join(cols, "\t") + "\n";
    }
  } else {
    unsupported_format(spec, "jiant_pair_jsonl, jsonl or tsv");
  }
  return out;
}

std::string squad_file(const std::vector<QaParagraph>& paragraphs, const std::string& title) {
  json data = json::array();
  constexpr size_t kParagraphsPerArticle = 5;
  for (size_t i = 0; i < paragraphs.size(); i += kParagraphsPerArticle) {
    json article;
    article["title"] = fmt::format("{}_{}", title, i / kParagraphsPerArticle);
    json ps = json::array();
    for (size_t k = i; k < std::min(paragraphs.size(), i + kParagraphsPerArticle); ++k) {
      json p;
      p["context"] = paragraphs[k].context;
      json qas = json::array();
      for (const QaQuestion& q : paragraphs[k].qas) {
        json answer;
        answer["text"] = q.answer;
        answer["answer_start"] = q.answer_start;
        json qa;
        qa["id"] = q.id;
        qa["question"] = q.question;
        qa["answers"] = json::array({answer});
        qas.push_back(qa);
      }
      p["qas"] = qas;
      ps.push_back(p);
    }
    article["paragraphs"] = ps;
    data.push_back(article);
  }
  json root;
  root["version"] = "1.1";
  root["data"] = data;
  return root.dump() + "\n";
}

std::string hellaswag_file(const std::vector<McExample>& examples, const std::string& split) {
  // HF datasets' HellaSwag as jiant writes it: the test split's label is "".
  const std::string hf_split = split == kSplitDev ? "val" : split;
  std::string out;
  for (size_t i = 0; i < examples.size(); ++i) {
    const McExample& ex = examples[i];
    json j;
    j["ind"] = static_cast<int64_t>(i);
    j["activity_label"] = ex.activity;
    j["ctx_a"] = ex.ctx_a;
    j["ctx_b"] = ex.ctx_b;
    j["ctx"] = ex.ctx_a + " " + ex.ctx_b;
    j["endings"] = ex.endings;
    j["source_id"] = fmt::format("demo~{}~{}", hf_split, i);
    j["split"] = hf_split;
    j["split_type"] = "indomain";
    j["label"] = split == kSplitTest ? std::string() : std::to_string(ex.label);
    out += j.dump() + "\n";
  }
  return out;
}

std::string tagging_file(const TaskSpec& spec, const std::vector<TaggedSentence>& sentences) {
  std::string out;
  if (spec.format == "jiant_ccg") {
    for (const TaggedSentence& s : sentences)
      out += join(s.words, " ") + "\t" + join(s.tags, " ") + "\n";
  } else if (spec.format == "conll") {
    const int word_col = std::stoi(option(spec, "word_column", "0"));
    const int tag_col = std::stoi(option(spec, "tag_column", "1"));
    const int columns = std::max(word_col, tag_col) + 1;
    for (const TaggedSentence& s : sentences) {
      for (size_t i = 0; i < s.words.size(); ++i) {
        std::vector<std::string> cols(static_cast<size_t>(columns), "_");
        cols[static_cast<size_t>(word_col)] = s.words[i];
        cols[static_cast<size_t>(tag_col)] = s.tags[i];
        out += join(cols, "\t") + "\n";
      }
      out += "\n";
    }
  } else {
    unsupported_format(spec, "jiant_ccg or conll");
  }
  return out;
}

std::string lines_file(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// ---- the tasks -------------------------------------------------------------------------------

enum class Role { kIntermediate, kTarget, kMlm };

struct DemoTask {
  const char* name;
  Role role;
  bool english_evaluated;    // the target's dev/test include English (not Tatoeba: en <-> lang)
  const char* train_source;  // whose training sample a target's own train split holds; "" = own
};

constexpr DemoTask kDemoTasks[] = {
    {"mnli", Role::kIntermediate, true, ""},
    {"squad_v1", Role::kIntermediate, true, ""},
    {"hellaswag", Role::kIntermediate, true, ""},
    {"ccg", Role::kIntermediate, true, ""},
    // XTREME's xnli/train-en.tsv is MNLI's training set (utils_preprocess.py xnli_preprocess).
    {"xnli", Role::kTarget, true, "mnli"},
    {"udpos", Role::kTarget, true, ""},
    {"xquad", Role::kTarget, true, ""},
    {"tatoeba", Role::kTarget, false, ""},
    {"mlm", Role::kMlm, true, ""},
};

const DemoTask* find_demo_task(const std::string& name) {
  for (const DemoTask& t : kDemoTasks)
    if (name == t.name) return &t;
  return nullptr;
}

int base_count(const DemoTask& task, const std::string& split) {
  const bool train = split == kSplitTrain;
  switch (task.role) {
    case Role::kIntermediate:
      return train ? kIntermediateTrain : kIntermediateEval;
    case Role::kTarget:
      return train ? kTargetTrain : kTargetEval;
    case Role::kMlm:
      return train ? kMlmTrain : kMlmEval;
  }
  return 0;
}

int scaled(int count, double scale) {
  return std::max(kMinExamples, static_cast<int>(std::lround(count * scale)));
}

// The languages written for a split: English for intermediate tasks and target training splits,
// every demo language for MLM and the targets' evaluation splits (Tatoeba without English), and
// any demo language the registry entry lists besides.
std::vector<std::string> split_languages(const DemoTask& task, const TaskSpec& spec,
                                         const std::string& split) {
  std::vector<std::string> out;
  const auto listed = spec.languages.find(split);
  for (const std::string& code : demo_languages()) {
    bool wanted = false;
    switch (task.role) {
      case Role::kIntermediate:
        wanted = code == "en";
        break;
      case Role::kMlm:
        wanted = true;
        break;
      case Role::kTarget:
        wanted = split == kSplitTrain ? code == "en" : code != "en" || task.english_evaluated;
        break;
    }
    if (listed != spec.languages.end() &&
        std::find(listed->second.begin(), listed->second.end(), code) != listed->second.end())
      wanted = true;
    if (wanted) out.push_back(code);
  }
  return out;
}

struct SplitJob {
  const TaskSpec* spec;
  std::string split;
  std::vector<std::string> langs;
  int count;
  uint64_t seed;
  std::string stream;  // names the sample: "mnli/train" (XNLI's train split reuses it)
};

void write_nli(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  const std::vector<NliItem> items = nli_items(rng, job.count);
  for (const std::string& code : job.langs) {
    std::vector<NliExample> examples;
    for (const NliItem& item : items) examples.push_back(render_nli(item, language(code)));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             nli_file(*job.spec, examples, job.split));
  }
}

void write_qa(const SplitJob& job, SuiteWriter* w) {
  if (job.spec->format != "squad_json" && job.spec->format != "xtreme_squad_json")
    unsupported_format(*job.spec, "squad_json or xtreme_squad_json");
  Rng rng(job.seed, job.stream);
  const std::vector<QaParagraphItem> items = qa_items(rng, job.count);
  for (const std::string& code : job.langs) {
    std::vector<QaParagraph> paragraphs;
    for (size_t i = 0; i < items.size(); ++i)
      paragraphs.push_back(render_paragraph(
          items[i], language(code), fmt::format("{}-{}-p{}", job.spec->name, job.split, i)));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             squad_file(paragraphs, "demo_" + job.spec->name));
  }
}

void write_hellaswag(const SplitJob& job, SuiteWriter* w) {
  if (job.spec->format != "hellaswag_jsonl") unsupported_format(*job.spec, "hellaswag_jsonl");
  Rng rng(job.seed, job.stream);
  std::vector<McExample> examples;
  for (int i = 0; i < job.count; ++i) examples.push_back(make_hellaswag(rng));
  for (const std::string& code : job.langs)
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             hellaswag_file(examples, job.split));
}

void write_ccg(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  std::vector<TaggedSentence> sentences;
  for (int i = 0; i < job.count; ++i) sentences.push_back(ccg_sentence(rng));
  for (const std::string& code : job.langs)
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             tagging_file(*job.spec, sentences));
}

void write_udpos(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  std::vector<SentenceItem> items;
  for (int i = 0; i < job.count; ++i) items.push_back(random_sentence(rng, 0.3));
  for (const std::string& code : job.langs) {
    std::vector<TaggedSentence> sentences;
    for (const SentenceItem& item : items)
      sentences.push_back(pos_sentence(render_sentence(item, language(code))));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             tagging_file(*job.spec, sentences));
  }
}

// Parallel sentences, unique on the English side, so that retrieval has one right answer.
std::vector<SentenceItem> unique_sentences(Rng& rng, int count, double p_question) {
  std::vector<SentenceItem> items;
  std::set<std::string> seen;
  const Language& en = language("en");
  for (int attempt = 0; static_cast<int>(items.size()) < count; ++attempt) {
    OT_CHECK(attempt < 100 * count + 1000, "cannot sample {} distinct sentences", count);
    SentenceItem item = random_sentence(rng, p_question);
    if (seen.insert(sentence_text(render_sentence(item, en))).second) items.push_back(item);
  }
  return items;
}

void write_tatoeba(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  const std::vector<SentenceItem> items = unique_sentences(rng, job.count, 0.2);
  for (const std::string& code : job.langs) {
    std::vector<std::string> source, english;
    for (const SentenceItem& item : items) {
      source.push_back(sentence_text(render_sentence(item, language(code))));
      english.push_back(sentence_text(render_sentence(item, language("en"))));
    }
    const std::filesystem::path path = task_split_path(*job.spec, job.split, code, w->root());
    if (job.spec->format == "tatoeba") {
      // The reader's layout: the split's path holds the non-English side, the English side has
      // the extension options.target_extension. Line i translates line i (see the report of
      // generate_demo_data: XTREME sorts the English side, the demo keeps the alignment).
      std::filesystem::path english_path = path;
      english_path.replace_extension("." + option(*job.spec, "target_extension", "en"));
      w->write(path, lines_file(source));
      w->write(english_path, lines_file(english));
    } else {
      unsupported_format(*job.spec, "tatoeba");
    }
  }
}

void write_mlm(const SplitJob& job, SuiteWriter* w) {
  for (const std::string& code : job.langs) {
    // Monolingual corpora: each language its own sample, as real pretraining text is.
    Rng rng(job.seed, job.stream + "/" + code);
    const Language& lang = language(code);
    std::vector<std::string> lines;
    for (int i = 0; i < job.count; ++i) {
      std::vector<std::string> sentences;
      const int n = rng.range(1, 3);
      for (int k = 0; k < n; ++k)
        sentences.push_back(sentence_text(render_sentence(random_sentence(rng, 0.25), lang)));
      lines.push_back(join_sentences(sentences));
    }
    const std::filesystem::path path = task_split_path(*job.spec, job.split, code, w->root());
    if (job.spec->format == "text") {
      w->write(path, lines_file(lines));
    } else if (job.spec->format == "jsonl") {
      std::string out;
      for (const auto& l : lines) out += json{{option(*job.spec, "text", "text"), l}}.dump() + "\n";
      w->write(path, out);
    } else {
      unsupported_format(*job.spec, "text or jsonl");
    }
  }
}

std::filesystem::path stamp_path(const std::filesystem::path& root, const DemoOptions& options) {
  return root / fmt::format(".ordertune-demo-{}-{}", options.seed, options.scale);
}

}  // namespace

std::vector<std::string> demo_languages() {
  return {"en", "sa", "sb", "sc"};
}

std::vector<std::string> demo_tasks() {
  std::vector<std::string> out;
  for (const DemoTask& t : kDemoTasks) out.push_back(t.name);
  return out;
}

void generate_demo_data(const std::filesystem::path& root, const TaskRegistry& registry,
                        const DemoOptions& options) {
  if (!(options.scale > 0) || !std::isfinite(options.scale))
    throw ConfigError(
        fmt::format("data.demo_scale: expected a number > 0, found {}", options.scale));
  // A stale stamp must not survive a generation that fails half-way.
  std::error_code ec;
  std::filesystem::remove(stamp_path(root, options), ec);
  SuiteWriter writer(root);
  for (const DemoTask& task : kDemoTasks) {
    const TaskSpec& spec = registry.get(task.name);
    for (const auto& [split, path] : spec.paths) {
      SplitJob job;
      job.spec = &spec;
      job.split = split;
      job.langs = split_languages(task, spec, split);
      job.seed = options.seed;
      // A target's train split holds another task's training sample where the real layout
      // does (XNLI's train-en.tsv is MNLI's), or its train_task's if a config gives it one.
      std::string source_name = task.name;
      if (split == kSplitTrain && *task.train_source) source_name = task.train_source;
      if (split == kSplitTrain && find_demo_task(spec.train_task)) source_name = spec.train_task;
      job.count = scaled(base_count(*find_demo_task(source_name), split), options.scale);
      job.stream = fmt::format("{}/{}", source_name, split);
      const std::string name = task.name;
      if (name == "mnli" || name == "xnli")
        write_nli(job, &writer);
      else if (name == "squad_v1" || name == "xquad")
        write_qa(job, &writer);
      else if (name == "hellaswag")
        write_hellaswag(job, &writer);
      else if (name == "ccg")
        write_ccg(job, &writer);
      else if (name == "udpos")
        write_udpos(job, &writer);
      else if (name == "tatoeba")
        write_tatoeba(job, &writer);
      else
        write_mlm(job, &writer);
    }
  }
  // The stamp, last: the suite is complete once it exists.
  std::string stamp = std::string(kGeneratorVersion) + "\n";
  for (const auto& [file, bytes] : writer.files())
    stamp += fmt::format("{}\t{}\n", std::filesystem::relative(file, root).generic_string(), bytes);
  writer.write(stamp_path(root, options), stamp);
}

bool demo_data_present(const std::filesystem::path& root, const DemoOptions& options) {
  // The stamp names this generator and lists every file with its size: all must be there.
  std::ifstream in(stamp_path(root, options), std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line) || line != kGeneratorVersion) return false;
  while (std::getline(in, line)) {
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos) return false;
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(root / line.substr(0, tab), ec);
    if (ec || std::to_string(bytes) != line.substr(tab + 1)) return false;
  }
  return true;
}

}  // namespace ordertune

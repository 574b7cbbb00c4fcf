#include "ordertune/text/demo/lexicon.h"

#include <utility>

#include "ordertune/base/error.h"

namespace ordertune::demo {
namespace {

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

}  // namespace

int Lexicon::find(Pos pos, const std::string& word) const {
  for (size_t i = 0; i < lemmas.size(); ++i)
    if (lemmas[i].pos == pos && lemmas[i].en[0] == word) return static_cast<int>(i);
  OT_CHECK(false, "demo lexicon has no '{}'", word);
  return -1;
}

std::vector<int> Lexicon::nouns_matching(uint32_t mask) const {
  std::vector<int> out;
  for (int n : object_nouns)
    if (lemmas[n].category & mask) out.push_back(n);
  return out;
}

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

}  // namespace ordertune::demo

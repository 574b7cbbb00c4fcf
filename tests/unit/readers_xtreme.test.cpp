// Tests of the XTREME(-R) readers and registry entries (src/readers_xtreme.cpp).
//
// The samples under tests/data/xtreme/ are written by hand in the layout that
// google-research/xtreme's download_data.sh leaves, at the registry's paths relative to a data
// root of tests/data, so reading them through the registry also checks the paths. Expected
// values below were read off those files. Malformed inputs are written to scratch folders by
// the test that uses them, so each test shows its own input.
#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/config/config.h"
#include "ordertune/config/task_registry.h"
#include "ordertune/data/task_reader.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using Catch::Contains;
using ordertune::RawSplit;
using ordertune::ReadRequest;
using ordertune::TaskSpec;
using Gold = std::vector<std::pair<int64_t, int64_t>>;

namespace {

const ordertune::TaskRegistry& xtreme_registry() {
  static const ordertune::TaskRegistry registry = [] {
    ordertune::TaskRegistry r;
    ordertune::register_xtreme_tasks(r);
    return r;
  }();
  return registry;
}

TaskSpec spec_of(const std::string& task) {
  return xtreme_registry().get(task);
}

// Reads (split, language) of a task from the files under `root`, through the registry path.
RawSplit read_split(const TaskSpec& spec, const std::string& split, const std::string& language,
                    const fs::path& root = ordertune::testing::test_data(),
                    int64_t max_examples = 0) {
  ReadRequest request;
  request.path = ordertune::task_split_path(spec, split, language, root);
  request.split = split;
  request.language = language;
  request.max_examples = max_examples;
  return ordertune::read_task_split(spec, request);
}

// The lines joined, each ending in "\n".
std::string lines(std::initializer_list<std::string> items) {
  std::string out;
  for (const std::string& item : items) out += item + "\n";
  return out;
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

}  // namespace

// ---- registry ----------------------------------------------------------------------------------

TEST_CASE("xtreme registry: every target task is complete and consistent", "[reader]") {
  const auto& registry = xtreme_registry();
  const std::vector<std::string> expected = {"bucc2018", "lareqa", "mewslix", "mlqa",
                                             "panx",     "pawsx",  "tatoeba", "tydiqa",
                                             "udpos",    "xcopa",  "xnli",    "xquad"};
  REQUIRE(registry.names() == expected);
  const std::set<ordertune::Metric> metrics = {
      ordertune::Metric::kAccuracy, ordertune::Metric::kSeqevalF1, ordertune::Metric::kSquad,
      ordertune::Metric::kMlqa,     ordertune::Metric::kBuccF1,    ordertune::Metric::kMap20};
  for (const std::string& name : registry.names()) {
    INFO("task " << name);
    const TaskSpec& spec = registry.get(name);
    CHECK(spec.name == name);
    CHECK(ordertune::reader_formats().count(spec.format) == 1);
    CHECK(metrics.count(spec.metric) == 1);
    CHECK(!spec.description.empty());
    REQUIRE(spec.paths.size() == spec.languages.size());
    for (const auto& [split, path] : spec.paths) {
      INFO("split " << split);
      CHECK((split == "train" || split == "dev" || split == "test"));
      REQUIRE(spec.languages.count(split) == 1);
      const auto& langs = spec.languages.at(split);
      CHECK(!langs.empty());
      if (langs.size() > 1) CHECK(path.find("{lang}") != std::string::npos);
      CHECK(path.rfind("xtreme/", 0) == 0);
      if (split == "train") CHECK(langs == std::vector<std::string>{"en"});
    }
    // A target trains either on its own English train split or on another task's.
    const bool own_train = spec.paths.count("train") == 1;
    const bool other_train = !spec.train_task.empty();
    const bool encoder_only = name == "tatoeba" || name == "bucc2018";
    CHECK((encoder_only ? !own_train && !other_train : own_train != other_train));
  }

  SECTION("label sets in xtreme's order") {
    CHECK(spec_of("xnli").labels ==
          std::vector<std::string>{"contradiction", "entailment", "neutral"});
    CHECK(spec_of("pawsx").labels == std::vector<std::string>{"0", "1"});
    CHECK(spec_of("panx").labels ==
          std::vector<std::string>{"B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER", "O"});
    const auto upos = spec_of("udpos").labels;
    CHECK(upos.size() == 17);
    CHECK(std::is_sorted(upos.begin(), upos.end()));
    CHECK(std::count(upos.begin(), upos.end(), "PROPN") == 1);
    CHECK(std::count(upos.begin(), upos.end(), "O") == 0);
  }
  SECTION("training sources") {
    CHECK(spec_of("xnli").train_task.empty());
    CHECK(spec_of("xnli").paths.at("train") == "xtreme/xnli/train-en.tsv");
    CHECK(spec_of("xquad").train_task == "squad_v1");
    CHECK(spec_of("mlqa").train_task == "squad_v1");
    CHECK(spec_of("tydiqa").train_task.empty());
    CHECK(spec_of("xcopa").train_task.empty());
    CHECK(spec_of("xcopa").num_choices == 2);
    CHECK(spec_of("lareqa").paths.at("train") == "xtreme/squad/train-v1.1.json");
    CHECK(spec_of("tatoeba").paths.count("train") == 0);
  }
  SECTION("test languages per task") {
    const std::vector<std::pair<std::string, size_t>> counts = {
        {"xnli", 15},    {"pawsx", 7},    {"xcopa", 11},   {"udpos", 38},
        {"panx", 48},    {"xquad", 12},   {"mlqa", 7},     {"tydiqa", 9},
        {"tatoeba", 41}, {"bucc2018", 4}, {"mewslix", 11}, {"lareqa", 11}};
    for (const auto& [task, n] : counts) {
      INFO("task " << task);
      CHECK(spec_of(task).languages.at("test").size() == n);
    }
    // XQuAD in XTREME-R: evaluate.py's XTREME_R_TASK2LANGS["xquad"], XTREME's 11 and ro;
    // LAReQA's XQuAD-R keeps the 11.
    auto xquad = spec_of("xquad").languages.at("test");
    std::sort(xquad.begin(), xquad.end());
    CHECK(xquad == std::vector<std::string>{"ar", "de", "el", "en", "es", "hi", "ro", "ru", "th",
                                            "tr", "vi", "zh"});
    const auto lareqa = spec_of("lareqa").languages.at("test");  // a copy: spec_of returns one
    CHECK(std::count(lareqa.begin(), lareqa.end(), "ro") == 0);
    const auto dev = spec_of("udpos").languages.at("dev");
    CHECK(dev.size() == 34);
    CHECK(std::count(dev.begin(), dev.end(), "th") == 0);
  }
}

// ---- samples of each format --------------------------------------------------------------------

TEST_CASE("xnli, pawsx: xtreme's TSV files, test labels hidden", "[reader]") {
  SECTION("xnli train-en (MNLI); csv-quoted fields stay verbatim as xtreme reads them") {
    const RawSplit raw = read_split(spec_of("xnli"), "train", "en");
    REQUIRE(raw.classification.size() == 3);
    CHECK(raw.classification[0].text_a ==
          "Conceptually cream skimming has two basic dimensions - product and geography.");
    CHECK(raw.classification[0].label == "neutral");
    CHECK(raw.classification[1].label == "entailment");
    CHECK(raw.classification[2].text_a == "\"He said \"\"no\"\" twice.\"");
    CHECK(raw.classification[2].text_b == "He agreed at once.");
    CHECK(raw.classification[2].label == "contradiction");
    CHECK(raw.classification[2].where.line == 3);
  }
  SECTION("xnli dev-de") {
    const RawSplit raw = read_split(spec_of("xnli"), "dev", "de");
    REQUIRE(raw.classification.size() == 2);
    CHECK(raw.classification[1].text_b == "Ich wusste genau, was ich tun wollte.");
    CHECK(raw.classification[1].label == "contradiction");
  }
  SECTION("xnli test-de has no label column") {
    const RawSplit raw = read_split(spec_of("xnli"), "test", "de");
    REQUIRE(raw.classification.size() == 2);
    CHECK(raw.classification[1].text_a == "Das Museum öffnet um neun Uhr.");
    CHECK(raw.classification[1].text_b == "Das Museum ist nachts geöffnet.");
    CHECK(raw.classification[0].label.empty());
    CHECK(raw.classification[1].label.empty());
  }
  SECTION("pawsx train-en and test-ja") {
    const RawSplit train = read_split(spec_of("pawsx"), "train", "en");
    REQUIRE(train.classification.size() == 1);
    CHECK(train.classification[0].label == "1");
    const RawSplit test = read_split(spec_of("pawsx"), "test", "ja");
    REQUIRE(test.classification.size() == 1);
    CHECK(test.classification[0].text_a == "ロンドンは イギリスの 首都です。");
    CHECK(test.classification[0].label.empty());
  }
}

TEST_CASE("udpos, panx: word TAB tag sentences, test tags hidden", "[reader]") {
  SECTION("udpos train-en") {
    const RawSplit raw = read_split(spec_of("udpos"), "train", "en");
    REQUIRE(raw.tagging.size() == 2);
    CHECK(raw.tagging[0].words == std::vector<std::string>{"What", "if", "Google", "Morphed", "?"});
    CHECK(raw.tagging[0].tags ==
          std::vector<std::string>{"PRON", "SCONJ", "PROPN", "VERB", "PUNCT"});
    CHECK(raw.tagging[1].words == std::vector<std::string>{"Thanks", "!"});
    CHECK(raw.tagging[1].where.line == 7);
    CHECK(raw.tagging[1].word_where(1).line == 8);  // one line per word: errors name the word's
  }
  SECTION("udpos test-de has words only") {
    const RawSplit raw = read_split(spec_of("udpos"), "test", "de");
    REQUIRE(raw.tagging.size() == 2);
    CHECK(raw.tagging[0].words == std::vector<std::string>{"Das", "ist", "gut", "."});
    CHECK(raw.tagging[0].tags.empty());
    CHECK(raw.tagging[1].words == std::vector<std::string>{"Danke"});
    CHECK(raw.tagging[1].tags.empty());
  }
  SECTION("panx dev-fr") {
    const RawSplit raw = read_split(spec_of("panx"), "dev", "fr");
    REQUIRE(raw.tagging.size() == 2);
    CHECK(raw.tagging[0].words[4] == "Saint-Étienne");
    CHECK(raw.tagging[0].tags ==
          std::vector<std::string>{"B-PER", "I-PER", "O", "O", "B-LOC", "O"});
    CHECK(raw.tagging[1].words == std::vector<std::string>{"L'", "ONU"});
    CHECK(raw.tagging[1].tags == std::vector<std::string>{"O", "B-ORG"});
  }
}

TEST_CASE("xcopa: COPA records become run_xcopa.py's prompt and two choices", "[reader]") {
  SECTION("train-en (COPA)") {
    const RawSplit raw = read_split(spec_of("xcopa"), "train", "en");
    REQUIRE(raw.multiple_choice.size() == 2);
    const auto& first = raw.multiple_choice[0];
    CHECK(first.id == "0");
    CHECK(first.prompt == "My body cast a shadow over the grass. What was the cause?");
    CHECK(first.choices == std::vector<std::string>{"The sun was rising.", "The grass was cut."});
    CHECK(first.label == 0);
    const auto& second = raw.multiple_choice[1];
    CHECK(second.id == "3");
    CHECK(second.prompt == "I tipped the bottle. What was the effect?");
    CHECK(second.choices[1] == "The liquid in the bottle poured out.");
    CHECK(second.label == 1);
    CHECK(second.where.line == 2);
  }
  SECTION("val-et keeps its label") {
    const RawSplit raw = read_split(spec_of("xcopa"), "dev", "et");
    REQUIRE(raw.multiple_choice.size() == 1);
    CHECK(raw.multiple_choice[0].prompt == "Mees keeras kraani lahti. What was the effect?");
    CHECK(raw.multiple_choice[0].label == 1);
  }
  SECTION("test-et: xcopa_preprocess's placeholder label 0 is read as unlabeled") {
    const RawSplit raw = read_split(spec_of("xcopa"), "test", "et");
    REQUIRE(raw.multiple_choice.size() == 1);
    CHECK(raw.multiple_choice[0].choices ==
          std::vector<std::string>{"See oli õrn.", "See oli väike."});
    CHECK(raw.multiple_choice[0].label == -1);
  }
}

TEST_CASE("xquad, tydiqa: SQuAD JSON with byte offsets and hidden test answers", "[reader]") {
  SECTION("tydiqa train-en: character offsets become byte offsets") {
    const RawSplit raw = read_split(spec_of("tydiqa"), "train", "en");
    REQUIRE(raw.qa.size() == 2);
    const auto& where = raw.qa[0];
    CHECK(where.question == "Where was Nikolai Gogol born?");
    REQUIRE(where.answer_texts == std::vector<std::string>{"Sorochyntsi"});
    // Character 52; the 13 Cyrillic letters before it take two bytes each: byte 65.
    CHECK(where.answer_starts == std::vector<int64_t>{65});
    CHECK(where.context.substr(65, 11) == "Sorochyntsi");
    const auto& name = raw.qa[1];
    CHECK(name.id == "-5523346284530823003");
    // Character 32: 24 ASCII characters, "Николай" (7 x 2 bytes) and a space: byte 39.
    CHECK(name.answer_starts == std::vector<int64_t>{39});
    CHECK(name.context.substr(39, 12) == "Гоголь");
  }
  SECTION("xquad test-de: the empty placeholder answers mean unlabeled") {
    const RawSplit raw = read_split(spec_of("xquad"), "test", "de");
    REQUIRE(raw.qa.size() == 2);
    CHECK(raw.qa[1].id == "56beb4343aeaaa14008c925c");
    CHECK(raw.qa[1].question == "Wie war die Bilanz der Panthers?");
    CHECK(raw.qa[0].answer_texts.empty());
    CHECK(raw.qa[0].answer_starts.empty());
    CHECK(raw.qa[1].answer_texts.empty());
  }
}

TEST_CASE("tatoeba: two files, one sentence per line", "[reader]") {
  SECTION("xtreme's layout sorts the English side: no gold") {
    const RawSplit raw = read_split(spec_of("tatoeba"), "test", "de");
    REQUIRE(raw.retrieval.queries.size() == 3);
    REQUIRE(raw.retrieval.candidates.size() == 3);
    CHECK(raw.retrieval.queries[1].text == "Wo ist der Bahnhof?");
    CHECK(raw.retrieval.queries[1].language == "de");
    CHECK(raw.retrieval.candidates[2].text == "Where is the station?");
    CHECK(raw.retrieval.candidates[2].language == "en");
    CHECK(raw.retrieval.gold.empty());
    CHECK(raw.files.size() == 2);
  }
  SECTION("gold = same_line for parallel files") {
    TaskSpec spec = spec_of("tatoeba");
    spec.options["gold"] = "same_line";
    const RawSplit raw = read_split(spec, "test", "de");
    CHECK(raw.retrieval.gold == Gold{{0, 0}, {1, 1}, {2, 2}});
  }
}

TEST_CASE("bucc2018: id TAB sentence files and a gold file of id pairs", "[reader]") {
  SECTION("dev-fr with gold") {
    const RawSplit raw = read_split(spec_of("bucc2018"), "dev", "fr");
    REQUIRE(raw.retrieval.queries.size() == 3);
    REQUIRE(raw.retrieval.candidates.size() == 4);
    CHECK(raw.retrieval.queries[0].id == "fr-000000001");
    CHECK(raw.retrieval.queries[0].text == "Le chat dort sur le canapé.");
    CHECK(raw.retrieval.queries[0].language == "fr");
    CHECK(raw.retrieval.candidates[3].id == "en-000000004");
    CHECK(raw.retrieval.candidates[3].text == "It has been raining since this morning.");
    CHECK(raw.retrieval.gold == Gold{{0, 2}, {1, 0}, {2, 3}});
    CHECK(raw.files.size() == 3);
  }
  SECTION("test-fr: the gold file is deleted by download_bucc18") {
    const RawSplit raw = read_split(spec_of("bucc2018"), "test", "fr");
    REQUIRE(raw.retrieval.queries.size() == 2);
    CHECK(raw.retrieval.candidates[1].text == "Hello everyone.");
    CHECK(raw.retrieval.gold.empty());
    CHECK(raw.files.size() == 2);
  }
  SECTION("max_examples keeps the first queries and their gold") {
    const RawSplit raw = read_split(spec_of("bucc2018"), "dev", "fr",
                                    ordertune::testing::test_data(), /*max_examples=*/1);
    CHECK(raw.retrieval.queries.size() == 1);
    CHECK(raw.retrieval.candidates.size() == 4);
    CHECK(raw.retrieval.gold == Gold{{0, 2}});
  }
}

TEST_CASE("mewslix: mentions in context against entity descriptions", "[reader]") {
  SECTION("dev-de: WikiNews mentions against the candidate set") {
    const RawSplit raw = read_split(spec_of("mewslix"), "dev", "de");
    const auto& set = raw.retrieval;
    REQUIRE(set.candidates.size() == 4);
    REQUIRE(set.queries.size() == 3);
    CHECK(set.queries[0].id == "a1b2");
    CHECK(set.queries[0].text == "Angela Merkel");
    CHECK(set.queries[0].context ==
          "Die Bundeskanzlerin { Angela Merkel } reiste am Montag nach München.");
    CHECK(set.queries[0].language == "de");
    // "München" sits at characters [56, 63), bytes [56, 64): offsets are code points.
    CHECK(set.queries[1].context ==
          "Die Bundeskanzlerin Angela Merkel reiste am Montag nach { München } .");
    // Only the mention's sentence is context; pre-existing braces are escaped.
    CHECK(set.queries[2].context == "Dort traf sie (Journalisten) aus { Bayern } .");
    CHECK(set.candidates[2].id == "Q567");
    CHECK(set.candidates[2].text ==
          "Angela Merkel is a German politician. She was Chancellor of Germany.");
    CHECK(set.candidates[1].language == "de");
    CHECK(set.gold == Gold{{0, 2}, {1, 1}, {2, 3}});
    CHECK(raw.files.size() == 2);
  }
  SECTION("test-de: entity ids removed, no gold") {
    const RawSplit raw = read_split(spec_of("mewslix"), "test", "de");
    CHECK(raw.retrieval.queries.size() == 2);
    CHECK(raw.retrieval.candidates.size() == 4);
    CHECK(raw.retrieval.gold.empty());
  }
  SECTION("train: Wikipedia mention-entity pairs, one candidate per entity") {
    const RawSplit raw = read_split(spec_of("mewslix"), "train", "en");
    const auto& set = raw.retrieval;
    REQUIRE(set.queries.size() == 3);
    REQUIRE(set.candidates.size() == 2);
    CHECK(set.candidates[0].id == "Q64");
    CHECK(set.candidates[0].text ==
          "Berlin is the capital of Germany. It is the largest city in the European Union.");
    CHECK(set.queries[1].id == "p2");
    CHECK(set.queries[1].context == "He moved to { Berlin } in 1990.");
    CHECK(set.queries[2].language == "en");
    CHECK(set.gold == Gold{{0, 0}, {1, 0}, {2, 1}});
  }
}

TEST_CASE("lareqa: answer sentences as candidates, gold across languages", "[reader]") {
  SECTION("xquad-r test-de against the candidates of every language") {
    TaskSpec spec = spec_of("lareqa");
    spec.languages["test"] = {"de", "en"};  // the sample has two of the eleven languages
    const RawSplit raw = read_split(spec, "test", "de");
    const auto& set = raw.retrieval;
    REQUIRE(set.queries.size() == 2);
    REQUIRE(set.candidates.size() == 4);
    CHECK(set.queries[0].id == "q1");
    CHECK(set.queries[0].text == "Welche Bilanz hatten die Panthers?");
    CHECK(set.queries[0].language == "de");
    CHECK(set.candidates[0].id == "de_1_0");
    CHECK(set.candidates[0].text ==
          "Die Panthers beendeten die reguläre Saison mit einer Bilanz von 15:1.");
    CHECK(set.candidates[0].context ==
          "Die Panthers beendeten die reguläre Saison mit einer Bilanz von 15:1. Cam Newton "
          "wurde zum wertvollsten Spieler der NFL gewählt.");
    CHECK(set.candidates[1].text == "Cam Newton wurde zum wertvollsten Spieler der NFL gewählt.");
    CHECK(set.candidates[2].text == "The Panthers finished the regular season with a 15–1 record.");
    CHECK(set.candidates[3].id == "en_1_1");
    CHECK(set.candidates[3].language == "en");
    CHECK(set.gold == Gold{{0, 0}, {0, 2}, {1, 1}, {1, 3}});
    CHECK(raw.files.size() == 2);
  }
  SECTION("SQuAD train: sentence breaks inferred as sb_sed does") {
    const RawSplit raw = read_split(spec_of("lareqa"), "train", "en");
    const auto& set = raw.retrieval;
    std::vector<std::string> sentences;
    for (const auto& c : set.candidates) sentences.push_back(c.text);
    CHECK(sentences == std::vector<std::string>{"Dr. Watson met J. Smith in London.",
                                                "They talked for hours!", "Was it useful?",
                                                "\"Certainly.\"",
                                                "The meeting ended at 5 p.m. on Friday."});
    REQUIRE(set.queries.size() == 2);
    CHECK(set.queries[0].text == "Who did Dr. Watson meet?");
    CHECK(set.gold == Gold{{0, 0}, {1, 4}});
  }
}

// ---- malformed input ---------------------------------------------------------------------------

TEST_CASE("xnli: a TSV line with too few columns", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  write_file(root / "xtreme/xnli/dev-de.tsv",
             "Ein Satz.\tNoch ein Satz.\tneutral\nNur eine Spalte\n");
  REQUIRE_THROWS_AS(read_split(spec_of("xnli"), "dev", "de", root.path()), ordertune::DataError);
  REQUIRE_THROWS_WITH(read_split(spec_of("xnli"), "dev", "de", root.path()),
                      Contains("xnli/dev-de.tsv:2: expected 3 tab-separated columns, found 1"));
}

TEST_CASE("xnli, udpos: the column count the format fixes", "[reader]") {
  // A train line without its label was once stored as unlabeled (-1) and failed later, naming no
  // file; extra columns were dropped silently.
  ordertune::testing::ScratchDir root("xtreme");
  write_file(root / "xtreme/xnli/train-en.tsv", "A.\tB.\tneutral\nA second.\tB second.\n");
  CHECK_THROWS_WITH(read_split(spec_of("xnli"), "train", "en", root.path()),
                    Contains("xnli/train-en.tsv:2: expected 3 tab-separated columns, found 2 in "
                             "'A second.\\tB second.'"));
  write_file(root / "xtreme/xnli/dev-de.tsv", "A.\tB.\tneutral\tentailment\n");
  CHECK_THROWS_WITH(read_split(spec_of("xnli"), "dev", "de", root.path()),
                    Contains("xnli/dev-de.tsv:1: expected 3 tab-separated columns, found 4"));
  write_file(root / "xtreme/xnli/test-de.tsv", "A.\tB.\nC.\tD.\tneutral\nE.\tF.\tneutral\tx\n");
  CHECK_THROWS_WITH(read_split(spec_of("xnli"), "test", "de", root.path()),
                    Contains("xnli/test-de.tsv:3: expected 2 or 3 tab-separated columns, found 4"));
  write_file(root / "xtreme/udpos/train-en.tsv", "Good\tADJ\nmorning\tNOUN\tNN\n");
  CHECK_THROWS_WITH(read_split(spec_of("udpos"), "train", "en", root.path()),
                    Contains("udpos/train-en.tsv:2: expected word<TAB>tag (2 tab-separated "
                             "columns), found 3"));
}

TEST_CASE("panx: a token panx_preprocess stripped to nothing stays a word", "[reader]") {
  // A PAN-X token of Unicode whitespace only becomes "" ("\tO" lines); xtreme's reader keeps it
  // as a word, and prepare once stopped on it.
  ordertune::testing::ScratchDir root("xtreme");
  write_file(root / "xtreme/panx/train-en.tsv", "Paris\tB-LOC\n\tO\nis\tO\n\nyes\tO\n");
  const RawSplit raw = read_split(spec_of("panx"), "train", "en", root.path());
  REQUIRE(raw.tagging.size() == 2);
  CHECK(raw.tagging[0].words == std::vector<std::string>{"Paris", "", "is"});
  CHECK(raw.tagging[0].tags == std::vector<std::string>{"B-LOC", "O", "O"});
}

TEST_CASE("udpos: bad UTF-8 and a word without its tag", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  SECTION("bad UTF-8") {
    write_file(root / "xtreme/udpos/train-en.tsv",
               lines({"Good\tADJ", std::string("ba\xff") + "d\tADJ"}));
    REQUIRE_THROWS_WITH(read_split(spec_of("udpos"), "train", "en", root.path()),
                        Contains("udpos/train-en.tsv:2: expected UTF-8 text, found invalid byte "
                                 "0xff"));
  }
  SECTION("a tag missing in the middle of a tagged sentence") {
    write_file(root / "xtreme/udpos/train-en.tsv", "Good\tADJ\nmorning\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("udpos"), "train", "en", root.path()),
                        Contains("udpos/train-en.tsv:2: expected word<TAB>tag"));
  }
}

TEST_CASE("xcopa: malformed records", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  const fs::path file = root / "xtreme/xcopa/val-et.jsonl";
  const std::string good =
      R"({"premise": "P.", "choice1": "A.", "choice2": "B.", "question": "cause", "label": 0})";
  SECTION("malformed JSON") {
    write_file(file, lines({good, R"({"premise": "P.", )"}));
    REQUIRE_THROWS_WITH(read_split(spec_of("xcopa"), "dev", "et", root.path()),
                        Contains("val-et.jsonl:2: expected a JSON object, found malformed JSON"));
  }
  SECTION("a question that is neither cause nor effect") {
    write_file(file, lines({good, R"({"premise": "P.", "choice1": "A.", "choice2": "B.", )"
                                  R"("question": "reason", "label": 0})"}));
    REQUIRE_THROWS_WITH(
        read_split(spec_of("xcopa"), "dev", "et", root.path()),
        Contains("val-et.jsonl:2: expected question 'cause' or 'effect', found 'reason'"));
  }
  SECTION("a label that names no choice") {
    write_file(file, lines({R"({"premise": "P.", "choice1": "A.", "choice2": "B.", )"
                            R"("question": "effect", "label": 2})"}));
    REQUIRE_THROWS_WITH(read_split(spec_of("xcopa"), "dev", "et", root.path()),
                        Contains("val-et.jsonl:1: expected label 0 or 1, found 2"));
  }
  SECTION("a missing choice") {
    write_file(file, lines({R"({"premise": "P.", "choice1": "A.", "question": "effect"})"}));
    REQUIRE_THROWS_WITH(read_split(spec_of("xcopa"), "dev", "et", root.path()),
                        Contains("val-et.jsonl:1: expected field 'choice2', found no such field"));
  }
}

TEST_CASE("tydiqa, xquad: malformed SQuAD JSON", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  const fs::path train = root / "xtreme/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json";
  SECTION("answer text not at answer_start (byte offsets are not character offsets)") {
    // "Гоголь" starts at character 32 = byte 39; 39 read as a character offset is wrong.
    write_file(train,
               R"({"data": [{"paragraphs": [{"context": "Nikolai Gogol (Russian: )"
               R"(Николай Гоголь) was born in 1809.", "qas": [{"id": "t1", "question": "Q?", )"
               R"("answers": [{"answer_start": 39, "text": "Гоголь"}]}]}]}]})");
    REQUIRE_THROWS_WITH(read_split(spec_of("tydiqa"), "train", "en", root.path()),
                        Contains("tydiqa.goldp.en.train.json (question id t1): expected answer "
                                 "'Гоголь' at character 39 of the context"));
  }
  SECTION("a training question with only the hidden-test placeholder answer") {
    write_file(train,
               R"({"data": [{"paragraphs": [{"context": "Some context.", "qas": [)"
               R"({"id": "t2", "question": "Q?", "answers": [{"answer_start": 0, "text": ""}]})"
               R"(]}]}]})");
    REQUIRE_THROWS_WITH(read_split(spec_of("tydiqa"), "train", "en", root.path()),
                        Contains("(question id t2): expected a non-empty answer for a training "
                                 "question"));
  }
  SECTION("a JSON syntax error names its line") {
    write_file(root / "xtreme/xquad/xquad.de.json", "{\"data\": [\n  {\"paragraphs\": [}\n]}\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("xquad"), "test", "de", root.path()),
                        Contains("xquad/xquad.de.json:2: expected valid JSON"));
  }
  SECTION("a missing file") {
    REQUIRE_THROWS_WITH(read_split(spec_of("xquad"), "test", "el", root.path()),
                        Contains("xquad/xquad.el.json: expected a readable file, found no such "
                                 "file"));
  }
}

TEST_CASE("tatoeba: files of different lengths and a bad gold option", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  write_file(root / "xtreme/tatoeba/fr-en.fr", "Un.\nDeux.\nTrois.\n");
  SECTION("English side shorter") {
    write_file(root / "xtreme/tatoeba/fr-en.en", "One.\nTwo.\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("tatoeba"), "test", "fr", root.path()),
                        Contains("tatoeba/fr-en.en:2: expected 3 lines, as many as "));
    REQUIRE_THROWS_WITH(read_split(spec_of("tatoeba"), "test", "fr", root.path()),
                        Contains("found the end of the file after 2 lines"));
  }
  SECTION("English side longer") {
    write_file(root / "xtreme/tatoeba/fr-en.en", "One.\nTwo.\nThree.\nFour.\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("tatoeba"), "test", "fr", root.path()),
                        Contains("tatoeba/fr-en.en:4: expected 3 lines"));
  }
  SECTION("an unknown gold option is a configuration error") {
    write_file(root / "xtreme/tatoeba/fr-en.en", "One.\nTwo.\nThree.\n");
    TaskSpec spec = spec_of("tatoeba");
    spec.options["gold"] = "sorted";
    REQUIRE_THROWS_AS(read_split(spec, "test", "fr", root.path()), ordertune::ConfigError);
  }
}

TEST_CASE("bucc2018: malformed sentence and gold files", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  const fs::path dir = root / "xtreme/bucc2018";
  write_file(dir / "de-en.dev.en", "en-1\tThe cat sleeps.\nen-2\tIt rains.\n");
  SECTION("gold naming an unknown English id") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\nde-2\tEs regnet.\n");
    write_file(dir / "de-en.dev.gold", "de-1\ten-1\nde-2\ten-9\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("bucc2018"), "dev", "de", root.path()),
                        Contains("de-en.dev.gold:2: expected a sentence id of "));
    REQUIRE_THROWS_WITH(read_split(spec_of("bucc2018"), "dev", "de", root.path()),
                        Contains("de-en.dev.en, found 'en-9'"));
  }
  SECTION("gold naming an unknown source id") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\n");
    write_file(dir / "de-en.dev.gold", "de-7\ten-1\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("bucc2018"), "dev", "de", root.path()),
                        Contains("de-en.dev.gold:1: expected a sentence id of "));
  }
  SECTION("a gold line with three columns") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\n");
    write_file(dir / "de-en.dev.gold", "de-1\ten-1\t0.9\n");
    REQUIRE_THROWS_WITH(
        read_split(spec_of("bucc2018"), "dev", "de", root.path()),
        Contains("de-en.dev.gold:1: expected 2 tab-separated columns (source id, English id)"));
  }
  SECTION("a sentence line without its id column") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\nEs regnet.\n");
    REQUIRE_THROWS_WITH(
        read_split(spec_of("bucc2018"), "dev", "de", root.path()),
        Contains("de-en.dev.de:2: expected 2 tab-separated columns (id, sentence), found 1"));
  }
  SECTION("a duplicate sentence id") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\nde-1\tEs regnet.\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("bucc2018"), "dev", "de", root.path()),
                        Contains("de-en.dev.de:2: expected a unique sentence id, found 'de-1' "
                                 "again (first at line 1)"));
  }
  SECTION("a dev split without its gold file") {
    write_file(dir / "de-en.dev.de", "de-1\tDie Katze schläft.\n");
    REQUIRE_THROWS_WITH(read_split(spec_of("bucc2018"), "dev", "de", root.path()),
                        Contains("de-en.dev.gold: expected a readable file, found no such file"));
  }
}

TEST_CASE("mewslix: malformed mentions and entities", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  const fs::path dir = root / "xtreme/mewslix";
  write_file(
      dir / "candidate_set_entities.jsonl",
      lines({R"({"entity_id": "Q64", "title": "Berlin", "description": "Berlin is a city.", )"
             R"("sentence_spans": [{"start": 0, "end": 17}], "description_language": "en", )"
             R"("description_url": "u"})"}));
  // One context of two sentences, "Berlin wächst." [0, 14) and "Sehr." [15, 20), with a mention.
  auto mentions_file = [&](const std::string& mention) {
    const std::string context =
        R"({"document_title": "t", "document_url": "u", "document_id": "d", "language": "de", )"
        R"("text": "Berlin wächst. Sehr.", )"
        R"("sentence_spans": [{"start": 0, "end": 14}, {"start": 15, "end": 20}]})";
    write_file(dir / "wikinews_mentions/dev-de.jsonl",
               lines({R"({"context": )" + context + R"(, "mentions": [)" + mention + "]}"}));
  };
  SECTION("an entity id missing from the candidate set") {
    mentions_file(R"({"example_id": "m1", "mention_span": {"start": 0, "end": 6, )"
                  R"("text": "Berlin"}, "entity_id": "Q999"})");
    REQUIRE_THROWS_WITH(read_split(spec_of("mewslix"), "dev", "de", root.path()),
                        Contains("wikinews_mentions/dev-de.jsonl:1: expected an entity_id of "));
    REQUIRE_THROWS_WITH(read_split(spec_of("mewslix"), "dev", "de", root.path()),
                        Contains("candidate_set_entities.jsonl, found 'Q999'"));
  }
  SECTION("mention text that is not at its span") {
    mentions_file(R"({"example_id": "m1", "mention_span": {"start": 1, "end": 7, )"
                  R"("text": "Berlin"}, "entity_id": "Q64"})");
    REQUIRE_THROWS_WITH(read_split(spec_of("mewslix"), "dev", "de", root.path()),
                        Contains("dev-de.jsonl:1: expected mention 'Berlin' at characters [1, 7) "
                                 "of the context, found 'erlin '"));
  }
  SECTION("a mention across two sentences") {
    mentions_file(R"({"example_id": "m1", "mention_span": {"start": 7, "end": 19, )"
                  R"("text": "wächst. Sehr"}, "entity_id": "Q64"})");
    REQUIRE_THROWS_WITH(read_split(spec_of("mewslix"), "dev", "de", root.path()),
                        Contains("dev-de.jsonl:1: expected a sentence span that holds mention "
                                 "[7, 19)"));
  }
  SECTION("a duplicate entity in the candidate set") {
    std::ifstream in(dir / "candidate_set_entities.jsonl");
    const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    write_file(dir / "candidate_set_entities.jsonl", line + line);
    mentions_file(R"({"example_id": "m1", "mention_span": {"start": 0, "end": 6, )"
                  R"("text": "Berlin"}, "entity_id": "Q64"})");
    REQUIRE_THROWS_WITH(read_split(spec_of("mewslix"), "dev", "de", root.path()),
                        Contains("candidate_set_entities.jsonl:2: expected a unique entity_id, "
                                 "found 'Q64'"));
  }
}

TEST_CASE("lareqa: malformed XQuAD-R files", "[reader]") {
  ordertune::testing::ScratchDir root("xtreme");
  TaskSpec spec = spec_of("lareqa");
  spec.languages["test"] = {"de", "en"};
  const fs::path dir = root / "xtreme/lareqa/xquad-r";
  const std::string en =
      R"({"data": [{"paragraphs": [{"context": "One. Two.", "sentence_breaks": [[0, 4], [5, 9]], )"
      R"("qas": [{"id": "q1", "question": "Q?", "answers": [{"answer_start": 5, "text": "Two"}]}]}]}]})";
  SECTION("a sentence break that is not a [start, end] pair") {
    write_file(dir / "en.json", en);
    write_file(dir / "de.json", R"({"data": [{"paragraphs": [{"context": "Eins. Zwei.", )"
                                R"("sentence_breaks": [[0, 5], [6]], "qas": []}]}]})");
    REQUIRE_THROWS_WITH(read_split(spec, "test", "de", root.path()),
                        Contains("xquad-r/de.json (paragraph 1): expected sentence breaks as "
                                 "[start, end] integer pairs, found array of 1"));
  }
  SECTION("a sentence break past the end of the paragraph") {
    write_file(dir / "en.json", en);
    write_file(dir / "de.json", R"({"data": [{"paragraphs": [{"context": "Eins.", )"
                                R"("sentence_breaks": [[0, 5], [6, 12]], "qas": []}]}]})");
    REQUIRE_THROWS_WITH(read_split(spec, "test", "de", root.path()),
                        Contains("(paragraph 1): expected a sentence break [start, end) with "
                                 "start < end inside its text, found [6, 12)"));
  }
  SECTION("a language of the pool without its file") {
    write_file(dir / "de.json", R"({"data": []})");
    REQUIRE_THROWS_WITH(read_split(spec, "test", "de", root.path()),
                        Contains("xquad-r/en.json: expected a readable file, found no such file"));
  }
  SECTION("a question id twice in one language") {
    write_file(dir / "de.json", R"({"data": []})");
    write_file(
        dir / "en.json",
        R"({"data": [{"paragraphs": [{"context": "One. Two.", "qas": [)"
        R"({"id": "q1", "question": "Q?", "answers": [{"answer_start": 0, "text": "One"}]}, )"
        R"({"id": "q1", "question": "Q?", "answers": [{"answer_start": 5, "text": "Two"}]}]}]}]})");
    REQUIRE_THROWS_WITH(read_split(spec, "test", "de", root.path()),
                        Contains("en.json (question id q1): expected a unique question id"));
  }
}

// ---- gold releases: [targets.<task>] gold ----------------------------------------------------
// tests/data/gold/ holds samples in the layout each public answered release has (README
// "Getting the data"); the expected byte offsets are counted from the UTF-8 text.

namespace {

// The registry of a config whose [targets.<task>] gold points at tests/data/gold/<folder>.
TaskSpec gold_spec(const std::string& task, const std::string& folder) {
  const std::string text = "[targets]\ntasks = [\"" + task + "\"]\n[targets." + task +
                           "]\ngold = \"" +
                           (ordertune::testing::test_data() / "gold" / folder).string() + "\"\n";
  return ordertune::parse_config(text, "gold.toml").registry.get(task);
}

}  // namespace

TEST_CASE("gold: the answered releases replace the test split the download blanked", "[reader]") {
  SECTION("xquad: deepmind/xquad's xquad.LANG.json, answers at byte offsets") {
    const RawSplit raw = read_split(gold_spec("xquad", "xquad"), "test", "de");
    REQUIRE(raw.qa.size() == 2);
    CHECK(raw.qa[0].answer_texts == std::vector<std::string>{"308"});
    CHECK(raw.qa[0].answer_starts == std::vector<int64_t>{38});
    // Character 64, after the two-byte "ä" of "reguläre": byte 65.
    CHECK(raw.qa[1].answer_texts == std::vector<std::string>{"15:1"});
    CHECK(raw.qa[1].answer_starts == std::vector<int64_t>{65});
    CHECK(raw.qa[1].context.substr(65, 4) == "15:1");
  }
  SECTION("tydiqa: the dev archive's tydiqa-goldp-dev-LANGUAGE.json, named by language") {
    const TaskSpec spec = gold_spec("tydiqa", "tydiqa-goldp-v1.1-dev");
    CHECK(ordertune::task_split_path(spec, "test", "ru", "/unused").filename() ==
          "tydiqa-goldp-dev-russian.json");
    CHECK(ordertune::task_split_path(spec, "train", "en", "/data").string() ==
          "/data/xtreme/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json");
    const RawSplit raw = read_split(spec, "test", "ru");
    REQUIRE(raw.qa.size() == 2);
    // "Москва — столица " is 6 + 1 + 1 + 1 + 7 + 1 characters, 12 + 1 + 3 + 1 + 14 + 1 bytes.
    CHECK(raw.qa[0].answer_texts == std::vector<std::string>{"России"});
    CHECK(raw.qa[0].answer_starts == std::vector<int64_t>{32});
    REQUIRE(raw.qa[1].answer_texts.size() == 2);
    CHECK(raw.qa[1].context.substr(raw.qa[1].answer_starts[1], raw.qa[1].answer_texts[1].size()) ==
          "13 миллионов человек");
  }
  SECTION("tatoeba: LASER's tatoeba.XXX-eng.{XXX,eng}, aligned line by line") {
    const TaskSpec spec = gold_spec("tatoeba", "tatoeba");
    const RawSplit raw = read_split(spec, "test", "de");
    REQUIRE(raw.retrieval.queries.size() == 3);
    CHECK(raw.retrieval.candidates[1].text == "Where is the station?");
    CHECK(raw.retrieval.gold == Gold{{0, 0}, {1, 1}, {2, 2}});
    CHECK(fs::path(raw.files.at(1)).filename() == "tatoeba.deu-eng.eng");
  }
  SECTION("a language the release lacks: the missing file is named") {
    REQUIRE_THROWS_WITH(read_split(gold_spec("xquad", "xquad"), "test", "ro"),
                        Contains("gold/xquad/xquad.ro.json: expected a readable file"));
  }
}

TEST_CASE(
    "gold, score, unscored: bad [targets.<task>] tables are refused in one line, an unknown "
    "unscored language is said",
    "[reader]") {
  const auto refused = [](const std::string& text) {
    try {
      ordertune::parse_config(text, "t.toml");
    } catch (const ordertune::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refused("[targets]\ntasks = [\"udpos\"]\n[targets.udpos]\ngold = \"x\"\n"),
             Contains("t.toml:4: targets.udpos.gold: expected a target with a known answered "
                      "release (mlqa, tatoeba, tydiqa, xquad), got 'udpos'"));
  CHECK_THAT(refused("[targets]\ntasks = [\"udpos\"]\n[targets.xnli]\nscore = \"none\"\n"),
             Contains("targets.xnli: expected a target listed in targets.tasks, got 'xnli'"));
  const ordertune::SweepConfig warned = ordertune::parse_config(
      "[targets]\ntasks = [\"udpos\"]\n[targets.udpos]\nunscored = [\"xx\"]\n", "t.toml");
  REQUIRE(warned.warnings.size() == 1);
  CHECK_THAT(warned.warnings[0], Contains("t.toml:4: targets.udpos.unscored: 'xx' is not a "
                                          "language of udpos (af, ar, bg"));
  CHECK_THAT(refused("[targets]\ntasks = [\"udpos\"]\n[targets.udpos]\nscore = \"dev\"\n"),
             Contains("targets.udpos.score: expected one of \"auto\", \"none\""));
  CHECK_THAT(refused("[targets]\ntasks = [\"udpos\"]\n[targets.udpos]\nunscore = []\n"),
             Contains("t.toml:4: targets.udpos.unscore: unknown key"));
}

// Tests of the synthetic demo suite: every file it writes reads back through the real readers,
// generation is deterministic, the languages share anchors but differ in words and order, and
// the tasks' labels are balanced and correct.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/config/task_registry.h"
#include "ordertune/data/task_reader.h"
#include "ordertune/text/demo_data.h"
#include "test_paths.h"

namespace ordertune {
namespace {

using testing::ScratchDir;

constexpr double kTestScale = 0.05;  // 100 training examples per intermediate task

DemoOptions options(uint64_t seed, double scale = kTestScale) {
  DemoOptions o;
  o.seed = seed;
  o.scale = scale;
  return o;
}

bool is_intermediate(const std::string& task) {
  return task == "mnli" || task == "squad_v1" || task == "hellaswag" || task == "ccg";
}

// The (split, language) pairs the demo must write for a task, as demo_data.cpp documents:
// English for intermediate tasks and target training splits, every language for MLM and the
// targets' evaluation splits, Tatoeba without English.
std::vector<std::pair<std::string, std::string>> expected_files(const TaskSpec& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [split, path] : spec.paths) {
    for (const std::string& lang : demo_languages()) {
      bool wanted;
      if (is_intermediate(spec.name))
        wanted = lang == "en";
      else if (spec.name == "mlm")
        wanted = true;
      else if (split == kSplitTrain)
        wanted = lang == "en";
      else
        wanted = spec.name != "tatoeba" || lang != "en";
      if (wanted) out.emplace_back(split, lang);
    }
  }
  return out;
}

RawSplit read(const TaskRegistry& registry, const std::filesystem::path& root,
              const std::string& task, const std::string& split, const std::string& lang) {
  const TaskSpec& spec = registry.get(task);
  ReadRequest request;
  request.path = task_split_path(spec, split, lang, root);
  request.split = split;
  request.language = lang;
  return read_task_split(spec, request);
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file under root, relative path -> bytes.
std::map<std::string, std::string> tree(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.is_regular_file())
      out[std::filesystem::relative(entry.path(), root).generic_string()] =
          file_bytes(entry.path());
  return out;
}

std::vector<std::string> tokens(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text + " ") {
    if (c == ' ' || c == '.' || c == '?') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

// Names, places and numbers: numeric or capitalized tokens, but for the English words the
// grammar capitalizes at a sentence start and the day names (capitalized, but translated).
std::set<std::string> anchors(const std::string& english) {
  static const std::set<std::string> not_anchors = {
      "The",  "A",      "An",      "Someone",   "Who",      "What",   "Where",    "How",
      "Then", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  std::set<std::string> out;
  for (const std::string& w : tokens(english)) {
    const char c = w[0];
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && !not_anchors.count(w))) out.insert(w);
  }
  return out;
}

// Whether `word` is one of the whole words of `text`.
bool has_word(const std::string& text, const std::string& word) {
  const auto words = tokens(text);
  return std::find(words.begin(), words.end(), word) != words.end();
}

// One suite for the read-back tests (generated once per test process).
const std::filesystem::path& shared_suite() {
  static ScratchDir dir("demo-shared");
  static const bool generated = [] {
    generate_demo_data(dir.path(), TaskRegistry::builtin(), options(7));
    return true;
  }();
  (void)generated;
  return dir.path();
}

TEST_CASE("demo languages and tasks", "[demo]") {
  const auto langs = demo_languages();
  REQUIRE(langs.size() >= 4);
  CHECK(langs.front() == "en");
  CHECK(std::set<std::string>(langs.begin(), langs.end()).size() == langs.size());
  const TaskRegistry registry = TaskRegistry::builtin();
  const auto tasks = demo_tasks();
  for (const char* needed :
       {"mnli", "squad_v1", "hellaswag", "ccg", "xnli", "udpos", "xquad", "tatoeba", "mlm"}) {
    CHECK(std::find(tasks.begin(), tasks.end(), needed) != tasks.end());
  }
  for (const auto& t : tasks) CHECK(registry.contains(t));
}

TEST_CASE("every demo file reads back through the real readers", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  for (const std::string& task : demo_tasks()) {
    const TaskSpec& spec = registry.get(task);
    const auto files = expected_files(spec);
    REQUIRE(!files.empty());
    for (const auto& [split, lang] : files) {
      INFO(task << " " << split << " " << lang);
      const RawSplit raw = read(registry, root, task, split, lang);
      CHECK(raw.type == spec.type);
      CHECK(raw.size() >= 4);
    }
  }
}

TEST_CASE("demo sizes follow the scale", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  // At scale 0.05: 2000 -> 100 training examples, 300 -> 15 dev, 200 -> 10 per target language,
  // 5000 -> 250 MLM lines.
  CHECK(read(registry, root, "mnli", kSplitTrain, "en").size() == 100);
  CHECK(read(registry, root, "mnli", kSplitDev, "en").size() == 15);
  CHECK(read(registry, root, "squad_v1", kSplitTrain, "en").size() == 100);
  CHECK(read(registry, root, "hellaswag", kSplitTrain, "en").size() == 100);
  CHECK(read(registry, root, "ccg", kSplitTrain, "en").size() == 100);
  CHECK(read(registry, root, "udpos", kSplitTrain, "en").size() == 100);
  for (const std::string lang : {"en", "sc"}) {
    CHECK(read(registry, root, "xnli", kSplitTest, lang).size() == 10);
    CHECK(read(registry, root, "xquad", kSplitTest, lang).size() == 10);
    CHECK(read(registry, root, "udpos", kSplitTest, lang).size() == 10);
    CHECK(read(registry, root, "mlm", kSplitTrain, lang).size() == 250);
  }
  CHECK(read(registry, root, "tatoeba", kSplitTest, "sb").size() == 10);
}

TEST_CASE("demo generation is deterministic in its seed", "[demo]") {
  ScratchDir a("demo-a"), b("demo-b"), c("demo-c");
  const TaskRegistry registry = TaskRegistry::builtin();
  generate_demo_data(a.path(), registry, options(11));
  generate_demo_data(b.path(), registry, options(11));
  generate_demo_data(c.path(), registry, options(12));
  const auto ta = tree(a.path()), tb = tree(b.path()), tc = tree(c.path());
  REQUIRE(ta.size() >= 48);  // 9 tasks, their splits and languages, and the stamp
  CHECK(ta == tb);
  // Another seed: the same files, different contents (all but the stamp, whose name differs).
  size_t differing = 0, shared = 0;
  for (const auto& [name, bytes] : ta) {
    auto it = tc.find(name);
    if (it == tc.end()) continue;
    ++shared;
    differing += it->second != bytes;
  }
  CHECK(shared == ta.size() - 1);
  CHECK(differing == shared);
}

TEST_CASE("demo stamp marks a complete suite for its options", "[demo]") {
  ScratchDir dir("demo-stamp");
  const TaskRegistry registry = TaskRegistry::builtin();
  CHECK_FALSE(demo_data_present(dir.path(), options(3)));
  generate_demo_data(dir.path(), registry, options(3));
  CHECK(demo_data_present(dir.path(), options(3)));
  CHECK_FALSE(demo_data_present(dir.path(), options(4)));
  CHECK_FALSE(demo_data_present(dir.path(), options(3, 0.1)));

  SECTION("a failed generation leaves no stamp behind") {
    TaskRegistry broken = registry;
    TaskSpec mnli = broken.get("mnli");
    mnli.format = "cosmosqa_jsonl";
    broken.add(mnli);
    try {
      generate_demo_data(dir.path(), broken, options(3));
      FAIL("expected a ConfigError");
    } catch (const ConfigError& e) {
      CHECK_THAT(e.what(),
                 Catch::Contains("tasks.mnli.format") && Catch::Contains("cosmosqa_jsonl"));
    }
    CHECK_FALSE(demo_data_present(dir.path(), options(3)));
  }
  SECTION("a missing or changed file voids the stamp") {
    const TaskSpec& xnli = registry.get("xnli");
    const auto file = task_split_path(xnli, kSplitTest, "sb", dir.path());
    SECTION("missing") {
      std::filesystem::remove(file);
    }
    SECTION("changed") {
      std::ofstream(file, std::ios::app) << "x\ty\tneutral\n";
    }
    CHECK_FALSE(demo_data_present(dir.path(), options(3)));
  }
  SECTION("a foreign stamp does not count") {
    std::ofstream(dir.path() / ".ordertune-demo-5-0.05") << "something else\n";
    CHECK_FALSE(demo_data_present(dir.path(), options(5)));
  }
  SECTION("a bad scale is a config error") {
    CHECK_THROWS_AS(generate_demo_data(dir.path(), registry, options(3, 0.0)), ConfigError);
  }
}

TEST_CASE("demo NLI labels are balanced and parallel across languages", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  const RawSplit train = read(registry, root, "mnli", kSplitTrain, "en");
  std::map<std::string, int> counts;
  for (const auto& ex : train.classification) ++counts[ex.label];
  REQUIRE(counts.size() == 3);
  for (const auto& [label, n] : counts) {
    INFO(label);
    CHECK(std::find(registry.get("mnli").labels.begin(), registry.get("mnli").labels.end(),
                    label) != registry.get("mnli").labels.end());
    CHECK(n >= 33);
    CHECK(n <= 34);
  }
  // MNLI's test split hides its labels (jiant's -1), as the real one.
  for (const auto& ex : read(registry, root, "mnli", kSplitTest, "en").classification)
    CHECK(ex.label.empty());

  // XNLI's English training file is MNLI's training sample in XTREME's TSV layout.
  const RawSplit xnli_train = read(registry, root, "xnli", kSplitTrain, "en");
  REQUIRE(xnli_train.size() == train.size());
  for (size_t i = 0; i < train.size(); ++i) {
    CHECK(xnli_train.classification[i].text_a == train.classification[i].text_a);
    CHECK(xnli_train.classification[i].label == train.classification[i].label);
  }

  // The evaluation sets are translations: same labels, same anchors, other words.
  const RawSplit en = read(registry, root, "xnli", kSplitDev, "en");
  for (const std::string lang : {"sa", "sb", "sc"}) {
    const RawSplit other = read(registry, root, "xnli", kSplitDev, lang);
    REQUIRE(other.size() == en.size());
    int same_text = 0;
    for (size_t i = 0; i < en.size(); ++i) {
      const auto& e = en.classification[i];
      const auto& o = other.classification[i];
      INFO(lang << ": " << e.text_a << " | " << o.text_a);
      CHECK(o.label == e.label);
      for (const std::string& anchor : anchors(e.text_a)) CHECK(has_word(o.text_a, anchor));
      for (const std::string& anchor : anchors(e.text_b)) CHECK(has_word(o.text_b, anchor));
      same_text += o.text_a == e.text_a;
    }
    // sa and sb share some words with English; a short sentence may come out the same.
    if (lang == "sc") CHECK(same_text == 0);
    CHECK(same_text * 5 <= static_cast<int>(en.size()));
  }
}

TEST_CASE("demo NLI hypotheses follow from their labels", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  // Contradictions negate or change a word of the premise; positive-premise entailments only
  // drop words (or say "Someone"); neutrals of positive premises add a word.
  int checked = 0;
  for (const auto& ex : read(registry, root, "mnli", kSplitTrain, "en").classification) {
    const auto p = tokens(ex.text_a), h = tokens(ex.text_b);
    const std::set<std::string> premise(p.begin(), p.end());
    if (premise.count("not") || premise.count("Someone")) continue;
    INFO(ex.label << ": " << ex.text_a << " => " << ex.text_b);
    int new_words = 0;
    for (const auto& w : h)
      new_words += !premise.count(w) && w != "Someone" && w != "A" && w != "An" && w != "The" &&
                   w != "a" && w != "an";
    if (ex.label == "entailment") CHECK(new_words == 0);
    if (ex.label == "neutral" || ex.label == "contradiction") CHECK(new_words > 0);
    ++checked;
  }
  CHECK(checked > 50);
}

TEST_CASE("demo QA answers are the right spans in every language", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  const RawSplit train = read(registry, root, "squad_v1", kSplitTrain, "en");
  for (const auto& ex : train.qa) {
    REQUIRE(ex.answer_texts.size() == 1);
    CHECK(!ex.answer_texts[0].empty());
    CHECK(ex.question.back() == '?');
  }
  const RawSplit en = read(registry, root, "xquad", kSplitTest, "en");
  bool multibyte_offset = false;
  for (const std::string& lang : demo_languages()) {
    const RawSplit qa = read(registry, root, "xquad", kSplitTest, lang);
    REQUIRE(qa.size() == en.size());
    for (size_t i = 0; i < qa.size(); ++i) {
      const auto& e = en.qa[i];
      const auto& o = qa.qa[i];
      INFO(lang << ": " << o.question << " -> " << o.answer_texts[0]);
      CHECK(o.id == e.id);
      REQUIRE(o.answer_texts.size() == 1);
      // The reader checked answer_start against the context; the answer is the same anchor
      // wherever the English answer is a name, place or number.
      const std::string& answer = e.answer_texts[0];
      const bool anchor = answer.find(' ') == std::string::npos &&
                          ((answer[0] >= '0' && answer[0] <= '9') ||
                           (answer[0] >= 'A' && answer[0] <= 'Z' && answer != "Someone"));
      if (anchor) CHECK(o.answer_texts[0] == answer);
      // A byte offset beyond the character offset: the file's answer_start counts characters.
      const std::string prefix = o.context.substr(0, static_cast<size_t>(o.answer_starts[0]));
      const auto chars = std::count_if(prefix.begin(), prefix.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      });
      multibyte_offset |= static_cast<size_t>(chars) != prefix.size();
    }
  }
  CHECK(multibyte_offset);
}

TEST_CASE("demo HellaSwag endings are 4 with balanced right answers", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  std::map<int, int> counts;
  for (const auto& ex : read(registry, root, "hellaswag", kSplitTrain, "en").multiple_choice) {
    REQUIRE(ex.choices.size() == 4);
    CHECK(std::set<std::string>(ex.choices.begin(), ex.choices.end()).size() == 4);
    ++counts[ex.label];
    // The right ending continues with the context's object: its noun occurs in the context.
    const auto right = tokens(ex.choices[static_cast<size_t>(ex.label)]);
    INFO(ex.prompt << " || " << ex.choices[static_cast<size_t>(ex.label)]);
    CHECK(ex.prompt.find(" " + right.back()) != std::string::npos);
  }
  REQUIRE(counts.size() == 4);
  for (const auto& [label, n] : counts) CHECK(n >= 10);
  for (const auto& ex : read(registry, root, "hellaswag", kSplitTest, "en").multiple_choice)
    CHECK(ex.label == -1);
}

TEST_CASE("demo tagging: CCG supertags and UPOS reordered with the words", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  std::set<std::string> supertags;
  for (const auto& ex : read(registry, root, "ccg", kSplitTrain, "en").tagging) {
    REQUIRE(ex.tags.size() == ex.words.size());
    supertags.insert(ex.tags.begin(), ex.tags.end());
    CHECK(ex.tags.back() == ".");
  }
  for (const char* tag : {"NP", "N", "N/N", "NP[nb]/N", "(S[dcl]\\NP)/NP", "((S\\NP)\\(S\\NP))/NP"})
    CHECK(supertags.count(tag));

  const auto& upos = registry.get("udpos").labels;
  const RawSplit en = read(registry, root, "udpos", kSplitTest, "en");
  const RawSplit sa = read(registry, root, "udpos", kSplitTest, "sa");
  const RawSplit sc = read(registry, root, "udpos", kSplitTest, "sc");
  REQUIRE(en.size() == sc.size());
  int verb_final = 0, declaratives = 0;
  for (size_t i = 0; i < en.size(); ++i) {
    for (const auto* split : {&en, &sa, &sc})
      for (const auto& tag : split->tagging[i].tags)
        CHECK(std::find(upos.begin(), upos.end(), tag) != upos.end());
    // sa keeps English word order, so its tags are English's.
    CHECK(sa.tagging[i].tags == en.tagging[i].tags);
    // sc is verb-final: in a declarative the verb comes last (before a negation particle).
    const auto& tags = sc.tagging[i].tags;
    if (sc.tagging[i].words.back() == ".") {
      ++declaratives;
      const size_t last = tags.size() - 2;
      verb_final += tags[last] == "VERB" || (tags[last] == "PART" && tags[last - 1] == "VERB");
    }
    // The same words up to order: the multiset of content tags is kept (but for "how many",
    // one determiner in sc).
    if (en.tagging[i].words[0] == "How") continue;
    auto content = [](std::vector<std::string> t) {
      t.erase(std::remove_if(t.begin(), t.end(),
                             [](const std::string& x) {
                               return x == "DET" || x == "AUX" || x == "PART" || x == "ADP";
                             }),
              t.end());
      std::sort(t.begin(), t.end());
      return t;
    };
    CHECK(content(sc.tagging[i].tags) == content(en.tagging[i].tags));
  }
  CHECK(declaratives > 0);
  CHECK(verb_final == declaratives);
}

TEST_CASE("demo Tatoeba pairs share anchors and are unique", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  for (const std::string lang : {"sa", "sb", "sc"}) {
    const RawSplit t = read(registry, root, "tatoeba", kSplitTest, lang);
    REQUIRE(t.retrieval.queries.size() == t.retrieval.candidates.size());
    std::set<std::string> english;
    for (size_t i = 0; i < t.retrieval.queries.size(); ++i) {
      const std::string& e = t.retrieval.candidates[i].text;
      english.insert(e);
      if (lang == "sc") CHECK(t.retrieval.queries[i].text != e);
      for (const std::string& anchor : anchors(e))
        CHECK(has_word(t.retrieval.queries[i].text, anchor));
    }
    CHECK(english.size() == t.retrieval.candidates.size());
  }
}

TEST_CASE("demo languages grow further from English: sa, then sb, then sc", "[demo]") {
  const auto& root = shared_suite();
  const TaskRegistry registry = TaskRegistry::builtin();
  auto vocabulary = [&](const std::string& lang) {
    std::set<std::string> words;
    for (const auto& line : read(registry, root, "mlm", kSplitTrain, lang).mlm_lines)
      for (const auto& w : tokens(line))
        if (w[0] >= 'a' && w[0] <= 'z') words.insert(w);  // lower-case: no anchors
    return words;
  };
  const auto en = vocabulary("en");
  auto shared_with_english = [&](const std::string& lang) {
    const auto v = vocabulary(lang);
    size_t shared = 0;
    for (const auto& w : v) shared += en.count(w);
    return static_cast<double>(shared) / static_cast<double>(v.size());
  };
  const double sa = shared_with_english("sa"), sb = shared_with_english("sb"),
               sc = shared_with_english("sc");
  INFO("shared lower-case word types with English: sa " << sa << ", sb " << sb << ", sc " << sc);
  CHECK(sa > 0.2);
  CHECK(sa > sb);
  CHECK(sb > sc);
  CHECK(sb > 0.05);
  CHECK(sc < 0.02);
}

}  // namespace
}  // namespace ordertune

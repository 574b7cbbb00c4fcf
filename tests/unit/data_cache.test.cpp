// Tests of data_cache.h: every feature type round-trips, the atomic replace, and bad caches.
#include <fstream>
#include <set>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/data/h5.h"
#include "test_paths.h"

using namespace ordertune;
using Catch::Matchers::Contains;

namespace {

CachedTask make_task(const std::string& name, TaskType type) {
  CachedTask t;
  t.name = name;
  t.type = type;
  t.format = "jsonl";
  t.metric = Metric::kAccuracy;
  t.labels = {"contradiction", "entailment", "neutral"};
  t.content_hash = "0123456789abcdef";
  return t;
}

SplitFeatures classification_features() {
  SplitFeatures f;
  f.type = TaskType::kClassification;
  f.classification.input_ids.push_row({0, 10, 11, 2, 2, 12, 2});
  f.classification.input_ids.push_row({0, 13, 2});
  f.classification.labels = {2, -1};
  f.classification.ids = {"a", "b\xC3\xA9"};  // UTF-8 survives
  return f;
}

SplitFeatures qa_features() {
  SplitFeatures f;
  f.type = TaskType::kExtractiveQA;
  auto& q = f.qa;
  q.ids = {"q1"};
  q.questions = {"Wer?"};
  q.contexts = {"Zoë wohnt in Köln."};
  q.answer_texts.push_row(std::vector<std::string>{"Köln", "in Köln"});
  q.answer_starts.push_row(std::vector<int64_t>{14, 11});
  q.is_impossible = {0};
  q.input_ids.push_row({0, 5, 2, 2, 6, 7, 2});
  q.token_start.push_row(std::vector<int64_t>{-1, -1, -1, -1, 0, 14, -1});
  q.token_end.push_row(std::vector<int64_t>{-1, -1, -1, -1, 4, 19, -1});
  q.window_example = {0};
  q.start_positions = {5};
  q.end_positions = {5};
  return f;
}

}  // namespace

TEST_CASE("features of every task type round-trip through the cache", "[cache]") {
  testing::ScratchDir dir("cache");
  const auto path = dir / "c.h5";
  SplitFeatures tagging;
  tagging.type = TaskType::kTagging;
  tagging.tagging.input_ids.push_row({0, 20, 21, 22, 2});
  tagging.tagging.word_index.push_row({-1, 0, -1, 1, -1});
  tagging.tagging.word_labels.push_row({3, 4, 5});  // third word cut by truncation
  tagging.tagging.ids = {"s0"};
  SplitFeatures mc;
  mc.type = TaskType::kMultipleChoice;
  mc.multiple_choice.num_choices = 2;
  mc.multiple_choice.input_ids.push_row({0, 1, 2});
  mc.multiple_choice.input_ids.push_row({0, 3, 2});
  mc.multiple_choice.labels = {1};
  mc.multiple_choice.ids = {"m0"};
  SplitFeatures retrieval;
  retrieval.type = TaskType::kRetrieval;
  auto& r = retrieval.retrieval;
  r.query_ids.push_row({0, 9, 2});
  r.query_keys = {"de-1"};
  r.query_languages = {"de"};
  r.candidate_ids.push_row({0, 8, 2});
  r.candidate_ids.push_row({0, 7, 2});
  r.candidate_keys = {"en-1", "en-2"};
  r.candidate_languages = {"en", "en"};
  r.gold_query = {0};
  r.gold_candidate = {1};
  SplitFeatures mlm;
  mlm.type = TaskType::kMLM;
  mlm.mlm.input_ids.push_row({0, 4, 5, 2});

  {
    CacheWriter w(path);
    w.write_header("{\"max_length\":256}", std::string("\x00\x01model", 7), "feedface");
    w.begin_task(make_task("nli", TaskType::kClassification));
    w.write_split("nli", "train", "en", classification_features());
    w.begin_task(make_task("qa", TaskType::kExtractiveQA));
    w.write_split("qa", "test", "de", qa_features());
    CachedTask pos = make_task("pos", TaskType::kTagging);
    pos.labels = {"ADJ", "ADP", "ADV", "DET", "NOUN", "VERB"};
    w.begin_task(pos);
    w.write_split("pos", "dev", "en", tagging);
    CachedTask mc_task = make_task("mc", TaskType::kMultipleChoice);
    mc_task.num_choices = 2;
    w.begin_task(mc_task);
    w.write_split("mc", "train", "en", mc);
    w.begin_task(make_task("ret", TaskType::kRetrieval));
    w.write_split("ret", "test", "de", retrieval);
    w.begin_task(make_task("lm", TaskType::kMLM));
    w.write_split("lm", "train", "en", mlm);
    w.commit();
  }

  CacheReader c(path);
  CHECK(c.settings_json() == "{\"max_length\":256}");
  CHECK(c.tokenizer_hash() == "feedface");
  CHECK(c.tokenizer_model() == std::string("\x00\x01model", 7));
  CHECK(c.task_names() == std::vector<std::string>{"lm", "mc", "nli", "pos", "qa", "ret"});
  const CachedTask nli = c.task("nli");
  CHECK(nli.labels == std::vector<std::string>{"contradiction", "entailment", "neutral"});
  CHECK(nli.languages.at("train") == std::vector<std::string>{"en"});
  CHECK(c.has_split("qa", "test", "de"));
  CHECK_FALSE(c.has_split("qa", "test", "fr"));

  const SplitFeatures cl = c.read_split("nli", "train", "en");
  CHECK(cl.classification.input_ids.values ==
        classification_features().classification.input_ids.values);
  CHECK(cl.classification.input_ids.offsets == std::vector<int64_t>{0, 7, 10});
  CHECK(cl.classification.labels == std::vector<int32_t>{2, -1});
  CHECK(cl.classification.ids[1] == "b\xC3\xA9");

  const SplitFeatures qa = c.read_split("qa", "test", "de");
  CHECK(qa.qa.contexts[0] == "Zoë wohnt in Köln.");
  CHECK(qa.qa.answer_texts.values == std::vector<std::string>{"Köln", "in Köln"});
  CHECK(qa.qa.answer_starts.values == std::vector<int64_t>{14, 11});
  CHECK(qa.qa.token_end.values == qa_features().qa.token_end.values);
  CHECK(qa.qa.start_positions == std::vector<int32_t>{5});

  const SplitFeatures tg = c.read_split("pos", "dev", "en");
  CHECK(tg.tagging.word_index.values == std::vector<int32_t>{-1, 0, -1, 1, -1});
  CHECK(tg.tagging.word_labels.row_size(0) == 3);

  const SplitFeatures m = c.read_split("mc", "train", "en");
  CHECK(m.multiple_choice.num_choices == 2);
  CHECK(m.multiple_choice.input_ids.rows() == 2);

  const SplitFeatures rt = c.read_split("ret", "test", "de");
  CHECK(rt.retrieval.candidate_keys == std::vector<std::string>{"en-1", "en-2"});
  CHECK(rt.retrieval.gold_candidate == std::vector<int64_t>{1});

  CHECK(c.read_split("lm", "train", "en").mlm.input_ids.values == std::vector<int32_t>{0, 4, 5, 2});
  CHECK_THROWS_WITH(c.read_split("qa", "test", "fr"),
                    Contains("expected qa/test/fr in the cache, found none"));
  CHECK_THROWS_WITH(c.task("nope"), Contains("expected task 'nope' in the cache"));
}

TEST_CASE("large arrays are chunked and compressed and still round-trip", "[cache]") {
  testing::ScratchDir dir("cache");
  SplitFeatures f;
  f.type = TaskType::kMLM;
  for (int i = 0; i < 50000; ++i)
    f.mlm.input_ids.push_row({0, i % 1000 + 4, (i * 7) % 1000 + 4, 2});
  {
    CacheWriter w(dir / "c.h5");
    w.write_header("{}", "m", "h");
    w.begin_task(make_task("lm", TaskType::kMLM));
    w.write_split("lm", "train", "en", f);
    w.commit();
  }
  CacheReader c(dir / "c.h5");
  CHECK(c.read_split("lm", "train", "en").mlm.input_ids.values == f.mlm.input_ids.values);
  // 200,000 int32 ids = 800 kB raw; deflate makes the file much smaller.
  CHECK(std::filesystem::file_size(dir / "c.h5") < 600000);
}

TEST_CASE("an uncommitted writer leaves no file and never touches the existing cache", "[cache]") {
  testing::ScratchDir dir("cache");
  const auto path = dir / "c.h5";
  {
    CacheWriter w(path);
    w.write_header("{\"v\":1}", "m", "h1");
    w.commit();
  }
  const auto size_before = std::filesystem::file_size(path);
  {
    CacheWriter w(path);  // e.g. prepare fails half way: the destructor runs without commit
    w.write_header("{\"v\":2}", "m", "h2");
    w.begin_task(make_task("nli", TaskType::kClassification));
  }
  CHECK(std::filesystem::file_size(path) == size_before);
  CHECK(CacheReader(path).settings_json() == "{\"v\":1}");
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    leftovers += e.path() != path;
  CHECK(leftovers == 0);
}

TEST_CASE("copy_task_from reuses a task of an older cache unchanged", "[cache]") {
  testing::ScratchDir dir("cache");
  {
    CacheWriter w(dir / "old.h5");
    w.write_header("{}", "m", "h");
    w.begin_task(make_task("nli", TaskType::kClassification));
    w.write_split("nli", "train", "en", classification_features());
    w.commit();
  }
  {
    CacheWriter w(dir / "new.h5");
    w.write_header("{}", "m", "h");
    w.copy_task_from(dir / "old.h5", "nli");
    w.commit();
  }
  CacheReader c(dir / "new.h5");
  CHECK(c.task("nli").content_hash == "0123456789abcdef");
  CHECK(c.read_split("nli", "train", "en").classification.labels == std::vector<int32_t>{2, -1});
}

TEST_CASE("values that point outside what they index are refused when a split loads", "[cache]") {
  // Flipped label bytes once gave wrong scores with exit 0 and flipped token ids a LibTorch trace.
  testing::ScratchDir dir("cache");
  const auto path = dir / "bad.h5";
  SplitFeatures label = classification_features();
  label.classification.labels = {2, 3};  // 3 labels: 0..2
  SplitFeatures id = classification_features();
  id.classification.input_ids.values[5] = 100;  // vocab_size 100: ids 0..99
  SplitFeatures negative_id = classification_features();
  negative_id.classification.input_ids.values[1] = -7;
  SplitFeatures word = SplitFeatures();
  word.type = TaskType::kTagging;
  word.tagging.input_ids.push_row({0, 20, 21, 2});
  word.tagging.word_index.push_row({-1, 0, 2, -1});  // 2 words: word 2 does not exist
  word.tagging.word_labels.push_row({1, 0});
  word.tagging.ids = {"s0"};
  SplitFeatures tag = word;
  tag.tagging.word_index = Ragged<int32_t>();
  tag.tagging.word_index.push_row({-1, 0, 1, -1});
  tag.tagging.word_labels = Ragged<int32_t>();
  tag.tagging.word_labels.push_row({1, 9});
  SplitFeatures span = qa_features();
  span.qa.end_positions = {7};  // the window has 7 tokens: 0..6
  SplitFeatures gold;
  gold.type = TaskType::kRetrieval;
  gold.retrieval.query_ids.push_row({0, 9, 2});
  gold.retrieval.query_keys = {"q"};
  gold.retrieval.query_languages = {"de"};
  gold.retrieval.candidate_ids.push_row({0, 8, 2});
  gold.retrieval.candidate_keys = {"c"};
  gold.retrieval.candidate_languages = {"en"};
  gold.retrieval.gold_query = {0};
  gold.retrieval.gold_candidate = {1};  // one candidate: 0
  {
    CacheWriter w(path);
    w.write_header("{\"vocab_size\":100}", "model", "hash");
    w.begin_task(make_task("nli", TaskType::kClassification));
    w.write_split("nli", "train", "en", classification_features());
    w.write_split("nli", "dev", "en", label);
    w.write_split("nli", "dev", "de", id);
    w.write_split("nli", "dev", "fr", negative_id);
    w.begin_task(make_task("pos", TaskType::kTagging));
    w.write_split("pos", "dev", "en", word);
    w.write_split("pos", "dev", "de", tag);
    w.begin_task(make_task("qa", TaskType::kExtractiveQA));
    w.write_split("qa", "dev", "en", span);
    w.begin_task(make_task("ret", TaskType::kRetrieval));
    w.write_split("ret", "test", "de", gold);
    w.commit();
  }
  const CacheReader c(path);
  CHECK(c.read_split("nli", "train", "en").classification.labels.size() == 2);  // sound: loads
  const auto message = [&](const char* task, const char* split, const char* lang) {
    try {
      c.read_split(task, split, lang);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("(loaded)");
  };
  const std::string where = path.string() + ":/tasks/";
  const std::string rerun =
      " (the cache is damaged or was written by another program: re-run prepare with --force)";
  CHECK(message("nli", "dev", "en") ==
        where + "nli/dev/en/labels: expected -1..2 (the task has 3 labels), found 3 at element 1" +
            rerun);
  CHECK(message("nli", "dev", "de") ==
        where + "nli/dev/de/input_ids: expected a token id in 0..99, found 100 at element 5" +
            rerun);
  CHECK(message("nli", "dev", "fr") ==
        where + "nli/dev/fr/input_ids: expected a token id in 0..99, found -7 at element 1" +
            rerun);
  CHECK(message("pos", "dev", "en") ==
        where + "pos/dev/en/word_index: expected -1 or a word of sentence 0, found 2 at element 2" +
            rerun);
  CHECK(message("pos", "dev", "de") ==
        where +
            "pos/dev/de/word_labels: expected -1..2 (the task has 3 labels), found 9 at element 1" +
            rerun);
  CHECK_THAT(
      message("qa", "dev", "en"),
      Contains("qa/dev/en/end_positions: expected a token of window 0 (7 tokens), found 7 at "
               "element 0"));
  CHECK_THAT(
      message("ret", "test", "de"),
      Contains("ret/test/de/gold_candidate: expected a candidate index, found 1 at element 0"));
}

TEST_CASE("a cache prepared with other settings is refused, naming the setting", "[cache]") {
  testing::ScratchDir dir("cache");
  SweepConfig config = parse_config("[targets]\ntasks = [\"xnli\"]\n", "sweep.toml");
  config.data.cache = (dir / "c.h5").string();
  const auto write = [&](const DataConfig& data, const std::vector<std::string>& xnli_labels) {
    CacheWriter w(config.cache_path());
    w.write_header(featurizer_settings_json(data), "model", "hash");
    for (const std::string& name : config.tasks_used()) {
      const TaskSpec& spec = config.registry.get(name);
      CachedTask t = make_task(name, spec.type);
      t.metric = spec.metric;
      t.labels = name == "xnli" ? xnli_labels : spec.labels;
      t.num_choices = spec.num_choices;
      t.train_task = spec.train_task;
      w.begin_task(t);
    }
    w.commit();
  };
  const std::vector<std::string> labels = config.registry.get("xnli").labels;
  write(config.data, labels);
  CHECK_NOTHROW(check_cache_matches(CacheReader(config.cache_path()), config));

  DataConfig longer = config.data;
  longer.max_length = 64;
  write(longer, labels);
  CHECK_THROWS_WITH(check_cache_matches(CacheReader(config.cache_path()), config),
                    config.cache_path().string() +
                        ": prepared with data.max_length = 64, but sweep.toml has " +
                        std::to_string(config.data.max_length) +
                        " (run `ordertune prepare --config sweep.toml` to re-tokenize)");
  DataConfig capped = config.data;
  capped.max_examples = 10;
  write(capped, labels);
  CHECK_THROWS_WITH(check_cache_matches(CacheReader(config.cache_path()), config),
                    Contains("prepared with data.max_examples = 10, but sweep.toml has 0"));

  write(config.data, {"entailment", "neutral"});
  CHECK_THROWS_WITH(check_cache_matches(CacheReader(config.cache_path()), config),
                    Contains("task 'xnli' was prepared with labels [\"entailment\",\"neutral\"], "
                             "but sweep.toml has ["));
}

TEST_CASE("opening something that is not a cache fails with one line", "[cache]") {
  testing::ScratchDir dir("cache");
  CHECK_THROWS_WITH(CacheReader(dir / "missing.h5"),
                    Contains("missing.h5: expected a data cache, found no such file"));
  std::ofstream(dir / "text.h5") << "not hdf5";
  CHECK_THROWS_WITH(CacheReader(dir / "text.h5"),
                    Contains("text.h5: expected an HDF5 data cache, found another kind of file"));
  {
    h5::File f = h5::File::create(dir / "other.h5");
    f.root().set_attr("something", std::string("else"));
  }
  CHECK_THROWS_WITH(
      CacheReader(dir / "other.h5"),
      Contains("expected an ordertune data cache, found an HDF5 file without its layout"));
  {
    h5::File f = h5::File::create(dir / "v0.h5");
    f.root().set_attr("format_version", static_cast<int64_t>(0));
    f.root().create_group("tasks");
  }
  CHECK_THROWS_WITH(CacheReader(dir / "v0.h5"),
                    Contains("expected cache format version 1, found 0"));
}

// ---- the scoring rule --------------------------------------------------------------------------

namespace {

// Labels as a set of "split/language" strings.
LabelledFn labels_in(std::set<std::string> labelled) {
  return [labelled](const std::string& split, const std::string& language) {
    return labelled.count(split + "/" + language) != 0;
  };
}

}  // namespace

TEST_CASE("a target is scored on test where every language has test labels, else on dev",
          "[cache]") {
  const SweepConfig c =
      parse_config("[targets]\ntasks = [\"xnli\", \"udpos\", \"xquad\"]\n", "s.toml");
  const std::vector<std::string> langs = {"de", "en", "fr"};
  SECTION("test everywhere: test") {
    const auto l = labels_in({"test/de", "test/en", "test/fr", "dev/de", "dev/en", "dev/fr"});
    for (const std::string& lang : langs) CHECK(scoring_split(c, "xnli", langs, l, lang) == "test");
    CHECK(unscorable_languages(c, "xnli", langs, l).empty());
  }
  SECTION("one language without test labels: every language on dev, never a mix") {
    const auto l = labels_in({"test/de", "test/en", "dev/de", "dev/en", "dev/fr"});
    for (const std::string& lang : langs) CHECK(scoring_split(c, "xnli", langs, l, lang) == "dev");
  }
  SECTION("no test labels and no dev for one language: that language cannot be scored") {
    const auto l = labels_in({"dev/de", "dev/en"});
    CHECK(scoring_split(c, "udpos", langs, l, "de") == "dev");
    CHECK(scoring_split(c, "udpos", langs, l, "fr") == "");
    CHECK(unscorable_languages(c, "udpos", langs, l) == std::vector<std::string>{"fr"});
    const std::string m = unscorable_message(c, "udpos", langs, {"fr"}, "cache.h5");
    CHECK_THAT(m, Contains("cache.h5: target udpos has no labelled split for fr"));
    CHECK_THAT(m, Contains("[targets.udpos] unscored = [\"fr\"]"));
    CHECK(m.find('\n') == std::string::npos);
  }
  SECTION("nothing labelled: the message names the gold release and score = \"none\"") {
    const auto l = labels_in({});
    CHECK(unscorable_languages(c, "xquad", langs, l) == langs);
    const std::string m = unscorable_message(c, "xquad", langs, langs, "cache.h5");
    CHECK_THAT(m, Contains("no labelled split for de, en, fr"));
    CHECK_THAT(m,
               Contains("[targets.xquad] gold = \"DIR\", DIR holding github.com/deepmind/xquad"));
    CHECK_THAT(m, Contains("[targets.xquad] score = \"none\""));
  }
}

TEST_CASE("unscored languages and score = \"none\" are left out knowingly", "[cache]") {
  const SweepConfig c = parse_config(R"(
[targets]
tasks = ["udpos", "xquad"]
[targets.udpos]
unscored = ["kk", "th"]
[targets.xquad]
score = "none"
)",
                                     "s.toml");
  const std::vector<std::string> langs = {"de", "kk", "th"};
  // Test labels in de only, dev in de only: the unscored languages do not pull de down to dev.
  const auto l = labels_in({"test/de", "dev/de"});
  CHECK(scoring_split(c, "udpos", langs, l, "de") == "test");
  CHECK(scoring_split(c, "udpos", langs, l, "kk") == "");
  CHECK(unscorable_languages(c, "udpos", langs, l).empty());
  // score = "none": nothing is scored, nothing refused.
  CHECK(scoring_split(c, "xquad", langs, l, "de") == "");
  CHECK(unscorable_languages(c, "xquad", langs, labels_in({})).empty());
}

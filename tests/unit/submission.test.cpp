// Tests of submission.h: the XTREME submission-format readers, `ordertune score`'s run_score,
// and whole-folder scoring against the official numbers.
//
// Independent reference: google-research/xtreme evaluate_test.py (commit da430dd) lists the
// scores the official evaluate.py gives on mock_test_data/, which tests/fixtures/xtreme-mock
// copies (commit 838c13b). They are the per-task averages over the version's languages, and we
// compare them exactly: the operations run in the order of the Python expressions, so they
// agree to the last bit. Hand-made inputs are written to scratch folders by the test that uses
// them, so each test shows its own input.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/scoring/submission.h"
#include "test_paths.h"

namespace fs = std::filesystem;
using namespace ordertune;
using ordertune::testing::ScratchDir;

namespace {

fs::path mock() {
  return ordertune::testing::fixtures() / "xtreme-mock";
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// The message of the Error `fn` throws, checked to be one line.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(message.find('\n') == std::string::npos);
    return message;
  }
  FAIL("expected an ordertune::Error");
  return "";
}

ScoreOptions options(const std::string& task, const std::string& lang, const fs::path& pred,
                     const fs::path& labels) {
  ScoreOptions o;
  o.task = task;
  o.lang = lang;
  o.predictions = pred.string();
  o.labels = labels.string();
  return o;
}

ScoreOptions mock_options(const std::string& task, const std::string& lang) {
  const std::string file = "test-" + lang + "." + scored_task(task).suffix;
  return options(task, lang, mock() / "predictions" / task / file, mock() / "labels" / task / file);
}

// Bit for bit: every operation runs in the order of the Python expression it mirrors.
bool exactly(double got, double expected) {
  return got == expected;
}

void check_averages(const std::string& task, const MetricSet& got,
                    const std::vector<std::pair<std::string, double>>& expected) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO(task << " avg_" << expected[i].first << ": got " << got[i].value << " expected "
              << expected[i].second);
    CHECK(got[i].name == expected[i].first);
    CHECK(exactly(got[i].value, expected[i].second));
  }
}

}  // namespace

TEST_CASE("xtreme-mock scores equal the official evaluate_test.py numbers (XTREME)", "[score]") {
  // TASK2AVG_SCORES of evaluate_test.py at da430dd, in evaluate.py's metric order.
  const std::map<std::string, std::vector<std::pair<std::string, double>>> expected = {
      {"pawsx", {{"accuracy", 51.42857142857143}}},
      {"xnli", {{"accuracy", 30.666666666666668}}},
      {"panx",
       {{"f1", 57.50793650793652},
        {"precision", 54.729166666666664},
        {"recall", 62.750000000000014}}},
      {"udpos",
       {{"f1", 70.21746048354693},
        {"precision", 71.02232625883823},
        {"recall", 69.54982073976082}}},
      {"bucc2018", {{"f1", 55.0}, {"precision", 55.0}, {"recall", 55.0}}},
      {"tatoeba", {{"accuracy", 53.611111111111114}}},
      {"xquad", {{"exact_match", 77.27272727272727}, {"f1", 79.9586776859504}}},
      {"mlqa", {{"exact_match", 57.142857142857146}, {"f1", 81.76870748299321}}},
      {"tydiqa", {{"exact_match", 88.88888888888889}, {"f1", 97.22222222222223}}},
  };
  const SubmissionScores s = score_submission((mock() / "predictions").string(),
                                              (mock() / "labels").string(), XtremeVersion::kXtreme);
  REQUIRE(s.tasks.size() == expected.size());
  std::vector<double> task_scores;
  for (const TaskScores& t : s.tasks) {
    REQUIRE(expected.count(t.task) == 1);
    check_averages(t.task, t.averaged, expected.at(t.task));
    CHECK(t.langs == scored_task(t.task).xtreme_langs);
    task_scores.push_back(t.score);
  }
  // avg_metric: QA (EM + F1) / 2, else F1, else accuracy.
  CHECK(s.tasks[6].task == "xquad");
  CHECK(exactly(s.tasks[6].score, (77.27272727272727 + 79.9586776859504) / 2));
  CHECK(exactly(s.tasks[2].score, 57.50793650793652));
  // Every XTREME task is present: all groups and the overall score exist.
  REQUIRE(s.has_overall);
  CHECK(exactly(s.overall, mean_score(task_scores)));
  REQUIRE(s.groups.size() == 4);
  CHECK(s.groups[2].first == "qa");
  CHECK(exactly(s.groups[2].second, (s.tasks[6].score + s.tasks[7].score + s.tasks[8].score) / 3));
}

TEST_CASE("xtreme-mock scores equal the official evaluate_test.py numbers (XTREME-R)", "[score]") {
  // XTREME_R_TASK2AVG_SCORES of evaluate_test.py at da430dd (the tasks it checks: the mock
  // data lacks XTREME-R's added languages for the others).
  const std::map<std::string, std::vector<std::pair<std::string, double>>> expected = {
      {"xnli", {{"accuracy", 30.666666666666668}}},
      {"mewslix", {{"map@20", 14.39025156130419}}},
      {"mlqa", {{"exact_match", 57.142857142857146}, {"f1", 81.76870748299321}}},
      {"tydiqa", {{"exact_match", 88.88888888888889}, {"f1", 97.22222222222223}}},
  };
  for (const auto& [task, metrics] : expected) {
    std::vector<MetricSet> per_language;
    for (const auto& lang : scored_task(task).langs(XtremeVersion::kXtremeR))
      per_language.push_back(score_files(mock_options(task, lang)).metrics);
    check_averages(task, average_over_languages(per_language), metrics);
  }
}

TEST_CASE("the seqeval >= 1.0 type rule changes UD-POS, not PAN-X", "[score]") {
  const auto with = [](SeqevalTypeRule rule) {
    return score_submission((mock() / "predictions").string(), (mock() / "labels").string(),
                            XtremeVersion::kXtreme, rule);
  };
  const SubmissionScores old_rule = with(SeqevalTypeRule::kAfterLastDash);
  const SubmissionScores new_rule = with(SeqevalTypeRule::kAfterPrefix);
  CHECK(old_rule.tasks[2].task == "panx");
  CHECK(new_rule.tasks[2].averaged[0].value == old_rule.tasks[2].averaged[0].value);
  CHECK(old_rule.tasks[3].task == "udpos");
  // CCONJ and SCONJ share the type "CONJ" under the new rule, so confusions between them count
  // as correct and the F1 rises.
  CHECK(new_rule.tasks[3].averaged[0].value > old_rule.tasks[3].averaged[0].value);
}

TEST_CASE("every xtreme-mock file pair scores within [0, 100] and 100 against itself", "[score]") {
  int pairs = 0;
  for (const ScoredTask& task : scored_tasks()) {
    const fs::path label_dir = mock() / "labels" / task.name;
    if (!fs::is_directory(label_dir)) continue;
    for (const auto& entry : fs::directory_iterator(label_dir)) {
      const std::string file = entry.path().filename().string();  // test-<lang>.<suffix>
      const std::string lang = file.substr(5, file.find('.') - 5);
      INFO(task.name << " " << lang);
      const LanguageScore score = score_files(mock_options(task.name, lang));
      ++pairs;
      CHECK(score.examples > 0);
      for (const MetricValue& m : score.metrics) {
        CHECK(m.value >= 0.0);
        CHECK(m.value <= 100.0);
      }
      // The labels scored against themselves are perfect. QA labels are a dataset, not
      // predictions: answer every question with its first gold answer instead.
      ScoreOptions self = mock_options(task.name, lang);
      ScratchDir scratch("score-self");
      if (task.kind == ScoreKind::kSquad || task.kind == ScoreKind::kMlqa) {
        nlohmann::json answers = nlohmann::json::object();
        for (const QaQuestion& q : read_qa_labels(self.labels)) answers[q.id] = q.answers[0];
        self.predictions = (scratch / "self.json").string();
        write(self.predictions, answers.dump());
      } else {
        self.predictions = self.labels;
      }
      for (const MetricValue& m : score_files(self).metrics) {
        INFO(m.name);
        CHECK(m.value == 100.0);
      }
    }
  }
  CHECK(pairs == 4 + 11 + 7 + 40 + 7 + 36 + 9 + 33 + 15 + 11);
}

TEST_CASE("run_score prints one JSON line with evaluate.py's keys", "[score]") {
  const auto line_of = [](const ScoreOptions& o) {
    std::ostringstream out;
    CHECK(run_score(o, out) == kExitOk);
    const std::string text = out.str();
    REQUIRE(!text.empty());
    CHECK(text.back() == '\n');
    CHECK(text.find('\n') == text.size() - 1);
    return nlohmann::ordered_json::parse(text);
  };
  const auto keys = [](const nlohmann::ordered_json& j) {
    std::vector<std::string> k;
    for (const auto& [key, value] : j.items()) k.push_back(key);
    return k;
  };
  using Keys = std::vector<std::string>;
  CHECK(keys(line_of(mock_options("panx", "de"))) ==
        Keys{"task", "lang", "f1", "precision", "recall"});
  CHECK(keys(line_of(mock_options("xnli", "ar"))) == Keys{"task", "lang", "accuracy"});
  CHECK(keys(line_of(mock_options("bucc2018", "fr"))) ==
        Keys{"task", "lang", "f1", "precision", "recall"});
  CHECK(keys(line_of(mock_options("mewslix", "en"))) == Keys{"task", "lang", "map@20"});
  const auto mlqa = line_of(mock_options("mlqa", "zh"));
  CHECK(keys(mlqa) == Keys{"task", "lang", "exact_match", "f1"});
  CHECK(mlqa["task"] == "mlqa");
  CHECK(mlqa["lang"] == "zh");
  // The value printed is the value computed, to the last bit (shortest round-trip form).
  CHECK(mlqa["f1"].get<double>() ==
        metric_value(score_files(mock_options("mlqa", "zh")).metrics, "f1"));
}

TEST_CASE("MLQA and SQuAD rules score the same Chinese answers differently", "[score]") {
  // tests/data/score/*/mlqa/test-zh.json: q1 gold "北京大学", predicted "北京"; q2 gold "上海",
  // predicted "上海。".
  const fs::path root = ordertune::testing::test_data() / "score";
  const fs::path pred = root / "predictions" / "mlqa" / "test-zh.json";
  const fs::path gold = root / "labels" / "mlqa" / "test-zh.json";
  // MLQA (zh): q1 tokens [北 京] vs [北 京 大 学]: p = 1, r = 1/2, F1 = 2/3, EM 0; q2: "。" is
  // Unicode punctuation and goes, [上 海] = [上 海]: EM 1, F1 1.
  const auto m = score_files(options("mlqa", "zh", pred, gold)).metrics;
  const double f1_q1 = (2 * 1.0 * 0.5) / (1.0 + 0.5);
  CHECK(metric_value(m, "exact_match") == 100.0 * 1 / 2);
  CHECK(metric_value(m, "f1") == 100.0 * (f1_q1 + 1.0) / 2);
  // SQuAD (as evaluate.py scores XQuAD zh): each answer is one whitespace token and "。" is not
  // ASCII punctuation, so neither answer overlaps its gold one: 0 and 0.
  const auto s = score_files(options("xquad", "zh", pred, gold)).metrics;
  CHECK(metric_value(s, "exact_match") == 0.0);
  CHECK(metric_value(s, "f1") == 0.0);
}

TEST_CASE("readers follow evaluate.py's reading rules", "[score]") {
  ScratchDir dir("score-read");
  SECTION("read_label: universal newlines, Unicode strip, blank lines are examples") {
    write(dir / "a.tsv", "x\r\ny \u00a0\rz\n\n  w\t");
    CHECK(read_label_lines((dir / "a.tsv").string()) ==
          std::vector<std::string>{"x", "y", "z", "", "w"});
    write(dir / "b.tsv", "");
    CHECK(read_label_lines((dir / "b.tsv").string()).empty());
  }
  SECTION("read_tag: blank lines end sentences, two make an empty one, no final blank needed") {
    write(dir / "t.tsv", "B-PER\nI-PER\n\nO\n\n\nB-LOC \r\nO");
    const TagFile t = read_tag_file((dir / "t.tsv").string());
    using S = std::vector<std::vector<std::string>>;
    CHECK(t.sentences == S{{"B-PER", "I-PER"}, {"O"}, {}, {"B-LOC", "O"}});
    CHECK(t.first_lines == std::vector<int64_t>{1, 4, 6, 7});
  }
  SECTION("QA labels with or without the 'data' wrapper") {
    const std::string articles =
        R"([{"paragraphs": [{"context": "c", "qas": [{"id": "q", "question": "?",)"
        R"( "answers": [{"text": "A"}, {"text": "B"}]}]}]}])";
    write(dir / "wrapped.json", R"({"data": )" + articles + "}");
    write(dir / "bare.json", articles);
    for (const char* name : {"wrapped.json", "bare.json"}) {
      const auto q = read_qa_labels((dir / name).string());
      REQUIRE(q.size() == 1);
      CHECK(q[0].id == "q");
      CHECK(q[0].answers == std::vector<std::string>{"A", "B"});
    }
  }
  SECTION("Mewsli-X: a repeated id keeps its first place and its last value") {
    write(dir / "g.json", R"({"b": ["Q2"], "a": ["Q1", "Q9"], "b": ["Q3"]})");
    const auto gold = read_mewslix_labels((dir / "g.json").string());
    CHECK(gold == std::vector<std::pair<std::string, std::string>>{{"b", "Q3"}, {"a", "Q1"}});
    // A non-string entry keeps its rank: Q1 is still at rank 2.
    write(dir / "p.json", R"({"a": [7, "Q1"]})");
    const auto pred = read_mewslix_predictions((dir / "p.json").string());
    CHECK(metric_value(map_at_k_metrics({{"a", "Q1"}}, pred), "map@20") == 0.5 * 100);
  }
  SECTION("XCOPA labels compare as Python values") {
    write(dir / "x.jsonl",
          "{\"label\": 1}\n{\"label\": 1.0}\n{\"label\": true}\n{\"label\": \"1\"}\n");
    const auto labels = read_xcopa_labels((dir / "x.jsonl").string());
    REQUIRE(labels.size() == 4);
    CHECK(labels[0] == labels[1]);  // 1 == 1.0
    CHECK(labels[0] == labels[2]);  // 1 == True
    CHECK(labels[0] != labels[3]);  // 1 != "1"
  }
  SECTION("BUCC: a blank line is a (wrong) pair too") {
    // Gold 2 pairs; predicted the same 2 plus "" -> 3 distinct, 2 correct: p = 2/3, r = 1.
    write(dir / "gold.tsv", "a\tb\nc\td\n");
    write(dir / "pred.tsv", "a\tb\nc\td\n\n");
    const auto m =
        score_files(options("bucc2018", "de", dir / "pred.tsv", dir / "gold.tsv")).metrics;
    CHECK(metric_value(m, "precision") == 2.0 / 3 * 100);
    CHECK(metric_value(m, "recall") == 100.0);
  }
}

TEST_CASE("bad input ends with one line naming the file", "[score]") {
  ScratchDir dir("score-bad");
  const std::string pred = (dir / "pred.tsv").string();
  const std::string gold = (dir / "gold.tsv").string();

  SECTION("line counts differ") {
    write(gold, "a\nb\nc\n");
    write(pred, "a\nb\n");
    CHECK(error_of([&] { score_files(options("xnli", "en", pred, gold)); }) ==
          pred + ": expected 3 lines as in " + gold + ", found 2");
  }
  SECTION("sentence counts and sentence lengths differ") {
    write(gold, "O\nO\n\nB-PER\nO\n");
    write(pred, "O\nO\n");
    CHECK(error_of([&] { score_files(options("panx", "en", pred, gold)); }) ==
          pred + ": expected 2 sentences as in " + gold + ", found 1");
    write(pred, "O\nO\n\nB-PER\n");
    CHECK(error_of([&] { score_files(options("panx", "en", pred, gold)); }) ==
          pred + ":4: expected 2 tags in sentence 2 as in " + gold + ":4, found 1");
  }
  SECTION("malformed JSON") {
    const std::string p = (dir / "pred.json").string();
    const std::string g = (mock() / "labels" / "xquad" / "test-en.json").string();
    write(p, "{\n  \"q1\": \"a\",\n  \"q2\" \"b\"\n}\n");
    CHECK(error_of([&] { score_files(options("xquad", "en", p, g)); }) ==
          p + ":3: expected valid JSON, found a syntax error at byte 25");
    write(p, R"({"q1": 3})");
    CHECK(error_of([&] { score_files(options("xquad", "en", p, g)); }) ==
          p + ": expected an answer text for question 'q1', found number 3");
  }
  SECTION("malformed XCOPA line") {
    write(gold, "{\"label\": 0}\n");
    write(pred, "{\"label\": 0\n");
    CHECK(error_of([&] { score_files(options("xcopa", "et", pred, gold)); }) ==
          pred + ":1: expected a JSON object, found malformed JSON '{\"label\": 0'");
  }
  SECTION("unknown task and unknown language") {
    const std::string message = error_of([&] { score_files(options("xner", "en", pred, gold)); });
    CHECK(message ==
          "--task: expected one of pawsx, xnli, panx, udpos, bucc2018, tatoeba, xquad, mlqa, "
          "tydiqa, xcopa, mewslix, found 'xner'");
    CHECK_THROWS_AS(score_files(options("xner", "en", pred, gold)), ConfigError);
    CHECK(error_of([&] { score_files(options("mlqa", "fr", pred, gold)); }) ==
          "--lang: expected a language of task 'mlqa' (en,es,de,ar,hi,vi,zh), found 'fr'");
  }
  SECTION("missing file") {
    write(gold, "a\n");
    CHECK(error_of([&] { score_files(options("xnli", "en", pred, gold)); }) ==
          pred + ": expected a readable file, found no such file");
    CHECK_THROWS_AS(score_files(options("xnli", "en", pred, gold)), DataError);
    // A whole-folder run needs every language of a present task, as evaluate.py does.
    write(dir / "p" / "xnli" / "test-ar.tsv", "a\n");
    write(dir / "g" / "xnli" / "test-ar.tsv", "a\n");
    CHECK(error_of([&] {
            score_submission((dir / "p").string(), (dir / "g").string(), XtremeVersion::kXtreme);
          }) == (dir / "p" / "xnli" / "test-bg.tsv").string() +
                    ": expected a readable file, found no such file");
  }
  SECTION("invalid UTF-8 and empty files") {
    write(gold, "a\n");
    write(pred, "ok\n\xff\n");
    CHECK(error_of([&] { score_files(options("xnli", "en", pred, gold)); }) ==
          pred + ":2: expected UTF-8 text, found invalid byte 0xff");
    write(gold, "");
    write(pred, "");
    CHECK(error_of([&] { score_files(options("xnli", "en", pred, gold)); }) ==
          gold + ": expected at least one line, found none");
  }
}

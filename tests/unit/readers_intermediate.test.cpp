// Tests of the English intermediate-task readers and registry entries (readers_intermediate.cpp).
//
// Samples: tests/fixtures/jiant-samples/mnli (MNLI as jiant writes it),
// tests/data/intermediate/ (a data.root: jiant/<task>/ as jiant leaves OUT/data, mlm/) and
// tests/data/intermediate/malformed/. Every expected value below was read off those files.
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "ordertune/base/error.h"
#include "ordertune/config/task_registry.h"
#include "ordertune/data/task_reader.h"
#include "test_paths.h"

namespace {

using namespace ordertune;
namespace fs = std::filesystem;

const TaskRegistry& registry() {
  static const TaskRegistry r = [] {
    TaskRegistry out;
    register_intermediate_tasks(out);
    return out;
  }();
  return r;
}

// data.root of the samples: like jiant's OUT/data folder, one folder per task.
fs::path sample_root() {
  return testing::test_data() / "intermediate";
}
fs::path malformed(const std::string& name) {
  return testing::test_data() / "intermediate" / "malformed" / name;
}
fs::path mnli_fixture(const std::string& name) {
  return testing::fixtures() / "jiant-samples" / "mnli" / name;
}

RawSplit read(const std::string& task, const std::string& split, const fs::path& path,
              int64_t max_examples = 0) {
  ReadRequest request;
  request.path = path;
  request.split = split;
  request.language = "en";
  request.max_examples = max_examples;
  return read_task_split(registry().get(task), request);
}

// Reads a split where the registry says it lives, with the samples as data.root.
RawSplit read_layout(const std::string& task, const std::string& split) {
  return read(task, split, task_split_path(registry().get(task), split, "en", sample_root()));
}

std::string regex_escape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

// The whole message must be ONE line "…/FILE:LINE: expected EXPECTED…, found FOUND…": std::regex
// '.' does not match '\n', so the full match below also rejects multi-line messages.
std::string one_line(const std::string& file, int line, const std::string& expected,
                     const std::string& found) {
  return ".*/" + regex_escape(file) + ":" + std::to_string(line) + ": expected " +
         regex_escape(expected) + ".*, found " + regex_escape(found) + ".*";
}

}  // namespace

// A DataError whose message matches the regex.
#define REQUIRE_DATA_ERROR(expr, regex)               \
  do {                                                \
    REQUIRE_THROWS_AS(expr, ::ordertune::DataError);  \
    REQUIRE_THROWS_WITH(expr, Catch::Matches(regex)); \
  } while (0)

TEST_CASE("intermediate registry: jiant layouts, labels and splits", "[reader]") {
  const TaskRegistry& reg = registry();
  const std::vector<std::string> expected = {"anli",      "anli_r1",       "anli_r2",  "anli_r3",
                                             "ccg",       "commonsenseqa", "cosmosqa", "hellaswag",
                                             "mlm",       "mnli",          "qqp",      "snli",
                                             "socialiqa", "squad_v1",      "squad_v2"};
  CHECK(reg.names() == expected);

  SECTION("every entry is English, has a known reader and canonical split names") {
    for (const std::string& name : reg.names()) {
      const TaskSpec& spec = reg.get(name);
      INFO(name);
      CHECK(spec.name == name);
      CHECK(reader_formats().count(spec.format) == 1);
      CHECK(!spec.description.empty());
      CHECK(spec.builtin);
      REQUIRE(spec.paths.count(kSplitTrain) == 1);
      REQUIRE(spec.paths.count(kSplitDev) == 1);
      for (const auto& [split, path] : spec.paths) {
        CHECK((split == kSplitTrain || split == kSplitDev || split == kSplitTest));
        CHECK(spec.languages.at(split) == std::vector<std::string>{"en"});
      }
    }
  }
  SECTION("jiant's data/<task>/{train,val,test}.jsonl, val read as dev") {
    const TaskSpec& mnli = reg.get("mnli");
    CHECK(mnli.type == TaskType::kClassification);
    CHECK(mnli.format == "jiant_pair_jsonl");
    CHECK(mnli.metric == Metric::kAccuracy);
    CHECK(mnli.paths.at("train") == "jiant/mnli/train.jsonl");
    CHECK(mnli.paths.at("dev") == "jiant/mnli/val.jsonl");
    CHECK(mnli.paths.at("test") == "jiant/mnli/test.jsonl");
    // jiant's MnliTask.LABELS order (tasks/lib/mnli.py).
    CHECK(mnli.labels == std::vector<std::string>{"contradiction", "entailment", "neutral"});
    CHECK(reg.get("qqp").labels == std::vector<std::string>{"0", "1"});
    CHECK(reg.get("snli").labels == mnli.labels);
    CHECK(reg.get("anli_r2").paths.at("dev") == "jiant/adversarial_nli_r2/val.jsonl");
    CHECK(reg.get("anli_r2").labels == std::vector<std::string>{"c", "e", "n"});
    CHECK(reg.get("anli").paths.at("train") == "jiant/adversarial_nli_r{round}/train.jsonl");
    CHECK(reg.get("anli").options.at("rounds") == "1,2,3");
    CHECK_THAT(reg.get("anli").description, Catch::Contains("mixture"));
    CHECK(reg.get("hellaswag").paths.at("test") == "jiant/hellaswag/test.jsonl");
  }
  SECTION("multiple choice, tagging, QA and MLM entries") {
    CHECK(reg.get("commonsenseqa").type == TaskType::kMultipleChoice);
    CHECK(reg.get("commonsenseqa").num_choices == 5);
    CHECK(reg.get("cosmosqa").num_choices == 4);
    CHECK(reg.get("hellaswag").num_choices == 4);
    CHECK(reg.get("socialiqa").num_choices == 3);
    CHECK(reg.get("socialiqa").paths.at("dev") == "jiant/socialiqa/val.jsonl");
    const TaskSpec& ccg = reg.get("ccg");
    CHECK(ccg.type == TaskType::kTagging);
    CHECK(ccg.labels.empty());  // open supertag set, collected from train
    CHECK(ccg.paths.at("dev") == "jiant/ccg/ccg.dev");
    const TaskSpec& squad = reg.get("squad_v1");
    CHECK(squad.format == "squad_json");
    CHECK(squad.paths.at("train") == "jiant/squad_v1/train-v1.1.json");
    CHECK(squad.paths.at("dev") == "jiant/squad_v1/dev-v1.1.json");
    CHECK(squad.paths.count("test") == 0);
    CHECK(reg.get("squad_v2").paths.at("dev") == "jiant/squad_v2/dev-v2.0.json");
    const TaskSpec& mlm = reg.get("mlm");
    CHECK(mlm.type == TaskType::kMLM);
    CHECK(mlm.format == "text");
    CHECK(task_split_path(mlm, "train", "sw", "/d") == fs::path("/d/mlm/sw.txt"));
    CHECK(task_split_path(mlm, "dev", "en", "/d") == fs::path("/d/mlm/en.dev.txt"));
  }
}

TEST_CASE("mnli: jiant JSONL (jiant's own samples)", "[reader]") {
  SECTION("train") {
    const RawSplit s = read("mnli", "train", mnli_fixture("mnli_train.jsonl"));
    CHECK(s.type == TaskType::kClassification);
    REQUIRE(s.classification.size() == 5);
    const ClassificationExample& first = s.classification[0];
    CHECK(first.text_a ==
          "Conceptually cream skimming has two basic dimensions - product and geography.");
    CHECK(first.text_b == "Product and geography are what make cream skimming work. ");
    CHECK(first.label == "neutral");
    CHECK(first.id == "0");
    CHECK(first.where.line == 1);
    CHECK_THAT(first.where.file, Catch::EndsWith("mnli_train.jsonl"));
    CHECK(s.classification[1].label == "entailment");
    CHECK(s.classification[4].text_b == "The tennis shoes have a range of prices.");
    CHECK(s.classification[4].label == "neutral");
    CHECK(s.classification[4].where.line == 5);
    CHECK(s.files == std::vector<std::string>{mnli_fixture("mnli_train.jsonl").string()});
  }
  SECTION("dev") {
    const RawSplit s = read("mnli", "dev", mnli_fixture("mnli_val.jsonl"));
    REQUIRE(s.classification.size() == 5);
    CHECK(s.classification[1].text_a ==
          "This site includes a list of all award winners and a searchable database of "
          "Government Executive articles.");
    CHECK(s.classification[1].label == "contradiction");
    CHECK(s.classification[2].label == "entailment");
    CHECK(s.classification[4].text_b == "I know exactly.");
  }
  SECTION("test: no label field = unlabeled") {
    const RawSplit s = read("mnli", "test", mnli_fixture("mnli_test.jsonl"));
    REQUIRE(s.classification.size() == 5);
    for (const auto& ex : s.classification) CHECK(ex.label.empty());
    CHECK(s.classification[3].text_b ==
          "The French government passed anti-Jewish laws aimed at helping the Nazi.");
  }
  SECTION("max_examples") {
    CHECK(read("mnli", "train", mnli_fixture("mnli_train.jsonl"), 2).size() == 2);
  }
}

TEST_CASE("qqp and snli: jiant JSONL from HF datasets", "[reader]") {
  SECTION("qqp dev from data/qqp/val.jsonl") {
    const RawSplit s = read_layout("qqp", "dev");
    REQUIRE(s.classification.size() == 3);
    CHECK(s.classification[0].text_b == "Why are hispanics so beautiful?");
    CHECK(s.classification[0].label == "0");
    CHECK(s.classification[2].text_a == "Is there a reason why we should travel alone?");
    CHECK(s.classification[2].label == "1");
    CHECK(s.classification[2].id == "2");  // the idx field
    CHECK_THAT(s.files.at(0), Catch::EndsWith("jiant/qqp/val.jsonl"));
  }
  SECTION("qqp test: HF's hidden label -1 reads as unlabeled") {
    const RawSplit s = read_layout("qqp", "test");
    REQUIRE(s.classification.size() == 2);
    CHECK(s.classification[0].text_a == "How do I control my horny emotions?");
    CHECK(s.classification[0].label.empty());
    CHECK(s.classification[1].label.empty());
  }
  SECTION("snli skips pairs without a gold label, as jiant's SnliTask") {
    const RawSplit s = read_layout("snli", "train");
    REQUIRE(s.classification.size() == 3);
    CHECK(s.classification[0].label == "neutral");
    CHECK(s.classification[1].label == "contradiction");
    CHECK(s.classification[2].text_b == "A person is outdoors, on a horse.");
    CHECK(s.classification[2].label == "entailment");
    CHECK(s.classification[2].where.line == 4);
  }
}

TEST_CASE("anli: one round, and the three rounds as one task", "[reader]") {
  SECTION("anli_r1") {
    const RawSplit s = read_layout("anli_r1", "train");
    REQUIRE(s.classification.size() == 2);
    CHECK_THAT(s.classification[0].text_a, Catch::StartsWith("The Parma trolleybus system"));
    CHECK(s.classification[0].text_b == "The trolleybus system has over 2 urban routes");
    CHECK(s.classification[0].label == "e");
    CHECK(s.classification[0].id == "0fd0abfb-659e-4453-b196-c3a64d2d8267");
    CHECK(s.classification[1].label == "n");
  }
  SECTION("anli reads r1, r2, r3 in order") {
    const RawSplit s = read_layout("anli", "train");
    REQUIRE(s.classification.size() == 5);
    REQUIRE(s.files.size() == 3);
    CHECK_THAT(s.files[1], Catch::EndsWith("jiant/adversarial_nli_r2/train.jsonl"));
    CHECK(s.classification[0].id == "r1-0fd0abfb-659e-4453-b196-c3a64d2d8267");
    CHECK(s.classification[2].id == "r2-b5d0b0a6-8e5c-4d83-9e8e-2b5f0d3a1c21");
    CHECK(s.classification[2].text_b ==
          "The first Ernest Jones store was opened on the continent of Europe.");
    CHECK(s.classification[4].label == "c");
    CHECK(s.classification[4].text_b == "Byron wrote \"Darkness\" in the winter of 1816.");
    CHECK_THAT(s.classification[4].where.file, Catch::Contains("adversarial_nli_r3"));
    CHECK(s.classification[4].where.line == 2);
  }
  SECTION("max_examples counts across rounds") {
    const TaskSpec& spec = registry().get("anli");
    const RawSplit s =
        read("anli", "train", task_split_path(spec, "train", "en", sample_root()), 3);
    REQUIRE(s.classification.size() == 3);
    CHECK(s.files.size() == 2);
    CHECK(s.classification[2].id == "r2-b5d0b0a6-8e5c-4d83-9e8e-2b5f0d3a1c21");
  }
}

TEST_CASE("ccg: jiant's tokens<TAB>tags lines", "[reader]") {
  SECTION("train") {
    const RawSplit s = read_layout("ccg", "train");
    CHECK(s.type == TaskType::kTagging);
    REQUIRE(s.tagging.size() == 2);
    const TaggingExample& first = s.tagging[0];
    REQUIRE(first.words.size() == 18);
    REQUIRE(first.tags.size() == 18);
    CHECK(first.words[0] == "Pierre");
    CHECK(first.words[15] == "Nov.");
    CHECK(first.tags[5] == "(S[adj]\\NP)\\NP");
    CHECK(first.tags[15] == "((S\\NP)\\(S\\NP))/N[num]");
    CHECK(first.tags[17] == ".");
    CHECK(s.tagging[1].words[6] == "N.V.");
    CHECK(s.tagging[1].tags[6] == "N");
    CHECK(s.tagging[1].where.line == 2);
  }
  SECTION("test: a line without tags is an unlabeled sentence") {
    const RawSplit s = read_layout("ccg", "test");
    REQUIRE(s.tagging.size() == 1);
    CHECK(s.tagging[0].words.size() == 26);
    CHECK(s.tagging[0].words[25] == ".");
    CHECK(s.tagging[0].tags.empty());
  }
}

TEST_CASE("commonsenseqa: original and HF datasets layouts", "[reader]") {
  SECTION("train, original layout") {
    const RawSplit s = read_layout("commonsenseqa", "train");
    CHECK(s.type == TaskType::kMultipleChoice);
    REQUIRE(s.multiple_choice.size() == 2);
    const MultipleChoiceExample& first = s.multiple_choice[0];
    CHECK(first.id == "075e483d21c29a511267ef62bedc0461");
    CHECK(first.prompt ==
          "The sanctions against the school were a punishing blow, and they seemed to what the "
          "efforts the school had made to change?");
    REQUIRE(first.choices.size() == 5);
    CHECK(first.choices[0] == "ignore");
    CHECK(first.choices[3] == "yell at");
    CHECK(first.label == 0);
    CHECK(s.multiple_choice[1].prompt ==
          "Sammy wanted to go to where the people were.  Where might he go?");
    CHECK(s.multiple_choice[1].choices[1] == "populated areas");
    CHECK(s.multiple_choice[1].label == 1);
  }
  SECTION("dev, HF datasets layout") {
    const RawSplit s = read_layout("commonsenseqa", "dev");
    REQUIRE(s.multiple_choice.size() == 1);
    CHECK_THAT(s.multiple_choice[0].prompt, Catch::StartsWith("A revolving door is convenient"));
    CHECK(s.multiple_choice[0].choices ==
          std::vector<std::string>{"bank", "library", "department store", "mall", "new york"});
    CHECK(s.multiple_choice[0].label == 0);
  }
  SECTION("test without answer keys") {
    const RawSplit s = read_layout("commonsenseqa", "test");
    REQUIRE(s.multiple_choice.size() == 1);
    CHECK(s.multiple_choice[0].label == -1);
    CHECK(s.multiple_choice[0].choices[2] == "bus stop");
  }
}

TEST_CASE("cosmosqa and hellaswag: prompts and choices built as jiant does", "[reader]") {
  SECTION("cosmosqa train: prompt = context + ' ' + question") {
    const RawSplit s = read_layout("cosmosqa", "train");
    REQUIRE(s.multiple_choice.size() == 2);
    const MultipleChoiceExample& first = s.multiple_choice[0];
    CHECK(first.prompt ==
          "Good Old War and person L : I saw both of these bands Wednesday night , and they both "
          "blew me away . seriously . Good Old War is acoustic and makes me smile . In the future "
          ", will this person go to see other bands play ?");
    REQUIRE(first.choices.size() == 4);
    CHECK(first.choices[0] == "None of the above choices .");
    CHECK(first.choices[1] ==
          "This person likes music and likes to see the show , they will see other bands play .");
    CHECK(first.label == 1);
    CHECK(s.multiple_choice[1].label == 0);  // "label": "0"
    CHECK(s.multiple_choice[1].choices[0] == "It let them cook a good meal .");
  }
  SECTION("cosmosqa test: label -1 = unlabeled") {
    const RawSplit s = read_layout("cosmosqa", "test");
    REQUIRE(s.multiple_choice.size() == 1);
    CHECK(s.multiple_choice[0].label == -1);
  }
  SECTION("hellaswag dev: prompt = ctx_a, choice = ctx_b + ' ' + ending") {
    const RawSplit s = read_layout("hellaswag", "dev");
    REQUIRE(s.multiple_choice.size() == 3);
    const MultipleChoiceExample& first = s.multiple_choice[0];
    CHECK(first.id == "24");
    CHECK(first.prompt == "A man is sitting on a roof.");
    CHECK(first.choices[0] == "he is using wrap to wrap a pair of skis.");
    CHECK(first.choices[3] == "he starts pulling up roofing on a roof.");
    CHECK(first.label == 3);
    CHECK(s.multiple_choice[1].choices[0] == "the lady swings and lands in her arms.");
    CHECK(s.multiple_choice[1].label == 3);  // "label": "3" (HF datasets)
    // WikiHow contexts have an empty ctx_b: the choice is the ending alone.
    CHECK(s.multiple_choice[2].choices[0] == "[step] Pour the mixture into a spray bottle.");
    CHECK(s.multiple_choice[2].label == 0);
  }
  SECTION("hellaswag test: label \"\" = unlabeled") {
    const RawSplit s = read_layout("hellaswag", "test");
    REQUIRE(s.multiple_choice.size() == 1);
    CHECK(s.multiple_choice[0].label == -1);
    CHECK(s.multiple_choice[0].choices[1] == "they ride a horse.");
  }
}

TEST_CASE("socialiqa: jiant's HF datasets export and the original layout", "[reader]") {
  // jiant's SocialIQATask: prompt = context + " " + question; choices answerA..C; label "1".."3"
  // (HF social_i_qa keeps the newline) or, in the original files, "correct" = "A".."C".
  const RawSplit train = read_layout("socialiqa", "train");
  REQUIRE(train.multiple_choice.size() == 2);
  const MultipleChoiceExample& first = train.multiple_choice[0];
  CHECK(first.prompt ==
        "Cameron decided to have a barbecue and gathered her friends together. How would Others "
        "feel as a result?");
  CHECK(first.choices ==
        std::vector<std::string>{"like attending", "like staying home", "a good friend to have"});
  CHECK(first.label == 0);                     // "1\n"
  CHECK(train.multiple_choice[1].label == 1);  // "2\n"
  const RawSplit dev = read_layout("socialiqa", "dev");
  REQUIRE(dev.multiple_choice.size() == 1);
  CHECK(dev.multiple_choice[0].label == 2);  // "correct": "C"
  REQUIRE_DATA_ERROR(
      read("socialiqa", "train", malformed("socialiqa_label_range.jsonl")),
      one_line("socialiqa_label_range.jsonl", 1, "'label' one of \"1\", \"2\", \"3\"", "'4'"));
}

TEST_CASE("squad_v1, squad_v2 and mlm through the registry", "[reader]") {
  SECTION("squad_v1 dev: several gold answers, byte offsets after a multi-byte dash") {
    const RawSplit s = read_layout("squad_v1", "dev");
    CHECK(s.type == TaskType::kExtractiveQA);
    REQUIRE(s.qa.size() == 3);
    CHECK(s.qa[0].id == "56be4db0acb8001400a502ec");
    CHECK(s.qa[0].question == "Which NFL team represented the AFC at Super Bowl 50?");
    CHECK(s.qa[0].answer_texts.size() == 3);
    CHECK(s.qa[0].answer_starts[0] == 177);
    // "third" is character 287; the en dash of "24–10" before it takes 3 bytes in UTF-8.
    CHECK(s.qa[2].answer_texts[0] == "third");
    CHECK(s.qa[2].answer_starts[0] == 289);
    CHECK(s.qa[2].answer_texts[1] == "their third Super Bowl title");
  }
  SECTION("squad_v2 train: unanswerable questions") {
    const RawSplit s = read_layout("squad_v2", "train");
    REQUIRE(s.qa.size() == 3);
    CHECK(s.qa[0].answer_texts == std::vector<std::string>{"1981"});
    CHECK(s.qa[1].answer_starts[0] == 9);  // after "Beyoncé " (8 characters, 9 bytes)
    CHECK(s.qa[2].is_impossible);
    CHECK(s.qa[2].answer_texts.empty());
  }
  SECTION("mlm: one example per non-blank line") {
    const RawSplit s = read_layout("mlm", "train");
    CHECK(s.mlm_lines == std::vector<std::string>{"The quick brown fox jumps over the lazy dog.",
                                                  "Zoë reads a book in the café.",
                                                  "A third line."});
  }
}

TEST_CASE("intermediate readers: malformed input names file and line", "[reader]") {
  SECTION("malformed JSON") {
    REQUIRE_DATA_ERROR(read("mnli", "train", malformed("mnli_bad_json.jsonl")),
                       one_line("mnli_bad_json.jsonl", 2, "a JSON object", "malformed JSON"));
  }
  SECTION("a JSON line that is not an object") {
    REQUIRE_DATA_ERROR(read("hellaswag", "dev", malformed("json_array.jsonl")),
                       one_line("json_array.jsonl", 1, "a JSON object", "array of 3"));
  }
  SECTION("missing field") {
    REQUIRE_DATA_ERROR(
        read("mnli", "train", malformed("mnli_missing_field.jsonl")),
        one_line("mnli_missing_field.jsonl", 3, "field 'hypothesis'", "no such field"));
  }
  SECTION("wrong type") {
    REQUIRE_DATA_ERROR(read("mnli", "dev", malformed("mnli_wrong_type.jsonl")),
                       one_line("mnli_wrong_type.jsonl", 1, "string field 'premise'", "number 3"));
    REQUIRE_DATA_ERROR(
        read("qqp", "train", malformed("qqp_label_float.jsonl")),
        one_line("qqp_label_float.jsonl", 1, "a string or integer label in 'label'", "number 0.5"));
  }
  SECTION("unlabeled examples: an error in train and dev, fine in test") {
    REQUIRE_DATA_ERROR(read("mnli", "train", malformed("mnli_unlabeled.jsonl")),
                       one_line("mnli_unlabeled.jsonl", 2, "a label in field 'label'", "no label"));
    REQUIRE_DATA_ERROR(read("mnli", "dev", malformed("mnli_unlabeled.jsonl")),
                       one_line("mnli_unlabeled.jsonl", 2, "a label in field 'label'", "no label"));
    const RawSplit test = read("mnli", "test", malformed("mnli_unlabeled.jsonl"));
    REQUIRE(test.classification.size() == 3);
    CHECK(test.classification[0].label == "neutral");
    CHECK(test.classification[1].label.empty());
    CHECK(test.classification[2].label.empty());  // "label": -1
    REQUIRE_DATA_ERROR(
        read("hellaswag", "train", sample_root() / "jiant" / "hellaswag" / "test.jsonl"),
        one_line("test.jsonl", 1, "the right choice", "no label"));
  }
  SECTION("invalid UTF-8") {
    REQUIRE_DATA_ERROR(read("mnli", "train", malformed("bad_utf8.jsonl")),
                       one_line("bad_utf8.jsonl", 2, "UTF-8 text", "invalid byte 0xff"));
    REQUIRE_DATA_ERROR(read("mlm", "train", malformed("mlm_bad_utf8.txt")),
                       one_line("mlm_bad_utf8.txt", 3, "UTF-8 text", "invalid byte 0xc3"));
  }
  SECTION("missing file, also one round of anli") {
    REQUIRE_DATA_ERROR(read("hellaswag", "dev", malformed("no_such_file.jsonl")),
                       ".*/no_such_file\\.jsonl: expected a readable file, found no such file");
    REQUIRE_DATA_ERROR(
        read("anli", "train",
             malformed("anli_missing_round") / "adversarial_nli_r{round}" / "train.jsonl"),
        ".*/adversarial_nli_r2/train\\.jsonl: expected a readable file, found no such file");
  }
  SECTION("ccg: tag count differs from token count") {
    REQUIRE_DATA_ERROR(read("ccg", "train", malformed("ccg_tag_count.ccg")),
                       one_line("ccg_tag_count.ccg", 2, "13 tags (one per token)", "12 in"));
  }
  SECTION("ccg: not two tab-separated columns, or no tokens") {
    REQUIRE_DATA_ERROR(read("ccg", "train", malformed("ccg_no_tab.ccg")),
                       one_line("ccg_no_tab.ccg", 1, "TOKENS<TAB>TAGS", "1 column in"));
    CHECK(read("ccg", "test", malformed("ccg_no_tab.ccg")).tagging.at(0).words.size() == 13);
    REQUIRE_DATA_ERROR(read("ccg", "test", malformed("ccg_three_columns.ccg")),
                       one_line("ccg_three_columns.ccg", 1, "TOKENS<TAB>TAGS", "3 columns in"));
    REQUIRE_DATA_ERROR(read("ccg", "train", malformed("ccg_empty_text.ccg")),
                       one_line("ccg_empty_text.ccg", 1, "space-separated tokens", "none"));
  }
  SECTION("commonsenseqa: answer key that names no choice") {
    REQUIRE_DATA_ERROR(
        read("commonsenseqa", "train", malformed("csqa_answer_key.jsonl")),
        one_line("csqa_answer_key.jsonl", 1, "'answerKey' to name a choice (A..E)", "'F'"));
  }
  SECTION("commonsenseqa: empty answer choices, wrong count, wrong order") {
    REQUIRE_DATA_ERROR(read("commonsenseqa", "train", malformed("csqa_empty_choices.jsonl")),
                       one_line("csqa_empty_choices.jsonl", 2,
                                "a non-empty array of answer choices", "array of 0"));
    REQUIRE_DATA_ERROR(read("commonsenseqa", "dev", malformed("csqa_four_choices.jsonl")),
                       one_line("csqa_four_choices.jsonl", 1, "5 answer choices", "4"));
    REQUIRE_DATA_ERROR(read("commonsenseqa", "train", malformed("csqa_choice_order.jsonl")),
                       one_line("csqa_choice_order.jsonl", 1, "choice label 'C'", "'D'"));
  }
  SECTION("commonsenseqa: question of the wrong type") {
    REQUIRE_DATA_ERROR(
        read("commonsenseqa", "train", malformed("csqa_question_number.jsonl")),
        one_line("csqa_question_number.jsonl", 1,
                 "'question' to be an object (original layout) or a string", "number 42"));
  }
  SECTION("cosmosqa: label index out of range, missing answer") {
    REQUIRE_DATA_ERROR(read("cosmosqa", "train", malformed("cosmosqa_label_range.jsonl")),
                       one_line("cosmosqa_label_range.jsonl", 2, "a choice index in [0, 4)", "4"));
    REQUIRE_DATA_ERROR(read("cosmosqa", "test", malformed("cosmosqa_negative_label.jsonl")),
                       one_line("cosmosqa_negative_label.jsonl", 1, "a choice index", "-2"));
    REQUIRE_DATA_ERROR(
        read("cosmosqa", "train", malformed("cosmosqa_missing_answer.jsonl")),
        one_line("cosmosqa_missing_answer.jsonl", 1, "field 'answer3'", "no such field"));
  }
  SECTION("hellaswag: wrong number of endings, endings not an array, label not a number") {
    REQUIRE_DATA_ERROR(read("hellaswag", "dev", malformed("hellaswag_three_endings.jsonl")),
                       one_line("hellaswag_three_endings.jsonl", 1, "4 answer choices", "3"));
    REQUIRE_DATA_ERROR(read("hellaswag", "dev", malformed("hellaswag_endings_string.jsonl")),
                       one_line("hellaswag_endings_string.jsonl", 1,
                                "a non-empty array of strings in 'endings'", "string"));
    REQUIRE_DATA_ERROR(
        read("hellaswag", "dev", malformed("hellaswag_label_word.jsonl")),
        one_line("hellaswag_label_word.jsonl", 1, "an integer in 'label'", "string 'three'"));
  }
  SECTION("squad: an answer that is not at its offset names the file and question") {
    REQUIRE_DATA_ERROR(
        read("squad_v1", "dev", malformed("squad_bad_offset.json")),
        ".*/squad_bad_offset\\.json \\(question id ordertune-bad-offset\\): expected answer "
        "'American football' at character 12 of the context, found '0 was an American'");
  }
}

TEST_CASE("intermediate readers: misuse in a config is a ConfigError", "[reader]") {
  TaskSpec spec = registry().get("anli_r1");
  ReadRequest request;
  request.split = "train";
  request.path = sample_root() / "jiant" / "adversarial_nli_r1" / "train.jsonl";
  SECTION("rounds without {round} in the path") {
    spec.options["rounds"] = "1,2";
    REQUIRE_THROWS_AS(read_task_split(spec, request), ConfigError);
    REQUIRE_THROWS_WITH(read_task_split(spec, request), Catch::Contains("{round}"));
  }
  SECTION("jiant_pair_jsonl for a task that is not classification") {
    spec.type = TaskType::kMultipleChoice;
    REQUIRE_THROWS_WITH(read_task_split(spec, request),
                        Catch::Contains("'jiant_pair_jsonl' reads classification tasks"));
  }
}

// readers_intermediate — the study's English intermediate tasks (Phang et al. 2020, "English
// Intermediate-Task Training Improves Zero-Shot Cross-Lingual Transfer Too", arXiv 2005.13013)
// in the layouts jiant's downloaders leave, and their registry entries.
//
// Layout. `python -m jiant.scripts.download_data.runscript download --tasks T --output_path OUT`
// (nyu-mll/jiant, jiant/scripts/download_data/runscript.py) writes every task under
// OUT/data/T/. Tasks that come from Hugging Face datasets are written as OUT/data/T/{train,val,
// test}.jsonl (dl_datasets/hf_datasets_tasks.py + utils.write_examples_to_jsonls); SQuAD keeps
// its original file names (dl_datasets/files_tasks.py). ordertune expects jiant's OUT/data at
// <data.root>/jiant (e.g. `ln -s ~/jiant_out/data data/jiant`, beside data/xtreme for the
// targets), so MNLI is read from data/jiant/mnli/train.jsonl; jiant's "val" split is our "dev".
//
// Two conventions of that conversion the readers handle:
//   * HF datasets marks a hidden label with -1, and jiant's label maps leave it unmapped, so a
//     test.jsonl of MNLI / QQP / Cosmos QA carries "label": -1 (older jiant layouts simply omit
//     the field, as in tests/fixtures/jiant-samples/mnli). Both read as "unlabeled"; in the
//     train and dev splits an unlabeled example is an error, because it cannot be trained on or
//     scored.
//   * SNLI has examples without a gold label (-1 after conversion); jiant's SnliTask skips them,
//     and so do we (option skip_unlabeled).
//
// Formats added here (the generic squad_json and text readers cover SQuAD and MLM):
//   jiant_pair_jsonl     sentence-pair classification JSONL; fields from options text_a, text_b,
//                        label, id (as read_jsonl); options rounds = "1,2,3" reads one file per
//                        round, substituting "{round}" in the path (ANLI); skip_unlabeled = "true"
//                        drops examples with label -1 (SNLI).
//   commonsenseqa_jsonl  CommonsenseQA: original layout {"answerKey","id","question":{"stem",
//                        "choices":[{"label","text"}]}} or HF datasets layout {"answerKey","id",
//                        "question","choices":{"label":[..],"text":[..]}}, both as jiant reads.
//   cosmosqa_jsonl       Cosmos QA: {"id","context","question","answer0".."answer3","label"}.
//   hellaswag_jsonl      HellaSwag: {"ind","ctx_a","ctx_b","endings":[4],"label"}.
//   socialiqa_jsonl      Social IQa: {"context","question","answerA".."answerC"} with jiant's
//                        HF datasets "label" ("1".."3", a newline kept from the download) or
//                        the original release's "correct" ("A".."C").
//   jiant_ccg            CCG supertagging: "TOKENS<TAB>TAGS" per line, both space-separated.
#include <limits>

#include <fmt/format.h>

#include "ordertune/base/error.h"
#include "ordertune/config/task_registry.h"
#include "ordertune/data/task_reader.h"

namespace ordertune {

using nlohmann::json;

namespace {

// HF datasets' mark of a hidden label, left in place by jiant's label maps.
constexpr const char* kHiddenLabel = "-1";

// Splits on single spaces, dropping empty pieces (CCG tokens and tags are space-separated).
std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "1, 2,3" -> {"1", "2", "3"} (options.rounds).
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const size_t b = text.find_first_not_of(' ', start);
    if (b != std::string::npos && b < end)
      out.push_back(text.substr(b, text.find_last_not_of(' ', end - 1) - b + 1));
    start = end + 1;
  }
  return out;
}

// Labeled splits: train examples are learned from, dev examples are scored.
bool needs_labels(const std::string& split) {
  return split != kSplitTest;
}

// ---- sentence-pair classification (MNLI, QQP, ANLI, SNLI) ----------------------------------

// Reads one jiant JSONL file with the generic JSONL reader, then applies jiant's label
// conventions (see the file comment). Appends to out; returns false once the limit is reached.
bool read_pair_file(const TaskSpec& spec, const ReadRequest& request, const std::string& file,
                    const std::string& id_prefix, RawSplit* out) {
  const bool skip_unlabeled = task_option(spec, "skip_unlabeled", "false") == "true";
  const std::string label_key = task_option(spec, "label", "label");
  ReadRequest sub = request;
  sub.path = file;
  // Skipped examples must not count towards the limit: read everything, cut below.
  sub.max_examples = skip_unlabeled || request.max_examples == 0
                         ? 0
                         : request.max_examples - static_cast<int64_t>(out->size());
  RawSplit part = read_jsonl(spec, sub);
  out->files.push_back(file);
  for (ClassificationExample& ex : part.classification) {
    const bool hidden = ex.label == kHiddenLabel;
    if (hidden && skip_unlabeled) continue;
    if (hidden) ex.label.clear();
    if (ex.label.empty() && needs_labels(request.split)) {
      throw_data_error(
          ex.where.file, ex.where.line,
          fmt::format("a label in field '{}' (every {} example has one)", label_key, request.split),
          hidden ? std::string("the hidden-label mark -1") : "no label");
    }
    ex.id = id_prefix + ex.id;
    out->classification.push_back(std::move(ex));
    if (example_limit_reached(out->size(), request)) return false;
  }
  return true;
}

RawSplit read_jiant_pair_jsonl(const TaskSpec& spec, const ReadRequest& request) {
  if (spec.type != TaskType::kClassification)
    throw ConfigError(
        fmt::format("tasks.{}.format: 'jiant_pair_jsonl' reads classification "
                    "tasks, found type '{}'",
                    spec.name, choice_name(spec.type)));
  RawSplit out;
  out.type = TaskType::kClassification;
  // ANLI read as one task: the rounds' files one after another, ids prefixed "r1-", "r2-", ...
  for (const auto& [file, round] : round_files(spec, request.path.string()))
    if (!read_pair_file(spec, request, file, round.empty() ? "" : "r" + round + "-", &out)) break;
  return out;
}

// ---- multiple choice (CommonsenseQA, Cosmos QA, HellaSwag) ---------------------------------

// A choice index from an integer field (or a string of digits); missing, "" and -1 are the
// marks of a hidden label and return -1.
int choice_label(const json& object, const std::string& key, const SourceLocation& where) {
  auto it = object.find(key);
  if (it == object.end() || (it->is_string() && it->get<std::string>().empty())) return -1;
  const int64_t value = json_int(object, key, where);
  if (value == -1) return -1;
  // Anything else outside [0, choices) is caught by read_choice_jsonl; keep it out of range.
  if (value < 0 || value > std::numeric_limits<int>::max())
    throw_data_error(where.file, where.line,
                     fmt::format("a choice index (or -1 for none) in '{}'", key),
                     std::to_string(value));
  return static_cast<int>(value);
}

using ChoiceBuilder = void (*)(const TaskSpec&, const json&, const SourceLocation&,
                               MultipleChoiceExample*);

// The loop shared by the multiple-choice formats: one JSON object per line, built by `build`,
// then checked against the task (choice count, label range, labels where required).
RawSplit read_choice_jsonl(const TaskSpec& spec, const ReadRequest& request, ChoiceBuilder build) {
  RawSplit out;
  out.type = TaskType::kMultipleChoice;
  LineReader reader(request.path);
  std::string line;
  while (reader.next(&line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const json obj = parse_json_object(line, reader.path(), reader.line_number());
    MultipleChoiceExample ex;
    ex.where = {reader.path(), reader.line_number()};
    ex.id = std::to_string(reader.line_number() - 1);
    build(spec, obj, ex.where, &ex);
    const size_t n = ex.choices.size();
    if (spec.num_choices > 0 && n != static_cast<size_t>(spec.num_choices))
      throw_data_error(ex.where.file, ex.where.line,
                       fmt::format("{} answer choices", spec.num_choices), std::to_string(n));
    if (ex.label >= static_cast<int>(n))
      throw_data_error(ex.where.file, ex.where.line, fmt::format("a choice index in [0, {})", n),
                       std::to_string(ex.label));
    if (ex.label < 0 && needs_labels(request.split))
      throw_data_error(ex.where.file, ex.where.line,
                       fmt::format("the right choice (every {} example has one)", request.split),
                       "no label");
    out.multiple_choice.push_back(std::move(ex));
    if (example_limit_reached(out.size(), request)) break;
  }
  return out;
}

// An optional id field (string or integer).
void take_id(const json& obj, const char* key, const SourceLocation& where,
             MultipleChoiceExample* ex) {
  if (obj.contains(key)) ex->id = json_label(obj, key, where);
}

// CommonsenseQA (Talmor et al. 2019). jiant's CommonsenseQATask accepts the original layout
// (question is an object with stem and choices) and the HF datasets layout (question is the stem,
// choices is {"label": [...], "text": [...]}); it orders choices A..E and maps answerKey to that
// index. We require the choices to be labeled "A", "B", ... in file order, which both layouts are.
void build_commonsenseqa(const TaskSpec&, const json& obj, const SourceLocation& where,
                         MultipleChoiceExample* ex) {
  take_id(obj, "id", where, ex);
  const json& question = json_field(obj, "question", where);
  std::vector<std::string> keys;
  if (question.is_object()) {
    ex->prompt = json_string(question, "stem", where);
    const json& choices = json_field(question, "choices", where);
    if (!choices.is_array() || choices.empty())
      throw_data_error(where.file, where.line,
                       "a non-empty array of answer choices in 'question.choices'",
                       describe_json(choices));
    for (const json& choice : choices) {
      if (!choice.is_object())
        throw_data_error(where.file, where.line,
                         "answer choices {\"label\", \"text\"} in 'question.choices'",
                         describe_json(choice));
      keys.push_back(json_string(choice, "label", where));
      ex->choices.push_back(json_string(choice, "text", where));
    }
  } else if (question.is_string()) {
    ex->prompt = question.get<std::string>();
    const json& choices = json_field(obj, "choices", where);
    if (!choices.is_object())
      throw_data_error(where.file, where.line,
                       "'choices' to be an object {\"label\": [...], \"text\": [...]}",
                       describe_json(choices));
    const json& labels = json_field(choices, "label", where);
    const json& texts = json_field(choices, "text", where);
    if (!labels.is_array() || !texts.is_array() || labels.size() != texts.size() || texts.empty())
      throw_data_error(where.file, where.line,
                       "'choices.label' and 'choices.text' as non-empty arrays of one length",
                       describe_json(labels) + " and " + describe_json(texts));
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!labels[i].is_string() || !texts[i].is_string())
        throw_data_error(where.file, where.line, "strings in 'choices.label' and 'choices.text'",
                         describe_json(labels[i].is_string() ? texts[i] : labels[i]));
      keys.push_back(labels[i].get<std::string>());
      ex->choices.push_back(texts[i].get<std::string>());
    }
  } else {
    throw_data_error(where.file, where.line,
                     "'question' to be an object (original layout) or a string (HF datasets)",
                     describe_json(question));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string expected(1, static_cast<char>('A' + i));
    if (keys[i] != expected)
      throw_data_error(where.file, where.line, fmt::format("choice label '{}'", expected),
                       quote_found(keys[i]));
  }
  auto answer = obj.find("answerKey");
  if (answer == obj.end()) return;  // the original test file has no answer keys
  const std::string key = json_string(obj, "answerKey", where);
  if (key.empty()) return;  // HF datasets' test split: ""
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) ex->label = static_cast<int>(i);
  if (ex->label < 0)
    throw_data_error(where.file, where.line,
                     fmt::format("'answerKey' to name a choice (A..{})", keys.back()),
                     quote_found(key));
}

// Cosmos QA (Huang et al. 2019) as jiant's CosmosQATask builds it: prompt = context + " " +
// question, choices answer0..answer3, label = index.
void build_cosmosqa(const TaskSpec& spec, const json& obj, const SourceLocation& where,
                    MultipleChoiceExample* ex) {
  take_id(obj, "id", where, ex);
  ex->prompt = json_string(obj, "context", where) + " " + json_string(obj, "question", where);
  const int n = spec.num_choices > 0 ? spec.num_choices : 4;
  for (int i = 0; i < n; ++i)
    ex->choices.push_back(json_string(obj, fmt::format("answer{}", i), where));
  ex->label = choice_label(obj, "label", where);
}

// HellaSwag (Zellers et al. 2019) as jiant's HellaSwagTask builds it: prompt = ctx_a, choice i =
// ctx_b + " " + endings[i] (just the ending when ctx_b is empty, as in the WikiHow part).
void build_hellaswag(const TaskSpec&, const json& obj, const SourceLocation& where,
                     MultipleChoiceExample* ex) {
  take_id(obj, "ind", where, ex);
  ex->prompt = json_string(obj, "ctx_a", where);
  const std::string ctx_b = json_string(obj, "ctx_b", where);
  const json& endings = json_field(obj, "endings", where);
  if (!endings.is_array() || endings.empty())
    throw_data_error(where.file, where.line, "a non-empty array of strings in 'endings'",
                     describe_json(endings));
  for (const json& ending : endings) {
    if (!ending.is_string())
      throw_data_error(where.file, where.line, "strings in 'endings'", describe_json(ending));
    const std::string text = ending.get<std::string>();
    ex->choices.push_back(ctx_b.empty() ? text : ctx_b + " " + text);
  }
  ex->label = choice_label(obj, "label", where);
}

// Social IQa (Sap et al. 2019) as jiant's SocialIQATask builds it: prompt = context + " " +
// question, choices answerA, answerB, answerC; the label is "1".."3" in jiant's HF datasets
// export (social_i_qa keeps a newline after it) or "A".."C" under "correct" in the original
// files. A line with neither is unlabeled.
void build_socialiqa(const TaskSpec&, const json& obj, const SourceLocation& where,
                     MultipleChoiceExample* ex) {
  ex->prompt = json_string(obj, "context", where) + " " + json_string(obj, "question", where);
  for (const char* key : {"answerA", "answerB", "answerC"})
    ex->choices.push_back(json_string(obj, key, where));
  ex->label = -1;
  const bool hf = obj.contains("label");
  if (!hf && !obj.contains("correct")) return;
  const std::string key = hf ? "label" : "correct";
  std::string value = json_string(obj, key, where);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  const std::string keys = hf ? "123" : "ABC";
  if (value.size() != 1 || keys.find(value[0]) == std::string::npos)
    throw_data_error(
        where.file, where.line,
        fmt::format("'{}' one of {}", key, hf ? "\"1\", \"2\", \"3\"" : "\"A\", \"B\", \"C\""),
        quote_found(value));
  ex->label = static_cast<int>(keys.find(value[0]));
}

RawSplit read_commonsenseqa(const TaskSpec& spec, const ReadRequest& request) {
  return read_choice_jsonl(spec, request, build_commonsenseqa);
}
RawSplit read_cosmosqa(const TaskSpec& spec, const ReadRequest& request) {
  return read_choice_jsonl(spec, request, build_cosmosqa);
}
RawSplit read_hellaswag(const TaskSpec& spec, const ReadRequest& request) {
  return read_choice_jsonl(spec, request, build_hellaswag);
}
RawSplit read_socialiqa(const TaskSpec& spec, const ReadRequest& request) {
  return read_choice_jsonl(spec, request, build_socialiqa);
}

// ---- CCG supertagging ----------------------------------------------------------------------

// One sentence per line, "TOKENS<TAB>TAGS" with space-separated tokens and one supertag per
// token: the files jiant's scripts/ccg/ccg_proc.py writes from CCGbank's AUTO files and jiant's
// CCGTask reads (line.split("\t"), tags.split()). A line without the tab is an unlabeled sentence,
// accepted in the test split only.
RawSplit read_jiant_ccg(const TaskSpec&, const ReadRequest& request) {
  RawSplit out;
  out.type = TaskType::kTagging;
  LineReader reader(request.path);
  std::string line;
  while (reader.next(&line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string& file = reader.path();
    const int64_t line_no = reader.line_number();
    const std::vector<std::string> cols = split_tabs(line);
    if (cols.size() > 2 || (cols.size() == 1 && needs_labels(request.split)))
      throw_data_error(file, line_no, "TOKENS<TAB>TAGS (2 tab-separated columns)",
                       fmt::format("{} column{} in {}", cols.size(), cols.size() == 1 ? "" : "s",
                                   quote_found(line)));
    TaggingExample ex;
    ex.id = std::to_string(out.tagging.size());
    ex.where = {file, line_no};
    ex.words = split_spaces(cols[0]);
    if (ex.words.empty())
      throw_data_error(file, line_no, "space-separated tokens before the tab", "none");
    if (cols.size() == 2) {
      ex.tags = split_spaces(cols[1]);
      if (ex.tags.size() != ex.words.size())
        throw_data_error(file, line_no, fmt::format("{} tags (one per token)", ex.words.size()),
                         fmt::format("{} in {}", ex.tags.size(), quote_found(cols[1])));
    }
    out.tagging.push_back(std::move(ex));
    if (example_limit_reached(out.size(), request)) break;
  }
  return out;
}

// ---- registry helpers ----------------------------------------------------------------------

TaskSpec english_task(const std::string& name, TaskType type, const std::string& format,
                      Metric metric, std::map<std::string, std::string> paths,
                      const std::string& description) {
  TaskSpec spec;
  spec.name = name;
  spec.type = type;
  spec.format = format;
  spec.metric = metric;
  spec.paths = std::move(paths);
  for (const auto& [split, path] : spec.paths) spec.languages[split] = {"en"};
  spec.description = description;
  return spec;
}

// jiant's HF-datasets layout under OUT/data: <jiant task>/{train,val,test}.jsonl, val read as dev.
std::map<std::string, std::string> jiant_jsonl_paths(const std::string& jiant_task) {
  return {{kSplitTrain, "jiant/" + jiant_task + "/train.jsonl"},
          {kSplitDev, "jiant/" + jiant_task + "/val.jsonl"},
          {kSplitTest, "jiant/" + jiant_task + "/test.jsonl"}};
}

}  // namespace

std::vector<std::pair<std::string, std::string>> round_files(const TaskSpec& spec,
                                                             const std::string& path) {
  const std::vector<std::string> rounds = split_commas(task_option(spec, "rounds", ""));
  if (rounds.empty() != (path.find("{round}") == std::string::npos))
    throw ConfigError(
        fmt::format("tasks.{}: expected options.rounds together with \"{{round}}\" "
                    "in the path, found {} and path '{}'",
                    spec.name, rounds.empty() ? std::string("no rounds") : "rounds", path));
  if (rounds.empty()) return {{path, ""}};
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& round : rounds) {
    std::string file = path;
    for (size_t at; (at = file.find("{round}")) != std::string::npos;) file.replace(at, 7, round);
    out.emplace_back(file, round);
  }
  return out;
}

void add_intermediate_readers(std::map<std::string, ReaderFn>& formats) {
  formats["jiant_pair_jsonl"] = read_jiant_pair_jsonl;
  formats["commonsenseqa_jsonl"] = read_commonsenseqa;
  formats["cosmosqa_jsonl"] = read_cosmosqa;
  formats["hellaswag_jsonl"] = read_hellaswag;
  formats["socialiqa_jsonl"] = read_socialiqa;
  formats["jiant_ccg"] = read_jiant_ccg;
}

namespace {

// Sentence-pair classification: MNLI, QQP, SNLI and the ANLI rounds.
void add_pair_tasks(TaskRegistry& registry) {
  const std::vector<std::string> kNliLabels = {"contradiction", "entailment", "neutral"};

  // MNLI (matched). jiant: hf_datasets_tasks.py "mnli" (glue/mnli; validation_matched -> val,
  // test_matched -> test; labels 0/1/2 -> entailment/neutral/contradiction, test keeps -1);
  // tasks/lib/mnli.py reads premise, hypothesis, label; LABELS order below.
  {
    TaskSpec s =
        english_task("mnli", TaskType::kClassification, "jiant_pair_jsonl", Metric::kAccuracy,
                     jiant_jsonl_paths("mnli"), "MultiNLI (matched), English NLI; jiant layout");
    s.labels = kNliLabels;
    s.options = {
        {"text_a", "premise"}, {"text_b", "hypothesis"}, {"label", "label"}, {"id", "idx"}};
    registry.add(std::move(s));
  }
  // QQP. jiant: hf_datasets_tasks.py "qqp" (glue/qqp; question1/question2 -> text_a/text_b,
  // labels -> "0"/"1", test keeps -1); tasks/lib/qqp.py LABELS = ["0", "1"].
  {
    TaskSpec s = english_task("qqp", TaskType::kClassification, "jiant_pair_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("qqp"),
                              "Quora Question Pairs, English paraphrase; jiant layout");
    s.labels = {"0", "1"};
    s.options = {{"text_a", "text_a"}, {"text_b", "text_b"}, {"label", "label"}, {"id", "idx"}};
    registry.add(std::move(s));
  }
  // SNLI, a member of jiant's "anli" mixture. jiant: hf_datasets_tasks.py "snli" (labels 0/1/2 ->
  // entailment/neutral/contradiction, -1 = no gold label); tasks/lib/snli.py skips label -1.
  {
    TaskSpec s = english_task("snli", TaskType::kClassification, "jiant_pair_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("snli"),
                              "Stanford NLI, English; jiant layout (no-gold-label pairs skipped)");
    s.labels = kNliLabels;
    s.options = {{"text_a", "premise"},
                 {"text_b", "hypothesis"},
                 {"label", "label"},
                 {"skip_unlabeled", "true"}};
    registry.add(std::move(s));
  }
  // ANLI rounds. jiant: hf_datasets_tasks.py "adversarial_nli_r1..r3" (HF anli; premise ->
  // context, labels 0/1/2 -> e/n/c; train_rN/dev_rN/test_rN -> train/val/test);
  // tasks/lib/adversarial_nli.py reads context, hypothesis, label with LABELS = ["c", "e", "n"].
  const std::map<std::string, std::string> kAnliOptions = {
      {"text_a", "context"}, {"text_b", "hypothesis"}, {"label", "label"}, {"id", "uid"}};
  for (const char* round : {"1", "2", "3"}) {
    TaskSpec s = english_task(
        fmt::format("anli_r{}", round), TaskType::kClassification, "jiant_pair_jsonl",
        Metric::kAccuracy, jiant_jsonl_paths(fmt::format("adversarial_nli_r{}", round)),
        fmt::format("Adversarial NLI round {}, English; jiant layout", round));
    s.labels = {"c", "e", "n"};
    s.options = kAnliOptions;
    registry.add(std::move(s));
  }
  // ANLI, all three rounds as one task (same files as anli_r1..r3, read one after another).
  // X-STILTs' "ANLI" intermediate task is jiant's mixture ANLI + MNLI + SNLI; here that is a
  // mixture stage in the config, e.g. [mixtures.anli_mnli_snli] tasks = ["anli", "mnli", "snli"].
  {
    TaskSpec s = english_task("anli", TaskType::kClassification, "jiant_pair_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("adversarial_nli_r{round}"),
                              "Adversarial NLI rounds 1-3 combined, English; X-STILTs' ANLI = "
                              "mixture stage anli + mnli + snli in the config");
    s.labels = {"c", "e", "n"};
    s.options = kAnliOptions;
    s.options["rounds"] = "1,2,3";
    registry.add(std::move(s));
  }
}

// CCG supertagging: a tagging task with an open tag set.
void add_ccg_task(TaskRegistry& registry) {
  // CCG supertagging (CCGbank, LDC2005T13; no download). jiant: scripts/ccg/ccg_proc.py writes
  // ccg.train / ccg.dev / ccg.test ("tokens<TAB>tags"), read by tasks/lib/ccg.py; we expect them
  // in <data.root>/jiant/ccg/. Open tag set: the training split's tags, plus kUnseenTag for a dev
  // tag outside them (text/prepare.cpp, label_set).
  registry.add(english_task("ccg", TaskType::kTagging, "jiant_ccg", Metric::kAccuracy,
                            {{kSplitTrain, "jiant/ccg/ccg.train"},
                             {kSplitDev, "jiant/ccg/ccg.dev"},
                             {kSplitTest, "jiant/ccg/ccg.test"}},
                            "CCG supertagging (CCGbank), English; jiant layout"));
}

// Multiple choice: CommonsenseQA, Cosmos QA, HellaSwag.
void add_multiple_choice_tasks(TaskRegistry& registry) {
  // CommonsenseQA. jiant: hf_datasets_tasks.py "commonsenseqa" (HF commonsense_qa, train/val/
  // test); tasks/lib/commonsenseqa.py also reads the original JSONL; CHOICE_KEYS = A..E.
  {
    TaskSpec s = english_task("commonsenseqa", TaskType::kMultipleChoice, "commonsenseqa_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("commonsenseqa"),
                              "CommonsenseQA, 5-way multiple choice, English; jiant layout");
    s.num_choices = 5;
    registry.add(std::move(s));
  }
  // Cosmos QA. jiant: hf_datasets_tasks.py "cosmosqa" (HF cosmos_qa, train/val/test);
  // tasks/lib/cosmosqa.py: context + " " + question, answer0..answer3, label.
  {
    TaskSpec s = english_task("cosmosqa", TaskType::kMultipleChoice, "cosmosqa_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("cosmosqa"),
                              "Cosmos QA, 4-way multiple choice, English; jiant layout");
    s.num_choices = 4;
    registry.add(std::move(s));
  }
  // HellaSwag. jiant: hf_datasets_tasks.py "hellaswag" (HF hellaswag, train/val/test, labels
  // "0".."3" -> 0..3, test label ""); tasks/lib/hellaswag.py: ctx_a, ctx_b + " " + ending.
  {
    TaskSpec s = english_task("hellaswag", TaskType::kMultipleChoice, "hellaswag_jsonl",
                              Metric::kAccuracy, jiant_jsonl_paths("hellaswag"),
                              "HellaSwag, 4-way multiple choice, English; jiant layout");
    s.num_choices = 4;
    registry.add(std::move(s));
  }
  // Social IQa. jiant: hf_datasets_tasks.py "socialiqa" (HF social_i_qa, train/val);
  // tasks/lib/socialiqa.py. XTREME-R's scripts/train_xcopa.sh fine-tunes on it before COPA.
  {
    TaskSpec s = english_task(
        "socialiqa", TaskType::kMultipleChoice, "socialiqa_jsonl", Metric::kAccuracy,
        {{kSplitTrain, "jiant/socialiqa/train.jsonl"}, {kSplitDev, "jiant/socialiqa/val.jsonl"}},
        "Social IQa, 3-way multiple choice, English; jiant layout");
    s.num_choices = 3;
    registry.add(std::move(s));
  }
}

// Extractive QA (SQuAD v1.1, v2.0) and masked language modelling on raw text.
void add_qa_and_mlm_tasks(TaskRegistry& registry) {
  // SQuAD. jiant: dl_datasets/files_tasks.py download_squad_data_and_write_config keeps the
  // official file names (rajpurkar.github.io/SQuAD-explorer) in data/squad_v1 and data/squad_v2;
  // there is no public test set.
  registry.add(english_task("squad_v1", TaskType::kExtractiveQA, "squad_json", Metric::kSquad,
                            {{kSplitTrain, "jiant/squad_v1/train-v1.1.json"},
                             {kSplitDev, "jiant/squad_v1/dev-v1.1.json"}},
                            "SQuAD v1.1, English extractive QA; jiant layout"));
  registry.add(english_task("squad_v2", TaskType::kExtractiveQA, "squad_json", Metric::kSquad,
                            {{kSplitTrain, "jiant/squad_v2/train-v2.0.json"},
                             {kSplitDev, "jiant/squad_v2/dev-v2.0.json"}},
                            "SQuAD v2.0 (with unanswerable questions), English; jiant layout"));
  // Masked language modelling on raw text, one line per example (jiant's mlm_simple reads the
  // same: one text per line). Languages come from the user's config; the built-in is English.
  registry.add(english_task("mlm", TaskType::kMLM, "text", Metric::kMlm,
                            {{kSplitTrain, "mlm/{lang}.txt"}, {kSplitDev, "mlm/{lang}.dev.txt"}},
                            "masked language modelling on raw text lines, mlm/{lang}.txt"));
}

}  // namespace

void register_intermediate_tasks(TaskRegistry& registry) {
  add_pair_tasks(registry);
  add_ccg_task(registry);
  add_multiple_choice_tasks(registry);
  add_qa_and_mlm_tasks(registry);
}

}  // namespace ordertune

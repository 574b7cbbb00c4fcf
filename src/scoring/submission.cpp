#include "ordertune/scoring/submission.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <set>

#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/data/task_reader.h"

namespace ordertune {

namespace {

using ojson = nlohmann::ordered_json;  // keeps file order: sums run in the order Python's do

std::vector<std::string> split_commas(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const size_t end = comma == std::string::npos ? list.size() : comma;
    out.push_back(list.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::string& more) {
  for (auto& l : split_commas(more)) a.push_back(std::move(l));
  return a;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// ---- file text ---------------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  const std::string other = describe_non_regular(path);
  if (!other.empty())
    throw DataError(fmt::format("{}: expected a readable file, found {}", path, other));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: expected a readable file, found it unreadable", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t bad = find_invalid_utf8(text);
  if (bad != std::string::npos) {
    const int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n');
    throw_data_error(path, line, "UTF-8 text",
                     fmt::format("invalid byte 0x{:02x}", static_cast<unsigned char>(text[bad])));
  }
  return text;
}

// The lines Python's text-mode iteration yields (universal newlines: "\n", "\r\n", "\r"),
// without their terminators. "a\n" is one line, "" none, "\n" one empty line.
std::vector<std::string> python_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      lines.push_back(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

ojson parse_json_text(const std::string& path, const std::string& text) {
  try {
    return ojson::parse(text);
  } catch (const ojson::parse_error& e) {
    const size_t at = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
    throw_data_error(path, line, "valid JSON", fmt::format("a syntax error at byte {}", e.byte));
  }
}

std::string describe(const ojson& value) {
  switch (value.type()) {
    case ojson::value_t::null:
      return "null";
    case ojson::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case ojson::value_t::string:
      return "string " + quote_found(value.get<std::string>(), 40);
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned:
    case ojson::value_t::number_float:
      return "number " + value.dump();
    case ojson::value_t::array:
      return fmt::format("an array of {}", value.size());
    case ojson::value_t::object:
      return "an object";
    default:
      return "a value of unsupported type";
  }
}

// read_squad(): json.load, then json['data'] when the top level has a "data" key.
ojson read_squad_json(const std::string& path) {
  ojson root = parse_json_text(path, read_text(path));
  if (root.is_object() && root.contains("data")) return root["data"];
  return root;
}

const ojson& field(const std::string& path, const ojson& object, const std::string& key,
                   const std::string& where) {
  if (!object.is_object())
    throw_data_error(path, 0, fmt::format("an object at {}", where), describe(object));
  auto it = object.find(key);
  if (it == object.end())
    throw_data_error(path, 0, fmt::format("field '{}' in {}", key, where), "no such field");
  return *it;
}

const ojson& array_field(const std::string& path, const ojson& object, const std::string& key,
                         const std::string& where) {
  const ojson& value = field(path, object, key, where);
  if (!value.is_array())
    throw_data_error(path, 0, fmt::format("'{}' in {} to be an array", key, where),
                     describe(value));
  return value;
}

// A Python-equality key for an XCOPA label: numbers and booleans compare by value.
std::string python_equality_key(const ojson& v) {
  if (v.is_boolean()) return v.get<bool>() ? "n:1" : "n:0";
  if (v.is_number_integer()) return "n:" + std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return "n:" + std::to_string(v.get<uint64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
      return "n:" + std::to_string(static_cast<int64_t>(d));
    return "n:" + v.dump();
  }
  if (v.is_string()) return "s:" + v.get<std::string>();
  return "j:" + v.dump();
}

}  // namespace

// ---- the scored tasks ---------------------------------------------------------------------------

bool ScoredTask::counts_must_match() const {
  return kind != ScoreKind::kBucc && kind != ScoreKind::kSquad && kind != ScoreKind::kMlqa &&
         kind != ScoreKind::kMewslix;
}

const std::vector<std::string>& ScoredTask::langs(XtremeVersion version) const {
  return version == XtremeVersion::kXtreme ? xtreme_langs : xtreme_r_langs;
}

bool ScoredTask::has_lang(const std::string& lang) const {
  return std::find(xtreme_langs.begin(), xtreme_langs.end(), lang) != xtreme_langs.end() ||
         std::find(xtreme_r_langs.begin(), xtreme_r_langs.end(), lang) != xtreme_r_langs.end();
}

const std::vector<ScoredTask>& scored_tasks() {
  // Language lists copied from evaluate.py (commit 838c13b) XTREME_TASK2LANGS and
  // XTREME_R_TASK2LANGS, in their order (the order of the per-language sums).
  static const std::vector<ScoredTask> kTasks = [] {
    const auto xnli = split_commas("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh");
    const auto panx = split_commas(
        "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,"
        "ko,th,sw,yo,my,zh,kk,tr,et,fi,hu");
    const auto udpos = split_commas(
        "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,"
        "ur,vi,yo,zh");
    const auto tatoeba = split_commas(
        "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,"
        "sw,zh,kk,tr,et,fi,hu");
    const auto xquad = split_commas("en,es,de,el,ru,tr,ar,vi,th,zh,hi");
    const auto mlqa = split_commas("en,es,de,ar,hi,vi,zh");
    const auto tydiqa = split_commas("en,ar,bn,fi,id,ko,ru,sw,te");
    std::vector<ScoredTask> t;
    t.push_back({"pawsx", ScoreKind::kAccuracy, "tsv", split_commas("de,en,es,fr,ja,ko,zh"), {}});
    t.push_back({"xnli", ScoreKind::kAccuracy, "tsv", xnli, xnli});
    t.push_back(
        {"panx", ScoreKind::kSeqeval, "tsv", panx, concat(panx, "qu,pl,uk,az,lt,pa,gu,ro")});
    t.push_back({"udpos", ScoreKind::kSeqeval, "tsv", udpos, concat(udpos, "lt,pl,uk,wo,ro")});
    t.push_back({"bucc2018", ScoreKind::kBucc, "tsv", split_commas("de,fr,ru,zh"), {}});
    t.push_back(
        {"tatoeba", ScoreKind::kAccuracy, "tsv", tatoeba, concat(tatoeba, "az,lt,pl,uk,ro")});
    t.push_back({"xquad", ScoreKind::kSquad, "json", xquad, concat(xquad, "ro")});
    t.push_back({"mlqa", ScoreKind::kMlqa, "json", mlqa, mlqa});
    t.push_back({"tydiqa", ScoreKind::kSquad, "json", tydiqa, tydiqa});
    t.push_back({"xcopa",
                 ScoreKind::kXcopa,
                 "jsonl",
                 {},
                 split_commas("et,ht,id,it,qu,sw,ta,th,tr,vi,zh")});
    t.push_back({"mewslix",
                 ScoreKind::kMewslix,
                 "json",
                 {},
                 split_commas("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk")});
    return t;
  }();
  return kTasks;
}

const ScoredTask& scored_task(const std::string& name) {
  for (const ScoredTask& t : scored_tasks())
    if (t.name == name) return t;
  std::vector<std::string> names;
  for (const ScoredTask& t : scored_tasks()) names.push_back(t.name);
  throw ConfigError(fmt::format("--task: expected one of {}, found '{}'", join(names, ", "), name));
}

std::vector<std::string> version_tasks(XtremeVersion version) {
  if (version == XtremeVersion::kXtreme)
    return {"pawsx", "xnli", "panx", "udpos", "bucc2018", "tatoeba", "xquad", "mlqa", "tydiqa"};
  return {"xnli", "panx", "udpos", "tatoeba", "xcopa", "mewslix", "xquad", "mlqa", "tydiqa"};
}

std::vector<std::pair<std::string, std::vector<std::string>>> version_groups(
    XtremeVersion version) {
  if (version == XtremeVersion::kXtreme)
    return {{"classification", {"pawsx", "xnli"}},
            {"tagging", {"udpos", "panx"}},
            {"qa", {"xquad", "mlqa", "tydiqa"}},
            {"retrieval", {"bucc2018", "tatoeba"}}};
  return {{"classification", {"xnli", "xcopa"}},
          {"tagging", {"udpos", "panx"}},
          {"qa", {"xquad", "mlqa", "tydiqa"}},
          {"retrieval", {"tatoeba", "mewslix"}},
          {"multi_choice", {"xcopa"}}};
}

// ---- readers
// -------------------------------------------------------------------------------------

std::vector<std::string> read_label_lines(const std::string& path) {
  // read_label(): [l.strip() for l in f]
  std::vector<std::string> out;
  for (const auto& line : python_lines(read_text(path))) out.push_back(py_strip(line));
  return out;
}

TagFile read_tag_file(const std::string& path) {
  // read_tag(): stripped non-blank lines are tags; a blank line closes the sentence (even an
  // empty one); a last sentence without a closing blank line is kept.
  TagFile file;
  std::vector<std::string> sentence;
  int64_t first = 0;
  int64_t line_no = 0;
  for (const auto& raw : python_lines(read_text(path))) {
    ++line_no;
    std::string tag = py_strip(raw);
    if (!tag.empty()) {
      if (sentence.empty()) first = line_no;
      sentence.push_back(std::move(tag));
    } else {
      file.first_lines.push_back(sentence.empty() ? line_no : first);
      file.sentences.push_back(std::move(sentence));
      sentence.clear();
    }
  }
  if (!sentence.empty()) {
    file.sentences.push_back(std::move(sentence));
    file.first_lines.push_back(first);
  }
  return file;
}

std::vector<std::string> read_xcopa_labels(const std::string& path) {
  // read_xcopa(): json.loads(row)['label'] for every line.
  std::vector<std::string> out;
  int64_t line_no = 0;
  for (const auto& line : python_lines(read_text(path))) {
    ++line_no;
    ojson row = ojson::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded())
      throw_data_error(path, line_no, "a JSON object", "malformed JSON " + quote_found(line));
    if (!row.is_object()) throw_data_error(path, line_no, "a JSON object", describe(row));
    auto label = row.find("label");
    if (label == row.end()) throw_data_error(path, line_no, "field 'label'", "no such field");
    out.push_back(python_equality_key(*label));
  }
  return out;
}

std::vector<QaQuestion> read_qa_labels(const std::string& path) {
  const ojson dataset = read_squad_json(path);
  if (!dataset.is_array())
    throw_data_error(path, 0, "a SQuAD dataset ('data': a list of articles)", describe(dataset));
  std::vector<QaQuestion> out;
  for (size_t a = 0; a < dataset.size(); ++a) {
    const std::string at_article = fmt::format("data[{}]", a);
    const ojson& paragraphs = array_field(path, dataset[a], "paragraphs", at_article);
    for (size_t p = 0; p < paragraphs.size(); ++p) {
      const std::string at_paragraph = fmt::format("{}.paragraphs[{}]", at_article, p);
      const ojson& qas = array_field(path, paragraphs[p], "qas", at_paragraph);
      for (size_t q = 0; q < qas.size(); ++q) {
        const std::string at_qa = fmt::format("{}.qas[{}]", at_paragraph, q);
        const ojson& id = field(path, qas[q], "id", at_qa);
        if (!id.is_string())
          throw_data_error(path, 0, fmt::format("a string 'id' in {}", at_qa), describe(id));
        QaQuestion question;
        question.id = id.get<std::string>();
        const ojson& answers = array_field(path, qas[q], "answers", at_qa);
        for (size_t k = 0; k < answers.size(); ++k) {
          const ojson& text =
              field(path, answers[k], "text", fmt::format("{}.answers[{}]", at_qa, k));
          if (!text.is_string())
            throw_data_error(path, 0,
                             fmt::format("a string answer text in {}.answers[{}]", at_qa, k),
                             describe(text));
          question.answers.push_back(text.get<std::string>());
        }
        if (question.answers.empty())
          throw_data_error(
              path, 0, fmt::format("at least one answer for question '{}'", question.id), "none");
        out.push_back(std::move(question));
      }
    }
  }
  if (out.empty()) throw_data_error(path, 0, "at least one question", "none");
  return out;
}

std::map<std::string, std::string> read_qa_predictions(const std::string& path) {
  const ojson predictions = read_squad_json(path);
  if (!predictions.is_object())
    throw_data_error(path, 0, "an object of question id -> answer text", describe(predictions));
  std::map<std::string, std::string> out;
  for (const auto& [id, answer] : predictions.items()) {
    if (!answer.is_string())
      throw_data_error(path, 0, fmt::format("an answer text for question '{}'", id),
                       describe(answer));
    out[id] = answer.get<std::string>();
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> read_mewslix_labels(const std::string& path) {
  const ojson gold = read_squad_json(path);
  if (!gold.is_object())
    throw_data_error(path, 0, "an object of mention id -> [gold entity id]", describe(gold));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [id, entities] : gold.items()) {
    if (!entities.is_array() || entities.empty() || !entities[0].is_string())
      throw_data_error(path, 0, fmt::format("a list starting with the gold entity id for '{}'", id),
                       describe(entities));
    out.emplace_back(id, entities[0].get<std::string>());
  }
  return out;
}

std::map<std::string, std::vector<std::string>> read_mewslix_predictions(const std::string& path) {
  const ojson predictions = read_squad_json(path);
  if (!predictions.is_object())
    throw_data_error(path, 0, "an object of mention id -> ranked entity ids",
                     describe(predictions));
  // Invalid UTF-8 can never equal a gold id read from a (validated) file: a non-string entry
  // keeps its rank and never matches, as p == gold is False for it in Python.
  static const std::string kNeverMatches = "\xff<non-string>";
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [id, ranked] : predictions.items()) {
    if (!ranked.is_array())
      throw_data_error(path, 0, fmt::format("a list of entity ids for '{}'", id), describe(ranked));
    std::vector<std::string> ids;
    for (const ojson& e : ranked)
      ids.push_back(e.is_string() ? e.get<std::string>() : kNeverMatches);
    out[id] = std::move(ids);
  }
  return out;
}

// ---- scoring one (task, language) ----------------------------------------------------------

namespace {

void check_counts(const ScoreOptions& o, size_t predictions, size_t labels, const char* unit) {
  if (labels == 0) throw_data_error(o.labels, 0, fmt::format("at least one {}", unit), "none");
  if (predictions != labels)
    throw DataError(fmt::format("{}: expected {} {}s as in {}, found {}", o.predictions, labels,
                                unit, o.labels, predictions));
}

}  // namespace

LanguageScore score_files(const ScoreOptions& o) {
  const ScoredTask& task = scored_task(o.task);
  if (!task.has_lang(o.lang)) {
    const auto& langs = task.xtreme_r_langs.empty() ? task.xtreme_langs : task.xtreme_r_langs;
    throw ConfigError(fmt::format("--lang: expected a language of task '{}' ({}), found '{}'",
                                  o.task, join(langs, ","), o.lang));
  }
  LanguageScore result;
  result.task = o.task;
  result.lang = o.lang;
  switch (task.kind) {
    case ScoreKind::kAccuracy:
    case ScoreKind::kXcopa: {
      const bool xcopa = task.kind == ScoreKind::kXcopa;
      // evaluate.py reads the predictions first.
      const auto predictions =
          xcopa ? read_xcopa_labels(o.predictions) : read_label_lines(o.predictions);
      const auto labels = xcopa ? read_xcopa_labels(o.labels) : read_label_lines(o.labels);
      check_counts(o, predictions.size(), labels.size(), "line");
      result.metrics = accuracy_metrics(labels, predictions);
      result.examples = static_cast<int64_t>(labels.size());
      break;
    }
    case ScoreKind::kSeqeval: {
      const TagFile predictions = read_tag_file(o.predictions);
      const TagFile labels = read_tag_file(o.labels);
      check_counts(o, predictions.sentences.size(), labels.sentences.size(), "sentence");
      for (size_t i = 0; i < labels.sentences.size(); ++i) {
        if (predictions.sentences[i].size() != labels.sentences[i].size())
          throw_data_error(
              o.predictions, predictions.first_lines[i],
              fmt::format("{} tags in sentence {} as in {}:{}", labels.sentences[i].size(), i + 1,
                          o.labels, labels.first_lines[i]),
              std::to_string(predictions.sentences[i].size()));
      }
      result.metrics = seqeval_metrics(labels.sentences, predictions.sentences, o.seqeval_rule);
      result.examples = static_cast<int64_t>(labels.sentences.size());
      break;
    }
    case ScoreKind::kBucc: {
      const auto predictions = read_label_lines(o.predictions);
      const auto labels = read_label_lines(o.labels);
      result.metrics = bucc_metrics(labels, predictions);
      result.examples = static_cast<int64_t>(labels.size());
      break;
    }
    case ScoreKind::kSquad:
    case ScoreKind::kMlqa: {
      const auto predictions = read_qa_predictions(o.predictions);
      const auto questions = read_qa_labels(o.labels);
      const AnswerNormalizer normalizer = task.kind == ScoreKind::kMlqa
                                              ? AnswerNormalizer::mlqa(o.lang)
                                              : AnswerNormalizer::squad();
      result.metrics = qa_metrics(questions, predictions, normalizer, &result.unanswered);
      result.examples = static_cast<int64_t>(questions.size());
      break;
    }
    case ScoreKind::kMewslix: {
      const auto predictions = read_mewslix_predictions(o.predictions);
      const auto gold = read_mewslix_labels(o.labels);
      result.metrics = map_at_k_metrics(gold, predictions, kMewslixTopK, &result.unanswered);
      result.examples = static_cast<int64_t>(gold.size());
      break;
    }
  }
  return result;
}

int run_score(const ScoreOptions& options, std::ostream& out) {
  const LanguageScore score = score_files(options);
  if (score.unanswered > 0)
    log::warn("{}: {} of {} gold examples have no prediction and score 0", options.predictions,
              score.unanswered, score.examples);
  ojson line;
  line["task"] = score.task;
  line["lang"] = score.lang;
  for (const MetricValue& m : score.metrics) line[m.name] = m.value;
  out << line.dump() << "\n";
  out.flush();
  return kExitOk;
}

// ---- scoring whole folders -------------------------------------------------------------------

SubmissionScores score_submission(const std::string& prediction_folder,
                                  const std::string& label_folder, XtremeVersion version,
                                  SeqevalTypeRule seqeval_rule) {
  namespace fs = std::filesystem;
  for (const auto& folder : {prediction_folder, label_folder}) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
      throw DataError(fmt::format("{}: expected a folder of task sub-folders, found none", folder));
  }
  SubmissionScores result;
  std::set<std::string> available;
  for (const std::string& name : version_tasks(version)) {
    std::error_code ec;
    if (!fs::is_directory(fs::path(prediction_folder) / name, ec) ||
        !fs::is_directory(fs::path(label_folder) / name, ec))
      continue;
    const ScoredTask& task = scored_task(name);
    TaskScores scores;
    scores.task = name;
    scores.langs = task.langs(version);
    for (const std::string& lang : scores.langs) {
      const std::string file = fmt::format("test-{}.{}", lang, task.suffix);
      ScoreOptions o;
      o.task = name;
      o.lang = lang;
      o.predictions = (fs::path(prediction_folder) / name / file).string();
      o.labels = (fs::path(label_folder) / name / file).string();
      o.seqeval_rule = seqeval_rule;
      scores.per_language.push_back(score_files(o).metrics);
    }
    scores.averaged = average_over_languages(scores.per_language);
    scores.score = task_score(scores.averaged);
    available.insert(name);
    result.tasks.push_back(std::move(scores));
  }
  auto score_of = [&](const std::string& name) {
    for (const TaskScores& t : result.tasks)
      if (t.task == name) return t.score;
    OT_CHECK(false, "task '{}' was not scored", name);
    return 0.0;
  };
  const auto all = version_tasks(version);
  if (std::all_of(all.begin(), all.end(),
                  [&](const std::string& t) { return available.count(t); })) {
    std::vector<double> s;
    for (const auto& t : all) s.push_back(score_of(t));
    result.has_overall = true;
    result.overall = mean_score(s);
  }
  for (const auto& [group, members] : version_groups(version)) {
    if (!std::all_of(members.begin(), members.end(),
                     [&](const std::string& t) { return available.count(t); }))
      continue;
    std::vector<double> s;
    for (const auto& t : members) s.push_back(score_of(t));
    result.groups.emplace_back(group, mean_score(s));
  }
  return result;
}

}  // namespace ordertune

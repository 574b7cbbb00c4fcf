#include "ordertune/data/data_cache.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/data/h5.h"

namespace ordertune {

bool has_labels(const SplitFeatures& s) {
  auto any_labelled = [](const std::vector<int32_t>& v) {
    return std::any_of(v.begin(), v.end(), [](int32_t l) { return l >= 0; });
  };
  switch (s.type) {
    case TaskType::kClassification:
      return any_labelled(s.classification.labels);
    case TaskType::kMultipleChoice:
      return any_labelled(s.multiple_choice.labels);
    case TaskType::kTagging:
      return any_labelled(s.tagging.word_labels.values);
    case TaskType::kExtractiveQA:
      return !s.qa.answer_texts.values.empty();
    case TaskType::kRetrieval:
      return !s.retrieval.gold_query.empty();
    case TaskType::kMLM:
      return s.mlm.input_ids.rows() > 0;
  }
  return false;
}

std::vector<std::string> target_languages(const CachedTask& info) {
  for (const char* split : {kSplitTest, kSplitDev}) {
    auto it = info.languages.find(split);
    if (it != info.languages.end() && !it->second.empty()) return it->second;
  }
  return {};
}

std::string scoring_split(const SweepConfig& config, const std::string& target,
                          const std::vector<std::string>& languages, const LabelledFn& labelled,
                          const std::string& language) {
  const TargetOptions& options = config.target_options_for(target);
  const auto unscored = [&](const std::string& lang) {
    return std::find(options.unscored.begin(), options.unscored.end(), lang) !=
           options.unscored.end();
  };
  if (!options.score || unscored(language)) return "";
  std::string split = kSplitTest;
  for (const std::string& lang : languages)
    if (!unscored(lang) && !labelled(kSplitTest, lang)) split = kSplitDev;
  return labelled(split, language) ? split : "";
}

std::vector<std::string> unscorable_languages(const SweepConfig& config, const std::string& target,
                                              const std::vector<std::string>& languages,
                                              const LabelledFn& labelled) {
  const TargetOptions& options = config.target_options_for(target);
  std::vector<std::string> out;
  if (!options.score) return out;
  for (const std::string& lang : languages)
    if (std::find(options.unscored.begin(), options.unscored.end(), lang) ==
            options.unscored.end() &&
        scoring_split(config, target, languages, labelled, lang).empty())
      out.push_back(lang);
  return out;
}

std::string unscorable_message(const SweepConfig& config, const std::string& target,
                               const std::vector<std::string>& languages,
                               const std::vector<std::string>& missing, const std::string& where) {
  const TaskSpec& spec = config.registry.get(target);
  const TargetOptions& options = config.target_options_for(target);
  const bool gold_known = !spec.gold.test_path.empty() && options.gold.empty();
  const std::string supply =
      gold_known
          ? fmt::format("set [targets.{}] gold = \"DIR\", DIR holding {}", target, spec.gold.source)
          : fmt::format("give it labelled files ([tasks.{}] paths)", target);
  const std::string knowingly =
      missing.size() == languages.size()
          ? fmt::format("[targets.{}] score = \"none\" to export its predictions only", target)
          : fmt::format("[targets.{}] unscored = [\"{}\"] to export their predictions only", target,
                        fmt::join(missing, "\", \""));
  return fmt::format(
      "{}: target {} has no labelled split for {} (the xtreme download hides test labels{}): {}, "
      "or {} (README \"Getting the data\")",
      where, target, fmt::join(missing, ", "),
      options.gold.empty() ? "" : "; the gold release lacks them too", supply, knowingly);
}

LabelledFn labelled_in_cache(const CacheReader& cache, const std::string& task) {
  // Memoized: scoring_split asks about every language of the target for each language.
  auto known = std::make_shared<std::map<std::string, bool>>();
  return [&cache, task, known](const std::string& split, const std::string& language) {
    const std::string key = split + "/" + language;
    const auto it = known->find(key);
    if (it != known->end()) return it->second;
    const bool labelled =
        cache.has_split(task, split, language) && cache.split_has_labels(task, split, language);
    known->emplace(key, labelled);
    return labelled;
  };
}

std::vector<std::string> check_scoring(const CacheReader& cache, const SweepConfig& config) {
  std::vector<std::string> scored, refused;
  std::string first;  // the first refused target's line; the others are named after it
  for (const std::string& target : config.targets) {
    if (!cache.has_task(target)) continue;  // the sweep names a missing task itself
    const std::vector<std::string> languages = target_languages(cache.task(target));
    const LabelledFn labelled = labelled_in_cache(cache, target);
    const std::vector<std::string> missing =
        unscorable_languages(config, target, languages, labelled);
    if (!missing.empty()) {
      if (first.empty())
        first =
            unscorable_message(config, target, languages, missing, config.cache_path().string());
      refused.push_back(target);
      continue;
    }
    std::string split;
    for (const std::string& lang : languages)
      if (split.empty()) split = scoring_split(config, target, languages, labelled, lang);
    scored.push_back(split.empty() ? target + " unscored" : target + " on " + split);
  }
  if (refused.size() > 1)
    first += fmt::format("; targets {} too (`ordertune prepare --check --config {}` lists all)",
                         fmt::join(refused.begin() + 1, refused.end(), ", "), config.path.string());
  if (!first.empty()) throw ConfigError(first);
  return scored;
}

namespace {

using h5::Group;

template <typename T>
void write_ragged(const Group& g, const std::string& name, const Ragged<T>& r,
                  const std::string& description) {
  if constexpr (std::is_same_v<T, std::string>) {
    g.write_strings(name, r.values, description);
  } else {
    g.write(name, r.values, description);
  }
  g.write(name + "_offsets", r.offsets, "row i of " + name + " is [offsets[i], offsets[i+1])");
}

template <typename T>
Ragged<T> read_ragged(const Group& g, const std::string& name) {
  Ragged<T> r;
  if constexpr (std::is_same_v<T, std::string>) {
    r.values = g.read_strings(name);
  } else {
    r.values = g.template read<T>(name);
  }
  r.offsets = g.read<int64_t>(name + "_offsets");
  // Every row inside the values, in order (flipped bytes in an index once reached
  // std::vector's range insert, whose error names no file).
  const bool ascending = std::is_sorted(r.offsets.begin(), r.offsets.end());
  if (r.offsets.empty() || r.offsets.front() != 0 || !ascending ||
      r.offsets.back() != static_cast<int64_t>(r.values.size()))
    throw DataError(fmt::format(
        "{}/{}_offsets: expected ascending offsets from 0 to {}, found a damaged index (re-run "
        "prepare with --force)",
        g.path(), name, r.values.size()));
  return r;
}

std::string to_json_array(const std::vector<std::string>& v) {
  return nlohmann::json(v).dump();
}

std::vector<std::string> from_json_array(const std::string& s) {
  return nlohmann::json::parse(s).get<std::vector<std::string>>();
}

// The datasets of a retrieval split's candidate set (write_ragged's pair and the two lists).
constexpr const char* kCandidateDatasets[] = {"candidate_ids", "candidate_ids_offsets",
                                              "candidate_keys", "candidate_languages"};

// shared: the group whose candidate datasets these features link to (none: written here).
void write_features(const Group& g, const SplitFeatures& f, const Group* shared = nullptr) {
  g.set_attr("type", std::string(choice_name(f.type)));
  g.set_attr("num_examples", static_cast<int64_t>(f.size()));
  switch (f.type) {
    case TaskType::kClassification: {
      const auto& c = f.classification;
      write_ragged(g, "input_ids", c.input_ids, "XLM-R token ids per example");
      g.write("labels", c.labels, "label index per example; -1 = unlabeled");
      g.write_strings("ids", c.ids, "example id as in the source file");
      break;
    }
    case TaskType::kMultipleChoice: {
      const auto& m = f.multiple_choice;
      g.set_attr("num_choices", static_cast<int64_t>(m.num_choices));
      write_ragged(g, "input_ids", m.input_ids, "token ids per (example, choice), example-major");
      g.write("labels", m.labels, "index of the right choice; -1 = unlabeled");
      g.write_strings("ids", m.ids, "example id as in the source file");
      break;
    }
    case TaskType::kTagging: {
      const auto& t = f.tagging;
      write_ragged(g, "input_ids", t.input_ids, "XLM-R token ids per sentence");
      write_ragged(g, "word_index", t.word_index,
                   "per token: index of the word it starts (first sub-token), -1 otherwise");
      write_ragged(g, "word_labels", t.word_labels, "per word: tag index, -1 = unlabeled");
      g.write_strings("ids", t.ids, "sentence id");
      break;
    }
    case TaskType::kExtractiveQA: {
      const auto& q = f.qa;
      g.write_strings("ids", q.ids, "question id as in the source file");
      g.write_strings("questions", q.questions, "question text");
      g.write_strings("contexts", q.contexts, "context text (UTF-8); offsets are bytes into it");
      write_ragged(g, "answer_texts", q.answer_texts, "gold answer texts per question");
      write_ragged(g, "answer_starts", q.answer_starts, "gold answer byte offsets per question");
      g.write("is_impossible", q.is_impossible, "1 = unanswerable (SQuAD 2.0)");
      write_ragged(g, "input_ids", q.input_ids, "token ids per window");
      write_ragged(g, "token_start", q.token_start, "per token: context byte start, -1 outside");
      write_ragged(g, "token_end", q.token_end, "per token: context byte end, -1 outside");
      g.write("window_example", q.window_example, "question index of each window");
      g.write("start_positions", q.start_positions, "answer start token in window; 0 = none");
      g.write("end_positions", q.end_positions, "answer end token in window; 0 = none");
      break;
    }
    case TaskType::kRetrieval: {
      const auto& r = f.retrieval;
      write_ragged(g, "query_ids", r.query_ids, "token ids per query");
      g.write_strings("query_keys", r.query_keys, "query id as in the source");
      g.write_strings("query_languages", r.query_languages, "query language");
      if (shared) {
        for (const char* name : kCandidateDatasets) g.link_to(name, *shared, name);
      } else {
        write_ragged(g, "candidate_ids", r.candidate_ids, "token ids per candidate");
        g.write_strings("candidate_keys", r.candidate_keys, "candidate id as in the source");
        g.write_strings("candidate_languages", r.candidate_languages, "candidate language");
      }
      g.write("gold_query", r.gold_query, "gold pair: query index");
      g.write("gold_candidate", r.gold_candidate, "gold pair: candidate index");
      break;
    }
    case TaskType::kMLM:
      write_ragged(g, "input_ids", f.mlm.input_ids, "token ids per line");
      break;
  }
}

SplitFeatures read_features(const Group& g) {
  SplitFeatures f;
  if (!parse_choice(g.attr_string("type"), &f.type))
    throw DataError(fmt::format("{}: expected a task type attribute, found '{}'", g.path(),
                                g.attr_string("type")));
  switch (f.type) {
    case TaskType::kClassification: {
      auto& c = f.classification;
      c.input_ids = read_ragged<int32_t>(g, "input_ids");
      c.labels = g.read<int32_t>("labels");
      c.ids = g.read_strings("ids");
      break;
    }
    case TaskType::kMultipleChoice: {
      auto& m = f.multiple_choice;
      m.num_choices = static_cast<int32_t>(g.attr_int("num_choices"));
      m.input_ids = read_ragged<int32_t>(g, "input_ids");
      m.labels = g.read<int32_t>("labels");
      m.ids = g.read_strings("ids");
      break;
    }
    case TaskType::kTagging: {
      auto& t = f.tagging;
      t.input_ids = read_ragged<int32_t>(g, "input_ids");
      t.word_index = read_ragged<int32_t>(g, "word_index");
      t.word_labels = read_ragged<int32_t>(g, "word_labels");
      t.ids = g.read_strings("ids");
      break;
    }
    case TaskType::kExtractiveQA: {
      auto& q = f.qa;
      q.ids = g.read_strings("ids");
      q.questions = g.read_strings("questions");
      q.contexts = g.read_strings("contexts");
      q.answer_texts = read_ragged<std::string>(g, "answer_texts");
      q.answer_starts = read_ragged<int64_t>(g, "answer_starts");
      q.is_impossible = g.read<uint8_t>("is_impossible");
      q.input_ids = read_ragged<int32_t>(g, "input_ids");
      q.token_start = read_ragged<int64_t>(g, "token_start");
      q.token_end = read_ragged<int64_t>(g, "token_end");
      q.window_example = g.read<int32_t>("window_example");
      q.start_positions = g.read<int32_t>("start_positions");
      q.end_positions = g.read<int32_t>("end_positions");
      break;
    }
    case TaskType::kRetrieval: {
      auto& r = f.retrieval;
      r.query_ids = read_ragged<int32_t>(g, "query_ids");
      r.query_keys = g.read_strings("query_keys");
      r.query_languages = g.read_strings("query_languages");
      r.candidate_ids = read_ragged<int32_t>(g, "candidate_ids");
      r.candidate_keys = g.read_strings("candidate_keys");
      r.candidate_languages = g.read_strings("candidate_languages");
      r.gold_query = g.read<int64_t>("gold_query");
      r.gold_candidate = g.read<int64_t>("gold_candidate");
      break;
    }
    case TaskType::kMLM:
      f.mlm.input_ids = read_ragged<int32_t>(g, "input_ids");
      break;
  }
  return f;
}

}  // namespace

size_t SplitFeatures::size() const {
  switch (type) {
    case TaskType::kClassification:
      return classification.labels.size();
    case TaskType::kMultipleChoice:
      return multiple_choice.labels.size();
    case TaskType::kTagging:
      return tagging.input_ids.rows();
    case TaskType::kExtractiveQA:
      return qa.ids.size();
    case TaskType::kRetrieval:
      return retrieval.query_ids.rows();
    case TaskType::kMLM:
      return mlm.input_ids.rows();
  }
  return 0;
}

// ---- writer ----------------------------------------------------------------------------------

struct CacheWriter::Impl {
  std::filesystem::path final_path;
  std::filesystem::path temp_path;
  h5::File file;
  bool committed = false;
};

CacheWriter::CacheWriter(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->final_path = path;
  impl_->temp_path = path;
  impl_->temp_path += ".tmp-" + std::to_string(::getpid());
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  impl_->file = h5::File::create(impl_->temp_path);
  impl_->file.root().create_group("tasks");
}

CacheWriter::~CacheWriter() {
  if (!impl_->committed) {
    impl_->file = h5::File();
    std::error_code ec;
    std::filesystem::remove(impl_->temp_path, ec);
  }
}

void CacheWriter::write_header(const std::string& settings_json,
                               const std::string& tokenizer_model_bytes,
                               const std::string& tokenizer_hash) {
  Group root = impl_->file.root();
  root.set_attr("format_version", static_cast<int64_t>(kCacheFormatVersion));
  root.set_attr("created_by", std::string("ordertune-prepare"));
  root.set_attr("settings", settings_json);
  root.set_attr("tokenizer_hash", tokenizer_hash);
  root.set_attr(
      "description",
      std::string("ordertune data cache: tokenized tasks under /tasks/<task>/<split>/<lang>"));
  Group tok = root.require_group("tokenizer");
  tok.set_attr(
      "description",
      std::string(
          "sentencepiece model; XLM-R ids = fairseq mapping (<s>=0 <pad>=1 </s>=2 <unk>=3)"));
  std::vector<uint8_t> bytes(tokenizer_model_bytes.begin(), tokenizer_model_bytes.end());
  tok.write("model", bytes, "serialized sentencepiece ModelProto");
}

void CacheWriter::begin_task(const CachedTask& task) {
  Group g = impl_->file.root().open_group("tasks").create_group(task.name);
  g.set_attr("type", std::string(choice_name(task.type)));
  g.set_attr("format", task.format);
  g.set_attr("metric", std::string(choice_name(task.metric)));
  g.set_attr("train_task", task.train_task);
  g.set_attr("labels", to_json_array(task.labels));
  g.set_attr("num_choices", static_cast<int64_t>(task.num_choices));
  g.set_attr("content_hash", task.content_hash);
  g.set_attr("test_path", task.test_path);
  g.set_attr("description",
             std::string("task ") + task.name + ": <split>/<lang> groups of features");
}

void CacheWriter::write_split(const std::string& task, const std::string& split,
                              const std::string& language, const SplitFeatures& features,
                              const std::string& candidates_of) {
  const Group task_group = impl_->file.root().open_group("tasks").open_group(task);
  Group g = task_group.require_group(split).create_group(language);
  if (candidates_of.empty() || features.type != TaskType::kRetrieval) {
    write_features(g, features);
    return;
  }
  const Group shared = task_group.open_group(candidates_of);
  write_features(g, features, &shared);
}

void CacheWriter::copy_task_from(const std::filesystem::path& old_cache, const std::string& task) {
  h5::File old = h5::File::open(old_cache, /*writable=*/false);
  const std::string path = "tasks/" + task;
  impl_->file.root().copy_from(old.root(), path);
}

void CacheWriter::commit() {
  impl_->file.flush();
  impl_->file = h5::File();  // close before the rename
  std::filesystem::rename(impl_->temp_path, impl_->final_path);
  impl_->committed = true;
}

std::string featurizer_settings_json(const DataConfig& d) {
  nlohmann::json j;
  j["max_length"] = d.max_length;
  j["qa_max_length"] = d.qa_max_length;
  j["qa_stride"] = d.qa_stride;
  j["qa_max_query_length"] = d.qa_max_query_length;
  j["max_examples"] = d.max_examples;
  j["cache_format_version"] = kCacheFormatVersion;
  return j.dump();
}

// ---- reader ----------------------------------------------------------------------------------

struct CacheReader::Impl {
  std::filesystem::path path;
  h5::File file;
  std::string settings;
  std::string tokenizer_hash;
  int64_t vocab_size = 0;  // from settings; 0 when absent (an older cache: ids are not checked)
};

CacheReader::CacheReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw DataError(
        fmt::format("{}: expected a data cache, found no such file (run `ordertune "
                    "prepare --config FILE` first)",
                    path.string()));
  if (!h5::is_hdf5(path))
    throw DataError(
        fmt::format("{}: expected an HDF5 data cache, found another kind of file", path.string()));
  try {
    impl_->file = h5::File::open(path, /*writable=*/false);
  } catch (const LibraryError&) {
    throw DataError(fmt::format(
        "{}: expected a data cache, found an HDF5 file that cannot be opened (cut short or "
        "damaged: re-run prepare with --force)",
        path.string()));
  }
  Group root = impl_->file.root();
  if (!root.has_attr("format_version") || !root.exists("tasks"))
    throw DataError(
        fmt::format("{}: expected an ordertune data cache, found an HDF5 file "
                    "without its layout",
                    path.string()));
  const int64_t version = root.attr_int("format_version");
  if (version != kCacheFormatVersion)
    throw DataError(fmt::format("{}: expected cache format version {}, found {} (re-run prepare)",
                                path.string(), kCacheFormatVersion, version));
  impl_->settings = root.attr_string("settings");
  impl_->tokenizer_hash = root.attr_string("tokenizer_hash");
  const nlohmann::json settings = nlohmann::json::parse(impl_->settings, nullptr, false);
  if (settings.is_object() && settings.contains("vocab_size") &&
      settings["vocab_size"].is_number_integer())
    impl_->vocab_size = settings["vocab_size"].get<int64_t>();
}

CacheReader::~CacheReader() = default;

const std::string& CacheReader::settings_json() const {
  return impl_->settings;
}
const std::string& CacheReader::tokenizer_hash() const {
  return impl_->tokenizer_hash;
}

std::string CacheReader::tokenizer_model() const {
  const auto bytes = impl_->file.root().open_group("tokenizer").read<uint8_t>("model");
  return std::string(bytes.begin(), bytes.end());
}

std::vector<std::string> CacheReader::task_names() const {
  return impl_->file.root().open_group("tasks").children();
}

bool CacheReader::has_task(const std::string& task) const {
  return impl_->file.root().open_group("tasks").exists(task);
}

CachedTask CacheReader::task(const std::string& name) const {
  if (!has_task(name))
    throw DataError(
        fmt::format("{}: expected task '{}' in the cache, found only [{}] (re-run "
                    "prepare with this config)",
                    impl_->path.string(), name, fmt::join(task_names(), ", ")));
  Group g = impl_->file.root().open_group("tasks").open_group(name);
  CachedTask t;
  t.name = name;
  if (!parse_choice(g.attr_string("type"), &t.type) ||
      !parse_choice(g.attr_string("metric"), &t.metric))
    throw DataError(
        fmt::format("{}: task '{}': expected a task type and a metric, found '{}' and '{}' "
                    "(re-run prepare with this config)",
                    impl_->path.string(), name, g.attr_string("type"), g.attr_string("metric")));
  t.format = g.attr_string("format");
  t.train_task = g.attr_string("train_task");
  t.labels = from_json_array(g.attr_string("labels"));
  t.num_choices = static_cast<int32_t>(g.attr_int("num_choices"));
  t.content_hash = g.attr_string("content_hash");
  if (g.has_attr("test_path")) t.test_path = g.attr_string("test_path");
  for (const std::string& split : g.children()) t.languages[split] = g.open_group(split).children();
  return t;
}

bool CacheReader::has_split(const std::string& task, const std::string& split,
                            const std::string& lang) const {
  if (!has_task(task)) return false;
  Group g = impl_->file.root().open_group("tasks").open_group(task);
  return g.exists(split) && g.open_group(split).exists(lang);
}

namespace {

// The group of one (task, split, language); a DataError when the cache has none.
Group open_split(const CacheReader& cache, const h5::File& file, const std::filesystem::path& path,
                 const std::string& task, const std::string& split, const std::string& language) {
  if (!cache.has_split(task, split, language))
    throw DataError(fmt::format("{}: expected {}/{}/{} in the cache, found none", path.string(),
                                task, split, language));
  return file.root().open_group("tasks").open_group(task).open_group(split).open_group(language);
}

}  // namespace

bool CacheReader::split_has_labels(const std::string& task, const std::string& split,
                                   const std::string& language) const {
  const Group g = open_split(*this, impl_->file, impl_->path, task, split, language);
  TaskType type = TaskType::kClassification;
  if (!parse_choice(g.attr_string("type"), &type))
    throw DataError(fmt::format("{}: {}: expected a task type attribute, found '{}'",
                                impl_->path.string(), g.path(), g.attr_string("type")));
  auto any_labelled = [&](const char* dataset) {
    const std::vector<int32_t> v = g.read<int32_t>(dataset);
    return std::any_of(v.begin(), v.end(), [](int32_t l) { return l >= 0; });
  };
  switch (type) {  // as has_labels(SplitFeatures)
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
      return any_labelled("labels");
    case TaskType::kTagging:
      return any_labelled("word_labels");
    case TaskType::kExtractiveQA:
      return g.dataset_size("answer_texts") > 0;
    case TaskType::kRetrieval:
      return g.dataset_size("gold_query") > 0;
    case TaskType::kMLM:
      return g.dataset_size("input_ids_offsets") > 1;
  }
  return false;
}

int64_t CacheReader::dataset_size(const std::string& task, const std::string& split,
                                  const std::string& language, const std::string& dataset) const {
  return open_split(*this, impl_->file, impl_->path, task, split, language).dataset_size(dataset);
}

std::vector<int64_t> CacheReader::row_sizes(const std::string& task, const std::string& split,
                                            const std::string& language,
                                            const std::string& dataset) const {
  const Group g = open_split(*this, impl_->file, impl_->path, task, split, language);
  const std::vector<int64_t> offsets = g.read<int64_t>(dataset + "_offsets");
  std::vector<int64_t> sizes;
  for (size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1])
      throw DataError(fmt::format("{}/{}: expected ascending offsets, found a damaged index",
                                  g.path(), dataset));
    sizes.push_back(offsets[i] - offsets[i - 1]);
  }
  return sizes;
}

namespace {

// Checks of the values read from one split of the cache (issue 16: flipped label bytes once gave
// wrong scores with exit 0, flipped token ids a LibTorch trace): each index points inside what it
// indexes. Linear in the split's size, once per split a rank loads.
class SplitCheck {
 public:
  SplitCheck(std::string where, int64_t vocab) : where_(std::move(where)), vocab_(vocab) {}

  void ids(const Ragged<int32_t>& r, const char* name) const {
    for (size_t i = 0; i < r.values.size(); ++i)
      if (r.values[i] < 0 || (vocab_ > 0 && r.values[i] >= vocab_))
        fail(name, i, r.values[i], fmt::format("a token id in 0..{}", vocab_ - 1));
  }
  // Element i of dataset `name` holds v, expected in lo..hi (`what` says so in words).
  void in_range(int64_t v, size_t i, const char* name, int64_t lo, int64_t hi,
                const std::string& what) const {
    if (v < lo || v > hi) fail(name, i, v, what);
  }
  template <typename T>
  void in_range(const std::vector<T>& v, const char* name, int64_t lo, int64_t hi,
                const std::string& what) const {
    for (size_t i = 0; i < v.size(); ++i)
      in_range(static_cast<int64_t>(v[i]), i, name, lo, hi, what);
  }
  void rows(size_t found, size_t expected, const char* name) const {
    if (found != expected)
      throw DataError(fmt::format("{}/{}: expected {} rows, found {} ({})", where_, name, expected,
                                  found, kDamaged));
  }
  // A label index: -1 (unlabeled) or one of n labels.
  std::string labels(size_t n) const {
    return n == 0 ? std::string("-1 (the task has no labels)")
                  : fmt::format("-1..{} (the task has {} labels)", n - 1, n);
  }

 private:
  static constexpr const char* kDamaged =
      "the cache is damaged or was written by another program: re-run prepare with --force";
  [[noreturn]] void fail(const char* name, size_t i, int64_t value, const std::string& what) const {
    throw DataError(fmt::format("{}/{}: expected {}, found {} at element {} ({})", where_, name,
                                what, value, i, kDamaged));
  }
  std::string where_;
  int64_t vocab_;
};

void check_split(const SplitFeatures& f, const CachedTask& task, int64_t vocab,
                 const std::string& where) {
  const SplitCheck c(where, vocab);
  const auto n_labels = static_cast<int64_t>(task.labels.size());
  switch (f.type) {
    case TaskType::kClassification:
      c.ids(f.classification.input_ids, "input_ids");
      c.rows(f.classification.input_ids.rows(), f.classification.labels.size(), "input_ids");
      c.in_range(f.classification.labels, "labels", -1, n_labels - 1, c.labels(task.labels.size()));
      break;
    case TaskType::kMultipleChoice: {
      const auto& m = f.multiple_choice;
      if (m.num_choices != task.num_choices || m.num_choices < 2)
        throw DataError(
            fmt::format("{}: expected {} choices per example, found {} (re-run prepare "
                        "with --force)",
                        where, task.num_choices, m.num_choices));
      c.ids(m.input_ids, "input_ids");
      c.rows(m.input_ids.rows(), m.labels.size() * static_cast<size_t>(m.num_choices), "input_ids");
      c.in_range(m.labels, "labels", -1, m.num_choices - 1,
                 fmt::format("-1..{} (the task has {} choices)", m.num_choices - 1, m.num_choices));
      break;
    }
    case TaskType::kTagging: {
      const auto& t = f.tagging;
      c.ids(t.input_ids, "input_ids");
      c.rows(t.word_index.rows(), t.input_ids.rows(), "word_index");
      c.rows(t.word_labels.rows(), t.input_ids.rows(), "word_labels");
      c.in_range(t.word_labels.values, "word_labels", -1, n_labels - 1,
                 c.labels(task.labels.size()));
      for (size_t r = 0; r < t.word_index.rows(); ++r) {
        c.rows(static_cast<size_t>(t.word_index.row_size(r)),
               static_cast<size_t>(t.input_ids.row_size(r)), "word_index");
        for (int64_t j = 0; j < t.word_index.row_size(r); ++j)
          c.in_range(t.word_index.row(r)[j], static_cast<size_t>(t.word_index.offsets[r] + j),
                     "word_index", -1, t.word_labels.row_size(r) - 1,
                     fmt::format("-1 or a word of sentence {}", r));
      }
      break;
    }
    case TaskType::kExtractiveQA: {
      const auto& q = f.qa;
      c.ids(q.input_ids, "input_ids");
      const size_t windows = q.input_ids.rows();
      c.rows(q.window_example.size(), windows, "window_example");
      c.rows(q.start_positions.size(), windows, "start_positions");
      c.rows(q.end_positions.size(), windows, "end_positions");
      c.rows(q.token_start.rows(), windows, "token_start");
      c.rows(q.token_end.rows(), windows, "token_end");
      c.in_range(q.window_example, "window_example", 0, static_cast<int64_t>(q.ids.size()) - 1,
                 "an example index");
      for (size_t w = 0; w < windows; ++w) {
        const int64_t len = q.input_ids.row_size(w);
        const std::string what = fmt::format("a token of window {} ({} tokens)", w, len);
        c.in_range(q.start_positions[w], w, "start_positions", 0, len - 1, what);
        c.in_range(q.end_positions[w], w, "end_positions", 0, len - 1, what);
      }
      break;
    }
    case TaskType::kRetrieval: {
      const auto& r = f.retrieval;
      c.ids(r.query_ids, "query_ids");
      c.ids(r.candidate_ids, "candidate_ids");
      c.rows(r.gold_candidate.size(), r.gold_query.size(), "gold_candidate");
      c.in_range(r.gold_query, "gold_query", 0, static_cast<int64_t>(r.query_ids.rows()) - 1,
                 "a query index");
      c.in_range(r.gold_candidate, "gold_candidate", 0,
                 static_cast<int64_t>(r.candidate_ids.rows()) - 1, "a candidate index");
      break;
    }
    case TaskType::kMLM:
      c.ids(f.mlm.input_ids, "input_ids");
      break;
  }
}

}  // namespace

SplitFeatures CacheReader::read_split(const std::string& task, const std::string& split,
                                      const std::string& language) const {
  const Group g = open_split(*this, impl_->file, impl_->path, task, split, language);
  SplitFeatures f = read_features(g);
  const CachedTask info = this->task(task);
  if (f.type != info.type)
    throw DataError(
        fmt::format("{}: expected a {} split, found a {} one (re-run prepare with "
                    "--force)",
                    g.path(), choice_name(info.type), choice_name(f.type)));
  check_split(f, info, impl_->vocab_size, g.path());
  return f;
}

void check_cache_matches(const CacheReader& cache, const SweepConfig& config) {
  const std::string cache_path = config.cache_path().string();
  const std::string rerun =
      fmt::format("run `ordertune prepare --config {}` to re-tokenize", config.path.string());
  const nlohmann::json stored = nlohmann::json::parse(cache.settings_json(), nullptr, false);
  const nlohmann::json wanted = nlohmann::json::parse(featurizer_settings_json(config.data));
  if (!stored.is_object())
    throw DataError(fmt::format("{}: expected a settings attribute of JSON, found '{}' ({})",
                                cache_path, cache.settings_json(), rerun));
  for (const auto& [key, value] : wanted.items()) {
    const std::string found = stored.contains(key) ? stored[key].dump() : "none";
    if (found != value.dump())
      throw DataError(fmt::format("{}: prepared with data.{} = {}, but {} has {} ({})", cache_path,
                                  key, found, config.path.string(), value.dump(), rerun));
  }
  for (const std::string& name : config.tasks_used()) {
    if (!cache.has_task(name)) continue;  // TaskData names a missing task itself
    const TaskSpec& spec = config.registry.get(name);
    const CachedTask have = cache.task(name);
    const auto differs = [&](const std::string& what, const std::string& cached,
                             const std::string& configured) {
      if (cached != configured)
        throw DataError(fmt::format("{}: task '{}' was prepared with {} {}, but {} has {} ({})",
                                    cache_path, name, what, cached, config.path.string(),
                                    configured, rerun));
    };
    differs("type", choice_name(have.type), choice_name(spec.type));
    differs("metric", choice_name(have.metric), choice_name(spec.metric));
    differs("train_task", "'" + have.train_task + "'", "'" + spec.train_task + "'");
    if (spec.type == TaskType::kMultipleChoice)
      differs("num_choices", std::to_string(have.num_choices), std::to_string(spec.num_choices));
    if (!spec.labels.empty())  // an open tag set (CCG) is collected from the data
      differs("labels", to_json_array(have.labels), to_json_array(spec.labels));
    // A [targets.<task>] gold folder set (or moved) after prepare: the cached test split is not
    // the one the config scores.
    const auto test = spec.paths.find(kSplitTest);
    if (!have.test_path.empty() && test != spec.paths.end())
      differs("test files", "'" + have.test_path + "'", "'" + test->second + "'");
  }
}

}  // namespace ordertune

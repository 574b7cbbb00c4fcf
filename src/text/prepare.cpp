#include "ordertune/text/prepare.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/base/log.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/data/task_reader.h"
#include "ordertune/text/demo_data.h"
#include "ordertune/text/featurizer.h"
#include "ordertune/text/tokenizer.h"

namespace ordertune {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open file for reading", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A stable text form of everything in a task spec that affects reading.
std::string spec_fingerprint(const TaskSpec& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["type"] = choice_name(s.type);
  j["format"] = s.format;
  j["metric"] = choice_name(s.metric);
  j["paths"] = s.paths;
  j["languages"] = s.languages;
  j["labels"] = s.labels;
  j["options"] = s.options;
  j["train_task"] = s.train_task;
  j["num_choices"] = s.num_choices;
  return j.dump();
}

// Which splits of a task the sweep needs: intermediate-only tasks train and select on dev;
// targets also evaluate on test; an MLM corpus needs train (and dev if it has one).
std::vector<std::string> splits_needed(const SweepConfig& config, const TaskSpec& spec) {
  const bool is_target =
      std::find(config.targets.begin(), config.targets.end(), spec.name) != config.targets.end();
  std::vector<std::string> out;
  for (const char* split : {kSplitTrain, kSplitDev, kSplitTest}) {
    if (!spec.paths.count(split)) continue;
    if (std::string(split) == kSplitTest && !is_target) continue;
    // A target that fine-tunes on another task's data needs no train split of its own.
    if (std::string(split) == kSplitTrain && is_target && !spec.train_task.empty()) {
      bool used_elsewhere = false;
      for (const auto& t : config.intermediate_tasks()) used_elsewhere |= (t == spec.name);
      if (!used_elsewhere) continue;
    }
    out.push_back(split);
  }
  return out;
}

std::vector<std::string> languages_needed(const SweepConfig& config, const TaskSpec& spec,
                                          const std::string& split) {
  auto it = spec.languages.find(split);
  std::vector<std::string> langs =
      it == spec.languages.end() ? std::vector<std::string>{"en"} : it->second;
  if (config.data.languages.empty() || spec.type == TaskType::kMLM) return langs;
  std::vector<std::string> kept;
  for (const auto& l : langs) {
    const bool wanted = std::find(config.data.languages.begin(), config.data.languages.end(), l) !=
                        config.data.languages.end();
    if (wanted || l == "en") kept.push_back(l);
  }
  return kept;
}

// Whether a split as read has labels (the featurizer's has_labels, before tokenizing).
bool raw_has_labels(const RawSplit& raw) {
  switch (raw.type) {
    case TaskType::kClassification:
      return std::any_of(raw.classification.begin(), raw.classification.end(),
                         [](const ClassificationExample& e) { return !e.label.empty(); });
    case TaskType::kMultipleChoice:
      return std::any_of(raw.multiple_choice.begin(), raw.multiple_choice.end(),
                         [](const MultipleChoiceExample& e) { return e.label >= 0; });
    case TaskType::kTagging:
      return std::any_of(raw.tagging.begin(), raw.tagging.end(),
                         [](const TaggingExample& e) { return !e.tags.empty(); });
    case TaskType::kExtractiveQA:
      return std::any_of(raw.qa.begin(), raw.qa.end(),
                         [](const QAExample& e) { return !e.answer_texts.empty(); });
    case TaskType::kRetrieval:
      return !raw.retrieval.gold.empty();
    case TaskType::kMLM:
      return !raw.mlm_lines.empty();
  }
  return false;
}

// Labels as a first pass noted them: "split/language" for every labelled split.
LabelledFn labelled_in(const std::set<std::string>& labelled) {
  return [&labelled](const std::string& split, const std::string& language) {
    return labelled.count(split + "/" + language) != 0;
  };
}

// What prepare asks a reader for: (split, language) of a task under data.root, capped by
// data.max_examples.
ReadRequest split_request(const SweepConfig& config, const TaskSpec& spec, const std::string& split,
                          const std::string& language) {
  ReadRequest req;
  req.path = task_split_path(spec, split, language, config.data_root());
  req.split = split;
  req.language = language;
  req.max_examples = config.data.max_examples;
  return req;
}

// Reads the splits a task needs one at a time (prepare streams: one split's text and features in
// memory, whatever the data size), calling visit(split, language, raw) for each, in a fixed order.
// The content hash covers the task definition and every file read (each file's bytes once).
template <typename Visit>
std::string for_each_split(const SweepConfig& config, const TaskSpec& spec,
                           const std::string& base_hash, Visit visit) {
  Hasher h;
  h.field(base_hash).field(spec_fingerprint(spec));
  std::set<std::string> hashed;  // a file several splits read (Mewsli-X's candidates): once
  for (const std::string& split : splits_needed(config, spec)) {
    for (const std::string& lang : languages_needed(config, spec, split)) {
      const RawSplit raw = read_task_split(spec, split_request(config, spec, split, lang));
      h.field(split).field(lang);
      for (const auto& f : raw.files) {
        h.field(f);
        if (hashed.insert(f).second) h.file(f);
      }
      visit(split, lang, raw);
    }
  }
  return h.hex();
}

// What a first pass over a task learns without keeping its text: the content hash, the label
// set, and which splits have labels.
struct TaskScan {
  std::string content_hash;
  // The registry's label set, else (an open set: CCG's supertags) the sorted labels of the
  // training split; an open tagging set ends in kUnseenTag, which a dev or test tag the training
  // split lacks becomes (the model is never trained on it: such words count as wrong).
  std::vector<std::string> labels;
  std::set<std::string> labelled;  // "split/language" with labels
  bool has_test = false;
  int64_t examples = 0;  // read, over every split
};

TaskScan scan_task(const SweepConfig& config, const TaskSpec& spec, const std::string& base_hash) {
  TaskScan scan;
  const std::vector<std::string> splits = splits_needed(config, spec);
  const bool has_train = std::find(splits.begin(), splits.end(), kSplitTrain) != splits.end();
  const bool open_set = spec.labels.empty() &&
                        (spec.type == TaskType::kClassification || spec.type == TaskType::kTagging);
  std::set<std::string> all;
  scan.content_hash =
      for_each_split(config, spec, base_hash,
                     [&](const std::string& split, const std::string& lang, const RawSplit& raw) {
                       scan.examples += static_cast<int64_t>(raw.size());
                       if (raw_has_labels(raw)) scan.labelled.insert(split + "/" + lang);
                       if (split == kSplitTest) scan.has_test = true;
                       if (open_set && (split == kSplitTrain || !has_train))
                         for (const auto& l : collect_labels(raw)) all.insert(l);
                     });
  if (!open_set) {
    if (!spec.labels.empty()) scan.labels = spec.labels;
    return scan;
  }
  scan.labels.assign(all.begin(), all.end());
  if (spec.type == TaskType::kTagging && has_train) scan.labels.push_back(kUnseenTag);
  return scan;
}

// Hash of the tokenizer's training inputs, kept next to a trained model to know it is current.
std::string tiny_tokenizer_stamp(const SweepConfig& config,
                                 const std::vector<std::filesystem::path>& corpus) {
  Hasher h;
  h.field("spm-v1").field(std::to_string(config.model.tiny.vocab_size));
  for (const auto& f : corpus) h.field(f.string()).file(f);
  return h.hex();
}

// ---- the steps of run_prepare ---------------------------------------------------------------

// The demo suite under data.root, generated unless a complete one for these options is there.
void ensure_demo_suite(const SweepConfig& config) {
  DemoOptions demo;
  demo.seed = config.data.demo_seed;
  demo.scale = config.data.demo_scale;
  if (demo_data_present(config.data_root(), demo)) return;
  const auto tg = Clock::now();
  log::info("generating the demo suite under {} (seed {}, scale {})", config.data_root().string(),
            demo.seed, demo.scale);
  generate_demo_data(config.data_root(), config.registry, demo);
  log::info("demo suite written in {:.1f} s", seconds_since(tg));
}

// The tiny model's tokenizer at `model`, trained on the pretraining corpus unless the one
// there was trained on these very inputs (a hash of them is kept beside it).
void ensure_tiny_tokenizer(const SweepConfig& config, const std::filesystem::path& model) {
  const TaskSpec& mlm = config.registry.get(config.model.tiny.pretrain_task);
  std::vector<std::filesystem::path> corpus;
  for (const auto& lang : languages_needed(config, mlm, kSplitTrain))
    corpus.push_back(task_split_path(mlm, kSplitTrain, lang, config.data_root()));
  const std::string stamp = tiny_tokenizer_stamp(config, corpus);
  std::filesystem::path stamp_path = model;
  stamp_path += ".inputs-hash";
  std::string old_stamp;
  if (std::filesystem::exists(stamp_path) && std::filesystem::exists(model))
    old_stamp = read_file_bytes(stamp_path);
  if (old_stamp == stamp) return;
  const auto tt = Clock::now();
  log::info("training a sentencepiece model ({} pieces) on {} corpus files",
            config.model.tiny.vocab_size, corpus.size());
  if (model.has_parent_path()) std::filesystem::create_directories(model.parent_path());
  std::filesystem::path prefix = model;
  prefix.replace_extension();  // trainer appends ".model"
  XlmrTokenizer::train(corpus, config.model.tiny.vocab_size, prefix);
  std::ofstream(stamp_path, std::ios::binary) << stamp;
  log::info("tokenizer trained in {:.1f} s: {}", seconds_since(tt), model.string());
}

// The existing cache, to reuse its current tasks (none when forced or unreadable).
void open_previous_cache(const std::filesystem::path& cache, const PrepareOptions& options,
                         std::optional<CacheReader>* old) {
  if (!std::filesystem::exists(cache) || options.force) return;
  try {
    old->emplace(cache);
  } catch (const Error& e) {
    log::warn("ignoring the existing cache: {}", e.what());
  }
}

using TaskScans = std::vector<std::pair<std::string, TaskScan>>;  // task name, its first pass

// Every task the config uses, scanned (read, hashed, forgotten) one after another.
TaskScans scan_tasks(const SweepConfig& config, const std::string& base_hash) {
  TaskScans scans;
  const std::vector<std::string> names = config.tasks_used();
  for (size_t i = 0; i < names.size(); ++i) {
    const auto ts = Clock::now();
    scans.emplace_back(names[i], scan_task(config, config.registry.get(names[i]), base_hash));
    release_reader_cache();
    log::info("read {} ({}/{}, first pass: hash and labels): {} examples in {:.1f} s", names[i],
              i + 1, names.size(), scans.back().second.examples, seconds_since(ts));
  }
  return scans;
}

// The languages a target is evaluated in, from the config (data_cache.h target_languages on a
// cache): its test split's, else its dev split's.
std::vector<std::string> configured_target_languages(const SweepConfig& config,
                                                     const TaskSpec& spec) {
  for (const char* split : {kSplitTest, kSplitDev})
    if (spec.paths.count(split)) return languages_needed(config, spec, split);
  return {};
}

// Prepare's warning for each target whose data gives a language no labelled split (plan and sweep
// refuse such a config; `prepare --check` lists it).
void warn_unscorable(const SweepConfig& config, const TaskScans& scans) {
  for (const auto& [name, scan] : scans) {
    if (std::find(config.targets.begin(), config.targets.end(), name) == config.targets.end())
      continue;
    const LabelledFn fn = labelled_in(scan.labelled);
    const auto languages = configured_target_languages(config, config.registry.get(name));
    const auto missing = unscorable_languages(config, name, languages, fn);
    if (!missing.empty())
      log::warn("{}", unscorable_message(config, name, languages, missing, config.path.string()));
  }
}

// Whether the previous cache holds this task as just read.
bool is_current(const std::optional<CacheReader>& old, const std::string& name,
                const TaskScan& scan) {
  return old && old->has_task(name) && old->task(name).content_hash == scan.content_hash;
}

// Whether the previous cache holds exactly these tasks, every one current.
bool all_current(const std::optional<CacheReader>& old, const TaskScans& scans) {
  if (!old || old->task_names().size() != scans.size()) return false;
  for (const auto& [name, scan] : scans)
    if (!is_current(old, name, scan)) return false;
  return true;
}

FeaturizerOptions featurizer_options(const DataConfig& d) {
  FeaturizerOptions fopts;
  fopts.max_length = d.max_length;
  fopts.qa_max_length = d.qa_max_length;
  fopts.qa_stride = d.qa_stride;
  fopts.qa_max_query_length = d.qa_max_query_length;
  return fopts;
}

// Token ids a split's features hold (what the tokenizer produced for it).
int64_t token_count(const SplitFeatures& f) {
  switch (f.type) {
    case TaskType::kClassification:
      return static_cast<int64_t>(f.classification.input_ids.values.size());
    case TaskType::kMultipleChoice:
      return static_cast<int64_t>(f.multiple_choice.input_ids.values.size());
    case TaskType::kTagging:
      return static_cast<int64_t>(f.tagging.input_ids.values.size());
    case TaskType::kExtractiveQA:
      return static_cast<int64_t>(f.qa.input_ids.values.size());
    case TaskType::kRetrieval:
      return static_cast<int64_t>(f.retrieval.query_ids.values.size() +
                                  f.retrieval.candidate_ids.values.size());
    case TaskType::kMLM:
      return static_cast<int64_t>(f.mlm.input_ids.values.size());
  }
  return 0;
}

// A changed task tokenized into the new cache: its splits read again one at a time, each
// featurized and written before the next is read. A file that changed since the first pass
// (another process writing the data) stops prepare rather than store a hash of other contents.
void tokenize_task(const SweepConfig& config, const std::string& name, const TaskScan& scan,
                   const std::string& base_hash, const Featurizer& featurizer, CacheWriter* writer,
                   PrepareSummary* summary) {
  const TaskSpec& spec = config.registry.get(name);
  CachedTask cached;
  cached.name = name;
  cached.type = spec.type;
  cached.format = spec.format;
  cached.metric = spec.metric;
  cached.train_task = spec.train_task;
  cached.labels = scan.labels;
  cached.num_choices = spec.num_choices;
  cached.content_hash = scan.content_hash;
  if (scan.has_test) cached.test_path = spec.paths.at(kSplitTest);
  writer->begin_task(cached);
  // Retrieval: a candidate set already stored for another split or language of the task (each
  // Mewsli-X language ranks against the same ~1M entities) is linked to, not tokenized again.
  std::map<uint64_t, std::string> stored_candidates;  // hash of the raw set -> "split/lang"
  const std::string hash = for_each_split(
      config, spec, base_hash,
      [&](const std::string& split, const std::string& lang, const RawSplit& raw) {
        const auto ts = Clock::now();
        std::string candidates_of;
        if (raw.type == TaskType::kRetrieval && !raw.retrieval.candidates.empty()) {
          Hasher h;
          for (const RetrievalItem& c : raw.retrieval.candidates)
            h.field(c.id).field(c.text).field(c.context).field(c.language);
          const auto [it, first] = stored_candidates.emplace(h.digest(), split + "/" + lang);
          if (!first) candidates_of = it->second;
        }
        int64_t unseen = 0;
        const SplitFeatures features =
            featurizer.featurize(spec, cached.labels, raw, &unseen, candidates_of.empty());
        if (unseen > 0)
          log::warn(
              "{}/{}/{}: {} tag(s) not in the training split's tag set, mapped to '{}', a tag "
              "no training word has",
              name, split, lang, unseen, kUnseenTag);
        writer->write_split(name, split, lang, features, candidates_of);
        const double dt = seconds_since(ts);
        summary->examples += static_cast<int64_t>(features.size());
        summary->tokens += token_count(features);
        log::info(
            "{}/{}/{}: {} examples in {:.2f} s ({:.0f} examples/s){}", name, split, lang,
            features.size(), dt, dt > 0 ? static_cast<double>(features.size()) / dt : 0.0,
            candidates_of.empty() ? "" : fmt::format("; candidates linked to {}'s", candidates_of));
      });
  if (hash != scan.content_hash)
    throw DataError(fmt::format(
        "task {}: its files changed while prepare was reading them (the cache is left as it "
        "was); run prepare again once nothing writes under {}",
        name, config.data_root().string()));
  ++summary->tasks_tokenized;
}

// The new cache: the header (settings, tokenizer), then each task copied from the previous
// cache when current, else tokenized; written under a temporary name and renamed at the end.
void write_cache(const SweepConfig& config, const XlmrTokenizer& tokenizer,
                 const std::string& settings, const std::string& tokenizer_hash,
                 const std::string& base_hash, const TaskScans& scans,
                 std::optional<CacheReader>* old, PrepareSummary* summary) {
  const Featurizer featurizer(tokenizer, featurizer_options(config.data));
  nlohmann::json settings_doc = nlohmann::json::parse(settings);
  settings_doc["tokenizer_model"] = summary->tokenizer_model.string();
  settings_doc["config"] = config.path.string();
  settings_doc["vocab_size"] = tokenizer.vocab_size();  // the sweep never loads sentencepiece
  CacheWriter writer(summary->cache);
  writer.write_header(settings_doc.dump(), tokenizer.serialized(), tokenizer_hash);
  for (const auto& [name, scan] : scans) {
    if (is_current(*old, name, scan)) {
      writer.copy_task_from(summary->cache, name);
      ++summary->tasks_reused;
      log::info("{}: up to date, reused", name);
      continue;
    }
    tokenize_task(config, name, scan, base_hash, featurizer, &writer, summary);
    release_reader_cache();
  }
  old->reset();  // close before the rename replaces it
  writer.commit();
}

}  // namespace

std::filesystem::path tokenizer_model_path(const SweepConfig& config) {
  if (!config.model.tokenizer.empty()) return config.model.tokenizer;
  if (!config.model.checkpoint.empty())
    return std::filesystem::path(config.model.checkpoint) / "sentencepiece.bpe.model";
  std::filesystem::path p = config.cache_path();
  p.replace_extension(".spm.model");
  return p;
}

PrepareSummary run_prepare(const SweepConfig& config, const PrepareOptions& options) {
  const auto t0 = Clock::now();
  PrepareSummary summary;
  summary.cache = config.cache_path();

  // 1. The demo suite, generated on first use.
  if (config.data.demo) ensure_demo_suite(config);

  // 2. The tokenizer: given, from the checkpoint, or trained on the pretraining corpus.
  summary.tokenizer_model = tokenizer_model_path(config);
  if (config.model.tokenizer.empty() && config.model.checkpoint.empty())
    ensure_tiny_tokenizer(config, summary.tokenizer_model);
  const XlmrTokenizer tokenizer = XlmrTokenizer::from_file(summary.tokenizer_model);
  const std::string tokenizer_hash = hash_hex(tokenizer.serialized());
  const std::string settings = featurizer_settings_json(config.data);
  const std::string base_hash = Hasher().field(settings).field(tokenizer_hash).hex();

  // 3. Which tasks are current in the existing cache.
  std::optional<CacheReader> old;
  open_previous_cache(summary.cache, options, &old);

  // 4. Read every task one split at a time; hash what was read; when nothing changed, leave the
  //    cache as it is.
  const TaskScans scans = scan_tasks(config, base_hash);
  warn_unscorable(config, scans);
  if (all_current(old, scans)) {
    summary.up_to_date = true;
    summary.tasks_reused = static_cast<int>(scans.size());
    summary.seconds = seconds_since(t0);
    log::info("cache {} is up to date ({} tasks)", summary.cache.string(), scans.size());
    return summary;
  }

  // 5. Tokenize what changed (read again, one split at a time), copy the rest.
  write_cache(config, tokenizer, settings, tokenizer_hash, base_hash, scans, &old, &summary);
  summary.seconds = seconds_since(t0);
  log::info("cache written: {} ({} tasks tokenized, {} reused, {} examples, {} tokens, {:.1f} s)",
            summary.cache.string(), summary.tasks_tokenized, summary.tasks_reused, summary.examples,
            summary.tokens, summary.seconds);
  return summary;
}

// ---- `ordertune prepare --check`
// -----------------------------------------------------------------

namespace {

// Whether every file of a request is there (ANLI: each round's).
bool request_files_exist(const TaskSpec& spec, const ReadRequest& req) {
  std::error_code ec;
  for (const auto& [file, round] : round_files(spec, req.path.string()))
    if (!std::filesystem::exists(file, ec)) return false;
  return true;
}

}  // namespace

int check_prepare_inputs(const SweepConfig& config, std::ostream& out) {
  if (config.data.demo) ensure_demo_suite(config);  // what prepare would read
  int missing = 0, unreadable = 0;
  std::map<std::string, std::set<std::string>> labelled;  // task -> "split/lang"
  out << fmt::format("{:<16} {:<5} {:<8} {:<10} {:>9} {:<6} {}\n", "task", "split", "language",
                     "status", "examples", "labels", "path");
  for (const std::string& name : config.tasks_used()) {
    const TaskSpec& spec = config.registry.get(name);
    for (const std::string& split : splits_needed(config, spec)) {
      for (const std::string& lang : languages_needed(config, spec, split)) {
        const ReadRequest req = split_request(config, spec, split, lang);
        std::string status = "present", examples = "-", labels = "-", note;
        if (!request_files_exist(spec, req)) {
          status = "missing";
          ++missing;
        } else {
          try {
            const RawSplit raw = read_task_split(spec, req);
            examples = std::to_string(raw.size());
            const bool has = raw_has_labels(raw);
            labels = has ? "yes" : "no";
            if (has) labelled[name].insert(split + "/" + lang);
          } catch (const Error& e) {
            status = "unreadable";
            note = std::string("  ") + e.what();
            ++unreadable;
          }
        }
        out << fmt::format("{:<16} {:<5} {:<8} {:<10} {:>9} {:<6} {}{}\n", name, split, lang,
                           status, examples, labels, req.path.string(), note);
      }
    }
  }
  out << "scoring (one split per target; dev and test never averaged together):\n";
  int refused = 0;
  for (const std::string& target : config.targets) {
    const auto languages = configured_target_languages(config, config.registry.get(target));
    const LabelledFn fn = labelled_in(labelled[target]);
    std::map<std::string, std::vector<std::string>> by_split;
    for (const std::string& lang : languages) {
      const std::string split = scoring_split(config, target, languages, fn, lang);
      by_split[split.empty() ? "not scored" : "on " + split].push_back(lang);
    }
    for (const auto& [how, langs] : by_split)
      out << fmt::format("  {} {}: {}\n", target, how, fmt::join(langs, " "));
    const auto cannot = unscorable_languages(config, target, languages, fn);
    if (!cannot.empty()) {
      ++refused;
      out << "  refused: "
          << unscorable_message(config, target, languages, cannot, config.path.string()) << "\n";
    }
  }
  out << fmt::format("{} missing, {} unreadable, {} target(s) plan and sweep would refuse\n",
                     missing, unreadable, refused);
  return missing + unreadable + refused;
}

}  // namespace ordertune

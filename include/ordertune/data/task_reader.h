// task_reader — reads a task's raw files (as distributed) into untokenized examples.
//
// One reader per file format; the format is chosen by TaskSpec::format. Readers never tokenize
// and never map labels to indices (that needs the task's label set, see featurizer.h): they
// return label strings with the file and line they came from, so every later error can name
// them. Every malformed input throws DataError "FILE:LINE: expected ..., found ...".
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ordertune/base/utf8.h"  // find_invalid_utf8, codepoint_to_byte_offset
#include "ordertune/config/task_registry.h"

namespace ordertune {

// Where an example came from, for error messages.
struct SourceLocation {
  std::string file;
  int64_t line = 0;
};

struct ClassificationExample {
  std::string id;
  std::string text_a;
  std::string text_b;  // empty for single-sentence tasks
  std::string label;   // label string as in the file; empty = unlabeled (hidden test labels)
  SourceLocation where;
};

struct MultipleChoiceExample {
  std::string id;
  std::string prompt;                // first segment of every choice's input
  std::vector<std::string> choices;  // second segment, one per choice
  int label = -1;                    // index of the right choice; -1 = unlabeled
  SourceLocation where;
};

struct TaggingExample {
  std::string id;
  std::vector<std::string> words;
  std::vector<std::string> tags;  // one per word; empty vector = unlabeled
  SourceLocation where;           // the first word's line
  bool line_per_word = false;     // word i is on line where.line + i (CoNLL-style files)
  // Where word i is (its own line in a CoNLL-style file, else the sentence's).
  SourceLocation word_where(size_t i) const {
    return line_per_word ? SourceLocation{where.file, where.line + static_cast<int64_t>(i)} : where;
  }
};

struct QAExample {
  std::string id;
  std::string question;
  std::string context;
  std::vector<std::string> answer_texts;  // all gold answers (dev/test may have several)
  std::vector<int64_t> answer_starts;     // BYTE offsets into the UTF-8 context, one per text
  bool is_impossible = false;             // SQuAD 2.0 unanswerable
  SourceLocation where;
};

// A retrieval item: a sentence, a question, a mention in context, or an entity description.
struct RetrievalItem {
  std::string id;
  std::string text;
  std::string context;  // optional second segment (LAReQA answer context, Mewsli-X mention context)
  std::string language;
};

// Queries are matched against candidates; gold lists the right (query, candidate) index pairs.
// Training pairs for Mewsli-X / LAReQA are a RetrievalSet whose gold pairs are positives.
struct RetrievalSet {
  std::vector<RetrievalItem> queries;
  std::vector<RetrievalItem> candidates;
  std::vector<std::pair<int64_t, int64_t>> gold;  // (query index, candidate index)
};

// Everything read from one (task, split, language) file set. Exactly one member is filled,
// according to the task type.
struct RawSplit {
  TaskType type = TaskType::kClassification;
  std::vector<ClassificationExample> classification;
  std::vector<MultipleChoiceExample> multiple_choice;
  std::vector<TaggingExample> tagging;
  std::vector<QAExample> qa;
  RetrievalSet retrieval;
  std::vector<std::string> mlm_lines;
  std::vector<std::string> files;  // every file that was read (for content hashing)

  size_t size() const;  // number of examples (queries for retrieval, lines for MLM)
};

// What a reader is asked to read.
struct ReadRequest {
  std::filesystem::path path;  // the split's path with {lang} substituted, under data.root
  std::string split;           // "train", "dev" or "test"
  std::string language;
  int64_t max_examples = 0;  // stop after this many examples; 0 = all
};

using ReaderFn = std::function<RawSplit(const TaskSpec&, const ReadRequest&)>;

// All readers by format name. The generic formats (usable by config-defined tasks, options in
// TaskSpec::options) are listed in task_reader.cpp; the built-in families add theirs.
const std::map<std::string, ReaderFn>& reader_formats();
void add_intermediate_readers(
    std::map<std::string, ReaderFn>& formats);                      // readers_intermediate.cpp
void add_xtreme_readers(std::map<std::string, ReaderFn>& formats);  // readers_xtreme.cpp

// Resolves the split's path for a language ("{lang}" and "{name}" substituted,
// TaskSpec::file_names) under root.
std::filesystem::path task_split_path(const TaskSpec& spec, const std::string& split,
                                      const std::string& language,
                                      const std::filesystem::path& root);

// The files one split path names, with their round: ANLI's path names each round's file by
// "{round}" (options.rounds = "1,2,3": ("…r1/train.jsonl", "1"), …); any other path is itself,
// round "". Throws ConfigError when options.rounds and "{round}" do not come together.
std::vector<std::pair<std::string, std::string>> round_files(const TaskSpec& spec,
                                                             const std::string& path);

// Reads one (split, language) of a task with the reader its format names.
RawSplit read_task_split(const TaskSpec& spec, const ReadRequest& request);
// The Mewsli-X reader keeps the last candidate set it parsed (~1M entities) for the next
// language's split, while the file is unchanged; this frees it (prepare: after each task).
void release_reader_cache();

// ---- building blocks shared by all readers -------------------------------------------------

// Reads a text file line by line: validates UTF-8, strips a trailing "\r", strips a UTF-8 BOM on
// the first line, counts lines from 1. Throws DataError for a missing file or bad UTF-8.
class LineReader {
 public:
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  bool next(std::string* line);
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  Impl* impl_;
  std::string path_;
  int64_t line_number_ = 0;
};

// Parses one JSONL line as an object. Error: "FILE:LINE: expected a JSON object, found ...".
nlohmann::json parse_json_object(const std::string& line, const std::string& file, int64_t line_no);
// Parses a whole JSON file (SQuAD layout). Errors name the line of the syntax error.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Field access with errors that name file, line and the field:
// "FILE:LINE: expected string field 'premise', found number 3".
const nlohmann::json& json_field(const nlohmann::json& object, const std::string& key,
                                 const SourceLocation& where);
std::string json_string(const nlohmann::json& object, const std::string& key,
                        const SourceLocation& where);
// Accepts a string or an integer (labels are "1" in some files and 1 in others).
std::string json_label(const nlohmann::json& object, const std::string& key,
                       const SourceLocation& where);
int64_t json_int(const nlohmann::json& object, const std::string& key, const SourceLocation& where);
// A short description of a JSON value for "found ...": "number 3", "null", "array of 2".
std::string describe_json(const nlohmann::json& value);

// Splits a TSV line on tabs (no quoting, as in the XTREME files).
std::vector<std::string> split_tabs(const std::string& line);

// A format option of the task (TaskSpec::options), or fallback when unset.
std::string task_option(const TaskSpec& spec, const std::string& key, const std::string& fallback);
// True once `count` examples satisfy request.max_examples (never when it is 0).
bool example_limit_reached(size_t count, const ReadRequest& request);

// Reads a SQuAD answer object {"text", "answer_start" (characters)} and returns the answer's
// BYTE offset in the UTF-8 context; DataError when the text is not at that offset.
size_t locate_squad_answer(const std::string& context, const nlohmann::json& answer,
                           const SourceLocation& where, std::string* text);

// Generic readers, exposed for the built-in families that reuse them.
// SQuAD JSON (v1.1 / v2.0, also XQuAD, MLQA, TyDiQA-GoldP): data[].paragraphs[].qas[].
RawSplit read_squad_json(const TaskSpec& spec, const ReadRequest& request);
// CoNLL-style tagging: "word<TAB>tag" per line (columns from options word_column / tag_column,
// defaults 0 / 1), a blank line between sentences; a missing tag column means unlabeled.
RawSplit read_conll(const TaskSpec& spec, const ReadRequest& request);
// TSV classification: columns from options text_a / text_b / label (indices; text_b / label may
// be "" for none), header = "true" skips the first line.
RawSplit read_tsv_classification(const TaskSpec& spec, const ReadRequest& request);
// JSONL: by task type, fields from options (classification: text_a, text_b, label, id;
// multiple_choice: prompt, choices (array field), label; tagging: words, tags; mlm: text).
RawSplit read_jsonl(const TaskSpec& spec, const ReadRequest& request);
// Plain text: one MLM line per non-empty line.
RawSplit read_text_lines(const TaskSpec& spec, const ReadRequest& request);

}  // namespace ordertune

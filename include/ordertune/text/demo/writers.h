// writers — the demo's examples in the real file formats, as the registry's format names them:
// jiant's pair JSONL (MNLI), HellaSwag JSONL and CCG lines; XTREME's TSV (XNLI), CoNLL (UD-POS),
// SQuAD JSON (SQuAD, XQuAD) and Tatoeba's line-aligned pair of files; plain text or JSONL
// corpora (MLM). The SuiteWriter puts the files on disk and lists them for the suite's stamp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ordertune/config/task_registry.h"

namespace ordertune::demo {

// ---- what each task holds, before it is written in a format ---------------------------------

struct NliExample {
  std::string premise, hypothesis, label;
};

struct McExample {
  std::string activity, ctx_a, ctx_b;
  std::vector<std::string> endings;
  int label = -1;
};

struct QaQuestion {
  std::string id, question, answer;
  int64_t answer_start = 0;  // CHARACTER (code point) offset, as SQuAD's answer_start
};

struct QaParagraph {
  std::string context;
  std::vector<QaQuestion> qas;
};

struct TaggedSentence {
  std::vector<std::string> words, tags;
};

// ---- the files -------------------------------------------------------------------------------

class SuiteWriter {
 public:
  explicit SuiteWriter(std::filesystem::path root) : root_(std::move(root)) {}

  // Writes a whole file (creating folders) and remembers it for the stamp.
  void write(const std::filesystem::path& path, const std::string& content);

  const std::vector<std::pair<std::filesystem::path, size_t>>& files() const { return files_; }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::vector<std::pair<std::filesystem::path, size_t>> files_;
};

// spec.options[key], or fallback.
std::string option(const TaskSpec& spec, const std::string& key, const std::string& fallback);
// Throws ConfigError: the demo writes spec's task type only in the formats `what` lists.
[[noreturn]] void unsupported_format(const TaskSpec& spec, const std::string& what);

// A file's content in spec.format (each throws ConfigError for a format it does not write).
std::string nli_file(const TaskSpec& spec, const std::vector<NliExample>& examples,
                     const std::string& split);
std::string squad_file(const std::vector<QaParagraph>& paragraphs, const std::string& title);
std::string hellaswag_file(const std::vector<McExample>& examples, const std::string& split);
std::string tagging_file(const TaskSpec& spec, const std::vector<TaggedSentence>& sentences);
std::string lines_file(const std::vector<std::string>& lines);
// An MLM corpus, one line of text per example: "text" or "jsonl".
std::string corpus_file(const TaskSpec& spec, const std::vector<std::string>& lines);
// A Tatoeba language pair: the non-English side at `path`, the English side beside it with the
// extension options.target_extension; line i translates line i.
void write_tatoeba_pair(const TaskSpec& spec, const std::filesystem::path& path,
                        const std::vector<std::string>& source,
                        const std::vector<std::string>& english, SuiteWriter* w);

}  // namespace ordertune::demo

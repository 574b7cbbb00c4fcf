// submission — the XTREME / XTREME-R submission format: reading prediction and label files as
// google-research/xtreme's official evaluate.py reads them, and scoring them with metrics.h.
//
// Layout (evaluate.py evaluate()): <folder>/<task>/test-<lang>.<suffix>, the suffix "json" for
// QA tasks and Mewsli-X, "jsonl" for XCOPA, "tsv" otherwise; predictions and labels in two
// parallel folders. File formats, one reader each, following evaluate.py's readers:
//   tsv lines  (xnli, pawsx, tatoeba, bucc2018) read_label(): one example per line, every line
//              stripped of Unicode whitespace; blank lines are examples too (""). BUCC lines are
//              "src-id<TAB>trg-id" pairs; Tatoeba lines are indices of the retrieved sentence.
//   tag files  (udpos, panx) read_tag(): one tag per line, a blank line ends a sentence (two blank
//              lines make an empty sentence), a last sentence without a blank line still counts.
//   QA json    (xquad, mlqa, tydiqa) read_squad(): labels are a SQuAD dataset ({"data": [...]}
//              or the bare article list); predictions an object id -> answer text.
//   Mewsli-X   (mewslix) read_squad(): labels an object id -> [gold entity id], predictions an
//              object id -> ranked list of entity ids.
//   XCOPA      (xcopa) read_xcopa(): one JSON object per line with a "label".
// Lines end with "\n", "\r\n" or "\r" (Python's universal newlines); files must be UTF-8.
//
// Checks, as evaluate.py evaluate_one_task() makes them: prediction and label files hold the
// same number of examples for every task but bucc2018, mewslix and the QA tasks. Stricter than
// evaluate.py, and each one line naming the file (and line) so a broken submission is never
// scored silently: the sentences of tag files must also have equal lengths (seqeval >= 1.0 raises
// there too), files must not be empty, QA predictions must be strings, QA questions need at
// least one answer, Mewsli-X predictions must be lists.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ordertune/scoring/metrics.h"

namespace ordertune {

// ---- the scored tasks ---------------------------------------------------------------------------

enum class XtremeVersion {
  kXtreme,   // XTREME (Hu et al. 2020): evaluate.py XTREME_TASK2LANGS / XTREME_GROUP2TASK
  kXtremeR,  // XTREME-R (Ruder et al. 2021): XTREME_R_TASK2LANGS / XTREME_R_GROUP2TASK
};

// How evaluate.py reads and scores a task (its READER_FUNCTION and METRIC_FUNCTION).
enum class ScoreKind {
  kAccuracy,  // read_label + accuracy: xnli, pawsx, tatoeba
  kXcopa,     // read_xcopa + accuracy: xcopa
  kSeqeval,   // read_tag + seqeval f1/precision/recall: udpos, panx
  kBucc,      // read_label + bucc_f1: bucc2018
  kSquad,     // read_squad + evaluate_squad.py: xquad, tydiqa
  kMlqa,      // read_squad + evaluate_mlqa.py with the language: mlqa
  kMewslix,   // read_squad + utils_mewslix map@20: mewslix
};

struct ScoredTask {
  std::string name;                         // evaluate.py task name = folder name
  ScoreKind kind = ScoreKind::kAccuracy;    // reader and metric
  std::string suffix;                       // file suffix: "tsv", "json" or "jsonl"
  std::vector<std::string> xtreme_langs;    // XTREME_TASK2LANGS[name] in order; empty if absent
  std::vector<std::string> xtreme_r_langs;  // XTREME_R_TASK2LANGS[name] in order; empty if absent
  // True where evaluate.py compares example counts (all but bucc2018, mewslix and QA tasks).
  bool counts_must_match() const;
  const std::vector<std::string>& langs(XtremeVersion version) const;
  bool has_lang(const std::string& lang) const;  // in either version's list
};

// Every task evaluate.py can score, in XTREME then XTREME-R order. (LAReQA is listed in
// XTREME_R_TASK2LANGS with no languages and has no reader or metric there, so it is not here.)
const std::vector<ScoredTask>& scored_tasks();
// Throws ConfigError naming the known tasks when `name` is not one.
const ScoredTask& scored_task(const std::string& name);
// Task names of a version in evaluate.py's order (its TASK2LANGS), LAReQA left out.
std::vector<std::string> version_tasks(XtremeVersion version);
// Group name -> member tasks of a version (evaluate.py *_GROUP2TASK), in its order.
std::vector<std::pair<std::string, std::vector<std::string>>> version_groups(XtremeVersion version);

// ---- readers (each throws DataError naming the file, and the line where one applies) --------

std::vector<std::string> read_label_lines(const std::string& path);

struct TagFile {
  std::vector<std::vector<std::string>> sentences;
  std::vector<int64_t> first_lines;  // 1-based line of each sentence's first tag (or its blank)
};
TagFile read_tag_file(const std::string& path);

// XCOPA labels, each rendered so that two are equal exactly when Python's == says so
// (1 == 1.0 == true; "1" != 1).
std::vector<std::string> read_xcopa_labels(const std::string& path);

std::vector<QaQuestion> read_qa_labels(const std::string& path);
std::map<std::string, std::string> read_qa_predictions(const std::string& path);

// Gold (id, entity) pairs in file order (a repeated id keeps its first place and last value,
// as a Python dict does); the entity is the first of the id's list.
std::vector<std::pair<std::string, std::string>> read_mewslix_labels(const std::string& path);
// id -> ranked entity ids; a non-string entry keeps its rank but never matches.
std::map<std::string, std::vector<std::string>> read_mewslix_predictions(const std::string& path);

// ---- scoring one (task, language) ----------------------------------------------------------

// `ordertune score --task T --lang L --predictions P --labels G`.
struct ScoreOptions {
  std::string task;         // evaluate.py task name, e.g. "panx", "mlqa", "mewslix"
  std::string lang;         // language code in the task's XTREME or XTREME-R list
  std::string predictions;  // predictions file, e.g. predictions/panx/test-de.tsv
  std::string labels;       // labels file, e.g. labels/panx/test-de.tsv
  SeqevalTypeRule seqeval_rule = SeqevalTypeRule::kAfterLastDash;  // see metrics.h
};

struct LanguageScore {
  std::string task;
  std::string lang;
  MetricSet metrics;       // evaluate.py's keys and order, percent
  int64_t examples = 0;    // scored gold examples: lines, sentences, questions, pairs, mentions
  int64_t unanswered = 0;  // QA questions / Mewsli-X mentions without a prediction (scored 0)
};

// Reads both files and scores them. ConfigError for an unknown task or language, DataError
// for a missing, unreadable or malformed file.
LanguageScore score_files(const ScoreOptions& options);

// Scores and prints ONE JSON line {"task":T,"lang":L,<metric>:<value>,...} with evaluate.py's
// metric keys in its order; warns on stderr about unanswered questions. Returns kExitOk; bad
// input throws (ordertune::Error: ConfigError or DataError), main prints the one-line message.
int run_score(const ScoreOptions& options, std::ostream& out);

// ---- scoring whole folders (evaluate.py evaluate()) ----------------------------------------

struct TaskScores {
  std::string task;
  std::vector<std::string> langs;       // the version's language list, in its order
  std::vector<MetricSet> per_language;  // parallel to langs
  MetricSet averaged;                   // evaluate.py avg_<metric>, same names
  double score = 0.0;                   // evaluate.py avg_metric
};

struct SubmissionScores {
  std::vector<TaskScores> tasks;  // tasks with a folder in both, in the version's order
  std::vector<std::pair<std::string, double>> groups;  // groups whose tasks are all present
  bool has_overall = false;  // every task of the version present (evaluate.py all_task)
  double overall = 0.0;
};

// Scores every task that has a sub-folder in both folders, over all of the version's languages
// for it (a missing language file is a DataError, as evaluate.py raises FileNotFoundError).
SubmissionScores score_submission(const std::string& prediction_folder,
                                  const std::string& label_folder, XtremeVersion version,
                                  SeqevalTypeRule seqeval_rule = SeqevalTypeRule::kAfterLastDash);

}  // namespace ordertune

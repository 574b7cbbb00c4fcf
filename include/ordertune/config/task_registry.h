// task_registry — what each task is: format and paths as distributed, type, labels, splits,
// languages, metric.
//
// Built-in tasks cover the study's 9 English intermediate tasks in the layouts jiant's
// downloaders leave, the XTREME-R targets in the layout google-research/xtreme's
// download_data.sh leaves, BUCC and PAWS-X from XTREME, and MLM on raw text. A user adds a task
// (or overrides a built-in's paths or languages) with a [tasks.NAME] entry in the config; no
// code. Readers (task_reader.h) are chosen by `format`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ordertune/base/choice.h"

namespace ordertune {

enum class TaskType {
  kClassification,  // one text or a text pair -> one label (MNLI, QQP, XNLI, PAWS-X)
  kMultipleChoice,  // a prompt and N choices -> index of the right one (HellaSwag, XCOPA)
  kExtractiveQA,    // question + context -> answer span (SQuAD, XQuAD, MLQA, TyDiQA-GoldP)
  kTagging,         // words -> one tag per word (UD-POS, PAN-X, CCG)
  kRetrieval,       // queries and candidates -> ranked candidates (Tatoeba, BUCC, Mewsli-X, LAReQA)
  kMLM,             // raw text lines for masked language modelling
};

template <>
struct ChoiceTraits<TaskType> {
  static constexpr Spelling<TaskType> spellings[] = {
      {TaskType::kClassification, "classification"}, {TaskType::kMultipleChoice, "multiple_choice"},
      {TaskType::kExtractiveQA, "extractive_qa"},    {TaskType::kTagging, "tagging"},
      {TaskType::kRetrieval, "retrieval"},           {TaskType::kMLM, "mlm"},
  };
};

// How a task is scored: the official evaluate.py's function for it (metrics.h).
enum class Metric {
  kAccuracy,   // classification, multiple choice, Tatoeba (accuracy of the nearest neighbour)
  kSeqevalF1,  // tagging: seqeval entity F1 (PAN-X), or token accuracy-like F1 (UD-POS)
  kSquad,      // extractive QA: SQuAD v1.1 EM/F1
  kMlqa,       // extractive QA: MLQA's language-aware normalisation
  kBuccF1,     // bitext mining F1 with a threshold tuned on dev (BUCC 2018)
  kMap20,      // rankings: mean average precision at 20 (Mewsli-X, LAReQA)
  kMlm,        // masked LM accuracy (pretraining corpus only)
};
template <>
struct ChoiceTraits<Metric> {
  static constexpr Spelling<Metric> spellings[] = {
      {Metric::kAccuracy, "accuracy"}, {Metric::kSeqevalF1, "seqeval_f1"},
      {Metric::kSquad, "squad"},       {Metric::kMlqa, "mlqa"},
      {Metric::kBuccF1, "bucc_f1"},    {Metric::kMap20, "map@20"},
      {Metric::kMlm, "mlm"},
  };
};

// The canonical split names. Readers and the cache use exactly these.
inline constexpr const char* kSplitTrain = "train";
inline constexpr const char* kSplitDev = "dev";
inline constexpr const char* kSplitTest = "test";

struct TaskSpec {
  std::string name;  // registry key, e.g. "mnli", "xquad"
  TaskType type = TaskType::kClassification;
  std::string format;  // reader name (see task_reader.h: reader_formats())
  Metric metric = Metric::kAccuracy;
  // split -> path relative to data.root; "{lang}" is replaced by the language code. Some
  // formats need several files per split (e.g. BUCC source + target + gold): they derive the
  // others from this one path, as documented per format.
  std::map<std::string, std::string> paths;
  // split -> languages present in that split.
  std::map<std::string, std::vector<std::string>> languages;
  // Label set in index order (classification, tagging). Empty for tagging tasks with an open tag
  // set (CCG): the labels are then collected from the training split, sorted.
  std::vector<std::string> labels;
  // Format options for the generic readers (field names of a JSONL record, TSV columns, header).
  std::map<std::string, std::string> options;
  // Targets only: the task whose English training split fine-tunes this target; "" = its own
  // train split (e.g. XNLI trains on MNLI, XQuAD and MLQA on SQuAD v1.1).
  std::string train_task;
  int num_choices = 0;      // multiple choice: choices per example
  std::string description;  // one line for `--help` style listings
  bool builtin = true;      // false for tasks defined in the config
  // language -> the name "{name}" stands for in paths (e.g. "arabic", "ara"); a language
  // without an entry keeps its code.
  std::map<std::string, std::string> file_names;
  // Targets whose download hides the test labels but whose original release is public with
  // them: how that release lays out the test split. `[targets.<task>] gold = "DIR"` (config.h)
  // reads the test split from DIR/test_path instead, with these `file_names` and `options`.
  struct GoldRelease {
    std::string test_path;  // relative to the gold folder; "{lang}", "{name}" as in paths
    std::map<std::string, std::string> file_names;
    std::map<std::string, std::string> options;  // format options it needs (merged in)
    std::string source;  // where it comes from, for messages (README "Getting the data")
  };
  GoldRelease gold;  // gold.test_path empty: no such release
};

// Formats any task type may use with options (task_reader.h documents each).
inline const std::vector<std::string> kGenericFormats = {"conll", "jsonl", "squad_json", "text",
                                                         "tsv"};

class TaskRegistry {
 public:
  // The registry of built-in tasks.
  static TaskRegistry builtin();

  bool contains(const std::string& name) const { return tasks_.count(name) != 0; }
  // Throws ConfigError naming the task if it is unknown.
  const TaskSpec& get(const std::string& name) const;
  void add(TaskSpec spec);  // adds or replaces
  std::vector<std::string> names() const;
  // Every format a task may name: the generic ones plus those of the registered tasks, sorted.
  std::vector<std::string> formats() const;

 private:
  std::map<std::string, TaskSpec> tasks_;
};

// Registration hooks, one per family of readers (defined next to those readers).
void register_intermediate_tasks(TaskRegistry& registry);  // readers_intermediate.cpp
void register_xtreme_tasks(TaskRegistry& registry);        // readers_xtreme.cpp

}  // namespace ordertune

#include "ordertune/text/demo/suite.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "ordertune/data/task_reader.h"
#include "ordertune/text/demo/languages.h"
#include "ordertune/text/demo/rng.h"
#include "ordertune/text/demo/tasks.h"

namespace ordertune::demo {
namespace {

// Example counts at scale 1.0 (the demo trains a tiny model on 2 CPU cores in minutes).
constexpr int kIntermediateTrain = 2000;
constexpr int kIntermediateEval = 300;  // dev and test of the English intermediate tasks
constexpr int kTargetTrain = 2000;      // English training split of a target with its own
constexpr int kTargetEval = 200;        // per language, dev and test of the targets
constexpr int kMlmTrain = 5000;         // lines per language
constexpr int kMlmEval = 500;
constexpr int kMinExamples = 4;  // floor after scaling, so that every split keeps some variety

const DemoTask* find_demo_task(const std::string& name) {
  for (const DemoTask& t : kDemoTasks)
    if (name == t.name) return &t;
  return nullptr;
}

int base_count(const DemoTask& task, const std::string& split) {
  const bool train = split == kSplitTrain;
  switch (task.role) {
    case Role::kIntermediate:
      return train ? kIntermediateTrain : kIntermediateEval;
    case Role::kTarget:
      return train ? kTargetTrain : kTargetEval;
    case Role::kMlm:
      return train ? kMlmTrain : kMlmEval;
  }
  return 0;
}

int scaled(int count, double scale) {
  return std::max(kMinExamples, static_cast<int>(std::lround(count * scale)));
}

// The languages written for a split: English for intermediate tasks and target training splits,
// every demo language for MLM and the targets' evaluation splits (Tatoeba without English), and
// any demo language the registry entry lists besides.
std::vector<std::string> split_languages(const DemoTask& task, const TaskSpec& spec,
                                         const std::string& split) {
  std::vector<std::string> out;
  const auto listed = spec.languages.find(split);
  for (const std::string& code : demo_languages()) {
    bool wanted = false;
    switch (task.role) {
      case Role::kIntermediate:
        wanted = code == "en";
        break;
      case Role::kMlm:
        wanted = true;
        break;
      case Role::kTarget:
        wanted = split == kSplitTrain ? code == "en" : code != "en" || task.english_evaluated;
        break;
    }
    if (listed != spec.languages.end() &&
        std::find(listed->second.begin(), listed->second.end(), code) != listed->second.end())
      wanted = true;
    if (wanted) out.push_back(code);
  }
  return out;
}

void write_nli(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  const std::vector<NliItem> items = nli_items(rng, job.count);
  for (const std::string& code : job.langs) {
    std::vector<NliExample> examples;
    for (const NliItem& item : items) examples.push_back(render_nli(item, language(code)));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             nli_file(*job.spec, examples, job.split));
  }
}

void write_qa(const SplitJob& job, SuiteWriter* w) {
  if (job.spec->format != "squad_json" && job.spec->format != "xtreme_squad_json")
    unsupported_format(*job.spec, "squad_json or xtreme_squad_json");
  Rng rng(job.seed, job.stream);
  const std::vector<QaParagraphItem> items = qa_items(rng, job.count);
  for (const std::string& code : job.langs) {
    std::vector<QaParagraph> paragraphs;
    for (size_t i = 0; i < items.size(); ++i)
      paragraphs.push_back(render_paragraph(
          items[i], language(code), fmt::format("{}-{}-p{}", job.spec->name, job.split, i)));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             squad_file(paragraphs, "demo_" + job.spec->name));
  }
}

void write_hellaswag(const SplitJob& job, SuiteWriter* w) {
  if (job.spec->format != "hellaswag_jsonl") unsupported_format(*job.spec, "hellaswag_jsonl");
  Rng rng(job.seed, job.stream);
  std::vector<McExample> examples;
  for (int i = 0; i < job.count; ++i) examples.push_back(make_hellaswag(rng));
  for (const std::string& code : job.langs)
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             hellaswag_file(examples, job.split));
}

void write_ccg(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  std::vector<TaggedSentence> sentences;
  for (int i = 0; i < job.count; ++i) sentences.push_back(ccg_sentence(rng));
  for (const std::string& code : job.langs)
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             tagging_file(*job.spec, sentences));
}

void write_udpos(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  std::vector<SentenceItem> items;
  for (int i = 0; i < job.count; ++i) items.push_back(random_sentence(rng, 0.3));
  for (const std::string& code : job.langs) {
    std::vector<TaggedSentence> sentences;
    for (const SentenceItem& item : items)
      sentences.push_back(pos_sentence(render_sentence(item, language(code))));
    w->write(task_split_path(*job.spec, job.split, code, w->root()),
             tagging_file(*job.spec, sentences));
  }
}

void write_tatoeba(const SplitJob& job, SuiteWriter* w) {
  Rng rng(job.seed, job.stream);
  const std::vector<SentenceItem> items = unique_sentences(rng, job.count, 0.2);
  for (const std::string& code : job.langs) {
    std::vector<std::string> source, english;
    for (const SentenceItem& item : items) {
      source.push_back(sentence_text(render_sentence(item, language(code))));
      english.push_back(sentence_text(render_sentence(item, language("en"))));
    }
    write_tatoeba_pair(*job.spec, task_split_path(*job.spec, job.split, code, w->root()), source,
                       english, w);
  }
}

void write_mlm(const SplitJob& job, SuiteWriter* w) {
  for (const std::string& code : job.langs) {
    // Monolingual corpora: each language its own sample, as real pretraining text is.
    Rng rng(job.seed, job.stream + "/" + code);
    const Language& lang = language(code);
    std::vector<std::string> lines;
    for (int i = 0; i < job.count; ++i) {
      std::vector<std::string> sentences;
      const int n = rng.range(1, 3);
      for (int k = 0; k < n; ++k)
        sentences.push_back(sentence_text(render_sentence(random_sentence(rng, 0.25), lang)));
      lines.push_back(join_sentences(sentences));
    }
    const std::filesystem::path path = task_split_path(*job.spec, job.split, code, w->root());
    w->write(path, corpus_file(*job.spec, lines));
  }
}

}  // namespace

SplitJob split_job(const DemoTask& task, const TaskSpec& spec, const std::string& split,
                   const DemoOptions& options) {
  SplitJob job;
  job.spec = &spec;
  job.split = split;
  job.langs = split_languages(task, spec, split);
  job.seed = options.seed;
  // A target's train split holds another task's training sample where the real layout does
  // (XNLI's train-en.tsv is MNLI's), or its train_task's if a config gives it one.
  std::string source_name = task.name;
  if (split == kSplitTrain && *task.train_source) source_name = task.train_source;
  if (split == kSplitTrain && find_demo_task(spec.train_task)) source_name = spec.train_task;
  job.count = scaled(base_count(*find_demo_task(source_name), split), options.scale);
  job.stream = fmt::format("{}/{}", source_name, split);
  return job;
}

void write_split(const DemoTask& task, const SplitJob& job, SuiteWriter* w) {
  const std::string name = task.name;
  if (name == "mnli" || name == "xnli")
    write_nli(job, w);
  else if (name == "squad_v1" || name == "xquad")
    write_qa(job, w);
  else if (name == "hellaswag")
    write_hellaswag(job, w);
  else if (name == "ccg")
    write_ccg(job, w);
  else if (name == "udpos")
    write_udpos(job, w);
  else if (name == "tatoeba")
    write_tatoeba(job, w);
  else
    write_mlm(job, w);
}

}  // namespace ordertune::demo

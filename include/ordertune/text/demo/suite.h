// suite — what the demo suite holds and how one of its splits is made: the demo tasks with their
// roles, the example count and the languages of each (task, split), and the job that samples a
// split once, renders it in each of its languages and writes the files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordertune/config/task_registry.h"
#include "ordertune/text/demo/writers.h"
#include "ordertune/text/demo_data.h"

namespace ordertune::demo {

enum class Role { kIntermediate, kTarget, kMlm };

struct DemoTask {
  const char* name;
  Role role;
  bool english_evaluated;    // the target's dev/test include English (not Tatoeba: en <-> lang)
  const char* train_source;  // whose training sample a target's own train split holds; "" = own
};

inline constexpr DemoTask kDemoTasks[] = {
    {"mnli", Role::kIntermediate, true, ""},
    {"squad_v1", Role::kIntermediate, true, ""},
    {"hellaswag", Role::kIntermediate, true, ""},
    {"ccg", Role::kIntermediate, true, ""},
    // XTREME's xnli/train-en.tsv is MNLI's training set (utils_preprocess.py xnli_preprocess).
    {"xnli", Role::kTarget, true, "mnli"},
    {"udpos", Role::kTarget, true, ""},
    {"xquad", Role::kTarget, true, ""},
    {"tatoeba", Role::kTarget, false, ""},
    {"mlm", Role::kMlm, true, ""},
};

// One (task, split) of the suite: what to sample and in which languages to write it.
struct SplitJob {
  const TaskSpec* spec;
  std::string split;
  std::vector<std::string> langs;
  int count;
  uint64_t seed;
  std::string stream;  // names the sample: "mnli/train" (XNLI's train split reuses it)
};

// The job of task's split under options (spec: the registry's entry for the task).
SplitJob split_job(const DemoTask& task, const TaskSpec& spec, const std::string& split,
                   const DemoOptions& options);
// Samples the job's split, renders it in each of its languages and writes the files.
void write_split(const DemoTask& task, const SplitJob& job, SuiteWriter* w);

}  // namespace ordertune::demo

// demo_data — a small synthetic multilingual suite written in the REAL file formats.
//
// English plus synthetic languages made by systematic lexical and word-order transformations
// of English that keep shared anchors (numbers, names), so that cross-lingual transfer exists
// and is measurable. Files are written where the built-in tasks' registry paths say, so the
// very readers that read real jiant / XTREME data read the demo. Deterministic from the seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ordertune/config/task_registry.h"

namespace ordertune {

struct DemoOptions {
  uint64_t seed = 1;   // everything generated derives from this
  double scale = 1.0;  // multiplies every example count (tests use small scales)
};

// Language codes of the demo: "en" first, then the synthetic ones.
std::vector<std::string> demo_languages();
// Tasks the demo writes files for (built-in task names).
std::vector<std::string> demo_tasks();
// Writes the suite under root (creating folders), at the paths registry gives for each demo
// task, split and language. Overwrites existing demo files.
void generate_demo_data(const std::filesystem::path& root, const TaskRegistry& registry,
                        const DemoOptions& options);
// True when a completed suite for these options exists under root (a stamp file written last).
bool demo_data_present(const std::filesystem::path& root, const DemoOptions& options);

}  // namespace ordertune

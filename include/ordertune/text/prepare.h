// prepare — the `ordertune-prepare` pipeline: raw task files -> one tokenized data cache.
//
// For every task the config uses: read each split and language with the task's reader, map
// labels, tokenize with the XLM-R tokenizer, and write the features. A task whose inputs
// (file contents, task definition, tokenizer, settings) hash to the value stored in the
// existing cache is copied over unchanged instead of re-tokenized; when nothing changed the
// cache is left untouched. The new cache is written to a temporary name and renamed at the end.
// Prepare streams: a first pass reads every split in turn to hash it (and to collect an open label
// set and which splits are labelled), keeping nothing of its text; a changed task is then read
// again split by split, each split featurized and written before the next is read. Peak memory is
// one split's text and features, not the data set (tests/bench/prepare_bench.sh).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "ordertune/config/config.h"

namespace ordertune {

struct PrepareOptions {
  bool force = false;  // re-tokenize every task even if up to date
};

struct PrepareSummary {
  std::filesystem::path cache;
  std::filesystem::path tokenizer_model;
  int tasks_tokenized = 0;  // tasks read and tokenized in this run
  int tasks_reused = 0;     // tasks copied unchanged from the previous cache
  bool up_to_date = false;  // nothing changed: the cache was not rewritten
  int64_t examples = 0;     // examples tokenized in this run
  int64_t tokens = 0;       // token ids they became (a linked candidate set counts once)
  double seconds = 0;
};

PrepareSummary run_prepare(const SweepConfig& config, const PrepareOptions& options);

// `ordertune prepare --check`: reads (does not tokenize) every (task, split, language) the config
// needs and prints one line each: present / missing / unreadable, examples, whether it has labels,
// the path; then the split each target is scored on per language and the targets plan and sweep
// would refuse (data_cache.h unscorable_languages). Writes no cache (the demo suite is generated
// first, as prepare would). Returns the number of problems (0: ready to prepare).
int check_prepare_inputs(const SweepConfig& config, std::ostream& out);

// The sentencepiece model the config uses: model.tokenizer, <checkpoint>/sentencepiece.bpe.model,
// or (tiny model) "<cache without .h5>.spm.model", trained on the pretraining corpus if needed.
std::filesystem::path tokenizer_model_path(const SweepConfig& config);

}  // namespace ordertune

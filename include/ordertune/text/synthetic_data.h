// synthetic_data — every file a study config reads, synthetic, at the real datasets' sizes.
//
// For measuring prepare (and the sweep's start-up) at the size of a real XTREME-R study without
// the real downloads: `ordertune-prepare --config FILE --synthetic real` writes, for every task
// the config uses, each split and language the registry (and the config's [tasks.*] /
// [targets.*] tables) names, at the path it is read from (data.root, or the [targets.<task>]
// gold folder), in that task's real file format, with the published number of examples (MNLI
// 392,702 training pairs, PAN-X 48 languages, Tatoeba 41, Mewsli-X's candidate set of 1,000,000
// entities, ...; real_split_size() holds the table). Test splits whose labels xtreme's download
// hides are written hidden the same way, gold folders with their answers, so `prepare --check`
// and plan see what they would see on the real data.
//
// The text is not language: per language a vocabulary of made-up words in that language's
// script (Latin with its diacritics, Cyrillic, Arabic, Devanagari, Thai or CJK without spaces,
// Hangul, ...) drawn with a skewed frequency, in sentences of each dataset's typical length.
// That gives the tokenizer realistic bytes and pieces per example; nothing is learnable from
// it. Deterministic from the seed. For the tests, `--synthetic F` (0 < F < 1) writes F times
// the real sizes.
#pragma once

#include <cstdint>
#include <string>

#include "ordertune/config/config.h"

namespace ordertune {

struct SyntheticOptions {
  uint64_t seed = 1;
  double fraction = 1.0;  // of the real sizes; every split keeps at least a few examples
};

struct SyntheticSummary {
  int64_t files = 0;
  int64_t bytes = 0;
  int64_t examples = 0;  // questions, sentences, pairs, candidates: what each format counts
};

// "real" = 1, else a number in (0, 1]; throws ConfigError naming --synthetic.
double parse_synthetic_scale(const std::string& text);

// The published number of examples of (task, split) in one language (SQuAD-format tasks count
// questions, Mewsli-X candidates count under split "candidates"); throws ConfigError for a task
// the table does not know (a task defined in the config).
int64_t real_split_size(const std::string& task, const std::string& split,
                        const std::string& language);

// Writes the files. Refuses (ConfigError, one line) a data root or gold folder that already
// holds files it did not write (a stamp file marks its own), so real data is never overwritten.
SyntheticSummary generate_synthetic_data(const SweepConfig& config,
                                         const SyntheticOptions& options);

}  // namespace ordertune

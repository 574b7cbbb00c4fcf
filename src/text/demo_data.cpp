// demo_data — the synthetic multilingual demo suite (see demo_data.h): the entry points. The
// suite is made by the parts under src/text/demo/, one job each:
//   1. lexicon: a small English grammar over a fixed lexicon (~200 lemmas: object nouns in 8
//      semantic categories, person nouns, transitive verbs that select object categories,
//      intransitive verbs, adjectives with antonyms, days) plus anchors that no language
//      translates: 48 person names, 40 place names and numbers. clauses: every sentence is built
//      as a Clause (subject, verb, object, place, companion, time, negation), so its words, UPOS
//      tags, CCG supertags and the spans of its constituents are known exactly (render).
//   2. languages: languages render a Clause with their own lexicon and word order. One clause in
//      each:
//        en  English                                  "Chen did not cut a cold orange in Geneva."
//        sa  close: English order and grammar, content words respelled by regular sound rules
//            (th->d, c->k, w->v, ee->i; -o on nouns, -a on adjectives), 35% of the lemmas
//            identical to English                     "Chen dida no cut a kolda orange in Geneva."
//        sb  middle: SVO, noun-adjective, negation particle and no do-support, a CV-syllable
//            cipher (plural -s/-es, past -ta/-ata), 15% of the lemmas borrowed from English
//                                                     "Chen ne losata un talstel truplo en Geneva."
//        sc  far: SOV, postpositions, no articles, noun-adjective, negation after the verb,
//            questions with the wh-word in place and a final particle "mö", a CVC cipher with
//            ä ö ü ş (plural -lar/-lär, past -di/-du by vowel harmony), no shared words
//                                                     "Chen Geneva dä kemsa momşö makdu mäs."
//      Names, places and numbers (the anchors) are the same in every language. Each language's
//      lexicon is fixed (its own constant seed), not drawn from DemoOptions::seed: the seed
//      varies the sampled examples, never the languages.
//   3. tasks: tasks sample Clauses with a PRNG (rng: splitmix64; std:: distributions differ
//      between standard libraries) seeded from (DemoOptions::seed, task, split), so the same
//      seed gives byte-identical files. Evaluation sets of the targets are parallel across
//      languages, as XNLI, XQuAD and Tatoeba are: one sample of Clauses rendered in every
//      language.
//   4. writers: each (task, split, language) is written in the format its registry entry names,
//      at task_split_path(): the readers that read real jiant / XTREME files read the demo.
//      suite: which tasks, splits, languages and example counts the suite holds.
#include "ordertune/text/demo_data.h"

#include <cmath>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "ordertune/base/error.h"
#include "ordertune/text/demo/suite.h"
#include "ordertune/text/demo/writers.h"

namespace ordertune {
namespace {

// Changes whenever the generated content changes, so that an old suite is regenerated.
constexpr const char* kGeneratorVersion = "ordertune demo suite v1";

std::filesystem::path stamp_path(const std::filesystem::path& root, const DemoOptions& options) {
  return root / fmt::format(".ordertune-demo-{}-{}", options.seed, options.scale);
}

}  // namespace

std::vector<std::string> demo_languages() {
  return {"en", "sa", "sb", "sc"};
}

std::vector<std::string> demo_tasks() {
  std::vector<std::string> out;
  for (const demo::DemoTask& t : demo::kDemoTasks) out.push_back(t.name);
  return out;
}

void generate_demo_data(const std::filesystem::path& root, const TaskRegistry& registry,
                        const DemoOptions& options) {
  if (!(options.scale > 0) || !std::isfinite(options.scale))
    throw ConfigError(
        fmt::format("data.demo_scale: expected a number > 0, found {}", options.scale));
  // A stale stamp must not survive a generation that fails half-way.
  std::error_code ec;
  std::filesystem::remove(stamp_path(root, options), ec);
  demo::SuiteWriter writer(root);
  for (const demo::DemoTask& task : demo::kDemoTasks) {
    const TaskSpec& spec = registry.get(task.name);
    for (const auto& [split, path] : spec.paths)
      demo::write_split(task, demo::split_job(task, spec, split, options), &writer);
  }
  // The stamp, last: the suite is complete once it exists.
  std::string stamp = std::string(kGeneratorVersion) + "\n";
  for (const auto& [file, bytes] : writer.files())
    stamp += fmt::format("{}\t{}\n", std::filesystem::relative(file, root).generic_string(), bytes);
  writer.write(stamp_path(root, options), stamp);
}

bool demo_data_present(const std::filesystem::path& root, const DemoOptions& options) {
  // The stamp names this generator and lists every file with its size: all must be there.
  std::ifstream in(stamp_path(root, options), std::ios::binary);
  std::string line;
  if (!in || !std::getline(in, line) || line != kGeneratorVersion) return false;
  while (std::getline(in, line)) {
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos) return false;
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(root / line.substr(0, tab), ec);
    if (ec || std::to_string(bytes) != line.substr(tab + 1)) return false;
  }
  return true;
}

}  // namespace ordertune

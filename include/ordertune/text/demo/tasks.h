// tasks — one generator per task family of the demo: NLI (MNLI, XNLI), extractive QA (SQuAD,
// XQuAD), multiple choice (HellaSwag), tagging (CCG, UD-POS) and sentence sets (Tatoeba, MLM).
// A generator samples language-free items (clauses and what is asked about them) from an Rng;
// rendering an item in a language gives the examples the writers put in a file. Evaluation sets
// of the targets are one sample rendered in every language: parallel, as XNLI and XQuAD are.
#pragma once

#include <string>
#include <vector>

#include "ordertune/text/demo/clauses.h"
#include "ordertune/text/demo/languages.h"
#include "ordertune/text/demo/render.h"
#include "ordertune/text/demo/rng.h"
#include "ordertune/text/demo/writers.h"

namespace ordertune::demo {

// ---- NLI (MNLI, XNLI) ------------------------------------------------------------------------

struct NliItem {
  std::vector<Clause> premise;
  Clause hypothesis;
  const char* label;
};

// count items, the labels balanced (entailment, neutral, contradiction in turn), shuffled.
std::vector<NliItem> nli_items(Rng& rng, int count);
NliExample render_nli(const NliItem& item, const Language& lang);

// ---- extractive QA (SQuAD, XQuAD) ------------------------------------------------------------

struct QaItem {
  Question kind;
  int clause;    // index into the paragraph's clauses
  Clause asked;  // the clause as the question states it (some adjuncts left out)
};

struct QaParagraphItem {
  std::vector<Clause> clauses;
  std::vector<QaItem> questions;
};

// Paragraphs holding `questions` questions in all.
std::vector<QaParagraphItem> qa_items(Rng& rng, int questions);
// Renders a paragraph in one language; answers are the spans of the asked constituents in the
// rendered context. Question ids are shared by the languages (as XQuAD's).
QaParagraph render_paragraph(const QaParagraphItem& item, const Language& lang,
                             const std::string& id_prefix);

// ---- multiple choice (HellaSwag) -------------------------------------------------------------

// One English example: an activity's first steps, the next step and three wrong endings.
McExample make_hellaswag(Rng& rng);

// ---- tagging (CCG, UD-POS) and sentence sets (Tatoeba, MLM) ----------------------------------

// A sentence to render in every language: a declarative clause or a question about it.
struct SentenceItem {
  Clause clause;
  Question question = Question::kNone;
};

SentenceItem random_sentence(Rng& rng, double p_question);
Sentence render_sentence(const SentenceItem& item, const Language& lang);
// An English declarative with its CCG supertags.
TaggedSentence ccg_sentence(Rng& rng);
// A rendered sentence with its UPOS tags.
TaggedSentence pos_sentence(const Sentence& s);
// Parallel sentences, unique on the English side, so that retrieval has one right answer.
std::vector<SentenceItem> unique_sentences(Rng& rng, int count, double p_question);

}  // namespace ordertune::demo

// render — a Clause in one language's words and word order: the sentence's words with their
// UPOS and CCG supertags and the word spans of its constituents (what tagging and QA need), and
// the sentence as text.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ordertune/text/demo/clauses.h"
#include "ordertune/text/demo/languages.h"
#include "ordertune/text/demo/lexicon.h"

namespace ordertune::demo {

// The spans a task may ask for: constituents of a rendered sentence.
enum Slot {
  kSlotSubject,
  kSlotVerb,
  kSlotObject,
  kSlotCount,
  kSlotPlace,
  kSlotCompanion,
  kSlotTime,
  kSlotOther,
  kNumSlots
};

struct Word {
  std::string text;
  const char* upos;  // Universal POS tag
  const char* ccg;   // CCG supertag (meaningful for English declaratives)
};

struct Sentence {
  std::vector<Word> words;
  std::array<std::pair<int, int>, kNumSlots> spans;  // [begin, end) words; {-1, -1} = absent

  Sentence() { spans.fill({-1, -1}); }
};

class Renderer {
 public:
  explicit Renderer(const Language& lang) : lang_(lang), lex_(lexicon()) {}

  // A declarative sentence ("Anna bought a red car in Paris."), or its predicate only (HellaSwag
  // endings) when include_subject is false. The first word is capitalized when it starts the
  // sentence.
  Sentence declarative(const Clause& c, bool include_subject = true) const;
  // A question about c's subject, object, place or count.
  Sentence question(const Clause& c, Question q) const;

 private:
  struct Chunk;  // the words of one constituent (render.cpp)

  const std::string& fn(FunctionWord w) const { return lang_.words[w]; }
  void add_fn(Chunk* ch, FunctionWord w, const char* upos, const char* ccg) const;
  Chunk wh_word(FunctionWord w, const char* upos, Slot slot) const;
  Chunk noun_phrase(const NounPhrase& np, Slot slot) const;
  Chunk how_many(const NounPhrase& np) const;
  Chunk adposition(FunctionWord adp, Word object, Slot slot) const;
  Chunk time_phrase(int time) const;
  Chunk verb_group(const Clause& c, bool base) const;
  std::vector<Chunk> constituents(const Clause& c, Question q, bool include_subject,
                                  bool base_verb) const;
  void front_question_word(std::vector<Chunk>* order, Question q, bool do_support) const;
  Sentence assemble(const Clause& c, Question q, bool include_subject) const;

  const Language& lang_;
  const Lexicon& lex_;
};

// Text of words, spaces between them but not before punctuation; byte offset of each word.
struct Detokenized {
  std::string text;
  std::vector<size_t> begin;
};

Detokenized detokenize(const std::vector<Word>& words);
std::string sentence_text(const Sentence& s);
// Sentences joined by single spaces.
std::string join_sentences(const std::vector<std::string>& sentences);

}  // namespace ordertune::demo

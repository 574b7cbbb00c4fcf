#include "ordertune/text/demo/tasks.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "ordertune/base/error.h"
#include "ordertune/base/utf8.h"
#include "ordertune/text/demo/lexicon.h"

namespace ordertune::demo {
namespace {

// ---- NLI -------------------------------------------------------------------------------------

constexpr const char* kEntailment = "entailment";
constexpr const char* kNeutral = "neutral";
constexpr const char* kContradiction = "contradiction";

// The optional parts of a clause that hypotheses add or drop.
enum Part { kPartAdj, kPartPlace, kPartCompanion, kPartTime, kNumParts };

bool has_part(const Clause& c, Part p) {
  switch (p) {
    case kPartAdj:
      return c.has_object && c.object.adj >= 0;
    case kPartPlace:
      return c.place >= 0;
    case kPartCompanion:
      return c.companion >= 0;
    case kPartTime:
      return c.time >= 0;
    default:
      return false;
  }
}

void drop_part(Clause* c, Part p) {
  switch (p) {
    case kPartAdj:
      c->object.adj = -1;
      break;
    case kPartPlace:
      c->place = -1;
      break;
    case kPartCompanion:
      c->companion = -1;
      break;
    case kPartTime:
      c->time = -1;
      break;
    default:
      break;
  }
}

void add_part(Rng& rng, Clause* c, Part p) {
  const Lexicon& lex = lexicon();
  switch (p) {
    case kPartAdj:
      c->object.adj = rng.pick(lex.thing_adjs);
      break;
    case kPartPlace:
      c->place = rng.below(num_places());
      break;
    case kPartCompanion: {
      std::set<int> excluded;
      if (c->subject.name >= 0) excluded.insert(c->subject.name);
      c->companion = pick_except(rng, num_names(), excluded);
      break;
    }
    case kPartTime:
      c->time = rng.range(0, kYesterday);
      break;
    default:
      break;
  }
}

std::vector<Part> parts_where(const Clause& c, bool present) {
  std::vector<Part> out;
  for (int p = 0; p < kNumParts; ++p) {
    const Part part = static_cast<Part>(p);
    if (part == kPartAdj && !c.has_object) continue;
    if (has_part(c, part) == present) out.push_back(part);
  }
  return out;
}

// Whether two clauses share a person, place, day, verb, object noun, adjective or number.
bool overlaps(const Clause& a, const Clause& b) {
  auto names = [](const Clause& c) {
    std::set<int> out;
    for (int n : {c.subject.name, c.companion})
      if (n >= 0) out.insert(n);
    return out;
  };
  const std::set<int> na = names(a);
  for (int n : names(b))
    if (na.count(n)) return true;
  auto same = [](int x, int y) { return x >= 0 && x == y; };
  return same(a.place, b.place) || same(a.time, b.time) || a.verb == b.verb ||
         (a.has_object && b.has_object &&
          (same(a.object.noun, b.object.noun) || same(a.object.adj, b.object.adj) ||
           (a.object.count >= 2 && a.object.count == b.object.count)));
}

// Entailed by a positive premise: one or two parts dropped, or "someone" for a named subject.
Clause entailed_by(Rng& rng, const Clause& c) {
  Clause h = c;
  std::vector<int> moves;  // parts to drop, or kNumParts for "someone"
  for (Part p : parts_where(c, true)) moves.push_back(p);
  if (c.subject.name >= 0) moves.push_back(kNumParts);
  rng.shuffle(&moves);
  const int n = std::min<int>(static_cast<int>(moves.size()), rng.range(1, 2));
  for (int i = 0; i < n; ++i) {
    if (moves[i] == kNumParts) {
      h.subject = NounPhrase();
      h.subject.someone = true;
    } else {
      drop_part(&h, static_cast<Part>(moves[i]));
    }
  }
  return h;
}

// Neutral to a positive premise: a part added (sometimes one dropped besides).
Clause neutral_to(Rng& rng, const Clause& c) {
  Clause h = c;
  const Part added = rng.pick(parts_where(c, false));
  add_part(rng, &h, added);
  std::vector<Part> present = parts_where(c, true);
  if (!present.empty() && rng.chance(0.3)) drop_part(&h, rng.pick(present));
  return h;
}

// Contradicts a positive premise: negation, an antonym, another number, place or day.
Clause contradicting(Rng& rng, const Clause& c) {
  Clause h = c;
  enum Move { kNegate, kAntonym, kNumber, kPlace, kDay };
  std::vector<Move> moves = {kNegate};
  if (c.object.adj >= 0 && lexicon().lemmas[c.object.adj].antonym >= 0) moves.push_back(kAntonym);
  if (c.object.count >= 2) moves.push_back(kNumber);
  if (c.place >= 0) moves.push_back(kPlace);
  if (c.time >= 0 && c.time < kYesterday) moves.push_back(kDay);
  switch (rng.pick(moves)) {
    case kNegate: {
      h.negated = true;
      std::vector<Part> present = parts_where(c, true);
      if (!present.empty() && rng.chance(0.5)) drop_part(&h, rng.pick(present));
      break;
    }
    case kAntonym:
      h.object.adj = lexicon().lemmas[c.object.adj].antonym;
      break;
    case kNumber:
      while (h.object.count == c.object.count) h.object.count = rng.range(2, 30);
      break;
    case kPlace:
      h.place = pick_except(rng, num_places(), {c.place});
      break;
    case kDay:
      h.time = pick_except(rng, 7, {c.time});
      break;
  }
  return h;
}

// A hypothesis of a negated premise, which reverses the monotonicity: adding a part is
// entailed, dropping one is neutral, the positive clause contradicts it.
Clause hypothesis_of_negated(Rng& rng, const Clause& c, const std::string& label) {
  Clause h = c;
  if (label == kEntailment) {
    add_part(rng, &h, rng.pick(parts_where(c, false)));
  } else if (label == kNeutral) {
    drop_part(&h, rng.pick(parts_where(c, true)));
  } else {
    h.negated = false;
    std::vector<Part> absent = parts_where(c, false);
    if (rng.chance(0.5)) add_part(rng, &h, rng.pick(absent));
  }
  return h;
}

// Sometimes a second, unrelated sentence in the premise: it shares nothing with the premise
// clause or the hypothesis, so it cannot state what the hypothesis adds or changes.
void maybe_add_unrelated_sentence(Rng& rng, NliItem* item) {
  if (!rng.chance(0.25)) return;
  const Clause c = item->premise.front();
  ClauseOptions other;
  other.p_name_subject = 1.0;
  other.p_intransitive = 0.3;
  Clause extra;
  do {
    extra = random_clause(rng, other);
  } while (overlaps(extra, c) || overlaps(extra, item->hypothesis));
  item->premise.insert(rng.chance(0.5) ? item->premise.begin() : item->premise.end(), extra);
}

// One NLI example of the given label. A positive premise entails its subsets (dropping a part,
// "someone" for the subject) and is contradicted by negation, an antonym, another number,
// place or day; a negated premise reverses the monotonicity: adding a part is entailed,
// dropping one is neutral, the positive clause contradicts it.
NliItem make_nli(Rng& rng, const char* label) {
  ClauseOptions o;
  o.p_negated = 0.15;
  o.p_object_adj = 0.55;
  NliItem item;
  item.label = label;
  Clause c = random_clause(rng, o);
  // Keep at least one part present and one absent, so that every label has a move.
  if (parts_where(c, true).empty()) add_part(rng, &c, kPartPlace);
  if (parts_where(c, false).empty()) drop_part(&c, rng.pick(parts_where(c, true)));
  const std::string l = label;
  if (c.negated)
    item.hypothesis = hypothesis_of_negated(rng, c, l);
  else if (l == kEntailment)
    item.hypothesis = entailed_by(rng, c);
  else if (l == kNeutral)
    item.hypothesis = neutral_to(rng, c);
  else
    item.hypothesis = contradicting(rng, c);
  item.premise = {c};
  maybe_add_unrelated_sentence(rng, &item);
  return item;
}

// ---- extractive QA ---------------------------------------------------------------------------

// n clauses about different people, verbs, objects and places, so that every question about
// them has exactly one answer in their paragraph.
std::vector<Clause> paragraph_clauses(Rng& rng, int n) {
  ClauseOptions o;
  o.p_name_subject = 1.0;
  o.p_count = 0.4;
  o.p_place = 0.75;
  o.p_companion = 0.2;
  o.p_time = 0.3;
  std::vector<Clause> clauses;
  std::set<int> names, verbs, nouns, places;
  while (static_cast<int>(clauses.size()) < n) {
    Clause c = random_clause(rng, o, names);
    if (verbs.count(c.verb) || nouns.count(c.object.noun) || places.count(c.place) ||
        (c.companion >= 0 && names.count(c.companion)))
      continue;
    bool clash = false;  // a companion must not be any clause's subject
    for (const Clause& other : clauses)
      clash |=
          other.companion == c.subject.name || (c.companion >= 0 && other.companion == c.companion);
    if (clash) continue;
    names.insert(c.subject.name);
    if (c.companion >= 0) names.insert(c.companion);
    verbs.insert(c.verb);
    nouns.insert(c.object.noun);
    if (c.place >= 0) places.insert(c.place);
    clauses.push_back(c);
  }
  return clauses;
}

// 2-4 questions about the clauses, each leaving out some adjuncts of its clause.
std::vector<QaItem> ask_questions(Rng& rng, const std::vector<Clause>& clauses) {
  std::vector<std::pair<int, Question>> candidates;
  for (int i = 0; i < static_cast<int>(clauses.size()); ++i) {
    const Clause& c = clauses[static_cast<size_t>(i)];
    candidates.push_back({i, Question::kWho});
    candidates.push_back({i, Question::kWhat});
    if (c.place >= 0) candidates.push_back({i, Question::kWhere});
    if (c.object.count >= 2) candidates.push_back({i, Question::kHowMany});
  }
  rng.shuffle(&candidates);
  std::vector<QaItem> questions;
  const int asked = std::min<int>(static_cast<int>(candidates.size()), rng.range(2, 4));
  for (int k = 0; k < asked; ++k) {
    const auto [i, kind] = candidates[static_cast<size_t>(k)];
    Clause q = clauses[static_cast<size_t>(i)];
    if (kind != Question::kWhere && rng.chance(0.5)) q.place = -1;
    if (rng.chance(0.5)) q.companion = -1;
    if (rng.chance(0.5)) q.time = -1;
    questions.push_back({kind, i, q});
  }
  return questions;
}

// A paragraph of 3-5 sentences and the questions asked about it.
QaParagraphItem make_paragraph(Rng& rng) {
  QaParagraphItem p;
  const int n = rng.range(3, 5);
  p.clauses = paragraph_clauses(rng, n);
  p.questions = ask_questions(rng, p.clauses);
  return p;
}

Slot answer_slot(Question q) {
  switch (q) {
    case Question::kWho:
      return kSlotSubject;
    case Question::kWhat:
      return kSlotObject;
    case Question::kWhere:
      return kSlotPlace;
    case Question::kHowMany:
      return kSlotCount;
    default:
      break;
  }
  OT_CHECK(false, "no answer slot for this question");
}

// ---- HellaSwag -------------------------------------------------------------------------------

// An ending: the predicate of `subject` doing `verb` to `object`, without the subject.
std::string hellaswag_ending(const Renderer& r, const NounPhrase& subject, int verb,
                             const NounPhrase& object) {
  Clause e;
  e.subject = subject;
  e.verb = verb;
  e.has_object = true;
  e.object = object;
  return sentence_text(r.declarative(e, /*include_subject=*/false));
}

NounPhrase definite_noun(Rng& rng, const std::vector<int>& nouns) {
  NounPhrase np;
  np.noun = rng.pick(nouns);
  np.definite = true;
  return np;
}

// The context: the first k steps of the script on c's object, mentioned again as `same`.
std::vector<std::string> hellaswag_context(Rng& rng, const Renderer& r, const Script& script,
                                           const Clause& c, const NounPhrase& same, int k) {
  std::vector<std::string> context;
  for (int step = 0; step < k; ++step) {
    Clause s = c;
    s.verb = script.steps[step];
    if (step > 0) {
      s.object = same;
      if (rng.chance(0.5)) s.object.adj = -1;
      s.place = s.time = -1;
    }
    context.push_back(sentence_text(r.declarative(s)));
  }
  return context;
}

// The right ending first, then three distinct distractors: a verb that cannot take the object,
// the right verb on an object it cannot take, and a step of another activity on its object.
std::vector<std::string> hellaswag_endings(Rng& rng, const Renderer& r, const Script& script,
                                           const NounPhrase& subject, const NounPhrase& same,
                                           int right_verb) {
  const Lexicon& lex = lexicon();
  std::vector<int> wrong_verbs;  // selective verbs that cannot take the object
  for (int v : lex.transitive_verbs)
    if (lex.lemmas[v].objects != kAnyCategory && !(lex.lemmas[v].objects & script.category))
      wrong_verbs.push_back(v);
  std::vector<std::string> endings = {hellaswag_ending(r, subject, right_verb, same)};
  for (int attempt = 0; endings.size() < 4; ++attempt) {
    OT_CHECK(attempt < 100, "no distinct HellaSwag distractors");
    std::string d;
    switch (endings.size()) {
      case 1:
        d = hellaswag_ending(r, subject, rng.pick(wrong_verbs), same);
        break;
      case 2:
        d = hellaswag_ending(
            r, subject, right_verb,
            definite_noun(rng, lex.nouns_matching(kAnyCategory & ~lex.lemmas[right_verb].objects)));
        break;
      default: {
        const Script* other = &script;
        while (other->category == script.category) other = &rng.pick(lex.scripts);
        // The object is drawn before the step: the order in which GCC evaluated the two
        // arguments of the one call this was written as, and the demo's bytes depend on it.
        const NounPhrase object = definite_noun(rng, lex.nouns_matching(other->category));
        d = hellaswag_ending(r, subject, other->steps[rng.range(1, 2)], object);
      }
    }
    if (std::find(endings.begin(), endings.end(), d) == endings.end()) endings.push_back(d);
  }
  return endings;
}

}  // namespace

// ---- NLI -------------------------------------------------------------------------------------

std::vector<NliItem> nli_items(Rng& rng, int count) {
  const char* labels[] = {kEntailment, kNeutral, kContradiction};
  std::vector<NliItem> items;
  for (int i = 0; i < count; ++i) items.push_back(make_nli(rng, labels[i % 3]));
  rng.shuffle(&items);
  return items;
}

NliExample render_nli(const NliItem& item, const Language& lang) {
  const Renderer r(lang);
  std::vector<std::string> premise;
  for (const Clause& c : item.premise) premise.push_back(sentence_text(r.declarative(c)));
  return {join_sentences(premise), sentence_text(r.declarative(item.hypothesis)), item.label};
}

// ---- extractive QA ---------------------------------------------------------------------------

std::vector<QaParagraphItem> qa_items(Rng& rng, int questions) {
  std::vector<QaParagraphItem> out;
  int total = 0;
  while (total < questions) {
    out.push_back(make_paragraph(rng));
    QaParagraphItem& p = out.back();
    if (total + static_cast<int>(p.questions.size()) > questions)
      p.questions.resize(static_cast<size_t>(questions - total));
    total += static_cast<int>(p.questions.size());
  }
  return out;
}

QaParagraph render_paragraph(const QaParagraphItem& item, const Language& lang,
                             const std::string& id_prefix) {
  const Renderer r(lang);
  QaParagraph out;
  std::vector<size_t> sentence_begin;
  std::vector<Sentence> sentences;
  for (const Clause& c : item.clauses) {
    sentences.push_back(r.declarative(c));
    if (!out.context.empty()) out.context += ' ';
    sentence_begin.push_back(out.context.size());
    out.context += sentence_text(sentences.back());
  }
  for (size_t k = 0; k < item.questions.size(); ++k) {
    const QaItem& q = item.questions[k];
    const Sentence& s = sentences[static_cast<size_t>(q.clause)];
    const auto [b, e] = s.spans[answer_slot(q.kind)];
    OT_CHECK(b >= 0 && e > b, "answer span missing");
    const Detokenized d = detokenize(s.words);
    const size_t begin = sentence_begin[static_cast<size_t>(q.clause)] + d.begin[b];
    const size_t end = sentence_begin[static_cast<size_t>(q.clause)] + d.begin[e - 1] +
                       s.words[static_cast<size_t>(e - 1)].text.size();
    QaQuestion qa;
    qa.id = fmt::format("{}-q{}", id_prefix, k);
    qa.question = sentence_text(r.question(q.asked, q.kind));
    qa.answer = out.context.substr(begin, end - begin);
    qa.answer_start = byte_to_codepoint_offset(out.context, begin);
    out.qas.push_back(std::move(qa));
  }
  return out;
}

// ---- HellaSwag -------------------------------------------------------------------------------

// Context: the first 1-3 steps of an activity script on one object; the right ending is the
// next step on that object. Distractors: a verb that cannot take the object, the right verb on
// an object it cannot take, and a step of another activity on another object.
McExample make_hellaswag(Rng& rng) {
  const Lexicon& lex = lexicon();
  const Renderer r(language("en"));
  const Script& script = rng.pick(lex.scripts);
  Clause c;
  c.subject.name = rng.below(num_names());
  c.has_object = true;
  c.object = object_phrase(rng, lex.nouns_matching(script.category), 0.4, 0.4);
  c.object.definite = false;
  if (rng.chance(0.5)) c.place = rng.below(num_places());
  if (rng.chance(0.3)) c.time = rng.range(0, kYesterday);
  int k = rng.range(1, 3);
  if (lex.lemmas[script.steps[k]].objects == kAnyCategory) k = 2;
  // Later mentions of the object: "the (red) apple", "the apples".
  NounPhrase same = c.object;
  same.definite = true;
  same.plural = c.object.count >= 2;
  same.count = 0;
  const std::vector<std::string> context = hellaswag_context(rng, r, script, c, same, k);
  same.adj = -1;
  std::vector<std::string> endings =
      hellaswag_endings(rng, r, script, c.subject, same, script.steps[k]);
  const std::string right = endings.front();
  rng.shuffle(&endings);
  McExample ex;
  ex.activity = script.activity;
  ex.ctx_a = join_sentences(context);
  ex.ctx_b =
      fmt::format("{} {}", capitalize(language("en").words[kFnThen]), lex.names[c.subject.name]);
  ex.endings = endings;
  ex.label = static_cast<int>(std::find(endings.begin(), endings.end(), right) - endings.begin());
  return ex;
}

// ---- tagging and sentence sets ---------------------------------------------------------------

SentenceItem random_sentence(Rng& rng, double p_question) {
  ClauseOptions o;
  o.p_intransitive = 0.2;
  o.p_negated = 0.15;
  o.p_name_subject = 0.75;
  SentenceItem item;
  item.clause = random_clause(rng, o);
  if (rng.chance(p_question)) {
    item.clause.negated = false;
    item.question = random_question(rng, item.clause);
  }
  return item;
}

Sentence render_sentence(const SentenceItem& item, const Language& lang) {
  const Renderer r(lang);
  return item.question == Question::kNone ? r.declarative(item.clause)
                                          : r.question(item.clause, item.question);
}

TaggedSentence ccg_sentence(Rng& rng) {
  ClauseOptions o;
  o.p_intransitive = 0.2;
  o.p_negated = 0.2;
  o.p_name_subject = 0.7;
  const Sentence s = Renderer(language("en")).declarative(random_clause(rng, o));
  TaggedSentence out;
  for (const Word& w : s.words) {
    out.words.push_back(w.text);
    out.tags.push_back(w.ccg);
  }
  return out;
}

TaggedSentence pos_sentence(const Sentence& s) {
  TaggedSentence out;
  for (const Word& w : s.words) {
    out.words.push_back(w.text);
    out.tags.push_back(w.upos);
  }
  return out;
}

std::vector<SentenceItem> unique_sentences(Rng& rng, int count, double p_question) {
  std::vector<SentenceItem> items;
  std::set<std::string> seen;
  const Language& en = language("en");
  for (int attempt = 0; static_cast<int>(items.size()) < count; ++attempt) {
    OT_CHECK(attempt < 100 * count + 1000, "cannot sample {} distinct sentences", count);
    SentenceItem item = random_sentence(rng, p_question);
    if (seen.insert(sentence_text(render_sentence(item, en))).second) items.push_back(item);
  }
  return items;
}

}  // namespace ordertune::demo

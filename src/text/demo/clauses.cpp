#include "ordertune/text/demo/clauses.h"

#include "ordertune/base/error.h"
#include "ordertune/text/demo/lexicon.h"

namespace ordertune::demo {
namespace {

NounPhrase person_phrase(Rng& rng, double p_name, const std::set<int>& excluded_names) {
  const Lexicon& lex = lexicon();
  NounPhrase np;
  if (rng.chance(p_name)) {
    np.name = pick_except(rng, num_names(), excluded_names);
  } else {
    np.noun = rng.pick(lex.person_nouns);
    np.definite = rng.chance(0.6);
    if (rng.chance(0.3)) np.adj = rng.pick(lex.person_adjs);
  }
  return np;
}

}  // namespace

int pick_except(Rng& rng, int n, const std::set<int>& excluded) {
  OT_CHECK(static_cast<int>(excluded.size()) < n, "nothing left to pick");
  for (;;) {
    const int i = rng.below(n);
    if (!excluded.count(i)) return i;
  }
}

NounPhrase object_phrase(Rng& rng, const std::vector<int>& nouns, double p_adj, double p_count) {
  const Lexicon& lex = lexicon();
  NounPhrase np;
  np.noun = rng.pick(nouns);
  if (rng.chance(p_adj)) np.adj = rng.pick(lex.thing_adjs);
  if (rng.chance(p_count)) {
    np.count = rng.range(2, 30);
  } else {
    np.definite = rng.chance(0.5);
  }
  return np;
}

Clause random_clause(Rng& rng, const ClauseOptions& o, const std::set<int>& excluded_names) {
  const Lexicon& lex = lexicon();
  Clause c;
  c.subject = person_phrase(rng, o.p_name_subject, excluded_names);
  if (rng.chance(o.p_intransitive)) {
    c.verb = rng.pick(lex.intransitive_verbs);
  } else {
    c.verb = rng.pick(lex.transitive_verbs);
    c.has_object = true;
    c.object = object_phrase(rng, lex.nouns_matching(lex.lemmas[c.verb].objects), o.p_object_adj,
                             o.p_count);
  }
  if (rng.chance(o.p_place)) c.place = rng.below(num_places());
  if (rng.chance(o.p_companion)) {
    std::set<int> excluded = excluded_names;
    if (c.subject.name >= 0) excluded.insert(c.subject.name);
    c.companion = pick_except(rng, num_names(), excluded);
  }
  if (rng.chance(o.p_time)) c.time = rng.range(0, kYesterday);
  c.negated = rng.chance(o.p_negated);
  return c;
}

Question random_question(Rng& rng, const Clause& c) {
  std::vector<Question> kinds = {Question::kWho};
  if (c.has_object) kinds.push_back(Question::kWhat);
  if (c.place >= 0) kinds.push_back(Question::kWhere);
  if (c.has_object && c.object.count >= 2) kinds.push_back(Question::kHowMany);
  return rng.pick(kinds);
}

}  // namespace ordertune::demo

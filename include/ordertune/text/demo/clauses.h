// clauses — what a demo sentence says, before a language words it: a Clause (subject, verb,
// object, place, companion, time, negation) over lexicon ids and anchors, the questions that can
// be asked about it, and clauses sampled at random under a task's ClauseOptions.
#pragma once

#include <set>
#include <vector>

#include "ordertune/text/demo/rng.h"

namespace ordertune::demo {

constexpr int kYesterday = 7;  // Clause::time value for "yesterday" (0..6 are the days)

struct NounPhrase {
  int name = -1;          // kNames index: a person named
  int noun = -1;          // noun lemma id
  int adj = -1;           // adjective lemma id, -1 = none
  int count = 0;          // >= 2: that many, written as a number ("3 apples"); 0: none
  bool plural = false;    // a plural noun without a number: "the apples" (definite only)
  bool definite = false;  // "the" rather than "a"
  bool someone = false;   // the pronoun "someone"
};

struct Clause {
  NounPhrase subject;
  int verb = -1;  // verb lemma id
  bool has_object = false;
  NounPhrase object;
  int place = -1;      // kPlaces index: "in PLACE"
  int companion = -1;  // kNames index: "with NAME"
  int time = -1;       // 0..6: "on DAY"; kYesterday: "yesterday"
  bool negated = false;
};

enum class Question { kNone, kWho, kWhat, kWhere, kHowMany };

// How a task samples clauses: the probability of each optional part.
struct ClauseOptions {
  double p_name_subject = 0.85;  // else a person noun ("the young teacher")
  double p_intransitive = 0.0;
  double p_object_adj = 0.5;
  double p_count = 0.35;  // the object is "N things"
  double p_place = 0.6;
  double p_companion = 0.2;
  double p_time = 0.35;
  double p_negated = 0.0;
};

// A uniform index in [0, n) that is not in excluded.
int pick_except(Rng& rng, int n, const std::set<int>& excluded);
// An object: one of nouns, maybe an adjective, a number ("3 apples") or an article.
NounPhrase object_phrase(Rng& rng, const std::vector<int>& nouns, double p_adj, double p_count);
// A clause in which no named person (subject, companion) is one of excluded_names.
Clause random_clause(Rng& rng, const ClauseOptions& o, const std::set<int>& excluded_names = {});
// A question whose answer the clause holds (who, what, where, how many: whichever fit).
Question random_question(Rng& rng, const Clause& c);

}  // namespace ordertune::demo

#include "ordertune/text/demo/render.h"

#include <algorithm>
#include <string_view>

#include "ordertune/base/error.h"

namespace ordertune::demo {
namespace {

// CCGbank-style supertags (Hockenmaier & Steedman 2007) for the constructions of the grammar.
constexpr const char* kCcgNp = "NP";
constexpr const char* kCcgDet = "NP[nb]/N";
constexpr const char* kCcgNounMod = "N/N";
constexpr const char* kCcgNoun = "N";
constexpr const char* kCcgTransitive = "(S[dcl]\\NP)/NP";
constexpr const char* kCcgIntransitive = "S[dcl]\\NP";
constexpr const char* kCcgTransitiveBase = "(S[b]\\NP)/NP";
constexpr const char* kCcgIntransitiveBase = "S[b]\\NP";
constexpr const char* kCcgDo = "(S[dcl]\\NP)/(S[b]\\NP)";
constexpr const char* kCcgVpMod = "(S\\NP)\\(S\\NP)";
constexpr const char* kCcgPrep = "((S\\NP)\\(S\\NP))/NP";
constexpr const char* kCcgPostp = "((S\\NP)\\(S\\NP))\\NP";
constexpr const char* kCcgPunct = ".";
constexpr const char* kCcgNone = "";

struct Span {
  Slot slot;
  int begin, end;  // word indices, [begin, end)
};

}  // namespace

struct Renderer::Chunk {
  Slot slot = kSlotOther;
  std::vector<Word> words;
  std::vector<Span> spans;  // relative to the chunk
};

Sentence Renderer::declarative(const Clause& c, bool include_subject) const {
  return assemble(c, Question::kNone, include_subject);
}

Sentence Renderer::question(const Clause& c, Question q) const {
  OT_CHECK(!c.negated, "questions are asked about positive clauses");
  return assemble(c, q, true);
}

void Renderer::add_fn(Chunk* ch, FunctionWord w, const char* upos, const char* ccg) const {
  if (!fn(w).empty()) ch->words.push_back({fn(w), upos, ccg});
}

// A question word standing for a constituent: "who", "what", "where".
Renderer::Chunk Renderer::wh_word(FunctionWord w, const char* upos, Slot slot) const {
  Chunk ch;
  ch.slot = slot;
  add_fn(&ch, w, upos, kCcgNone);
  return ch;
}

Renderer::Chunk Renderer::noun_phrase(const NounPhrase& np, Slot slot) const {
  Chunk ch;
  ch.slot = slot;
  if (np.someone) {
    ch.words.push_back({fn(kFnSomeone), "PRON", kCcgNp});
  } else if (np.name >= 0) {
    ch.words.push_back({lex_.names[np.name], "PROPN", kCcgNp});
  } else {
    const bool plural = np.count >= 2 || np.plural;
    std::vector<Word> core;
    Word noun{lang_.forms[np.noun][plural ? 1 : 0], "NOUN", kCcgNoun};
    if (np.adj >= 0) {
      Word adj{lang_.forms[np.adj][0], "ADJ", kCcgNounMod};
      core = lang_.adj_after_noun ? std::vector<Word>{noun, adj} : std::vector<Word>{adj, noun};
    } else {
      core = {noun};
    }
    if (np.count >= 2) {
      ch.spans.push_back({kSlotCount, 0, 1});
      ch.words.push_back({std::to_string(np.count), "NUM", kCcgNounMod});
    } else {
      add_fn(&ch, np.definite ? kFnThe : kFnA, "DET", kCcgDet);
      if (lang_.an_rule && !np.definite && is_ascii_vowel(core.front().text[0]))
        ch.words.back().text = "an";
    }
    ch.words.insert(ch.words.end(), core.begin(), core.end());
  }
  ch.spans.push_back({slot, 0, static_cast<int>(ch.words.size())});
  return ch;
}

// "How many red apples" / "kuanti karos ruja" / "kaşu ... ".
Renderer::Chunk Renderer::how_many(const NounPhrase& np) const {
  Chunk ch;
  ch.slot = kSlotObject;
  const bool two_words = !fn(kFnMany).empty();
  add_fn(&ch, kFnHowMany, two_words ? "ADV" : "DET", kCcgNone);
  add_fn(&ch, kFnMany, "ADJ", kCcgNone);
  Word noun{lang_.forms[np.noun][1], "NOUN", kCcgNone};
  if (np.adj >= 0) {
    Word adj{lang_.forms[np.adj][0], "ADJ", kCcgNone};
    if (lang_.adj_after_noun) {
      ch.words.push_back(noun);
      ch.words.push_back(adj);
    } else {
      ch.words.push_back(adj);
      ch.words.push_back(noun);
    }
  } else {
    ch.words.push_back(noun);
  }
  return ch;
}

// An adposition phrase whose object is a single word (place, companion, day).
Renderer::Chunk Renderer::adposition(FunctionWord adp, Word object, Slot slot) const {
  Chunk ch;
  ch.slot = slot;
  if (lang_.postpositions) {
    ch.words.push_back(object);
    add_fn(&ch, adp, "ADP", kCcgPostp);
    ch.spans.push_back({slot, 0, 1});
  } else {
    add_fn(&ch, adp, "ADP", kCcgPrep);
    ch.words.push_back(object);
    ch.spans.push_back(
        {slot, static_cast<int>(ch.words.size()) - 1, static_cast<int>(ch.words.size())});
  }
  return ch;
}

Renderer::Chunk Renderer::time_phrase(int time) const {
  if (time == kYesterday) {
    Chunk ch;
    ch.slot = kSlotTime;
    add_fn(&ch, kFnYesterday, "ADV", kCcgVpMod);
    ch.spans.push_back({kSlotTime, 0, 1});
    return ch;
  }
  const std::string& day = lang_.forms[lex_.days[static_cast<size_t>(time)]][0];
  return adposition(kFnOn, {day, "PROPN", kCcgNp}, kSlotTime);
}

// The verb group; `base` asks for the base form after a fronted "did".
Renderer::Chunk Renderer::verb_group(const Clause& c, bool base) const {
  Chunk ch;
  ch.slot = kSlotVerb;
  const auto& forms = lang_.forms[c.verb];
  const bool transitive = c.has_object;
  if (c.negated && lang_.do_support) {
    add_fn(&ch, kFnDid, "AUX", kCcgDo);
    add_fn(&ch, kFnNot, "PART", kCcgVpMod);
    ch.words.push_back({forms[0], "VERB", transitive ? kCcgTransitiveBase : kCcgIntransitiveBase});
  } else if (c.negated && lang_.neg_after_verb) {
    ch.words.push_back({forms[1], "VERB", kCcgNone});
    add_fn(&ch, kFnNot, "PART", kCcgNone);
  } else if (c.negated) {
    add_fn(&ch, kFnNot, "PART", kCcgNone);
    ch.words.push_back({forms[1], "VERB", kCcgNone});
  } else {
    ch.words.push_back({forms[base ? 0 : 1], "VERB",
                        base ? (transitive ? kCcgTransitiveBase : kCcgIntransitiveBase)
                             : (transitive ? kCcgTransitive : kCcgIntransitive)});
  }
  for (int i = 0; i < static_cast<int>(ch.words.size()); ++i)
    if (std::string_view(ch.words[i].upos) == "VERB") ch.spans.push_back({kSlotVerb, i, i + 1});
  return ch;
}

// The constituents of c in the language's word order (a question's word in its constituent's
// place); `base_verb` asks for the base form after a fronted "did".
std::vector<Renderer::Chunk> Renderer::constituents(const Clause& c, Question q,
                                                    bool include_subject, bool base_verb) const {
  std::vector<Chunk> subject, verb, object, place, companion, time;
  if (q == Question::kWho) {
    subject.push_back(wh_word(kFnWho, "PRON", kSlotSubject));
  } else if (include_subject) {
    subject.push_back(noun_phrase(c.subject, kSlotSubject));
  }
  verb.push_back(verb_group(c, base_verb));
  if (q == Question::kWhat) {
    object.push_back(wh_word(kFnWhat, "PRON", kSlotObject));
  } else if (q == Question::kHowMany) {
    object.push_back(how_many(c.object));
  } else if (c.has_object) {
    object.push_back(noun_phrase(c.object, kSlotObject));
  }
  if (q == Question::kWhere) {
    place.push_back(wh_word(kFnWhere, "ADV", kSlotPlace));
  } else if (c.place >= 0) {
    place.push_back(adposition(kFnIn, {lex_.places[c.place], "PROPN", kCcgNp}, kSlotPlace));
  }
  if (c.companion >= 0)
    companion.push_back(
        adposition(kFnWith, {lex_.names[c.companion], "PROPN", kCcgNp}, kSlotCompanion));
  if (c.time >= 0) time.push_back(time_phrase(c.time));

  std::vector<Chunk> order;
  const std::vector<Chunk>* parts[] = {&subject, &verb, &object, &place, &companion, &time};
  const std::vector<Chunk>* sov[] = {&subject, &time, &place, &companion, &object, &verb};
  for (const std::vector<Chunk>* part : lang_.verb_final ? sov : parts)
    order.insert(order.end(), part->begin(), part->end());
  return order;
}

// Moves the question word's constituent to the front, followed by "did" under do-support.
void Renderer::front_question_word(std::vector<Chunk>* order, Question q, bool do_support) const {
  const Slot wh = q == Question::kWho     ? kSlotSubject
                  : q == Question::kWhere ? kSlotPlace
                                          : kSlotObject;
  auto it =
      std::find_if(order->begin(), order->end(), [&](const Chunk& ch) { return ch.slot == wh; });
  OT_CHECK(it != order->end(), "question word chunk missing");
  std::rotate(order->begin(), it, it + 1);
  if (do_support) {
    Chunk did;
    did.slot = kSlotOther;
    add_fn(&did, kFnDid, "AUX", kCcgNone);
    order->insert(order->begin() + 1, did);
  }
}

Sentence Renderer::assemble(const Clause& c, Question q, bool include_subject) const {
  const bool fronted = q != Question::kNone && !lang_.wh_in_situ;
  const bool do_support = fronted && lang_.do_support && q != Question::kWho;
  std::vector<Chunk> order = constituents(c, q, include_subject, do_support);
  if (fronted) front_question_word(&order, q, do_support);
  Chunk end;
  if (q != Question::kNone) {
    add_fn(&end, kFnParticle, "PART", kCcgNone);
    end.words.push_back({"?", "PUNCT", kCcgPunct});
  } else {
    end.words.push_back({".", "PUNCT", kCcgPunct});
  }
  order.push_back(end);

  Sentence out;
  for (const Chunk& ch : order) {
    const int base = static_cast<int>(out.words.size());
    for (const Span& s : ch.spans) out.spans[s.slot] = {base + s.begin, base + s.end};
    out.words.insert(out.words.end(), ch.words.begin(), ch.words.end());
  }
  if (include_subject) out.words[0].text = capitalize(out.words[0].text);
  return out;
}

Detokenized detokenize(const std::vector<Word>& words) {
  Detokenized out;
  for (const Word& w : words) {
    const bool punct = w.text == "." || w.text == "?" || w.text == ",";
    if (!out.text.empty() && !punct) out.text += ' ';
    out.begin.push_back(out.text.size());
    out.text += w.text;
  }
  return out;
}

std::string sentence_text(const Sentence& s) {
  return detokenize(s.words).text;
}

std::string join_sentences(const std::vector<std::string>& sentences) {
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace ordertune::demo

// Tests of metrics.h: each metric on small cases computed by hand (the counts are explained in
// the comments), and the Python str semantics the official scripts depend on. Expected
// floating-point values are written as the Python expression evaluate.py evaluates, in its
// order, so they check the operation order too (e.g. accuracy is correct / n * 100, not
// 100 * correct / n: for 1 of 3 these differ in the last bit).
#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/scoring/metrics.h"

using namespace ordertune;

namespace {

using Sentences = std::vector<std::vector<std::string>>;

std::vector<TaggedEntity> entities(const Sentences& s,
                                   SeqevalTypeRule rule = SeqevalTypeRule::kAfterLastDash) {
  return seqeval_entities(s, rule);
}

}  // namespace

TEST_CASE("Python str semantics: lower, strip, split, character classes", "[metrics]") {
  SECTION("lower is Unicode-aware") {
    CHECK(py_lower("ÀÉÎ Straße") == "àéî straße");
    CHECK(py_lower("МОСКВА") == "москва");
    // U+0130 lowers to two code points, i + COMBINING DOT ABOVE.
    CHECK(py_lower("\u0130") == "i\u0307");
  }
  SECTION("capital sigma takes its final form at the end of a word only") {
    CHECK(py_lower("ΟΔΟΣ") == "οδο\u03c2");          // after a cased letter, none following
    CHECK(py_lower("ΟΔΟΣ ΚΑΙ") == "οδο\u03c2 και");  // a space is not cased
    CHECK(py_lower("ΣΑ") == "\u03c3α");              // nothing cased before it
    CHECK(py_lower("Σ") == "\u03c3");
    // The apostrophe is case-ignorable: skipped, then a cased letter follows -> medial.
    CHECK(py_lower("ΑΣ'Α") == "α\u03c3'α");
  }
  SECTION("whitespace is str.isspace()") {
    CHECK(py_strip("\u00a0 x y\t\u3000\n") == "x y");
    CHECK(py_split("a\u2003b\x1c"
                   "c  d") == std::vector<std::string>{"a", "b", "c", "d"});
    // ZERO WIDTH SPACE is not whitespace for Python.
    CHECK(py_split("a\u200bb").size() == 1);
    CHECK(py_split("  ").empty());
  }
  SECTION("character classes") {
    CHECK(py_isalnum(U'é'));
    CHECK(py_isalnum(U'中'));
    CHECK(py_isalnum(U'\u0663'));        // ARABIC-INDIC DIGIT THREE
    CHECK_FALSE(py_isalnum(U'\u0301'));  // combining acute accent (Mn)
    CHECK_FALSE(py_isalnum(U'_'));
    CHECK(is_unicode_punctuation(U'«'));
    CHECK(is_unicode_punctuation(U'\u3002'));   // IDEOGRAPHIC FULL STOP
    CHECK(is_unicode_punctuation(U'\u0964'));   // DEVANAGARI DANDA
    CHECK(is_unicode_punctuation(U'_'));        // Pc
    CHECK_FALSE(is_unicode_punctuation(U'$'));  // Sc: only ASCII string.punctuation adds it
    CHECK_FALSE(is_unicode_punctuation(U'+'));  // Sm
  }
}

TEST_CASE("accuracy is correct / n x 100 in evaluate.py's order", "[metrics]") {
  const auto m = accuracy_metrics({"a", "b", "c", "d"}, {"a", "x", "c", "x"});
  REQUIRE(m.size() == 1);
  CHECK(m[0].name == "accuracy");
  CHECK(m[0].value == 50.0);
  // 1 of 3: float(1) / 3 * 100 = 33.33333333333333, while 100 * 1 / 3 = 33.333333333333336.
  const double one_third = accuracy_metrics({"a", "b", "c"}, {"a", "x", "y"})[0].value;
  CHECK(one_third == 1.0 / 3 * 100);
  CHECK(one_third != 100.0 * 1 / 3);
  // Labels are compared as strings, exactly: "05" is not "5".
  CHECK(accuracy_metrics({"5"}, {"05"})[0].value == 0.0);
}

TEST_CASE("seqeval entities: IOB handling in the default, non-strict mode", "[metrics]") {
  SECTION("B- I- chunks and a type change") {
    // B-PER I-PER starts at 0 and continues; O ends it: (PER,0,1). B-LOC at 3, closed by the
    // sentence separator "O" at 4: (LOC,3,3).
    CHECK(entities({{"B-PER", "I-PER", "O", "B-LOC"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 1}, {"LOC", 3, 3}});
    // I-LOC after B-PER: the type differs, so PER ends at 0 and LOC starts at 1.
    CHECK(entities({{"B-PER", "I-LOC"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 0}, {"LOC", 1, 1}});
  }
  SECTION("I- without B- starts a chunk") {
    // O then I-PER: start_of_chunk (prev O, tag I). Same for I- at the very start (prev_tag
    // begins as 'O').
    CHECK(entities({{"O", "I-PER", "I-PER", "O"}}) == std::vector<TaggedEntity>{{"PER", 1, 2}});
    CHECK(entities({{"I-PER", "I-PER"}}) == std::vector<TaggedEntity>{{"PER", 0, 1}});
  }
  SECTION("adjacent B- B- are two chunks") {
    CHECK(entities({{"B-PER", "B-PER"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 0}, {"PER", 1, 1}});
  }
  SECTION("E- and S- tags") {
    // B-PER E-PER: no end between them; E ends the chunk before S-LOC: (PER,0,1); S-LOC is a
    // chunk of its own, closed after it: (LOC,2,2).
    CHECK(entities({{"B-PER", "E-PER", "S-LOC"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 1}, {"LOC", 2, 2}});
  }
  SECTION("sentences are joined with an O, which counts as a position") {
    // [B-PER] [I-PER] flattens to B-PER O I-PER O O: two chunks at 0 and 2, not one at 0..1.
    CHECK(entities({{"B-PER"}, {"I-PER"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 0}, {"PER", 2, 2}});
    // An empty sentence still adds its separator.
    CHECK(entities({{"B-PER"}, {}, {"B-LOC"}}) ==
          std::vector<TaggedEntity>{{"PER", 0, 0}, {"LOC", 3, 3}});
  }
  SECTION("tags without a prefix (UD-POS) merge runs of the same tag") {
    // NOUN NOUN VERB: letter 'N' is none of B/I/E/S/O, the type is the whole tag. Nothing ends
    // a chunk between two NOUNs (same type, no rule for 'N'), so they form one chunk (NOUN,0,1);
    // VERB changes the type: (VERB,2,2).
    CHECK(entities({{"NOUN", "NOUN", "VERB"}}) ==
          std::vector<TaggedEntity>{{"NOUN", 0, 1}, {"VERB", 2, 2}});
    // Tags starting with S (SYM, SCONJ) are single chunks; with I (INTJ) they continue.
    CHECK(entities({{"SYM", "SYM"}}) == std::vector<TaggedEntity>{{"SYM", 0, 0}, {"SYM", 1, 1}});
    CHECK(entities({{"INTJ", "INTJ"}}) == std::vector<TaggedEntity>{{"INTJ", 0, 1}});
  }
  SECTION("the two seqeval type rules") {
    // seqeval < 1.0: type after the last '-'; >= 1.0: chunk[1:] after its first '-'.
    CHECK(entities({{"B-PER"}}, SeqevalTypeRule::kAfterPrefix) ==
          std::vector<TaggedEntity>{{"PER", 0, 0}});
    CHECK(entities({{"NOUN"}}, SeqevalTypeRule::kAfterPrefix) ==
          std::vector<TaggedEntity>{{"OUN", 0, 0}});
    CHECK(entities({{"B-X-Y"}}) == std::vector<TaggedEntity>{{"Y", 0, 0}});
    CHECK(entities({{"B-X-Y"}}, SeqevalTypeRule::kAfterPrefix) ==
          std::vector<TaggedEntity>{{"X-Y", 0, 0}});
    CHECK(entities({{"B"}}, SeqevalTypeRule::kAfterPrefix) ==
          std::vector<TaggedEntity>{{"_", 0, 0}});
  }
}

TEST_CASE("seqeval micro precision / recall / F1", "[metrics]") {
  SECTION("partial overlap") {
    // Gold: (PER,0,1) (LOC,3,3) (ORG,5,5) = 3 entities. Predicted: (PER,0,1) (LOC,3,4) = 2;
    // only PER matches (LOC has another end). p = 1/2, r = 1/3, f1 = 2pr / (p + r) = 0.4.
    const Sentences gold = {{"B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"}};
    const Sentences pred = {{"B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"}};
    const EntityCounts c = seqeval_counts(gold, pred);
    CHECK(c.correct == 1);
    CHECK(c.predicted == 2);
    CHECK(c.gold == 3);
    const auto m = seqeval_metrics(gold, pred);
    REQUIRE(m.size() == 3);
    CHECK(m[0].name == "f1");
    CHECK(m[1].name == "precision");
    CHECK(m[2].name == "recall");
    const double p = 1.0 / 2;
    const double r = 1.0 / 3;
    CHECK(m[0].value == 2 * p * r / (p + r) * 100);
    CHECK(m[1].value == p * 100);
    CHECK(m[2].value == r * 100);
  }
  SECTION("I- without B- in the prediction still matches") {
    // Gold B-PER I-PER = (PER,0,1); predicted I-PER I-PER = (PER,0,1): all correct.
    const auto m = seqeval_metrics({{"B-PER", "I-PER", "O"}}, {{"I-PER", "I-PER", "O"}});
    CHECK(metric_value(m, "f1") == 100.0);
  }
  SECTION("POS tags are chunks: one wrong tag breaks a merged run") {
    // Gold NOUN NOUN VERB = (NOUN,0,1) (VERB,2,2); predicted NOUN VERB VERB = (NOUN,0,0)
    // (VERB,1,2): nothing matches although 2 of 3 tags are right.
    const auto m = seqeval_metrics({{"NOUN", "NOUN", "VERB"}}, {{"NOUN", "VERB", "VERB"}});
    CHECK(metric_value(m, "f1") == 0.0);
    CHECK(metric_value(m, "precision") == 0.0);
    CHECK(metric_value(m, "recall") == 0.0);
  }
  SECTION("CCONJ vs SCONJ: where the seqeval versions disagree") {
    // < 1.0: types CCONJ and SCONJ differ -> 0 correct. >= 1.0: both have type "CONJ" and the
    // same span (0,0) -> 1 correct of 1.
    CHECK(metric_value(seqeval_metrics({{"CCONJ"}}, {{"SCONJ"}}), "f1") == 0.0);
    CHECK(metric_value(seqeval_metrics({{"CCONJ"}}, {{"SCONJ"}}, SeqevalTypeRule::kAfterPrefix),
                       "f1") == 100.0);
  }
  SECTION("no entities anywhere gives zeros, not a division by zero") {
    const auto m = seqeval_metrics({{"O", "O"}}, {{"O", "O"}});
    CHECK(metric_value(m, "f1") == 0.0);
    CHECK(metric_value(m, "precision") == 0.0);
    CHECK(metric_value(m, "recall") == 0.0);
  }
}

TEST_CASE("SQuAD answer normalisation (evaluate_squad.py)", "[metrics]") {
  const AnswerNormalizer squad = AnswerNormalizer::squad();
  CHECK(squad.normalize("The Eiffel Tower!") == "eiffel tower");
  CHECK(squad.normalize("an apple, a pear") == "apple pear");
  // Articles are whole words only (\b): "Another", "theory" stay.
  CHECK(squad.normalize("Another theory") == "another theory");
  // Punctuation goes first, so "(a)" becomes the article "a" and then nothing.
  CHECK(squad.normalize("(a)") == "");
  // '_' is ASCII punctuation: "the_end" -> "theend", no longer an article.
  CHECK(squad.normalize("the_end") == "theend");
  // \b is Unicode-aware: "thé" is one word, not "the" + "é".
  CHECK(squad.normalize("Thé") == "thé");
  // Only ASCII punctuation is removed: the guillemets stay.
  CHECK(squad.normalize("«Paris»") == "«paris»");
  CHECK(squad.normalize("l'été") == "lété");
  CHECK(squad.normalize("  multiple\t\nspaces\u00a0here ") == "multiple spaces here");
  // No MLQA rules here: Chinese stays one token, Spanish articles stay.
  CHECK(squad.normalize("北京大学") == "北京大学");
  CHECK(squad.normalize("La casa") == "la casa");

  SECTION("F1 and exact match") {
    // "the cat sat" -> [cat, sat]; "a cat sat down" -> [cat, sat, down]: 2 common, p = 1,
    // r = 2/3, F1 = 2 * 1 * (2/3) / (1 + 2/3) = 0.8.
    const double p = 1.0 * 2 / 2;
    const double r = 1.0 * 2 / 3;
    CHECK(answer_f1("the cat sat", "a cat sat down", squad) == (2 * p * r) / (p + r));
    CHECK(answer_f1("dog", "cat", squad) == 0.0);
    // Repeated tokens count up to the smaller multiplicity: [a a b] vs [a b b]... (a is an
    // article, so use x): [x x y] vs [x y y] -> common x:1 y:1 = 2, p = r = 2/3.
    CHECK(answer_f1("x x y", "x y y", squad) == Approx(2.0 / 3).epsilon(1e-15));
    CHECK(answer_exact_match("The Eiffel Tower", "eiffel tower.", squad));
    CHECK_FALSE(answer_exact_match("Eiffel", "eiffel tower", squad));
    // Final sigma: upper-case Greek matches a gold answer written with the final form.
    CHECK(answer_exact_match("ΟΔΟΣ", "οδο\u03c2", squad));
    CHECK_FALSE(answer_exact_match("ΟΔΟΣ", "οδο\u03c3", squad));
  }
}

TEST_CASE("MLQA answer normalisation (evaluate_mlqa.py)", "[metrics]") {
  SECTION("zh: every CJK ideograph is a token") {
    const AnswerNormalizer zh = AnswerNormalizer::mlqa("zh");
    CHECK(zh.normalize("北京大学") == "北 京 大 学");
    CHECK(zh.normalize("iPhone 11手机") == "iphone 11 手 机");
    // Unicode punctuation (U+FF0C FULLWIDTH COMMA, Po) is removed first.
    CHECK(zh.normalize("北京，上海") == "北 京 上 海");
    // "北京大学" vs "北京": 4 predicted tokens, 2 gold, 2 common: p = 1/2, r = 1, F1 = 2/3.
    const double p = 1.0 * 2 / 4;
    const double r = 1.0 * 2 / 2;
    CHECK(answer_f1("北京大学", "北京", zh) == (2 * p * r) / (p + r));
  }
  SECTION("es: Spanish articles") {
    const AnswerNormalizer es = AnswerNormalizer::mlqa("es");
    CHECK(es.normalize("La casa de los abuelos") == "casa de abuelos");
    CHECK(es.normalize("El niño") == "niño");
    CHECK(es.normalize("Las") == "");
    CHECK(es.normalize("¿Unas?") == "");  // ¿ is Unicode punctuation, then "unas" an article
    CHECK(es.normalize("the house") == "the house");  // no English articles in Spanish
  }
  SECTION("de, en, vi, hi") {
    CHECK(AnswerNormalizer::mlqa("de").normalize("Der Hund und die Katze") == "hund und katze");
    // en under MLQA also drops Unicode punctuation, unlike SQuAD.
    CHECK(AnswerNormalizer::mlqa("en").normalize("The «quoted» answer") == "quoted answer");
    CHECK(AnswerNormalizer::mlqa("vi").normalize("Thủ đô của Việt Nam") == "thủ đô việt nam");
    // hi: no articles; the danda (Po) is punctuation.
    CHECK(AnswerNormalizer::mlqa("hi").normalize("भारत की राजधानी।") == "भारत की राजधानी");
  }
  SECTION("ar: every \"ال\" becomes a space, even inside a word") {
    const AnswerNormalizer ar = AnswerNormalizer::mlqa("ar");
    CHECK(ar.normalize("الكتاب") == "كتاب");
    // م ا ل ك (U+0645 U+0627 U+0644 U+0643): the inner "ال" splits it into two tokens.
    CHECK(ar.normalize("\u0645\u0627\u0644\u0643") == "\u0645 \u0643");
  }
  SECTION("languages outside the script") {
    CHECK_FALSE(AnswerNormalizer::mlqa_supports("fr"));
    CHECK_THROWS_AS(AnswerNormalizer::mlqa("fr"), ConfigError);
  }
}

TEST_CASE("QA exact match and F1 over a dataset", "[metrics]") {
  // q1: "paris" matches the first gold answer: EM 1, F1 1 (max over the two answers).
  // q2: "the cat sat" vs "cat sat down": EM 0, F1 0.8 (see the SQuAD case above).
  // q3: no prediction: 0 and 0, counted as unanswered. The prediction for "extra" is ignored.
  // EM = 100.0 * 1 / 3, F1 = 100.0 * (1 + 0.8) / 3.
  const std::vector<QaQuestion> questions = {
      {"q1", {"Paris", "the city of Paris"}}, {"q2", {"cat sat down"}}, {"q3", {"x"}}};
  const std::map<std::string, std::string> predictions = {
      {"q1", "paris"}, {"q2", "the cat sat"}, {"extra", "x"}};
  int64_t unanswered = -1;
  const auto m = qa_metrics(questions, predictions, AnswerNormalizer::squad(), &unanswered);
  REQUIRE(m.size() == 2);
  CHECK(m[0].name == "exact_match");
  CHECK(m[1].name == "f1");
  CHECK(m[0].value == 100.0 * 1 / 3);
  const double f1_q2 = (2 * 1.0 * (2.0 / 3)) / (1.0 + 2.0 / 3);
  CHECK(m[1].value == 100.0 * (1.0 + f1_q2) / 3);
  CHECK(unanswered == 1);
}

TEST_CASE("BUCC F1 over sets of id pairs", "[metrics]") {
  // Gold: 4 pairs. Predicted: a-b (right), c-x (wrong), e-f (right), a-b again (a set: counted
  // once) -> 3 distinct, 2 correct. p = 2/3, r = 2/4, f1 = 2pr / (p + r).
  const std::vector<std::string> gold = {"a\tb", "c\td", "e\tf", "g\th"};
  const std::vector<std::string> pred = {"a\tb", "c\tx", "e\tf", "a\tb"};
  const auto m = bucc_metrics(gold, pred);
  const double p = 2.0 / 3;
  const double r = 2.0 / 4;
  CHECK(metric_value(m, "precision") == p * 100);
  CHECK(metric_value(m, "recall") == r * 100);
  CHECK(metric_value(m, "f1") == 2 * p * r / (p + r) * 100);
  CHECK(m[0].name == "f1");
  // Nothing correct: all three are 0.
  const auto none = bucc_metrics(gold, {"x\ty"});
  CHECK(metric_value(none, "f1") == 0.0);
  CHECK(metric_value(none, "precision") == 0.0);
  CHECK(metric_value(none, "recall") == 0.0);
}

TEST_CASE("Mewsli-X map@20: reciprocal rank within the top 20", "[metrics]") {
  std::vector<std::string> late(25, "Qx");
  late[20] = "Q3";  // rank 21: outside the top 20
  std::vector<std::string> last(20, "Qx");
  last[19] = "Q5";  // rank 20: counts 1/20
  const std::vector<std::pair<std::string, std::string>> gold = {
      {"m1", " Q1 "},  // gold ids are stripped
      {"m2", "Q2"},
      {"m3", "Q3"},
      {"m4", "Q4"},
      {"m5", "Q5"}};
  const std::map<std::string, std::vector<std::string>> pred = {
      {"m1", {"Q1", "Q9"}}, {"m2", {"Qa", "Qb", "Q2", "Q2"}}, {"m3", late}, {"m5", last}};
  // Reciprocal ranks: m1 1, m2 1/3 (first hit), m3 0, m4 0 (no predictions), m5 1/20.
  int64_t unpredicted = -1;
  const auto m = map_at_k_metrics(gold, pred, kMewslixTopK, &unpredicted);
  REQUIRE(m.size() == 1);
  CHECK(m[0].name == "map@20");
  const double sum = 1.0 + 1.0 / 3 + 0.0 + 0.0 + 1.0 / 20;
  CHECK(m[0].value == sum / 5 * 100);
  CHECK(unpredicted == 1);
  CHECK(map_at_k_metrics({}, pred)[0].value == 0.0);
}

TEST_CASE("aggregation: language averages, task score, overall", "[metrics]") {
  const std::vector<MetricSet> qa = {{{"exact_match", 50.0}, {"f1", 70.0}},
                                     {{"exact_match", 60.0}, {"f1", 90.0}}};
  const MetricSet avg = average_over_languages(qa);
  REQUIRE(avg.size() == 2);
  CHECK(avg[0].name == "exact_match");
  CHECK(avg[0].value == 55.0);
  CHECK(avg[1].value == 80.0);
  CHECK(task_score(avg) == (55.0 + 80.0) / 2);  // QA: (avg EM + avg F1) / 2
  CHECK(task_score({{"f1", 40.0}, {"precision", 10.0}, {"recall", 90.0}}) == 40.0);
  CHECK(task_score({{"accuracy", 33.0}}) == 33.0);
  CHECK(task_score({{"map@20", 12.5}}) == 12.5);
  CHECK(mean_score({10.0, 20.0, 60.0}) == 30.0);
  // Languages are summed in the order given, then divided (Python sum(...) / len(...)).
  const std::vector<MetricSet> acc = {
      {{"accuracy", 0.1}}, {{"accuracy", 0.2}}, {{"accuracy", 0.3}}};
  CHECK(metric_value(average_over_languages(acc), "accuracy") == (0.1 + 0.2 + 0.3) / 3);
}

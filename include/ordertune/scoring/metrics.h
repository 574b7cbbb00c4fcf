// metrics — XTREME / XTREME-R scores exactly as google-research/xtreme's official evaluate.py
// computes them, for one (task, language) and aggregated over languages and tasks.
//
// One implementation used by both the sweep (scoring its own predictions) and `ordertune score`
// (scoring submission files, see submission.h). No LibTorch, no sentencepiece.
//
// Sources, all read at google-research/xtreme commit 838c13b (the commit the xtreme-mock
// fixtures come from) unless noted:
//   evaluate.py                  accuracy(), f1() (seqeval), bucc_f1(), squad_em_f1(),
//                                mlqa_em_f1(), mewslix_map20(), the averaging in evaluate()
//   third_party/evaluate_squad.py    SQuAD v1.1 script (allenai/bi-att-flow evaluate-v1.1.py)
//   third_party/evaluate_mlqa.py     MLQA script (facebookresearch/MLQA mlqa_evaluation_v1.py)
//   third_party/utils_mewslix.py     evaluate(): mean reciprocal rank over the top 20
//   chakki-works/seqeval metrics/sequence_labeling.py: get_entities, end_of_chunk,
//                                start_of_chunk, precision/recall/f1_score (micro)
//   evaluate_test.py (commit da430dd): the official expected scores on mock_test_data, which
//                                tests/unit/submission.test.cpp reproduces bit for bit.
//
// Every value is reported in percent, as evaluate.py multiplies each by 100 (accuracy, f1,
// precision, recall, map@20; evaluate_squad/mlqa already return exact_match and f1 x 100).
// Floating-point operations follow the Python expressions in the same order so that results
// match the official ones to the last bit where the inputs agree.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ordertune/config/task_registry.h"

namespace ordertune {

// ---- reported numbers ----------------------------------------------------------------------

// One reported number under the key evaluate.py uses: "accuracy", "f1", "precision", "recall",
// "exact_match", "map@20"; the value is in percent.
struct MetricValue {
  std::string name;
  double value = 0.0;
};
// The metrics of one (task, language) in the order evaluate.py reports them.
using MetricSet = std::vector<MetricValue>;

// The keys a task's metric reports, in evaluate.py's order (the results file has a row for each).
std::vector<std::string> metric_keys(Metric metric);

// The value of `name` in `metrics`; aborts (programmer error) when it is absent.
double metric_value(const MetricSet& metrics, const std::string& name);
bool has_metric(const MetricSet& metrics, const std::string& name);

// ---- Python str semantics the official scripts rely on ---------------------------------------
// The scripts run on Python 3 `str`, so "lower case", "whitespace", "punctuation" and the regex
// word boundary `\b` are Unicode-aware. These reproduce them on UTF-8 (over unicode_tables.h,
// generated from Python's unicodedata, Unicode 14.0.0). Inputs must be valid UTF-8.

std::string py_lower(const std::string& text);  // str.lower(), Final_Sigma rule included
std::string py_strip(const std::string& text);  // str.strip(): Unicode whitespace both ends
std::vector<std::string> py_split(const std::string& text);  // str.split() on Unicode whitespace
bool py_isspace(char32_t c);                                 // str.isspace()
bool py_isalnum(char32_t c);              // str.isalnum(); with '_' this is regex \w
bool is_unicode_punctuation(char32_t c);  // unicodedata.category(c).startswith('P')

// ---- accuracy: XNLI, PAWS-X, XCOPA, Tatoeba -------------------------------------------------

// evaluate.py accuracy(): share of positions where prediction == label, x 100. The two lists
// must have the same, non-zero length (the readers check it).
MetricSet accuracy_metrics(const std::vector<std::string>& labels,
                           const std::vector<std::string>& predictions);

// ---- seqeval: UD-POS, PAN-X --------------------------------------------------------------------

// How seqeval derives an entity's type from a tag (the IOB letter is always the first char).
enum class SeqevalTypeRule {
  // seqeval < 1.0: type = text after the last '-' (the whole tag when it has none, so the POS
  // tag "NOUN" has type "NOUN"). The official expected scores in evaluate_test.py were made
  // with this rule; it is the default.
  kAfterLastDash,
  // seqeval >= 1.0: type = chunk[1:] after its first '-', or "_" when that is empty ("NOUN"
  // -> "OUN"; "CCONJ" and "SCONJ" both -> "CONJ", which changes UD-POS scores).
  kAfterPrefix,
};

// An entity (chunk) over the flattened sequence: seqeval joins the sentences with an "O" after
// each, so positions count those separators too. `first` and `last` are inclusive.
struct TaggedEntity {
  std::string type;
  int64_t first = 0;
  int64_t last = 0;
  bool operator<(const TaggedEntity& o) const;
  bool operator==(const TaggedEntity& o) const;
};

// seqeval get_entities() in its default (non-strict, IOB-agnostic) mode: B/I/E/S/O letters,
// tags without a prefix, I- without B-, type changes, all as in end_of_chunk/start_of_chunk.
std::vector<TaggedEntity> seqeval_entities(const std::vector<std::vector<std::string>>& sentences,
                                           SeqevalTypeRule rule = SeqevalTypeRule::kAfterLastDash);

// Entity counts behind micro precision / recall / F1.
struct EntityCounts {
  int64_t correct = 0;    // entities in both (same type, first, last)
  int64_t predicted = 0;  // entities in the predictions
  int64_t gold = 0;       // entities in the labels
};
EntityCounts seqeval_counts(const std::vector<std::vector<std::string>>& labels,
                            const std::vector<std::vector<std::string>>& predictions,
                            SeqevalTypeRule rule = SeqevalTypeRule::kAfterLastDash);

// evaluate.py f1(): {"f1", "precision", "recall"} x 100, micro over entities; 0 where a
// denominator is 0. Sentence counts and lengths must match (the readers check it).
MetricSet seqeval_metrics(const std::vector<std::vector<std::string>>& labels,
                          const std::vector<std::vector<std::string>>& predictions,
                          SeqevalTypeRule rule = SeqevalTypeRule::kAfterLastDash);

// ---- extractive QA: XQuAD, TyDiQA-GoldP (SQuAD rules), MLQA (language-aware rules) ----------

// How answers are normalised before comparison.
class AnswerNormalizer {
 public:
  // evaluate_squad.py normalize_answer: lower case, drop ASCII punctuation (string.punctuation),
  // replace the words a/an/the by a space (regex \b(a|an|the)\b, Unicode word boundaries),
  // collapse whitespace. evaluate.py uses it for XQuAD and TyDiQA in every language.
  static AnswerNormalizer squad();
  // evaluate_mlqa.py normalize_answer(s, lang): lower case, drop Unicode punctuation (category
  // P*) and ASCII string.punctuation, remove the language's articles (en: a/an/the; es: un una
  // unos unas el la los las; de: ein eine einen einem eines einer der die das den dem des; vi:
  // của là cái chiếc những; ar: every "ال"; hi, zh: none), then split on whitespace, except zh:
  // every CJK character U+4E00..U+9FA5 becomes its own token. Throws ConfigError for another
  // language (the script raises "Unknown Language").
  static AnswerNormalizer mlqa(const std::string& lang);
  static bool mlqa_supports(const std::string& lang);

  std::string normalize(const std::string& text) const;
  // normalize(text).split(), the tokens F1 counts.
  std::vector<std::string> tokens(const std::string& text) const;
  bool is_mlqa() const { return mlqa_; }
  const std::string& lang() const { return lang_; }

 private:
  AnswerNormalizer(bool mlqa, std::string lang) : mlqa_(mlqa), lang_(std::move(lang)) {}
  bool mlqa_ = false;
  std::string lang_;
};

// Token-overlap F1 in [0, 1] and exact match of one prediction against one gold answer.
double answer_f1(const std::string& prediction, const std::string& gold,
                 const AnswerNormalizer& normalizer);
bool answer_exact_match(const std::string& prediction, const std::string& gold,
                        const AnswerNormalizer& normalizer);

// One question of a labels file: its id and every gold answer text, in file order.
struct QaQuestion {
  std::string id;
  std::vector<std::string> answers;  // non-empty (max over an empty list is an error there)
};

// evaluate(dataset, predictions[, lang]) of the SQuAD/MLQA scripts: {"exact_match", "f1"},
// each the best over the gold answers, summed over questions in order, x 100 / questions.
// A question without a prediction scores 0 (counted in *unanswered); predictions for unknown
// ids are ignored. `questions` must not be empty.
MetricSet qa_metrics(const std::vector<QaQuestion>& questions,
                     const std::map<std::string, std::string>& predictions,
                     const AnswerNormalizer& normalizer, int64_t* unanswered = nullptr);

// ---- BUCC 2018 bitext mining ---------------------------------------------------------------

// evaluate.py bucc_f1(): sets of "src-id\ttrg-id" lines (duplicates collapse), precision =
// |gold ∩ pred| / |pred|, recall = |gold ∩ pred| / |gold|, {"f1", "precision", "recall"} x 100;
// all 0 when nothing is correct.
MetricSet bucc_metrics(const std::vector<std::string>& gold_pairs,
                       const std::vector<std::string>& predicted_pairs);

// ---- Mewsli-X entity retrieval ---------------------------------------------------------------

inline constexpr int kMewslixTopK = 20;  // utils_mewslix.TOP_K

// utils_mewslix.evaluate(gold, predictions, k=20) as evaluate.py mewslix_map20() calls it:
// for each gold (id, entity) in file order, the reciprocal rank of the first prediction equal to
// the gold entity among the first k predicted for that id (0 if absent or no predictions);
// mean over gold ids (0 when there are none), x 100, reported as "map@20" (with one gold
// entity per mention, MAP@k equals MRR@k). The gold entity is labels[0].strip().
MetricSet map_at_k_metrics(const std::vector<std::pair<std::string, std::string>>& gold,
                           const std::map<std::string, std::vector<std::string>>& predictions,
                           int k = kMewslixTopK, int64_t* unpredicted = nullptr);

// ---- aggregation (evaluate.py evaluate()) ---------------------------------------------------

// avg_<m> for every metric m: the sum over languages in the given order divided by their
// number. Every language must report the same metric names. Names are kept ("f1", not "avg_f1").
MetricSet average_over_languages(const std::vector<MetricSet>& per_language);

// A task's single number (evaluate.py avg_metric) from its language averages: QA tasks (those
// reporting exact_match) (avg EM + avg F1) / 2; else avg f1 if present; else avg accuracy;
// else avg map@20.
double task_score(const MetricSet& averaged);

// The mean of task (or group) scores in the given order: evaluate.py's group scores and
// all_task. (Python sums a set there, so its order, and so the last bit, may differ.)
double mean_score(const std::vector<double>& scores);

}  // namespace ordertune

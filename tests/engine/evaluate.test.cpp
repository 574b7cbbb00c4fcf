// Evaluation: answer-span selection, and scoring of each prediction kind against expectations
// worked out by hand from the metric definitions.
#include "engine/engine_test.h"

#include "engine/synthetic_tasks.h"
#include "ordertune/train/evaluate.h"

using namespace ordertune;
using ordertune::testing::small_test_config;

namespace {

CachedTask task_of(const std::string& name, TaskType type, Metric metric,
                   std::vector<std::string> labels = {}) {
  CachedTask t;
  t.name = name;
  t.type = type;
  t.metric = metric;
  t.labels = std::move(labels);
  return t;
}

}  // namespace

TEST_CASE("answer span: best start + end among context tokens, end >= start, at most 30 tokens",
          "[evaluate]") {
  // 6 tokens: <s> question </s> </s> c1 c2 ... ; context tokens are 4.. with byte offsets.
  const int64_t n = 40;
  std::vector<float> start(n, 0.0f), end(n, 0.0f);
  std::vector<int64_t> ts(n, -1), te(n, -1);
  for (int64_t t = 4; t < n - 1; ++t) {
    ts[t] = 10 * t;
    te[t] = 10 * t + 5;
  }
  start[1] = 9.0f;  // best start, but in the question: not allowed
  end[1] = 9.0f;
  start[10] = 3.0f;
  end[8] = 5.0f;  // ends before the best start: not allowed with it
  end[12] = 2.0f;
  start[6] = 1.0f;  // 6..8 scores 6, 10..12 scores 5, 6..12 scores 3
  end[39] = 8.0f;   // </s>: outside the context
  AnswerSpan best;
  update_best_span(start.data(), end.data(), n, ts.data(), te.data(), &best);
  CHECK(best.score == 6.0);
  CHECK(best.start == 60);
  CHECK(best.end == 85);
  // Longer than 30 tokens: start 4, end 36 (33 tokens) is refused even with higher logits.
  std::vector<float> s2(n, 0.0f), e2(n, 0.0f);
  s2[4] = 10.0f;
  e2[36] = 10.0f;
  e2[20] = 1.0f;
  AnswerSpan b2;
  update_best_span(s2.data(), e2.data(), n, ts.data(), te.data(), &b2);
  CHECK(b2.start == 40);
  CHECK(b2.end == 205);
  CHECK(b2.score == 11.0);
  // A later window with an equal score does not replace the earlier one.
  AnswerSpan b3 = b2;
  b3.start = 1;
  update_best_span(s2.data(), e2.data(), n, ts.data(), te.data(), &b3);
  CHECK(b3.start == 1);
}

TEST_CASE("classification accuracy and tagging seqeval from predictions", "[evaluate]") {
  SplitFeatures s;
  s.type = TaskType::kClassification;
  s.classification.labels = {0, 1, 2, 1};
  Predictions p;
  p.type = TaskType::kClassification;
  p.labels = {0, 1, 1, 1};
  const auto cls = task_of("xnli", TaskType::kClassification, Metric::kAccuracy, {"a", "b", "c"});
  CHECK(metric_value(score_predictions(cls, "de", s, p), "accuracy") == 75.0);

  // Tagging: sentence 1 "B-PER I-PER O", sentence 2 "B-LOC"; the prediction gets the LOC right,
  // cuts PER short (B-PER O O: a different entity) and leaves the last word unpredicted (-1,
  // filled as "O"). Gold entities 2, predicted 2, correct 1: P = R = F1 = 50.
  SplitFeatures t;
  t.type = TaskType::kTagging;
  t.tagging.word_labels.push_row(std::vector<int32_t>{1, 2, 0});
  t.tagging.word_labels.push_row(std::vector<int32_t>{3});
  const auto panx =
      task_of("panx", TaskType::kTagging, Metric::kSeqevalF1, {"O", "B-PER", "I-PER", "B-LOC"});
  Predictions q;
  q.type = TaskType::kTagging;
  q.labels = {1, 0, -1, 3};
  const MetricSet m = score_predictions(panx, "de", t, q);
  CHECK(metric_value(m, "f1") == Approx(50.0));
  CHECK(metric_value(m, "precision") == Approx(50.0));
  CHECK(metric_value(m, "recall") == Approx(50.0));
  CHECK(tag_strings(panx, t, q.labels)[0] == std::vector<std::string>{"B-PER", "O", "O"});
}

TEST_CASE("QA predictions become context substrings scored with SQuAD rules", "[evaluate]") {
  SplitFeatures s;
  s.type = TaskType::kExtractiveQA;
  s.qa.ids = {"q1", "q2"};
  s.qa.contexts = {"The cat sat on the mat.", "Paris is in France."};
  s.qa.answer_texts.push_row(std::vector<std::string>{"the mat"});
  s.qa.answer_texts.push_row(std::vector<std::string>{"France", "in France"});
  Predictions p;
  p.type = TaskType::kExtractiveQA;
  p.spans = {15, 22, 0, 5};  // "the mat" (exact), "Paris" (wrong)
  CHECK(answer_strings(s, p.spans) == std::vector<std::string>{"the mat", "Paris"});
  const auto xquad = task_of("xquad", TaskType::kExtractiveQA, Metric::kSquad);
  const MetricSet m = score_predictions(xquad, "en", s, p);
  CHECK(metric_value(m, "exact_match") == 50.0);
  CHECK(metric_value(m, "f1") == 50.0);
}

TEST_CASE("Tatoeba is scored per English sentence; BUCC keeps pairs at or above the threshold",
          "[evaluate]") {
  SplitFeatures s;
  s.type = TaskType::kRetrieval;
  // Queries = the other language, candidates = English, gold (query i, candidate i).
  for (int i = 0; i < 4; ++i) {
    s.retrieval.query_ids.push_row(std::vector<int32_t>{0, 5, 2});
    s.retrieval.candidate_ids.push_row(std::vector<int32_t>{0, 6, 2});
    s.retrieval.query_keys.push_back("de-" + std::to_string(i));
    s.retrieval.candidate_keys.push_back("en-" + std::to_string(i));
    s.retrieval.gold_query.push_back(i);
    s.retrieval.gold_candidate.push_back(i);
  }
  Predictions p;
  p.type = TaskType::kRetrieval;
  p.k = 1;
  p.ranked = {0, 1, 3, 2};  // English sentence j -> nearest other-language sentence
  const auto tatoeba = task_of("tatoeba", TaskType::kRetrieval, Metric::kAccuracy);
  CHECK(metric_value(score_predictions(tatoeba, "de", s, p), "accuracy") == 50.0);

  Predictions b;
  b.type = TaskType::kRetrieval;
  b.k = 2;
  b.ranked = {0, 0, 1, 1, 2, 3, 3, 2};
  b.scores = {1.5f, 1.2f, 1.1f, 0.9f};
  b.threshold = 1.1;  // keeps (0,0) (1,1) correct and (2,3) wrong: P = 2/3, R = 2/4
  const auto bucc = task_of("bucc2018", TaskType::kRetrieval, Metric::kBuccF1);
  const MetricSet m = score_predictions(bucc, "de", s, b);
  CHECK(metric_value(m, "precision") == Approx(200.0 / 3.0));
  CHECK(metric_value(m, "recall") == Approx(50.0));
  CHECK(metric_value(m, "f1") == Approx(100.0 * 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)));
}

TEST_CASE("scoring a split without labels is a clear error", "[evaluate]") {
  SplitFeatures s;
  s.type = TaskType::kClassification;
  s.classification.labels = {-1, -1};
  Predictions p;
  p.labels = {0, 1};
  const auto cls = task_of("xnli", TaskType::kClassification, Metric::kAccuracy, {"a", "b"});
  CHECK_FALSE(has_labels(s));
  CHECK_THROWS_WITH(score_predictions(cls, "de", s, p),
                    "task xnli (de): the split has no labels to score");
}

TEST_CASE("a candidate set shared by a leaf's languages is embedded once, with the same rankings",
          "[evaluate][retrieval]") {
  const int64_t V = small_test_config().vocab_size;
  torch::manual_seed(11);
  XlmrEncoder e(small_test_config(), EncoderOptions{/*with_pooler=*/true, false});
  // Two languages' queries against one candidate set (as Mewsli-X's), and a third split with
  // other candidates.
  const SplitFeatures first = ordertune::testing::retrieval_split(30, V, 1);
  SplitFeatures second = ordertune::testing::retrieval_split(30, V, 2);
  second.retrieval.candidate_ids = first.retrieval.candidate_ids;
  second.retrieval.candidate_keys = first.retrieval.candidate_keys;
  const SplitFeatures other = ordertune::testing::retrieval_split(30, V, 3);
  for (const bool dual : {false, true}) {
    INFO("dual encoder: " << dual);
    EvalOptions plain;
    plain.dual_encoder = dual;
    EvalOptions shared = plain;
    CandidateEmbeddings cache;
    shared.candidates = &cache;
    const Predictions a = predict_retrieval(*e, first, Metric::kMap20, shared);
    CHECK(cache.reused == 0);
    const Predictions b = predict_retrieval(*e, second, Metric::kMap20, shared);
    CHECK(cache.reused == 1);  // second's candidates are first's: not embedded again
    const Predictions c = predict_retrieval(*e, other, Metric::kMap20, shared);
    CHECK(cache.reused == 1);  // other candidates: embedded
    CHECK(a.ranked == predict_retrieval(*e, first, Metric::kMap20, plain).ranked);
    CHECK(b.ranked == predict_retrieval(*e, second, Metric::kMap20, plain).ranked);
    CHECK(c.ranked == predict_retrieval(*e, other, Metric::kMap20, plain).ranked);
    CHECK(a.ranked != b.ranked);  // other queries, other rankings
  }
}

#include "ordertune/train/evaluate.h"

#include <algorithm>
#include <numeric>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/train/batching.h"
#include "ordertune/train/retrieval.h"

namespace ordertune {

PredictionSize prediction_size(const CachedTask& t, int64_t items, int64_t candidates) {
  switch (t.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
    case TaskType::kTagging:
      return {items, 0};
    case TaskType::kExtractiveQA:
      return {2 * items, 0};  // start and end per question
    case TaskType::kRetrieval:
      if (t.metric == Metric::kBuccF1)
        return {2 * std::min(items, candidates), std::min(items, candidates)};
      if (t.metric == Metric::kMap20) return {kRankedCandidates * items, 0};
      return {candidates, 0};
    case TaskType::kMLM:
      break;
  }
  return {0, 0};
}

PredictionSize prediction_size(const CachedTask& task, const SplitFeatures& s) {
  CachedTask t;  // the split's type decides, the task's metric
  t.type = s.type;
  t.metric = task.metric;
  switch (s.type) {
    case TaskType::kClassification:
      return prediction_size(t, static_cast<int64_t>(s.classification.labels.size()), 0);
    case TaskType::kMultipleChoice:
      return prediction_size(t, static_cast<int64_t>(s.multiple_choice.labels.size()), 0);
    case TaskType::kTagging:
      return prediction_size(t, static_cast<int64_t>(s.tagging.word_labels.values.size()), 0);
    case TaskType::kExtractiveQA:
      return prediction_size(t, static_cast<int64_t>(s.qa.ids.size()), 0);
    case TaskType::kRetrieval:
      return prediction_size(t, static_cast<int64_t>(s.retrieval.query_ids.rows()),
                             static_cast<int64_t>(s.retrieval.candidate_ids.rows()));
    case TaskType::kMLM:
      break;
  }
  return {0, 0};
}

namespace {

// Runs the model over the split in length-sorted batches; calls fn(items, logits) per batch.
template <typename Fn>
void for_each_batch(XlmrForTaskImpl& model, const SplitFeatures& split, int64_t batch_size, Fn fn) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const torch::Device device = model.roberta->embeddings->word_embeddings->weight.device();
  BatchOptions options;
  options.labels = false;
  for (const auto& items : sorted_batches(item_lengths(split), batch_size)) {
    const Batch b = make_batch(split, items, options);
    const torch::Tensor logits = model.forward(to_device(b.input_ids, device), b.attention_mask)
                                     .to(torch::kCPU, torch::kFloat32);
    fn(items, logits);
  }
  model.train(was_training);
}

std::vector<int64_t> top_indices(const float* v, int64_t n, int64_t k) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, n);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int64_t a, int64_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

}  // namespace

void update_best_span(const float* start, const float* end, int64_t n, const int64_t* token_start,
                      const int64_t* token_end, AnswerSpan* best) {
  for (int64_t a : top_indices(start, n, kQaBestSize)) {
    if (token_start[a] < 0) continue;
    for (int64_t z : top_indices(end, n, kQaBestSize)) {
      if (token_end[z] < 0 || z < a || z - a + 1 > kQaMaxAnswerTokens) continue;
      const double score = static_cast<double>(start[a]) + static_cast<double>(end[z]);
      if (score > best->score) *best = AnswerSpan{score, token_start[a], token_end[z]};
    }
  }
}

Predictions predict(XlmrForTaskImpl& model, const SplitFeatures& split,
                    const EvalOptions& options) {
  Predictions p;
  p.type = split.type;
  switch (split.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice: {
      p.labels.assign(static_cast<size_t>(item_count(split)), -1);
      for_each_batch(model, split, options.batch_size,
                     [&](const auto& items, const torch::Tensor& logits) {
                       const torch::Tensor best = logits.argmax(-1);
                       for (size_t i = 0; i < items.size(); ++i)
                         p.labels[items[i]] = static_cast<int32_t>(best[i].item<int64_t>());
                     });
      break;
    }
    case TaskType::kTagging: {
      const TaggingFeatures& t = split.tagging;
      p.labels.assign(t.word_labels.values.size(), -1);
      for_each_batch(model, split, options.batch_size,
                     [&](const auto& items, const torch::Tensor& logits) {
                       const torch::Tensor best = logits.argmax(-1);  // [B, T]
                       auto acc = best.accessor<int64_t, 2>();
                       for (size_t i = 0; i < items.size(); ++i) {
                         const size_t r = static_cast<size_t>(items[i]);
                         const int32_t* widx = t.word_index.row(r);
                         const int64_t words = t.word_labels.row_size(r);
                         for (int64_t tok = 0; tok < t.word_index.row_size(r); ++tok)
                           if (widx[tok] >= 0 && widx[tok] < words)
                             p.labels[static_cast<size_t>(t.word_labels.offsets[r] + widx[tok])] =
                                 static_cast<int32_t>(acc[i][tok]);
                       }
                     });
      break;
    }
    case TaskType::kExtractiveQA: {
      const QAFeatures& q = split.qa;
      std::vector<AnswerSpan> best(q.ids.size());
      for_each_batch(
          model, split, options.batch_size, [&](const auto& items, const torch::Tensor& logits) {
            const torch::Tensor lc = logits.contiguous();  // [B, T, 2]
            for (size_t i = 0; i < items.size(); ++i) {
              const size_t w = static_cast<size_t>(items[i]);
              const torch::Tensor start = lc[static_cast<int64_t>(i)].select(1, 0).contiguous();
              const torch::Tensor end = lc[static_cast<int64_t>(i)].select(1, 1).contiguous();
              update_best_span(start.data_ptr<float>(), end.data_ptr<float>(),
                               q.input_ids.row_size(w), q.token_start.row(w), q.token_end.row(w),
                               &best[static_cast<size_t>(q.window_example[w])]);
            }
          });
      for (const AnswerSpan& b : best) {
        p.spans.push_back(b.start);
        p.spans.push_back(b.end);
      }
      break;
    }
    case TaskType::kRetrieval:
    case TaskType::kMLM:
      throw ConfigError(std::string("predict: ") + choice_name(split.type) +
                        " tasks are evaluated elsewhere");
  }
  return p;
}

namespace {

int64_t pooled_layer(const XlmrEncoderImpl& encoder, const EvalOptions& o) {
  return o.retrieval_layer >= 0 ? o.retrieval_layer
                                : default_retrieval_layer(encoder.config().num_hidden_layers);
}

// BUCC candidates over the split's rows (mined over distinct sentences, as xtreme).
std::vector<BuccCandidate> bucc_split_candidates(XlmrEncoderImpl& encoder,
                                                 const SplitFeatures& split, const EvalOptions& o) {
  const RetrievalFeatures& r = split.retrieval;
  const UniqueRows src = unique_rows(r.query_ids), trg = unique_rows(r.candidate_ids);
  auto distinct = [](const Ragged<int32_t>& rows, const UniqueRows& u) {
    Ragged<int32_t> out;
    for (int64_t i : u.first_row) out.push_row(rows.row(i), rows.row(i) + rows.row_size(i));
    return out;
  };
  const int64_t layer = pooled_layer(encoder, o);
  const torch::Tensor x = embed(encoder, distinct(r.query_ids, src), layer, o.batch_size);
  const torch::Tensor y = embed(encoder, distinct(r.candidate_ids, trg), layer, o.batch_size);
  return bucc_candidates_to_rows(bucc_mine(x, y), src, trg);
}

}  // namespace

Predictions predict_retrieval(XlmrEncoderImpl& encoder, const SplitFeatures& split, Metric metric,
                              const EvalOptions& o, double threshold) {
  OT_CHECK(split.type == TaskType::kRetrieval, "predict_retrieval on a non-retrieval split");
  const RetrievalFeatures& r = split.retrieval;
  Predictions p;
  p.type = TaskType::kRetrieval;
  if (metric == Metric::kBuccF1) {
    p.k = 2;
    p.threshold = threshold;
    for (const BuccCandidate& c : bucc_split_candidates(encoder, split, o)) {
      p.ranked.push_back(c.source);
      p.ranked.push_back(c.target);
      p.scores.push_back(static_cast<float>(c.score));
    }
    return p;
  }
  const int64_t layer =
      o.dual_encoder && metric == Metric::kMap20 ? kPoolerOutput : pooled_layer(encoder, o);
  const torch::Tensor queries = embed(encoder, r.query_ids, layer, o.batch_size);
  torch::Tensor candidates;
  if (o.candidates) {
    Hasher h;
    h.field(std::to_string(layer));
    h.update(r.candidate_ids.offsets.data(), r.candidate_ids.offsets.size() * sizeof(int64_t));
    h.update(r.candidate_ids.values.data(), r.candidate_ids.values.size() * sizeof(int32_t));
    if (o.candidates->embeddings.defined() && o.candidates->key == h.digest()) {
      candidates = o.candidates->embeddings;
      ++o.candidates->reused;
    } else {
      o.candidates->embeddings = torch::Tensor();  // free the old set first
      candidates = embed(encoder, r.candidate_ids, layer, o.batch_size);
      o.candidates->key = h.digest();
      o.candidates->embeddings = candidates;
    }
  } else {
    candidates = embed(encoder, r.candidate_ids, layer, o.batch_size);
  }
  if (metric == Metric::kMap20) {
    p.k = kRankedCandidates;
    for (const auto& ranking : top_k(queries, candidates, kRankedCandidates)) {
      for (int64_t c : ranking) p.ranked.push_back(c);
      for (size_t j = ranking.size(); j < static_cast<size_t>(p.k); ++j) p.ranked.push_back(-1);
    }
    return p;
  }
  // Tatoeba, as xtreme: for each English sentence (a candidate here) the nearest sentence of
  // the other language (a query here).
  p.k = 1;
  p.ranked = nearest_neighbours(candidates, queries);
  return p;
}

double choose_bucc_threshold(XlmrEncoderImpl& encoder, const SplitFeatures& dev,
                             const EvalOptions& o) {
  std::vector<std::pair<int64_t, int64_t>> gold;
  for (size_t i = 0; i < dev.retrieval.gold_query.size(); ++i)
    gold.emplace_back(dev.retrieval.gold_query[i], dev.retrieval.gold_candidate[i]);
  return bucc_optimize_threshold(bucc_split_candidates(encoder, dev, o), gold);
}

std::vector<std::vector<std::string>> tag_strings(const CachedTask& task,
                                                  const SplitFeatures& split,
                                                  const std::vector<int32_t>& word_labels) {
  const auto& labels = task.labels;
  OT_CHECK(!labels.empty(), "tagging task {} has no labels", task.name);
  const bool has_o = std::find(labels.begin(), labels.end(), "O") != labels.end();
  const std::string fallback = has_o ? "O" : labels.front();
  const Ragged<int32_t>& rows = split.tagging.word_labels;
  std::vector<std::vector<std::string>> out(rows.rows());
  for (size_t r = 0; r < rows.rows(); ++r) {
    for (int64_t w = rows.offsets[r]; w < rows.offsets[r + 1]; ++w) {
      const int32_t l = word_labels[static_cast<size_t>(w)];
      out[r].push_back(l >= 0 && l < static_cast<int32_t>(labels.size()) ? labels[l] : fallback);
    }
  }
  return out;
}

std::vector<std::string> answer_strings(const SplitFeatures& split,
                                        const std::vector<int64_t>& spans) {
  std::vector<std::string> out;
  for (size_t i = 0; i < split.qa.contexts.size(); ++i) {
    const int64_t a = spans[2 * i], b = spans[2 * i + 1];
    out.push_back(a < 0 ? std::string() : split.qa.contexts[i].substr(a, b - a));
  }
  return out;
}

namespace {

std::vector<std::string> index_strings(const std::vector<int32_t>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (int32_t x : v) out.push_back(std::to_string(x));
  return out;
}

}  // namespace

MetricSet score_predictions(const CachedTask& task, const std::string& language,
                            const SplitFeatures& split, const Predictions& p) {
  if (!has_labels(split))
    throw DataError("task " + task.name + " (" + language + "): the split has no labels to score");
  switch (split.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice: {
      const std::vector<int32_t>& gold = split.type == TaskType::kClassification
                                             ? split.classification.labels
                                             : split.multiple_choice.labels;
      return accuracy_metrics(index_strings(gold), index_strings(p.labels));
    }
    case TaskType::kTagging: {
      const auto gold = tag_strings(task, split, split.tagging.word_labels.values);
      const auto pred = tag_strings(task, split, p.labels);
      if (task.metric == Metric::kSeqevalF1) return seqeval_metrics(gold, pred);
      // Token accuracy (CCG, as jiant scores it).
      std::vector<std::string> g, q;
      for (size_t r = 0; r < gold.size(); ++r) {
        g.insert(g.end(), gold[r].begin(), gold[r].end());
        q.insert(q.end(), pred[r].begin(), pred[r].end());
      }
      return accuracy_metrics(g, q);
    }
    case TaskType::kExtractiveQA: {
      const QAFeatures& qa = split.qa;
      std::vector<QaQuestion> questions;
      std::map<std::string, std::string> answers;
      const std::vector<std::string> texts = answer_strings(split, p.spans);
      for (size_t i = 0; i < qa.ids.size(); ++i) {
        QaQuestion q;
        q.id = qa.ids[i];
        for (int64_t j = qa.answer_texts.offsets[i]; j < qa.answer_texts.offsets[i + 1]; ++j)
          q.answers.push_back(qa.answer_texts.values[static_cast<size_t>(j)]);
        if (q.answers.empty()) q.answers.push_back("");  // SQuAD 2.0 unanswerable
        questions.push_back(std::move(q));
        answers[qa.ids[i]] = texts[i];
      }
      const AnswerNormalizer normalizer =
          task.metric == Metric::kMlqa && AnswerNormalizer::mlqa_supports(language)
              ? AnswerNormalizer::mlqa(language)
              : AnswerNormalizer::squad();
      return qa_metrics(questions, answers, normalizer);
    }
    case TaskType::kRetrieval: {
      const RetrievalFeatures& r = split.retrieval;
      const size_t nq = r.query_ids.rows();
      (void)nq;
      if (task.metric == Metric::kBuccF1) {
        std::vector<std::string> gold, pred;
        for (size_t i = 0; i < r.gold_query.size(); ++i)
          gold.push_back(r.query_keys[r.gold_query[i]] + "\t" +
                         r.candidate_keys[r.gold_candidate[i]]);
        for (size_t i = 0; i < p.scores.size(); ++i)
          if (p.scores[i] >= p.threshold)
            pred.push_back(r.query_keys[static_cast<size_t>(p.ranked[2 * i])] + "\t" +
                           r.candidate_keys[static_cast<size_t>(p.ranked[2 * i + 1])]);
        return bucc_metrics(gold, pred);
      }
      if (task.metric == Metric::kMap20) {
        std::vector<std::pair<std::string, std::string>> gold;
        std::map<std::string, std::vector<std::string>> ranked;
        for (size_t i = 0; i < r.gold_query.size(); ++i)
          gold.emplace_back(r.query_keys[r.gold_query[i]], r.candidate_keys[r.gold_candidate[i]]);
        for (size_t i = 0; i < nq; ++i) {
          auto& list = ranked[r.query_keys[i]];
          for (int64_t j = 0; j < p.k; ++j) {
            const int64_t c = p.ranked[i * p.k + j];
            if (c >= 0) list.push_back(r.candidate_keys[static_cast<size_t>(c)]);
          }
        }
        return map_at_k_metrics(gold, ranked);
      }
      // Tatoeba: per English sentence with a gold pair, is its nearest sentence the gold one.
      std::vector<std::string> gold, pred;
      for (size_t i = 0; i < r.gold_query.size(); ++i) {
        gold.push_back(std::to_string(r.gold_query[i]));
        pred.push_back(std::to_string(p.ranked[static_cast<size_t>(r.gold_candidate[i])]));
      }
      return accuracy_metrics(gold, pred);
    }
    case TaskType::kMLM:
      break;
  }
  throw ConfigError("task " + task.name + ": no metric for " + choice_name(split.type));
}

}  // namespace ordertune

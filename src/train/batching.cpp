#include "ordertune/train/batching.h"

#include <algorithm>
#include <numeric>
#include <tuple>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"

namespace ordertune {

// ---- shuffling --------------------------------------------------------------------------------

void shuffle(std::vector<int64_t>& values, uint64_t seed) {
  SplitMix64 rng(seed);
  for (size_t i = values.size(); i > 1; --i) std::swap(values[i - 1], values[rng.below(i)]);
}

// ---- items ------------------------------------------------------------------------------------

int64_t item_count(const SplitFeatures& s) {
  switch (s.type) {
    case TaskType::kClassification:
      return static_cast<int64_t>(s.classification.labels.size());
    case TaskType::kMultipleChoice:
      return static_cast<int64_t>(s.multiple_choice.labels.size());
    case TaskType::kTagging:
      return static_cast<int64_t>(s.tagging.input_ids.rows());
    case TaskType::kExtractiveQA:
      return static_cast<int64_t>(s.qa.input_ids.rows());
    case TaskType::kMLM:
      return static_cast<int64_t>(s.mlm.input_ids.rows());
    case TaskType::kRetrieval:
      return static_cast<int64_t>(s.retrieval.gold_query.size());
  }
  return 0;
}

namespace {

const Ragged<int32_t>& token_rows(const SplitFeatures& s) {
  switch (s.type) {
    case TaskType::kClassification:
      return s.classification.input_ids;
    case TaskType::kMultipleChoice:
      return s.multiple_choice.input_ids;
    case TaskType::kTagging:
      return s.tagging.input_ids;
    case TaskType::kExtractiveQA:
      return s.qa.input_ids;
    case TaskType::kMLM:
      return s.mlm.input_ids;
    case TaskType::kRetrieval:
      return s.retrieval.query_ids;
  }
  OT_CHECK(false, "unreachable");
  return s.mlm.input_ids;
}

constexpr int32_t kPadId = 1;
constexpr int32_t kFirstOrdinaryId = 4;  // <s>=0 <pad>=1 </s>=2 <unk>=3

bool is_special(int32_t id, int32_t mask_id) {
  return id < kFirstOrdinaryId || id == mask_id;
}

// MLM corruption of one row: new ids and labels (kIgnoreLabel where unselected).
int64_t mlm_corrupt(const int32_t* ids, int64_t n, int64_t item, const BatchOptions& o,
                    int32_t* out_ids, int32_t* out_labels) {
  SplitMix64 rng(derive_seed(o.mlm_seed, "item", static_cast<uint64_t>(item)));
  int64_t selected = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = ids[t];
    // Draw for every position (specials too) so a token's fate depends only on its position.
    const double select = rng.uniform(), kind = rng.uniform();
    const uint64_t random_id = rng.next();
    int32_t new_id = id, label = kIgnoreLabel;
    if (!is_special(id, o.mask_id) && select < o.mlm_probability) {
      ++selected;
      label = id;
      if (kind < 0.8) {
        new_id = o.mask_id;
      } else if (kind < 0.9) {
        new_id =
            kFirstOrdinaryId +
            static_cast<int32_t>(random_id % static_cast<uint64_t>(o.mask_id - kFirstOrdinaryId));
      }
    }
    if (out_ids) out_ids[t] = new_id;
    if (out_labels) out_labels[t] = label;
  }
  return selected;
}

void check_mlm_options(const BatchOptions& o) {
  OT_CHECK(o.mask_id > kFirstOrdinaryId && o.vocab_size > o.mask_id - 1,
           "MLM batches need mask_id and vocab_size");
}

}  // namespace

std::vector<int64_t> item_lengths(const SplitFeatures& s) {
  const Ragged<int32_t>& rows = token_rows(s);
  std::vector<int64_t> out;
  if (s.type == TaskType::kRetrieval) {  // a pair: the longer of its query and candidate
    const RetrievalFeatures& r = s.retrieval;
    for (size_t i = 0; i < r.gold_query.size(); ++i)
      out.push_back(std::max(r.query_ids.row_size(static_cast<size_t>(r.gold_query[i])),
                             r.candidate_ids.row_size(static_cast<size_t>(r.gold_candidate[i]))));
    return out;
  }
  if (s.type == TaskType::kMultipleChoice) {
    const int64_t c = s.multiple_choice.num_choices;
    const int64_t n = item_count(s);
    out.resize(static_cast<size_t>(n), 0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < c; ++j)
        out[i] = std::max(out[i], rows.row_size(static_cast<size_t>(i * c + j)));
    return out;
  }
  out.reserve(rows.rows());
  for (size_t i = 0; i < rows.rows(); ++i) out.push_back(rows.row_size(i));
  return out;
}

std::vector<std::vector<int64_t>> bucketed_batches(const std::vector<int64_t>& lengths,
                                                   int64_t batch_size, uint64_t seed,
                                                   int64_t pool_batches) {
  OT_CHECK(batch_size > 0 && pool_batches > 0, "bucketed_batches: sizes must be positive");
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  shuffle(order, derive_seed(seed, "items"));
  std::vector<std::vector<int64_t>> batches;
  const size_t pool = static_cast<size_t>(batch_size * pool_batches);
  for (size_t begin = 0; begin < order.size(); begin += pool) {
    const auto first = order.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last =
        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), begin + pool));
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
    for (auto it = first; it < last; it += std::min<std::ptrdiff_t>(batch_size, last - it))
      batches.emplace_back(it, it + std::min<std::ptrdiff_t>(batch_size, last - it));
  }
  std::vector<int64_t> batch_order(batches.size());
  std::iota(batch_order.begin(), batch_order.end(), 0);
  shuffle(batch_order, derive_seed(seed, "batches"));
  std::vector<std::vector<int64_t>> out;
  out.reserve(batches.size());
  for (int64_t b : batch_order) out.push_back(std::move(batches[b]));
  return out;
}

std::vector<std::vector<int64_t>> sorted_batches(const std::vector<int64_t>& lengths,
                                                 int64_t batch_size) {
  OT_CHECK(batch_size > 0, "sorted_batches: batch_size must be positive");
  std::vector<int64_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return lengths[a] < lengths[b]; });
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch_size))
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(
                                         order.size(), i + static_cast<size_t>(batch_size))));
  return out;
}

std::pair<int64_t, int64_t> slice_rows(int64_t n, int rank, int ranks) {
  OT_CHECK(ranks > 0 && rank >= 0 && rank < ranks, "slice_rows: bad rank");
  const int64_t base = n / ranks, extra = n % ranks;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

// ---- tensors ----------------------------------------------------------------------------------

namespace {

// The rows `which` of ragged token ids as [B, T] ids (pad id) and attention mask, T the longest
// row or pad_to. Adds the non-padding tokens to *tokens.
std::pair<torch::Tensor, torch::Tensor> padded_rows(const Ragged<int32_t>& rows,
                                                    const std::vector<int64_t>& which,
                                                    int64_t pad_to, int64_t* tokens) {
  const int64_t B = static_cast<int64_t>(which.size());
  int64_t T = std::max<int64_t>(pad_to, 1);
  for (int64_t r : which) T = std::max(T, rows.row_size(static_cast<size_t>(r)));
  torch::Tensor ids = torch::full({B, T}, kPadId, torch::kInt64);
  torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);
  auto id_acc = ids.accessor<int64_t, 2>();
  auto mask_acc = mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const size_t r = static_cast<size_t>(which[static_cast<size_t>(i)]);
    const int32_t* src = rows.row(r);
    const int64_t n = rows.row_size(r);
    for (int64_t t = 0; t < n; ++t) {
      id_acc[i][t] = src[t];
      mask_acc[i][t] = 1;
    }
    *tokens += n;
  }
  return {ids, mask};
}

// A dual-encoder batch: the queries and the candidates of the items' gold pairs.
Batch make_pair_batch(const RetrievalFeatures& r, const std::vector<int64_t>& items,
                      const BatchOptions& o) {
  std::vector<int64_t> queries, candidates;
  for (int64_t item : items) {
    queries.push_back(r.gold_query[static_cast<size_t>(item)]);
    candidates.push_back(r.gold_candidate[static_cast<size_t>(item)]);
  }
  Batch b;
  b.rows = static_cast<int64_t>(items.size());
  b.loss_terms = b.rows;
  std::tie(b.input_ids, b.attention_mask) = padded_rows(r.query_ids, queries, o.pad_to, &b.tokens);
  std::tie(b.candidate_ids, b.candidate_mask) =
      padded_rows(r.candidate_ids, candidates, o.pad_to, &b.tokens);
  return b;
}

}  // namespace

Batch make_batch(const SplitFeatures& s, const std::vector<int64_t>& items, const BatchOptions& o) {
  if (s.type == TaskType::kRetrieval) return make_pair_batch(s.retrieval, items, o);
  const Ragged<int32_t>& rows = token_rows(s);
  const int64_t B = static_cast<int64_t>(items.size());
  const int64_t C = s.type == TaskType::kMultipleChoice ? s.multiple_choice.num_choices : 1;
  int64_t T = o.pad_to;
  for (int64_t item : items)
    for (int64_t j = 0; j < C; ++j)
      T = std::max(T, rows.row_size(static_cast<size_t>(item * C + j)));
  T = std::max<int64_t>(T, 1);
  const bool mlm = s.type == TaskType::kMLM && o.labels;
  if (mlm) check_mlm_options(o);

  Batch b;
  b.rows = B;
  torch::Tensor ids = torch::full({B * C, T}, kPadId, torch::kInt64);
  torch::Tensor mask = torch::zeros({B * C, T}, torch::kInt64);
  auto id_acc = ids.accessor<int64_t, 2>();
  auto mask_acc = mask.accessor<int64_t, 2>();
  torch::Tensor token_labels;
  if (o.labels && (s.type == TaskType::kTagging || mlm))
    token_labels = torch::full({B, T}, kIgnoreLabel, torch::kInt64);
  std::vector<int32_t> row_ids, row_labels;
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t j = 0; j < C; ++j) {
      const size_t r = static_cast<size_t>(items[i] * C + j);
      const int32_t* src = rows.row(r);
      const int64_t n = rows.row_size(r);
      if (mlm) {
        row_ids.resize(n);
        row_labels.resize(n);
        b.loss_terms += mlm_corrupt(src, n, items[i], o, row_ids.data(), row_labels.data());
        src = row_ids.data();
        auto lab = token_labels.accessor<int64_t, 2>();
        for (int64_t t = 0; t < n; ++t) lab[i][t] = row_labels[t];
      }
      for (int64_t t = 0; t < n; ++t) {
        id_acc[i * C + j][t] = src[t];
        mask_acc[i * C + j][t] = 1;
      }
      b.tokens += n;
    }
  }
  if (C > 1) {
    ids = ids.view({B, C, T});
    mask = mask.view({B, C, T});
  }
  b.input_ids = ids;
  b.attention_mask = mask;
  if (!o.labels) return b;

  switch (s.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice: {
      const std::vector<int32_t>& labels =
          s.type == TaskType::kClassification ? s.classification.labels : s.multiple_choice.labels;
      b.labels = torch::empty({B}, torch::kInt64);
      for (int64_t i = 0; i < B; ++i) {
        const int32_t l = labels[static_cast<size_t>(items[i])];
        if (l < 0) throw DataError("training item " + std::to_string(items[i]) + " has no label");
        b.labels[i] = l;
      }
      b.loss_terms = B;
      break;
    }
    case TaskType::kTagging: {
      auto lab = token_labels.accessor<int64_t, 2>();
      for (int64_t i = 0; i < B; ++i) {
        const size_t r = static_cast<size_t>(items[i]);
        const int32_t* widx = s.tagging.word_index.row(r);
        const int32_t* wl = s.tagging.word_labels.row(r);
        const int64_t words = s.tagging.word_labels.row_size(r);
        for (int64_t t = 0; t < s.tagging.word_index.row_size(r); ++t) {
          if (widx[t] < 0 || widx[t] >= words || wl[widx[t]] < 0) continue;
          lab[i][t] = wl[widx[t]];
          ++b.loss_terms;
        }
      }
      b.labels = token_labels;
      break;
    }
    case TaskType::kExtractiveQA: {
      b.labels = torch::empty({B, 2}, torch::kInt64);
      auto lab = b.labels.accessor<int64_t, 2>();
      for (int64_t i = 0; i < B; ++i) {
        lab[i][0] = s.qa.start_positions[static_cast<size_t>(items[i])];
        lab[i][1] = s.qa.end_positions[static_cast<size_t>(items[i])];
      }
      b.loss_terms = B;
      break;
    }
    case TaskType::kMLM:
      b.labels = token_labels;
      break;
    case TaskType::kRetrieval:
      break;  // make_pair_batch
  }
  return b;
}

int64_t count_loss_terms(const SplitFeatures& s, const std::vector<int64_t>& items,
                         const BatchOptions& o) {
  switch (s.type) {
    case TaskType::kTagging: {
      int64_t n = 0;
      for (int64_t item : items) {
        const size_t r = static_cast<size_t>(item);
        const int32_t* widx = s.tagging.word_index.row(r);
        const int32_t* wl = s.tagging.word_labels.row(r);
        const int64_t words = s.tagging.word_labels.row_size(r);
        for (int64_t t = 0; t < s.tagging.word_index.row_size(r); ++t)
          n += widx[t] >= 0 && widx[t] < words && wl[widx[t]] >= 0;
      }
      return n;
    }
    case TaskType::kMLM: {
      check_mlm_options(o);
      int64_t n = 0;
      for (int64_t item : items) {
        const size_t r = static_cast<size_t>(item);
        n += mlm_corrupt(s.mlm.input_ids.row(r), s.mlm.input_ids.row_size(r), item, o, nullptr,
                         nullptr);
      }
      return n;
    }
    default:
      return static_cast<int64_t>(items.size());
  }
}

}  // namespace ordertune

#include "ordertune/train/retrieval.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <ATen/Parallel.h>

#include "ordertune/base/error.h"
#include "ordertune/model/torch_env.h"

namespace ordertune {

namespace {

// Embeddings as contiguous float32 CPU rows, L2-normalised, without autograd history.
torch::Tensor prepare(const torch::Tensor& x, const char* what) {
  TORCH_CHECK(x.dim() == 2, what, ": expected [rows, hidden], got ", x.sizes());
  TORCH_CHECK(x.is_floating_point(), what, ": expected floating-point embeddings, got ",
              x.scalar_type());
  torch::NoGradGuard no_grad;
  torch::Tensor y = x.detach().to(torch::kCPU, torch::kFloat);
  TORCH_CHECK(!torch::isnan(y).any().item<bool>(), what, ": embeddings contain NaN");
  return l2_normalize(y).contiguous();
}

// Keeps the k best (similarity descending, index ascending) entries of one row of `m`
// similarities. Entries arrive in index order, so an entry equal to a kept one goes after it.
// Each entry costs one comparison unless it enters the top k; k is small (4 for BUCC, 20 for
// rankings) or close to m, where a partial sort of indices is cheaper.
void select_row(const float* sim, int64_t m, int64_t k, int64_t* out_index, float* out_sim) {
  if (k > 64) {
    std::vector<int64_t> order(static_cast<size_t>(m));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
      return sim[a] > sim[b] || (sim[a] == sim[b] && a < b);
    });
    for (int64_t j = 0; j < k; ++j) {
      out_index[j] = order[static_cast<size_t>(j)];
      out_sim[j] = sim[order[static_cast<size_t>(j)]];
    }
    return;
  }
  int64_t kept = 0;
  for (int64_t c = 0; c < m; ++c) {
    const float v = sim[c];
    if (kept == k && !(v > out_sim[k - 1])) continue;
    int64_t pos = kept < k ? kept : k - 1;
    while (pos > 0 && out_sim[pos - 1] < v) {
      out_sim[pos] = out_sim[pos - 1];
      out_index[pos] = out_index[pos - 1];
      --pos;
    }
    out_sim[pos] = v;
    out_index[pos] = c;
    if (kept < k) ++kept;
  }
}

// Exact k-NN of normalised rows: blocks of queries against all candidates.
Neighbours knn_normalised(const torch::Tensor& q, const torch::Tensor& c, int64_t k,
                          int64_t block_rows) {
  TORCH_CHECK(block_rows >= 1, "block_rows: expected >= 1, got ", block_rows);
  const int64_t n = q.size(0);
  const int64_t m = c.size(0);
  Neighbours out;
  out.k = std::min(k, m);
  out.index.resize(static_cast<size_t>(n * out.k));
  out.similarity.resize(static_cast<size_t>(n * out.k));
  if (n == 0 || out.k == 0) return out;
  torch::NoGradGuard no_grad;
  const torch::Tensor ct = c.t();
  for (int64_t from = 0; from < n; from += block_rows) {
    const int64_t rows = std::min(block_rows, n - from);
    // [rows, m] as host float32: under bf16 autocast the product comes back in bf16, and on a
    // GPU in device memory.
    const torch::Tensor sim =
        torch::mm(q.narrow(0, from, rows), ct).to(torch::kCPU, torch::kFloat32).contiguous();
    const float* data = sim.data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const size_t at = static_cast<size_t>((from + r) * out.k);
        select_row(data + r * m, m, out.k, out.index.data() + at, out.similarity.data() + at);
      }
    });
  }
  return out;
}

void check_pair(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(1),
              "queries and candidates: expected [n, H] and [m, H], got ", a.sizes(), " and ",
              b.sizes());
}

float apply_margin(BuccMargin margin, float a, float b) {
  switch (margin) {
    case BuccMargin::kAbsolute:
      return a;
    case BuccMargin::kDistance:
      return a - b;
    case BuccMargin::kRatio:
      return a / b;
  }
  return a;
}

// Mean of each row's k similarities, in float32 like numpy's mean over a float32 axis.
std::vector<float> row_means(const Neighbours& nb, int64_t rows) {
  std::vector<float> mean(static_cast<size_t>(rows), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float sum = 0.0f;
    for (int64_t j = 0; j < nb.k; ++j) sum += nb.similarity[static_cast<size_t>(r * nb.k + j)];
    mean[static_cast<size_t>(r)] = sum / static_cast<float>(nb.k);
  }
  return mean;
}

// score_candidates + argmax for one direction: `nb` are the k-NN of `own` rows among the
// other side; own_mean / other_mean their k-NN means.
void best_by_margin(const Neighbours& nb, const std::vector<float>& own_mean,
                    const std::vector<float>& other_mean, BuccMargin margin,
                    std::vector<int64_t>* best, std::vector<double>* score) {
  const size_t rows = own_mean.size();
  best->assign(rows, -1);
  score->assign(rows, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    float top = 0.0f;
    for (int64_t j = 0; j < nb.k; ++j) {
      const size_t at = r * static_cast<size_t>(nb.k) + static_cast<size_t>(j);
      const int64_t other = nb.index[at];
      const float s = apply_margin(margin, nb.similarity[at],
                                   (own_mean[r] + other_mean[static_cast<size_t>(other)]) / 2.0f);
      if (j == 0 || s > top) {  // np.argmax: the first maximum
        top = s;
        (*best)[r] = other;
      }
    }
    (*score)[r] = static_cast<double>(top);
  }
}

}  // namespace

// ---- similarity search ----------------------------------------------------------------------

Neighbours k_nearest(const torch::Tensor& queries, const torch::Tensor& candidates, int64_t k,
                     int64_t block_rows) {
  check_pair(queries, candidates);
  TORCH_CHECK(k >= 1, "k: expected >= 1, got ", k);
  return knn_normalised(prepare(queries, "queries"), prepare(candidates, "candidates"), k,
                        block_rows);
}

std::vector<int64_t> nearest_neighbours(const torch::Tensor& queries,
                                        const torch::Tensor& candidates, int64_t block_rows) {
  check_pair(queries, candidates);
  TORCH_CHECK(candidates.size(0) >= 1, "nearest_neighbours: no candidates");
  return k_nearest(queries, candidates, 1, block_rows).index;
}

std::vector<std::vector<int64_t>> top_k(const torch::Tensor& queries,
                                        const torch::Tensor& candidates, int64_t k,
                                        int64_t block_rows) {
  const Neighbours nb = k_nearest(queries, candidates, k, block_rows);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(queries.size(0)));
  for (size_t q = 0; q < out.size(); ++q) {
    const auto first =
        nb.index.begin() + static_cast<std::ptrdiff_t>(q * static_cast<size_t>(nb.k));
    out[q].assign(first, first + nb.k);
  }
  return out;
}

// ---- BUCC ------------------------------------------------------------------------------------

BuccMarginBest bucc_margin_best(const torch::Tensor& source, const torch::Tensor& target,
                                const BuccMiningOptions& options) {
  check_pair(source, target);
  TORCH_CHECK(options.neighbourhood >= 1, "neighbourhood: expected >= 1, got ",
              options.neighbourhood);
  TORCH_CHECK(source.size(0) >= 1 && target.size(0) >= 1,
              "bucc_margin_best: both sides need sentences, got ", source.size(0), " and ",
              target.size(0));
  const torch::Tensor x = prepare(source, "source");
  const torch::Tensor y = prepare(target, "target");
  // mine_bitext: knn(x, y, min(y.shape[0], neighborhood)) and knn(y, x, min(x.shape[0], ...)).
  const Neighbours fwd = knn_normalised(x, y, options.neighbourhood, options.block_rows);
  const Neighbours bwd = knn_normalised(y, x, options.neighbourhood, options.block_rows);
  const std::vector<float> fwd_mean = row_means(fwd, x.size(0));
  const std::vector<float> bwd_mean = row_means(bwd, y.size(0));
  BuccMarginBest out;
  best_by_margin(fwd, fwd_mean, bwd_mean, options.margin, &out.forward_best, &out.forward_score);
  best_by_margin(bwd, bwd_mean, fwd_mean, options.margin, &out.backward_best, &out.backward_score);
  return out;
}

std::vector<BuccCandidate> bucc_candidates(const BuccMarginBest& best,
                                           const BuccMiningOptions& options) {
  const int64_t n = static_cast<int64_t>(best.forward_best.size());
  const int64_t m = static_cast<int64_t>(best.backward_best.size());
  std::vector<BuccCandidate> out;
  switch (options.retrieval) {
    case BuccRetrieval::kForward:
      for (int64_t i = 0; i < n; ++i)
        out.push_back({i, best.forward_best[static_cast<size_t>(i)],
                       best.forward_score[static_cast<size_t>(i)]});
      break;
    case BuccRetrieval::kBackward:
      for (int64_t j = 0; j < m; ++j)
        out.push_back({best.backward_best[static_cast<size_t>(j)], j,
                       best.backward_score[static_cast<size_t>(j)]});
      break;
    case BuccRetrieval::kIntersect:
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j = best.forward_best[static_cast<size_t>(i)];
        if (best.backward_best[static_cast<size_t>(j)] == i)
          out.push_back({i, j, best.forward_score[static_cast<size_t>(i)]});
      }
      break;
    case BuccRetrieval::kMax: {
      // Forward pairs, then backward pairs, ordered by score descending; a pair is kept when
      // neither its source nor its target was taken by a better one.
      std::vector<BuccCandidate> all;
      all.reserve(static_cast<size_t>(n + m));
      for (int64_t i = 0; i < n; ++i)
        all.push_back({i, best.forward_best[static_cast<size_t>(i)],
                       best.forward_score[static_cast<size_t>(i)]});
      for (int64_t j = 0; j < m; ++j)
        all.push_back({best.backward_best[static_cast<size_t>(j)], j,
                       best.backward_score[static_cast<size_t>(j)]});
      std::stable_sort(all.begin(), all.end(), [](const BuccCandidate& a, const BuccCandidate& b) {
        return a.score > b.score;
      });
      std::vector<uint8_t> seen_source(static_cast<size_t>(n), 0);
      std::vector<uint8_t> seen_target(static_cast<size_t>(m), 0);
      for (const BuccCandidate& c : all) {
        auto& s = seen_source[static_cast<size_t>(c.source)];
        auto& t = seen_target[static_cast<size_t>(c.target)];
        if (s || t) continue;
        s = t = 1;
        if (c.score > options.threshold) out.push_back(c);
      }
      break;
    }
  }
  return out;
}

std::vector<BuccCandidate> bucc_mine(const torch::Tensor& source, const torch::Tensor& target,
                                     const BuccMiningOptions& options) {
  return bucc_candidates(bucc_margin_best(source, target, options), options);
}

double bucc_optimize_threshold(const std::vector<BuccCandidate>& candidates,
                               const std::vector<std::pair<int64_t, int64_t>>& gold) {
  const std::set<std::pair<int64_t, int64_t>> gold_set(gold.begin(), gold.end());
  std::vector<BuccCandidate> items = candidates;
  std::stable_sort(items.begin(), items.end(), [](const BuccCandidate& a, const BuccCandidate& b) {
    return a.score > b.score;
  });
  const double ngold = static_cast<double>(gold_set.size());
  int64_t nextract = 0;
  int64_t ncorrect = 0;
  double threshold = 0.0;
  double best_f1 = 0.0;
  for (size_t i = 0; i < items.size(); ++i) {
    ++nextract;
    if (gold_set.count({items[i].source, items[i].target}) != 0) ++ncorrect;
    if (ncorrect == 0) continue;
    const double precision = static_cast<double>(ncorrect) / static_cast<double>(nextract);
    const double recall = static_cast<double>(ncorrect) / ngold;
    const double f1 = 2 * precision * recall / (precision + recall);
    if (f1 > best_f1) {
      best_f1 = f1;
      // xtreme: (items[i][1] + items[i + 1][1]) / 2, an IndexError at the last item.
      threshold = i + 1 < items.size() ? (items[i].score + items[i + 1].score) / 2 : items[i].score;
    }
  }
  return threshold;
}

std::vector<BuccCandidate> bucc_extract(const std::vector<BuccCandidate>& candidates,
                                        double threshold) {
  std::vector<BuccCandidate> out;
  for (const BuccCandidate& c : candidates)
    if (c.score >= threshold) out.push_back(c);
  return out;
}

UniqueRows unique_rows(const Ragged<int32_t>& rows) {
  UniqueRows out;
  std::map<std::vector<int32_t>, int64_t> index;
  out.unique_of_row.reserve(rows.rows());
  for (size_t r = 0; r < rows.rows(); ++r) {
    std::vector<int32_t> key(rows.row(r), rows.row(r) + rows.row_size(r));
    const auto [it, inserted] =
        index.emplace(std::move(key), static_cast<int64_t>(out.first_row.size()));
    if (inserted) {
      out.first_row.push_back(static_cast<int64_t>(r));
      out.count.push_back(0);
    }
    ++out.count[static_cast<size_t>(it->second)];
    out.unique_of_row.push_back(it->second);
  }
  return out;
}

std::vector<BuccCandidate> bucc_candidates_to_rows(const std::vector<BuccCandidate>& candidates,
                                                   const UniqueRows& source,
                                                   const UniqueRows& target) {
  std::vector<BuccCandidate> out;
  for (const BuccCandidate& c : candidates) {
    OT_CHECK(c.source >= 0 && static_cast<size_t>(c.source) < source.first_row.size() &&
                 c.target >= 0 && static_cast<size_t>(c.target) < target.first_row.size(),
             "candidate ({}, {}) outside {} x {} distinct rows", c.source, c.target,
             source.first_row.size(), target.first_row.size());
    if (source.count[static_cast<size_t>(c.source)] != 1 ||
        target.count[static_cast<size_t>(c.target)] != 1)
      continue;
    out.push_back({source.first_row[static_cast<size_t>(c.source)],
                   target.first_row[static_cast<size_t>(c.target)], c.score});
  }
  return out;
}

// ---- dual-encoder loss -------------------------------------------------------------------------

torch::Tensor in_batch_softmax_loss(const torch::Tensor& query_emb,
                                    const torch::Tensor& candidate_emb,
                                    const torch::Tensor& scale) {
  TORCH_CHECK(
      query_emb.dim() == 2 && query_emb.sizes() == candidate_emb.sizes() && query_emb.size(0) >= 1,
      "in_batch_softmax_loss: expected two [B, H] embeddings with B >= 1, got ", query_emb.sizes(),
      " and ", candidate_emb.sizes());
  const torch::Tensor logits =
      torch::mm(l2_normalize(query_emb), l2_normalize(candidate_emb).t()) * scale;
  const torch::Tensor labels = torch::arange(
      query_emb.size(0), torch::TensorOptions().dtype(torch::kInt64).device(query_emb.device()));
  return torch::nn::functional::cross_entropy(logits, labels);
}

torch::Tensor in_batch_softmax_loss(const torch::Tensor& query_emb,
                                    const torch::Tensor& candidate_emb, double scale) {
  return in_batch_softmax_loss(
      query_emb, candidate_emb,
      torch::scalar_tensor(
          scale, torch::TensorOptions().dtype(query_emb.scalar_type()).device(query_emb.device())));
}

// ---- sentence embeddings -----------------------------------------------------------------------

torch::Tensor embed(XlmrEncoderImpl& encoder, const Ragged<int32_t>& rows, int64_t layer,
                    int64_t batch_size) {
  const XlmrConfig& config = encoder.config();
  const bool pooler = layer == kPoolerOutput;
  TORCH_CHECK(pooler || (layer >= 0 && layer <= config.num_hidden_layers), "layer: expected 0..",
              config.num_hidden_layers, " or kPoolerOutput, got ", layer);
  TORCH_CHECK(!pooler || !encoder.pooler.is_empty(),
              "embed: the pooler output needs an encoder with a pooler");
  TORCH_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  const int64_t n = static_cast<int64_t>(rows.rows());
  torch::Tensor out = torch::zeros({n, config.hidden_size}, torch::kFloat);
  if (n == 0) return out;
  for (int64_t r = 0; r < n; ++r)
    TORCH_CHECK(rows.row_size(static_cast<size_t>(r)) >= 1, "embed: row ", r, " is empty");

  // Longest rows first (a batch that does not fit fails at once), ties in row order.
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return rows.row_size(static_cast<size_t>(a)) > rows.row_size(static_cast<size_t>(b));
  });

  const bool was_training = encoder.is_training();
  encoder.eval();
  torch::NoGradGuard no_grad;
  const torch::Device device = encoder.embeddings->word_embeddings->weight.device();
  try {
    for (int64_t from = 0; from < n; from += batch_size) {
      const int64_t b = std::min(batch_size, n - from);
      const int64_t t = rows.row_size(static_cast<size_t>(order[static_cast<size_t>(from)]));
      torch::Tensor ids = torch::full({b, t}, config.pad_token_id, torch::kInt64);
      torch::Tensor mask = torch::zeros({b, t}, torch::kInt64);
      auto ids_a = ids.accessor<int64_t, 2>();
      auto mask_a = mask.accessor<int64_t, 2>();
      torch::Tensor where = torch::empty({b}, torch::kInt64);
      auto where_a = where.accessor<int64_t, 1>();
      for (int64_t i = 0; i < b; ++i) {
        const size_t r = static_cast<size_t>(order[static_cast<size_t>(from + i)]);
        const int32_t* tokens = rows.row(r);
        for (int64_t j = 0; j < rows.row_size(r); ++j) {
          ids_a[i][j] = tokens[j];
          mask_a[i][j] = 1;
        }
        where_a[i] = static_cast<int64_t>(r);
      }
      ids = to_device(ids, device);  // the mask stays on the host (XlmrEncoderImpl::forward)
      const EncoderOutput enc = encoder.forward(ids, mask, /*all_hidden_states=*/!pooler);
      const torch::Tensor pooled =
          (pooler ? l2_normalize(enc.pooled)
                  : mean_pool(enc.hidden_states[static_cast<size_t>(layer)], mask))
              .to(torch::kCPU, torch::kFloat);
      out.index_copy_(0, where, pooled);
    }
  } catch (...) {
    encoder.train(was_training);
    throw;
  }
  encoder.train(was_training);
  return out;
}

}  // namespace ordertune

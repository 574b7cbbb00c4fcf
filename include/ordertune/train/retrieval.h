// retrieval — sentence embeddings and what XTREME-R does with them: nearest-neighbour search
// (Tatoeba), rankings (Mewsli-X, LAReQA), margin-based bitext mining with a threshold tuned on
// the dev gold (BUCC 2018), and the in-batch softmax loss of dual-encoder fine-tuning.
//
// Pure functions on embeddings: [rows, H] float tensors (any float dtype or device; compared in
// float32 on the CPU). Similarity is always cosine: both sides are L2-normalised first, as
// xtreme does with faiss.normalize_L2 before its inner-product / L2 searches. Exact search in
// blocks of `block_rows` query rows, so memory is O(block_rows x candidates); ties between equal
// similarities go to the lowest candidate index (faiss leaves their order unspecified).
//
// Sources, read at google-research/xtreme (third_party/ unless noted):
//   utils_retrieve.py   knnCPU/knnGPU (faiss IndexFlatIP k-NN; knnGPU in blocks of y), score(),
//                       score_candidates(), mine_bitext() (margin functions, retrieval modes),
//                       bucc_optimize(), bucc_extract(), read_sent2id(), read_candidate2score(),
//                       text_load_unify(), unique_embeddings(), similarity_search()
//   run_retrieval.py / evaluate_retrieval.py   the bucc2018 path (mine_bitext with defaults,
//                       then bucc_eval on the dev gold), the tatoeba path (similarity_search with
//                       normalize=True), extract_embeddings() + mean_pool_embedding(),
//                       prepare_batch() (<s> ... </s>, right padding, pool mask = attention mask)
//   bert.py BertForRetrieval (used by xlm_roberta.py XLMRobertaForRetrieval, run_retrieval_el.py
//                       for Mewsli-X), run_retrieval_qa.py BertForSequenceRetrieval (LAReQA):
//                       the dual-encoder loss
//   utils_lareqa.py mean_avg_prec_at_k, utils_mewslix.py evaluate: scores from rankings (those
//                       metrics live in metrics.h; this file only produces the rankings)
//   scripts/run_tatoeba.sh, run_bucc2018.sh, train_mewslix.sh, train_lareqa.sh: the settings
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "ordertune/data/data_cache.h"
#include "ordertune/model/model.h"

namespace ordertune {

// Query rows per block of exact search: the similarity block is block_rows x candidates floats
// (256 x 400k BUCC sentences = 400 MB).
inline constexpr int64_t kRetrievalBlockRows = 256;

// ---- similarity search ----------------------------------------------------------------------

// l2_normalize (model.h) scales rows to unit norm, as faiss.normalize_L2.

// The k most cosine-similar candidates of each query, best first; ties to the lowest index.
// k is capped at the number of candidates. Row-major [queries, k].
struct Neighbours {
  int64_t k = 0;
  std::vector<int64_t> index;     // candidate index of query q's j-th neighbour: [q * k + j]
  std::vector<float> similarity;  // its cosine similarity (float32, as faiss returns it)
};
Neighbours k_nearest(const torch::Tensor& queries, const torch::Tensor& candidates, int64_t k,
                     int64_t block_rows = kRetrievalBlockRows);

// Tatoeba: the most cosine-similar candidate of each query (lowest index on ties).
// xtreme similarity_search(x, y, dim, normalize=True) indexes x (the non-English side) and
// searches it with y (the English side) for 1 neighbour by L2 distance, which on unit vectors
// orders exactly as cosine; so queries = English, candidates = the other language, and the
// prediction for English line i is the index of a line of the other file.
std::vector<int64_t> nearest_neighbours(const torch::Tensor& queries,
                                        const torch::Tensor& candidates,
                                        int64_t block_rows = kRetrievalBlockRows);

// Mewsli-X / LAReQA rankings: the indices of the k most cosine-similar candidates per query,
// best first, ties to the lowest index; k capped at the number of candidates. xtreme ranks by
// the inner product of the dual encoder's L2-normalised encodings, i.e. by cosine
// (evaluate_retrieval.py: faiss IndexFlatIP over normalised candidates for entity linking;
// utils_lareqa.mean_avg_prec_at_k: scores.argsort()[::-1], cut at k=20 for mAP@20).
std::vector<std::vector<int64_t>> top_k(const torch::Tensor& queries,
                                        const torch::Tensor& candidates, int64_t k,
                                        int64_t block_rows = kRetrievalBlockRows);

// ---- BUCC 2018 bitext mining (utils_retrieve.mine_bitext, mode "mine") -----------------------
//
// Margin-based scoring (Artetxe & Schwenk 2019, "Margin-based parallel corpus mining with
// multilingual sentence embeddings", via LASER): with x the source (non-English) and y the
// target (English) embeddings, both L2-normalised,
//   fwd_mean[i] = mean cosine of x_i's k nearest y,  bwd_mean[j] = mean cosine of y_j's k nearest x
//   score(i, j) = margin(cos(x_i, y_j), (fwd_mean[i] + bwd_mean[j]) / 2)
// with k = min(4, other side's size) and margin "ratio" a / b (defaults of mine_bitext, which
// run_retrieval.py calls with dist=cosine and no shift). Each source sentence's candidates are
// its k nearest targets; its best is the first (in neighbour order) with the highest score;
// likewise backward for each target. Scores are float32 arithmetic as in numpy.
//
// xtreme searches with faiss IndexFlatIP (exact; on GPU in blocks of 5 GiB / (4 H) rows of
// each side, merged per row). Here the same exact search runs in blocks of query rows against
// all candidates, forward and backward, O(block_rows x max(n, m)) memory.

enum class BuccMargin {
  kAbsolute,  // a            (the raw cosine)
  kDistance,  // a - b
  kRatio,     // a / b        (xtreme's default)
};

enum class BuccRetrieval {
  kForward,    // every source with its best target, no threshold
  kBackward,   // every target with its best source, no threshold
  kIntersect,  // sources whose best target has them as its best source, no threshold
  kMax,        // xtreme's default: forward and backward candidates together, by score
               // descending, greedily keeping pairs whose source and target are both unused,
               // then only those with score > threshold
};

struct BuccMiningOptions {
  int64_t neighbourhood = 4;                      // k of the k-NN means and of the candidate lists
  BuccMargin margin = BuccMargin::kRatio;         // margin function
  BuccRetrieval retrieval = BuccRetrieval::kMax;  // how candidate pairs are chosen
  double threshold = 0.0;                         // kMax keeps score > threshold (mine_bitext's 0)
  int64_t block_rows = kRetrievalBlockRows;       // rows per block of exact search
};

// One mined pair: source (non-English) index, target (English) index, margin score.
struct BuccCandidate {
  int64_t source = 0;
  int64_t target = 0;
  double score = 0.0;
};

// Each sentence's best candidate in the other language and its margin score.
struct BuccMarginBest {
  std::vector<int64_t> forward_best;   // per source: best target
  std::vector<double> forward_score;   // per source: its score (fwd_scores[i].max())
  std::vector<int64_t> backward_best;  // per target: best source
  std::vector<double> backward_score;  // per target: its score (bwd_scores[j].max())
};
BuccMarginBest bucc_margin_best(const torch::Tensor& source, const torch::Tensor& target,
                                const BuccMiningOptions& options = {});

// The candidate pairs of options.retrieval, in mine_bitext's output order (kMax: by score
// descending, ties in forward-then-backward order, the order np.argsort leaves unspecified).
std::vector<BuccCandidate> bucc_candidates(const BuccMarginBest& best,
                                           const BuccMiningOptions& options = {});

// bucc_margin_best + bucc_candidates.
std::vector<BuccCandidate> bucc_mine(const torch::Tensor& source, const torch::Tensor& target,
                                     const BuccMiningOptions& options = {});

// utils_retrieve.bucc_optimize: walks the candidates by score descending (a stable sort, so
// ties keep their order), counting extracted and correct pairs; wherever F1 against the gold
// (duplicates collapse) reaches a new maximum, the threshold becomes the midpoint between this
// score and the next. 0 when no candidate is correct. Where xtreme would index past the end
// (best F1 at the last candidate) the threshold is that last score, keeping every candidate.
double bucc_optimize_threshold(const std::vector<BuccCandidate>& candidates,
                               const std::vector<std::pair<int64_t, int64_t>>& gold);

// utils_retrieve.bucc_extract: the candidates with score >= threshold, in their order.
std::vector<BuccCandidate> bucc_extract(const std::vector<BuccCandidate>& candidates,
                                        double threshold);

// xtreme mines over distinct sentences (text_load_unify, unique_embeddings) and maps candidate
// pairs back to sentence ids through read_sent2id, which drops every sentence text that occurs
// more than once in its file. The same on token-id rows:
struct UniqueRows {
  std::vector<int64_t> first_row;      // per distinct row: its first row index, in row order
  std::vector<int64_t> unique_of_row;  // per row: the index of its distinct row
  std::vector<int64_t> count;          // per distinct row: how many rows repeat it
};
UniqueRows unique_rows(const Ragged<int32_t>& rows);
// Pairs mined over distinct rows, as row indices; pairs with a repeated side are dropped
// (read_candidate2score), the rest keep their order.
std::vector<BuccCandidate> bucc_candidates_to_rows(const std::vector<BuccCandidate>& candidates,
                                                   const UniqueRows& source,
                                                   const UniqueRows& target);

// ---- dual-encoder fine-tuning (Mewsli-X, LAReQA) ----------------------------------------------

// bert.py BertForRetrieval: logit_scale is a trainable parameter initialised to 100;
// run_retrieval_qa.py BertForSequenceRetrieval fixes it at 100.
inline constexpr double kDualEncoderLogitScale = 100.0;

// In-batch softmax cross-entropy as xtreme's dual encoders compute it: both sides
// L2-normalised (F.normalize, p=2, dim=1), logits = scale * q_n c_n^T [B, B], label of row i =
// i (its own candidate; the batch's other candidates are the negatives), mean over rows
// (CrossEntropyLoss). One direction only (queries over candidates), as xtreme. Differentiable
// in both embeddings (and in `scale` for the tensor overload, xtreme's trainable logit_scale).
// xtreme encodes each side with the pooler output (<s>, dense, tanh) of a shared encoder; the
// loss does not care which pooling produced the embeddings.
torch::Tensor in_batch_softmax_loss(const torch::Tensor& query_emb,
                                    const torch::Tensor& candidate_emb,
                                    double scale = kDualEncoderLogitScale);
torch::Tensor in_batch_softmax_loss(const torch::Tensor& query_emb,
                                    const torch::Tensor& candidate_emb, const torch::Tensor& scale);

// ---- sentence embeddings -----------------------------------------------------------------------

// Mean-pooled hidden states of `layer` (0 = embeddings output, L = last layer, as
// EncoderOutput::hidden_states) for each token-id row (a full sequence <s> ... </s>), as
// extract_embeddings + mean_pool_embedding: pool mask = attention mask, so <s> and </s> count
// (pool_skip_special_token is off in every xtreme script). Rows are batched by length (longest
// first) so padding (the config's pad id, mask 0) stays small; the result is in row order,
// [rows, H] float32 on the CPU. Runs in eval mode without gradients and restores the encoder's
// training flag. Note on layers: xtreme's specific_layer i indexes the last num_layers hidden
// states, i.e. hidden_states[L - num_layers + i + 1] (Tatoeba with XLM-R large: 13 -> 14).
// layer = kPoolerOutput: the L2-normalised pooler output instead (the dual encoder of Mewsli-X
// and LAReQA, heads.h; the encoder needs its pooler).
inline constexpr int64_t kPoolerOutput = -1;
torch::Tensor embed(XlmrEncoderImpl& encoder, const Ragged<int32_t>& rows, int64_t layer,
                    int64_t batch_size);

}  // namespace ordertune

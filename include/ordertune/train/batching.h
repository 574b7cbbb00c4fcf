// batching — tensors for training and evaluation from the data cache, deterministic shuffling,
// length-bucketed batches, MLM masking.
//
// Determinism (src/DESIGN.md, decision 6): every random choice here is a pure function of
// a 64-bit seed that the caller derives from the node's seed, never of the rank, the thread count
// or the standard library's distributions (std::shuffle and std::uniform_int_distribution differ
// between implementations). The generator is splitmix64.
//
// Items. A split is trained as a list of items: one per example (classification, multiple choice,
// tagging, MLM line), one per window (extractive QA: SQuAD-style windows are the training
// instances, as in Hugging Face's run_qa and xtreme's run_squad), or one per gold (query,
// candidate) pair (retrieval: the dual encoder's training pairs; the other candidates of a batch
// are its negatives).
//
// Data parallel. A micro-batch is a list of items; the G ranks of a group each take a contiguous
// slice of it (slice_rows) but pad to the length of the WHOLE micro-batch, and MLM masks depend on
// the item index only, so the union of the ranks' slices is exactly the one-rank batch. Together
// with dropout_rows() (model.h) this makes a group of G ranks compute the same numbers as one rank.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "ordertune/base/hash.h"
#include "ordertune/data/data_cache.h"

namespace ordertune {

// ---- shuffling --------------------------------------------------------------------------------

// Fisher-Yates with SplitMix64.
void shuffle(std::vector<int64_t>& values, uint64_t seed);

// ---- items and their lengths ------------------------------------------------------------------

// Training items of a split (see above).
int64_t item_count(const SplitFeatures& split);
// Padded length each item needs: tokens of the row; for multiple choice the longest choice.
std::vector<int64_t> item_lengths(const SplitFeatures& split);

// Length-bucketed batches of one epoch: shuffle the items, cut them into pools of
// batch_size * pool_batches, sort each pool by length (stable), cut pools into batches, and
// shuffle the order of the batches. Every item appears exactly once; the last batch of a pool
// may be smaller. Padding drops to a few percent while batches stay random.
inline constexpr int64_t kBucketPoolBatches = 50;
std::vector<std::vector<int64_t>> bucketed_batches(const std::vector<int64_t>& lengths,
                                                   int64_t batch_size, uint64_t seed,
                                                   int64_t pool_batches = kBucketPoolBatches);

// Items in order, batches sorted by length within consecutive runs (evaluation: no shuffling).
std::vector<std::vector<int64_t>> sorted_batches(const std::vector<int64_t>& lengths,
                                                 int64_t batch_size);

// The rows [begin, end) of a micro-batch of n items that rank r of G takes: contiguous, sizes
// differing by at most one, the first n % G ranks one larger.
std::pair<int64_t, int64_t> slice_rows(int64_t n, int rank, int ranks);

// ---- tensors ----------------------------------------------------------------------------------

struct Batch {
  torch::Tensor input_ids;       // int64 [B, T] ([B, C, T] for multiple choice), pad id 1
  torch::Tensor attention_mask;  // int64, same shape, 1 = token
  // Targets by type: classification / multiple choice [B] label index; tagging and MLM [B, T]
  // (kIgnoreLabel where no loss); extractive QA [B, 2] start and end token.
  torch::Tensor labels;
  // Retrieval (dual encoder): input_ids / attention_mask hold the queries of the items' pairs,
  // these their candidates [B, Tc]; query i's positive is candidate i (no labels tensor).
  torch::Tensor candidate_ids, candidate_mask;
  int64_t rows = 0;        // items in this batch
  int64_t tokens = 0;      // non-padding tokens (throughput)
  int64_t loss_terms = 0;  // terms of the loss sum: items, or labelled tokens (tagging, MLM)
};

struct BatchOptions {
  int64_t pad_to = 0;  // pad to at least this length (the whole micro-batch's, see above)
  bool labels = true;  // build targets (false for prediction)
  // MLM (BERT's recipe as jiant and HF's DataCollatorForLanguageModeling): each non-special
  // token is selected with mlm_probability; a selected token becomes <mask> 80%, a random
  // non-special id 10%, itself 10%. Decided by derive_seed(mlm_seed, "item", item), so the same
  // item gets the same mask in any batch or slice.
  double mlm_probability = 0.15;
  uint64_t mlm_seed = 0;
  int32_t mask_id = -1;    // <mask>; required for MLM
  int32_t vocab_size = 0;  // random replacements come from [4, mask_id) (no specials)
};

// Builds the batch of `items` (item indices of the split).
Batch make_batch(const SplitFeatures& split, const std::vector<int64_t>& items,
                 const BatchOptions& options);

// The loss_terms make_batch would report, without building tensors (tagging counts labelled
// first sub-tokens, MLM counts selected tokens).
int64_t count_loss_terms(const SplitFeatures& split, const std::vector<int64_t>& items,
                         const BatchOptions& options);

}  // namespace ordertune

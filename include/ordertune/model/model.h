// model — XLM-R encoder and task heads in LibTorch, parameter names exactly Hugging Face's.
//
// XlmrEncoder equals transformers' XLMRobertaModel (modeling_xlm_roberta.py): word + RoBERTa
// position embeddings (position ids = cumulative count of non-padding tokens + padding id) +
// token type 0, LayerNorm, dropout; post-LN layers with exact (erf) GELU; an optional pooler
// (dense + tanh on <s>). Attention runs through scaled_dot_product_attention where LibTorch >= 2
// has it, else an explicit softmax path with HF's additive mask (float32 min; left out when
// nothing is padded). Q, K and V keep HF's three parameters but run as one fused matmul. Training
// mode uses ordertune::dropout below (HF's dropout semantics, a cheaper mask generator on CPU).
//
// Module names follow HF so named_parameters() gives "embeddings.word_embeddings.weight",
// "encoder.layer.3.attention.self.query.weight", ...; heads add HF's head names
// ("classifier.dense.weight", "qa_outputs.weight", "lm_head.dense.weight", ...), and a full
// model prefixes the encoder with "roberta." exactly like XLMRobertaFor* checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ordertune/config/model_config.h"

namespace ordertune {

struct EncoderOutput {
  torch::Tensor last_hidden_state;           // [B, T, H]
  std::vector<torch::Tensor> hidden_states;  // L+1 tensors [B, T, H] when requested
  torch::Tensor pooled;                      // [B, H] when the pooler ran
};

class XlmrEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit XlmrEmbeddingsImpl(const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids);

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::Embedding token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: HF's name
  torch::nn::Dropout dropout{nullptr};

 private:
  int64_t pad_id_;
};
TORCH_MODULE(XlmrEmbeddings);

class XlmrSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit XlmrSelfAttentionImpl(const XlmrConfig& config);
  // mask_add: [B, 1, 1, T] additive mask (0 or float32 min), in the activations' dtype;
  // undefined when nothing is padded.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_add);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};

 private:
  int64_t heads_, head_dim_;
  double dropout_p_;
};
TORCH_MODULE(XlmrSelfAttention);

// A dense layer followed by dropout and a residual LayerNorm (HF's *SelfOutput and *Output).
class XlmrResidualOutputImpl : public torch::nn::Module {
 public:
  XlmrResidualOutputImpl(int64_t in, int64_t out, const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: HF's name
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(XlmrResidualOutput);

class XlmrAttentionImpl : public torch::nn::Module {
 public:
  explicit XlmrAttentionImpl(const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_add);

  XlmrSelfAttention self{nullptr};
  XlmrResidualOutput output{nullptr};
};
TORCH_MODULE(XlmrAttention);

class XlmrIntermediateImpl : public torch::nn::Module {
 public:
  explicit XlmrIntermediateImpl(const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(XlmrIntermediate);

class XlmrLayerImpl : public torch::nn::Module {
 public:
  explicit XlmrLayerImpl(const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_add);

  XlmrAttention attention{nullptr};
  XlmrIntermediate intermediate{nullptr};
  XlmrResidualOutput output{nullptr};
};
TORCH_MODULE(XlmrLayer);

class XlmrLayerStackImpl : public torch::nn::Module {
 public:
  explicit XlmrLayerStackImpl(const XlmrConfig& config);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(XlmrLayerStack);

class XlmrPoolerImpl : public torch::nn::Module {
 public:
  explicit XlmrPoolerImpl(const XlmrConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);  // dense + tanh on <s>

  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(XlmrPooler);

struct EncoderOptions {
  bool with_pooler = true;                // HF's add_pooling_layer
  bool activation_checkpointing = false;  // recompute each layer in backward (training only)
};

class XlmrEncoderImpl : public torch::nn::Module {
 public:
  XlmrEncoderImpl(const XlmrConfig& config, EncoderOptions options = {});
  // input_ids: [B, T] int64; attention_mask: [B, T] (1 = token, 0 = padding); if undefined,
  // derived from input_ids != pad. The mask may stay on the host when input_ids are on a GPU:
  // padding is then decided without a synchronisation, and no mask is applied without it.
  // all_hidden_states: also return every layer's output.
  EncoderOutput forward(const torch::Tensor& input_ids, torch::Tensor attention_mask = {},
                        bool all_hidden_states = false);
  const XlmrConfig& config() const { return config_; }

  XlmrEmbeddings embeddings{nullptr};
  XlmrLayerStack encoder{nullptr};
  XlmrPooler pooler{nullptr};

 private:
  XlmrConfig config_;
  EncoderOptions options_;
};
TORCH_MODULE(XlmrEncoder);

// A Linear layer through at::linear, which runs a [B, T, in] input as one addmm (bias added
// inside the GEMM); torch::nn::Linear::forward runs matmul, then adds the bias in another pass.
inline torch::Tensor linear(const torch::Tensor& x, const torch::nn::Linear& layer) {
  return torch::linear(x, layer->weight, layer->bias);
}

// Dropout with torch::dropout's semantics: each element kept with probability 1 - p and scaled
// by 1 / (1 - p). On CPU float32 the keep mask is a counter-based hash (wyrand) of a seed
// drawn from LibTorch's default CPU generator instead of bernoulli_: ~15x cheaper, the mask kept
// as bytes (not floats) for backward, the same for any thread count, reproducible with
// torch::manual_seed and replayed by activation checkpointing (which restores the generator).
// Elsewhere it is torch::dropout. Identity when !train or p == 0.
torch::Tensor dropout(const torch::Tensor& x, double p, bool train);
// Data parallelism: while alive, hash dropout treats the tensors of this thread as rows
// [first_row, first_row + local_rows) of a larger batch (the leading dimension, or dimensions,
// of every dropped tensor hold the rows), so each element gets the mask it has in the one-rank
// batch and G ranks computing slices of a batch reproduce one rank computing all of it (the
// ranks draw the same per-call seeds because they run the same modules in the same order).
class DropoutRows {
 public:
  DropoutRows(int64_t first_row, int64_t local_rows);
  ~DropoutRows();
  DropoutRows(const DropoutRows&) = delete;
  DropoutRows& operator=(const DropoutRows&) = delete;

 private:
  int64_t saved_first_, saved_rows_;
};
// Seeds the dropout of one micro-batch slice whose first row is `first_row` of the batch:
// torch::manual_seed(seed) (the CPU's hash dropout places the slice with DropoutRows), and on a
// GPU, that device's generator from (seed, first_row), so that the slices of a group draw
// distinct masks. GPU masks are LibTorch's own: a group on GPUs does not draw the masks one rank
// draws (README, "What is bitwise").
void seed_dropout(uint64_t seed, int64_t first_row, const torch::Device& device);
// residual + dropout(x, p, train) in one pass (the sublayer output before its LayerNorm).
torch::Tensor dropout_add(const torch::Tensor& x, const torch::Tensor& residual, double p,
                          bool train);

// Mean of hidden states over non-padding tokens: [B, T, H] x [B, T] -> [B, H].
torch::Tensor mean_pool(const torch::Tensor& hidden, const torch::Tensor& attention_mask);
// Rows scaled to unit L2 norm, as torch.nn.functional.normalize(p=2, dim=1) (norm clamped at
// 1e-12, so zero rows stay zero) and faiss.normalize_L2. Differentiable. [rows, H] -> [rows, H].
torch::Tensor l2_normalize(const torch::Tensor& x);
// Retrieval layer for an encoder of `layers` layers: 14 of 24 as xtreme, scaled: round(14/24*L).
int64_t default_retrieval_layer(int64_t layers);

}  // namespace ordertune

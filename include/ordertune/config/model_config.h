// model_config — the encoder's architecture without LibTorch: Hugging Face's config.json in and
// out, the tiny demo model's shape, and the parameter count. One struct (XlmrConfig) for the
// model (model.h builds the network from it), the planner (plan.h sizes checkpoints and memory
// from it) and the results file (which stores its config.json).
#pragma once

#include <cstdint>
#include <string>

#include "ordertune/config/config.h"

namespace ordertune {

// The fields of a Hugging Face config.json that the architecture needs.
struct XlmrConfig {
  int64_t vocab_size = 250002;                // tokens, <mask> included
  int64_t hidden_size = 768;                  // H
  int64_t num_hidden_layers = 12;             // L
  int64_t num_attention_heads = 12;           // A
  int64_t intermediate_size = 3072;           // feed-forward size
  int64_t max_position_embeddings = 514;      // positions, padding offset included
  int64_t type_vocab_size = 1;                // token types (XLM-R: 1)
  double layer_norm_eps = 1e-5;               // LayerNorm epsilon
  double hidden_dropout_prob = 0.1;           // dropout on embeddings and sublayer outputs
  double attention_probs_dropout_prob = 0.1;  // dropout on attention probabilities
  int64_t pad_token_id = 1;                   // padding id (also the position offset)
  double initializer_range = 0.02;            // std of the normal init of new weights
  std::string hidden_act = "gelu";            // only exact GELU is supported
};

// Reads config.json (throws CheckpointError naming the file and field on bad input).
XlmrConfig read_hf_config(const std::string& path);
// The config.json text that transformers' AutoConfig reads as xlm-roberta.
std::string hf_config_json(const XlmrConfig& config, const std::string& architecture);
// Writes config.json that transformers' AutoConfig reads as xlm-roberta.
void write_hf_config(const XlmrConfig& config, const std::string& path,
                     const std::string& architecture);

// XLM-R large as published (xlm-roberta-large's config.json): the planner's nominal shape
// before a checkpoint is downloaded.
XlmrConfig xlmr_large_config();

// The architecture of the tiny model (model.tiny) for a tokenizer of `vocab_size` ids.
XlmrConfig tiny_model_config(const SweepConfig& config, int64_t vocab_size);

// The sweep's root model: <model.checkpoint>/config.json, or the tiny model for `vocab_size`
// ids when model.checkpoint is "" (the one place that makes this choice).
XlmrConfig root_model_config(const SweepConfig& config, int64_t vocab_size);

// Parameters of the encoder with pooler (Hugging Face XLMRobertaModel):
//   embeddings   V*H + P*H + types*H + 2H (LayerNorm)
//   per layer    4H^2 + 4H (Q, K, V, output) + 2H (LayerNorm) + 2HF + F + H (FFN) + 2H (LayerNorm)
//   pooler       H^2 + H
// XLM-R large: 559,890,432.
int64_t encoder_parameters(const XlmrConfig& config);

}  // namespace ordertune

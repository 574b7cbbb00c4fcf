#include "ordertune/model.h"

#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/error.h"

namespace ordertune {

// ---- config.json -----------------------------------------------------------------------------

XlmrConfig read_hf_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CheckpointError(fmt::format("{}: cannot open (expected a Hugging Face config.json)", path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw CheckpointError(fmt::format("{}: expected a JSON object, found malformed JSON", path));
  XlmrConfig c;
  auto get_int = [&](const char* key, int64_t* out, int64_t min) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_number_integer() || it->get<int64_t>() < min)
      throw CheckpointError(fmt::format("{}: {}: expected an integer >= {}, found {}", path, key,
                                        min, it->dump()));
    *out = it->get<int64_t>();
  };
  auto get_num = [&](const char* key, double* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number())
      throw CheckpointError(fmt::format("{}: {}: expected a number, found {}", path, key, it->dump()));
    *out = it->get<double>();
  };
  get_int("vocab_size", &c.vocab_size, 1);
  get_int("hidden_size", &c.hidden_size, 1);
  get_int("num_hidden_layers", &c.num_hidden_layers, 1);
  get_int("num_attention_heads", &c.num_attention_heads, 1);
  get_int("intermediate_size", &c.intermediate_size, 1);
  get_int("max_position_embeddings", &c.max_position_embeddings, 1);
  get_int("type_vocab_size", &c.type_vocab_size, 1);
  get_int("pad_token_id", &c.pad_token_id, 0);
  get_num("layer_norm_eps", &c.layer_norm_eps);
  get_num("hidden_dropout_prob", &c.hidden_dropout_prob);
  get_num("attention_probs_dropout_prob", &c.attention_probs_dropout_prob);
  get_num("initializer_range", &c.initializer_range);
  if (auto it = j.find("hidden_act"); it != j.end() && it->is_string()) c.hidden_act = *it;
  if (c.hidden_act != "gelu")
    throw CheckpointError(fmt::format("{}: hidden_act: expected \"gelu\" (exact), found \"{}\"",
                                      path, c.hidden_act));
  if (auto it = j.find("position_embedding_type");
      it != j.end() && it->is_string() && *it != "absolute")
    throw CheckpointError(fmt::format("{}: position_embedding_type: expected \"absolute\", found {}",
                                      path, it->dump()));
  if (c.hidden_size % c.num_attention_heads != 0)
    throw CheckpointError(fmt::format("{}: num_attention_heads: expected a divisor of hidden_size "
                                      "({}), found {}",
                                      path, c.hidden_size, c.num_attention_heads));
  return c;
}

void write_hf_config(const XlmrConfig& c, const std::string& path, const std::string& architecture) {
  nlohmann::json j;
  j["architectures"] = {architecture};
  j["model_type"] = "xlm-roberta";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["initializer_range"] = c.initializer_range;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["pad_token_id"] = c.pad_token_id;
  j["bos_token_id"] = 0;
  j["eos_token_id"] = 2;
  j["position_embedding_type"] = "absolute";
  j["torch_dtype"] = "float32";
  std::ofstream out(path);
  if (!out) throw CheckpointError(fmt::format("{}: cannot write", path));
  out << j.dump(2) << "\n";
}

// ---- modules ---------------------------------------------------------------------------------

namespace {

torch::nn::Linear linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(true));
}

torch::nn::LayerNorm layer_norm(const XlmrConfig& c) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps).elementwise_affine(true));
}

}  // namespace

XlmrEmbeddingsImpl::XlmrEmbeddingsImpl(const XlmrConfig& c) : pad_id_(c.pad_token_id) {
  word_embeddings = register_module(
      "word_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
  position_embeddings = register_module(
      "position_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.max_position_embeddings, c.hidden_size)
                               .padding_idx(c.pad_token_id)));
  token_type_embeddings = register_module(
      "token_type_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.type_vocab_size, c.hidden_size)));
  LayerNorm = register_module("LayerNorm", layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor XlmrEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  // RoBERTa positions (HF create_position_ids_from_input_ids): padding keeps the padding id,
  // real tokens count from padding id + 1.
  const torch::Tensor not_pad = input_ids.ne(pad_id_).to(torch::kInt64);
  const torch::Tensor position_ids = torch::cumsum(not_pad, 1).mul_(not_pad).add_(pad_id_);
  torch::Tensor x = word_embeddings->forward(input_ids);
  x = x + position_embeddings->forward(position_ids);
  // token_type_ids are all 0 in XLM-R: add row 0, broadcast.
  x = x + token_type_embeddings->weight[0];
  return dropout->forward(LayerNorm->forward(x));
}

XlmrSelfAttentionImpl::XlmrSelfAttentionImpl(const XlmrConfig& c)
    : heads_(c.num_attention_heads),
      head_dim_(c.hidden_size / c.num_attention_heads),
      dropout_p_(c.attention_probs_dropout_prob) {
  query = register_module("query", linear(c.hidden_size, c.hidden_size));
  key = register_module("key", linear(c.hidden_size, c.hidden_size));
  value = register_module("value", linear(c.hidden_size, c.hidden_size));
}

torch::Tensor XlmrSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_add) {
  const int64_t B = x.size(0), T = x.size(1), H = heads_ * head_dim_;
  // One matmul for Q, K and V: HF keeps three Linear modules (and so do we, for the parameter
  // names); concatenating the weights costs 3·H² copies against B·T·3·H² multiply-adds.
  const torch::Tensor w = torch::cat({query->weight, key->weight, value->weight}, 0);
  const torch::Tensor b = torch::cat({query->bias, key->bias, value->bias}, 0);
  const torch::Tensor qkv =
      torch::linear(x, w, b).view({B, T, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});
  const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, A, T, D]
  const double p = is_training() ? dropout_p_ : 0.0;
  torch::Tensor context;
#if TORCH_VERSION_MAJOR >= 2
  context = at::scaled_dot_product_attention(q, k, v, mask_add, p);
#else
  // Explicit path (LibTorch 1.x), as HF's eager XLMRobertaSelfAttention.
  torch::Tensor scores = torch::matmul(q, k.transpose(-1, -2));
  scores.div_(std::sqrt(static_cast<double>(head_dim_))).add_(mask_add);
  torch::Tensor probs = torch::softmax(scores, -1);
  if (p > 0) probs = torch::dropout(probs, p, /*train=*/true);
  context = torch::matmul(probs, v);
#endif
  return context.transpose(1, 2).reshape({B, T, H});
}

XlmrResidualOutputImpl::XlmrResidualOutputImpl(int64_t in, int64_t out, const XlmrConfig& c) {
  dense = register_module("dense", linear(in, out));
  LayerNorm = register_module("LayerNorm", layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor XlmrResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm->forward(dropout->forward(dense->forward(x)) + residual);
}

XlmrAttentionImpl::XlmrAttentionImpl(const XlmrConfig& c) {
  self = register_module("self", XlmrSelfAttention(c));
  output = register_module("output", XlmrResidualOutput(c.hidden_size, c.hidden_size, c));
}

torch::Tensor XlmrAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_add) {
  return output->forward(self->forward(x, mask_add), x);
}

XlmrIntermediateImpl::XlmrIntermediateImpl(const XlmrConfig& c) {
  dense = register_module("dense", linear(c.hidden_size, c.intermediate_size));
}

torch::Tensor XlmrIntermediateImpl::forward(const torch::Tensor& x) {
  return torch::gelu(dense->forward(x));  // exact erf GELU, as HF's "gelu"
}

XlmrLayerImpl::XlmrLayerImpl(const XlmrConfig& c) {
  attention = register_module("attention", XlmrAttention(c));
  intermediate = register_module("intermediate", XlmrIntermediate(c));
  output = register_module("output", XlmrResidualOutput(c.intermediate_size, c.hidden_size, c));
}

torch::Tensor XlmrLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_add) {
  const torch::Tensor a = attention->forward(x, mask_add);
  return output->forward(intermediate->forward(a), a);
}

XlmrLayerStackImpl::XlmrLayerStackImpl(const XlmrConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(XlmrLayer(c));
}

XlmrPoolerImpl::XlmrPoolerImpl(const XlmrConfig& c) {
  dense = register_module("dense", linear(c.hidden_size, c.hidden_size));
}

torch::Tensor XlmrPoolerImpl::forward(const torch::Tensor& hidden) {
  return torch::tanh(dense->forward(hidden.select(1, 0)));
}

// ---- activation checkpointing ----------------------------------------------------------------

namespace {

// Runs a layer without keeping its activations; backward replays it with the same RNG state
// (dropout masks) and back-propagates through the replay (PyTorch's reentrant checkpoint).
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor mask_add, XlmrLayerImpl* layer) {
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    ctx->saved_data["cpu_rng"] = at::detail::getDefaultCPUGenerator().get_state();
    ctx->save_for_backward({x, mask_add});
    torch::NoGradGuard no_grad;
    return layer->forward(x, mask_add);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* layer = reinterpret_cast<XlmrLayerImpl*>(ctx->saved_data["layer"].toInt());
    const auto saved = ctx->get_saved_variables();
    auto gen = at::detail::getDefaultCPUGenerator();
    const at::Tensor rng_now = gen.get_state();
    gen.set_state(ctx->saved_data["cpu_rng"].toTensor());
    torch::Tensor x = saved[0].detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = layer->forward(x, saved[1]);
    }
    gen.set_state(rng_now);
    torch::autograd::backward({out}, {grad_out[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

// ---- encoder ---------------------------------------------------------------------------------

XlmrEncoderImpl::XlmrEncoderImpl(const XlmrConfig& config, EncoderOptions options)
    : config_(config), options_(options) {
  embeddings = register_module("embeddings", XlmrEmbeddings(config));
  encoder = register_module("encoder", XlmrLayerStack(config));
  if (options.with_pooler) pooler = register_module("pooler", XlmrPooler(config));
  // HF's _init_weights: normal(0, initializer_range) for Linear and Embedding weights, zero
  // biases and padding rows, LayerNorm weight 1 and bias 0.
  torch::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* l = module->as<torch::nn::Linear>()) {
      l->weight.normal_(0, config.initializer_range);
      l->bias.zero_();
    } else if (auto* e = module->as<torch::nn::Embedding>()) {
      e->weight.normal_(0, config.initializer_range);
      if (e->options.padding_idx()) e->weight[*e->options.padding_idx()].zero_();
    }
  }
}

EncoderOutput XlmrEncoderImpl::forward(const torch::Tensor& input_ids, torch::Tensor attention_mask,
                                       bool all_hidden_states) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids: expected [batch, seq], got ", input_ids.sizes());
  TORCH_CHECK(input_ids.size(1) <= config_.max_position_embeddings - config_.pad_token_id - 1,
              "sequence of ", input_ids.size(1), " tokens exceeds the ",
              config_.max_position_embeddings - config_.pad_token_id - 1, " positions of the model");
  if (!attention_mask.defined()) attention_mask = input_ids.ne(config_.pad_token_id);
  EncoderOutput out;
  torch::Tensor x = embeddings->forward(input_ids);
  // HF's extended attention mask: (1 - mask) * finfo(dtype).min, broadcast over heads and queries.
  const auto dtype = x.scalar_type();
  const double neg = dtype == torch::kBFloat16   ? -3.3895313892515355e38
                     : dtype == torch::kFloat16 ? -65504.0
                                                 : static_cast<double>(std::numeric_limits<float>::lowest());
  const torch::Tensor mask_add =
      (1 - attention_mask.to(dtype)).mul(neg).view({input_ids.size(0), 1, 1, input_ids.size(1)});
  if (all_hidden_states) out.hidden_states.push_back(x);
  for (const auto& module : *encoder->layer) {
    auto* layer = module->as<XlmrLayerImpl>();
    if (options_.activation_checkpointing && is_training() && torch::GradMode::is_enabled())
      x = CheckpointedLayer::apply(x, mask_add, layer);
    else
      x = layer->forward(x, mask_add);
    if (all_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden_state = x;
  if (pooler) out.pooled = pooler->forward(x);
  return out;
}

torch::Tensor mean_pool(const torch::Tensor& hidden, const torch::Tensor& attention_mask) {
  const torch::Tensor m = attention_mask.to(hidden.scalar_type()).unsqueeze(-1);
  return (hidden * m).sum(1) / m.sum(1).clamp_min(1);
}

int64_t default_retrieval_layer(int64_t layers) {
  // xtreme's retrieval scripts pool layer 14 of XLM-R large's 24 (Hu et al. 2020).
  return std::max<int64_t>(1, std::llround(14.0 * static_cast<double>(layers) / 24.0));
}

}  // namespace ordertune

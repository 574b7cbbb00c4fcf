#include "ordertune/model/model.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/model/torch_env.h"

namespace ordertune {

// ---- dropout ---------------------------------------------------------------------------------

namespace {

// A fresh 64-bit seed from the default CPU generator: torch::manual_seed fixes it, and
// CheckpointedLayer's generator save/restore replays it.
uint64_t draw_dropout_seed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// wyrand (Wang Yi; the generator behind Go's runtime.fastrand64 and Zig's Random.Wyrand): its
// k-th output for `seed`, computed directly from k, so any chunk of a tensor is masked alone.
inline uint64_t wyrand(uint64_t seed, uint64_t k) {
  const uint64_t s = seed + (k + 1) * 0xA0761D6478BD642FULL;
  const __uint128_t t = static_cast<__uint128_t>(s) * (s ^ 0xE7037ED1A0B428DBULL);
  return static_cast<uint64_t>(t >> 64) ^ static_cast<uint64_t>(t);
}

// y = x * keep / (1 - p) [+ r], and keep as bytes for backward. Each 64-bit hash gives two
// 32-bit uniforms, one per element; an element is kept when its uniform is below (1 - p) * 2^32.
// torch::dropout multiplies by a float noise tensor of 0 and 1 / (1 - p): the same products.
template <bool kResidual>
void dropout_forward_kernel(const float* x, const float* r, float* y, uint8_t* keep, int64_t n,
                            uint64_t seed, double p, uint64_t base) {
  const uint64_t threshold = static_cast<uint64_t>(std::llround((1.0 - p) * 4294967296.0));
  const float scale = p < 1 ? 1.0f / static_cast<float>(1.0 - p) : 0.0f;
  // Branch-free: the noise is scale * (0 or 1), exactly 0 or scale; a branch on the 10% of
  // dropped elements would mispredict.
  auto one = [&](int64_t i, uint64_t u) {
    keep[i] = static_cast<uint8_t>(u < threshold);
    const float noise = scale * static_cast<float>(keep[i]);
    y[i] = kResidual ? r[i] + x[i] * noise : x[i] * noise;
  };
  // Element i of this tensor is element base + i of the (data-parallel) global batch; global
  // element g takes half g % 2 of hash g / 2.
  if (base % 2 != 0) {
    at::parallel_for(0, n, /*grain_size=*/1 << 15, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const uint64_t g = base + static_cast<uint64_t>(i);
        const uint64_t h = wyrand(seed, g / 2);
        one(i, g % 2 ? h >> 32 : h & 0xFFFFFFFFULL);
      }
    });
    return;
  }
  const uint64_t k0 = base / 2;
  at::parallel_for(0, (n + 1) / 2, /*grain_size=*/1 << 14, [&](int64_t begin, int64_t end) {
    const int64_t full = std::min(end, n / 2);
    for (int64_t k = begin; k < full; ++k) {
      const uint64_t h = wyrand(seed, k0 + static_cast<uint64_t>(k));
      one(2 * k, h & 0xFFFFFFFFULL);
      one(2 * k + 1, h >> 32);
    }
    if (end > full) one(2 * full, wyrand(seed, k0 + static_cast<uint64_t>(full)) & 0xFFFFFFFFULL);
  });
}

// The data-parallel slice set by DropoutRows (one per thread; autograd runs the forward on the
// caller's thread).
thread_local int64_t dropout_first_row = 0;
thread_local int64_t dropout_local_rows = 0;

// Global element offset of a tensor whose leading dimension(s) hold the local rows.
uint64_t dropout_base(const torch::Tensor& x) {
  if (dropout_local_rows <= 0 || dropout_first_row == 0) return 0;
  TORCH_CHECK(x.numel() % dropout_local_rows == 0, "dropout: tensor of ", x.numel(),
              " elements does not split into ", dropout_local_rows, " rows");
  return static_cast<uint64_t>(dropout_first_row) *
         static_cast<uint64_t>(x.numel() / dropout_local_rows);
}

// Backward of dropout: the incoming gradient times the same noise.
void dropout_backward_kernel(const float* g, const uint8_t* keep, float* gx, int64_t n, double p) {
  const float scale = p < 1 ? 1.0f / static_cast<float>(1.0 - p) : 0.0f;
  at::parallel_for(0, n, /*grain_size=*/1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) gx[i] = g[i] * (scale * static_cast<float>(keep[i]));
  });
}

// y = dropout(x) [+ residual]. Saves the keep mask as bytes (torch::dropout saves a float noise
// tensor: 4x the memory).
struct HashDropout : public torch::autograd::Function<HashDropout> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& residual, double p, bool with_residual) {
    const torch::Tensor xc = x.contiguous();
    torch::Tensor y = torch::empty_like(xc);
    torch::Tensor keep = torch::empty(xc.sizes(), xc.options().dtype(torch::kUInt8));
    const uint64_t seed = draw_dropout_seed();
    if (with_residual) {
      const torch::Tensor rc = residual.contiguous();
      dropout_forward_kernel<true>(xc.data_ptr<float>(), rc.data_ptr<float>(), y.data_ptr<float>(),
                                   keep.data_ptr<uint8_t>(), xc.numel(), seed, p, dropout_base(xc));
    } else {
      dropout_forward_kernel<false>(xc.data_ptr<float>(), nullptr, y.data_ptr<float>(),
                                    keep.data_ptr<uint8_t>(), xc.numel(), seed, p,
                                    dropout_base(xc));
    }
    ctx->save_for_backward({keep});
    ctx->saved_data["p"] = p;
    ctx->saved_data["with_residual"] = with_residual;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const torch::Tensor g = grad_out[0].contiguous();
    const torch::Tensor keep = ctx->get_saved_variables()[0];
    torch::Tensor gx = torch::empty_like(g);
    dropout_backward_kernel(g.data_ptr<float>(), keep.data_ptr<uint8_t>(), gx.data_ptr<float>(),
                            g.numel(), ctx->saved_data["p"].toDouble());
    return {gx, ctx->saved_data["with_residual"].toBool() ? g : torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

bool hash_dropout_applies(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32;
}

}  // namespace

DropoutRows::DropoutRows(int64_t first_row, int64_t local_rows)
    : saved_first_(dropout_first_row), saved_rows_(dropout_local_rows) {
  dropout_first_row = first_row;
  dropout_local_rows = local_rows;
}

DropoutRows::~DropoutRows() {
  dropout_first_row = saved_first_;
  dropout_local_rows = saved_rows_;
}

void seed_dropout(uint64_t seed, int64_t first_row, const torch::Device& device) {
  torch::manual_seed(seed);
  if (device.is_cpu()) return;
  // A GPU's dropout (torch::dropout, SDPA) draws masks for the tensor it gets, which on a rank
  // of a group is a slice of the rows: slices that started from one seed would repeat each
  // other's masks. Each slice's stream starts from the seed and its first row instead (rows, not
  // ranks).
  at::Generator gen = at::globalContext().defaultGenerator(device);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(first_row + 1)));
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool train) {
  if (!train || p == 0) return x;
  if (!hash_dropout_applies(x)) return torch::dropout(x, p, /*train=*/true);
  return HashDropout::apply(x, x, p, /*with_residual=*/false);
}

torch::Tensor dropout_add(const torch::Tensor& x, const torch::Tensor& residual, double p,
                          bool train) {
  if (!train || p == 0) return x + residual;
  if (!hash_dropout_applies(x) || residual.scalar_type() != x.scalar_type() ||
      residual.sizes() != x.sizes())
    return torch::dropout(x, p, /*train=*/true) + residual;
  return HashDropout::apply(x, residual, p, /*with_residual=*/true);
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
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
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
  return ordertune::dropout(LayerNorm->forward(x), dropout->options.p(), is_training());
}

XlmrSelfAttentionImpl::XlmrSelfAttentionImpl(const XlmrConfig& c)
    : heads_(c.num_attention_heads),
      head_dim_(c.hidden_size / c.num_attention_heads),
      dropout_p_(c.attention_probs_dropout_prob) {
  query = register_module("query", linear(c.hidden_size, c.hidden_size));
  key = register_module("key", linear(c.hidden_size, c.hidden_size));
  value = register_module("value", linear(c.hidden_size, c.hidden_size));
}

torch::Tensor XlmrSelfAttentionImpl::forward(const torch::Tensor& x,
                                             const torch::Tensor& mask_add) {
  const int64_t B = x.size(0), T = x.size(1), H = heads_ * head_dim_;
  const double p = is_training() ? dropout_p_ : 0.0;
  // One matmul for Q, K and V: HF keeps three Linear modules (and so do we, for the parameter
  // names); concatenating the weights costs 3·H² copies against B·T·3·H² multiply-adds.
#if TORCH_VERSION_MAJOR >= 2
  // SDPA (LibTorch 2.x) draws its own attention dropout, which ignores the row slices of a group
  // (DropoutRows: a group must equal one rank), so on the CPU it runs only without dropout. On
  // CUDA it runs always (its fused kernels are the point there); see README on what is bitwise.
  if (p == 0.0 || x.is_cuda()) {
    const torch::Tensor w = torch::cat({query->weight, key->weight, value->weight}, 0);
    const torch::Tensor b = torch::cat({query->bias, key->bias, value->bias}, 0);
    const torch::Tensor qkv =
        torch::linear(x, w, b).view({B, T, 3, heads_, head_dim_}).permute({2, 0, 3, 1, 4});
    const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];  // [B, A, T, D]
    const torch::Tensor context = at::scaled_dot_product_attention(
        q, k, v, mask_add.defined() ? c10::optional<torch::Tensor>(mask_add) : c10::nullopt, p);
    return context.transpose(1, 2).reshape({B, T, H});
  }
#endif
  // Explicit path (LibTorch 1.x, and dropout on the CPU), as HF's eager XLMRobertaSelfAttention,
  // with HF's 1/sqrt(D) folded into the query projection: H² + H multiplies instead of B·A·T², and
  // bitwise the same scores when D is a power of 4 (64 in every XLM-R), else equal to rounding.
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  const torch::Tensor w = torch::cat({query->weight * scale, key->weight, value->weight}, 0);
  const torch::Tensor b = torch::cat({query->bias * scale, key->bias, value->bias}, 0);
  // [B, T, 3, A, D] -> [3, B·A, T, D] in one copy: q, k and v become contiguous batches of
  // matrices for bmm (matmul on permuted views would copy each), and backward stacks their
  // gradients in one pass (selecting would zero-fill three [3, ...] buffers and add them).
  const std::vector<torch::Tensor> qkv = torch::linear(x, w, b)
                                             .view({B, T, 3, heads_, head_dim_})
                                             .permute({2, 0, 3, 1, 4})
                                             .contiguous()
                                             .view({3, B * heads_, T, head_dim_})
                                             .unbind(0);
  torch::Tensor scores = torch::bmm(qkv[0], qkv[1].transpose(1, 2));  // [B·A, T, T]
  if (mask_add.defined())
    scores = (scores.view({B, heads_, T, T}) + mask_add).view({B * heads_, T, T});
  const torch::Tensor probs = ordertune::dropout(torch::softmax(scores, -1), p, p > 0);
  const torch::Tensor context = torch::bmm(probs, qkv[2]).view({B, heads_, T, head_dim_});
  return context.transpose(1, 2).reshape({B, T, H});
}

XlmrResidualOutputImpl::XlmrResidualOutputImpl(int64_t in, int64_t out, const XlmrConfig& c) {
  dense = register_module("dense", linear(in, out));
  LayerNorm = register_module("LayerNorm", layer_norm(c));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor XlmrResidualOutputImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& residual) {
  // dropout(dense(x)) + residual in one pass, as HF's (dropout(...) + input_tensor).
  return LayerNorm->forward(
      dropout_add(linear(x, dense), residual, dropout->options.p(), is_training()));
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
  return torch::gelu(linear(x, dense));  // exact erf GELU, as HF's "gelu"
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

// The generators a layer's dropout draws from: the default CPU one (hash dropout's seeds) and,
// for a tensor on a GPU, that device's default generator (torch::dropout and SDPA draw there).
std::vector<at::Generator> dropout_generators(const torch::Tensor& x) {
  std::vector<at::Generator> gens{at::detail::getDefaultCPUGenerator()};
  if (!x.device().is_cpu()) gens.push_back(at::globalContext().defaultGenerator(x.device()));
  return gens;
}

// Runs a layer without keeping its activations; backward replays it with the same RNG states
// (dropout masks) and back-propagates through the replay (PyTorch's reentrant checkpoint, which
// likewise saves the CPU state and the state of every GPU the inputs are on).
struct CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x,
                               torch::Tensor mask_add, XlmrLayerImpl* layer) {
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    c10::List<at::Tensor> states;
    for (at::Generator& g : dropout_generators(x)) states.push_back(g.get_state());
    ctx->saved_data["rng"] = states;
    ctx->save_for_backward({x, mask_add});
    torch::NoGradGuard no_grad;
    return layer->forward(x, mask_add);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto* layer = reinterpret_cast<XlmrLayerImpl*>(ctx->saved_data["layer"].toInt());
    const auto saved = ctx->get_saved_variables();
    std::vector<at::Generator> gens = dropout_generators(saved[0]);
    const c10::List<at::Tensor> states = ctx->saved_data["rng"].toTensorList();
    std::vector<at::Tensor> now;
    for (size_t i = 0; i < gens.size(); ++i) {
      now.push_back(gens[i].get_state());
      gens[i].set_state(states.get(i));
    }
    torch::Tensor x = saved[0].detach().requires_grad_(true);
    torch::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = layer->forward(x, saved[1]);
    }
    for (size_t i = 0; i < gens.size(); ++i) gens[i].set_state(now[i]);
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
              config_.max_position_embeddings - config_.pad_token_id - 1,
              " positions of the model");
  if (!attention_mask.defined()) attention_mask = input_ids.ne(config_.pad_token_id);
  EncoderOutput out;
  torch::Tensor x = embeddings->forward(input_ids);
  // HF's extended attention mask: (1 - mask) * finfo(dtype).min, broadcast over heads and queries.
  // Without padding it is all zeros and adding it changes nothing, so it is left out, which also
  // lets SDPA choose FlashAttention on a GPU. The check runs on a host mask only (on a GPU it
  // would synchronise): callers with GPU inputs pass the batch's host mask, copied to the GPU
  // here only when there is padding.
  const auto dtype = x.scalar_type();
  const double neg = dtype == torch::kBFloat16 ? -3.3895313892515355e38
                     : dtype == torch::kFloat16
                         ? -65504.0
                         : static_cast<double>(std::numeric_limits<float>::lowest());
  torch::Tensor mask_add;
  if (!(attention_mask.device().is_cpu() && attention_mask.ne(0).all().item<bool>()))
    mask_add = (1 - to_device(attention_mask, input_ids.device()).to(dtype))
                   .mul(neg)
                   .view({input_ids.size(0), 1, 1, input_ids.size(1)});
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
  const torch::Tensor m =
      to_device(attention_mask, hidden.device()).to(hidden.scalar_type()).unsqueeze(-1);
  return (hidden * m).sum(1) / m.sum(1).clamp_min(1);
}

torch::Tensor l2_normalize(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2, "l2_normalize: expected [rows, hidden], got ", x.sizes());
  return x / x.norm(2, /*dim=*/{1}, /*keepdim=*/true).clamp_min(1e-12);
}

int64_t default_retrieval_layer(int64_t layers) {
  // xtreme's retrieval scripts pool layer 14 of XLM-R large's 24 (Hu et al. 2020).
  return std::max<int64_t>(1, std::llround(14.0 * static_cast<double>(layers) / 24.0));
}

}  // namespace ordertune

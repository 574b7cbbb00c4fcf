#include "ordertune/train/optim.h"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace ordertune {

bool hf_decays(const std::string& name, bool in_layer_norm) {
  return !in_layer_norm && name.find("bias") == std::string::npos;
}

// ---- FlatParameters --------------------------------------------------------------------------

FlatParameters::FlatParameters(torch::nn::Module& module) {
  // Which parameters belong to LayerNorm modules (HF decides by module type, not by name).
  std::vector<torch::Tensor> in_norm;
  for (const auto& m : module.modules()) {
    if (m->as<torch::nn::LayerNorm>() == nullptr) continue;
    for (const auto& p : m->parameters(/*recurse=*/false)) in_norm.push_back(p);
  }
  auto is_norm = [&](const torch::Tensor& t) {
    for (const auto& n : in_norm)
      if (n.unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) return true;
    return false;
  };
  std::vector<std::string> decay_names, other_names;
  std::vector<torch::Tensor> decay, other;
  std::vector<const c10::TensorImpl*> seen;  // a module shared by two parents appears twice
  for (const auto& p : module.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    const c10::TensorImpl* impl = p.value().unsafeGetTensorImpl();
    if (std::find(seen.begin(), seen.end(), impl) != seen.end()) continue;
    seen.push_back(impl);
    if (hf_decays(p.key(), is_norm(p.value()))) {
      decay_names.push_back(p.key());
      decay.push_back(p.value());
    } else {
      other_names.push_back(p.key());
      other.push_back(p.value());
    }
  }
  names_ = decay_names;
  names_.insert(names_.end(), other_names.begin(), other_names.end());
  params_ = decay;
  params_.insert(params_.end(), other.begin(), other.end());
  TORCH_CHECK(!params_.empty(), "FlatParameters: the module has no trainable parameters");

  int64_t total = 0;
  for (const auto& p : params_) {
    TORCH_CHECK(p.scalar_type() == params_[0].scalar_type() && p.device() == params_[0].device(),
                "FlatParameters: parameters must share dtype and device; ", names_[offsets_.size()],
                " is ", p.scalar_type(), " on ", p.device());
    offsets_.push_back(total);
    total += p.numel();
  }
  for (const auto& p : decay) decay_numel_ += p.numel();

  const auto opts = params_[0].options();
  data_ = torch::empty({total}, opts);
  grad_ = torch::zeros({total}, opts);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    torch::Tensor view = data_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
    view.copy_(p);
    p.set_data(view);  // the module's tensor now lives in the flat buffer
    p.mutable_grad() = grad_.narrow(0, offsets_[i], p.numel()).view(p.sizes());
  }
}

void FlatParameters::zero_grad() {
  grad_.zero_();
  // Autograd accumulates into an existing gradient in place, so the views stay attached; a
  // gradient reset to None (Module::zero_grad) would be re-created outside the buffer.
  for (size_t i = 0; i < params_.size(); ++i)
    if (!params_[i].grad().defined())
      params_[i].mutable_grad() =
          grad_.narrow(0, offsets_[i], params_[i].numel()).view(params_[i].sizes());
}

double FlatParameters::grad_norm() const {
  return grad_.norm().item<double>();
}

void FlatParameters::check_grads_alias() const {
  const auto* base = static_cast<const char*>(grad_.data_ptr());
  const auto item = static_cast<int64_t>(grad_.element_size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& g = params_[i].grad();
    TORCH_CHECK(g.defined() && static_cast<const char*>(g.data_ptr()) == base + offsets_[i] * item,
                "FlatParameters: the gradient of ", names_[i],
                " no longer lives in the flat buffer (was it reset by Module::zero_grad()?)");
  }
}

double clip_coefficient(double total_norm, double max_norm) {
  // torch.nn.utils.clip_grad_norm_: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1.
  return std::min(1.0, max_norm / (total_norm + 1e-6));
}

// ---- AdamW -----------------------------------------------------------------------------------

namespace {

// Per-step constants of the update, as float like the ATen kernels that torch.optim calls.
struct AdamWCoefficients {
  float scale, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step;
};

inline void adamw_scalar(float* p, const float* g, float* m, float* v, int64_t n,
                         const AdamWCoefficients& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * c.scale;
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / c.bc2_sqrt + c.eps;
    p[i] = p[i] * c.decay + c.neg_step * (mi / denom);
  }
}

// One pass over memory: reads p, g, m, v and writes p, m, v (7 streams), where torch.optim's
// single-tensor path makes ~10 passes per parameter. SSE2 is part of x86-64; GCC does not
// vectorise the scalar loop at -O2 because std::sqrt may set errno.
void adamw_range(float* p, const float* g, float* m, float* v, int64_t n,
                 const AdamWCoefficients& c) {
  int64_t i = 0;
#if defined(__SSE2__)
  const __m128 scale = _mm_set1_ps(c.scale), decay = _mm_set1_ps(c.decay);
  const __m128 b1 = _mm_set1_ps(c.beta1), a1 = _mm_set1_ps(c.one_minus_beta1);
  const __m128 b2 = _mm_set1_ps(c.beta2), a2 = _mm_set1_ps(c.one_minus_beta2);
  const __m128 bc2 = _mm_set1_ps(c.bc2_sqrt), eps = _mm_set1_ps(c.eps);
  const __m128 step = _mm_set1_ps(c.neg_step);
  for (; i + 4 <= n; i += 4) {
    const __m128 gi = _mm_mul_ps(_mm_loadu_ps(g + i), scale);
    const __m128 mi = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(m + i), b1), _mm_mul_ps(a1, gi));
    const __m128 vi =
        _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(v + i), b2), _mm_mul_ps(_mm_mul_ps(a2, gi), gi));
    _mm_storeu_ps(m + i, mi);
    _mm_storeu_ps(v + i, vi);
    const __m128 denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), bc2), eps);
    const __m128 pi = _mm_mul_ps(_mm_loadu_ps(p + i), decay);
    _mm_storeu_ps(p + i, _mm_add_ps(pi, _mm_mul_ps(step, _mm_div_ps(mi, denom))));
  }
#endif
  adamw_scalar(p + i, g + i, m + i, v + i, n - i, c);
}

}  // namespace

AdamW::AdamW(FlatParameters& params, AdamWOptions options) : params_(params), options_(options) {
  exp_avg = torch::zeros_like(params.data());
  exp_avg_sq = torch::zeros_like(params.data());
}

void AdamW::step(double grad_scale) {
  ++steps_;
  const auto& o = options_;
  const double t = static_cast<double>(steps_);
  const double bias_correction1 = 1 - std::pow(o.beta1, t);
  const double bias_correction2 = 1 - std::pow(o.beta2, t);
  const double step_size = o.lr / bias_correction1;
  const double bc2_sqrt = std::sqrt(bias_correction2);
  const int64_t n_decay = params_.decay_numel(), n = params_.numel();
  const torch::Tensor& data = params_.data();
  const torch::Tensor& grad = params_.grad();

  if (data.device().is_cpu() && data.scalar_type() == torch::kFloat32) {
    AdamWCoefficients c{
        static_cast<float>(grad_scale), static_cast<float>(1 - o.lr * o.weight_decay),
        static_cast<float>(o.beta1),    static_cast<float>(1 - o.beta1),
        static_cast<float>(o.beta2),    static_cast<float>(1 - o.beta2),
        static_cast<float>(bc2_sqrt),   static_cast<float>(o.eps),
        static_cast<float>(-step_size)};
    AdamWCoefficients c_no_decay = c;
    c_no_decay.decay = 1.0f;
    float* p = data.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* m = exp_avg.data_ptr<float>();
    float* v = exp_avg_sq.data_ptr<float>();
    at::parallel_for(0, n, /*grain_size=*/1 << 16, [&](int64_t begin, int64_t end) {
      // Split [begin, end) at the boundary between decaying and non-decaying parameters.
      const int64_t mid = std::clamp(n_decay, begin, end);
      adamw_range(p + begin, g + begin, m + begin, v + begin, mid - begin, c);
      adamw_range(p + mid, g + mid, m + mid, v + mid, end - mid, c_no_decay);
    });
    return;
  }

  // Other devices and dtypes: the same update as whole-buffer ATen ops (a few kernels in all).
  torch::NoGradGuard no_grad;
  torch::Tensor g = grad_scale == 1.0 ? grad : grad * grad_scale;
  data.narrow(0, 0, n_decay).mul_(1 - o.lr * o.weight_decay);
  exp_avg.mul_(o.beta1).add_(g, 1 - o.beta1);
  exp_avg_sq.mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
  const torch::Tensor denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(o.eps);
  data.addcdiv_(exp_avg, denom, -step_size);
}

}  // namespace ordertune

// optim — AdamW over one flat parameter buffer, and gradient-norm clipping, for the trainer.
//
// FlatParameters moves every parameter of a module into one contiguous buffer and gives each a
// gradient that is a view of a second contiguous buffer. The module keeps working unchanged (its
// tensors become views), while the optimizer updates all parameters in one vectorised pass
// instead of ~10 tensor ops per parameter, gradients are all-reduced in one call, and clipping
// needs one reduction. Parameters that decay come first, then those that do not (biases and
// LayerNorm weights: Hugging Face Trainer's get_decay_parameter_names, which jiant follows too).
//
// AdamW is torch.optim.AdamW (Loshchilov & Hutter 2019, decoupled weight decay) with bias
// correction, operation for operation as PyTorch's single-tensor path so that float32 results
// agree to rounding:
//   p <- p * (1 - lr * wd);  m <- m * b1 + (1 - b1) * g;  v <- v * b2 + (1 - b2) * g * g
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// One difference: torch.optim skips a parameter whose grad is None; here every parameter has a
// gradient (zero when unused), so an unused parameter still decays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace ordertune {

// Whether Hugging Face's Trainer applies weight decay to a parameter: everything except names
// containing "bias" and the weights of LayerNorm modules.
bool hf_decays(const std::string& name, bool in_layer_norm);

class FlatParameters {
 public:
  // Call after the module is on its final device and dtype: module.to() replaces the views.
  // A parameter reachable twice (an encoder shared by several task models) is taken once, under
  // its first name; parameters with requires_grad false are left out (frozen).
  explicit FlatParameters(torch::nn::Module& module);

  const torch::Tensor& data() const { return data_; }  // [numel] all parameters
  const torch::Tensor& grad() const { return grad_; }  // [numel] all gradients
  int64_t numel() const { return data_.numel(); }
  // The first decay_numel() entries decay, the rest do not.
  int64_t decay_numel() const { return decay_numel_; }
  // Names in buffer order, with their offsets (for checkpoints and tests).
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }

  // Zeroes the gradient buffer (one memset). Use this, never Module::zero_grad(): setting the
  // gradients to None would detach them from the buffer.
  void zero_grad();
  // L2 norm of all gradients (torch.nn.utils.clip_grad_norm_'s total_norm with norm_type 2).
  double grad_norm() const;
  // Aborts if autograd replaced a gradient instead of accumulating into the buffer.
  void check_grads_alias() const;

 private:
  std::vector<torch::Tensor> params_;
  std::vector<std::string> names_;
  std::vector<int64_t> offsets_;
  torch::Tensor data_, grad_;
  int64_t decay_numel_ = 0;
};

// The factor that torch.nn.utils.clip_grad_norm_ multiplies gradients by:
// min(1, max_norm / (total_norm + 1e-6)).
double clip_coefficient(double total_norm, double max_norm);

struct AdamWOptions {
  double lr = 1e-5;            // learning rate (jiant / HF fine-tuning default 1e-5)
  double beta1 = 0.9;          // first-moment decay
  double beta2 = 0.999;        // second-moment decay
  double eps = 1e-8;           // added to the denominator (HF / jiant default)
  double weight_decay = 0.01;  // decoupled, on the decaying parameters only
};

class AdamW {
 public:
  AdamW(FlatParameters& params, AdamWOptions options);

  // One update. grad_scale multiplies the gradients first, without writing them back: pass the
  // clipping coefficient (and 1/ranks after a summing all-reduce) to save a pass over memory.
  void step(double grad_scale = 1.0);
  void set_lr(double lr) { options_.lr = lr; }  // for schedules
  const AdamWOptions& options() const { return options_; }
  int64_t steps() const { return steps_; }

  // State, for checkpoints: moments in the parameter buffer's order.
  torch::Tensor exp_avg, exp_avg_sq;
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  FlatParameters& params_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

}  // namespace ordertune

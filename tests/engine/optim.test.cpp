// Tests of optim.h: flat parameter buffers, and AdamW + clipping against LibTorch's own
// torch::optim::AdamW and torch::nn::utils::clip_grad_norm_ (the same code as torch.optim).
#include "engine/engine_test.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ordertune/model/heads.h"
#include "ordertune/train/optim.h"

using namespace ordertune;

namespace {

XlmrForTask tiny_tagger(torch::Dtype dtype) {
  torch::manual_seed(3);
  HeadOptions h;
  h.kind = HeadKind::kTokenClassification;
  h.num_labels = 5;
  XlmrForTask m(testing::small_test_config(), h);
  m->to(dtype);
  m->eval();  // no dropout: both optimizers must see the same gradients
  return m;
}

torch::Tensor tagging_loss(XlmrForTask& m) {
  const auto ids = torch::tensor({{0, 5, 6, 7, 2, 1}, {0, 9, 8, 2, 1, 1}}, torch::kInt64);
  const auto labels = torch::tensor({3, 1, 4, 1, 0, 2, 2, 0, 1, 4, 3, 3}, torch::kInt64);
  return torch::nn::functional::cross_entropy(m->forward(ids).view({-1, 5}), labels);
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Runs `steps` steps of clipping + AdamW both ways; returns the worst parameter difference and
// the worst difference of the gradient norms.
std::pair<double, double> compare_with_torch(torch::Dtype dtype, int steps, double max_norm) {
  const double lr = 1e-3, wd = 0.01;  // lr large enough that every step moves the weights
  XlmrForTask ours = tiny_tagger(dtype), ref = tiny_tagger(dtype);

  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& m : ref->named_modules()) {
    const bool norm = m.value()->as<torch::nn::LayerNorm>() != nullptr;
    for (const auto& p : m.value()->named_parameters(/*recurse=*/false))
      (hf_decays(p.key(), norm) ? decay : no_decay).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(lr).eps(1e-8).weight_decay(wd)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(
                                    torch::optim::AdamWOptions(lr).eps(1e-8).weight_decay(0)));
  torch::optim::AdamW ref_opt(std::move(groups), torch::optim::AdamWOptions(lr));

  FlatParameters flat(*ours);
  AdamWOptions o;
  o.lr = lr;
  o.weight_decay = wd;
  AdamW opt(flat, o);

  double worst_norm = 0;
  for (int s = 0; s < steps; ++s) {
    tagging_loss(ref).backward();
    const double ref_norm = torch::nn::utils::clip_grad_norm_(ref->parameters(), max_norm);
    ref_opt.step();
    ref_opt.zero_grad();

    tagging_loss(ours).backward();
    flat.check_grads_alias();
    const double norm = flat.grad_norm();
    opt.step(clip_coefficient(norm, max_norm));
    flat.zero_grad();
    worst_norm = std::max(worst_norm, std::abs(norm - ref_norm) / ref_norm);
  }
  double worst = 0;
  const auto a = ours->named_parameters(), b = ref->named_parameters();
  for (const auto& p : a) {
    const torch::Tensor d = (p.value() - b[p.key()]).abs().max();
    worst = std::max(worst, d.item<double>());
  }
  return {worst, worst_norm};
}

}  // namespace

TEST_CASE("flat parameters: decay group first, module unchanged, gradients in the buffer",
          "[optim]") {
  XlmrForTask m = tiny_tagger(torch::kFloat32);
  const auto ids = torch::tensor({{0, 5, 6, 7, 2}}, torch::kInt64);
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = m->forward(ids).clone();
  }
  int64_t total = 0;
  for (const auto& p : m->parameters()) total += p.numel();

  FlatParameters flat(*m);
  CHECK(flat.numel() == total);
  const auto& names = flat.names();
  const auto index = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) - names.begin();
  };
  const int64_t first_no_decay = index("roberta.embeddings.LayerNorm.weight");
  CHECK(flat.offsets()[static_cast<size_t>(first_no_decay)] <= flat.decay_numel());
  for (const std::string n : {"roberta.embeddings.word_embeddings.weight",
                              "roberta.encoder.layer.1.attention.self.query.weight",
                              "roberta.encoder.layer.0.output.dense.weight", "classifier.weight"}) {
    INFO(n);
    REQUIRE(contains(names, n));
    CHECK(flat.offsets()[static_cast<size_t>(index(n))] < flat.decay_numel());
  }
  for (const std::string n : {"roberta.encoder.layer.0.attention.output.LayerNorm.weight",
                              "roberta.encoder.layer.0.attention.self.key.bias",
                              "roberta.encoder.layer.1.output.LayerNorm.bias", "classifier.bias"}) {
    INFO(n);
    REQUIRE(contains(names, n));
    CHECK(flat.offsets()[static_cast<size_t>(index(n))] >= flat.decay_numel());
  }

  torch::NoGradGuard no_grad;
  CHECK(torch::equal(m->forward(ids), before));
  // The module's tensors are views: writing the buffer changes the module.
  flat.data().zero_();
  CHECK(m->linear->weight.abs().sum().item<double>() == 0);
  CHECK(m->roberta->encoder->named_parameters()["layer.0.attention.self.query.weight"]
            .abs()
            .sum()
            .item<double>() == 0);
}

TEST_CASE("AdamW + clipping over flat buffers equals torch::optim::AdamW + clip_grad_norm_",
          "[optim]") {
  SECTION("float32, clipping active: equal to float rounding") {
    const auto [worst, norm] = compare_with_torch(torch::kFloat32, /*steps=*/6, /*max_norm=*/0.1);
    INFO("worst parameter difference " << worst << ", worst relative norm difference " << norm);
    CHECK(worst < 2e-6);
    CHECK(norm < 1e-5);
  }
  SECTION("float32, no clipping") {
    const auto [worst, norm] = compare_with_torch(torch::kFloat32, /*steps=*/4, /*max_norm=*/1e9);
    INFO("worst parameter difference " << worst);
    CHECK(worst < 2e-6);
  }
  SECTION("float64 takes the whole-buffer ATen path: equal to double rounding") {
    const auto [worst, norm] = compare_with_torch(torch::kFloat64, /*steps=*/4, /*max_norm=*/0.1);
    INFO("worst parameter difference " << worst);
    CHECK(worst < 1e-12);
    CHECK(norm < 1e-12);
  }
}

TEST_CASE("clip coefficient is clip_grad_norm_'s", "[optim]") {
  CHECK(clip_coefficient(0.5, 1.0) == 1.0);
  CHECK(clip_coefficient(4.0, 1.0) == Approx(1.0 / (4.0 + 1e-6)));
  CHECK(clip_coefficient(0.0, 1.0) == 1.0);
}

TEST_CASE("a gradient detached from the flat buffer is reported by name", "[optim]") {
  XlmrForTask m = tiny_tagger(torch::kFloat32);
  FlatParameters flat(*m);
  m->named_parameters()["classifier.weight"].mutable_grad() = torch::Tensor();  // set to None
  tagging_loss(m).backward();  // autograd now creates a fresh gradient outside the buffer
  REQUIRE_THROWS_WITH(flat.check_grads_alias(),
                      Catch::Contains("classifier.weight") &&
                          Catch::Contains("no longer lives in the flat buffer"));
}

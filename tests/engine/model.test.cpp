// Tests of model.h / heads.h that need no checkpoint: parameter names, shapes, masks.
#include "engine/engine_test.h"

#include "ordertune/model/heads.h"
#include "ordertune/model/model.h"

using namespace ordertune;

TEST_CASE("encoder parameter names are Hugging Face's XLMRobertaModel names", "[model]") {
  XlmrEncoder enc(testing::small_test_config());
  std::vector<std::string> names;
  for (const auto& p : enc->named_parameters()) names.push_back(p.key());
  const std::vector<std::string> expected_some = {
      "embeddings.word_embeddings.weight",
      "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight",
      "embeddings.LayerNorm.weight",
      "encoder.layer.0.attention.self.query.weight",
      "encoder.layer.0.attention.self.value.bias",
      "encoder.layer.0.attention.output.dense.weight",
      "encoder.layer.0.attention.output.LayerNorm.bias",
      "encoder.layer.1.intermediate.dense.weight",
      "encoder.layer.1.output.dense.bias",
      "encoder.layer.1.output.LayerNorm.weight",
      "pooler.dense.weight",
  };
  for (const auto& n : expected_some) {
    INFO(n);
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
  }
  // 5 embedding tensors + 16 per layer + 2 pooler.
  CHECK(names.size() == 5 + 16 * 2 + 2);
}

TEST_CASE("task models prefix the encoder with roberta. and use HF head names", "[model]") {
  auto names_of = [](HeadKind kind) {
    HeadOptions h;
    h.kind = kind;
    h.num_labels = 3;
    XlmrForTask m(testing::small_test_config(), h);
    std::vector<std::string> n;
    for (const auto& p : m->named_parameters()) n.push_back(p.key());
    return n;
  };
  auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  const auto cls = names_of(HeadKind::kSequenceClassification);
  CHECK(has(cls, "roberta.embeddings.word_embeddings.weight"));
  CHECK(has(cls, "classifier.dense.weight"));
  CHECK(has(cls, "classifier.out_proj.bias"));
  CHECK_FALSE(has(cls, "roberta.pooler.dense.weight"));
  const auto mc = names_of(HeadKind::kMultipleChoice);
  CHECK(has(mc, "roberta.pooler.dense.weight"));
  CHECK(has(mc, "classifier.weight"));
  CHECK(has(names_of(HeadKind::kQuestionAnswering), "qa_outputs.weight"));
  const auto lm = names_of(HeadKind::kMaskedLM);
  CHECK(has(lm, "lm_head.dense.weight"));
  CHECK(has(lm, "lm_head.layer_norm.weight"));
  CHECK(has(lm, "lm_head.bias"));
  CHECK_FALSE(has(lm, "lm_head.decoder.weight"));  // tied to the word embeddings
}

TEST_CASE("padding does not change the hidden states of real tokens", "[model]") {
  torch::manual_seed(0);
  XlmrEncoder enc(testing::small_test_config());
  enc->eval();
  torch::NoGradGuard no_grad;
  const auto a = torch::tensor({{0, 5, 6, 7, 2}}, torch::kInt64);
  const auto b = torch::tensor({{0, 5, 6, 7, 2, 1, 1, 1}}, torch::kInt64);
  const auto ha = enc->forward(a).last_hidden_state;
  const auto hb = enc->forward(b).last_hidden_state.narrow(1, 0, 5);
  CHECK(torch::allclose(ha, hb, /*rtol=*/1e-5, /*atol=*/1e-6));
}

TEST_CASE("head output shapes", "[model]") {
  torch::manual_seed(0);
  const auto ids = torch::randint(4, 50, {3, 7}, torch::kInt64);
  auto run = [&](HeadKind kind, const torch::Tensor& x) {
    HeadOptions h;
    h.kind = kind;
    h.num_labels = 5;
    XlmrForTask m(testing::small_test_config(), h);
    m->eval();
    return m->forward(x).sizes().vec();
  };
  CHECK(run(HeadKind::kSequenceClassification, ids) == std::vector<int64_t>{3, 5});
  CHECK(run(HeadKind::kTokenClassification, ids) == std::vector<int64_t>{3, 7, 5});
  CHECK(run(HeadKind::kQuestionAnswering, ids) == std::vector<int64_t>{3, 7, 2});
  CHECK(run(HeadKind::kMaskedLM, ids) == std::vector<int64_t>{3, 7, 50});
  CHECK(run(HeadKind::kRetrieval, ids) == std::vector<int64_t>{3, 16});
  CHECK(run(HeadKind::kMultipleChoice, ids.view({1, 3, 7})) == std::vector<int64_t>{1, 3});
}

TEST_CASE("activation checkpointing gives the same gradients, dropout included", "[model]") {
  auto grads = [](bool checkpointing) {
    torch::manual_seed(1);
    EncoderOptions o;
    o.activation_checkpointing = checkpointing;
    XlmrEncoder enc(testing::small_test_config(), o);
    enc->train();
    torch::manual_seed(2);  // same dropout masks in both runs
    const auto ids = torch::tensor({{0, 5, 6, 7, 2, 1}, {0, 9, 8, 2, 1, 1}}, torch::kInt64);
    enc->forward(ids).last_hidden_state.pow(2).sum().backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : enc->parameters())
      g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return g;
  };
  const auto plain = grads(false), ckpt = grads(true);
  REQUIRE(plain.size() == ckpt.size());
  double worst = 0;
  for (size_t i = 0; i < plain.size(); ++i)
    worst = std::max(worst, (plain[i] - ckpt[i]).abs().max().item<double>());
  CHECK(worst < 1e-5);
  double total = 0;
  for (const auto& g : plain) total += g.abs().sum().item<double>();
  CHECK(total > 0);
}

TEST_CASE("default retrieval layer scales xtreme's 14 of 24", "[model]") {
  CHECK(default_retrieval_layer(24) == 14);
  CHECK(default_retrieval_layer(12) == 7);
  CHECK(default_retrieval_layer(2) == 1);
}

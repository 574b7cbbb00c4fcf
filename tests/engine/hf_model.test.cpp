// The encoder and every head against Hugging Face transformers (issue 14, section 3): random small
// XLM-R checkpoints saved by save_pretrained from XLMRobertaModel and each XLMRobertaFor* class,
// with the outputs transformers computes on padded batches (tests/hf/make_model_refs.py; the
// committed set is tests/data/hf/model, the `hf` label adds BF16, F16, sharded and pooler-less
// variants). Compared at every position, padding included: both sides compute padded rows the
// same way (keys masked with the float32 minimum), so nothing needs excluding.
#include "engine/hf_refs.h"

#include "ordertune/model/heads.h"
#include "ordertune/model/weights.h"

using namespace ordertune;
using namespace ordertune::testing;
namespace fs = std::filesystem;

namespace {

HeadKind head_kind_of(const std::string& kind) {
  for (HeadKind k :
       {HeadKind::kSequenceClassification, HeadKind::kMultipleChoice, HeadKind::kQuestionAnswering,
        HeadKind::kTokenClassification, HeadKind::kMaskedLM})
    if (kind == head_kind_name(k)) return k;
  FAIL("unknown head kind '" << kind << "' in the manifest");
  return HeadKind::kRetrieval;
}

// Loads the case's checkpoint into a module built from its config.json and requires that every
// parameter came from the file and every tensor of the file was taken: a head left at its fresh
// initialisation would otherwise go unnoticed until the comparison.
template <typename Module>
void require_complete_load(Module& module, const fs::path& dir) {
  const LoadReport report = load_hf_weights(*module, dir);
  INFO(dir << ": initialised " << report.initialized.size() << ", unused " << report.unused.size()
           << (report.initialized.empty() ? "" : ", first initialised " + report.initialized[0])
           << (report.unused.empty() ? "" : ", first unused " + report.unused[0]));
  CHECK(report.initialized.empty());
  CHECK(report.unused.empty());
  CHECK(!report.loaded.empty());
}

double compare(const std::string& what, const torch::Tensor& got, const torch::Tensor& want,
               double tolerance) {
  const double worst = report_hf("model", what, worst_difference(got, want), tolerance);
  INFO(what << ": worst difference " << worst);
  CHECK(worst <= tolerance);
  return worst;
}

}  // namespace

TEST_CASE("forward equals transformers: hidden states of every layer, every head, retrieval",
          "[hf][model][parity]") {
  torch::NoGradGuard no_grad;
  const fs::path refs = hf_refs("model", "ORDERTUNE_HF_MODEL_REFS");
  const nlohmann::json manifest = read_json_file(refs / "manifest.json");
  std::printf("hf:model references %s (transformers %s, torch %s)\n", refs.c_str(),
              manifest["versions"]["transformers"].get<std::string>().c_str(),
              manifest["versions"]["torch"].get<std::string>().c_str());
  int64_t cases = 0;
  double worst_all = 0.0;
  for (const auto& c : manifest["cases"]) {
    const auto name = c["name"].get<std::string>(), kind = c["kind"].get<std::string>();
    const auto tolerance = c["tolerance"].get<double>();
    const fs::path dir = refs / c["checkpoint"].get<std::string>();
    const auto expected = read_expected(refs / c["expected"].get<std::string>());
    const torch::Tensor ids = expected_tensor(expected, "input_ids");
    const torch::Tensor mask = expected_tensor(expected, "attention_mask");
    const XlmrConfig config = read_hf_config((dir / "config.json").string());
    INFO("case " << name << " (" << kind << ", " << c["dtype"].get<std::string>() << ")");
    ++cases;
    if (kind == "encoder") {
      EncoderOptions options;
      options.with_pooler = c["pooler"].get<bool>();
      XlmrEncoder encoder(config, options);
      require_complete_load(encoder, dir);
      encoder->eval();
      // Every layer's output, on the padded batch and on one without padding (no mask at all).
      worst_all =
          std::max(worst_all, compare(name + " hidden_states (padded)",
                                      all_hidden_states(*encoder, {ids, mask}),
                                      expected_tensor(expected, "hidden_states"), tolerance));
      const torch::Tensor full = expected_tensor(expected, "unpadded_input_ids");
      worst_all = std::max(worst_all,
                           compare(name + " hidden_states (unpadded)",
                                   all_hidden_states(*encoder, {full, torch::ones_like(full)}),
                                   expected_tensor(expected, "unpadded_hidden_states"), tolerance));
      // Retrieval: the sweep's default layer is the one the reference pooled (xtreme's 14 of 24).
      HeadOptions retrieval;
      retrieval.kind = HeadKind::kRetrieval;
      CHECK(default_retrieval_layer(config.num_hidden_layers) ==
            c["retrieval_layer"].get<int64_t>());
      XlmrForTask pooled(encoder, retrieval);
      pooled->eval();
      worst_all = std::max(
          worst_all, compare(name + " retrieval (mean of layer k)", pooled->forward(ids, mask),
                             expected_tensor(expected, "retrieval"), tolerance));
      if (options.with_pooler) {
        HeadOptions dual;
        dual.kind = HeadKind::kDualEncoder;
        XlmrForTask dual_encoder(encoder, dual);
        dual_encoder->eval();
        worst_all =
            std::max(worst_all, compare(name + " dual encoder (normalised pooler)",
                                        dual_encoder->forward(ids, mask),
                                        expected_tensor(expected, "dual_encoder"), tolerance));
      } else {
        CHECK(expected.count("dual_encoder") == 0);
      }
      continue;
    }
    HeadOptions head;
    head.kind = head_kind_of(kind);
    head.num_labels = std::max<int64_t>(1, c["num_labels"].get<int64_t>());
    XlmrForTask model(config, head);
    require_complete_load(model, dir);
    model->eval();
    worst_all =
        std::max(worst_all, compare(name + " " + kind + " logits", model->forward(ids, mask),
                                    expected_tensor(expected, "logits"), tolerance));
  }
  std::printf("hf:model %lld cases, worst difference of all %.3g\n", static_cast<long long>(cases),
              worst_all);
  CHECK(cases >= 12);  // both shapes, the encoder and five head classes each
}

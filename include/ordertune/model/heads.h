// heads — task heads on the XLM-R encoder, with Hugging Face's module names and semantics.
//
//   sequence classification  "classifier"  XLMRobertaClassificationHead on <s>: dropout, dense,
//                                           tanh, dropout, out_proj
//   multiple choice          "classifier"  Linear(H, 1) on the pooler output of each choice
//                                           (XLMRobertaForMultipleChoice), logits [B, choices]
//   extractive QA            "qa_outputs"  Linear(H, 2): start and end logits; the SQuAD 2.0
//                                           null answer is the <s> position (index 0)
//   token classification     "classifier"  dropout, Linear(H, labels) per token
//   masked LM                "lm_head"     dense, GELU, layer_norm, decoder tied to the word
//                                           embeddings, plus bias
//   retrieval                (no weights)  mean pooling of layer k over non-padding tokens
//                                           (Tatoeba and BUCC: the encoder untrained, as xtreme)
//   dual encoder             "logit_scale" the L2-normalised pooler output (dense + tanh on <s>
//                                           of the last layer), one encoder for queries and
//                                           candidates; logit_scale (init 100, trained) scales
//                                           cosine similarities in the in-batch softmax loss.
//                                           Mewsli-X and LAReQA fine-tuning: xtreme's
//                                           third_party/bert.py BertForRetrieval, which
//                                           XLMRobertaForRetrieval reuses (run_retrieval_el.py,
//                                           run_retrieval_qa.py)
// XlmrForTask holds the encoder as "roberta" plus one head, so its named_parameters() are the
// keys of an XLMRobertaFor* checkpoint ("roberta.encoder.layer.0...", "classifier.dense.weight").
#pragma once

#include <string>

#include <torch/torch.h>

#include "ordertune/model/model.h"

namespace ordertune {

enum class HeadKind {
  kSequenceClassification,
  kMultipleChoice,
  kQuestionAnswering,
  kTokenClassification,
  kMaskedLM,
  kRetrieval,
  kDualEncoder,
};

const char* head_kind_name(HeadKind kind);

struct HeadOptions {
  HeadKind kind = HeadKind::kSequenceClassification;
  int64_t num_labels = 2;        // classification / tagging labels
  int64_t retrieval_layer = -1;  // retrieval: layer pooled; -1 = default_retrieval_layer(L)
};

// The head's HF module name ("classifier", "qa_outputs", "lm_head"; "" for retrieval).
std::string head_module_name(HeadKind kind);
// Whether the head needs the encoder's pooler (multiple choice, dual encoder).
bool head_uses_pooler(HeadKind kind);

class XlmrForTaskImpl : public torch::nn::Module {
 public:
  XlmrForTaskImpl(const XlmrConfig& config, HeadOptions head, EncoderOptions encoder_options = {});
  // A fresh head on an existing encoder (shared, not copied: training the task trains it).
  XlmrForTaskImpl(XlmrEncoder encoder, HeadOptions head);

  // Logits by head kind:
  //   sequence classification [B, labels]; multiple choice (input [B, C, T]) [B, C];
  //   QA [B, T, 2] (start, end); token classification [B, T, labels]; masked LM [B, T, V];
  //   retrieval: the mean-pooled embedding [B, H]; dual encoder: the L2-normalised pooler
  //   output [B, H].
  torch::Tensor forward(const torch::Tensor& input_ids, torch::Tensor attention_mask = {});

  const HeadOptions& head_options() const { return head_; }

  XlmrEncoder roberta{nullptr};
  // Exactly one of these is set, by kind (retrieval has none).
  torch::nn::Linear dense{nullptr};       // classification head: classifier.dense
  torch::nn::Linear out_proj{nullptr};    // classification head: classifier.out_proj
  torch::nn::Linear linear{nullptr};      // multiple choice / token classification / QA output
  torch::nn::Linear lm_dense{nullptr};    // lm_head.dense
  torch::nn::LayerNorm lm_norm{nullptr};  // lm_head.layer_norm
  torch::Tensor lm_bias;                  // lm_head.bias
  torch::Tensor logit_scale;              // dual encoder: scale of cosine similarities (scalar)

 private:
  void build_head(const XlmrConfig& config);
  HeadOptions head_;
  double dropout_p_;
};
TORCH_MODULE(XlmrForTask);

}  // namespace ordertune

#include "ordertune/model/heads.h"

namespace ordertune {

const char* head_kind_name(HeadKind kind) {
  switch (kind) {
    case HeadKind::kSequenceClassification:
      return "sequence_classification";
    case HeadKind::kMultipleChoice:
      return "multiple_choice";
    case HeadKind::kQuestionAnswering:
      return "question_answering";
    case HeadKind::kTokenClassification:
      return "token_classification";
    case HeadKind::kMaskedLM:
      return "masked_lm";
    case HeadKind::kRetrieval:
      return "retrieval";
    case HeadKind::kDualEncoder:
      return "dual_encoder";
  }
  return "unknown";
}

std::string head_module_name(HeadKind kind) {
  switch (kind) {
    case HeadKind::kQuestionAnswering:
      return "qa_outputs";
    case HeadKind::kMaskedLM:
      return "lm_head";
    case HeadKind::kRetrieval:
      return "";
    case HeadKind::kDualEncoder:
      return "";
    default:
      return "classifier";
  }
}

bool head_uses_pooler(HeadKind kind) {
  return kind == HeadKind::kMultipleChoice || kind == HeadKind::kDualEncoder;
}

namespace {
// xtreme's BertForRetrieval: logit_scale = nn.Parameter(torch.tensor(100.0)), i.e. a softmax
// temperature of 0.01 over cosine similarities, trained with the encoder.
constexpr double kInitialLogitScale = 100.0;
}  // namespace

XlmrForTaskImpl::XlmrForTaskImpl(const XlmrConfig& c, HeadOptions head,
                                 EncoderOptions encoder_options)
    : head_(head), dropout_p_(c.hidden_dropout_prob) {
  // XLMRobertaFor{SequenceClassification,TokenClassification,QuestionAnswering,MaskedLM} build
  // the encoder without a pooler; only multiple choice uses it.
  encoder_options.with_pooler = head_uses_pooler(head.kind);
  roberta = register_module("roberta", XlmrEncoder(c, encoder_options));
  build_head(c);
}

XlmrForTaskImpl::XlmrForTaskImpl(XlmrEncoder encoder, HeadOptions head)
    : head_(head), dropout_p_(encoder->config().hidden_dropout_prob) {
  TORCH_CHECK(!head_uses_pooler(head.kind) || !encoder->pooler.is_empty(), "a ",
              head_kind_name(head.kind), " head needs an encoder with a pooler");
  roberta = register_module("roberta", std::move(encoder));
  build_head(roberta->config());
}

void XlmrForTaskImpl::build_head(const XlmrConfig& c) {
  const HeadOptions head = head_;
  const int64_t H = c.hidden_size;
  auto make_linear = [&](int64_t in, int64_t out) {
    torch::nn::Linear l(torch::nn::LinearOptions(in, out));
    torch::NoGradGuard no_grad;
    l->weight.normal_(0, c.initializer_range);
    l->bias.zero_();
    return l;
  };
  switch (head.kind) {
    case HeadKind::kSequenceClassification: {
      // Registered as "classifier.dense" and "classifier.out_proj" through a child module.
      auto classifier = std::make_shared<torch::nn::Module>();
      dense = classifier->register_module("dense", make_linear(H, H));
      out_proj = classifier->register_module("out_proj", make_linear(H, head.num_labels));
      register_module("classifier", classifier);
      break;
    }
    case HeadKind::kMultipleChoice:
      linear = register_module("classifier", make_linear(H, 1));
      break;
    case HeadKind::kTokenClassification:
      linear = register_module("classifier", make_linear(H, head.num_labels));
      break;
    case HeadKind::kQuestionAnswering:
      linear = register_module("qa_outputs", make_linear(H, 2));
      break;
    case HeadKind::kMaskedLM: {
      auto lm_head = std::make_shared<torch::nn::Module>();
      lm_dense = lm_head->register_module("dense", make_linear(H, H));
      lm_norm = lm_head->register_module(
          "layer_norm",
          torch::nn::LayerNorm(torch::nn::LayerNormOptions({H}).eps(c.layer_norm_eps)));
      lm_bias = lm_head->register_parameter("bias", torch::zeros({c.vocab_size}));
      register_module("lm_head", lm_head);
      break;
    }
    case HeadKind::kDualEncoder:
      logit_scale = register_parameter("logit_scale", torch::full({}, kInitialLogitScale));
      break;
    case HeadKind::kRetrieval:
      if (head_.retrieval_layer < 0)
        head_.retrieval_layer = default_retrieval_layer(c.num_hidden_layers);
      TORCH_CHECK(head_.retrieval_layer <= c.num_hidden_layers, "retrieval layer ",
                  head_.retrieval_layer, " exceeds the ", c.num_hidden_layers, " layers");
      break;
  }
}

torch::Tensor XlmrForTaskImpl::forward(const torch::Tensor& input_ids,
                                       torch::Tensor attention_mask) {
  const int64_t pad = roberta->config().pad_token_id;
  const bool train = is_training();
  switch (head_.kind) {
    case HeadKind::kSequenceClassification: {
      const EncoderOutput enc = roberta->forward(input_ids, attention_mask);
      torch::Tensor x = enc.last_hidden_state.select(1, 0);  // <s>
      x = ordertune::dropout(x, dropout_p_, train);
      x = torch::tanh(dense->forward(x));
      x = ordertune::dropout(x, dropout_p_, train);
      return out_proj->forward(x);
    }
    case HeadKind::kMultipleChoice: {
      TORCH_CHECK(input_ids.dim() == 3,
                  "multiple choice input: expected [batch, choices, seq], got ", input_ids.sizes());
      const int64_t B = input_ids.size(0), C = input_ids.size(1), T = input_ids.size(2);
      torch::Tensor mask = attention_mask.defined() ? attention_mask.reshape({B * C, T})
                                                    : input_ids.reshape({B * C, T}).ne(pad);
      const EncoderOutput enc = roberta->forward(input_ids.reshape({B * C, T}), mask);
      torch::Tensor x = ordertune::dropout(enc.pooled, dropout_p_, train);
      return linear->forward(x).view({B, C});
    }
    case HeadKind::kTokenClassification: {
      const EncoderOutput enc = roberta->forward(input_ids, attention_mask);
      return ordertune::linear(ordertune::dropout(enc.last_hidden_state, dropout_p_, train),
                               linear);
    }
    case HeadKind::kQuestionAnswering: {
      const EncoderOutput enc = roberta->forward(input_ids, attention_mask);
      return ordertune::linear(enc.last_hidden_state, linear);
    }
    case HeadKind::kMaskedLM: {
      const EncoderOutput enc = roberta->forward(input_ids, attention_mask);
      torch::Tensor x =
          lm_norm->forward(torch::gelu(ordertune::linear(enc.last_hidden_state, lm_dense)));
      return torch::linear(x, roberta->embeddings->word_embeddings->weight, lm_bias);
    }
    case HeadKind::kDualEncoder: {
      const EncoderOutput enc = roberta->forward(input_ids, attention_mask);
      return l2_normalize(enc.pooled);
    }
    case HeadKind::kRetrieval: {
      if (!attention_mask.defined()) attention_mask = input_ids.ne(pad);
      const EncoderOutput enc =
          roberta->forward(input_ids, attention_mask, /*all_hidden_states=*/true);
      return mean_pool(enc.hidden_states[static_cast<size_t>(head_.retrieval_layer)],
                       attention_mask);
    }
  }
  return {};
}

}  // namespace ordertune

// featurizer — read examples -> token features, with the conventions of Hugging Face and
// google-research/xtreme (see featurizer.h). Every task type encodes through one scratch buffer
// per call, so the hot loop allocates nothing per token: rows are appended straight into the
// flat Ragged arrays.
#include "ordertune/text/featurizer.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "ordertune/base/error.h"

namespace ordertune {
namespace {

constexpr int32_t kBos = XlmrTokenizer::kBos;
constexpr int32_t kEos = XlmrTokenizer::kEos;
constexpr int32_t kUnk = XlmrTokenizer::kUnk;
constexpr int32_t kUnlabeled = -1;
constexpr size_t kMaxLabelsInMessage = 20;

// Special tokens around one text (<s> A </s>) and a pair (<s> A </s></s> B </s>).
constexpr int kSingleSpecials = 2;
constexpr int kPairSpecials = 4;

// Hugging Face's "longest_first" truncation (tokenization_utils_base.truncate_sequences):
// remove one token at a time from the end of the longer sequence — the second one on a tie —
// until both fit in `budget`. Computed in closed form instead of one token at a time.
void truncate_longest_first(size_t* len_a, size_t* len_b, size_t budget) {
  if (*len_a + *len_b <= budget) return;
  size_t excess = *len_a + *len_b - budget;
  if (*len_a > *len_b) {
    const size_t d = std::min(excess, *len_a - *len_b);
    *len_a -= d;
    excess -= d;
  } else if (*len_b > *len_a) {
    const size_t d = std::min(excess, *len_b - *len_a);
    *len_b -= d;
    excess -= d;
  }
  // Equal lengths now: removals alternate, starting with the second sequence.
  *len_b -= (excess + 1) / 2;
  *len_a -= excess / 2;
}

// Appends "<s> a[:len_a] </s>" as one row.
void push_single(Ragged<int32_t>* rows, const std::vector<int32_t>& a, size_t len_a) {
  auto& v = rows->values;
  v.push_back(kBos);
  v.insert(v.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(len_a));
  v.push_back(kEos);
  rows->offsets.push_back(static_cast<int64_t>(v.size()));
}

// Appends "<s> a[:len_a] </s></s> b[:len_b] </s>" as one row.
void push_pair(Ragged<int32_t>* rows, const std::vector<int32_t>& a, size_t len_a,
               const std::vector<int32_t>& b, size_t len_b) {
  auto& v = rows->values;
  v.push_back(kBos);
  v.insert(v.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(len_a));
  v.push_back(kEos);
  v.push_back(kEos);
  v.insert(v.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(len_b));
  v.push_back(kEos);
  rows->offsets.push_back(static_cast<int64_t>(v.size()));
}

// The task's label set, by string, with the error for a label outside it.
class LabelIndex {
 public:
  explicit LabelIndex(const std::vector<std::string>& labels, int64_t* unseen = nullptr)
      : labels_(labels), unseen_(unseen) {
    index_.reserve(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) index_.emplace(labels[i], static_cast<int32_t>(i));
    open_ = !labels.empty() && labels.back() == kUnseenTag;
  }

  // Index of `label`; "" is unlabeled (-1). Unknown labels throw DataError at `where`, but for an
  // open set (ending in kUnseenTag), which maps them to that last entry and counts them.
  int32_t lookup(const std::string& label, const SourceLocation& where, const char* what) const {
    if (label.empty()) return kUnlabeled;
    const auto it = index_.find(label);
    if (it != index_.end()) return it->second;
    if (open_) {
      if (unseen_) ++*unseen_;
      return static_cast<int32_t>(labels_.size()) - 1;
    }
    throw_data_error(where.file, where.line, expected(what), quote_found(label));
  }

 private:
  std::string expected(const char* what) const {
    if (labels_.empty()) return fmt::format("a {} of the task's label set, which is empty", what);
    std::string list;
    const size_t shown = std::min(labels_.size(), kMaxLabelsInMessage);
    for (size_t i = 0; i < shown; ++i) {
      if (i > 0) list += ", ";
      list += "'" + labels_[i] + "'";
    }
    if (shown < labels_.size()) list += fmt::format(", ... ({} in all)", labels_.size());
    return fmt::format("a {} in [{}]", what, list);
  }

  const std::vector<std::string>& labels_;
  int64_t* unseen_;
  bool open_ = false;
  std::unordered_map<std::string, int32_t> index_;
};

// Reserves the flat arrays of a Ragged for `rows` rows of about `values` entries in all.
template <typename T>
void reserve_rows(Ragged<T>* r, size_t rows, size_t values) {
  r->offsets.reserve(r->offsets.size() + rows);
  r->values.reserve(r->values.size() + values);
}

// A rough token count for text of `bytes` bytes (about 4 bytes per XLM-R token in English);
// used only to reserve capacity.
size_t estimate_tokens(size_t bytes) {
  return bytes / 4 + 1;
}

// Reusable encoding buffers for one featurize() call.
struct Scratch {
  std::vector<int32_t> a, b;
  std::vector<int64_t> begins, ends;
};

// Encodes `a` alone (<s> a </s>) or with `b` (<s> a </s></s> b </s>, longest-first
// truncation) into one new row of `rows`, at most max_length tokens.
void push_encoded(const XlmrTokenizer& tok, const FeaturizerOptions& opt, const std::string& a,
                  const std::string* b, Scratch* s, Ragged<int32_t>* rows) {
  tok.encode_with_offsets(a, &s->a, nullptr, nullptr);
  if (b) {
    tok.encode_with_offsets(*b, &s->b, nullptr, nullptr);
    size_t la = s->a.size(), lb = s->b.size();
    truncate_longest_first(&la, &lb, static_cast<size_t>(opt.max_length - kPairSpecials));
    push_pair(rows, s->a, la, s->b, lb);
  } else {
    push_single(rows, s->a,
                std::min(s->a.size(), static_cast<size_t>(opt.max_length - kSingleSpecials)));
  }
}

// ---- per task type -----------------------------------------------------------------------------

void featurize_classification(const XlmrTokenizer& tok, const FeaturizerOptions& opt,
                              const LabelIndex& labels, const RawSplit& raw,
                              ClassificationFeatures* out) {
  const auto& examples = raw.classification;
  // A split is a pair task if any example has a second text; then every example is encoded as a
  // pair (an empty B gives "<s> A </s></s></s>"), so one task has one layout.
  const bool pair = std::any_of(examples.begin(), examples.end(),
                                [](const ClassificationExample& e) { return !e.text_b.empty(); });
  size_t bytes = 0;
  for (const auto& e : examples) bytes += e.text_a.size() + e.text_b.size();
  reserve_rows(&out->input_ids, examples.size(),
               std::min(estimate_tokens(bytes) + examples.size() * kPairSpecials,
                        examples.size() * static_cast<size_t>(opt.max_length)));
  out->labels.reserve(examples.size());
  out->ids.reserve(examples.size());

  Scratch s;
  for (const auto& e : examples) {
    push_encoded(tok, opt, e.text_a, pair ? &e.text_b : nullptr, &s, &out->input_ids);
    out->labels.push_back(labels.lookup(e.label, e.where, "label"));
    out->ids.push_back(e.id);
  }
}

void featurize_multiple_choice(const XlmrTokenizer& tok, const FeaturizerOptions& opt,
                               const TaskSpec& spec, const RawSplit& raw,
                               MultipleChoiceFeatures* out) {
  const auto& examples = raw.multiple_choice;
  int32_t num_choices = spec.num_choices;
  if (num_choices <= 0 && !examples.empty()) {
    num_choices = static_cast<int32_t>(examples.front().choices.size());
  }
  out->num_choices = num_choices;
  size_t bytes = 0;
  for (const auto& e : examples) {
    bytes += e.prompt.size() * static_cast<size_t>(num_choices);
    for (const auto& c : e.choices) bytes += c.size();
  }
  const size_t rows = examples.size() * static_cast<size_t>(num_choices);
  reserve_rows(&out->input_ids, rows,
               std::min(estimate_tokens(bytes) + rows * kPairSpecials,
                        rows * static_cast<size_t>(opt.max_length)));
  out->labels.reserve(examples.size());
  out->ids.reserve(examples.size());

  const size_t budget = static_cast<size_t>(opt.max_length - kPairSpecials);
  Scratch s;
  for (const auto& e : examples) {
    if (static_cast<int64_t>(e.choices.size()) != num_choices) {
      throw_data_error(e.where.file, e.where.line,
                       fmt::format("{} choices (as {})", num_choices,
                                   spec.num_choices > 0 ? "the task specifies"
                                                        : "the split's first example has"),
                       fmt::format("{} choices", e.choices.size()));
    }
    if (e.label < -1 || e.label >= num_choices) {
      throw_data_error(
          e.where.file, e.where.line,
          fmt::format("a right-choice index in [0, {}) or -1 (unlabeled)", num_choices),
          std::to_string(e.label));
    }
    tok.encode_with_offsets(e.prompt, &s.a, nullptr, nullptr);
    for (const auto& choice : e.choices) {
      tok.encode_with_offsets(choice, &s.b, nullptr, nullptr);
      size_t la = s.a.size(), lb = s.b.size();
      truncate_longest_first(&la, &lb, budget);
      push_pair(&out->input_ids, s.a, la, s.b, lb);
    }
    out->labels.push_back(e.label);
    out->ids.push_back(e.id);
  }
}

// xtreme's utils_tag.py convert_examples_to_features: every word is tokenized on its own, the
// word's tag goes to its first sub-token, a word that yields no token becomes one <unk>; the
// token sequence is cut to max_length - 2 and wrapped as <s> ... </s>.
void featurize_tagging(const XlmrTokenizer& tok, const FeaturizerOptions& opt,
                       const LabelIndex& labels, const RawSplit& raw, TaggingFeatures* out) {
  const auto& examples = raw.tagging;
  size_t bytes = 0, words = 0;
  for (const auto& e : examples) {
    words += e.words.size();
    for (const auto& w : e.words) bytes += w.size();
  }
  const size_t tokens = std::min(estimate_tokens(bytes) + words + examples.size() * 2,
                                 examples.size() * static_cast<size_t>(opt.max_length));
  reserve_rows(&out->input_ids, examples.size(), tokens);
  reserve_rows(&out->word_index, examples.size(), tokens);
  reserve_rows(&out->word_labels, examples.size(), words);
  out->ids.reserve(examples.size());

  const size_t budget = static_cast<size_t>(opt.max_length - kSingleSpecials);
  Scratch s;
  for (const auto& e : examples) {
    if (!e.tags.empty() && e.tags.size() != e.words.size()) {
      throw_data_error(e.where.file, e.where.line,
                       fmt::format("one tag per word ({} words)", e.words.size()),
                       fmt::format("{} tags", e.tags.size()));
    }
    auto& ids = out->input_ids.values;
    auto& index = out->word_index.values;
    ids.push_back(kBos);
    index.push_back(-1);
    size_t kept = 0;  // tokens between <s> and </s>
    for (size_t w = 0; w < e.words.size(); ++w) {
      out->word_labels.values.push_back(
          e.tags.empty() ? kUnlabeled : labels.lookup(e.tags[w], e.word_where(w), "tag"));
      if (kept == budget) continue;  // truncated: the word keeps its label, gets no token
      tok.encode_with_offsets(e.words[w], &s.a, nullptr, nullptr);
      if (s.a.empty()) s.a.push_back(kUnk);
      const size_t take = std::min(s.a.size(), budget - kept);
      ids.insert(ids.end(), s.a.begin(), s.a.begin() + static_cast<std::ptrdiff_t>(take));
      index.push_back(static_cast<int32_t>(w));
      index.insert(index.end(), take - 1, -1);
      kept += take;
    }
    ids.push_back(kEos);
    index.push_back(-1);
    out->input_ids.offsets.push_back(static_cast<int64_t>(ids.size()));
    out->word_index.offsets.push_back(static_cast<int64_t>(index.size()));
    out->word_labels.offsets.push_back(static_cast<int64_t>(out->word_labels.values.size()));
    out->ids.push_back(e.id);
  }
}

// SQuAD-style windows, as google-research/xtreme's third_party/processors/squad.py
// (squad_convert_example_to_features, which run_squad.py calls with doc_stride=128), transposed
// from its per-word sub-tokens to the byte offsets of one encoding of the whole context:
//   * the question is cut to its first qa_max_query_length tokens (q);
//   * each window holds up to W = qa_max_length - q - 4 context tokens:
//       <s> question </s></s> context[start, start + len) </s>;
//   * windows start at 0, qa_stride, 2*qa_stride, ... (doc_stride = distance between window
//     STARTS, i.e. consecutive windows overlap by W - qa_stride tokens; HF run_qa.py's `stride`
//     argument is that overlap instead), and the last window is the first that reaches the end
//     of the context. As in Google's original run_squad.py, the step is min(len, qa_stride), so a
//     stride longer than a window never skips tokens;
//   * a context without tokens still gets one window, so every example gets a prediction;
//   * the (first) answer's positions follow HF run_qa.py's offset rule: if the window's context
//     covers [answer_start, answer_end) bytes, start = last token beginning at or before
//     answer_start, end = first token (scanning back from the window's end) ending at or after
//     answer_end; otherwise (or for an impossible question) both are 0, the <s> token.
void featurize_qa(const XlmrTokenizer& tok, const FeaturizerOptions& opt, const RawSplit& raw,
                  QAFeatures* out) {
  const auto& examples = raw.qa;
  const size_t n_examples = examples.size();
  out->ids.reserve(n_examples);
  out->questions.reserve(n_examples);
  out->contexts.reserve(n_examples);
  out->is_impossible.reserve(n_examples);
  reserve_rows(&out->answer_texts, n_examples, n_examples);
  reserve_rows(&out->answer_starts, n_examples, n_examples);
  // Windows: at least one per example of about question + context tokens; growth beyond this
  // estimate (long contexts) is amortized. Never reserve per example: an exact-size reserve in
  // a loop would reallocate every time.
  size_t bytes = 0;
  for (const auto& e : examples) bytes += e.question.size() + e.context.size();
  const size_t window_tokens = estimate_tokens(bytes) + n_examples * kPairSpecials;
  reserve_rows(&out->input_ids, n_examples, window_tokens);
  reserve_rows(&out->token_start, n_examples, window_tokens);
  reserve_rows(&out->token_end, n_examples, window_tokens);
  out->window_example.reserve(n_examples);
  out->start_positions.reserve(n_examples);
  out->end_positions.reserve(n_examples);

  Scratch s;  // a: question ids, b: context ids, begins/ends: context byte offsets
  for (size_t ex = 0; ex < n_examples; ++ex) {
    const QAExample& e = examples[ex];
    OT_CHECK(e.answer_texts.size() == e.answer_starts.size(),
             "QA reader gave {} answer texts but {} starts", e.answer_texts.size(),
             e.answer_starts.size());
    for (size_t k = 0; k < e.answer_texts.size(); ++k) {
      const int64_t start = e.answer_starts[k];
      if (start < 0 || static_cast<size_t>(start) + e.answer_texts[k].size() > e.context.size()) {
        throw_data_error(
            e.where.file, e.where.line,
            fmt::format("an answer inside the context ({} bytes)", e.context.size()),
            fmt::format("answer {} at byte {}", quote_found(e.answer_texts[k]), start));
      }
    }
    out->ids.push_back(e.id);
    out->questions.push_back(e.question);
    out->contexts.push_back(e.context);
    out->answer_texts.push_row(e.answer_texts);
    out->answer_starts.push_row(e.answer_starts);
    out->is_impossible.push_back(e.is_impossible ? 1 : 0);

    tok.encode_with_offsets(e.question, &s.a, nullptr, nullptr);
    const size_t q_len = std::min(s.a.size(), static_cast<size_t>(opt.qa_max_query_length));
    tok.encode_with_offsets(e.context, &s.b, &s.begins, &s.ends);
    const size_t n = s.b.size();
    const size_t window = static_cast<size_t>(opt.qa_max_length - kPairSpecials) - q_len;
    const size_t ctx_first = q_len + 3;  // <s> q </s></s>

    const bool has_answer = !e.is_impossible && !e.answer_texts.empty();
    const int64_t answer_begin = has_answer ? e.answer_starts[0] : 0;
    const int64_t answer_end =
        has_answer ? answer_begin + static_cast<int64_t>(e.answer_texts[0].size()) : 0;

    size_t start = 0;
    while (true) {
      const size_t len = std::min(n - start, window);
      // <s> question </s></s> context[start, start + len) </s>
      auto& ids = out->input_ids.values;
      ids.push_back(kBos);
      ids.insert(ids.end(), s.a.begin(), s.a.begin() + static_cast<std::ptrdiff_t>(q_len));
      ids.push_back(kEos);
      ids.push_back(kEos);
      ids.insert(ids.end(), s.b.begin() + static_cast<std::ptrdiff_t>(start),
                 s.b.begin() + static_cast<std::ptrdiff_t>(start + len));
      ids.push_back(kEos);
      out->input_ids.offsets.push_back(static_cast<int64_t>(ids.size()));
      // Byte offsets of the context tokens; -1 for the question and the special tokens.
      auto push_offsets = [&](Ragged<int64_t>* r, const std::vector<int64_t>& src) {
        r->values.insert(r->values.end(), ctx_first, -1);
        r->values.insert(r->values.end(), src.begin() + static_cast<std::ptrdiff_t>(start),
                         src.begin() + static_cast<std::ptrdiff_t>(start + len));
        r->values.push_back(-1);
        r->offsets.push_back(static_cast<int64_t>(r->values.size()));
      };
      push_offsets(&out->token_start, s.begins);
      push_offsets(&out->token_end, s.ends);
      out->window_example.push_back(static_cast<int32_t>(ex));

      int32_t start_position = 0, end_position = 0;
      if (has_answer && len > 0 && s.begins[start] <= answer_begin &&
          s.ends[start + len - 1] >= answer_end) {
        size_t first = start;
        while (first < start + len && s.begins[first] <= answer_begin) ++first;
        --first;
        // HF scans back from the window's last token while tokens end at or after answer_end
        // and takes the token after where it stops: the first of that trailing run.
        size_t last = start + len;
        while (last > start && s.ends[last - 1] >= answer_end) --last;
        if (last >= first) {
          start_position = static_cast<int32_t>(ctx_first + (first - start));
          end_position = static_cast<int32_t>(ctx_first + (last - start));
        }
      }
      out->start_positions.push_back(start_position);
      out->end_positions.push_back(end_position);

      if (start + len >= n) break;
      start += std::min(len, static_cast<size_t>(opt.qa_stride));
    }
  }
}

// Encodes retrieval items: "<s> text </s>", or "<s> text </s></s> context </s>" when the list
// has contexts (LAReQA answers, Mewsli-X mentions).
void encode_items(const XlmrTokenizer& tok, const FeaturizerOptions& opt,
                  const std::vector<RetrievalItem>& items, Ragged<int32_t>* ids,
                  std::vector<std::string>* keys, std::vector<std::string>* languages) {
  const bool pair = std::any_of(items.begin(), items.end(),
                                [](const RetrievalItem& i) { return !i.context.empty(); });
  size_t bytes = 0;
  for (const auto& i : items) bytes += i.text.size() + i.context.size();
  reserve_rows(ids, items.size(),
               std::min(estimate_tokens(bytes) + items.size() * kPairSpecials,
                        items.size() * static_cast<size_t>(opt.max_length)));
  keys->reserve(items.size());
  languages->reserve(items.size());
  Scratch s;
  for (const auto& item : items) {
    push_encoded(tok, opt, item.text, pair ? &item.context : nullptr, &s, ids);
    keys->push_back(item.id);
    languages->push_back(item.language);
  }
}

void featurize_retrieval(const XlmrTokenizer& tok, const FeaturizerOptions& opt,
                         const RawSplit& raw, bool candidates, RetrievalFeatures* out) {
  const auto& set = raw.retrieval;
  encode_items(tok, opt, set.queries, &out->query_ids, &out->query_keys, &out->query_languages);
  if (candidates)
    encode_items(tok, opt, set.candidates, &out->candidate_ids, &out->candidate_keys,
                 &out->candidate_languages);
  out->gold_query.reserve(set.gold.size());
  out->gold_candidate.reserve(set.gold.size());
  for (const auto& [q, c] : set.gold) {
    OT_CHECK(q >= 0 && static_cast<size_t>(q) < set.queries.size() && c >= 0 &&
                 static_cast<size_t>(c) < set.candidates.size(),
             "retrieval gold pair ({}, {}) outside {} queries x {} candidates", q, c,
             set.queries.size(), set.candidates.size());
    out->gold_query.push_back(q);
    out->gold_candidate.push_back(c);
  }
}

void featurize_mlm(const XlmrTokenizer& tok, const FeaturizerOptions& opt, const RawSplit& raw,
                   MLMFeatures* out) {
  const auto& lines = raw.mlm_lines;
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  reserve_rows(&out->input_ids, lines.size(),
               std::min(estimate_tokens(bytes) + lines.size() * kSingleSpecials,
                        lines.size() * static_cast<size_t>(opt.max_length)));
  Scratch s;
  for (const auto& line : lines) {
    tok.encode_with_offsets(line, &s.a, nullptr, nullptr);
    push_single(&out->input_ids, s.a,
                std::min(s.a.size(), static_cast<size_t>(opt.max_length - kSingleSpecials)));
  }
}

}  // namespace

Featurizer::Featurizer(const XlmrTokenizer& tokenizer, FeaturizerOptions options)
    : tokenizer_(tokenizer), options_(options) {
  // Settings a user can get wrong: say which, what is needed and what was given.
  if (options_.max_length < kPairSpecials + 1) {
    throw ConfigError(
        fmt::format("max_length: expected at least {} (a pair's 4 special tokens + 1), got {}",
                    kPairSpecials + 1, options_.max_length));
  }
  if (options_.qa_max_query_length < 1) {
    throw ConfigError(fmt::format("qa_max_query_length: expected at least 1, got {}",
                                  options_.qa_max_query_length));
  }
  if (options_.qa_max_length < options_.qa_max_query_length + kPairSpecials + 1) {
    throw ConfigError(fmt::format(
        "qa_max_length: expected at least qa_max_query_length + 5 = {} (question, 4 special "
        "tokens and one context token), got {}",
        options_.qa_max_query_length + kPairSpecials + 1, options_.qa_max_length));
  }
  if (options_.qa_stride < 1) {
    throw ConfigError(
        fmt::format("qa_stride: expected at least 1 context token, got {}", options_.qa_stride));
  }
}

SplitFeatures Featurizer::featurize(const TaskSpec& spec, const std::vector<std::string>& labels,
                                    const RawSplit& raw, int64_t* unseen, bool candidates) const {
  OT_CHECK(spec.type == raw.type, "task '{}' is {} but its split was read as {}", spec.name,
           choice_name(spec.type), choice_name(raw.type));
  SplitFeatures out;
  out.type = raw.type;
  switch (raw.type) {
    case TaskType::kClassification:
      featurize_classification(tokenizer_, options_, LabelIndex(labels), raw, &out.classification);
      break;
    case TaskType::kMultipleChoice:
      featurize_multiple_choice(tokenizer_, options_, spec, raw, &out.multiple_choice);
      break;
    case TaskType::kTagging:
      featurize_tagging(tokenizer_, options_, LabelIndex(labels, unseen), raw, &out.tagging);
      break;
    case TaskType::kExtractiveQA:
      featurize_qa(tokenizer_, options_, raw, &out.qa);
      break;
    case TaskType::kRetrieval:
      featurize_retrieval(tokenizer_, options_, raw, candidates, &out.retrieval);
      break;
    case TaskType::kMLM:
      featurize_mlm(tokenizer_, options_, raw, &out.mlm);
      break;
  }
  return out;
}

std::vector<std::string> collect_labels(const RawSplit& split) {
  std::unordered_set<std::string> seen;
  if (split.type == TaskType::kClassification) {
    for (const auto& e : split.classification) {
      if (!e.label.empty()) seen.insert(e.label);
    }
  } else if (split.type == TaskType::kTagging) {
    for (const auto& e : split.tagging) {
      for (const auto& t : e.tags) {
        if (!t.empty()) seen.insert(t);
      }
    }
  }
  std::vector<std::string> labels(seen.begin(), seen.end());
  std::sort(labels.begin(), labels.end());  // byte order, independent of hashing
  return labels;
}

}  // namespace ordertune

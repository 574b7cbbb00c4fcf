#include "ordertune/scoring/metrics.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "ordertune/base/error.h"
#include "ordertune/base/utf8.h"
#include "ordertune/scoring/unicode_tables.h"

namespace ordertune {

namespace {

// Python's str.split() on code points.
std::vector<std::u32string> split_u32(const std::u32string& text) {
  std::vector<std::u32string> out;
  std::u32string word;
  for (char32_t c : text) {
    if (py_isspace(c)) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::u32string lower_u32(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    const char32_t c = s[i];
    if (c == 0x3A3) {
      // GREEK CAPITAL SIGMA: final form when a cased letter precedes it and none follows, case-
      // ignorable characters skipped (Unicode Final_Sigma; CPython handle_capital_sigma()).
      size_t j = i;
      while (j > 0 && unicode::is_case_ignorable(s[j - 1])) --j;
      bool final_sigma = j > 0 && unicode::is_cased_not_ignorable(s[j - 1]);
      if (final_sigma && i + 1 < n) {
        size_t k = i + 1;
        while (k < n && unicode::is_case_ignorable(s[k])) ++k;
        final_sigma = k == n || !unicode::is_cased_not_ignorable(s[k]);
      }
      out.push_back(final_sigma ? 0x3C2 : 0x3C3);
    } else if (c == 0x130) {
      // LATIN CAPITAL I WITH DOT ABOVE: the only full lower-case mapping of two code points.
      out.push_back(0x69);
      out.push_back(0x307);
    } else {
      out.push_back(unicode::lower(c));
    }
  }
  return out;
}

bool is_word_char(char32_t c) {
  return c == U'_' || py_isalnum(c);
}  // regex \w on str

// Python string.punctuation: the ASCII characters !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~.
bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

// re.sub(r"\b(w1|w2|...)\b", " ", text) for words made of word characters: such a match is
// always a whole maximal run of word characters, so replacing every run equal to one of the
// words by " " is the same substitution.
std::u32string replace_whole_words(const std::u32string& text,
                                   const std::vector<std::u32string>& words) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (!is_word_char(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < n && is_word_char(text[j])) ++j;
    const std::u32string run = text.substr(i, j - i);
    if (std::find(words.begin(), words.end(), run) != words.end()) {
      out.push_back(U' ');
    } else {
      out += run;
    }
    i = j;
  }
  return out;
}

// re.sub(pattern, " ", text) for a literal pattern: non-overlapping, left to right.
std::u32string replace_all(const std::u32string& text, const std::u32string& pattern) {
  std::u32string out;
  size_t i = 0;
  while (true) {
    const size_t at = text.find(pattern, i);
    if (at == std::u32string::npos) break;
    out.append(text, i, at - i);
    out.push_back(U' ');
    i = at + pattern.size();
  }
  out.append(text, i, std::u32string::npos);
  return out;
}

// Non-ASCII words are written as "\u..." escapes in plain literals: u8"" literals are char8_t in
// C++20 and would not convert to const char*. This asks of the compiler that its execution
// character set be UTF-8 (GCC's and Clang's default).
static_assert(sizeof("\u00e0") == 3, "the execution character set must be UTF-8");

std::vector<std::u32string> u32_words(std::initializer_list<const char*> utf8_words) {
  std::vector<std::u32string> out;
  for (const char* w : utf8_words) out.push_back(decode_utf8(w));
  return out;
}

// Articles per language, evaluate_mlqa.py remove_articles() (evaluate_squad.py: the en list).
const std::vector<std::u32string>& articles(const std::string& lang) {
  static const std::vector<std::u32string> kEn = u32_words({"a", "an", "the"});
  static const std::vector<std::u32string> kEs =
      u32_words({"un", "una", "unos", "unas", "el", "la", "los", "las"});
  static const std::vector<std::u32string> kDe =
      u32_words({"ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den",
                 "dem", "des"});
  // của là cái chiếc những, in NFC as in the script's source.
  static const std::vector<std::u32string> kVi =
      u32_words({"c\u1ee7a", "l\u00e0", "c\u00e1i", "chi\u1ebfc", "nh\u1eefng"});
  static const std::vector<std::u32string> kNone;
  if (lang == "en") return kEn;
  if (lang == "es") return kEs;
  if (lang == "de") return kDe;
  if (lang == "vi") return kVi;
  return kNone;
}

// evaluate_mlqa.py mixed_segmentation(): CJK ideographs U+4E00..U+9FA5 and punctuation are
// tokens of their own; the text between them is split on whitespace.
std::vector<std::u32string> mixed_segmentation(const std::u32string& text) {
  std::vector<std::u32string> out;
  std::u32string pending;
  auto flush = [&]() {
    for (auto& w : split_u32(pending)) out.push_back(std::move(w));
    pending.clear();
  };
  for (char32_t c : text) {
    if ((c >= 0x4E00 && c <= 0x9FA5) || is_unicode_punctuation(c) || is_ascii_punctuation(c)) {
      flush();
      out.push_back(std::u32string(1, c));
    } else {
      pending.push_back(c);
    }
  }
  flush();
  return out;
}

std::u32string join_tokens(const std::vector<std::u32string>& tokens) {
  std::u32string out;
  for (const auto& t : tokens) {
    // " ".join(t for t in tokens if t.strip() != "")
    if (std::all_of(t.begin(), t.end(), [](char32_t c) { return py_isspace(c); })) continue;
    if (!out.empty()) out.push_back(U' ');
    out += t;
  }
  return out;
}

}  // namespace

// ---- reported numbers ----------------------------------------------------------------------

bool has_metric(const MetricSet& metrics, const std::string& name) {
  return std::any_of(metrics.begin(), metrics.end(),
                     [&](const MetricValue& m) { return m.name == name; });
}

std::vector<std::string> metric_keys(Metric metric) {
  switch (metric) {
    case Metric::kSeqevalF1:
    case Metric::kBuccF1:
      return {"f1", "precision", "recall"};
    case Metric::kSquad:
    case Metric::kMlqa:
      return {"exact_match", "f1"};
    case Metric::kMap20:
      return {"map@20"};
    case Metric::kAccuracy:
    case Metric::kMlm:
      break;
  }
  return {"accuracy"};
}

double metric_value(const MetricSet& metrics, const std::string& name) {
  for (const MetricValue& m : metrics)
    if (m.name == name) return m.value;
  OT_CHECK(false, "metric '{}' is not in this metric set", name);
  return 0.0;
}

// ---- Python str semantics --------------------------------------------------------------------

bool py_isspace(char32_t c) {
  // str.isspace(): bidirectional class WS, B or S, or category Zs (CPython
  // _PyUnicode_IsWhitespace); the full list, stable across Unicode versions.
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string py_lower(const std::string& text) {
  return encode_utf8(lower_u32(decode_utf8(text)));
}

std::string py_strip(const std::string& text) {
  const std::u32string s = decode_utf8(text);
  size_t b = 0;
  size_t e = s.size();
  while (b < e && py_isspace(s[b])) ++b;
  while (e > b && py_isspace(s[e - 1])) --e;
  if (b == 0 && e == s.size()) return text;
  return encode_utf8(s.substr(b, e - b));
}

std::vector<std::string> py_split(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& w : split_u32(decode_utf8(text))) out.push_back(encode_utf8(w));
  return out;
}

// ---- accuracy --------------------------------------------------------------------------------

MetricSet accuracy_metrics(const std::vector<std::string>& labels,
                           const std::vector<std::string>& predictions) {
  OT_CHECK(labels.size() == predictions.size() && !predictions.empty(),
           "accuracy needs equally many labels and predictions, at least one; got {} and {}",
           labels.size(), predictions.size());
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i] ? 1 : 0;
  // accuracy = float(correct) / len(predictions); {'accuracy': accuracy * 100}
  const double accuracy = static_cast<double>(correct) / static_cast<double>(predictions.size());
  return {{"accuracy", accuracy * 100}};
}

// ---- seqeval -----------------------------------------------------------------------------------

bool TaggedEntity::operator<(const TaggedEntity& o) const {
  if (type != o.type) return type < o.type;
  if (first != o.first) return first < o.first;
  return last < o.last;
}

bool TaggedEntity::operator==(const TaggedEntity& o) const {
  return type == o.type && first == o.first && last == o.last;
}

namespace {

// The IOB letter: the first character of the tag (seqeval: chunk[0]). Only ASCII letters are
// ever compared, so the first byte stands for the first character.
char iob_letter(const std::string& tag) {
  return tag.empty() ? '\0' : tag[0];
}

std::string entity_type(const std::string& tag, SeqevalTypeRule rule) {
  if (rule == SeqevalTypeRule::kAfterLastDash) {
    // chunk.split('-')[-1]
    const size_t dash = tag.rfind('-');
    return dash == std::string::npos ? tag : tag.substr(dash + 1);
  }
  // chunk[1:].split('-', maxsplit=1)[-1] or '_' ; chunk[1:] drops the first code point.
  const std::string rest = tag.substr(next_codepoint(tag, 0));
  const size_t dash = rest.find('-');
  std::string type = dash == std::string::npos ? rest : rest.substr(dash + 1);
  return type.empty() ? "_" : type;
}

// seqeval end_of_chunk(): did a chunk end between the previous and the current word?
bool end_of_chunk(char prev_tag, char tag, const std::string& prev_type, const std::string& type) {
  if (prev_tag == 'E' || prev_tag == 'S') return true;
  if ((prev_tag == 'B' || prev_tag == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev_tag != 'O' && prev_tag != '.' && prev_type != type;
}

// seqeval start_of_chunk(): did a chunk start between the previous and the current word?
bool start_of_chunk(char prev_tag, char tag, const std::string& prev_type,
                    const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev_tag == 'E' || prev_tag == 'S' || prev_tag == 'O') && (tag == 'E' || tag == 'I'))
    return true;
  return tag != 'O' && tag != '.' && prev_type != type;
}

}  // namespace

std::vector<TaggedEntity> seqeval_entities(const std::vector<std::vector<std::string>>& sentences,
                                           SeqevalTypeRule rule) {
  // Flatten with an "O" after every sentence, then one more "O" to close the last chunk.
  std::vector<const std::string*> seq;
  static const std::string kOutside = "O";
  for (const auto& sentence : sentences) {
    for (const auto& tag : sentence) seq.push_back(&tag);
    seq.push_back(&kOutside);
  }
  seq.push_back(&kOutside);

  std::vector<TaggedEntity> chunks;
  char prev_tag = 'O';
  std::string prev_type;
  int64_t begin = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    const char tag = iob_letter(*seq[i]);
    std::string type = entity_type(*seq[i], rule);
    const auto pos = static_cast<int64_t>(i);
    if (end_of_chunk(prev_tag, tag, prev_type, type)) chunks.push_back({prev_type, begin, pos - 1});
    if (start_of_chunk(prev_tag, tag, prev_type, type)) begin = pos;
    prev_tag = tag;
    prev_type = std::move(type);
  }
  return chunks;
}

EntityCounts seqeval_counts(const std::vector<std::vector<std::string>>& labels,
                            const std::vector<std::vector<std::string>>& predictions,
                            SeqevalTypeRule rule) {
  const auto gold_list = seqeval_entities(labels, rule);
  const auto pred_list = seqeval_entities(predictions, rule);
  const std::set<TaggedEntity> gold(gold_list.begin(), gold_list.end());
  const std::set<TaggedEntity> pred(pred_list.begin(), pred_list.end());
  EntityCounts counts;
  counts.gold = static_cast<int64_t>(gold.size());
  counts.predicted = static_cast<int64_t>(pred.size());
  for (const auto& e : pred) counts.correct += gold.count(e) ? 1 : 0;
  return counts;
}

MetricSet seqeval_metrics(const std::vector<std::vector<std::string>>& labels,
                          const std::vector<std::vector<std::string>>& predictions,
                          SeqevalTypeRule rule) {
  OT_CHECK(labels.size() == predictions.size(),
           "seqeval needs equally many sentences; got {} and {}", labels.size(),
           predictions.size());
  for (size_t i = 0; i < labels.size(); ++i)
    OT_CHECK(labels[i].size() == predictions[i].size(),
             "seqeval sentence {} has {} gold tags and {} predicted", i, labels[i].size(),
             predictions[i].size());
  const EntityCounts c = seqeval_counts(labels, predictions, rule);
  const double p =
      c.predicted > 0 ? static_cast<double>(c.correct) / static_cast<double>(c.predicted) : 0.0;
  const double r = c.gold > 0 ? static_cast<double>(c.correct) / static_cast<double>(c.gold) : 0.0;
  // score = 2 * p * r / (p + r) if p + r > 0 else 0  (seqeval 1.x: (1 + 1) * p * r / (p + r))
  const double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  return {{"f1", f1 * 100}, {"precision", p * 100}, {"recall", r * 100}};
}

// ---- extractive QA -----------------------------------------------------------------------------

AnswerNormalizer AnswerNormalizer::squad() {
  return AnswerNormalizer(false, "en");
}

bool AnswerNormalizer::mlqa_supports(const std::string& lang) {
  static const char* const kLangs[] = {"en", "es", "hi", "vi", "de", "ar", "zh"};
  return std::any_of(std::begin(kLangs), std::end(kLangs),
                     [&](const char* l) { return lang == l; });
}

AnswerNormalizer AnswerNormalizer::mlqa(const std::string& lang) {
  if (!mlqa_supports(lang))
    throw ConfigError(fmt::format(
        "MLQA answer normalisation: expected a language of evaluate_mlqa.py (en, es, hi, vi, de, "
        "ar, zh), found '{}'",
        lang));
  return AnswerNormalizer(true, lang);
}

std::string AnswerNormalizer::normalize(const std::string& text) const {
  // Both scripts: white_space_fix(remove_articles(remove_punc(lower(s)))).
  const std::u32string lowered = lower_u32(decode_utf8(text));
  std::u32string no_punct;
  no_punct.reserve(lowered.size());
  for (char32_t c : lowered) {
    const bool punct = is_ascii_punctuation(c) || (mlqa_ && is_unicode_punctuation(c));
    if (!punct) no_punct.push_back(c);
  }
  std::u32string no_articles;
  if (!mlqa_ || lang_ == "en" || lang_ == "es" || lang_ == "de" || lang_ == "vi") {
    no_articles = replace_whole_words(no_punct, articles(mlqa_ ? lang_ : "en"));
  } else if (lang_ == "ar") {
    // re.sub("\sال^|ال", " ", text): the first alternative can never match ('^' after two
    // consumed characters), so every "ال" becomes a space, even inside words.
    no_articles = replace_all(no_punct, U"\u0627\u0644");
  } else {
    no_articles = no_punct;  // hi, zh: no articles
  }
  if (mlqa_ && lang_ == "zh") return encode_utf8(join_tokens(mixed_segmentation(no_articles)));
  return encode_utf8(join_tokens(split_u32(no_articles)));
}

std::vector<std::string> AnswerNormalizer::tokens(const std::string& text) const {
  return py_split(normalize(text));
}

double answer_f1(const std::string& prediction, const std::string& gold,
                 const AnswerNormalizer& normalizer) {
  const auto pred_tokens = normalizer.tokens(prediction);
  const auto gold_tokens = normalizer.tokens(gold);
  // common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
  std::map<std::string, int64_t> gold_counts;
  for (const auto& t : gold_tokens) ++gold_counts[t];
  std::map<std::string, int64_t> pred_counts;
  for (const auto& t : pred_tokens) ++pred_counts[t];
  int64_t num_same = 0;
  for (const auto& [token, n] : pred_counts) {
    auto it = gold_counts.find(token);
    if (it != gold_counts.end()) num_same += std::min(n, it->second);
  }
  if (num_same == 0) return 0.0;
  const double precision =
      1.0 * static_cast<double>(num_same) / static_cast<double>(pred_tokens.size());
  const double recall =
      1.0 * static_cast<double>(num_same) / static_cast<double>(gold_tokens.size());
  return (2 * precision * recall) / (precision + recall);
}

bool answer_exact_match(const std::string& prediction, const std::string& gold,
                        const AnswerNormalizer& normalizer) {
  return normalizer.normalize(prediction) == normalizer.normalize(gold);
}

MetricSet qa_metrics(const std::vector<QaQuestion>& questions,
                     const std::map<std::string, std::string>& predictions,
                     const AnswerNormalizer& normalizer, int64_t* unanswered) {
  OT_CHECK(!questions.empty(), "QA scoring needs at least one question");
  int64_t exact_match = 0;
  double f1 = 0.0;
  int64_t missing = 0;
  for (const QaQuestion& q : questions) {
    OT_CHECK(!q.answers.empty(), "question '{}' has no gold answer", q.id);
    auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      ++missing;  // "Unanswered question ... will receive score 0."
      continue;
    }
    // metric_max_over_ground_truths for each metric
    bool best_em = false;
    double best_f1 = 0.0;
    for (size_t k = 0; k < q.answers.size(); ++k) {
      best_em = best_em || answer_exact_match(it->second, q.answers[k], normalizer);
      const double f = answer_f1(it->second, q.answers[k], normalizer);
      best_f1 = k == 0 ? f : std::max(best_f1, f);
    }
    exact_match += best_em ? 1 : 0;
    f1 += best_f1;
  }
  if (unanswered != nullptr) *unanswered = missing;
  const auto total = static_cast<double>(questions.size());
  // exact_match = 100.0 * exact_match / total ; f1 = 100.0 * f1 / total
  return {{"exact_match", 100.0 * static_cast<double>(exact_match) / total},
          {"f1", 100.0 * f1 / total}};
}

// ---- BUCC --------------------------------------------------------------------------------------

MetricSet bucc_metrics(const std::vector<std::string>& gold_pairs,
                       const std::vector<std::string>& predicted_pairs) {
  // Sets of tuple(line.split('\t')); two lines give equal tuples exactly when they are equal.
  const std::set<std::string> gold(gold_pairs.begin(), gold_pairs.end());
  const std::set<std::string> pred(predicted_pairs.begin(), predicted_pairs.end());
  int64_t correct = 0;
  for (const auto& p : pred) correct += gold.count(p) ? 1 : 0;
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  if (correct > 0) {
    precision = static_cast<double>(correct) / static_cast<double>(pred.size());
    recall = static_cast<double>(correct) / static_cast<double>(gold.size());
    f1 = 2 * precision * recall / (precision + recall);
  }
  return {{"f1", f1 * 100}, {"precision", precision * 100}, {"recall", recall * 100}};
}

// ---- Mewsli-X ----------------------------------------------------------------------------------

MetricSet map_at_k_metrics(const std::vector<std::pair<std::string, std::string>>& gold,
                           const std::map<std::string, std::vector<std::string>>& predictions,
                           int k, int64_t* unpredicted) {
  OT_CHECK(k > 0, "k must be positive, got {}", k);
  double sum = 0.0;
  int64_t missing = 0;
  for (const auto& [id, entity] : gold) {
    const std::string gold_entity = py_strip(entity);  // labels[0].strip()
    auto it = predictions.find(id);
    if (it == predictions.end()) {
      ++missing;  // predictions.get(example_id, []): reciprocal rank 0
      continue;
    }
    const auto& ranked = it->second;
    const size_t top = std::min(ranked.size(), static_cast<size_t>(k));
    double rr = 0.0;
    for (size_t r = 0; r < top; ++r) {
      if (ranked[r] == gold_entity) {
        rr = 1.0 / static_cast<double>(r + 1);
        break;
      }
    }
    sum += rr;
  }
  if (unpredicted != nullptr) *unpredicted = missing;
  const double mrr = gold.empty() ? 0.0 : sum / static_cast<double>(gold.size());
  return {{"map@20", mrr * 100}};
}

// ---- aggregation -------------------------------------------------------------------------------

MetricSet average_over_languages(const std::vector<MetricSet>& per_language) {
  OT_CHECK(!per_language.empty(), "averaging needs at least one language");
  MetricSet out;
  for (const MetricValue& m : per_language.front()) {
    double sum = 0.0;
    for (const MetricSet& lang : per_language) sum += metric_value(lang, m.name);
    out.push_back({m.name, sum / static_cast<double>(per_language.size())});
  }
  return out;
}

double task_score(const MetricSet& averaged) {
  if (has_metric(averaged, "exact_match"))
    return (metric_value(averaged, "exact_match") + metric_value(averaged, "f1")) / 2;
  if (has_metric(averaged, "f1")) return metric_value(averaged, "f1");
  if (has_metric(averaged, "accuracy")) return metric_value(averaged, "accuracy");
  return metric_value(averaged, "map@20");
}

double mean_score(const std::vector<double>& scores) {
  OT_CHECK(!scores.empty(), "a mean needs at least one score");
  double sum = 0.0;
  for (double s : scores) sum += s;
  return sum / static_cast<double>(scores.size());
}

bool py_isalnum(char32_t c) {
  return unicode::is_alnum(c);
}
bool is_unicode_punctuation(char32_t c) {
  return unicode::is_punctuation(c);
}

}  // namespace ordertune

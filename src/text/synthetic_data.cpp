// synthetic_data — every file a study config reads, synthetic, at the real sizes (see the
// header). Parts: the size table; the made-up languages (a script and a vocabulary each); a
// streaming file writer; one writer per file format, each writing what that format's reader
// (src/data/readers_*.cpp) reads, hidden test labels included where xtreme's download hides them.
#include "ordertune/text/synthetic_data.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/utf8.h"
#include "ordertune/data/task_reader.h"
#include "ordertune/text/demo/rng.h"

namespace ordertune {
namespace {

namespace fs = std::filesystem;
using demo::Rng;
using nlohmann::json;

constexpr const char* kStamp = ".ordertune-synthetic";
constexpr int64_t kMinExamples = 4;

// ---- the sizes ------------------------------------------------------------------------------
// Published split sizes: the datasets' papers and the files jiant and xtreme's download_data.sh
// produce. SQuAD-format tasks count questions. Where a size differs by language (UD-POS, PAN-X,
// Mewsli-X) a round typical value is used for every language, PAN-X its largest (10,000).

struct Sizes {
  int64_t train = 0, dev = 0, test = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> by_language;  // lang -> (dev, test)
};

const std::map<std::string, Sizes>& size_table() {
  static const std::map<std::string, Sizes> table = {
      {"mnli", {392702, 9815, 9796, {}}},
      {"qqp", {363846, 40430, 390965, {}}},
      {"snli", {550152, 10000, 10000, {}}},
      {"anli_r1", {16946, 1000, 1000, {}}},
      {"anli_r2", {45460, 1000, 1000, {}}},
      {"anli_r3", {100459, 1200, 1200, {}}},
      {"commonsenseqa", {9741, 1221, 1140, {}}},
      {"cosmosqa", {25262, 2985, 6963, {}}},
      {"hellaswag", {39905, 10042, 10003, {}}},
      {"socialiqa", {33410, 1954, 0, {}}},
      {"ccg", {39604, 1913, 2407, {}}},  // CCGbank sections 02-21 / 00 / 23
      {"squad_v1", {87599, 10570, 0, {}}},
      {"squad_v2", {130319, 11873, 0, {}}},
      {"mlm", {100000, 1000, 0, {}}},
      {"xnli", {392702, 2490, 5010, {}}},
      {"pawsx", {49401, 2000, 2000, {}}},
      {"xcopa", {400, 100, 500, {}}},
      {"udpos", {21253, 2000, 3000, {}}},
      {"panx", {20000, 10000, 10000, {}}},
      {"xquad", {0, 0, 1190, {}}},
      {"mlqa",
       {0,
        0,
        0,
        {{"en", {1148, 11590}},
         {"ar", {517, 5335}},
         {"de", {512, 4517}},
         {"es", {500, 5253}},
         {"hi", {507, 4918}},
         {"vi", {511, 5495}},
         {"zh", {504, 5137}}}}},
      {"tydiqa",
       {3696,
        0,
        0,
        {{"ar", {0, 921}},
         {"bn", {0, 113}},
         {"en", {0, 440}},
         {"fi", {0, 782}},
         {"id", {0, 565}},
         {"ko", {0, 276}},
         {"ru", {0, 812}},
         {"sw", {0, 499}},
         {"te", {0, 669}}}}},
      {"tatoeba", {0, 0, 1000, {}}},
      {"mewslix", {115000, 1000, 4000, {}}},
      {"lareqa", {87599, 0, 1190, {}}},  // trains on SQuAD v1.1; xquad-r's 1,190 per language
  };
  return table;
}

constexpr int64_t kMewslixCandidates = 1000000;

// ---- made-up languages ------------------------------------------------------------------------

struct Script {
  std::vector<std::string> syllables;
  bool spaces = true;  // false: words run together (Chinese, Japanese, Thai)
  std::string full_stop = ".";
};

void add_range(std::vector<std::string>* out, char32_t first, char32_t last) {
  for (char32_t c = first; c <= last; ++c) out->push_back(encode_utf8(std::u32string(1, c)));
}

// Consonant + vowel-sign syllables of an abugida (Devanagari, Tamil, ...).
std::vector<std::string> abugida(char32_t c0, char32_t c1, char32_t v0, char32_t v1) {
  std::vector<std::string> out;
  for (char32_t c = c0; c <= c1; c += 2)
    for (char32_t v = v0; v <= v1; v += 3) out.push_back(encode_utf8(std::u32string{c, v}));
  add_range(&out, c0, c1);
  return out;
}

std::vector<std::string> latin(const std::string& extra_vowels) {
  std::vector<std::string> out;
  std::vector<std::string> vowels = {"a", "e", "i", "o", "u"};
  for (size_t i = 0; i < extra_vowels.size(); i = next_codepoint(extra_vowels, i))
    vowels.push_back(extra_vowels.substr(i, next_codepoint(extra_vowels, i) - i));
  for (char c : std::string("bcdfghjklmnprstvwz"))
    for (const std::string& v : vowels) out.push_back(std::string(1, c) + v);
  for (const std::string& v : vowels) out.push_back(v + "n");
  return out;
}

Script script_for(const std::string& lang) {
  Script s;
  static const std::map<std::string, std::string> diacritics = {
      {"de", "äöü"}, {"fr", "éèê"}, {"es", "áéñ"}, {"pt", "ãçé"}, {"tr", "ıöüş"}, {"vi", "ăâêôơư"},
      {"pl", "ąęó"}, {"ro", "ăâî"}, {"et", "äõü"}, {"fi", "äö"},  {"hu", "áéő"},  {"lt", "ąėū"},
      {"az", "əğı"}, {"yo", "ẹọ"},  {"ht", "è"},   {"qu", "ñ"},   {"it", "àè"},   {"nl", "ë"}};
  if (lang == "ru" || lang == "bg" || lang == "uk" || lang == "kk") {
    add_range(&s.syllables, U'\u0430', U'\u044F');
  } else if (lang == "el") {
    add_range(&s.syllables, U'\u03B1', U'\u03C9');
  } else if (lang == "ar" || lang == "fa" || lang == "ur") {
    add_range(&s.syllables, U'\u0628', U'\u064A');
  } else if (lang == "he") {
    add_range(&s.syllables, U'\u05D0', U'\u05EA');
  } else if (lang == "hi" || lang == "mr") {
    s.syllables = abugida(U'\u0915', U'\u0939', U'\u093E', U'\u094C');
    s.full_stop = "\u0964";
  } else if (lang == "bn") {
    s.syllables = abugida(U'\u0995', U'\u09A8', U'\u09BE', U'\u09C0');
    s.full_stop = "\u0964";
  } else if (lang == "ta") {
    s.syllables = abugida(U'\u0B95', U'\u0BA9', U'\u0BBE', U'\u0BC2');
  } else if (lang == "te") {
    s.syllables = abugida(U'\u0C15', U'\u0C28', U'\u0C3E', U'\u0C44');
  } else if (lang == "ml") {
    s.syllables = abugida(U'\u0D15', U'\u0D28', U'\u0D3E', U'\u0D44');
  } else if (lang == "gu") {
    s.syllables = abugida(U'\u0A95', U'\u0AA8', U'\u0ABE', U'\u0AC4');
  } else if (lang == "pa") {
    s.syllables = abugida(U'\u0A15', U'\u0A28', U'\u0A3E', U'\u0A42');
  } else if (lang == "th") {
    s.syllables = abugida(U'\u0E01', U'\u0E2E', U'\u0E30', U'\u0E39');
    s.spaces = false;
    s.full_stop = " ";
  } else if (lang == "my") {
    s.syllables = abugida(U'\u1000', U'\u1021', U'\u102B', U'\u1032');
    s.full_stop = "\u104B";
  } else if (lang == "ka") {
    add_range(&s.syllables, U'\u10D0', U'\u10F0');
  } else if (lang == "ko") {
    for (char32_t c = U'\uAC00'; c <= U'\uD7A3'; c += 37) add_range(&s.syllables, c, c);
  } else if (lang == "zh" || lang == "ja") {
    for (char32_t c = U'\u4E00'; c <= U'\u9FA5'; c += 7) add_range(&s.syllables, c, c);
    if (lang == "ja") add_range(&s.syllables, U'\u3041', U'\u3093');
    s.spaces = false;
    s.full_stop = "\u3002";
  } else {
    const auto it = diacritics.find(lang);
    s.syllables = latin(it == diacritics.end() ? "" : it->second);
  }
  return s;
}

// A language: its script and a fixed vocabulary of made-up words (its own constant seed).
struct Language {
  std::string code;
  Script script;
  std::vector<std::string> words;

  explicit Language(const std::string& lang) : code(lang), script(script_for(lang)) {
    Rng rng(0x5EED, "synthetic-vocabulary/" + lang);
    constexpr int kVocabulary = 6000;
    const int max_syllables = script.spaces ? 4 : 2;
    std::set<std::string> seen;
    while (static_cast<int>(words.size()) < kVocabulary) {
      std::string w;
      const int n = 1 + rng.below(max_syllables);
      for (int k = 0; k < n; ++k) w += rng.pick(script.syllables);
      if (seen.insert(w).second) words.push_back(w);
    }
  }

  // A word drawn with a skewed frequency: a few words are common, most are rare.
  const std::string& word(Rng& rng) const {
    const int tier = rng.below(100);
    const int n = static_cast<int>(words.size());
    const int range = tier < 55 ? 60 : tier < 85 ? 600 : n;
    return words[static_cast<size_t>(rng.below(range))];
  }
};

const Language& language(const std::string& code) {
  static std::map<std::string, std::unique_ptr<Language>> languages;
  auto& slot = languages[code];
  if (!slot) slot = std::make_unique<Language>(code);
  return *slot;
}

int64_t codepoints(const std::string& s) {
  return byte_to_codepoint_offset(s, s.size());
}

// About `mean` words (from mean/2 to 3*mean/2).
int length_near(Rng& rng, int mean) {
  return std::max(1, mean / 2 + rng.below(mean + 1));
}

std::vector<std::string> words_of(const Language& lang, Rng& rng, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(lang.word(rng));
  return out;
}

std::string join_words(const Language& lang, const std::vector<std::string>& words, size_t begin,
                       size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (i > begin && lang.script.spaces) out += ' ';
    out += words[i];
  }
  return out;
}

// A sentence of about `mean` words, with its full stop.
std::string sentence(const Language& lang, Rng& rng, int mean) {
  const std::vector<std::string> w = words_of(lang, rng, length_near(rng, mean));
  return join_words(lang, w, 0, w.size()) + lang.script.full_stop;
}

// A passage of sentences: its text, each sentence's code point span, and where each word is, so
// that answers and mentions are spans of whole words.
struct Passage {
  struct Word {
    int64_t codepoint = 0;  // start, in code points
    size_t byte = 0, bytes = 0;
    size_t sentence = 0;
  };
  std::string text;
  std::vector<std::pair<int64_t, int64_t>> sentences;  // code points, [start, end)
  std::vector<Word> words;
};

struct Span {
  int64_t start = 0;  // code points
  int64_t length = 0;
  std::string text;
};

Passage passage(const Language& lang, Rng& rng, int sentences, int words_per_sentence) {
  Passage p;
  int64_t cp = 0;
  for (int s = 0; s < sentences; ++s) {
    if (s > 0) {
      p.text += ' ';
      ++cp;
    }
    const int64_t start = cp;
    const std::vector<std::string> w = words_of(lang, rng, length_near(rng, words_per_sentence));
    for (size_t k = 0; k < w.size(); ++k) {
      if (k > 0 && lang.script.spaces) {
        p.text += ' ';
        ++cp;
      }
      p.words.push_back({cp, p.text.size(), w[k].size(), static_cast<size_t>(s)});
      p.text += w[k];
      cp += codepoints(w[k]);
    }
    p.text += lang.script.full_stop;
    cp += codepoints(lang.script.full_stop);
    p.sentences.emplace_back(start, cp);
  }
  return p;
}

// Up to `n` consecutive words of one sentence of the passage (a random one).
Span word_span(const Passage& p, Rng& rng, int n) {
  const auto& w = p.words;
  size_t first = static_cast<size_t>(rng.below(static_cast<int>(w.size())));
  size_t last = first;
  while (last + 1 < w.size() && last + 1 < first + static_cast<size_t>(n) &&
         w[last + 1].sentence == w[first].sentence)
    ++last;
  Span s;
  s.start = w[first].codepoint;
  s.text = p.text.substr(w[first].byte, w[last].byte + w[last].bytes - w[first].byte);
  s.length = codepoints(s.text);
  return s;
}

// ---- files ------------------------------------------------------------------------------------

class Out {
 public:
  Out(const fs::path& path, SyntheticSummary* summary) : path_(path), summary_(summary) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      throw DataError(fmt::format("{}: cannot create the folder: {}", path.parent_path().string(),
                                  ec.message()));
    out_.rdbuf()->pubsetbuf(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    out_.open(path, std::ios::binary | std::ios::trunc);
    if (!out_) throw DataError(fmt::format("{}: cannot write", path.string()));
  }
  ~Out() noexcept(false) {
    out_.close();
    if (!out_ && std::uncaught_exceptions() == 0)
      throw DataError(fmt::format("{}: write failed (disk full?)", path_.string()));
    summary_->files += 1;
    summary_->bytes += bytes_;
  }
  Out& operator<<(std::string_view s) {
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
    bytes_ += static_cast<int64_t>(s.size());
    return *this;
  }
  void line(const json& j) { *this << j.dump() << "\n"; }

 private:
  fs::path path_;
  SyntheticSummary* summary_;
  std::vector<char> buffer_ = std::vector<char>(1 << 20);
  std::ofstream out_;
  int64_t bytes_ = 0;
};

// What one (task, split, language) is to hold.
struct Job {
  const TaskSpec* spec = nullptr;
  std::string split, lang;
  fs::path path;
  int64_t count = 0;
  bool hidden = false;  // the download blanks this split's labels
  Rng* rng = nullptr;
  SyntheticSummary* summary = nullptr;
  const Language& language() const { return ordertune::language(lang); }
};

std::string option(const TaskSpec& spec, const std::string& key, const std::string& fallback) {
  const auto it = spec.options.find(key);
  return it == spec.options.end() ? fallback : it->second;
}

// jiant's pair JSONL (field names from the options) and xtreme's TSV (columns from the options).
void write_pairs(const Job& job, int a_words, int b_words) {
  const TaskSpec& spec = *job.spec;
  Out out(job.path, job.summary);
  Rng& rng = *job.rng;
  const bool tsv = spec.format == "tsv";
  const std::string a = option(spec, "text_a", tsv ? "0" : "text_a");
  const std::string b = option(spec, "text_b", tsv ? "1" : "text_b");
  const std::string label = option(spec, "label", tsv ? "2" : "label");
  const std::string id = option(spec, "id", "");
  for (int64_t i = 0; i < job.count; ++i) {
    const std::string ta = sentence(job.language(), rng, a_words);
    const std::string tb = sentence(job.language(), rng, b_words);
    const std::string& l = rng.pick(spec.labels);
    if (tsv) {  // xtreme's test files have the two sentences only
      out << ta << "\t" << tb;
      if (!job.hidden) out << "\t" << l;
      out << "\n";
      continue;
    }
    json j;
    j[a] = ta;
    j[b] = tb;
    if (job.hidden)
      j[label] = -1;  // HF datasets' hidden-label mark, as jiant's MNLI test keeps it
    else
      j[label] = l;
    if (!id.empty()) j[id] = i;
    out.line(j);
  }
  job.summary->examples += job.count;
}

struct QaShape {
  int sentences = 5, words = 24, questions = 5, question_words = 10, answer_words = 3;
  double impossible = 0;  // SQuAD 2.0: share of unanswerable questions
};

// SQuAD JSON (jiant's SQuAD, xtreme's XQuAD, MLQA, TyDiQA-GoldP, XQuAD-R with sentence breaks),
// written as a stream. Question ids are "<task>-<paragraph>-<k>" in every language, so XQuAD-R's
// questions are parallel across its files as the real ones are.
void write_squad(const Job& job, const QaShape& shape, bool sentence_breaks) {
  Out out(job.path, job.summary);
  Rng& rng = *job.rng;
  const Language& lang = job.language();
  out << "{\"version\": \"1.1\", \"data\": [";
  const int64_t paragraphs = (job.count + shape.questions - 1) / shape.questions;
  constexpr int64_t kParagraphsPerArticle = 5;
  int64_t written = 0;
  for (int64_t p = 0; p < paragraphs; ++p) {
    if (p % kParagraphsPerArticle == 0)
      out << (p ? "]}, " : "") << "{\"title\": "
          << json(fmt::format("{}_{}", job.spec->name, p / kParagraphsPerArticle)).dump()
          << ", \"paragraphs\": [";
    else
      out << ", ";
    const Passage context = passage(lang, rng, shape.sentences, shape.words);
    json para;
    para["context"] = context.text;
    if (sentence_breaks) {
      json breaks = json::array();
      for (const auto& [s, e] : context.sentences) breaks.push_back({s, e});
      para["sentence_breaks"] = breaks;
    }
    json qas = json::array();
    for (int k = 0; k < shape.questions && written < job.count; ++k, ++written) {
      const Span answer = word_span(context, rng, shape.answer_words);  // whole words
      json qa;
      qa["id"] = fmt::format("{}-{}-{}", job.spec->name, p, k);
      qa["question"] = sentence(lang, rng, shape.question_words);
      const bool impossible = shape.impossible > 0 && rng.chance(shape.impossible);
      if (impossible) {
        qa["is_impossible"] = true;
        qa["answers"] = json::array();
      } else if (job.hidden) {
        qa["answers"] = json::array({json{{"answer_start", 0}, {"text", ""}}});
      } else {
        qa["answers"] = json::array({json{{"answer_start", answer.start}, {"text", answer.text}}});
        if (shape.impossible > 0) qa["is_impossible"] = false;
      }
      qas.push_back(qa);
    }
    para["qas"] = qas;
    out << para.dump();
  }
  out << (paragraphs ? "]}" : "") << "]}\n";
  job.summary->examples += job.count;
}

void write_multiple_choice(const Job& job) {
  const TaskSpec& spec = *job.spec;
  Out out(job.path, job.summary);
  Rng& rng = *job.rng;
  const Language& lang = job.language();
  for (int64_t i = 0; i < job.count; ++i) {
    json j;
    if (spec.format == "hellaswag_jsonl") {
      const std::string hf_split = job.split == kSplitDev ? "val" : job.split;
      j["ind"] = i;
      j["activity_label"] = sentence(lang, rng, 2);
      j["ctx_a"] = sentence(lang, rng, 25);
      j["ctx_b"] = join_words(lang, words_of(lang, rng, 2), 0, 2);
      j["ctx"] = j["ctx_a"].get<std::string>() + " " + j["ctx_b"].get<std::string>();
      json endings = json::array();
      for (int k = 0; k < 4; ++k) endings.push_back(sentence(lang, rng, 14));
      j["endings"] = endings;
      j["source_id"] = fmt::format("synthetic~{}", i);
      j["split"] = hf_split;
      j["split_type"] = "indomain";
      j["label"] = job.hidden ? std::string() : std::to_string(rng.below(4));
    } else if (spec.format == "commonsenseqa_jsonl") {
      json choices = json::array();
      for (int k = 0; k < 5; ++k)
        choices.push_back({{"label", std::string(1, static_cast<char>('A' + k))},
                           {"text", join_words(lang, words_of(lang, rng, 2), 0, 2)}});
      j["id"] = fmt::format("csqa-{}-{}", job.split, i);
      j["question"] = {{"question_concept", lang.word(rng)},
                       {"choices", choices},
                       {"stem", sentence(lang, rng, 13)}};
      if (!job.hidden) j["answerKey"] = std::string(1, static_cast<char>('A' + rng.below(5)));
    } else if (spec.format == "cosmosqa_jsonl") {
      j["id"] = fmt::format("cosmos-{}-{}", job.split, i);
      j["context"] = passage(lang, rng, 4, 18).text;
      j["question"] = sentence(lang, rng, 10);
      for (int k = 0; k < 4; ++k) j[fmt::format("answer{}", k)] = sentence(lang, rng, 9);
      if (!job.hidden) j["label"] = rng.below(4);
    } else if (spec.format == "socialiqa_jsonl") {
      j["context"] = sentence(lang, rng, 15);
      j["question"] = sentence(lang, rng, 7);
      for (const char* key : {"answerA", "answerB", "answerC"})
        j[key] = join_words(lang, words_of(lang, rng, 3), 0, 3);
      if (!job.hidden) j["label"] = std::to_string(1 + rng.below(3)) + "\n";
    } else if (spec.format == "xcopa_jsonl") {
      j["premise"] = sentence(lang, rng, 7);
      j["choice1"] = sentence(lang, rng, 6);
      j["choice2"] = sentence(lang, rng, 6);
      j["question"] = rng.chance(0.5) ? "cause" : "effect";
      j["label"] = job.hidden ? 0 : rng.below(2);  // xcopa_preprocess sets test labels to 0
      j["idx"] = i + 1;
      j["changed"] = false;
    }
    out.line(j);
  }
  job.summary->examples += job.count;
}

// The CCG supertags and PAN-X's IOB2 spans; UD-POS draws from the registry's label set.
const std::vector<std::string>& ccg_tags() {
  static const std::vector<std::string> tags = [] {
    std::vector<std::string> t = {"N",
                                  "NP",
                                  "N/N",
                                  "NP[nb]/N",
                                  ",",
                                  ".",
                                  "conj",
                                  "PP/NP",
                                  "(NP\\NP)/NP",
                                  "(S[dcl]\\NP)/NP",
                                  "(S\\NP)\\(S\\NP)",
                                  "S[adj]\\NP",
                                  "(S[b]\\NP)/NP",
                                  "(S[dcl]\\NP)/(S[b]\\NP)",
                                  "((S\\NP)\\(S\\NP))/NP",
                                  "N[num]",
                                  "(N/N)/(N/N)",
                                  "S[dcl]\\NP",
                                  "(S[to]\\NP)/(S[b]\\NP)",
                                  "(S[pss]\\NP)/PP",
                                  "NP\\NP"};
    return t;
  }();
  return tags;
}

void write_tagging(const Job& job, int words) {
  const TaskSpec& spec = *job.spec;
  Out out(job.path, job.summary);
  Rng& rng = *job.rng;
  const Language& lang = job.language();
  const bool ccg = spec.format == "jiant_ccg";
  const bool iob = std::find(spec.labels.begin(), spec.labels.end(), "O") != spec.labels.end();
  for (int64_t i = 0; i < job.count; ++i) {
    const std::vector<std::string> w = words_of(lang, rng, length_near(rng, words));
    std::vector<std::string> tags;
    for (size_t k = 0; k < w.size(); ++k) {
      if (ccg) {
        tags.push_back(rng.pick(ccg_tags()));
      } else if (iob) {
        static const std::vector<std::string> kinds = {"PER", "ORG", "LOC"};
        const bool inside = !tags.empty() && tags.back() != "O" && rng.chance(0.5);
        tags.push_back(inside            ? "I-" + tags.back().substr(2)
                       : rng.chance(0.2) ? "B-" + rng.pick(kinds)
                                         : "O");
      } else {
        tags.push_back(rng.pick(spec.labels));
      }
    }
    if (ccg) {
      out << join_words(language("en"), w, 0, w.size());
      if (!job.hidden) out << "\t" << join_words(language("en"), tags, 0, tags.size());
      out << "\n";
      continue;
    }
    for (size_t k = 0; k < w.size(); ++k) {
      out << w[k];
      if (!job.hidden) out << "\t" << tags[k];
      out << "\n";
    }
    out << "\n";
  }
  job.summary->examples += job.count;
}

// Tatoeba: the non-English side at the split's path, English beside it (options'
// target_extension); xtreme's download sorts the English side (its gold "none"), LASER's
// release keeps the alignment.
void write_tatoeba(const Job& job) {
  Rng& rng = *job.rng;
  std::vector<std::string> source, english;
  for (int64_t i = 0; i < job.count; ++i) {
    source.push_back(sentence(job.language(), rng, 8));
    english.push_back(sentence(language("en"), rng, 8));
  }
  if (option(*job.spec, "gold", "same_line") == "none") std::sort(english.begin(), english.end());
  fs::path english_path = job.path;
  english_path.replace_extension("." + option(*job.spec, "target_extension", "en"));
  {
    Out out(job.path, job.summary);
    for (const std::string& s : source) out << s << "\n";
  }
  Out out(english_path, job.summary);
  for (const std::string& s : english) out << s << "\n";
  job.summary->examples += job.count;
}

json spans_json(const std::vector<std::pair<int64_t, int64_t>>& spans) {
  json out = json::array();
  for (const auto& [s, e] : spans) out.push_back({{"start", s}, {"end", e}});
  return out;
}

json entity_json(Rng& rng, int64_t id) {
  const std::string lang =
      rng.chance(0.8) ? "en" : rng.pick(std::vector<std::string>{"de", "es", "ar", "ja"});
  const Passage d = passage(language(lang), rng, 2, 16);
  const std::string title = join_words(language(lang), words_of(language(lang), rng, 2), 0, 2);
  return {{"entity_id", fmt::format("Q{}", id)},
          {"title", title},
          {"description", d.text},
          {"sentence_spans", spans_json(d.sentences)},
          {"description_language", lang},
          {"description_url", fmt::format("https://{}.wikipedia.org/wiki/Q{}", lang, id)}};
}

json mention_context(const Language& lang, const Passage& p, const std::string& id) {
  return {{"document_title", id}, {"document_url", "https://example.org/" + id},
          {"document_id", id},    {"language", lang.code},
          {"text", p.text},       {"sentence_spans", spans_json(p.sentences)}};
}

json mention_json(const Span& m, const std::string& id, const std::string& entity) {
  return {{"example_id", id},
          {"mention_span", {{"start", m.start}, {"end", m.start + m.length}, {"text", m.text}}},
          {"entity_id", entity}};
}

// Mewsli-X: training pairs (mention in context + its entity); WikiNews mentions, one document
// per line with its mentions, matched against ../candidate_set_entities.jsonl (written once).
void write_mewslix(const Job& job, int64_t candidates, std::set<fs::path>* written) {
  Rng& rng = *job.rng;
  const Language& lang = job.language();
  if (job.split == kSplitTrain) {
    Out out(job.path, job.summary);
    for (int64_t i = 0; i < job.count; ++i) {
      const Passage p = passage(lang, rng, 1, 22);
      const std::string id = fmt::format("pair-{}", i);
      const int64_t entity = 1 + rng.below(static_cast<int>(candidates));
      out.line({{"contextual_mention",
                 {{"context", mention_context(lang, p, id)},
                  {"mention", mention_json(word_span(p, rng, 2), id, fmt::format("Q{}", entity))}}},
                {"entity", entity_json(rng, entity)}});
    }
    job.summary->examples += job.count;
    return;
  }
  const fs::path set_path = job.path.parent_path().parent_path() / "candidate_set_entities.jsonl";
  if (written->insert(set_path).second) {
    Rng set_rng(0x5EED, "mewslix-candidates");
    Out out(set_path, job.summary);
    for (int64_t id = 1; id <= candidates; ++id) out.line(entity_json(set_rng, id));
    job.summary->examples += candidates;
  }
  Out out(job.path, job.summary);
  for (int64_t i = 0; i < job.count; i += 3) {  // three mentions per document, one a sentence
    std::string text;
    std::vector<std::pair<int64_t, int64_t>> sentences;
    json mentions = json::array();
    for (int64_t k = 0; k < 3 && i + k < job.count; ++k) {
      const Passage s = passage(lang, rng, 1, 20);
      const int64_t shift = text.empty() ? 0 : codepoints(text) + 1;
      if (!text.empty()) text += ' ';
      text += s.text;
      sentences.emplace_back(shift + s.sentences[0].first, shift + s.sentences[0].second);
      Span m = word_span(s, rng, 1 + rng.below(2));
      m.start += shift;
      const std::string entity =
          job.hidden ? std::string()
                     : fmt::format("Q{}", 1 + rng.below(static_cast<int>(candidates)));
      mentions.push_back(
          mention_json(m, fmt::format("{}-{}-{}", job.lang, job.split, i + k), entity));
    }
    Passage doc;
    doc.text = text;
    doc.sentences = sentences;
    out.line({{"context", mention_context(lang, doc, fmt::format("wn-{}-{}", job.lang, i))},
              {"mentions", mentions}});
  }
  job.summary->examples += job.count;
}

void write_mlm(const Job& job) {
  Out out(job.path, job.summary);
  for (int64_t i = 0; i < job.count; ++i) {
    if (job.spec->format == "jsonl")
      out.line(
          {{option(*job.spec, "text", "text"), passage(job.language(), *job.rng, 3, 18).text}});
    else
      out << passage(job.language(), *job.rng, 3, 18).text << "\n";
  }
  job.summary->examples += job.count;
}

// ---- the tasks ------------------------------------------------------------------------------

// Test splits whose labels xtreme's download removes (utils_preprocess.py), jiant's exported
// test splits, and COPA/XCOPA's zeroed test labels; a gold release keeps them.
bool hidden_split(const SweepConfig& config, const TaskSpec& spec, const std::string& split) {
  if (split != kSplitTest) return false;
  if (!spec.gold.test_path.empty() && !config.target_options_for(spec.name).gold.empty())
    return false;
  static const std::set<std::string> kept = {"lareqa", "tatoeba", "bucc2018"};
  return kept.count(spec.name) == 0;
}

int64_t scaled(int64_t count, double fraction) {
  if (count <= 0) return 0;
  return std::max(kMinExamples,
                  static_cast<int64_t>(std::llround(static_cast<double>(count) * fraction)));
}

void write_job(const Job& job, double fraction, std::set<fs::path>* written) {
  const std::string& f = job.spec->format;
  const std::string& name = job.spec->name;
  if (f == "jiant_pair_jsonl" || f == "tsv") {
    const bool anli = name.rfind("anli", 0) == 0;
    write_pairs(job,
                anli             ? 55
                : name == "snli" ? 13
                : name == "qqp"  ? 11
                                 : 20,
                anli             ? 10
                : name == "snli" ? 7
                : name == "qqp"  ? 11
                                 : 10);
  } else if (f == "squad_json" || f == "xtreme_squad_json") {
    QaShape shape;
    if (name == "squad_v2") shape.impossible = job.split == kSplitTrain ? 0.33 : 0.5;
    if (name == "tydiqa") shape = {4, 22, 1, 8, 2, 0};
    write_squad(job, shape, false);
  } else if (f == "lareqa") {
    write_squad(job, QaShape{}, job.split != kSplitTrain);
  } else if (f == "hellaswag_jsonl" || f == "commonsenseqa_jsonl" || f == "cosmosqa_jsonl" ||
             f == "socialiqa_jsonl" || f == "xcopa_jsonl") {
    write_multiple_choice(job);
  } else if (f == "jiant_ccg" || f == "conll") {
    write_tagging(job, f == "jiant_ccg" ? 24 : name == "panx" ? 8 : 17);
  } else if (f == "tatoeba") {
    write_tatoeba(job);
  } else if (f == "mewslix") {
    write_mewslix(job, scaled(kMewslixCandidates, fraction), written);
  } else if (f == "text" || f == "jsonl") {
    write_mlm(job);
  } else {
    throw ConfigError(
        fmt::format("tasks.{}: the synthetic generator writes no '{}' files", name, f));
  }
}

// A folder the generator may write into: new, empty, or stamped as its own.
void claim_folder(const fs::path& folder, const std::string& what) {
  std::error_code ec;
  if (fs::exists(folder, ec) && !fs::is_empty(folder, ec) && !fs::exists(folder / kStamp, ec))
    throw ConfigError(fmt::format(
        "{}: expected a new or empty folder for --synthetic, found {} holding files it did not "
        "write (real data is never overwritten)",
        what, folder.string()));
  fs::create_directories(folder, ec);
  if (ec)
    throw DataError(fmt::format("{}: cannot create the folder: {}", folder.string(), ec.message()));
  std::ofstream(folder / kStamp) << "written by ordertune-prepare --synthetic\n";
}

}  // namespace

double parse_synthetic_scale(const std::string& text) {
  if (text == "real") return 1.0;
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(v > 0 && v <= 1))
    throw ConfigError(fmt::format(
        "--synthetic: expected \"real\" or a fraction of the real sizes in (0, 1], found '{}'",
        text));
  return v;
}

int64_t real_split_size(const std::string& task, const std::string& split,
                        const std::string& language) {
  const auto& table = size_table();
  const auto it = table.find(task);
  if (it == table.end())
    throw ConfigError(fmt::format(
        "tasks.{}: the synthetic generator knows the real sizes of the built-in tasks only", task));
  const Sizes& s = it->second;
  if (split == "candidates") return task == "mewslix" ? kMewslixCandidates : 0;
  if (split == kSplitTrain) return s.train;
  const auto lang = s.by_language.find(language);
  if (lang != s.by_language.end())
    return split == kSplitDev ? lang->second.first : lang->second.second;
  return split == kSplitDev ? s.dev : split == kSplitTest ? s.test : 0;
}

SyntheticSummary generate_synthetic_data(const SweepConfig& config,
                                         const SyntheticOptions& options) {
  if (!(options.fraction > 0 && options.fraction <= 1))
    throw ConfigError(
        fmt::format("--synthetic: expected a fraction in (0, 1], found {}", options.fraction));
  SyntheticSummary summary;
  const fs::path root = config.data_root();
  claim_folder(root, "data.root");
  for (const std::string& target : config.targets) {
    const std::string& gold = config.target_options_for(target).gold;
    if (!gold.empty())
      claim_folder(fs::path(config.registry.get(target).paths.at(kSplitTest)).parent_path(),
                   "targets." + target + ".gold");
  }
  std::set<fs::path> written;
  for (const std::string& task : config.tasks_used()) {
    const TaskSpec& spec = config.registry.get(task);
    for (const auto& [split, path_template] : spec.paths) {
      const auto langs = spec.languages.find(split);
      if (langs == spec.languages.end()) continue;
      for (const std::string& lang : langs->second) {
        // ANLI's rounds: one path template, each round its file and its size.
        const fs::path path = task_split_path(spec, split, lang, root);
        for (const auto& [file, round] : round_files(spec, path.string())) {
          Job job;
          job.spec = &spec;
          job.split = split;
          job.lang = lang;
          job.path = file;
          job.count =
              scaled(real_split_size(round.empty() ? task : task + "_r" + round, split, lang),
                     options.fraction);
          if (job.count == 0) continue;
          job.hidden = hidden_split(config, spec, split);
          Rng rng(options.seed, fmt::format("{}/{}/{}/{}", task, split, lang, round));
          job.rng = &rng;
          job.summary = &summary;
          write_job(job, options.fraction, &written);
        }
      }
    }
  }
  return summary;
}

}  // namespace ordertune

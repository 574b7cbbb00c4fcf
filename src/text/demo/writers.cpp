#include "ordertune/text/demo/writers.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"

namespace ordertune::demo {
namespace {

using nlohmann::json;

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace

void SuiteWriter::write(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    throw DataError(fmt::format("{}: cannot create folder for the demo suite: {}",
                                path.parent_path().string(), ec.message()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw DataError(fmt::format("{}: cannot write the demo suite file", path.string()));
  files_.push_back({path, content.size()});
}

std::string option(const TaskSpec& spec, const std::string& key, const std::string& fallback) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? fallback : it->second;
}

[[noreturn]] void unsupported_format(const TaskSpec& spec, const std::string& what) {
  throw ConfigError(fmt::format("tasks.{}.format: the demo generator writes {} as {}, found '{}'",
                                spec.name, choice_name(spec.type), what, spec.format));
}

std::string nli_file(const TaskSpec& spec, const std::vector<NliExample>& examples,
                     const std::string& split) {
  std::string out;
  // jiant's MNLI test split keeps HF datasets' hidden-label mark -1.
  const bool hidden = spec.name == "mnli" && split == kSplitTest;
  if (spec.format == "jiant_pair_jsonl" || spec.format == "jsonl") {
    const std::string a = option(spec, "text_a", "text_a"), b = option(spec, "text_b", "text_b"),
                      label = option(spec, "label", "label"), id = option(spec, "id", "");
    for (size_t i = 0; i < examples.size(); ++i) {
      json j;
      j[a] = examples[i].premise;
      j[b] = examples[i].hypothesis;
      if (hidden)
        j[label] = -1;
      else
        j[label] = examples[i].label;
      if (!id.empty()) j[id] = static_cast<int64_t>(i);
      out += j.dump() + "\n";
    }
  } else if (spec.format == "tsv") {
    // XTREME's processed XNLI: "sentence1<TAB>sentence2<TAB>label", columns from the options.
    const int a = std::stoi(option(spec, "text_a", "0")),
              b = std::stoi(option(spec, "text_b", "1")),
              label = std::stoi(option(spec, "label", "2"));
    const int columns = std::max({a, b, label}) + 1;
    if (option(spec, "header", "false") == "true") {
      std::vector<std::string> header(static_cast<size_t>(columns), "_");
      header[static_cast<size_t>(a)] = "sentence1";
      header[static_cast<size_t>(b)] = "sentence2";
      header[static_cast<size_t>(label)] = "label";
      out += join(header, "\t") + "\n";
    }
    for (const NliExample& ex : examples) {
      std::vector<std::string> cols(static_cast<size_t>(columns), "_");
      cols[static_cast<size_t>(a)] = ex.premise;
      cols[static_cast<size_t>(b)] = ex.hypothesis;
      cols[static_cast<size_t>(label)] = ex.label;
      out += join(cols, "\t") + "\n";
    }
  } else {
    unsupported_format(spec, "jiant_pair_jsonl, jsonl or tsv");
  }
  return out;
}

std::string squad_file(const std::vector<QaParagraph>& paragraphs, const std::string& title) {
  json data = json::array();
  constexpr size_t kParagraphsPerArticle = 5;
  for (size_t i = 0; i < paragraphs.size(); i += kParagraphsPerArticle) {
    json article;
    article["title"] = fmt::format("{}_{}", title, i / kParagraphsPerArticle);
    json ps = json::array();
    for (size_t k = i; k < std::min(paragraphs.size(), i + kParagraphsPerArticle); ++k) {
      json p;
      p["context"] = paragraphs[k].context;
      json qas = json::array();
      for (const QaQuestion& q : paragraphs[k].qas) {
        json answer;
        answer["text"] = q.answer;
        answer["answer_start"] = q.answer_start;
        json qa;
        qa["id"] = q.id;
        qa["question"] = q.question;
        qa["answers"] = json::array({answer});
        qas.push_back(qa);
      }
      p["qas"] = qas;
      ps.push_back(p);
    }
    article["paragraphs"] = ps;
    data.push_back(article);
  }
  json root;
  root["version"] = "1.1";
  root["data"] = data;
  return root.dump() + "\n";
}

std::string hellaswag_file(const std::vector<McExample>& examples, const std::string& split) {
  // HF datasets' HellaSwag as jiant writes it: the test split's label is "".
  const std::string hf_split = split == kSplitDev ? "val" : split;
  std::string out;
  for (size_t i = 0; i < examples.size(); ++i) {
    const McExample& ex = examples[i];
    json j;
    j["ind"] = static_cast<int64_t>(i);
    j["activity_label"] = ex.activity;
    j["ctx_a"] = ex.ctx_a;
    j["ctx_b"] = ex.ctx_b;
    j["ctx"] = ex.ctx_a + " " + ex.ctx_b;
    j["endings"] = ex.endings;
    j["source_id"] = fmt::format("demo~{}~{}", hf_split, i);
    j["split"] = hf_split;
    j["split_type"] = "indomain";
    j["label"] = split == kSplitTest ? std::string() : std::to_string(ex.label);
    out += j.dump() + "\n";
  }
  return out;
}

std::string tagging_file(const TaskSpec& spec, const std::vector<TaggedSentence>& sentences) {
  std::string out;
  if (spec.format == "jiant_ccg") {
    for (const TaggedSentence& s : sentences)
      out += join(s.words, " ") + "\t" + join(s.tags, " ") + "\n";
  } else if (spec.format == "conll") {
    const int word_col = std::stoi(option(spec, "word_column", "0"));
    const int tag_col = std::stoi(option(spec, "tag_column", "1"));
    const int columns = std::max(word_col, tag_col) + 1;
    for (const TaggedSentence& s : sentences) {
      for (size_t i = 0; i < s.words.size(); ++i) {
        std::vector<std::string> cols(static_cast<size_t>(columns), "_");
        cols[static_cast<size_t>(word_col)] = s.words[i];
        cols[static_cast<size_t>(tag_col)] = s.tags[i];
        out += join(cols, "\t") + "\n";
      }
      out += "\n";
    }
  } else {
    unsupported_format(spec, "jiant_ccg or conll");
  }
  return out;
}

std::string lines_file(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string corpus_file(const TaskSpec& spec, const std::vector<std::string>& lines) {
  if (spec.format == "text") return lines_file(lines);
  if (spec.format != "jsonl") unsupported_format(spec, "text or jsonl");
  std::string out;
  for (const auto& l : lines) out += json{{option(spec, "text", "text"), l}}.dump() + "\n";
  return out;
}

void write_tatoeba_pair(const TaskSpec& spec, const std::filesystem::path& path,
                        const std::vector<std::string>& source,
                        const std::vector<std::string>& english, SuiteWriter* w) {
  if (spec.format != "tatoeba") unsupported_format(spec, "tatoeba");
  // The reader's layout: the split's path holds the non-English side, the English side has the
  // extension options.target_extension. Line i translates line i (see the report of
  // generate_demo_data: XTREME sorts the English side, the demo keeps the alignment).
  std::filesystem::path english_path = path;
  english_path.replace_extension("." + option(spec, "target_extension", "en"));
  w->write(path, lines_file(source));
  w->write(english_path, lines_file(english));
}

}  // namespace ordertune::demo

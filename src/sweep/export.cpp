#include "ordertune/sweep/export.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/model/weights.h"
#include "ordertune/sweep/hf_tokenizer.h"
#include "ordertune/sweep/results.h"
#include "ordertune/train/evaluate.h"
#include "ordertune/train/runner.h"

namespace ordertune {

namespace {

std::ofstream open_out(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  if (!out) throw DataError(path.string() + ": cannot write");
  return out;
}

// One (target, language) of a submission from its compact predictions.
void write_submission_file(const std::filesystem::path& dir, const CachedTask& task,
                           const std::string& lang, const SplitFeatures& split,
                           const std::vector<int64_t>& values, const std::vector<float>& scores,
                           double threshold) {
  const bool json = split.type == TaskType::kExtractiveQA ||
                    (split.type == TaskType::kRetrieval && task.metric == Metric::kMap20);
  const std::filesystem::path path = dir / task.name / ("test-" + lang + (json ? ".json" : ".tsv"));
  std::ofstream out = open_out(path);
  switch (split.type) {
    case TaskType::kClassification:
    case TaskType::kMultipleChoice:
      for (int64_t v : values)
        out << (split.type == TaskType::kClassification && v >= 0 &&
                        v < static_cast<int64_t>(task.labels.size())
                    ? task.labels[static_cast<size_t>(v)]
                    : std::to_string(v))
            << '\n';
      break;
    case TaskType::kTagging: {
      std::vector<int32_t> labels(values.begin(), values.end());
      for (const auto& sentence : tag_strings(task, split, labels)) {
        for (const std::string& tag : sentence) out << tag << '\n';
        out << '\n';
      }
      break;
    }
    case TaskType::kExtractiveQA: {
      nlohmann::json j = nlohmann::json::object();
      const std::vector<std::string> answers = answer_strings(split, values);
      for (size_t i = 0; i < split.qa.ids.size(); ++i) j[split.qa.ids[i]] = answers[i];
      out << j.dump(2) << '\n';
      break;
    }
    case TaskType::kRetrieval: {
      const RetrievalFeatures& r = split.retrieval;
      if (task.metric == Metric::kBuccF1) {
        for (size_t i = 0; i < scores.size(); ++i)
          if (values[2 * i] >= 0 && scores[i] >= threshold)
            out << r.query_keys[static_cast<size_t>(values[2 * i])] << '\t'
                << r.candidate_keys[static_cast<size_t>(values[2 * i + 1])] << '\n';
      } else if (task.metric == Metric::kMap20) {
        nlohmann::json j = nlohmann::json::object();
        for (size_t q = 0; q < r.query_keys.size(); ++q) {
          nlohmann::json list = nlohmann::json::array();
          for (int64_t k = 0; k < kRankedCandidates; ++k) {
            const int64_t c = values[q * kRankedCandidates + static_cast<size_t>(k)];
            if (c >= 0) list.push_back(r.candidate_keys[static_cast<size_t>(c)]);
          }
          j[r.query_keys[q]] = list;
        }
        out << j.dump() << '\n';
      } else {
        for (int64_t v : values) out << v << '\n';
      }
      break;
    }
    case TaskType::kMLM:
      break;
  }
  if (!out) throw DataError(path.string() + ": write failed");
}

}  // namespace

void run_export(const ExportOptions& o) {
  if (o.predictions.empty() && o.model.empty())
    throw ConfigError("export: expected --predictions DIR and/or --model DIR, found neither");
  const ResultsReader results(o.results);
  const int64_t node = results.find_order_node(o.replicate, o.order);
  if (node < 0)
    throw ConfigError(o.results.string() + ": expected an order of the sweep for --replicate " +
                      std::to_string(o.replicate) + " --order, found no node '" + o.order + "'");
  if (!o.model.empty()) {
    if (!results.status[static_cast<size_t>(node)])
      throw DataError(o.results.string() + ": order '" + o.order + "' (seed " +
                      std::to_string(o.replicate) + ") is not finished yet");
    // The tokenizer is the data cache's (the one the sweep's ids came from), read before anything
    // is written so that a missing cache leaves no folder without a tokenizer.
    const SweepConfig config =
        parse_config(results.config_text(), o.results.string() + ":/config_text");
    const std::filesystem::path cache_path = config.cache_path();
    const std::string spm_model = CacheReader(cache_path).tokenizer_model();
    const XlmrEncoder e = results.read_encoder(node);
    // Positions after RoBERTa's padding offset: 512 for XLM-R's 514.
    const XlmrConfig& mc = e->config();
    const int64_t max_tokens = mc.max_position_embeddings - mc.pad_token_id - 1;
    save_hf_checkpoint(
        *e, o.model, o.dtype == Precision::kBf16 ? WeightDtype::kBFloat16 : WeightDtype::kFloat32);
    save_hf_tokenizer(spm_model, cache_path.string() + ":/tokenizer/model", max_tokens, o.model);
    log::info("{}: encoder and tokenizer of '{}' (seed {}) written", o.model.string(), o.order,
              o.replicate);
  }
  if (o.predictions.empty()) return;
  const SweepConfig config =
      parse_config(results.config_text(), o.results.string() + ":/config_text");
  TaskData data(config);
  int written = 0, pending = 0;
  for (const auto& row : results.prediction_rows()) {
    const auto leaf = static_cast<size_t>(row.node);
    // Target leaves of this order: kind 2, same replicate, same order; the baseline's leaves
    // hang under the root, one set per replicate.
    if (results.kind[leaf] != 2 || results.parent[leaf] < 0) continue;
    if (results.replicate[leaf] != o.replicate || results.order[leaf] != o.order) continue;
    if (!results.status[leaf]) {
      ++pending;
      continue;
    }
    const std::string& target = results.task[leaf];
    const CachedTask info = data.cache().task(target);
    write_submission_file(
        o.predictions, info, row.language, data.split(target, kSplitTest, row.language),
        results.prediction_values(row), results.prediction_scores(row), row.threshold);
    ++written;
  }
  if (written == 0)
    throw DataError(o.results.string() + ": order '" + o.order + "' (seed " +
                    std::to_string(o.replicate) + ") has no finished target predictions" +
                    (pending ? " yet" : ""));
  log::info("{}: {} prediction files written{}", o.predictions.string(), written,
            pending ? fmt::format(" ({} target(s) not finished)", pending) : std::string());
}

}  // namespace ordertune

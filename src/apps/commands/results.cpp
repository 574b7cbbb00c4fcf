// `ordertune status`, `results` and `export`: reading a results file, running or finished
// (results.h, export.h).
#include <cstdio>
#include <iostream>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/sweep/export.h"
#include "ordertune/sweep/results.h"

namespace ordertune {
namespace {

class StatusCommand : public Command {
 public:
  std::string file;
  int run() override {
    const ResultsSummary r = read_results_summary(file);
    const double elapsed = r.last_end > r.first_start ? r.last_end - r.first_start : 0.0;
    const double rate = r.estimated_done_s > 0 ? elapsed / r.estimated_done_s : 0.0;
    std::printf("%s: sweep '%s': %lld/%lld nodes done (%.0f%% of the estimated work)", file.c_str(),
                r.sweep_name.c_str(), static_cast<long long>(r.done),
                static_cast<long long>(r.nodes),
                r.estimated_total_s > 0 ? 100.0 * r.estimated_done_s / r.estimated_total_s : 0.0);
    if (r.done < r.nodes && rate > 0)
      std::printf("; ETA %.0f s at the pace so far",
                  rate * (r.estimated_total_s - r.estimated_done_s));
    std::printf("%s\n", r.done == r.nodes ? "; finished" : "");
    // Which split each target is scored on (test, or dev where the download hides test labels).
    std::string scored;
    for (const auto& [target, split] : r.target_splits)
      scored += (scored.empty() ? "" : ", ") + target + " on " + split;
    if (!scored.empty()) std::printf("  scored: %s\n", scored.c_str());
    // Started but not done: running now, or interrupted (a re-run continues them).
    for (size_t i = 0; i < r.unfinished_started.size(); ++i)
      std::printf("  started, not done: %s (rank %d)\n", r.unfinished_names[i].c_str(),
                  r.unfinished_ranks[i]);
    return kExitOk;
  }
};

class ResultsCommand : public Command {
 public:
  std::string file, format = "csv";
  int run() override {
    if (format != "csv") throw ConfigError("--format: expected csv, found '" + format + "'");
    write_results_csv(file, std::cout);
    return kExitOk;
  }
};

class ExportCommand : public Command {
 public:
  ExportOptions options;
  std::string results;
  int run() override {
    options.results = results;
    run_export(options);
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> add_status_command(CLI::App& app) {
  auto c = std::make_unique<StatusCommand>();
  c->cli = app.add_subcommand("status", "progress of a running or finished sweep's results file");
  c->cli->add_option("results", c->file, "results file")->required();
  return c;
}

std::unique_ptr<Command> add_results_command(CLI::App& app) {
  auto c = std::make_unique<ResultsCommand>();
  c->cli = app.add_subcommand(
      "results", "print a results file as a table: seed,order,target,language,split,metric,value");
  c->cli->add_option("results", c->file, "results file")->required();
  c->cli->add_option("--format", c->format, "csv (the only format)")->capture_default_str();
  return c;
}

std::unique_ptr<Command> add_export_command(CLI::App& app) {
  auto c = std::make_unique<ExportCommand>();
  ExportOptions& o = c->options;
  c->cli = app.add_subcommand(
      "export",
      "write a finished order's target predictions in the XTREME-R submission layout "
      "(--predictions DIR) and/or its encoder as a Hugging Face directory (--model DIR)");
  c->cli->add_option("--results", c->results, "results file")->required();
  c->cli->add_option("--replicate", o.replicate, "replicate (seed index), as `run --replicate`")
      ->capture_default_str();
  c->cli->add_option("--order", o.order, "stages joined by '>' (\"\" = baseline)");
  c->cli->add_option("--predictions", o.predictions, "output folder for DIR/<task>/test-<lang>.*");
  c->cli->add_option("--model", o.model,
                     "output Hugging Face directory: the encoder (config.json, model.safetensors) "
                     "and the tokenizer (sentencepiece.bpe.model, tokenizer.json, "
                     "tokenizer_config.json) for AutoModel / AutoTokenizer.from_pretrained");
  add_choice(
      c->cli, "--dtype", o.dtype,
      "fp32 | bf16: the weights in --model's model.safetensors (bf16 rounds to nearest even)");
  return c;
}

}  // namespace ordertune

// ordertune-prepare — tokenizes every task a sweep config uses into one HDF5 data cache.
//
// This executable links sentencepiece and never LibTorch (src/DESIGN.md, decision 1):
// Debian's libsentencepiece and LibTorch's libprotobuf crash together at load time.
//
// includes: the prepare pipeline and what it needs to report errors
//   config.h   defines: load_config (TOML -> validated SweepConfig)
//   prepare.h  defines: run_prepare (demo data -> tokenizer -> cache)
//   synthetic_data.h  defines: generate_synthetic_data (--synthetic: files at the real sizes)
//   error.h    defines: Error and its exit codes
#include <csignal>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/config/config.h"
#include "ordertune/text/prepare.h"
#include "ordertune/text/synthetic_data.h"

int main(int argc, char** argv) {
  using namespace ordertune;
  log::set_program("ordertune-prepare");
  std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit fails the write (EFBIG), as a full disk
  CLI::App app{
      "ordertune-prepare: read every task a sweep config uses (raw jiant / XTREME files), "
      "tokenize with the XLM-R sentencepiece tokenizer, and write one HDF5 data cache "
      "(data.cache). Tasks whose inputs did not change are reused; the cache is replaced "
      "atomically. With data.demo = true the synthetic demo suite is generated on first use.",
      "ordertune-prepare"};
  std::string config_path;
  PrepareOptions options;
  bool verbose = false;
  bool check = false;
  app.add_option("--config,-c", config_path, "sweep config (TOML), e.g. configs/demo.toml")
      ->required();
  app.add_flag("--force", options.force, "re-tokenize every task even if up to date");
  app.add_flag("--check", check,
               "write nothing: list per task, split and language what is present, missing or "
               "unreadable and whether it has labels, then the split each target is scored on; "
               "exit 1 if anything is missing or a target could not be scored");
  std::string synthetic;
  app.add_option("--synthetic", synthetic,
                 "write nothing to the cache: instead write synthetic files for every task the "
                 "config reads, where it reads them (data.root, [targets.<task>] gold folders), "
                 "in their real formats at the real datasets' sizes (\"real\") or a fraction of "
                 "them (e.g. 0.01), for benchmarks and tests; refuses folders that hold other "
                 "files")
      ->option_text("real|FRACTION");
  app.add_flag("--verbose,-v", verbose, "debug log lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_for_parse_error(app, e, "ordertune-prepare");
  }
  log::configure(0, verbose ? log::Level::kDebug : log::Level::kInfo);
  try {
    const SweepConfig config = load_config(config_path);
    if (!synthetic.empty()) {
      SyntheticOptions o;
      o.fraction = parse_synthetic_scale(synthetic);
      const SyntheticSummary s = generate_synthetic_data(config, o);
      std::printf("synthetic data written: %lld files, %.1f MB, %lld examples under %s\n",
                  static_cast<long long>(s.files), static_cast<double>(s.bytes) / 1e6,
                  static_cast<long long>(s.examples), config.data_root().string().c_str());
      return kExitOk;
    }
    if (check) {
      std::fflush(stdout);
      const int problems = check_prepare_inputs(config, std::cout);
      std::cout.flush();
      return problems == 0 ? kExitOk : kExitFailure;
    }
    const PrepareSummary summary = run_prepare(config, options);
    std::printf("%s\n", summary.cache.string().c_str());
    return kExitOk;
  } catch (const Error& e) {
    std::fprintf(stderr, "ordertune-prepare: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordertune-prepare: %s\n", e.what());
    return kExitFailure;
  }
}

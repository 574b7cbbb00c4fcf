// command — one `ordertune` subcommand: its options on the command line and what it runs.
//
// Each add_*_command() registers a subcommand (its options bound to the returned object's
// fields) on the application; after parsing, main runs the one the user named. Errors a user
// can cause are typed exceptions (base/error.h); main prints them as one line and exits with
// their code.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "ordertune/base/choice.h"
#include "ordertune/base/error.h"

namespace ordertune {

// A command-line error as one line, "PROGRAM: MESSAGE (see PROGRAM --help)", exit 2 (CLI11's own
// exit() adds a second line); --help and --version print as CLI11 prints them, exit 0.
inline int exit_for_parse_error(const CLI::App& app, const CLI::ParseError& e,
                                const std::string& program) {
  if (e.get_exit_code() == 0) return app.exit(e);
  std::fprintf(stderr, "%s: %s (see %s --help)\n", program.c_str(), e.what(), program.c_str());
  return kExitUsage;
}

class Command {
 public:
  virtual ~Command() = default;
  // Runs the parsed subcommand; returns the exit code.
  virtual int run() = 0;
  CLI::App* cli = nullptr;  // the subcommand (parsed() tells whether the user named it)
};

// An option whose value is one of E's spellings (base/choice.h), parsed into the enum.
template <typename E>
CLI::Option* add_choice(CLI::App* app, const std::string& name, E& value, const std::string& help) {
  std::map<std::string, E> spellings;
  for (const auto& s : ChoiceTraits<E>::spellings) spellings.emplace(s.name, s.value);
  return app->add_option(name, value, help)
      ->transform(CLI::CheckedTransformer(spellings))
      ->default_str(choice_name(value));
}

// The subcommands, in the order `ordertune --help` lists them.
std::unique_ptr<Command> add_prepare_command(CLI::App& app);  // info.cpp (runs ordertune-prepare)
std::unique_ptr<Command> add_config_command(CLI::App& app);   // info.cpp
std::unique_ptr<Command> add_version_command(CLI::App& app);  // info.cpp
std::unique_ptr<Command> add_plan_command(CLI::App& app);     // plan.cpp
std::unique_ptr<Command> add_run_command(CLI::App& app);      // run.cpp
std::unique_ptr<Command> add_sweep_command(CLI::App& app);    // sweep.cpp
std::unique_ptr<Command> add_status_command(CLI::App& app);   // results.cpp
std::unique_ptr<Command> add_results_command(CLI::App& app);  // results.cpp
std::unique_ptr<Command> add_export_command(CLI::App& app);   // results.cpp
std::unique_ptr<Command> add_score_command(CLI::App& app);    // score.cpp
std::unique_ptr<Command> add_forward_command(CLI::App& app);  // forward.cpp
std::unique_ptr<Command> add_bench_command(CLI::App& app);    // bench_cli.cpp

// `ordertune prepare ARGS`: replaces this process with ordertune-prepare ARGS (tokenizing lives
// in its own executable: src/DESIGN.md, decision 1). Returns only on failure.
int exec_prepare(int argc, char** argv, int first_arg);

}  // namespace ordertune

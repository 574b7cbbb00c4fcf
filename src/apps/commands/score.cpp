// `ordertune score`: one task and language of XTREME(-R) submission files, scored as the official
// evaluate.py scores them (submission.h).
#include <iostream>

#include "commands/command.h"
#include "ordertune/scoring/submission.h"

namespace ordertune {
namespace {

class ScoreCommand : public Command {
 public:
  ScoreOptions options;
  int run() override { return run_score(options, std::cout); }
};

}  // namespace

std::unique_ptr<Command> add_score_command(CLI::App& app) {
  auto c = std::make_unique<ScoreCommand>();
  ScoreOptions& o = c->options;
  c->cli = app.add_subcommand(
      "score",
      "score XTREME(-R) submission files of one task and language exactly as the "
      "official evaluate.py; prints one JSON line (percentages, official key names)");
  c->cli
      ->add_option("--task", o.task,
                   "xnli, pawsx, xcopa, udpos, panx, xquad, mlqa, tydiqa, "
                   "bucc2018, tatoeba, mewslix")
      ->required();
  c->cli->add_option("--lang", o.lang, "language code, e.g. de")->required();
  c->cli->add_option("--predictions", o.predictions, "predictions file")->required();
  c->cli->add_option("--labels", o.labels, "gold labels file")->required();
  return c;
}

}  // namespace ordertune

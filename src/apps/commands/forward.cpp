// `ordertune forward`: every layer's hidden states of a checkpoint for lines of token ids, to
// HDF5 (the parity check against a reference implementation; weights.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/model/weights.h"

namespace ordertune {
namespace {

class ForwardCommand : public Command {
 public:
  std::string model, inputs, out;
  int run() override {
    const auto hidden = forward_to_h5(model, inputs, out);
    log::info("{}: hidden_states [{}]", out, fmt::join(hidden.sizes(), ", "));
    return kExitOk;
  }
};

}  // namespace

std::unique_ptr<Command> add_forward_command(CLI::App& app) {
  auto c = std::make_unique<ForwardCommand>();
  c->cli = app.add_subcommand(
      "forward", "write every layer's hidden states of a checkpoint for lines of token ids");
  c->cli->add_option("--model", c->model, "Hugging Face checkpoint directory")->required();
  c->cli->add_option("--inputs", c->inputs, "token ids, one sequence per line")->required();
  c->cli->add_option("--out", c->out, "HDF5: hidden_states [L+1,B,T,H], attention_mask")
      ->required();
  return c;
}

}  // namespace ordertune

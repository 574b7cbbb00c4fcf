// `ordertune forward`: every layer's hidden states of a checkpoint for lines of token ids, to
// HDF5 (the parity check against a reference implementation; weights.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands/command.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/model/weights.h"

namespace ordertune {
namespace {

class ForwardCommand : public Command {
 public:
  std::string model, inputs, out;
  DeviceChoice device_choice = DeviceChoice::kCpu;
  Precision dtype = Precision::kFp32;
  int run() override {
    const torch::Device device = resolve_device(device_choice, /*local_rank=*/0, /*local_size=*/1,
                                                /*share=*/false, "forward: --device");
    const auto hidden = forward_to_h5(model, inputs, out, device, dtype);
    log::info("{}: hidden_states [{}] ({}, {})", out, fmt::join(hidden.sizes(), ", "), device.str(),
              choice_name(dtype));
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
  // The CPU by default, so that the parity check's numbers do not depend on the machine.
  add_choice(c->cli, "--device", c->device_choice, "cpu | cuda | auto (a GPU if there is one)");
  add_choice(c->cli, "--dtype", c->dtype,
             "fp32 | bf16 (autocast as in training; the CPU needs LibTorch 2.x)");
  return c;
}

}  // namespace ordertune

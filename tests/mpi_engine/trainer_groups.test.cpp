// Data-parallel groups (src/DESIGN.md, decision 7): all ranks of the world as one group,
// training with global batch B, give the losses and weights of one rank training with batch B
// alone, to rounding (the sums run in a different order). Dropout is on (DropoutRows), the
// batch does not divide evenly over 3 ranks (slices 3/3/2), and the tagging loss is normalised
// by labelled tokens of the whole step, with gradient accumulation.
#include "engine/engine_test.h"
#include "engine/synthetic_tasks.h"

#include <mpi.h>

#include <cstring>

#include "ordertune/dist/communicator.h"
#include "ordertune/train/trainer.h"

using namespace ordertune;

namespace {

// Refuses host data sent as tensors, as NCCL does (communicator.h): the trainer's sums and the
// chain's stats must take the host path.
MpiCommunicatorOptions strict() {
  MpiCommunicatorOptions o;
  o.device_data_only = true;
  return o;
}

std::vector<float> weights_of(XlmrEncoder& e) {
  std::vector<float> out;
  for (const auto& p : e->parameters()) {
    const torch::Tensor c = p.detach().contiguous().view(-1);
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

StageResult run(const StageSpec& stage, Communicator* group, std::vector<float>* weights,
                Communicator* spread = nullptr) {
  torch::manual_seed(17);
  XlmrEncoder e(ordertune::testing::small_test_config());
  TrainHooks hooks;
  hooks.group = group;
  hooks.spread = spread;
  StageResult r = train_stage(e, stage, /*seed=*/23, hooks);
  *weights = weights_of(e);
  return r;
}

}  // namespace

TEST_CASE("a group of all ranks with global batch B reproduces one rank with batch B over 20 steps",
          "[mpi][trainer]") {
  const int64_t V = ordertune::testing::small_test_config().vocab_size;
  for (const bool tagging : {false, true}) {
    StageSpec stage;
    stage.name = tagging ? "tag" : "cls";
    stage.tasks.push_back(
        tagging ? ordertune::testing::stage_task(
                      "tag", ordertune::testing::tagging_split(400, V, 5), {"lo", "hi"})
                : ordertune::testing::stage_task(
                      "cls", ordertune::testing::classification_split(400, V, 5), {"no", "yes"}));
    stage.settings.lr = 1e-3;
    stage.settings.batch_size = 8;
    stage.settings.grad_accum = tagging ? 2 : 1;
    stage.settings.max_steps = 20;

    std::vector<float> alone_w, group_w;
    const StageResult alone = run(stage, nullptr, &alone_w);
    std::unique_ptr<Communicator> world = make_mpi_communicator(MPI_COMM_WORLD, strict());
    const StageResult grouped = run(stage, world.get(), &group_w);

    INFO((tagging ? "tagging" : "classification"));
    REQUIRE(alone.losses.size() == 20);
    REQUIRE(grouped.losses.size() == 20);
    for (size_t i = 0; i < 20; ++i) {
      INFO("step " << i + 1);
      CHECK(std::abs(alone.losses[i] - grouped.losses[i]) <= 1e-5);
    }
    // The losses changed over the steps (the comparison is not between constants).
    CHECK(alone.losses.front() != alone.losses.back());
    CHECK(grouped.tokens == alone.tokens);
    REQUIRE(alone_w.size() == group_w.size());
    float worst = 0;
    for (size_t i = 0; i < alone_w.size(); ++i)
      worst = std::max(worst, std::abs(alone_w[i] - group_w[i]));
    CHECK(worst <= 1e-5f);
  }
}

// Micro-batch spreading (the sweep's root pretraining on every rank) must be bitwise equal to one
// rank, whatever the number of ranks: the sweep's results may not depend on it.
TEST_CASE("micro-batches spread over all ranks give one rank's losses and weights bit for bit",
          "[mpi][trainer][spread]") {
  const int64_t V = ordertune::testing::small_test_config().vocab_size;
  SplitFeatures mlm;
  mlm.type = TaskType::kMLM;
  SplitMix64 rng(5);
  for (int i = 0; i < 300; ++i)
    mlm.mlm.input_ids.push_row(ordertune::testing::random_row(rng, V - 1, 6, 30));
  struct Case {
    std::string name;
    SplitFeatures train;
    int grad_accum;
  };
  // 4 micro-batches: 2/1/1 on 3 ranks; 2 micro-batches on 3 ranks: the last rank only passes on.
  const std::vector<Case> cases = {{"mlm", mlm, 4},
                                   {"tag", ordertune::testing::tagging_split(300, V, 5), 2},
                                   {"cls", ordertune::testing::classification_split(300, V, 5), 5}};
  for (const Case& c : cases) {
    StageSpec stage;
    stage.name = c.name;
    stage.tasks.push_back(ordertune::testing::stage_task(c.name, c.train, {"lo", "hi"}));
    stage.mask_id = V - 1;
    stage.settings.lr = 1e-3;
    stage.settings.batch_size = 6;
    stage.settings.grad_accum = c.grad_accum;
    stage.settings.max_steps = 12;

    std::vector<float> alone_w, spread_w;
    const StageResult alone = run(stage, nullptr, &alone_w);
    std::unique_ptr<Communicator> world = make_mpi_communicator(MPI_COMM_WORLD, strict());
    const StageResult spread = run(stage, nullptr, &spread_w, world.get());

    INFO(c.name << ", grad_accum " << c.grad_accum << ", " << world->size() << " ranks");
    REQUIRE(alone.losses.size() == 12);
    REQUIRE(spread.losses.size() == 12);
    CHECK(alone.losses.front() != alone.losses.back());
    for (size_t i = 0; i < 12; ++i) {
      INFO("step " << i + 1);
      CHECK(alone.losses[i] == spread.losses[i]);
      CHECK(alone.grad_norms[i] == spread.grad_norms[i]);
    }
    CHECK(spread.tokens == alone.tokens);
    REQUIRE(alone_w.size() == spread_w.size());
    int64_t differing = 0;
    for (size_t i = 0; i < alone_w.size(); ++i)
      differing += std::memcmp(&alone_w[i], &spread_w[i], sizeof(float)) != 0;
    CHECK(differing == 0);
  }
}

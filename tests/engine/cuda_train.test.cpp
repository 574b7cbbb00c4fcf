// The trainer on a GPU (issue 13, defects 5 and 6): distinct dropout streams per batch slice, and
// one wait for the device per optimizer step. Each test is skipped, saying so, where LibTorch
// sees no GPU (the CPU suite); tests/gpu/smoke.sh runs them on a GPU machine.
#include "engine/engine_test.h"
#include "engine/synthetic_tasks.h"

#include <string>
#include <vector>

#ifdef ORDERTUNE_WITH_NCCL  // a LibTorch with CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include "ordertune/model/model.h"
#include "ordertune/train/trainer.h"

using namespace ordertune;
using ordertune::testing::small_test_config;

namespace {

bool have_gpu() {
  return torch::cuda::is_available();
}

}  // namespace

TEST_CASE("on a GPU, the slices of a micro-batch draw distinct dropout masks, reproducibly",
          "[cuda][dropout]") {
  if (!have_gpu()) {
    WARN("skipped: no CUDA device (torch::cuda::is_available() is false)");
    return;
  }
  const torch::Device gpu(torch::kCUDA, 0);
  const torch::Tensor x = torch::ones({4, 256}, torch::TensorOptions().device(gpu));
  auto mask_of = [&](int64_t first_row) {
    seed_dropout(/*seed=*/77, first_row, gpu);
    return ordertune::dropout(x, 0.5, /*train=*/true).ne(0).cpu();
  };
  const torch::Tensor rows0 = mask_of(0), rows4 = mask_of(4), again = mask_of(0);
  CHECK(torch::equal(rows0, again));  // the same slice of the same micro-batch: the same masks
  // Two slices of one micro-batch (ranks 0 and 1 of a group) must not repeat each other's masks:
  // with one seed for both, every element's keep decision would be shared.
  const double agree = rows0.eq(rows4).to(torch::kFloat64).mean().item<double>();
  INFO("fraction of equal keep decisions: " << agree);
  CHECK(agree < 0.75);  // independent masks with p = 0.5 agree on about half of 1024 elements
}

#ifdef ORDERTUNE_WITH_NCCL
namespace {

// Counts LibTorch's "called a synchronizing CUDA operation" warnings (sync debug mode "warn").
class SyncCounter : public c10::WarningHandler {
 public:
  void process(const c10::Warning& w) override {
    if (w.msg().find("synchroniz") != std::string::npos) ++syncs;
  }
  int64_t syncs = 0;
};

}  // namespace
#endif

TEST_CASE("on a GPU, an optimizer step waits for the device once, whatever the accumulation",
          "[cuda][trainer]") {
  if (!have_gpu()) {
    WARN("skipped: no CUDA device (torch::cuda::is_available() is false)");
    return;
  }
#ifdef ORDERTUNE_WITH_NCCL
  const torch::Device gpu(torch::kCUDA, 0);
  StageSpec stage;
  stage.name = "cls";
  stage.tasks.push_back(ordertune::testing::stage_task(
      "cls", ordertune::testing::classification_split(64, small_test_config().vocab_size, 1),
      {"no", "yes"}));
  stage.settings.batch_size = 8;
  stage.settings.grad_accum = 2;  // micro-batches of 4: an .item() per micro-batch would show
  stage.settings.epochs = 1;
  torch::manual_seed(3);
  XlmrEncoder e(small_test_config());
  e->to(gpu);

  SyncCounter counter;
  std::vector<int64_t> at_step;
  TrainHooks hooks;
  hooks.on_step = [&](int64_t, int64_t, const StageResult&) {
    at_step.push_back(counter.syncs);
    return true;
  };
  {
    c10::WarningUtils::WarningHandlerGuard guard(&counter);
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_WARN);
    train_stage(e, stage, 10, hooks);
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
  }
  REQUIRE(at_step.size() >= 3);
  for (size_t k = 1; k < at_step.size(); ++k) {
    INFO("step " << k + 1 << ": " << at_step[k] - at_step[k - 1] << " synchronisations");
    CHECK(at_step[k] - at_step[k - 1] == 1);
  }
#endif
}

// CUDA-only engine tests (tag [cuda]; tests/gpu/smoke.sh runs them on a GPU machine): activation
// checkpointing replays dropout exactly (issue 13, defect 3), bf16 autocast's cache after
// training (defect 2) and bf16 tracking fp32 on CUDA, and a one-rank NCCL communicator. Without
// a CUDA device every test returns at once with a warning that starts "skipped: no CUDA device"
// (Catch2 v2 has no SKIP), so the CPU suite stays green and smoke.sh counts them as skipped.
#include "engine/engine_test.h"
#include "engine/synthetic_tasks.h"

#include <ATen/autocast_mode.h>
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "ordertune/dist/communicator.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/train/batching.h"
#include "ordertune/train/trainer.h"

using namespace ordertune;
using ordertune::testing::small_test_config;

// The message smoke.sh looks for in the reporter's output to count a test as skipped.
#define ORDERTUNE_REQUIRE_CUDA()                                              \
  do {                                                                        \
    if (!torch::cuda::is_available()) {                                       \
      WARN("skipped: no CUDA device (torch::cuda::is_available() is false)"); \
      return;                                                                 \
    }                                                                         \
  } while (false)

namespace {

const torch::Device kCuda(torch::kCUDA, 0);

// model.dtype on CUDA for this thread during a test; back to fp32 (autocast off) at the end.
struct CudaPrecisionScope {
  explicit CudaPrecisionScope(Precision p) { set_training_precision(p, kCuda); }
  ~CudaPrecisionScope() { set_training_precision(Precision::kFp32, kCuda); }
};

// Gradients of every parameter of `e` for the loss sum(last_hidden_state * weights), in training
// mode (dropout on), with torch::manual_seed(seed) first (it seeds the CPU and every CUDA
// generator).
std::vector<torch::Tensor> gradients(XlmrEncoder& e, const torch::Tensor& ids,
                                     const torch::Tensor& weights, uint64_t seed) {
  e->train();
  e->zero_grad();
  torch::manual_seed(seed);
  const torch::Tensor out = e->forward(ids).last_hidden_state;
  (out * weights).sum().backward();
  std::vector<torch::Tensor> grads;
  for (const auto& p : e->parameters()) grads.push_back(p.grad().detach().clone());
  return grads;
}

double max_abs_difference(const std::vector<torch::Tensor>& a,
                          const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

double max_abs(const std::vector<torch::Tensor>& a) {
  double worst = 0;
  for (const auto& t : a) worst = std::max(worst, t.abs().max().item<double>());
  return worst;
}

StageSpec classification_stage(int64_t examples, uint64_t data_seed) {
  StageSpec stage;
  stage.name = "cls";
  stage.tasks.push_back(ordertune::testing::stage_task(
      "cls",
      ordertune::testing::classification_split(examples, small_test_config().vocab_size, data_seed),
      {"no", "yes"}));
  stage.settings.lr = 1e-3;
  stage.settings.batch_size = 8;
  stage.settings.epochs = 1;
  return stage;
}

XlmrEncoder fresh_cuda_encoder(uint64_t seed) {
  torch::manual_seed(seed);
  XlmrEncoder e(small_test_config());
  e->to(kCuda);
  return e;
}

// The encoder's last hidden state (float32, on the CPU) for the first rows of the training split.
torch::Tensor hidden_of(XlmrEncoder& e, const StageSpec& stage) {
  const std::vector<int64_t> items{0, 1, 2, 3};
  const Batch b = make_batch(stage.tasks[0].train, items, BatchOptions{});
  torch::NoGradGuard no_grad;
  e->eval();
  return e->forward(b.input_ids.to(kCuda), b.attention_mask.to(kCuda))
      .last_hidden_state.to(torch::kCPU, torch::kFloat32);
}

// engine_tests has no MPI main (tests/unit/main.cpp): the NCCL test starts MPI itself, as a
// singleton, once, and finalizes it when the process exits. Only CUDA runs get here.
void ensure_mpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  std::atexit([] {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  });
}

}  // namespace

TEST_CASE("activation checkpointing on CUDA with dropout gives the gradients of no checkpointing",
          "[cuda][model][dropout]") {
  ORDERTUNE_REQUIRE_CUDA();
  XlmrConfig config = small_test_config();
  config.num_hidden_layers = 3;
  REQUIRE(config.hidden_dropout_prob > 0);
  REQUIRE(config.attention_probs_dropout_prob > 0);
  torch::manual_seed(5);
  XlmrEncoder plain(config, EncoderOptions{/*with_pooler=*/false, false});
  XlmrEncoder checkpointed(config, EncoderOptions{/*with_pooler=*/false,
                                                  /*activation_checkpointing=*/true});
  {  // the same weights in both
    torch::NoGradGuard no_grad;
    auto from = plain->named_parameters();
    for (auto& p : checkpointed->named_parameters()) p.value().copy_(from[p.key()]);
  }
  plain->to(kCuda);
  checkpointed->to(kCuda);
  // Padding in the second row: the attention mask takes part too.
  const torch::Tensor ids =
      torch::tensor({{0, 7, 8, 9, 10, 11, 12, 2}, {0, 13, 14, 15, 2, 1, 1, 1}}, torch::kInt64)
          .to(kCuda);
  torch::manual_seed(6);
  const torch::Tensor weights = torch::randn({2, 8, config.hidden_size}).to(kCuda);

  const auto a = gradients(plain, ids, weights, 11);
  const auto b = gradients(checkpointed, ids, weights, 11);
  const auto other_seed = gradients(plain, ids, weights, 12);
  // CUDA's embedding backward adds in a nondeterministic order: equal to rounding, not bitwise.
  const double tolerance = 1e-5 * max_abs(a);
  const double diff = max_abs_difference(a, b), seed_diff = max_abs_difference(a, other_seed);
  INFO("max |grad| " << max_abs(a) << "; checkpointed vs plain " << diff << " (tolerance "
                     << tolerance << "); another dropout seed " << seed_diff);
  REQUIRE(seed_diff > 100 * tolerance);  // dropout is on: the masks matter
  // Fails while CheckpointedLayer replays with the CPU generator only (the masks of torch::dropout
  // and SDPA on CUDA come from the CUDA generator): issue 13, defect 3.
  CHECK(diff <= tolerance);
}

TEST_CASE("bf16 on CUDA: a forward after training sees the trained weights, not cached copies",
          "[cuda][trainer][bf16]") {
  ORDERTUNE_REQUIRE_CUDA();
  CudaPrecisionScope bf16(Precision::kBf16);
  StageSpec stage = classification_stage(64, 1);
  stage.settings.lr = 3e-3;
  XlmrEncoder e = fresh_cuda_encoder(3);
  const torch::Tensor before = hidden_of(e, stage);
  train_stage(e, stage, 10);
  // As the trainer left autocast's cache, then with the cache emptied by LibTorch's own call (the
  // reference does not use the code tested).
  const torch::Tensor cached = hidden_of(e, stage);
  at::autocast::clear_cache();
  const torch::Tensor fresh = hidden_of(e, stage);
  CHECK(torch::equal(cached, fresh));
  CHECK_FALSE(torch::equal(before, fresh));  // training changed the weights
}

TEST_CASE("bf16 on CUDA tracks fp32 training within a stated tolerance", "[cuda][trainer][bf16]") {
  ORDERTUNE_REQUIRE_CUDA();
  StageSpec stage = classification_stage(512, 2);
  stage.settings.epochs = 2;
  stage.settings.lr = 3e-3;
  stage.settings.warmup_fraction = 0.1;
  auto run = [&](Precision p) {
    CudaPrecisionScope scope(p);
    XlmrEncoder e = fresh_cuda_encoder(4);
    return train_stage(e, stage, 5).losses;
  };
  const std::vector<float> fp32 = run(Precision::kFp32), bf16 = run(Precision::kBf16);
  REQUIRE(fp32.size() == 128);
  REQUIRE(bf16.size() == fp32.size());
  auto mean = [](auto from, auto to) {
    return std::accumulate(from, to, 0.0) / static_cast<double>(to - from);
  };
  const double fp32_first = mean(fp32.begin(), fp32.begin() + 16);
  const double fp32_last = mean(fp32.end() - 16, fp32.end());
  const double bf16_last = mean(bf16.end() - 16, bf16.end());
  REQUIRE(fp32_last < fp32_first * 0.9);  // the fp32 run learns
  // The tolerance of the CPU test ([trainer][bf16] in trainer.test.cpp): bf16's final loss is
  // within a quarter of fp32's loss drop of fp32's final loss.
  INFO("fp32 " << fp32_first << " -> " << fp32_last << ", bf16 -> " << bf16_last);
  CHECK(std::abs(bf16_last - fp32_last) < 0.25 * (fp32_first - fp32_last));
  CHECK(bf16 != fp32);  // autocast was on: bf16 arithmetic differs from fp32
}

TEST_CASE("a one-rank NCCL communicator all-reduces fp32 and bf16 to the input, and host data",
          "[cuda][communicator][nccl]") {
  ORDERTUNE_REQUIRE_CUDA();
  REQUIRE(nccl_available());
  ensure_mpi();
  auto comm = make_nccl_communicator(MPI_COMM_SELF, kCuda);
  CHECK(std::string(comm->backend()) == "nccl");
  CHECK(comm->rank() == 0);
  CHECK(comm->size() == 1);
  torch::manual_seed(1);
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    INFO("dtype " << dtype);
    const torch::Tensor input = torch::randn({1000, 3}).to(kCuda, dtype);
    torch::Tensor t = input.clone();
    comm->all_reduce_sum(t);
    torch::cuda::synchronize();
    CHECK(torch::equal(t.cpu(), input.cpu()));  // a sum over one rank is the input
    torch::Tensor flat = input.flatten().clone();
    all_reduce_buckets(*comm, flat, /*bucket_bytes=*/1000);  // several buckets
    torch::cuda::synchronize();
    CHECK(torch::equal(flat.cpu(), input.flatten().cpu()));
    torch::Tensor copy = input.clone();
    comm->broadcast(copy, 0);
    torch::cuda::synchronize();
    CHECK(torch::equal(copy.cpu(), input.cpu()));
  }
  // Host data goes over MPI whatever the backend.
  struct Message {
    int64_t step;
    double loss;
  } message{42, 0.25};
  comm->broadcast_host(message, 0);
  CHECK(message.step == 42);
  CHECK(message.loss == 0.25);
  double sums[2] = {1.5, -2.0};
  comm->all_reduce_sum_host(sums, 2);
  CHECK(sums[0] == 1.5);
  CHECK(sums[1] == -2.0);
  comm->barrier();
}

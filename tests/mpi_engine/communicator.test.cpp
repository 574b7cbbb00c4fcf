// Tests of communicator.h under mpiexec (2 and 3 ranks): the MPI backend's collectives against
// sums computed in closed form, the rank layout and its groups, device selection, and the error
// messages. Every rank runs every check. Collectives come first and assertions after, so that a
// failing check on one rank cannot leave the others waiting in a collective.
#include "engine/engine_test.h"
#include "mpi_engine/mpi_world.h"

#include <cstdlib>
#include <optional>
#include <string>

#include <mpi.h>

#include "ordertune/base/error.h"
#include "ordertune/dist/communicator.h"

using namespace ordertune;
using Catch::Matchers::Contains;

namespace {

using ordertune::testing::world_rank;
using ordertune::testing::world_size;

// Sets an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr)
      setenv(name, value, /*overwrite=*/1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_.c_str(), old_->c_str(), 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("make_communicator picks MPI for the CPU and mirrors the world's rank and size",
          "[mpi][communicator]") {
  auto comm = make_communicator(MPI_COMM_WORLD, torch::Device(torch::kCPU));
  CHECK(std::string(comm->backend()) == "mpi");
  CHECK(comm->rank() == world_rank());
  CHECK(comm->size() == world_size());
  comm->barrier();
}

TEST_CASE("all_reduce_sum gives every rank the closed-form sum of rank-dependent values",
          "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  const int64_t r = comm->rank();
  const int64_t s = comm->size();
  const int64_t n = 5;
  // Rank r contributes (r + 1) * (i + 1) at index i: the sum is (i + 1) * s (s + 1) / 2.
  const int64_t ranks_plus_one_sum = s * (s + 1) / 2;

  SECTION("float32") {
    auto t = torch::arange(1, n + 1, torch::kFloat32) * static_cast<float>(r + 1);
    comm->all_reduce_sum(t);
    const auto expected = torch::arange(1, n + 1, torch::kFloat32) * ranks_plus_one_sum;
    CHECK(torch::equal(t, expected));  // small integers: exact in float32
  }
  SECTION("float64 with fractions") {
    // Rank r contributes r + 0.25 * (i + 1): the sum is s (s - 1) / 2 + 0.25 s (i + 1).
    auto t = torch::arange(1, n + 1, torch::kFloat64) * 0.25 + static_cast<double>(r);
    comm->all_reduce_sum(t);
    const auto expected =
        torch::arange(1, n + 1, torch::kFloat64) * (0.25 * static_cast<double>(s)) +
        static_cast<double>(s * (s - 1) / 2);
    CHECK(torch::allclose(t, expected, /*rtol=*/0, /*atol=*/1e-12));
  }
  SECTION("int64 beyond the int32 range") {
    const int64_t big = int64_t{1} << 40;
    auto t = torch::full({n}, big * (r + 1), torch::kInt64);
    comm->all_reduce_sum(t);
    CHECK(torch::equal(t, torch::full({n}, big * ranks_plus_one_sum, torch::kInt64)));
  }
  SECTION("a 2-D tensor keeps its shape") {
    auto t = torch::full({2, 3}, static_cast<float>(r + 1), torch::kFloat32);
    comm->all_reduce_sum(t);
    CHECK(t.sizes() == torch::IntArrayRef({2, 3}));
    CHECK(torch::equal(t, torch::full({2, 3}, static_cast<float>(ranks_plus_one_sum))));
  }
}

TEST_CASE("buffers longer than max_count_per_call are sent in chunks with the same result",
          "[mpi][communicator]") {
  // A duplicate of the world, owned (and freed) by the communicator.
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  MpiCommunicatorOptions options;
  options.take_ownership = true;
  options.max_count_per_call = 7;  // elements per all-reduce, bytes per broadcast/send/recv
  auto comm = make_mpi_communicator(dup, options);
  REQUIRE(comm->size() >= 2);  // rank 1 sends to rank 0
  const int64_t r = comm->rank();
  const int64_t s = comm->size();

  // 100 elements = 14 chunks of 7 and one of 2.
  auto summed = torch::arange(100, torch::kInt64) + r;  // sum: s * i + s (s - 1) / 2
  comm->all_reduce_sum(summed);
  // 26 float32 = 104 bytes = 14 byte-chunks of 7 and one of 6.
  auto broadcast = r == 0 ? torch::arange(26, torch::kFloat32) : torch::zeros({26});
  comm->broadcast(broadcast, /*root=*/0);
  // Rank 1 sends 13 int64 (104 bytes) to rank 0.
  torch::Tensor received;
  if (r == 1) comm->send(torch::arange(13, torch::kInt64) * 3, /*peer=*/0, /*tag=*/5);
  if (r == 0) {
    received = torch::zeros({13}, torch::kInt64);
    comm->recv(received, /*peer=*/1, /*tag=*/5);
  }

  CHECK(torch::equal(summed, torch::arange(100, torch::kInt64) * s + s * (s - 1) / 2));
  CHECK(torch::equal(broadcast, torch::arange(26, torch::kFloat32)));
  if (r == 0) CHECK(torch::equal(received, torch::arange(13, torch::kInt64) * 3));
}

TEST_CASE("all_reduce_buckets with small buckets equals one all_reduce_sum",
          "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  torch::manual_seed(100 + comm->rank());
  // Integer-valued floats: every summation order gives the same float32 result, so the bucketed
  // and the single call must agree exactly whatever algorithm MPI picks per message size.
  const auto mine = torch::randint(-1000, 1000, {4, 251}, torch::kFloat32);
  auto single = mine.clone();
  comm->all_reduce_sum(single);

  SECTION("12-byte buckets (3 elements; the last bucket is short)") {
    auto bucketed = mine.clone();
    all_reduce_buckets(*comm, bucketed, /*bucket_bytes=*/12);
    CHECK(torch::equal(bucketed, single));
  }
  SECTION("a bucket smaller than one element still moves one element per call") {
    auto bucketed = mine.clone();
    all_reduce_buckets(*comm, bucketed, /*bucket_bytes=*/3);
    CHECK(torch::equal(bucketed, single));
  }
  SECTION("the default 64 MiB bucket holds the whole buffer") {
    auto bucketed = mine.clone();
    all_reduce_buckets(*comm, bucketed);
    CHECK(torch::equal(bucketed, single));
  }
  SECTION("a bucket size of 0 is a configuration error") {
    auto bucketed = mine.clone();
    CHECK_THROWS_AS(all_reduce_buckets(*comm, bucketed, 0), ConfigError);
    CHECK_THROWS_WITH(all_reduce_buckets(*comm, bucketed, 0),
                      "all_reduce_buckets: bucket_bytes: expected > 0, found 0");
  }
}

TEST_CASE("broadcast from the last rank overwrites every other rank's tensor",
          "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  const int root = comm->size() - 1;  // non-zero root
  const auto from_root = torch::arange(6, torch::kFloat64) * 10 + root;
  auto t = comm->rank() == root ? from_root.clone() : torch::full({6}, -1.0, torch::kFloat64);
  comm->broadcast(t, root);
  // Any dtype travels as bytes, bfloat16 included (MPI cannot sum it, but can copy it).
  const auto bf16_root = torch::arange(4, torch::kFloat32).to(torch::kBFloat16);
  auto b = comm->rank() == root ? bf16_root.clone() : torch::zeros({4}, torch::kBFloat16);
  comm->broadcast(b, root);

  CHECK(torch::equal(t, from_root));
  CHECK(torch::equal(b, bf16_root));
}

TEST_CASE("send/recv carry a running sum of ranks once around the ring", "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  const int r = comm->rank();
  const int s = comm->size();
  const int next = (r + 1) % s;
  const int prev = (r + s - 1) % s;
  const int tag = 11;
  // The token is [sum of the ranks visited so far, number of ranks visited]. Rank 0 starts it;
  // every other rank receives first, so no two ranks wait on each other's send.
  auto token = torch::zeros({2}, torch::kInt64);
  torch::Tensor arrived = torch::zeros({2}, torch::kInt64);
  if (r == 0) {
    comm->send(torch::tensor({int64_t{0}, int64_t{1}}), next, tag);
    comm->recv(arrived, prev, tag);
  } else {
    comm->recv(arrived, prev, tag);
    comm->send(arrived + torch::tensor({int64_t{r}, int64_t{1}}), next, tag);
  }
  // Rank r > 0 sees ranks 0..r-1: sum r (r - 1) / 2, count r. Rank 0 sees all s ranks at the end.
  if (r == 0) {
    CHECK(arrived[0].item<int64_t>() == int64_t{s} * (s - 1) / 2);
    CHECK(arrived[1].item<int64_t>() == s);
  } else {
    CHECK(arrived[0].item<int64_t>() == int64_t{r} * (r - 1) / 2);
    CHECK(arrived[1].item<int64_t>() == r);
  }
}

TEST_CASE("recv of a message shorter than the tensor is a LibraryError naming both sizes",
          "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  REQUIRE(comm->size() >= 2);  // rank 1 sends to rank 0
  std::string message;
  if (comm->rank() == 1) comm->send(torch::zeros({3}, torch::kFloat32), /*peer=*/0, /*tag=*/3);
  if (comm->rank() == 0) {
    auto t = torch::zeros({4}, torch::kFloat32);
    try {
      comm->recv(t, /*peer=*/1, /*tag=*/3);
    } catch (const LibraryError& e) {
      message = e.what();
    }
  }
  comm->barrier();
  if (comm->rank() == 0)
    CHECK(message ==
          "communicator (mpi): recv from rank 1 tag 3: expected 16 bytes for a [4] float32 "
          "tensor, received 12");
}

TEST_CASE("the MPI backend rejects tensors it cannot handle with one clear line",
          "[mpi][communicator]") {
  auto comm = make_mpi_communicator(MPI_COMM_WORLD);
  SECTION("bfloat16 all_reduce_sum on the CPU") {
    auto t = torch::ones({4}, torch::kBFloat16);
    CHECK_THROWS_AS(comm->all_reduce_sum(t), ConfigError);
    CHECK_THROWS_WITH(comm->all_reduce_sum(t),
                      "communicator (mpi): all_reduce_sum: expected a float32, float64, int32 or "
                      "int64 tensor, found bfloat16 (MPI cannot sum 16-bit floats: use float32 "
                      "on the CPU, or NCCL on a GPU)");
  }
  SECTION("float16 all_reduce_sum on the CPU") {
    auto t = torch::ones({4}, torch::kFloat16);
    CHECK_THROWS_AS(comm->all_reduce_sum(t), ConfigError);
    CHECK_THROWS_WITH(comm->all_reduce_sum(t), Contains("found float16"));
  }
  SECTION("a non-contiguous tensor") {
    auto t = torch::zeros({3, 2}, torch::kFloat32).t();
    CHECK_THROWS_AS(comm->all_reduce_sum(t), LibraryError);
    CHECK_THROWS_WITH(comm->all_reduce_sum(t),
                      "communicator (mpi): all_reduce_sum needs one contiguous buffer, found a "
                      "non-contiguous [2, 3] float32 tensor (call .contiguous() first)");
    CHECK_THROWS_AS(all_reduce_buckets(*comm, t, 8), LibraryError);
  }
  SECTION("a peer outside the group") {
    auto t = torch::zeros({1});
    CHECK_THROWS_WITH(comm->broadcast(t, comm->size()),
                      Contains("broadcast root: expected a rank in 0..") &&
                          Contains(", found " + std::to_string(comm->size())));
  }
  comm->barrier();
}

TEST_CASE("host data goes over MPI on either backend; a strict MPI backend refuses it as tensors",
          "[mpi][communicator]") {
  MpiCommunicatorOptions strict;
  strict.device_data_only = true;
  auto comm = make_mpi_communicator(MPI_COMM_WORLD, strict);
  const int rank = comm->rank(), size = comm->size();
  // Host operations: a broadcast struct, a sum of doubles, a send/recv ring.
  struct Control {
    int64_t kind, node;
  } c{rank == 0 ? 7 : -1, rank == 0 ? 42 : -1};
  comm->broadcast_host(c, 0);
  CHECK(c.kind == 7);
  CHECK(c.node == 42);
  double sums[2] = {1.0, static_cast<double>(rank)};
  comm->all_reduce_sum_host(sums, 2);
  CHECK(sums[0] == size);
  CHECK(sums[1] == size * (size - 1) / 2);
  if (size > 1) {
    int64_t token = rank;
    if (rank > 0) comm->recv_host(&token, sizeof token, rank - 1, 5);
    if (rank + 1 < size) comm->send_host(&token, sizeof token, rank + 1, 5);
    CHECK(token == 0);  // rank 0's value, passed along the chain
  }
  // Device data (float32) still goes through the tensor path; host dtypes do not.
  auto grad = torch::ones({3});
  comm->all_reduce_sum(grad);
  CHECK(grad[0].item<float>() == static_cast<float>(size));
  auto flags = torch::zeros({2}, torch::kInt64);
  CHECK_THROWS_AS(comm->broadcast(flags, 0), LibraryError);
  CHECK_THROWS_WITH(comm->broadcast(flags, 0),
                    "communicator (mpi, strict): broadcast: a [2] int64 tensor is host data (a "
                    "control message or a sum), which NCCL would refuse; send it with "
                    "broadcast_host");
  auto stats = torch::zeros({2}, torch::kFloat64);
  CHECK_THROWS_WITH(comm->all_reduce_sum(stats), Contains("[2] float64 tensor is host data"));
  comm->barrier();
}

TEST_CASE("without NCCL compiled in, a CUDA communicator is a configuration error",
          "[mpi][communicator]") {
  if (nccl_available()) return;  // a GPU build: covered by the GPU tests
  CHECK_THROWS_AS(make_communicator(MPI_COMM_WORLD, torch::Device(torch::kCUDA, 0)), ConfigError);
  CHECK_THROWS_WITH(make_nccl_communicator(MPI_COMM_WORLD, torch::Device(torch::kCUDA, 0)),
                    Contains("built without NCCL"));
}

TEST_CASE("make_rank_layout with group_size 1 puts every rank in its own group", "[mpi][layout]") {
  RankLayout layout = make_rank_layout(MPI_COMM_WORLD, 1);
  int group_comm_size = 0;
  MPI_Comm_size(layout.group_comm, &group_comm_size);
  CHECK(layout.world_rank == world_rank());
  CHECK(layout.world_size == world_size());
  CHECK(layout.group_size == 1);
  CHECK(layout.groups == world_size());
  CHECK(layout.group_index == world_rank());
  CHECK(layout.group_rank == 0);
  CHECK(group_comm_size == 1);
  // All ranks of the test run on this one machine.
  CHECK(layout.local_rank == world_rank());
  CHECK(layout.local_size == world_size());
}

TEST_CASE("make_rank_layout with group_size = world size makes one group of all ranks",
          "[mpi][layout]") {
  RankLayout layout = make_rank_layout(MPI_COMM_WORLD, world_size());
  int group_comm_rank = -1, group_comm_size = 0;
  MPI_Comm_rank(layout.group_comm, &group_comm_rank);
  MPI_Comm_size(layout.group_comm, &group_comm_size);
  CHECK(layout.groups == 1);
  CHECK(layout.group_index == 0);
  CHECK(layout.group_rank == world_rank());
  CHECK(layout.group_size == world_size());
  CHECK(group_comm_rank == world_rank());
  CHECK(group_comm_size == world_size());
}

TEST_CASE("make_rank_layout rejects a group size that does not divide the ranks", "[mpi][layout]") {
  const int s = world_size();
  if (s == 3)
    CHECK_THROWS_WITH(make_rank_layout(MPI_COMM_WORLD, 2),
                      "sweep.group_size: expected a divisor of the 3 ranks, found 2");
  CHECK_THROWS_AS(make_rank_layout(MPI_COMM_WORLD, s + 1), ConfigError);
  CHECK_THROWS_WITH(
      make_rank_layout(MPI_COMM_WORLD, 0),
      "sweep.group_size: expected a divisor of the " + std::to_string(s) + " ranks, found 0");
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE("a moved RankLayout hands over its group communicator", "[mpi][layout]") {
  RankLayout a = make_rank_layout(MPI_COMM_WORLD, 1);
  const MPI_Comm comm = a.group_comm;
  RankLayout b = std::move(a);
  CHECK(a.group_comm == MPI_COMM_NULL);  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(b.group_comm == comm);
}

TEST_CASE("a group communicator sums only within its group", "[mpi][layout][communicator]") {
  const int r = world_rank();
  const int s = world_size();

  SECTION("group_size 1: every rank keeps its own value") {
    RankLayout layout = make_rank_layout(MPI_COMM_WORLD, 1);
    auto comm = make_mpi_communicator(layout.group_comm);
    auto t = torch::full({3}, static_cast<double>(r + 1), torch::kFloat64);
    comm->all_reduce_sum(t);
    CHECK(comm->size() == 1);
    CHECK(torch::equal(t, torch::full({3}, static_cast<double>(r + 1), torch::kFloat64)));
  }
  SECTION("group_size = world size: the sum over all ranks") {
    RankLayout layout = make_rank_layout(MPI_COMM_WORLD, s);
    auto comm = make_mpi_communicator(layout.group_comm);
    auto t = torch::full({3}, static_cast<double>(r + 1), torch::kFloat64);
    comm->all_reduce_sum(t);
    CHECK(torch::equal(t, torch::full({3}, static_cast<double>(s * (s + 1) / 2), torch::kFloat64)));
  }
  if (s % 2 == 0) {
    SECTION("group_size 2: the sum of the group's two consecutive ranks") {
      RankLayout layout = make_rank_layout(MPI_COMM_WORLD, 2);
      auto comm = make_mpi_communicator(layout.group_comm);
      auto t = torch::full({1}, int64_t{r}, torch::kInt64);
      comm->all_reduce_sum(t);
      const int64_t first = 2 * layout.group_index;  // ranks first and first + 1
      CHECK(t.item<int64_t>() == 2 * first + 1);
    }
  }
}

TEST_CASE("select_device returns the CPU without CUDA or when ORDERTUNE_DEVICE=cpu",
          "[mpi][device]") {
  {
    ScopedEnv env("ORDERTUNE_DEVICE", "cpu");
    CHECK(select_device(world_rank(), world_size(), false) == torch::Device(torch::kCPU));
  }
  if (!torch::cuda::is_available()) {
    ScopedEnv env("ORDERTUNE_DEVICE", nullptr);
    CHECK(select_device(world_rank(), world_size(), false) == torch::Device(torch::kCPU));
    ScopedEnv cuda("ORDERTUNE_DEVICE", "cuda");
    CHECK_THROWS_AS(select_device(world_rank(), world_size(), false), ConfigError);
  }
  {
    ScopedEnv env("ORDERTUNE_DEVICE", "gpu");
    CHECK_THROWS_WITH(select_device(0, 1, false),
                      "ORDERTUNE_DEVICE: expected cpu, cuda or auto, found 'gpu'");
  }
}

TEST_CASE("gpu_for_rank: one GPU per node-local rank; more ranks than GPUs only when shared",
          "[mpi][device]") {
  CHECK(gpu_for_rank(0, 2, 4, false) == 0);
  CHECK(gpu_for_rank(1, 2, 4, false) == 1);
  CHECK(gpu_for_rank(7, 8, 8, false) == 7);
  // 4 ranks on 2 GPUs: refused with one line naming both counts, unless sharing is asked for.
  CHECK_THROWS_AS(gpu_for_rank(3, 4, 2, false), ConfigError);
  CHECK_THROWS_WITH(gpu_for_rank(0, 4, 2, false),
                    "4 ranks on this node but 2 GPU(s): expected at most one rank per GPU (start "
                    "fewer ranks per node, or set sweep.share_gpus = true with group_size = 1)");
  CHECK(gpu_for_rank(2, 4, 2, true) == 0);
  CHECK(gpu_for_rank(3, 4, 2, true) == 1);
}

// communicator — data-parallel collectives for a group of ranks, the rank layout of a job, and
// the device a rank computes on (the "dist" component).
//
// A sweep's ranks form groups of G consecutive ranks (src/DESIGN.md, decision 7); a group
// trains one node of the plan data-parallel and sums its gradients through one Communicator.
// Two backends sit behind that interface:
//   mpi   CPU tensors, MPI_Allreduce / MPI_Bcast / MPI_Send / MPI_Recv on an MPI communicator.
//   nccl  CUDA tensors (one GPU per rank), on the current CUDA stream of the tensor's device; the
//         NCCL unique id is made on group rank 0 and broadcast over the group's MPI communicator.
//         Compiled only when CMake finds NCCL and LibTorch has CUDA (ORDERTUNE_WITH_NCCL).
// The trainer sees only Communicator; make_communicator() picks the backend from the device.
//
// Two kinds of traffic: device data (gradient buckets, weights: tensors on the rank's device)
// goes through the tensor operations, on NCCL for a GPU; host data (control messages, flags,
// loss and token sums) goes through the *_host operations, over MPI on the same ranks for either
// backend. NCCL refuses host tensors, so host data never travels as a tensor.
//
// Error model: a tensor the backend cannot handle (a dtype MPI cannot sum, a CUDA tensor on the
// MPI backend, a build without NCCL) is a ConfigError, since the device and precision come from
// the configuration; a non-contiguous buffer or a short message is a LibraryError; a failing
// MPI or NCCL call is a LibraryError carrying the library's own error string. (MPI communicators
// keep their error handler: with Open MPI's default MPI_ERRORS_ARE_FATAL, MPI aborts the job
// itself with its own message before an error code could be returned.)
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <type_traits>

#include <mpi.h>
#include <torch/types.h>

#include "ordertune/base/choice.h"

namespace ordertune {

// One group of ranks training one node together. Every operation is collective over the group
// except send/recv, and must be called by all its ranks in the same order.
class Communicator {
 public:
  virtual ~Communicator() = default;

  // This rank's index in the group, 0 <= rank() < size().
  virtual int rank() const = 0;
  // Number of ranks in the group.
  virtual int size() const = 0;
  // "mpi" or "nccl".
  virtual const char* backend() const = 0;

  // Sums `t` over the group in place; every rank ends with the same sum. `t` is contiguous, has
  // the same shape and dtype on every rank; dtypes: float32, float64, int32, int64 (both
  // backends), and bfloat16, float16 on NCCL only. MPI cannot sum 16-bit floats: ConfigError.
  virtual void all_reduce_sum(torch::Tensor& t) = 0;
  // Copies `t` of group rank `root` into `t` of every other rank (preallocated, same shape and
  // dtype everywhere; any dtype, sent as bytes).
  virtual void broadcast(torch::Tensor& t, int root) = 0;
  // Sends contiguous `t` (any dtype) to group rank `peer`. On MPI it blocks until the buffer may
  // be reused (standard-mode MPI_Send: for large messages, until the peer receives), so a ring of
  // ranks that all send first may deadlock: let one rank receive first. On NCCL it is queued on
  // the current stream and `tag` is ignored: NCCL matches a pair's sends and receives in the
  // order they were issued.
  virtual void send(const torch::Tensor& t, int peer, int tag) = 0;
  // Receives into `t`, preallocated with the shape and dtype the peer sends, from group rank
  // `peer` with `tag` (MPI). A message of another size is a LibraryError.
  virtual void recv(torch::Tensor& t, int peer, int tag) = 0;
  // Returns when every rank of the group has entered the barrier. On NCCL the work queued on the
  // current stream before it has completed too.
  virtual void barrier() = 0;

  // Host data, over MPI on the group's ranks whatever the backend: `bytes` bytes at `data`
  // (the same count on every rank). Collective as their tensor twins.
  void broadcast_host(void* data, int64_t bytes, int root);
  void all_reduce_sum_host(double* values, int count);
  void send_host(const void* data, int64_t bytes, int peer, int tag);
  void recv_host(void* data, int64_t bytes, int peer, int tag);
  template <typename T>
  void broadcast_host(T& value, int root) {
    static_assert(std::is_trivially_copyable_v<T>, "host data is sent as bytes");
    broadcast_host(&value, static_cast<int64_t>(sizeof(T)), root);
  }

 protected:
  // The MPI communicator host data travels on (the backend's own, or a duplicate for NCCL).
  virtual MPI_Comm host_comm() const = 0;
};

// All-reduces (sums) a contiguous buffer, e.g. FlatParameters::grad(), in consecutive buckets of
// at most `bucket_bytes` (at least one element each). Few large calls keep the per-call latency
// negligible; the bound keeps the temporary buffers that MPI and NCCL allocate per call bounded.
// bucket_bytes <= 0: ConfigError.
inline constexpr int64_t kDefaultBucketBytes = int64_t{64} << 20;  // 64 MiB
void all_reduce_buckets(Communicator& comm, torch::Tensor& flat,
                        int64_t bucket_bytes = kDefaultBucketBytes);

struct MpiCommunicatorOptions {
  bool take_ownership = false;  // MPI_Comm_free the communicator in the destructor
  // Refuse, as NCCL would refuse a host tensor, tensors that can only be host data: int64 and
  // float64 (control messages and sums; device data is float32, bfloat16 or float16). Lets a
  // CPU run check that every collective the sweep and the trainer make goes the way it would on
  // GPUs. make_communicator() sets it when ORDERTUNE_STRICT_COMMUNICATOR=1.
  bool device_data_only = false;
  // Device tensors travel through host copies (MPI gets host buffers only): make_communicator()
  // sets it where ranks of the communicator share a GPU, which NCCL refuses.
  bool stage_device_tensors = false;
  int64_t max_count_per_call = INT_MAX;  // elements (bytes for send/recv/broadcast) per MPI
                                         // call: MPI counts are int, larger buffers are chunked
};

// MPI backend on the MPI communicator `comm` (CPU tensors). `comm` must outlive the returned
// object; it is freed by it only with options.take_ownership. Not collective.
std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm,
                                                    MpiCommunicatorOptions options = {});

// NCCL backend for the CUDA device `device` (one per rank), collective over `comm`: group rank 0
// makes the NCCL unique id, MPI_Bcast shares it, every rank calls ncclCommInitRank. `comm` is
// used only during construction. Without NCCL support compiled in: ConfigError.
std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, const torch::Device& device);

// Whether two ranks of `comm` on one node compute on the same GPU (sweep.share_gpus). Collective
// over `comm`; every rank gets the same answer.
bool gpus_shared(MPI_Comm comm, const torch::Device& device);

// NCCL for CUDA devices each held by one rank of `comm`; MPI for the CPU, and for GPUs shared by
// ranks of `comm` (device tensors staged through host memory). Collective over `comm` for a CUDA
// device. ORDERTUNE_STRICT_COMMUNICATOR=1 makes the MPI backend refuse host data as tensors
// (MpiCommunicatorOptions::device_data_only).
std::unique_ptr<Communicator> make_communicator(MPI_Comm comm, const torch::Device& device);

// Whether this build has the NCCL backend (ORDERTUNE_WITH_NCCL).
bool nccl_available();

// Where a rank sits in the job: the world split into groups of group_size consecutive ranks,
// and its place among the ranks on its node. Owns group_comm (freed by the destructor, unless
// MPI is already finalized); move-only.
struct RankLayout {
  int world_rank = 0;   // rank in the world communicator
  int world_size = 1;   // ranks in the world communicator
  int group_index = 0;  // which group: world_rank / group_size
  int groups = 1;       // number of groups: world_size / group_size
  int group_rank = 0;   // rank within the group: world_rank % group_size
  int group_size = 1;   // ranks per group
  int local_rank = 0;   // rank among the ranks sharing this node (MPI_COMM_TYPE_SHARED)
  int local_size = 1;   // ranks on this node
  MPI_Comm group_comm = MPI_COMM_NULL;  // the group's ranks, ordered by world rank

  RankLayout() = default;
  ~RankLayout();
  RankLayout(RankLayout&& other) noexcept;
  RankLayout& operator=(RankLayout&& other) noexcept;
  RankLayout(const RankLayout&) = delete;
  RankLayout& operator=(const RankLayout&) = delete;
};

// Collective over `world`. A group_size that does not divide the world size is a ConfigError:
// "sweep.group_size: expected a divisor of the 3 ranks, found 2" (thrown on every rank, before
// any collective call).
RankLayout make_rank_layout(MPI_Comm world, int group_size);

// Where a rank computes: kAuto = a GPU when LibTorch sees one, else the CPU.
enum class DeviceChoice { kAuto, kCpu, kCuda };
template <>
struct ChoiceTraits<DeviceChoice> {
  static constexpr Spelling<DeviceChoice> spellings[] = {
      {DeviceChoice::kAuto, "auto"}, {DeviceChoice::kCpu, "cpu"}, {DeviceChoice::kCuda, "cuda"}};
};

// The GPU of node-local rank `local_rank` of `local_size` ranks on a node with `gpus` GPUs: its
// own (local_rank) when there are enough; with more ranks than GPUs a ConfigError naming both
// counts, unless `share` (sweep.share_gpus), which gives local_rank % gpus.
int gpu_for_rank(int local_rank, int local_size, int gpus, bool share);

// The device `choice` names for a rank: kCpu the CPU; kCuda its GPU by gpu_for_rank (ConfigError
// naming `what` when LibTorch sees no GPU); kAuto that GPU if there is one, else the CPU. A GPU
// is made this thread's current CUDA device (NCCL and every kernel launch use it).
torch::Device resolve_device(DeviceChoice choice, int local_rank, int local_size, bool share,
                             const std::string& what);

// The device this rank computes on: resolve_device of the environment variable
// ORDERTUNE_DEVICE (auto | cpu | cuda; unset = auto; any other value is a ConfigError).
torch::Device select_device(int local_rank, int local_size, bool share);

}  // namespace ordertune

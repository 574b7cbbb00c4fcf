#include "ordertune/dist/communicator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/cuda.h>

#include "ordertune/base/error.h"
#include "ordertune/dist/mpi_check.h"

#ifdef ORDERTUNE_WITH_NCCL
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "ordertune/dist/watchdog.h"
#endif

namespace ordertune {
namespace {

// A dtype as Python's torch spells it ("bfloat16"), for error messages.
std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kInt32:
      return "int32";
    case torch::kInt64:
      return "int64";
    default:
      return c10::toString(dtype);
  }
}

// "[3, 4] float32" for error messages.
std::string describe(const torch::Tensor& t) {
  return fmt::format("[{}] {}", fmt::join(t.sizes().begin(), t.sizes().end(), ", "),
                     dtype_name(t.scalar_type()));
}

void require_contiguous(const torch::Tensor& t, const char* backend, const char* op) {
  if (!t.is_contiguous())
    throw LibraryError(fmt::format(
        "communicator ({}): {} needs one contiguous buffer, found a non-contiguous {} tensor "
        "(call .contiguous() first)",
        backend, op, describe(t)));
}

// ---- MPI backend ---------------------------------------------------------------------------

// The MPI datatype that MPI_SUM can add for a tensor dtype; MPI_DATATYPE_NULL when there is none
// (MPI has no 16-bit floating-point type).
MPI_Datatype mpi_sum_type(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32:
      return MPI_FLOAT;
    case torch::kFloat64:
      return MPI_DOUBLE;
    case torch::kInt32:
      return MPI_INT32_T;
    case torch::kInt64:
      return MPI_INT64_T;
    default:
      return MPI_DATATYPE_NULL;
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, MpiCommunicatorOptions options) : comm_(comm), options_(options) {
    if (comm_ == MPI_COMM_NULL)
      throw ConfigError("communicator (mpi): expected an MPI communicator, found MPI_COMM_NULL");
    if (options_.max_count_per_call < 1 || options_.max_count_per_call > INT_MAX)
      throw ConfigError(
          fmt::format("communicator (mpi): max_count_per_call: expected 1..{}, found {}", INT_MAX,
                      options_.max_count_per_call));
    OT_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    OT_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  ~MpiCommunicator() override {
    // Unchecked, as every MPI call in a destructor: it must not throw (mpi_check.h).
    if (options_.take_ownership && !mpi_finalized()) MPI_Comm_free(&comm_);
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "mpi"; }

  void all_reduce_sum(torch::Tensor& t) override {
    if (staged(t)) {
      torch::Tensor host = t.cpu();
      all_reduce_sum(host);
      t.copy_(host);
      return;
    }
    check_cpu(t, "all_reduce_sum");
    const MPI_Datatype type = mpi_sum_type(t.scalar_type());
    if (type == MPI_DATATYPE_NULL)
      throw ConfigError(fmt::format(
          "communicator (mpi): all_reduce_sum: expected a float32, float64, int32 or int64 "
          "tensor, found {} (MPI cannot sum 16-bit floats: use float32 on the CPU, or NCCL on "
          "a GPU)",
          dtype_name(t.scalar_type())));
    require_contiguous(t, "mpi", "all_reduce_sum");
    char* base = static_cast<char*>(t.data_ptr());
    const int64_t item = static_cast<int64_t>(t.element_size());
    for_each_chunk(t.numel(), [&](int64_t offset, int count) {
      OT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, base + offset * item, count, type, MPI_SUM, comm_));
    });
  }

  void broadcast(torch::Tensor& t, int root) override {
    if (staged(t)) {
      torch::Tensor host = t.cpu();
      broadcast(host, root);
      t.copy_(host);
      return;
    }
    check_cpu(t, "broadcast");
    check_peer(root, "broadcast root");
    require_contiguous(t, "mpi", "broadcast");
    char* base = static_cast<char*>(t.data_ptr());
    for_each_chunk(t.nbytes(), [&](int64_t offset, int count) {
      OT_MPI_CHECK(MPI_Bcast(base + offset, count, MPI_BYTE, root, comm_));
    });
  }

  void send(const torch::Tensor& t, int peer, int tag) override {
    if (staged(t)) return send(t.cpu(), peer, tag);
    check_cpu(t, "send");
    check_peer(peer, "send peer");
    require_contiguous(t, "mpi", "send");
    const char* base = static_cast<const char*>(t.data_ptr());
    // Chunks of one (peer, tag) arrive in order: MPI's non-overtaking rule.
    for_each_chunk(t.nbytes(), [&](int64_t offset, int count) {
      OT_MPI_CHECK(MPI_Send(base + offset, count, MPI_BYTE, peer, tag, comm_));
    });
  }

  void recv(torch::Tensor& t, int peer, int tag) override {
    if (staged(t)) {
      torch::Tensor host = torch::empty(t.sizes(), t.options().device(torch::kCPU));
      recv(host, peer, tag);
      t.copy_(host);
      return;
    }
    check_cpu(t, "recv");
    check_peer(peer, "recv peer");
    require_contiguous(t, "mpi", "recv");
    char* base = static_cast<char*>(t.data_ptr());
    int64_t received = 0;
    for_each_chunk(t.nbytes(), [&](int64_t offset, int count) {
      MPI_Status status;
      OT_MPI_CHECK(MPI_Recv(base + offset, count, MPI_BYTE, peer, tag, comm_, &status));
      int got = 0;
      OT_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &got));
      received += got;
      if (got != count)
        throw LibraryError(fmt::format(
            "communicator (mpi): recv from rank {} tag {}: expected {} bytes for a {} tensor, "
            "received {}",
            peer, tag, t.nbytes(), describe(t), received));
    });
  }

  void barrier() override { OT_MPI_CHECK(MPI_Barrier(comm_)); }

 protected:
  MPI_Comm host_comm() const override { return comm_; }

 private:
  // Calls f(offset, count) over [0, total) in pieces of at most max_count_per_call.
  template <typename F>
  void for_each_chunk(int64_t total, F&& f) const {
    for (int64_t offset = 0; offset < total; offset += options_.max_count_per_call)
      f(offset, static_cast<int>(std::min(options_.max_count_per_call, total - offset)));
  }

  // A device tensor that travels through a host copy (options_.stage_device_tensors).
  bool staged(const torch::Tensor& t) const {
    return options_.stage_device_tensors && t.defined() && !t.device().is_cpu();
  }

  void check_cpu(const torch::Tensor& t, const char* op) const {
    if (!t.defined())
      throw ConfigError(fmt::format("communicator (mpi): {}: expected a tensor, found none", op));
    if (!t.device().is_cpu())
      throw ConfigError(fmt::format(
          "communicator (mpi): {}: expected a CPU tensor, found one on {} (use the NCCL "
          "communicator for GPUs)",
          op, t.device().str()));
    if (options_.device_data_only &&
        (t.scalar_type() == torch::kInt64 || t.scalar_type() == torch::kFloat64))
      throw LibraryError(fmt::format(
          "communicator (mpi, strict): {}: a {} tensor is host data (a control message or a "
          "sum), which NCCL would refuse; send it with {}_host",
          op, describe(t), op));
  }

  void check_peer(int peer, const char* what) const {
    if (peer < 0 || peer >= size_)
      throw ConfigError(fmt::format("communicator (mpi): {}: expected a rank in 0..{}, found {}",
                                    what, size_ - 1, peer));
  }

  MPI_Comm comm_;
  MpiCommunicatorOptions options_;
  int rank_ = 0;
  int size_ = 1;
};

// ---- NCCL backend --------------------------------------------------------------------------
#ifdef ORDERTUNE_WITH_NCCL

void nccl_check(ncclResult_t result, ncclComm_t comm, const char* call, const char* file,
                int line) {
  if (result == ncclSuccess) return;
  std::string detail;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  if (const char* last = ncclGetLastError(comm); last != nullptr && *last != '\0')
    detail = fmt::format(" ({})", last);
#else
  (void)comm;
#endif
  throw LibraryError(
      fmt::format("{}:{}: {} failed: {}{}", file, line, call, ncclGetErrorString(result), detail));
}
#define OT_NCCL_CHECK(call, comm) nccl_check((call), (comm), #call, __FILE__, __LINE__)

// The NCCL type that ncclSum can add; false when there is none.
bool nccl_sum_type(torch::ScalarType dtype, ncclDataType_t* out) {
  switch (dtype) {
    case torch::kFloat32:
      *out = ncclFloat32;
      return true;
    case torch::kFloat64:
      *out = ncclFloat64;
      return true;
    case torch::kFloat16:
      *out = ncclFloat16;
      return true;
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 10, 0) && \
    (NCCL_VERSION_CODE >= NCCL_VERSION(2, 19, 0) || defined(__CUDA_BF16_TYPES_EXIST__))
    case torch::kBFloat16:
      *out = ncclBfloat16;
      return true;
#endif
    case torch::kInt32:
      *out = ncclInt32;
      return true;
    case torch::kInt64:
      *out = ncclInt64;
      return true;
    default:
      return false;
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(MPI_Comm comm, const torch::Device& device) : device_(device) {
    if (!device_.is_cuda() || !device_.has_index())
      throw ConfigError(fmt::format(
          "communicator (nccl): expected a CUDA device with an index (cuda:N), found {}",
          device_.str()));
    OT_MPI_CHECK(MPI_Comm_rank(comm, &rank_));
    OT_MPI_CHECK(MPI_Comm_size(comm, &size_));
    OT_MPI_CHECK(MPI_Comm_dup(comm, &host_));
    ncclUniqueId id;
    if (rank_ == 0) OT_NCCL_CHECK(ncclGetUniqueId(&id), nullptr);
    OT_MPI_CHECK(MPI_Bcast(&id, static_cast<int>(sizeof(id)), MPI_BYTE, 0, comm));
    // NCCL binds the communicator to the current CUDA device.
    c10::cuda::CUDAGuard guard(device_.index());
    OT_NCCL_CHECK(ncclCommInitRank(&comm_, size_, id, rank_), nullptr);
    int world_rank = 0;
    OT_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &world_rank));
    // A collective that never completes (a dead or hung peer) ends this rank with one line
    // instead of hanging the job until its wall time; ending one rank ends the MPI job.
    watchdog_ = std::make_unique<Watchdog>(
        collective_timeout(), std::chrono::milliseconds(200), [this] { return async_error(); },
        [this, world_rank](const std::string& line) {
          ncclCommAbort(comm_);  // releases the kernels waiting for the peer
          std::fprintf(stderr, "ordertune: rank %d: NCCL: %s; communicator aborted\n", world_rank,
                       line.c_str());
          std::fflush(stderr);
          std::_Exit(kExitFailure);
        });
  }
  ~NcclCommunicator() override {
    watchdog_.reset();
    if (comm_ != nullptr) ncclCommDestroy(comm_);
    if (host_ != MPI_COMM_NULL && !mpi_finalized()) MPI_Comm_free(&host_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* backend() const override { return "nccl"; }

  void all_reduce_sum(torch::Tensor& t) override {
    check_tensor(t, "all_reduce_sum");
    ncclDataType_t type;
    if (!nccl_sum_type(t.scalar_type(), &type))
      throw ConfigError(
          fmt::format("communicator (nccl): all_reduce_sum: expected a float32, float64, float16, "
                      "bfloat16, int32 or int64 tensor, found {}",
                      dtype_name(t.scalar_type())));
    c10::cuda::CUDAGuard guard(device_.index());
    OT_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), type,
                                ncclSum, comm_, stream()),
                  comm_);
    watch("all_reduce_sum", t);
  }

  void broadcast(torch::Tensor& t, int root) override {
    check_tensor(t, "broadcast");
    check_peer(root, "broadcast root");
    c10::cuda::CUDAGuard guard(device_.index());
    OT_NCCL_CHECK(
        ncclBroadcast(t.data_ptr(), t.data_ptr(), t.nbytes(), ncclUint8, root, comm_, stream()),
        comm_);
    watch("broadcast", t);
  }

  void send(const torch::Tensor& t, int peer, int /*tag*/) override {
    check_tensor(t, "send");
    check_peer(peer, "send peer");
    c10::cuda::CUDAGuard guard(device_.index());
    OT_NCCL_CHECK(ncclSend(t.data_ptr(), t.nbytes(), ncclUint8, peer, comm_, stream()), comm_);
    watch("send", t);
  }

  void recv(torch::Tensor& t, int peer, int /*tag*/) override {
    check_tensor(t, "recv");
    check_peer(peer, "recv peer");
    c10::cuda::CUDAGuard guard(device_.index());
    OT_NCCL_CHECK(ncclRecv(t.data_ptr(), t.nbytes(), ncclUint8, peer, comm_, stream()), comm_);
    watch("recv", t);
  }

  // NCCL has no barrier: all-reduce one element (which completes only once every rank has
  // queued it) and wait for the stream, as torch.distributed's NCCL backend does.
  void barrier() override {
    c10::cuda::CUDAGuard guard(device_.index());
    auto token = torch::zeros({1}, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    all_reduce_sum(token);
    c10::cuda::getCurrentCUDAStream(device_.index()).synchronize();
  }

 private:
  cudaStream_t stream() const { return c10::cuda::getCurrentCUDAStream(device_.index()).stream(); }

  // Registers the call just queued on the stream with the watchdog: an event recorded after it
  // tells when it has completed.
  void watch(const char* op, const torch::Tensor& t) {
    cudaEvent_t event = nullptr;
    C10_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    std::shared_ptr<CUevent_st> owned(event, [](cudaEvent_t e) { cudaEventDestroy(e); });
    C10_CUDA_CHECK(cudaEventRecord(event, stream()));
    watchdog_->watch(fmt::format("{} of a {} tensor", op, describe(t)),
                     [owned] { return cudaEventQuery(owned.get()) != cudaErrorNotReady; });
  }

  // NCCL's asynchronous error state (a failed peer, a network error), "" while there is none.
  std::string async_error() {
    ncclResult_t state = ncclSuccess;
    if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess || state == ncclSuccess) return "";
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 14, 0)
    if (state == ncclInProgress) return "";  // a non-blocking call still under way
#endif
    return fmt::format("asynchronous error: {}", ncclGetErrorString(state));
  }

  void check_tensor(const torch::Tensor& t, const char* op) const {
    if (!t.defined())
      throw ConfigError(fmt::format("communicator (nccl): {}: expected a tensor, found none", op));
    if (t.device() != device_)
      throw ConfigError(
          fmt::format("communicator (nccl): {}: expected a tensor on {}, found one on {}", op,
                      device_.str(), t.device().str()));
    require_contiguous(t, "nccl", op);
  }

  void check_peer(int peer, const char* what) const {
    if (peer < 0 || peer >= size_)
      throw ConfigError(fmt::format("communicator (nccl): {}: expected a rank in 0..{}, found {}",
                                    what, size_ - 1, peer));
  }

  MPI_Comm host_comm() const override {
    return host_;
  }

  torch::Device device_;
  ncclComm_t comm_ = nullptr;
  MPI_Comm host_ = MPI_COMM_NULL;  // host data (control, sums) goes over MPI
  std::unique_ptr<Watchdog> watchdog_;
  int rank_ = 0;
  int size_ = 1;
};

#endif  // ORDERTUNE_WITH_NCCL

}  // namespace

// ---- public functions ----------------------------------------------------------------------

void Communicator::broadcast_host(void* data, int64_t bytes, int root) {
  OT_CHECK(bytes >= 0 && bytes <= INT_MAX, "broadcast_host: {} bytes", bytes);
  OT_MPI_CHECK(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, host_comm()));
}

void Communicator::all_reduce_sum_host(double* values, int count) {
  OT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, host_comm()));
}

void Communicator::send_host(const void* data, int64_t bytes, int peer, int tag) {
  OT_CHECK(bytes >= 0 && bytes <= INT_MAX, "send_host: {} bytes", bytes);
  OT_MPI_CHECK(MPI_Send(data, static_cast<int>(bytes), MPI_BYTE, peer, tag, host_comm()));
}

void Communicator::recv_host(void* data, int64_t bytes, int peer, int tag) {
  OT_CHECK(bytes >= 0 && bytes <= INT_MAX, "recv_host: {} bytes", bytes);
  MPI_Status status;
  OT_MPI_CHECK(MPI_Recv(data, static_cast<int>(bytes), MPI_BYTE, peer, tag, host_comm(), &status));
  int got = 0;
  OT_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &got));
  if (got != bytes)
    throw LibraryError(
        fmt::format("communicator: recv_host from rank {} tag {}: expected {} "
                    "bytes, received {}",
                    peer, tag, bytes, got));
}

void all_reduce_buckets(Communicator& comm, torch::Tensor& flat, int64_t bucket_bytes) {
  if (bucket_bytes <= 0)
    throw ConfigError(
        fmt::format("all_reduce_buckets: bucket_bytes: expected > 0, found {}", bucket_bytes));
  require_contiguous(flat, comm.backend(), "all_reduce_buckets");
  torch::Tensor all = flat.view({-1});
  const int64_t per_bucket =
      std::max<int64_t>(1, bucket_bytes / static_cast<int64_t>(flat.element_size()));
  const int64_t n = all.numel();
  if (n == 0) return;
  for (int64_t offset = 0; offset < n; offset += per_bucket) {
    torch::Tensor bucket = all.narrow(0, offset, std::min(per_bucket, n - offset));
    comm.all_reduce_sum(bucket);
  }
}

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm, MpiCommunicatorOptions options) {
  return std::make_unique<MpiCommunicator>(comm, options);
}

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, const torch::Device& device) {
#ifdef ORDERTUNE_WITH_NCCL
  return std::make_unique<NcclCommunicator>(comm, device);
#else
  (void)comm;
  throw ConfigError(fmt::format(
      "communicator: device {} needs the NCCL backend, but ordertune was built without NCCL "
      "(needs a LibTorch with CUDA and NCCL at configure time; or set ORDERTUNE_DEVICE=cpu)",
      device.str()));
#endif
}

bool gpus_shared(MPI_Comm comm, const torch::Device& device) {
  MPI_Comm node = MPI_COMM_NULL;
  int rank = 0, world_rank = 0, local_size = 1;
  OT_MPI_CHECK(MPI_Comm_rank(comm, &world_rank));
  OT_MPI_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node));
  OT_MPI_CHECK(MPI_Comm_rank(node, &rank));
  OT_MPI_CHECK(MPI_Comm_size(node, &local_size));
  std::vector<int> devices(static_cast<size_t>(local_size));
  int mine = device.is_cuda() ? static_cast<int>(device.index()) : -1;
  OT_MPI_CHECK(MPI_Allgather(&mine, 1, MPI_INT, devices.data(), 1, MPI_INT, node));
  OT_MPI_CHECK(MPI_Comm_free(&node));
  std::sort(devices.begin(), devices.end());
  int shared = std::adjacent_find(devices.begin(), devices.end()) != devices.end() ? 1 : 0;
  OT_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &shared, 1, MPI_INT, MPI_MAX, comm));
  return shared != 0;
}

std::unique_ptr<Communicator> make_communicator(MPI_Comm comm, const torch::Device& device) {
  MpiCommunicatorOptions options;
  if (device.is_cuda()) {
    // A build without NCCL is refused for any CUDA device (make_nccl_communicator's error).
    if (!nccl_available() || !gpus_shared(comm, device))
      return make_nccl_communicator(comm, device);
    options.stage_device_tensors = true;  // NCCL refuses two ranks on one GPU
  }
  const char* strict = std::getenv("ORDERTUNE_STRICT_COMMUNICATOR");
  options.device_data_only = strict != nullptr && std::string(strict) == "1";
  return make_mpi_communicator(comm, options);
}

bool nccl_available() {
#ifdef ORDERTUNE_WITH_NCCL
  return true;
#else
  return false;
#endif
}

// ---- rank layout ---------------------------------------------------------------------------

RankLayout::~RankLayout() {
  // Unchecked, as in ~MpiCommunicator: a destructor (and the noexcept move) must not throw.
  if (group_comm != MPI_COMM_NULL && !mpi_finalized()) MPI_Comm_free(&group_comm);
}

RankLayout::RankLayout(RankLayout&& other) noexcept {
  *this = std::move(other);
}

RankLayout& RankLayout::operator=(RankLayout&& other) noexcept {
  if (this == &other) return *this;
  if (group_comm != MPI_COMM_NULL && !mpi_finalized()) MPI_Comm_free(&group_comm);
  world_rank = other.world_rank;
  world_size = other.world_size;
  group_index = other.group_index;
  groups = other.groups;
  group_rank = other.group_rank;
  group_size = other.group_size;
  local_rank = other.local_rank;
  local_size = other.local_size;
  group_comm = std::exchange(other.group_comm, MPI_COMM_NULL);
  return *this;
}

RankLayout make_rank_layout(MPI_Comm world, int group_size) {
  RankLayout layout;
  OT_MPI_CHECK(MPI_Comm_rank(world, &layout.world_rank));
  OT_MPI_CHECK(MPI_Comm_size(world, &layout.world_size));
  // Same inputs on every rank, so every rank throws here and none is left in a collective.
  if (group_size < 1 || layout.world_size % group_size != 0)
    throw ConfigError(fmt::format("sweep.group_size: expected a divisor of the {} ranks, found {}",
                                  layout.world_size, group_size));
  layout.group_size = group_size;
  layout.groups = layout.world_size / group_size;
  layout.group_index = layout.world_rank / group_size;
  layout.group_rank = layout.world_rank % group_size;
  OT_MPI_CHECK(MPI_Comm_split(world, /*color=*/layout.group_index, /*key=*/layout.world_rank,
                              &layout.group_comm));

  // Node-local rank, for choosing this rank's GPU.
  MPI_Comm node = MPI_COMM_NULL;
  OT_MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, /*key=*/layout.world_rank,
                                   MPI_INFO_NULL, &node));
  OT_MPI_CHECK(MPI_Comm_rank(node, &layout.local_rank));
  OT_MPI_CHECK(MPI_Comm_size(node, &layout.local_size));
  OT_MPI_CHECK(MPI_Comm_free(&node));
  return layout;
}

// ---- device --------------------------------------------------------------------------------

int gpu_for_rank(int local_rank, int local_size, int gpus, bool share) {
  OT_CHECK(gpus > 0 && local_rank >= 0 && local_rank < local_size, "gpu_for_rank({}, {}, {})",
           local_rank, local_size, gpus);
  if (local_size > gpus && !share)
    throw ConfigError(fmt::format(
        "{} ranks on this node but {} GPU(s): expected at most one rank per GPU (start fewer "
        "ranks per node, or set sweep.share_gpus = true with group_size = 1)",
        local_size, gpus));
  return local_rank % gpus;
}

torch::Device resolve_device(DeviceChoice choice, int local_rank, int local_size, bool share,
                             const std::string& what) {
  if (choice == DeviceChoice::kCpu) return torch::Device(torch::kCPU);
  const int64_t gpus =
      torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : int64_t{0};
  if (gpus == 0) {
    if (choice == DeviceChoice::kCuda)
      throw ConfigError(what +
                        ": expected a CUDA device, found none (LibTorch sees no GPU or was "
                        "built without CUDA)");
    return torch::Device(torch::kCPU);
  }
  const torch::Device device(
      torch::kCUDA, static_cast<c10::DeviceIndex>(
                        gpu_for_rank(local_rank, local_size, static_cast<int>(gpus), share)));
  // Current device of this thread: without it every rank's kernels, caching allocator and NCCL
  // communicator would start on cuda:0.
  c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(device);
  return device;
}

torch::Device select_device(int local_rank, int local_size, bool share) {
  const char* env = std::getenv("ORDERTUNE_DEVICE");
  DeviceChoice choice = DeviceChoice::kAuto;
  if (env != nullptr && *env != '\0' && !parse_choice(env, &choice))
    throw ConfigError(
        fmt::format("ORDERTUNE_DEVICE: expected cpu, cuda or auto, found {}", quote_found(env)));
  return resolve_device(choice, local_rank, local_size, share, "ORDERTUNE_DEVICE");
}

}  // namespace ordertune

// Tests of sweep/protocol.h and sweep/peer_transfer.h under mpiexec (2 and 3 ranks): requests
// and replies between real ranks with the protocol's own send and receive helpers (fields intact,
// replies in the order sent), the sender check, an encoder sent from one rank to another, and
// OT_MPI_CHECK on a failing MPI call. Every rank ends each test in a barrier, after its checks'
// messages are all received, so that no message leaks into the next test.
#include "engine/engine_test.h"
#include "mpi_engine/mpi_world.h"

#include <chrono>
#include <thread>
#include <variant>
#include <vector>

#include <mpi.h>

#include "ordertune/base/error.h"
#include "ordertune/dist/mpi_check.h"
#include "ordertune/sweep/peer_transfer.h"
#include "ordertune/sweep/protocol.h"

using namespace ordertune;
using namespace ordertune::protocol;
using Catch::Matchers::Contains;
using ordertune::testing::small_test_config;

namespace {

using ordertune::testing::world_rank;
using ordertune::testing::world_size;
void nap() {
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// What rank r sends to rank 0, derived from r so that rank 0 can tell each sender's fields apart.
Request request_of(int r) {
  Request q;
  q.worker = r;
  q.finished = 100 + r;
  q.stopped = r % 2 == 1;
  q.seconds = r + 0.5;  // whole milliseconds: exact after the round trip
  q.tokens = int64_t{7} << (30 + r);
  return q;
}

// The replies rank 0 sends rank r, in this order: every kind, Serves and a Drop before the Run
// (rule 2: they are handled while the leader waits for its answer) and after it.
std::vector<Reply> replies_for(int r) {
  Run run;
  run.node = 20 + r;
  run.source = WeightSource::kPeer;
  run.holder = 0;
  run.keep_held = r % 2 == 0;
  return {Serve{1, r}, Drop{2}, Serve{3, 0}, Reply{run}, Serve{4, 0}, Drop{5}, Finish{}};
}

std::vector<float> flat(const XlmrEncoder& e) {
  std::vector<float> out;
  for (const auto& p : e->parameters()) {
    const torch::Tensor c = p.detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return out;
}

}  // namespace

TEST_CASE("sweep protocol over MPI: every request reaches rank 0 with its fields intact",
          "[mpi][sweep][protocol]") {
  const int rank = world_rank(), size = world_size();
  std::vector<int> seen(static_cast<size_t>(size), 0);
  if (rank > 0) send_request(MPI_COMM_WORLD, request_of(rank));
  if (rank == 0) {
    std::vector<Request> got;
    while (static_cast<int>(got.size()) < size - 1) {
      Request q;
      if (receive_request(MPI_COMM_WORLD, /*group_size=*/1, &q))
        got.push_back(q);
      else
        nap();
    }
    for (const Request& q : got) {
      REQUIRE(q.worker >= 1);
      REQUIRE(q.worker < size);
      ++seen[static_cast<size_t>(q.worker)];
      const Request want = request_of(q.worker);
      CHECK(q.finished == want.finished);
      CHECK(q.stopped == want.stopped);
      CHECK(q.seconds == want.seconds);
      CHECK(q.tokens == want.tokens);
    }
    for (int r = 1; r < size; ++r) CHECK(seen[static_cast<size_t>(r)] == 1);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE("sweep protocol over MPI: a leader receives the replies in the order rank 0 sent them",
          "[mpi][sweep][protocol]") {
  const int rank = world_rank(), size = world_size();
  const size_t count = replies_for(1).size();
  if (rank == 0) {
    // Interleaved over the leaders, as the coordinator answers them.
    for (size_t i = 0; i < count; ++i)
      for (int r = 1; r < size; ++r) send_reply(MPI_COMM_WORLD, r, replies_for(r)[i]);
  } else {
    std::vector<Reply> got;
    while (got.size() < count) {
      Reply reply;
      if (receive_reply(MPI_COMM_WORLD, &reply))
        got.push_back(reply);
      else
        nap();
    }
    const std::vector<Reply> want = replies_for(rank);
    for (size_t i = 0; i < count; ++i) {
      INFO("reply " << i << ": got " << describe(got[i]) << ", sent " << describe(want[i]));
      CHECK(pack(got[i]) == pack(want[i]));
    }
    // The order is one a leader's checks accept: one answer per request (the leader asks again
    // after its Run, and Finish answers that), Serves before the Drop of their node.
    ReplyStream stream(rank);
    stream.requested();
    int answers = 0;
    for (const Reply& r : got) {
      if (std::holds_alternative<Finish>(r)) stream.requested();
      answers += stream.replied(r) ? 1 : 0;
    }
    CHECK(answers == 2);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE(
    "sweep protocol over MPI: rank 0 refuses a request for a worker whose leader is another rank",
    "[mpi][sweep][protocol]") {
  const int rank = world_rank();
  if (rank == 1) send_request(MPI_COMM_WORLD, request_of(0));  // worker 0's leader is rank 0
  if (rank == 0) {
    bool refused = false;
    while (!refused) {
      Request q;
      try {
        if (!receive_request(MPI_COMM_WORLD, /*group_size=*/1, &q)) nap();
      } catch (const ProtocolError& e) {
        CHECK_THAT(e.what(), Contains("rank 1 asked for worker 0, whose leader is rank 0"));
        refused = true;
      }
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE(
    "peer transfer: an encoder from rank 1 arrives bitwise on rank 0; a missing one only says so",
    "[mpi][sweep][peer]") {
  const int rank = world_rank();
  Plan plan;
  plan.nodes.resize(8);  // names for the debug lines only
  PeerTransfer peers(MPI_COMM_WORLD, /*group=*/nullptr, /*leader=*/true, plan);
  torch::manual_seed(7);
  XlmrEncoder sent(small_test_config());
  if (rank == 1) {
    peers.send(/*node=*/5, sent, /*to=*/0);
    peers.send(/*node=*/6, XlmrEncoder{nullptr}, /*to=*/0);
  }
  if (rank == 0) {
    torch::manual_seed(3);
    XlmrEncoder into(small_test_config());
    const std::vector<float> before = flat(into);
    REQUIRE(before != flat(sent));  // else the test could not tell a transfer from nothing
    int waits = 0;
    CHECK(peers.receive(5, /*from=*/1, into, [&] { ++waits; }));
    CHECK(flat(into) == flat(sent));

    torch::manual_seed(3);
    XlmrEncoder untouched(small_test_config());
    CHECK_FALSE(peers.receive(6, 1, untouched, [&] { ++waits; }));
    CHECK(flat(untouched) == before);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST_CASE("OT_MPI_CHECK names a failing call, its place and MPI's own text", "[mpi][mpi_check]") {
  // A communicator that returns errors instead of aborting, so that a bad call comes back.
  MPI_Comm comm = MPI_COMM_NULL;
  OT_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm));
  OT_MPI_CHECK(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  int value = 0;
  try {
    OT_MPI_CHECK(MPI_Bcast(&value, -1, MPI_INT, 0, comm));  // a negative count is an error
    FAIL("MPI_Bcast with a negative count returned MPI_SUCCESS");
  } catch (const LibraryError& e) {
    CHECK_THAT(e.what(), Contains("protocol.test.cpp:"));
    CHECK_THAT(e.what(), Contains("MPI_Bcast(&value, -1, MPI_INT, 0, comm) failed: "));
  }
  MPI_Comm_free(&comm);

  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(MPI_ERR_COUNT, text, &len);
  CHECK_THROWS_WITH(
      mpi_check(MPI_ERR_COUNT, "MPI_Send(x)", "here.cpp", 12),
      "here.cpp:12: MPI_Send(x) failed: " + std::string(text, static_cast<size_t>(len)));
  CHECK_NOTHROW(mpi_check(MPI_SUCCESS, "MPI_Send(x)", "here.cpp", 12));
}

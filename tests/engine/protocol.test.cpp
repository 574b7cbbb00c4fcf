// Tests of sweep/protocol.h without MPI: the wire format as the header documents it, round trips
// of every message, the values unpack refuses, and the ordering rules that ReplyStream (a
// leader's view) and ReplyOrder (the coordinator's view) enforce. These run here, in
// engine_tests, because src/sweep/ is compiled into ordertune_engine (see protocol.h). The MPI
// side (messages between ranks, peer transfers) is tested in tests/mpi_engine/protocol.test.cpp.
#include "engine/engine_test.h"

#include <variant>

#include "ordertune/sweep/protocol.h"

using namespace ordertune;
using namespace ordertune::protocol;
using Catch::Matchers::Contains;

namespace {

// root 0 -> stage 1 -> {target 2, stage 3 -> target 4}; ReplyOrder reads parents only.
Plan small_plan() {
  Plan plan;
  const int64_t parents[] = {-1, 0, 1, 1, 3};
  for (int64_t id = 0; id < 5; ++id) {
    PlanNode n;
    n.id = id;
    n.parent = parents[id];
    n.kind = id == 0                ? NodeKind::kRoot
             : (id == 2 || id == 4) ? NodeKind::kTarget
                                    : NodeKind::kStage;
    if (n.parent >= 0) plan.nodes[static_cast<size_t>(n.parent)].children.push_back(id);
    plan.nodes.push_back(n);
  }
  return plan;
}

Run run_from_peer(int64_t node, int holder) {
  Run r;
  r.node = node;
  r.source = WeightSource::kPeer;
  r.holder = holder;
  return r;
}

Run run_from(int64_t node, WeightSource source) {
  Run r;
  r.node = node;
  r.source = source;
  return r;
}

}  // namespace

TEST_CASE("sweep protocol: a Request round-trips, its seconds as whole milliseconds",
          "[sweep][protocol]") {
  Request r;
  r.worker = 3;
  r.finished = 41;
  r.stopped = true;
  r.seconds = 12.3456;  // 12345.6 ms on the wire: truncated to 12345
  r.tokens = int64_t{1} << 40;
  const Wire w = pack(r);
  CHECK(w == Wire{3, 41, 1, 12345, int64_t{1} << 40});  // {worker, finished, stopped, ms, tokens}
  const Request back = unpack_request(w);
  CHECK(back.worker == 3);
  CHECK(back.finished == 41);
  CHECK(back.stopped);
  CHECK(back.seconds == 12.345);
  CHECK(back.tokens == int64_t{1} << 40);

  const Request first = unpack_request(pack(Request{}));  // the first request reports nothing
  CHECK(first.finished == -1);
  CHECK_FALSE(first.stopped);
  CHECK(first.seconds == 0.0);
}

TEST_CASE("sweep protocol: every Reply kind round-trips through its documented wire layout",
          "[sweep][protocol]") {
  SECTION("Run from a peer, keeping the held encoder") {
    Run r = run_from_peer(17, 6);
    r.keep_held = true;
    const Wire w = pack(r);
    CHECK(w == Wire{0, 17, static_cast<int64_t>(WeightSource::kPeer), 6, 1});
    const Reply back = unpack_reply(w);
    REQUIRE(std::holds_alternative<Run>(back));
    const Run& got = std::get<Run>(back);
    CHECK(got.node == 17);
    CHECK(got.source == WeightSource::kPeer);
    CHECK(got.holder == 6);
    CHECK(got.keep_held);
  }
  SECTION("Run from the results file and from own memory: no holder") {
    for (WeightSource source : {WeightSource::kResultsFile, WeightSource::kOwnMemory}) {
      const Reply back = unpack_reply(pack(run_from(5, source)));
      REQUIRE(std::holds_alternative<Run>(back));
      CHECK(std::get<Run>(back).source == source);
      CHECK(std::get<Run>(back).holder == -1);
      CHECK_FALSE(std::get<Run>(back).keep_held);
    }
  }
  SECTION("Finish") {
    CHECK(pack(Finish{}) == Wire{1, -1, -1, -1, -1});
    CHECK(std::holds_alternative<Finish>(unpack_reply(pack(Finish{}))));
  }
  SECTION("Serve") {
    const Wire w = pack(Serve{9, 4});
    CHECK(w == Wire{2, 9, 4, -1, -1});
    const Reply back = unpack_reply(w);
    REQUIRE(std::holds_alternative<Serve>(back));
    CHECK(std::get<Serve>(back).node == 9);
    CHECK(std::get<Serve>(back).to == 4);
  }
  SECTION("Drop") {
    CHECK(pack(Drop{12}) == Wire{3, 12, -1, -1, -1});
    const Reply back = unpack_reply(pack(Drop{12}));
    REQUIRE(std::holds_alternative<Drop>(back));
    CHECK(std::get<Drop>(back).node == 12);
  }
  SECTION("Stop") {
    CHECK(pack(Stop{}) == Wire{4, -1, -1, -1, -1});
    CHECK(std::holds_alternative<Stop>(unpack_reply(pack(Stop{}))));
  }
}

TEST_CASE("sweep protocol: unpack refuses what pack never writes", "[sweep][protocol]") {
  const int64_t peer = static_cast<int64_t>(WeightSource::kPeer);
  const int64_t file = static_cast<int64_t>(WeightSource::kResultsFile);
  CHECK_THROWS_WITH(unpack_reply(Wire{5, 1, -1, -1, -1}),
                    Contains("kind 0 (Run), 1 (Finish), 2 (Serve), 3 (Drop) or 4 (Stop)"));
  CHECK_THROWS_WITH(unpack_reply(Wire{4, 1, -1, -1, -1}), Contains("slot 1 unused"));
  CHECK_THROWS_AS(unpack_reply(Wire{0, -1, file, -1, 0}), ProtocolError);  // no node
  CHECK_THROWS_WITH(unpack_reply(Wire{0, 3, peer, -1, 0}),
                    Contains("holder rank >= 0 with a peer source"));
  CHECK_THROWS_WITH(unpack_reply(Wire{0, 3, file, 2, 0}),
                    Contains("holder rank >= 0 with a peer source"));
  CHECK_THROWS_WITH(unpack_reply(Wire{0, 3, 7, -1, 0}), Contains("weight source 0..3"));
  CHECK_THROWS_WITH(unpack_reply(Wire{0, 3, file, -1, 2}), Contains("keep_held 0 or 1"));
  CHECK_THROWS_WITH(unpack_reply(Wire{1, -1, -1, 0, -1}), Contains("slot 3 unused"));
  CHECK_THROWS_WITH(unpack_reply(Wire{2, 3, -1, -1, -1}), Contains("world rank >= 0 to serve"));
  CHECK_THROWS_WITH(unpack_reply(Wire{3, 3, 5, -1, -1}), Contains("slot 2 unused"));
  CHECK_THROWS_WITH(unpack_request(Wire{1, 3, 3, 0, 0}), Contains("stopped 0 or 1, or 2"));
  CHECK_THROWS_WITH(unpack_request(Wire{1, 3, 2, 0, 0}),
                    Contains("no finished node with a stop notice"));
  // Rule 7's stop notice round-trips.
  Request notice;
  notice.worker = 2;
  notice.stopped = notice.notice = true;
  const Request back = unpack_request(pack(notice));
  CHECK(back.notice);
  CHECK(back.stopped);
  CHECK(back.finished == -1);
  CHECK_THROWS_WITH(unpack_request(Wire{-2, 3, 0, 0, 0}), Contains("worker index >= 0"));
  CHECK_THROWS_WITH(unpack_request(Wire{1, -2, 0, 0, 0}), Contains("finished node >= -1"));
}

TEST_CASE(
    "sweep protocol: reply_for turns an Assignment into Run or Finish with the holder's world rank",
    "[sweep][protocol]") {
  Assignment a;
  a.node = 8;
  a.source = WeightSource::kPeer;
  a.peer = 3;
  a.keep_held = true;
  const Reply r = reply_for(a, /*group_size=*/2);
  REQUIRE(std::holds_alternative<Run>(r));
  CHECK(std::get<Run>(r).holder == 6);  // worker 3's leader in groups of 2
  CHECK(std::get<Run>(r).keep_held);

  a.source = WeightSource::kOwnMemory;
  CHECK(std::get<Run>(reply_for(a, 2)).holder == -1);  // the peer index means nothing then

  CHECK(std::holds_alternative<Finish>(reply_for(Assignment{-1, true}, 2)));
  CHECK_THROWS_AS(reply_for(Assignment{-1, false}, 2), ProtocolError);  // "ask later" is no reply
}

TEST_CASE(
    "sweep protocol: a leader's stream takes one answer per request, Serve and Drop at any time "
    "(rules 1, 2)",
    "[sweep][protocol]") {
  ReplyStream s(/*worker=*/2);
  CHECK(s.replied(Serve{1, 4}) == false);  // before any request: serving is fine
  CHECK_THROWS_WITH(s.replied(run_from(3, WeightSource::kResultsFile)), Contains("rule 1"));
  CHECK_THROWS_WITH(s.replied(Finish{}), Contains("rule 1"));

  s.requested();
  CHECK(s.awaiting());
  CHECK_THROWS_WITH(s.requested(), Contains("second request"));
  CHECK(s.replied(Serve{1, 4}) == false);  // served while waiting for the answer
  CHECK(s.replied(Drop{1}) == false);
  CHECK(s.awaiting());
  CHECK(s.replied(run_from(3, WeightSource::kOwnMemory)) == true);
  CHECK_FALSE(s.awaiting());
  // Running the node: only Serve and Drop may come.
  CHECK(s.replied(Serve{3, 0}) == false);
  CHECK_THROWS_WITH(s.replied(run_from(4, WeightSource::kOwnMemory)), Contains("worker 2"));

  s.requested();
  CHECK(s.replied(Finish{}) == true);
}

TEST_CASE("sweep protocol: a Drop comes after every Serve of its node, once (rule 4)",
          "[sweep][protocol]") {
  ReplyStream s(/*worker=*/1);
  CHECK_FALSE(s.replied(Serve{3, 2}));
  CHECK_FALSE(s.replied(Drop{3}));
  CHECK_THROWS_WITH(s.replied(Serve{3, 4}),
                    Contains("every Serve of a node comes before its Drop"));
  CHECK_THROWS_WITH(s.replied(Drop{3}), Contains("dropped once"));
  CHECK_FALSE(s.replied(Serve{1, 4}));  // other nodes are unaffected
  CHECK_FALSE(s.replied(Drop{1}));
}

TEST_CASE("sweep protocol: a Stop answers nothing, comes at any time, once (rule 6)",
          "[sweep][protocol]") {
  ReplyStream s(/*worker=*/2);
  s.requested();
  CHECK_FALSE(s.replied(Stop{}));  // while the leader waits: not its answer
  CHECK(s.awaiting());
  CHECK_THROWS_WITH(s.replied(Stop{}), Contains("rule 6: a leader is told to stop once"));
  CHECK(s.replied(Finish{}));
}

TEST_CASE(
    "sweep protocol: the coordinator serves each Run from a peer once, after the Run, from the "
    "holder it named "
    "(rule 3)",
    "[sweep][protocol]") {
  const Plan plan = small_plan();
  const int group_size = 2;  // leaders at world ranks 0, 2, 4
  ReplyOrder order(plan, /*workers=*/3, group_size);

  SECTION("the order the coordinator uses: the requester's Run, then the holder's Serve") {
    order.requested(1);
    order.sending(1, run_from_peer(/*node=*/3, /*holder=*/4));  // worker 2 holds node 1
    CHECK(order.serve_owed(1));
    order.sending(2, Serve{/*node=*/1, /*to=*/2});
    CHECK_FALSE(order.serve_owed(1));
    order.requested(1);  // served: worker 1 may ask again
  }
  SECTION("a Serve before its Run") {
    CHECK_THROWS_WITH(order.sending(2, Serve{1, 2}), Contains("rule 3"));
  }
  SECTION("a Serve of another node than the parent") {
    order.requested(1);
    order.sending(1, run_from_peer(3, 4));
    CHECK_THROWS_WITH(order.sending(2, Serve{3, 2}), Contains("rule 3"));
  }
  SECTION("a Serve from a worker the Run did not name") {
    order.requested(1);
    order.sending(1, run_from_peer(3, 4));
    CHECK_THROWS_WITH(order.sending(0, Serve{1, 2}), Contains("rule 3"));
  }
  SECTION("a second request before the Serve") {
    order.requested(1);
    order.sending(1, run_from_peer(3, 4));
    CHECK_THROWS_WITH(order.requested(1), Contains("before its parent (node 1) was served"));
  }
  SECTION("a holder that is no leader, or the requester itself") {
    order.requested(1);
    CHECK_THROWS_WITH(order.sending(1, run_from_peer(3, 3)), Contains("expected the leader"));
    CHECK_THROWS_WITH(order.sending(1, run_from_peer(3, 2)),
                      Contains("a peer holder is another worker"));
  }
  SECTION("rules 1 and 4 hold per worker on the coordinator too") {
    CHECK_THROWS_WITH(order.sending(0, Finish{}), Contains("rule 1"));
    order.requested(1);
    order.sending(1, run_from_peer(3, 0));  // worker 0 is named as the holder of node 1 ...
    order.sending(0, Drop{1});              // ... but its copy is dropped before the Serve
    CHECK_THROWS_WITH(order.sending(0, Serve{1, 2}),
                      Contains("every Serve of a node comes before its Drop"));
  }
}

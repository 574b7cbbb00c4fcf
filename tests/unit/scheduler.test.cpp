// Tests of scheduler.h: makespans of small trees scheduled by hand, the invariants of every
// schedule (each node once, after its parent, no idle worker while work is runnable), locality,
// resume, cost refinement, and the simulated makespan of the X-STILTs triples study against the
// lower bound max(work / workers, longest path).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/config/config.h"
#include "ordertune/plan/plan.h"
#include "ordertune/plan/scheduler.h"
#include "test_paths.h"

using namespace ordertune;
using Catch::Matchers::Contains;

namespace {

// Builds a plan by hand: every node its own cost key, one replicate.
class TreeBuilder {
 public:
  explicit TreeBuilder(double root_cost) {
    PlanNode root;
    root.kind = NodeKind::kRoot;
    root.cost_s = root_cost;
    plan_.nodes.push_back(root);
  }
  int64_t stage(int64_t parent, double cost) {
    PlanNode n = node(parent, cost, NodeKind::kStage);
    n.stage = "s" + std::to_string(n.id);
    n.path.push_back(n.stage);
    return push(std::move(n));
  }
  int64_t target(int64_t parent, double cost) {
    PlanNode n = node(parent, cost, NodeKind::kTarget);
    n.stage = "t" + std::to_string(n.id);
    return push(std::move(n));
  }
  Plan build() {
    plan_.finalize();
    return plan_;
  }

 private:
  PlanNode node(int64_t parent, double cost, NodeKind kind) {
    PlanNode n;
    n.id = static_cast<int64_t>(plan_.nodes.size());
    n.kind = kind;
    n.parent = parent;
    n.replicate = 0;
    n.path = plan_.nodes[parent].path;
    n.cost_s = cost;
    return n;
  }
  int64_t push(PlanNode n) {
    plan_.nodes.push_back(std::move(n));
    return plan_.nodes.back().id;
  }
  Plan plan_;
};

// A random out-tree: stage nodes with stage and target children, costs in [1, 100).
Plan random_tree(uint64_t seed, int nodes) {
  SplitMix64 rng(seed);
  TreeBuilder b(1.0 + 10 * rng.uniform());
  std::vector<int64_t> stages = {0};
  for (int i = 1; i < nodes; ++i) {
    const int64_t parent = stages[rng.below(stages.size())];
    const double cost = 1.0 + 99.0 * rng.uniform();
    if (rng.uniform() < 0.4)
      stages.push_back(b.stage(parent, cost));
    else
      b.target(parent, cost);
  }
  return b.build();
}

// The same event loop as simulate(), with every invariant checked, from a resumed state.
struct Checked {
  double makespan = 0;
  std::vector<SimulatedRun> runs;
};
Checked run_checked(const Plan& plan, int workers, const std::vector<uint8_t>& done = {},
                    bool parents_in_file = true) {
  Scheduler s(plan, workers, done, parents_in_file);
  Checked out;
  std::vector<double> end_of(plan.nodes.size(), -1.0);
  std::vector<int> times_run(plan.nodes.size(), 0);
  for (size_t i = 0; i < done.size(); ++i)
    if (done[i]) end_of[i] = 0.0;
  using Event = std::pair<double, int>;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<std::set<int64_t>> kept_before(static_cast<size_t>(workers));
  auto next = [&](int w, double now) {
    for (int v = 0; v < workers; ++v) kept_before[static_cast<size_t>(v)] = s.kept_by(v);
    return s.next(w, now);
  };
  auto launch = [&](int w, const Assignment& a, double now) {
    if (a.node < 0) return;
    const PlanNode& n = plan.nodes[a.node];
    ++times_run[a.node];
    // Its parent is done, and the weight source is right.
    if (n.parent >= 0) {
      REQUIRE(end_of[n.parent] >= 0);
      CHECK(end_of[n.parent] <= now);
      CHECK(a.source != WeightSource::kNone);
      if (a.source == WeightSource::kPeer) {
        REQUIRE(a.peer >= 0);
        CHECK(a.peer != w);
        // The peer still has it: held, or kept (rule 6) until this very assignment.
        CHECK((s.held_by(a.peer) == n.parent || s.kept_by(a.peer).count(n.parent) ||
               kept_before[static_cast<size_t>(a.peer)].count(n.parent)));
      }
      if (!parents_in_file) CHECK(a.source != WeightSource::kResultsFile);
    } else {
      CHECK(a.source == WeightSource::kNone);
    }
    out.runs.push_back({a.node, w, now, now + n.cost_s, a.source});
    events.emplace(now + n.cost_s, w);
  };
  auto no_idle_while_runnable = [&] {
    // After every round of assignments: a waiting worker means nothing is runnable.
    bool someone_waits = false;
    for (int w = 0; w < workers; ++w) someone_waits = someone_waits || s.waiting(w);
    if (someone_waits) CHECK(s.progress().runnable_nodes == 0);
  };
  double t0 = 0.0;
  if (s.is_runnable(0)) {  // rule 0: the root on every worker, then every worker holds it
    t0 = plan.nodes[0].cost_s / workers;
    ++times_run[0];
    s.complete_everywhere(0, t0);
    end_of[0] = t0;
    out.makespan = t0;
    for (int w = 0; w < workers; ++w) CHECK(s.held_by(w) == 0);
  }
  for (int w = 0; w < workers; ++w) launch(w, next(w, t0), t0);
  no_idle_while_runnable();
  while (!events.empty()) {
    const double now = events.top().first;
    std::vector<int> freed;
    while (!events.empty() && events.top().first == now) {
      const int w = events.top().second;
      events.pop();
      const int64_t node = s.running_on(w);
      REQUIRE(node >= 0);
      s.finished(w, node, now, plan.nodes[node].cost_s);
      end_of[node] = now;
      freed.push_back(w);
    }
    std::sort(freed.begin(), freed.end());
    for (int w : freed) launch(w, next(w, now), now);
    for (int v = 0; v < workers; ++v) kept_before[static_cast<size_t>(v)] = s.kept_by(v);
    for (const auto& [w, a] : s.assign_waiting(now)) launch(w, a, now);
    no_idle_while_runnable();
    out.makespan = std::max(out.makespan, now);
  }
  CHECK(s.all_done());
  CHECK(s.remaining() == 0);
  // Rule 6: every kept copy was released once its children had started.
  for (int w = 0; w < workers; ++w) CHECK(s.kept_by(w).empty());
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    INFO("node " << i);
    CHECK(times_run[i] == ((!done.empty() && done[i]) ? 0 : 1));
  }
  // Finished: every worker asking now is told so.
  for (int w = 0; w < workers; ++w) CHECK(s.next(w, out.makespan).finished);
  return out;
}

SweepConfig triples_config() {
  SweepConfig c = load_config(testing::source_dir() / "configs" / "xtreme-r-triples.toml");
  c.data.cache = "/nonexistent/ordertune-scheduler-test.h5";  // nominal costs, whatever is built
  return c;
}

}  // namespace

TEST_CASE("a chain takes the sum of its costs on any number of workers", "[scheduler]") {
  TreeBuilder b(1);
  const int64_t a = b.stage(0, 2);
  const int64_t c = b.stage(a, 3);
  b.stage(c, 4);
  const Plan plan = b.build();
  for (int workers : {1, 2, 3}) {
    INFO(workers << " workers");
    // The root on every worker (1 / workers), then the chain on one.
    const SimulationResult r = simulate(plan, workers);
    CHECK(r.makespan_s == Approx(9 + 1.0 / workers));
    CHECK(r.lower_bound_s == Approx(9 + 1.0 / workers));
    CHECK(r.from_memory == 3);  // each stage continues the worker's own encoder
    CHECK(run_checked(plan, workers).makespan == Approx(9 + 1.0 / workers));
  }
}

TEST_CASE("a star spreads its leaves over the workers", "[scheduler]") {
  // Root 1 on every worker, six leaves of 2: 1 + 12 on one worker, 1/2 + 6 on two, 1/3 + 4 on
  // three, every worker busy all the time.
  TreeBuilder b(1);
  for (int i = 0; i < 6; ++i) b.target(0, 2);
  const Plan plan = b.build();
  CHECK(simulate(plan, 1).makespan_s == Approx(13));
  CHECK(simulate(plan, 2).makespan_s == Approx(6.5));
  CHECK(simulate(plan, 3).makespan_s == Approx(1.0 / 3 + 4));
  const SimulationResult r = simulate(plan, 3);
  CHECK(r.busy_fraction == Approx(1.0));
  CHECK(r.worker_busy_s[0] == Approx(1.0 / 3 + 4));
  CHECK(r.runs[0].node == 0);
  CHECK(r.runs[0].worker == -1);  // the root's one run, on every worker
  CHECK(r.from_memory == 6);      // every worker holds the root
}

TEST_CASE("the critical path goes first", "[scheduler]") {
  // Root 1; a chain s1 (4) > s2 (4) and four leaves of 2 under the root. Work 17, path 9.
  // Two workers: the root (1/2 on both), then worker 0 takes s1 and s2 (8), worker 1 the leaves.
  TreeBuilder b(1);
  const int64_t s1 = b.stage(0, 4);
  b.stage(s1, 4);
  for (int i = 0; i < 4; ++i) b.target(0, 2);
  const Plan plan = b.build();
  CHECK(plan.lower_bound_s(1) == Approx(17));
  CHECK(plan.lower_bound_s(2) == Approx(8.5));
  CHECK(simulate(plan, 1).makespan_s == Approx(17));
  CHECK(simulate(plan, 2).makespan_s == Approx(8.5));
  CHECK(simulate(plan, 3).makespan_s == Approx(8 + 1.0 / 3));
  // Shortest-first would be worse: leaves first on both workers, then the chain: 0.5 + 4 + 8.
  const SimulationResult r = simulate(plan, 2);
  CHECK(r.runs[1].node == s1);
  CHECK(r.runs[1].worker == 0);
}

TEST_CASE("target leaves stay with the worker holding their order's encoder", "[scheduler]") {
  // Root 1; stages a, b (5 each) with two leaves of 1 each. Two workers: after the root (1/2
  // on both) one trains a, the other b, both from memory; each then runs its own leaves.
  TreeBuilder b(1);
  const int64_t a = b.stage(0, 5);
  const int64_t bb = b.stage(0, 5);
  const int64_t ta1 = b.target(a, 1), ta2 = b.target(a, 1);
  const int64_t tb1 = b.target(bb, 1), tb2 = b.target(bb, 1);
  const Plan plan = b.build();
  const SimulationResult r = simulate(plan, 2);
  CHECK(r.makespan_s == Approx(7.5));
  std::map<int64_t, SimulatedRun> run;
  for (const SimulatedRun& x : r.runs) run[x.node] = x;
  CHECK(run[ta1].worker == run[a].worker);
  CHECK(run[ta2].worker == run[a].worker);
  CHECK(run[tb1].worker == run[bb].worker);
  CHECK(run[tb2].worker == run[bb].worker);
  for (int64_t t : {ta1, ta2, tb1, tb2}) CHECK(run[t].source == WeightSource::kOwnMemory);
  // Both workers hold the root after computing it together: nothing is read from the file.
  CHECK(r.from_memory == 6);
  CHECK(r.from_file == 0);
  CHECK(r.from_peer == 0);
}

TEST_CASE("locality yields to critical work, and only to critical work", "[scheduler]") {
  // Root 1; B (1) with two long children C1, C2 (50); A (1) with a leaf ta (10).
  TreeBuilder b(1);
  const int64_t B = b.stage(0, 1);
  const int64_t A = b.stage(0, 1);
  const int64_t c1 = b.stage(B, 50);
  const int64_t c2 = b.stage(B, 50);
  const int64_t ta = b.target(A, 10);
  SECTION("critical: the worker holding A leaves ta for C2") {
    const Plan plan = b.build();
    Scheduler s(plan, 3);
    CHECK(s.next(0, 0).node == 0);
    CHECK(s.next(1, 0).node == -1);
    CHECK(s.waiting(1));
    s.finished(0, 0, 1, 1);
    CHECK(s.next(0, 1).node == B);  // priority 51, from its own memory
    const auto woken = s.assign_waiting(1);
    REQUIRE(woken.size() == 1);  // worker 2 never asked
    CHECK(woken[0].first == 1);
    CHECK(woken[0].second.node == A);
    CHECK(woken[0].second.source == WeightSource::kResultsFile);  // worker 0 retrains the root
    s.finished(0, B, 2, 1);
    s.finished(1, A, 2, 1);
    const Assignment w0 = s.next(0, 2);
    CHECK(w0.node == c1);
    CHECK(w0.source == WeightSource::kOwnMemory);
    // Worker 1 holds A. Remaining work 110 s on 3 workers, so the horizon is C2's own 50 s:
    // C2 is critical and ta (10 < 0.9 * 50) would delay it.
    const Assignment w1 = s.next(1, 2);
    CHECK(w1.node == c2);
    CHECK(w1.source == WeightSource::kResultsFile);
    CHECK(s.next(2, 2).node == ta);
  }
  SECTION("not critical: with much work left, the worker holding A runs ta first") {
    for (int i = 0; i < 20; ++i) b.target(c1, 30);  // C1's priority becomes 80, B's 81
    const Plan plan = b.build();
    Scheduler s(plan, 3);
    s.next(0, 0);
    s.next(1, 0);
    s.finished(0, 0, 1, 1);
    CHECK(s.next(0, 1).node == B);
    CHECK(s.assign_waiting(1).at(0).second.node == A);
    s.finished(0, B, 2, 1);
    s.finished(1, A, 2, 1);
    CHECK(s.next(0, 2).node == c1);
    // Remaining work 50 + 50 + 10 + 600 = 710 s on 3 workers: horizon 237 s, and C2 (50) has
    // slack. Worker 1 stays with A's encoder.
    const Assignment w1 = s.next(1, 2);
    CHECK(w1.node == ta);
    CHECK(w1.source == WeightSource::kOwnMemory);
    CHECK(s.next(2, 2).node == c2);
  }
}

TEST_CASE("a worker whose encoder has children keeps to them when nothing is critical",
          "[scheduler]") {
  // Root 1; X (1) with three leaves (5); Y (1) with 30 leaves (20).
  TreeBuilder b(1);
  const int64_t x = b.stage(0, 1);
  const int64_t y = b.stage(0, 1);
  std::vector<int64_t> x_leaves;
  for (int i = 0; i < 3; ++i) x_leaves.push_back(b.target(x, 5));
  for (int i = 0; i < 30; ++i) b.target(y, 20);
  const Plan plan = b.build();
  Scheduler s(plan, 2);
  s.next(0, 0);
  s.next(1, 0);
  s.finished(0, 0, 1, 1);
  CHECK(s.next(0, 1).node == y);  // priority 21 > 6
  CHECK(s.assign_waiting(1).at(0).second.node == x);
  s.finished(0, y, 2, 1);
  s.finished(1, x, 2, 1);
  // Y's leaves (20) outrank X's (5), but 615 s of work remain on 2 workers: worker 1 runs X's
  // leaves from memory, worker 0 Y's.
  double now = 2;
  for (int64_t leaf : x_leaves) {
    const Assignment a = s.next(1, now);
    CHECK(a.node == leaf);
    CHECK(a.source == WeightSource::kOwnMemory);
    now += 5;
    s.finished(1, leaf, now, 5);
  }
  CHECK(s.held_by(1) == x);
  const Assignment a0 = s.next(0, 2);
  CHECK(plan.nodes[a0.node].parent == y);
  CHECK(a0.source == WeightSource::kOwnMemory);
}

TEST_CASE("schedules of random trees keep every invariant", "[scheduler]") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Plan plan = random_tree(seed, 150);
    for (int workers : {1, 2, 3, 5, 16}) {
      INFO("seed " << seed << ", " << workers << " workers");
      const Checked c = run_checked(plan, workers);
      const SimulationResult r = simulate(plan, workers);
      CHECK(r.makespan_s == Approx(c.makespan));
      CHECK(r.makespan_s >= plan.lower_bound_s(workers) * (1 - 1e-12));
      CHECK(r.busy_fraction <= 1.0 + 1e-12);
      // Transfers only lengthen the schedule, and are counted.
      const SimulationResult slow = simulate(plan, workers, 1.0, 5.0);
      CHECK(slow.makespan_s >= plan.lower_bound_s(workers) * (1 - 1e-12));
      CHECK(slow.transfer_s == Approx(1.0 * slow.from_peer + 5.0 * slow.from_file));
      CHECK(slow.from_memory + slow.from_peer + slow.from_file ==
            static_cast<int64_t>(plan.nodes.size()) - 1);
      if (workers == 1) CHECK(r.makespan_s == Approx(plan.total_work_s));
    }
  }
}

TEST_CASE(
    "without encoders in the file, the last copy of a parent is kept until its children start",
    "[scheduler]") {
  // Root 1; A (1) with two stage children AB and AC (10 each).
  TreeBuilder b(1);
  const int64_t A = b.stage(0, 1);
  const int64_t AB = b.stage(A, 10);
  const int64_t AC = b.stage(A, 10);
  const Plan plan = b.build();
  SECTION("one worker continues from its kept copy") {
    Scheduler s(plan, 1, {}, /*parents_in_file=*/false);
    s.complete_everywhere(0, 1);
    Assignment a = s.next(0, 1);
    CHECK(a.node == A);
    CHECK_FALSE(a.keep_held);  // the root has no other child
    s.finished(0, A, 2, 1);
    a = s.next(0, 2);
    CHECK(a.node == AB);
    CHECK(a.source == WeightSource::kOwnMemory);
    CHECK(a.keep_held);  // AC has not started and nobody else holds A
    CHECK(s.kept_by(0) == std::set<int64_t>{A});
    CHECK(s.take_releases().empty());
    s.finished(0, AB, 12, 10);
    a = s.next(0, 12);
    CHECK(a.node == AC);
    CHECK(a.source == WeightSource::kOwnMemory);  // from the kept copy
    CHECK_FALSE(a.keep_held);                     // AB has no children
    CHECK(s.take_releases() == std::vector<std::pair<int, int64_t>>{{0, A}});
    CHECK(s.kept_by(0).empty());
  }
  SECTION("with encoders in the file, nothing is kept and AC reads the file") {
    Scheduler s(plan, 1);
    s.complete_everywhere(0, 1);
    s.next(0, 1);
    s.finished(0, A, 2, 1);
    CHECK_FALSE(s.next(0, 2).keep_held);
    s.finished(0, AB, 12, 10);
    CHECK(s.next(0, 12).source == WeightSource::kResultsFile);
  }
  SECTION("a second worker gets the kept copy from its keeper, which then frees it") {
    Scheduler s(plan, 2, {}, /*parents_in_file=*/false);
    s.complete_everywhere(0, 1);
    CHECK(s.next(0, 1).node == A);
    CHECK(s.next(1, 1).node == -1);  // nothing else is runnable
    s.finished(0, A, 2, 1);
    const Assignment a0 = s.next(0, 2);
    CHECK(a0.node == AB);
    CHECK(a0.keep_held);
    const auto woken = s.assign_waiting(2);
    REQUIRE(woken.size() == 1);
    CHECK(woken[0].second.node == AC);
    CHECK(woken[0].second.source == WeightSource::kPeer);
    CHECK(woken[0].second.peer == 0);
    CHECK(s.take_releases() == std::vector<std::pair<int, int64_t>>{{0, A}});
  }
}

TEST_CASE(
    "without encoders in the file, a worker finishes a kept copy's children before opening its own",
    "[scheduler]") {
  // Root 1; A and B (1 each); A's children A1, A2 (10 each), B's B1, B2 (12 each). Two workers.
  TreeBuilder b(1);
  const int64_t A = b.stage(0, 1);
  const int64_t B = b.stage(0, 1);
  const int64_t A1 = b.stage(A, 10);
  const int64_t A2 = b.stage(A, 10);
  const int64_t B1 = b.stage(B, 12);
  b.stage(B, 12);
  const Plan plan = b.build();
  Scheduler s(plan, 2, {}, /*parents_in_file=*/false);
  s.complete_everywhere(0, 0.5);
  CHECK(s.next(0, 0.5).node == B);  // priorities: B 13, A 11
  CHECK(s.next(1, 0.5).node == A);
  s.finished(0, B, 1.5, 1);
  s.finished(1, A, 1.5, 1);
  // Worker 1 holds A: it trains A1 and keeps A for A2.
  const Assignment a1 = s.next(1, 1.5);
  CHECK(a1.node == A1);
  CHECK(a1.keep_held);
  // Worker 0 holds B, whose child B1 (12) outranks A2 (10). With 44 s of work left on 2 workers
  // nothing is critical, so it takes A2 from worker 1's kept copy (which is then freed) instead of
  // opening B by training B1.
  const Assignment a0 = s.next(0, 1.5);
  CHECK(a0.node == A2);
  CHECK(a0.source == WeightSource::kPeer);
  CHECK(a0.peer == 1);
  CHECK(s.take_releases() == std::vector<std::pair<int, int64_t>>{{1, A}});
  // Worker 0 keeps B for B1 and B2: one copy in all, where training B1 would have kept two.
  CHECK(a0.keep_held);
  CHECK(s.kept_by(0) == std::set<int64_t>{B});
  CHECK(s.kept_by(1).empty());
  CHECK(s.is_runnable(B1));
}

TEST_CASE("without encoders in the file, random trees never need it", "[scheduler]") {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const Plan plan = random_tree(seed, 150);
    for (int workers : {1, 2, 3, 5, 16}) {
      INFO("seed " << seed << ", " << workers << " workers");
      const Checked c = run_checked(plan, workers, {}, /*parents_in_file=*/false);
      const SimulationResult r = simulate(plan, workers, 1.0, 5.0, /*parents_in_file=*/false);
      CHECK(r.from_file == 0);
      CHECK(r.makespan_s >= plan.lower_bound_s(workers) * (1 - 1e-12));
      if (workers == 1) CHECK(c.makespan == Approx(plan.total_work_s));
    }
  }
  // The triples study: how many copies one worker keeps at most (printed, and bounded by the
  // stage nodes it could ever hold).
  const SweepConfig tc = triples_config();
  const Plan plan = build_plan(tc, CostModel::from_config(tc));
  for (int workers : {8, 64, 512}) {
    const SimulationResult r = simulate(plan, workers, 0.0, 0.0, /*parents_in_file=*/false);
    std::printf(
        "xtreme-r-triples without checkpoints, %d workers: makespan / lower bound %.4f, at most "
        "%lld kept encoders per worker, weights from memory/peer %lld/%lld\n",
        workers, r.makespan_s / plan.lower_bound_s(workers), static_cast<long long>(r.max_kept),
        static_cast<long long>(r.from_memory), static_cast<long long>(r.from_peer));
    CHECK(r.from_file == 0);
    CHECK(r.makespan_s <= 1.05 * plan.lower_bound_s(workers));
    // Kept copies stay few (without rule 6's closing step: 28 on 8 workers, 4 on 64; with it, 5
    // on 8 since a Mewsli-X leaf encodes its candidates once).
    CHECK(r.max_kept <= 5);
  }
}

TEST_CASE("a resumed sweep runs only what is not done", "[scheduler]") {
  const Plan plan = random_tree(42, 120);
  // Done: the root and every node whose id is not a multiple of 3 and whose parent is done.
  std::vector<uint8_t> done(plan.nodes.size(), 0);
  done[0] = 1;
  for (size_t i = 1; i < plan.nodes.size(); ++i)
    if (i % 3 != 0 && done[plan.nodes[i].parent]) done[i] = 1;
  const int64_t n_done = std::count(done.begin(), done.end(), 1);
  REQUIRE(n_done > 5);
  Scheduler s(plan, 3, done);
  CHECK(s.remaining() == static_cast<int64_t>(plan.nodes.size()) - n_done);
  CHECK_FALSE(s.is_runnable(0));
  // Nobody holds anything after a restart: parents come from the results file.
  const Assignment a = s.next(0, 0);
  REQUIRE(a.node > 0);
  CHECK(done[plan.nodes[a.node].parent]);
  CHECK(a.source == WeightSource::kResultsFile);
  for (int workers : {1, 4}) run_checked(plan, workers, done);
  // Everything done: nothing to run.
  const std::vector<uint8_t> all(plan.nodes.size(), 1);
  Scheduler finished(plan, 2, all);
  CHECK(finished.all_done());
  CHECK(finished.next(1, 0).finished);
}

TEST_CASE("measured times refine priorities and the estimated remaining work", "[scheduler]") {
  TreeBuilder b(10);
  const int64_t a = b.stage(0, 100);
  b.target(a, 5);
  b.target(0, 20);
  const Plan plan = b.build();
  Scheduler s(plan, 2);
  Progress p = s.progress();
  CHECK(p.total_nodes == 4);
  CHECK(p.remaining_work_s == Approx(135));
  CHECK(p.eta_s == Approx(115));  // max(135 / 2, 10 + 100 + 5)
  s.next(0, 0);
  s.finished(0, 0, 20, 20);  // twice the estimate
  CHECK(s.costs().correction("root") == Approx(2));
  CHECK(s.estimate(a) == Approx(200));  // unobserved keys take the overall ratio
  CHECK(s.priority(a) == Approx(210));
  p = s.progress();
  CHECK(p.done_nodes == 1);
  CHECK(p.done_work_s == Approx(20));
  CHECK(p.remaining_work_s == Approx(250));
  CHECK(p.eta_s == Approx(210));
}

TEST_CASE("the X-STILTs triples study schedules within 5% of the lower bound", "[scheduler]") {
  const SweepConfig c = triples_config();
  const Plan plan = build_plan(c, CostModel::from_config(c));
  REQUIRE(plan.stage_runs == 3513);
  // XCOPA's Social IQa pre-stage under each of the 3 * 586 orders, kept out of the results file:
  // the scheduler must hand each to its leaf from a worker's memory (rule 6; it stops on a node
  // whose parent neither a worker nor the file has).
  REQUIRE(std::count_if(plan.nodes.begin(), plan.nodes.end(),
                        [](const PlanNode& n) { return n.target_prestage; }) == 3 * 586);
  for (int workers : {8, 64, 512, 4096}) {
    const SimulationResult r = simulate(plan, workers);
    const double lb = plan.lower_bound_s(workers);
    std::printf(
        "xtreme-r-triples, %4d workers: makespan %.0f s, lower bound %.0f s, ratio %.4f, busy "
        "%.3f, "
        "weights from memory/peer/file %lld/%lld/%lld\n",
        workers, r.makespan_s, lb, r.makespan_s / lb, r.busy_fraction,
        static_cast<long long>(r.from_memory), static_cast<long long>(r.from_peer),
        static_cast<long long>(r.from_file));
    INFO(workers << " workers: makespan " << r.makespan_s << ", lower bound " << lb);
    CHECK(r.makespan_s >= lb * (1 - 1e-12));
    CHECK(r.makespan_s <= 1.05 * lb);
  }
}

TEST_CASE("ordertune plan prints the numbers, one JSON line with --json", "[scheduler][cli]") {
  PlanCommand cmd;
  cmd.config = (testing::source_dir() / "configs" / "xtreme-r-pairs.toml").string();
  cmd.ranks = 16;
  cmd.simulate = true;
  cmd.json = true;
  std::ostringstream out;
  CHECK(run_plan(cmd, out) == kExitOk);
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"nodes", "stage_runs", "naive_stage_runs", "target_runs",
                                         "total_work_s", "longest_path_s", "lower_bound_s",
                                         "makespan_s", "busy_fraction", "results_file_bytes",
                                         "memory_per_rank_bytes"});
  CHECK(j["stage_runs"] == 3 * (81 + 82));  // orders' prefixes and XCOPA's pre-stage per order
  CHECK(j["memory_per_rank_bytes"] == 559'890'432LL * 20);

  cmd.json = false;
  cmd.simulate = false;
  std::ostringstream human;
  run_plan(cmd, human);
  CHECK_THAT(human.str(), Contains("stage_runs: 489\n"));
  CHECK_THAT(human.str(), Contains("costs: "));
  CHECK_THAT(human.str(), !Contains("makespan_s"));

  cmd.ranks = 0;
  CHECK_THROWS_AS(run_plan(cmd, human), ConfigError);
}

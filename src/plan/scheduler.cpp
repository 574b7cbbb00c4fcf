#include "ordertune/plan/scheduler.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <queue>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/config/config.h"
#include "ordertune/data/data_cache.h"

namespace ordertune {

const char* weight_source_name(WeightSource source) {
  switch (source) {
    case WeightSource::kNone:
      return "none";
    case WeightSource::kOwnMemory:
      return "own_memory";
    case WeightSource::kPeer:
      return "peer";
    case WeightSource::kResultsFile:
      return "results_file";
  }
  return "?";
}

// ---- scheduler ----------------------------------------------------------------------------------

bool Scheduler::ByPriority::operator()(int64_t a, int64_t b) const {
  const double pa = s->priority_[static_cast<size_t>(a)], pb = s->priority_[static_cast<size_t>(b)];
  if (pa != pb) return pa > pb;
  return a < b;
}

Scheduler::Scheduler(const Plan& plan, int workers, const std::vector<uint8_t>& done,
                     bool parents_in_file)
    : plan_(plan),
      workers_(workers),
      costs_(plan.costs),
      runnable_(ByPriority{this}),
      parents_in_file_(parents_in_file) {
  const size_t n = plan.nodes.size();
  OT_CHECK(workers >= 1, "a scheduler needs at least one worker, got {}", workers);
  OT_CHECK(done.empty() || done.size() == n, "done marks for {} nodes, the plan has {}",
           done.size(), n);
  state_.assign(n, State::kBlocked);
  priority_.assign(n, 0.0);
  start_.assign(n, 0.0);
  held_.assign(static_cast<size_t>(workers), -1);
  running_.assign(static_cast<size_t>(workers), -1);
  holders_.assign(n, {});
  kept_.assign(static_cast<size_t>(workers), {});
  unstarted_.assign(n, 0);
  key_index_.resize(n);
  std::map<std::string, int> index;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = CostModel::key(plan.nodes[i]);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, static_cast<int>(keys_.size())).first;
      keys_.push_back(key);
    }
    key_index_[i] = it->second;
    if (!done.empty() && done[i]) {
      state_[i] = State::kDone;
      ++done_count_;
    }
  }
  recompute_priorities();
  for (size_t i = 0; i < n; ++i) {
    if (state_[i] == State::kDone) continue;
    const int64_t parent = plan.nodes[i].parent;
    if (parent >= 0) ++unstarted_[static_cast<size_t>(parent)];
    if (parent < 0 || state_[static_cast<size_t>(parent)] == State::kDone)
      make_runnable(static_cast<int64_t>(i));
  }
}

double Scheduler::estimate(int64_t node) const {
  return costs_.estimate(plan_.nodes[static_cast<size_t>(node)]);
}

// Longest remaining path per node, bottom-up (children have larger ids). Done nodes add nothing.
void Scheduler::recompute_priorities() {
  std::vector<int64_t> queued(runnable_.begin(), runnable_.end());
  runnable_.clear();  // the set's order depends on priority_: empty it while priorities change
  factors_at_priority_.assign(keys_.size(), 1.0);
  for (size_t k = 0; k < keys_.size(); ++k) factors_at_priority_[k] = costs_.correction(keys_[k]);
  remaining_work_s_ = 0.0;
  for (size_t i = plan_.nodes.size(); i-- > 0;) {
    const PlanNode& node = plan_.nodes[i];
    double below = 0.0;
    for (int64_t c : node.children) below = std::max(below, priority_[static_cast<size_t>(c)]);
    double own = 0.0;
    if (state_[i] != State::kDone) {
      own = node.cost_s * factors_at_priority_[static_cast<size_t>(key_index_[i])];
      remaining_work_s_ += own;
    }
    priority_[i] = own + below;
  }
  runnable_.insert(queued.begin(), queued.end());
}

void Scheduler::make_runnable(int64_t node) {
  state_[static_cast<size_t>(node)] = State::kRunnable;
  runnable_.insert(node);
}

int64_t Scheduler::best_local(int worker, NodeKind kind) const {
  const int64_t held = held_[static_cast<size_t>(worker)];
  if (held < 0) return -1;
  int64_t best = -1;
  for (int64_t c : plan_.nodes[static_cast<size_t>(held)].children) {
    if (state_[static_cast<size_t>(c)] != State::kRunnable) continue;
    if (plan_.nodes[static_cast<size_t>(c)].kind != kind) continue;
    if (best < 0 || ByPriority{this}(c, best)) best = c;
  }
  return best;
}

void Scheduler::set_held(int worker, int64_t node) {
  int64_t& held = held_[static_cast<size_t>(worker)];
  if (held >= 0) {
    auto& h = holders_[static_cast<size_t>(held)];
    h.erase(std::remove(h.begin(), h.end(), worker), h.end());
  }
  held = node;
  if (node >= 0) holders_[static_cast<size_t>(node)].push_back(worker);
}

Assignment Scheduler::assign(int worker, int64_t node, double now) {
  const PlanNode& n = plan_.nodes[static_cast<size_t>(node)];
  Assignment a;
  a.node = node;
  if (n.parent < 0) {
    a.source = WeightSource::kNone;
  } else if (held_[static_cast<size_t>(worker)] == n.parent ||
             kept_[static_cast<size_t>(worker)].count(n.parent)) {
    a.source = WeightSource::kOwnMemory;
  } else {
    const auto& holders = holders_[static_cast<size_t>(n.parent)];
    for (int h : holders) {  // an idle holder first, then the lowest index
      const bool idle = running_[static_cast<size_t>(h)] < 0;
      const bool peer_idle = a.peer >= 0 && running_[static_cast<size_t>(a.peer)] < 0;
      if (a.peer < 0 || (idle && !peer_idle) || (idle == peer_idle && h < a.peer)) a.peer = h;
    }
    a.source = a.peer >= 0 ? WeightSource::kPeer : WeightSource::kResultsFile;
    OT_CHECK(in_file(n.parent) || a.peer >= 0,
             "node {}: no worker holds parent {} and the results file keeps no encoders",
             node_name(n), n.parent);
  }
  runnable_.erase(node);
  state_[static_cast<size_t>(node)] = State::kRunning;
  start_[static_cast<size_t>(node)] = now;
  running_[static_cast<size_t>(worker)] = node;
  waiting_.erase(worker);
  if (n.parent >= 0) --unstarted_[static_cast<size_t>(n.parent)];
  // Training a root or stage node replaces the encoder the worker held (in place, or with weights
  // received); a target leaf fine-tunes a copy. Rule 6: the last copy of an encoder whose
  // children have not all started is kept.
  if (n.kind != NodeKind::kTarget) {
    const int64_t held = held_[static_cast<size_t>(worker)];
    if (held >= 0 && !in_file(held) && unstarted_[static_cast<size_t>(held)] > 0 &&
        holders_[static_cast<size_t>(held)].size() == 1) {
      kept_[static_cast<size_t>(worker)].insert(held);
      kept_anywhere_.insert(held);
      held_[static_cast<size_t>(worker)] = -1;  // still among the holders of `held`
      a.keep_held = true;
    } else {
      set_held(worker, -1);
    }
  }
  // The parent's last child has started: its kept copies may go.
  if (n.parent >= 0 && unstarted_[static_cast<size_t>(n.parent)] == 0) {
    kept_anywhere_.erase(n.parent);
    auto& holders = holders_[static_cast<size_t>(n.parent)];
    for (int w : std::vector<int>(holders))  // a copy: releasing edits the list
      if (kept_[static_cast<size_t>(w)].erase(n.parent)) {
        holders.erase(std::remove(holders.begin(), holders.end(), w), holders.end());
        releases_.emplace_back(w, n.parent);
      }
  }
  return a;
}

std::vector<std::pair<int, int64_t>> Scheduler::take_releases() {
  std::vector<std::pair<int, int64_t>> out;
  out.swap(releases_);
  return out;
}

Assignment Scheduler::next(int worker, double now) {
  OT_CHECK(worker >= 0 && worker < workers_, "worker {} out of range (0..{})", worker,
           workers_ - 1);
  OT_CHECK(running_[static_cast<size_t>(worker)] < 0,
           "worker {} asks for work while running node {}", worker,
           running_[static_cast<size_t>(worker)]);
  if (all_done()) {
    waiting_.erase(worker);
    Assignment a;
    a.finished = true;
    return a;
  }
  if (runnable_.empty()) {
    waiting_.insert(worker);
    return {};
  }
  const int64_t best = *runnable_.begin();
  const double p_best = priority_[static_cast<size_t>(best)];
  const double horizon = std::max(remaining_work_s_ / workers_, p_best);
  const bool best_is_critical = p_best > kCriticalFraction * horizon;
  // Rule 3: a target leaf of the held encoder (it keeps the encoder), then a stage child (it
  // consumes it), unless either would delay critical work elsewhere.
  auto acceptable = [&](int64_t local) {
    return local >= 0 && (local == best || !best_is_critical ||
                          priority_[static_cast<size_t>(local)] >= kLocalityFraction * p_best);
  };
  int64_t choice = best;
  const int64_t local_target = best_local(worker, NodeKind::kTarget);
  const int64_t local_stage = best_local(worker, NodeKind::kStage);
  // Rule 6: the best child of the kept copy with the fewest children left to start.
  int64_t closing = -1;
  if (!kept_anywhere_.empty()) {
    int64_t fewest = -1;
    for (int64_t k : kept_anywhere_)  // ascending ids: ties go to the smaller
      if (fewest < 0 ||
          unstarted_[static_cast<size_t>(k)] < unstarted_[static_cast<size_t>(fewest)])
        fewest = k;
    for (int64_t c : plan_.nodes[static_cast<size_t>(fewest)].children)
      if (state_[static_cast<size_t>(c)] == State::kRunnable &&
          (closing < 0 || ByPriority{this}(c, closing)))
        closing = c;
  }
  if (acceptable(local_target))
    choice = local_target;
  else if (acceptable(closing))
    choice = closing;
  else if (acceptable(local_stage))
    choice = local_stage;
  return assign(worker, choice, now);
}

void Scheduler::started(int worker, int64_t node, double now) {
  OT_CHECK(running_[static_cast<size_t>(worker)] == node, "worker {} did not get node {}", worker,
           node);
  start_[static_cast<size_t>(node)] = now;
}

void Scheduler::finished(int worker, int64_t node, double now, double measured_seconds) {
  (void)now;
  OT_CHECK(worker >= 0 && worker < workers_, "worker {} out of range (0..{})", worker,
           workers_ - 1);
  OT_CHECK(running_[static_cast<size_t>(worker)] == node, "worker {} finished node {} but runs {}",
           worker, node, running_[static_cast<size_t>(worker)]);
  running_[static_cast<size_t>(worker)] = -1;
  if (plan_.nodes[static_cast<size_t>(node)].kind != NodeKind::kTarget) set_held(worker, node);
  mark_done(node, measured_seconds);
}

void Scheduler::complete_everywhere(int64_t node, double measured_seconds) {
  const size_t i = static_cast<size_t>(node);
  OT_CHECK(node >= 0 && node < static_cast<int64_t>(plan_.nodes.size()) &&
               plan_.nodes[i].parent < 0 && state_[i] == State::kRunnable,
           "complete_everywhere: node {} is not a runnable root", node);
  for (int w = 0; w < workers_; ++w)
    OT_CHECK(running_[static_cast<size_t>(w)] < 0, "complete_everywhere: worker {} runs node {}", w,
             running_[static_cast<size_t>(w)]);
  runnable_.erase(node);
  for (int w = 0; w < workers_; ++w) set_held(w, node);
  // Costs are in one worker's seconds: the wall time of all workers together, times workers.
  mark_done(node, measured_seconds * workers_);
}

void Scheduler::mark_done(int64_t node, double measured_seconds) {
  const size_t i = static_cast<size_t>(node);
  const PlanNode& n = plan_.nodes[i];
  state_[i] = State::kDone;
  ++done_count_;
  remaining_work_s_ -= n.cost_s * factors_at_priority_[static_cast<size_t>(key_index_[i])];
  for (int64_t c : n.children)
    if (state_[static_cast<size_t>(c)] == State::kBlocked) make_runnable(c);

  costs_.observe(keys_[static_cast<size_t>(key_index_[i])], n.cost_s, measured_seconds);
  for (size_t k = 0; k < keys_.size(); ++k) {
    const double now_factor = costs_.correction(keys_[k]);
    if (std::abs(now_factor / factors_at_priority_[k] - 1.0) > kRepriorityThreshold) {
      recompute_priorities();
      break;
    }
  }
}

std::vector<std::pair<int, Assignment>> Scheduler::assign_waiting(double now) {
  std::vector<std::pair<int, Assignment>> out;
  auto it = waiting_.begin();
  while (it != waiting_.end() && (all_done() || !runnable_.empty())) {
    const int worker = *it;
    ++it;  // next() removes `worker` from waiting_; the iterator stays valid
    out.emplace_back(worker, next(worker, now));
  }
  return out;
}

Progress Scheduler::progress() const {
  Progress p;
  p.total_nodes = static_cast<int64_t>(plan_.nodes.size());
  p.done_nodes = done_count_;
  p.runnable_nodes = static_cast<int64_t>(runnable_.size());
  double longest = 0.0;
  for (size_t i = 0; i < plan_.nodes.size(); ++i) {
    const double est = estimate(static_cast<int64_t>(i));
    if (state_[i] == State::kDone)
      p.done_work_s += est;
    else
      p.remaining_work_s += est;
  }
  for (int w = 0; w < workers_; ++w) {
    const int64_t node = running_[static_cast<size_t>(w)];
    if (node < 0) continue;
    ++p.running_nodes;
    longest = std::max(longest, priority_[static_cast<size_t>(node)]);
  }
  if (!runnable_.empty())
    longest = std::max(longest, priority_[static_cast<size_t>(*runnable_.begin())]);
  p.eta_s = std::max(p.remaining_work_s / workers_, longest);
  return p;
}

// ---- simulation ---------------------------------------------------------------------------------

SimulationResult simulate(const Plan& plan, int workers, double transfer_seconds_peer,
                          double transfer_seconds_file, bool parents_in_file) {
  Scheduler scheduler(plan, workers, {}, parents_in_file);
  SimulationResult r;
  r.workers = workers;
  r.lower_bound_s = plan.lower_bound_s(workers);
  r.worker_busy_s.assign(static_cast<size_t>(workers), 0.0);
  r.runs.reserve(plan.nodes.size());
  using Event = std::pair<double, int>;  // (end time, worker): earliest first, then lowest worker
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;

  auto launch = [&](int worker, const Assignment& a, double now) {
    if (a.node < 0) return;
    double transfer = 0.0;
    switch (a.source) {
      case WeightSource::kOwnMemory:
        ++r.from_memory;
        break;
      case WeightSource::kPeer:
        ++r.from_peer;
        transfer = transfer_seconds_peer;
        break;
      case WeightSource::kResultsFile:
        ++r.from_file;
        transfer = transfer_seconds_file;
        break;
      case WeightSource::kNone:
        break;
    }
    const double duration = plan.nodes[static_cast<size_t>(a.node)].cost_s;
    scheduler.started(worker, a.node, now + transfer);
    const double end = now + transfer + duration;
    r.transfer_s += transfer;
    r.worker_busy_s[static_cast<size_t>(worker)] += transfer + duration;
    r.runs.push_back({a.node, worker, now, end, a.source});
    r.makespan_s = std::max(r.makespan_s, end);
    events.emplace(end, worker);
    r.max_kept = std::max(r.max_kept, static_cast<int64_t>(scheduler.kept_by(worker).size()));
  };

  double t0 = 0.0;
  if (scheduler.is_runnable(0)) {  // rule 0: the root on every worker at once
    const double share = plan.nodes[0].cost_s / workers;
    t0 = share;
    for (double& b : r.worker_busy_s) b += share;
    r.runs.push_back({0, -1, 0.0, share, WeightSource::kNone});
    r.makespan_s = share;
    scheduler.complete_everywhere(0, share);
  }
  for (int w = 0; w < workers; ++w) launch(w, scheduler.next(w, t0), t0);
  std::vector<int> freed;
  while (!events.empty()) {
    const double now = events.top().first;
    freed.clear();
    while (!events.empty() && events.top().first == now) {  // every finish at this instant first
      const int w = events.top().second;
      events.pop();
      const int64_t node = scheduler.running_on(w);
      scheduler.finished(w, node, now, plan.nodes[static_cast<size_t>(node)].cost_s);
      freed.push_back(w);
    }
    // The workers that just finished ask first (they hold the new encoders), then those waiting.
    std::sort(freed.begin(), freed.end());
    for (int w : freed) launch(w, scheduler.next(w, now), now);
    for (const auto& [w, a] : scheduler.assign_waiting(now)) launch(w, a, now);
  }
  OT_CHECK(scheduler.all_done(), "simulation ended with {} nodes not done", scheduler.remaining());
  double busy = 0.0;
  for (double b : r.worker_busy_s) busy += b;
  r.busy_fraction = r.makespan_s > 0 ? busy / (workers * r.makespan_s) : 0.0;
  return r;
}

// ---- `ordertune plan`
// ----------------------------------------------------------------------------

int run_plan(const PlanCommand& command, std::ostream& out) {
  const SweepConfig config = load_config(command.config);
  const int group = config.sweep.group_size;
  if (command.ranks < 1)
    throw ConfigError(fmt::format("--ranks: expected an integer >= 1, got {}", command.ranks));
  if (command.ranks % group != 0)
    throw ConfigError(fmt::format("--ranks: expected a multiple of sweep.group_size ({}), got {}",
                                  group, command.ranks));
  const int workers = command.ranks / group;
  // Targets the sweep would refuse are refused here, before anyone books GPU hours.
  std::vector<std::string> scored;
  const bool have_cache = std::filesystem::exists(config.cache_path());
  if (have_cache) {
    const CacheReader cache(config.cache_path());
    check_cache_matches(cache, config);  // as the sweep: a cache of other settings is refused
    scored = check_scoring(cache, config);
  }
  const CostModel costs = CostModel::from_config(config);
  const Plan plan = build_plan(config, costs);
  const EncoderShape shape = encoder_shape(config);
  const ResourceEstimate resources = estimate_resources(plan, config, shape);

  nlohmann::ordered_json j;
  j["nodes"] = static_cast<int64_t>(plan.nodes.size());
  j["stage_runs"] = plan.stage_runs;
  j["naive_stage_runs"] = plan.naive_stage_runs;
  j["target_runs"] = plan.target_runs;
  j["total_work_s"] = plan.total_work_s;
  j["longest_path_s"] = plan.longest_path_s;
  j["lower_bound_s"] = plan.lower_bound_s(workers);
  if (command.simulate) {
    const bool none = config.output.checkpoints == CheckpointKeep::kNone;
    const SimulationResult sim = simulate(plan, workers, 0.0, 0.0, /*parents_in_file=*/!none);
    j["makespan_s"] = sim.makespan_s;
    j["busy_fraction"] = sim.busy_fraction;
    // Rule 6: without encoders in the file, workers keep copies until the children start.
    if (none) j["kept_encoders_max"] = sim.max_kept;
  }
  j["results_file_bytes"] = resources.results_file_bytes;
  // Rule 6's kept copies (fp32, in host memory) come on top of the working set when simulated.
  j["memory_per_rank_bytes"] =
      resources.memory_per_rank_bytes +
      (j.contains("kept_encoders_max") ? j["kept_encoders_max"].get<int64_t>() : 0) *
          resources.parameters * 4;

  if (command.json) {
    out << j.dump() << "\n";
    if (costs.nominal()) log::warn("costs are nominal: {}", costs.source());
    return kExitOk;
  }
  for (const auto& [key, value] : j.items()) {
    if (value.is_number_float() && key.size() > 2 && key.compare(key.size() - 2, 2, "_s") == 0)
      out << fmt::format("{}: {:.0f} ({:.1f} h)\n", key, value.get<double>(),
                         value.get<double>() / 3600.0);
    else if (value.is_number_float())
      out << fmt::format("{}: {:.4f}\n", key, value.get<double>());
    else if (key.size() > 6 && key.compare(key.size() - 6, 6, "_bytes") == 0)
      out << fmt::format("{}: {} ({:.1f} GiB)\n", key, value.get<int64_t>(),
                         static_cast<double>(value.get<int64_t>()) / (1024.0 * 1024.0 * 1024.0));
    else
      out << fmt::format("{}: {}\n", key, value.dump());
  }
  out << fmt::format("workers: {} ({} ranks / group_size {})\n", workers, command.ranks, group);
  out << fmt::format("costs: {}\n", costs.source());
  if (!config.targets.empty())
    out << (have_cache ? fmt::format("scored: {}\n", fmt::join(scored, ", "))
                       : fmt::format("scored: not known until prepare writes {}\n",
                                     config.cache_path().string()));
  std::map<std::string, std::pair<double, int64_t>> per_key;  // seconds of one node, nodes
  for (const PlanNode& n : plan.nodes) {
    auto& [seconds, count] = per_key[CostModel::key(n)];
    seconds = n.cost_s;
    ++count;
  }
  for (const auto& [key, v] : per_key)
    out << fmt::format("cost {}: {:.0f} s x {} nodes\n", key, v.first, v.second);
  out << fmt::format("encoder: {} parameters ({}), {} checkpoints kept ({})\n",
                     resources.parameters, shape.source, resources.checkpoints_kept,
                     choice_name(config.output.checkpoints));
  return kExitOk;
}

}  // namespace ordertune

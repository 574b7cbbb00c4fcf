#include "ordertune/sweep/sweep.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <thread>
#include <variant>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/data/data_cache.h"
#include "ordertune/dist/communicator.h"
#include "ordertune/dist/mpi_check.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/model/weights.h"
#include "ordertune/plan/plan.h"
#include "ordertune/plan/scheduler.h"
#include "ordertune/sweep/node_run.h"
#include "ordertune/sweep/peer_transfer.h"
#include "ordertune/sweep/protocol.h"
#include "ordertune/sweep/results.h"
#include "ordertune/sweep/resume.h"
#include "ordertune/train/runner.h"

namespace ordertune {

namespace {

using protocol::Drop;
using protocol::Finish;
using protocol::Reply;
using protocol::Request;
using protocol::Run;
using protocol::Serve;
using protocol::Stop;

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

constexpr auto kPollSleep = std::chrono::milliseconds(2);
constexpr double kBarRefreshSeconds = 0.5;

// "45s", "12m05s", "3h12m", "2d04h": durations as a person reads them in a progress line.
std::string human_duration(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, std::round(seconds)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02d}m", s / 3600, s % 3600 / 60);
  return fmt::format("{}d{:02d}h", s / 86400, s % 86400 / 3600);
}

// ---- coordinator (world rank 0) -----------------------------------------------------------------

// Answers the workers' requests from the Scheduler, in the order protocol.h prescribes (checked
// by its ReplyOrder before every reply). Replies to worker 0 (this rank's own worker) go into a
// queue in the same order, instead of over MPI.
class Coordinator {
 public:
  Coordinator(const Plan& plan, int workers, const std::vector<uint8_t>& done, bool parents_in_file,
              int group_size, const SweepOptions& options, MPI_Comm world)
      : plan_(plan),
        sched_(plan, workers, done, parents_in_file),
        order_(plan, workers, group_size),
        group_size_(group_size),
        world_(world),
        start_(unix_now()),
        bar_(options.progress == ProgressStyle::kBar ||
             (options.progress == ProgressStyle::kAuto && log::stderr_is_terminal())),
        lines_(options.progress == ProgressStyle::kLines ||
               (options.progress == ProgressStyle::kAuto && !bar_)),
        line_every_(options.progress_every),
        last_line_(start_) {
    unanswered_.assign(static_cast<size_t>(workers), false);
    finished_.assign(static_cast<size_t>(workers), false);
  }

  // Handles pending requests from remote workers and answers what can be answered.
  void serve() {
    Request r;
    while (protocol::receive_request(world_, group_size_, &r)) request(r);
    report_progress();
    if (g_stop_signal)
      stop_all(fmt::format("signal {} on rank 0", static_cast<int>(g_stop_signal)));
    if (stopping_)  // every worker waiting for work is told to finish
      for (size_t w = 0; w < unanswered_.size(); ++w)
        if (unanswered_[w]) answer(static_cast<int>(w), Assignment{-1, true});
  }

  // Whether a signal on any rank stopped the sweep, and which ("a signal on rank 3").
  bool stopping() const { return stopping_; }
  const std::string& stop_origin() const { return stop_origin_; }

  // A worker reports its finished node (or -1) and asks for the next.
  void request(const Request& r) {
    const int w = r.worker;
    if (r.notice) {  // rule 7: serve() answers the request it waits on with Finish
      stop_all(fmt::format("a signal on rank {}", w * group_size_));
      return;
    }
    order_.requested(w);
    unanswered_[static_cast<size_t>(w)] = true;
    if (r.finished >= 0) {
      sched_.finished(w, r.finished, unix_now() - start_, r.seconds);
      log_done(r.finished, r.seconds, r.tokens, fmt::format("worker {}", w));
    }
    if (r.stopped) stop_all(fmt::format("a signal on rank {}", w * group_size_));
    if (stopping_) {
      answer(w, Assignment{-1, true});
      return;
    }
    const Assignment a = sched_.next(w, unix_now() - start_);
    if (a.node >= 0 || a.finished) answer(w, a);
    for (const auto& [worker, assignment] : sched_.assign_waiting(unix_now() - start_))
      answer(worker, assignment);
    // Rule 6: kept copies whose children have all started (after the Serves just sent: protocol.h
    // rule 4).
    for (const auto& [worker, node] : sched_.take_releases()) deliver(worker, Drop{node});
  }

  // The next reply addressed to worker 0 (this rank's own worker), in the order sent.
  bool take_local_reply(Reply* out) {
    if (local_.empty()) return false;
    *out = local_.front();
    local_.pop_front();
    return true;
  }
  bool has_local_reply() const { return !local_.empty(); }

  // Rule 0 of the scheduler: every rank computed the root together in `seconds`.
  void root_done_everywhere(int64_t node, double seconds, int64_t tokens) {
    sched_.complete_everywhere(node, seconds);
    log_done(node, seconds, tokens, "every worker");
  }

  int finish_sent() const { return finish_sent_; }

  // One progress summary: nodes, share of the estimated work, running nodes, elapsed, ETA and
  // the training throughput of the finished nodes.
  std::string progress_text() const {
    const Progress p = sched_.progress();
    const double total = p.done_work_s + p.remaining_work_s;
    const double fraction = total > 0 ? p.done_work_s / total : 1.0;
    const double elapsed = unix_now() - start_;
    return fmt::format(
        "{}/{} nodes, {:.0f}% of the work, {} running, elapsed {}, ETA {}, {:.0f} tokens/s",
        p.done_nodes, p.total_nodes, 100.0 * fraction, p.running_nodes, human_duration(elapsed),
        human_duration(eta(p)), elapsed > 0 ? static_cast<double>(tokens_) / elapsed : 0.0);
  }

  // A live bar on a terminal (refreshed at most twice a second), else a log line every
  // progress_every seconds. Called from serve(): at every step boundary and while waiting.
  void report_progress(bool final_report = false) {
    const double now = unix_now();
    if (bar_ && (final_report || now - last_bar_ >= kBarRefreshSeconds)) {
      last_bar_ = now;
      const Progress p = sched_.progress();
      const double total = p.done_work_s + p.remaining_work_s;
      constexpr int kWidth = 24;
      const int filled = total > 0 ? static_cast<int>(kWidth * p.done_work_s / total) : kWidth;
      log::set_status_line(final_report
                               ? ""
                               : fmt::format("[{}{}] {}", std::string(filled, '#'),
                                             std::string(kWidth - filled, '.'), progress_text()));
    }
    if (lines_ && line_every_ > 0 && now - last_line_ >= line_every_) {
      last_line_ = now;
      log::info("progress: {}", progress_text());
    }
  }

 private:
  // Worker w's answer, and the Serve that goes with it when its parent comes from a peer: after
  // the answer, so the requester is already waiting for it, or soon will be (protocol.h rule 3).
  void answer(int w, const Assignment& a) {
    unanswered_[static_cast<size_t>(w)] = false;
    const Reply reply = protocol::reply_for(a, group_size_);
    deliver(w, reply);
    if (w != 0 && std::holds_alternative<Finish>(reply)) ++finish_sent_;
    const Run* run = std::get_if<Run>(&reply);
    if (!run || run->source != WeightSource::kPeer) return;
    deliver(a.peer, Serve{plan_.nodes[static_cast<size_t>(run->node)].parent, w * group_size_});
  }

  // Protocol rule 6: a signal on any rank stops every worker at its next step. Each worker still
  // reading replies (not yet sent Finish) gets one Stop; from now on every request gets Finish.
  void stop_all(const std::string& origin) {
    if (stopping_) return;
    stopping_ = true;
    stop_origin_ = origin;
    log::info("stopping every rank at its next step: {}", origin);
    for (size_t w = 0; w < finished_.size(); ++w)
      if (!finished_[w]) deliver(static_cast<int>(w), Stop{});
  }

  // Every reply goes out here: checked against the ordering rules, then to worker w's leader
  // (on kTagReply) or into worker 0's queue.
  void deliver(int w, const Reply& reply) {
    order_.sending(w, reply);
    if (std::holds_alternative<Finish>(reply)) finished_[static_cast<size_t>(w)] = true;
    if (w == 0)
      local_.push_back(reply);
    else
      protocol::send_reply(world_, w * group_size_, reply);
  }

  // One line per finished node.
  void log_done(int64_t node, double seconds, int64_t tokens, const std::string& who) {
    tokens_ += tokens;
    const Progress p = sched_.progress();
    log::info("[{}/{}] {} done in {} ({}, {:.0f} tokens/s), ETA {}", p.done_nodes, p.total_nodes,
              node_name(plan_.nodes[static_cast<size_t>(node)]), human_duration(seconds), who,
              seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0, human_duration(eta(p)));
  }

  // Remaining seconds at the pace measured so far (elapsed / estimated done work).
  double eta(const Progress& p) const {
    const double elapsed = unix_now() - start_;
    return p.done_work_s > 0 ? p.eta_s * elapsed / p.done_work_s * 1.0 : p.eta_s;
  }

  const Plan& plan_;
  Scheduler sched_;
  protocol::ReplyOrder order_;
  int group_size_;
  MPI_Comm world_;
  double start_;
  bool bar_, lines_;
  double line_every_, last_line_, last_bar_ = 0;
  int64_t tokens_ = 0;  // training tokens of the nodes finished in this run
  std::vector<bool> unanswered_;
  std::vector<bool> finished_;  // sent Finish: reads no more replies
  std::deque<Reply> local_;     // replies to worker 0, in the order sent
  int finish_sent_ = 0;
  bool stopping_ = false;  // protocol rule 6
  std::string stop_origin_;
};

// ---- worker: the message loop -------------------------------------------------------------------

// A worker's side of the protocol: its leader asks for nodes, serves peers and collects Drops;
// every rank of the group runs the nodes (node_run.h) and frees dropped copies together.
class Worker {
 public:
  Worker(SweepContext& s, Coordinator* coordinator, MPI_Comm world)
      : s_(s),
        coord_(coordinator),
        world_(world),
        worker_(s.ranks.group_index),
        leader_(s.ranks.group_rank == 0),
        inbox_(worker_),
        peers_(world, s.group, leader_, s.plan),
        runner_(
            s, peers_, [this] { return keep_going(); }, [this] { serve_everyone(); }) {}

  // Runs nodes until the coordinator says finish. Returns true when stopped by a signal.
  bool run() {
    Request done;  // what the next request reports: the node just finished, or none
    while (true) {
      Reply answer = Finish{};
      std::vector<int64_t> drops;  // received before this request: none concerns its answer
      if (leader_) {
        drops.swap(pending_drops_);
        done.tokens = runner_.last_tokens();
        answer = ask(done);
      }
      if (s_.group) share_with_group(answer, drops);
      for (int64_t node : drops) {
        runner_.encoders().drop(node);
        log::debug("freed the kept encoder of {}",
                   node_name(s_.plan.nodes[static_cast<size_t>(node)]));
      }
      if (std::holds_alternative<Finish>(answer)) return done.stopped;
      const Run& run = std::get<Run>(answer);
      if (run.keep_held) {  // rule 6: the held encoder stays, as a copy peers and this worker use
        runner_.encoders().keep_held();
        log::debug("keeping the encoder of {} for its other children ({} kept)",
                   node_name(s_.plan.nodes[static_cast<size_t>(runner_.encoders().held_node())]),
                   runner_.encoders().kept_count());
      }
      const double t0 = unix_now();
      done.stopped = !runner_.run(run);
      done.finished = done.stopped ? -1 : run.node;
      done.seconds = unix_now() - t0;
    }
  }

  // The root on every rank at once (scheduler.h rule 0; node_run.h). Returns false when stopped
  // by a signal.
  bool run_root_everywhere(Communicator* everyone) {
    if (!runner_.run_root_everywhere(everyone)) return false;
    if (coord_) coord_->root_done_everywhere(0, runner_.last_seconds(), runner_.last_tokens());
    return true;
  }

  // Leaders: handles the replies that came in while this worker runs a node or has finished:
  // Serves (sent now) and Drops (applied at the next request). Others: nothing.
  void serve_peers() {
    if (!leader_) return;
    Reply r;
    while (next_reply(&r)) handle(r);  // a Run or Finish now breaks rule 1: inbox_ throws
  }

  // Where the parents of this session's nodes came from, when not held.
  int64_t peer_transfers() const { return runner_.peer_transfers(); }
  int64_t file_reads() const { return runner_.file_reads(); }

 private:
  // Called between training steps: rank 0 serves the others' requests; a leader sends the
  // encoder it holds to peers the coordinator pointed at it; every rank checks for signals.
  bool keep_going() {
    serve_everyone();
    return g_stop_signal == 0 && !stop_told_;
  }
  void serve_everyone() {
    if (coord_) coord_->serve();
    serve_peers();
  }

  // Leader: sends the request and waits for its answer (Run or Finish), serving the Serves and
  // collecting the Drops that come before it (protocol.h rules 2 and 5).
  Reply ask(Request request) {
    request.worker = worker_;
    inbox_.requested();
    if (coord_)
      coord_->request(request);  // rank 0: no wire, the seconds stay exact
    else
      protocol::send_request(world_, request);
    while (true) {
      Reply r;
      while (next_reply(&r))
        if (handle(r)) {
          if (coord_) serve_peers();  // Serves queued with this answer, before this worker moves on
          return r;
        }
      if (coord_) {
        coord_->serve();
        if (coord_->has_local_reply()) continue;
      } else if (g_stop_signal && !notice_sent_) {
        // Rule 7: idle here, this rank's signal reaches the coordinator only this way.
        Request notice;
        notice.worker = worker_;
        notice.stopped = notice.notice = true;
        protocol::send_request(world_, notice);
        notice_sent_ = true;
      }
      std::this_thread::sleep_for(kPollSleep);
    }
  }

  // The next reply to this worker, if one has come: from the coordinator's queue on rank 0, else
  // from world rank 0 over MPI.
  bool next_reply(Reply* out) {
    return coord_ ? coord_->take_local_reply(out) : protocol::receive_reply(world_, out);
  }

  // One reply, in arrival order (checked by inbox_). Returns true for the answer (Run, Finish).
  bool handle(const Reply& r) {
    if (inbox_.replied(r)) return true;
    if (const auto* serve = std::get_if<Serve>(&r))
      peers_.send(serve->node, runner_.encoders().find(serve->node), serve->to);
    else if (std::holds_alternative<Stop>(r))
      stop_told_ = true;  // a signal elsewhere: stop at the next step (rule 6)
    else
      pending_drops_.push_back(std::get<Drop>(r).node);
    return false;
  }

  // The leader's answer and the drops to apply, to every rank of the group (protocol's wire
  // format, plus the number of drops, then the drops).
  void share_with_group(Reply& answer, std::vector<int64_t>& drops) {
    // Host data: over MPI whatever the group's backend (communicator.h).
    std::array<int64_t, protocol::kWireInts + 1> head{};
    if (leader_) {
      const protocol::Wire w = protocol::pack(answer);
      std::copy(w.begin(), w.end(), head.begin());
      head[protocol::kWireInts] = static_cast<int64_t>(drops.size());
    }
    s_.group->broadcast_host(head, 0);
    protocol::Wire w{};
    std::copy(head.begin(), head.begin() + protocol::kWireInts, w.begin());
    answer = protocol::unpack_reply(w);
    const int64_t count = head[protocol::kWireInts];
    if (count == 0) return;
    drops.resize(static_cast<size_t>(count));
    s_.group->broadcast_host(drops.data(), count * static_cast<int64_t>(sizeof(int64_t)), 0);
  }

  SweepContext& s_;
  Coordinator* coord_;
  MPI_Comm world_;
  int worker_;
  bool leader_;
  protocol::ReplyStream inbox_;  // leader: the replies of this worker, checked as they arrive
  bool stop_told_ = false;       // leader: a Stop came (protocol rule 6)
  bool notice_sent_ = false;     // leader: its signal was sent while idle (protocol rule 7)
  PeerTransfer peers_;
  NodeRunner runner_;
  std::vector<int64_t> pending_drops_;  // leader: kept copies to free at the next request
};

// Done nodes whose encoder a pending child needs but the file does not keep are run again
// (deterministic: they give the same numbers).
std::vector<uint8_t> effective_done(const Plan& plan, std::vector<uint8_t> done,
                                    const ResultsLayout& layout) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t n = 0; n < plan.nodes.size(); ++n) {
      if (!done[n] || layout.checkpoint_row[n] >= 0) continue;
      for (int64_t c : plan.nodes[n].children)
        if (!done[static_cast<size_t>(c)]) {
          done[n] = 0;
          changed = true;
          break;
        }
    }
  }
  return done;
}

// Rank 0's first line: what this run of the sweep does.
void log_start(const SweepConfig& config, const Plan& plan, const std::vector<uint8_t>& done,
               bool resumed, const RankLayout& ranks, int threads, const torch::Device& device,
               const std::filesystem::path& path) {
  if (ranks.world_rank != 0) return;
  int64_t done_count = 0;
  for (uint8_t d : done) done_count += d;
  log::info(
      "sweep '{}': {} nodes ({} done{}), {} worker(s) of {} rank(s), {} thread(s) per rank, device "
      "{}{}, results {}",
      config.sweep.name, plan.nodes.size(), done_count, resumed ? ", resumed" : "", ranks.groups,
      ranks.group_size, threads, device.str(),
      config.model.dtype == Precision::kBf16 ? " (bf16 autocast)" : "", path.string());
}

struct WorkerEnd {
  bool stopped = false;          // by a signal
  bool stopped_in_root = false;  // ... while every rank computed the root
};

// The root on every rank at once when it is not done (scheduler.h rule 0), then nodes until the
// coordinator says finish. Every rank trains the root together only when it is pretrained here
// (the tiny model); a loaded checkpoint needs no communicator, and none is built (on GPUs it
// would be NCCL's, for nothing). An error on any rank aborts the job: the other ranks may be
// waiting for this one in MPI and would wait forever.
WorkerEnd run_worker(Worker& worker, bool root_done, bool root_trains, const RankLayout& ranks,
                     MPI_Comm world, const torch::Device& device) {
  WorkerEnd end;
  try {
    if (!root_done) {
      std::unique_ptr<Communicator> everyone;
      if (ranks.world_size > 1 && root_trains) everyone = make_communicator(world, device);
      end.stopped = end.stopped_in_root = !worker.run_root_everywhere(everyone.get());
    }
    if (!end.stopped) end.stopped = worker.run();
  } catch (const std::exception& e) {
    // One rank alone: nobody waits for it, so the error unwinds (the results file closes, its
    // finished nodes kept) and is reported in one line, as a start-up error is. Splits load when
    // a node first needs them, so a damaged cache is found here.
    if (ranks.world_size == 1) throw;
    std::fprintf(stderr, "ordertune: rank %d: %s\n", ranks.world_rank, e.what());
    std::fflush(stderr);
    OT_MPI_CHECK(MPI_Abort(world, kExitFailure));
  }
  return end;
}

// Rank 0 keeps answering (and sending the encoder it holds to peers told to take it from worker
// 0) until every other worker has been told to finish.
void answer_until_all_finish(Coordinator& coordinator, Worker& worker, int groups) {
  while (coordinator.finish_sent() < groups - 1) {
    coordinator.serve();
    worker.serve_peers();
    std::this_thread::sleep_for(kPollSleep);
  }
}

// Where the parents of the nodes run in this session came from (when not held), on rank 0.
// Collective over `world`.
void log_parent_sources(const Worker& worker, const RankLayout& ranks, MPI_Comm world) {
  int64_t sources[2] = {worker.peer_transfers(), worker.file_reads()}, totals[2] = {0, 0};
  if (ranks.group_rank != 0) sources[0] = sources[1] = 0;  // counted once per group
  OT_MPI_CHECK(MPI_Reduce(sources, totals, 2, MPI_INT64_T, MPI_SUM, 0, world));
  if (ranks.world_rank == 0)
    log::info(
        "parent encoders not held by their worker: {} from a peer over MPI, {} from the results "
        "file",
        totals[0], totals[1]);
}

}  // namespace

int run_sweep(const SweepConfig& config, const SweepOptions& options, MPI_Comm world) {
  const auto started = std::chrono::steady_clock::now();
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
  RankLayout ranks = make_rank_layout(world, config.sweep.group_size);
  const int threads = configure_threads(
      options.threads > 0 ? options.threads : config.sweep.threads, ranks.local_size);
  const torch::Device device =
      select_device(ranks.local_rank, ranks.local_size, config.sweep.share_gpus);
  set_training_precision(config.model.dtype, device);
  set_deterministic(config.sweep.deterministic);
  TaskData data(config);
  // Refuses targets with languages no split can score, before the results file: no GPU time on
  // leaves without a score (the same check as `ordertune plan`'s).
  check_scoring(data.cache(), config);
  const CostModel cost = CostModel::from_config(config);
  const Plan plan = build_plan(config, cost);
  const XlmrConfig model = root_model_config(config, data.vocab_size());
  ResultsLayout layout = make_results_layout(plan, node_outputs(data, plan), config, model);
  layout.model_config_json = hf_config_json(model, "XLMRobertaModel");
  const std::filesystem::path path =
      options.results.empty() ? std::filesystem::path(config.output.results) : options.results;
  if (options.check) {
    OT_MPI_CHECK(MPI_Barrier(world));  // every rank has its plan and layout
    if (ranks.world_rank == 0)
      log::info(
          "start-up check passed on {} rank(s) in {:.1f} s: cache {}, plan of {} nodes, {} "
          "metric rows, {} prediction sets, {} kept encoders; {} was not created or touched",
          ranks.world_size,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
          config.cache_path().string(), plan.nodes.size(), layout.metrics.size(),
          layout.predictions.size(), layout.checkpoints, path.string());
    return kExitOk;
  }
  std::unique_ptr<ResultsFile> results =
      ResultsFile::open_or_create(path, world, config, plan, layout);
  const std::vector<uint8_t> done = effective_done(plan, results->done_at_open(), layout);
  log_start(config, plan, done, results->resumed(), ranks, threads, device, path);

  std::unique_ptr<Communicator> group;
  if (ranks.group_size > 1) group = make_communicator(ranks.group_comm, device);  // NCCL on GPUs
  // Snapshots belong to this config and this cache's layout (a changed cache changes the sizes).
  const ResumeStore resume(path, config.hash + ":" + layout.hash(), config.output.resume_every);
  SweepContext context{config, data, plan, *results, layout, ranks, group.get(), resume, device};
  std::unique_ptr<Coordinator> coordinator;
  if (ranks.world_rank == 0)
    coordinator = std::make_unique<Coordinator>(plan, ranks.groups, done,
                                                config.output.checkpoints != CheckpointKeep::kNone,
                                                ranks.group_size, options, world);
  Worker worker(context, coordinator.get(), world);
  const bool root_trains = config.model.checkpoint.empty() && config.model.tiny.pretrain_steps > 0;
  const WorkerEnd end =
      run_worker(worker, /*root_done=*/done[0] != 0, root_trains, ranks, world, device);
  if (coordinator && !end.stopped_in_root)
    answer_until_all_finish(*coordinator, worker, ranks.groups);
  log_parent_sources(worker, ranks, world);
  if (coordinator) coordinator->report_progress(/*final_report=*/true);
  OT_MPI_CHECK(MPI_Barrier(world));  // every rank's writes are in before the collective close
  results.reset();
  const bool stopped = end.stopped || g_stop_signal || (coordinator && coordinator->stopping());
  if (ranks.world_rank == 0 && stopped)
    log::info("sweep stopped by {}; run the same command to continue",
              g_stop_signal ? fmt::format("signal {} on rank 0", static_cast<int>(g_stop_signal))
              : coordinator->stopping() ? coordinator->stop_origin()
                                        : std::string("a signal on another rank"));
  else if (ranks.world_rank == 0)
    log::info("sweep finished: {}", path.string());
  return kExitOk;
}

}  // namespace ordertune

#include "ordertune/sweep/sweep.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <deque>
#include <map>
#include <thread>

#include "ordertune/dist/communicator.h"
#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/plan/plan.h"
#include "ordertune/sweep/results.h"
#include "ordertune/sweep/resume.h"
#include "ordertune/train/runner.h"
#include "ordertune/plan/scheduler.h"
#include "ordertune/model/torch_env.h"
#include "ordertune/model/weights.h"

namespace ordertune {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr int kTagRequest = 7101;  // worker leader -> coordinator: {worker, finished node, stopped,
                                   // milliseconds, tokens}
constexpr int kTagReply = 7102;    // coordinator -> worker leader: {kind, node, a, b, keep} (below)
constexpr int kTagWeights = 7103;  // worker leader -> worker leader: an encoder, parameter by parameter
// Reply kinds. Run: node, a = WeightSource of its parent, b = the holder's leader world rank when
// a is kPeer, keep = 1 when the worker must keep a copy of the encoder it holds (scheduler.h rule
// 6). Finish: no more work. Serve: send the encoder of node a to world rank b (a peer was told to
// take its parent from this worker). Drop: the kept copy of node a is no longer needed. All go on
// one tag, so a worker handles them in the order the coordinator sent them (MPI's non-overtaking
// rule): a Serve sent before this worker's next Run is served while the encoder is still the one
// the scheduler counted on, and a Drop comes after every Serve of its node.
constexpr int64_t kReplyRun = 0, kReplyFinish = 1, kReplyServe = 2, kReplyDrop = 3;
constexpr int kReplyInts = 5;
struct Reply {
  int64_t kind = kReplyFinish, node = -1, a = 0, b = -1, keep = 0;
  std::vector<int64_t> drops;  // kept copies to free before this node (applied by every rank)
};
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

// The plan decisions every rank makes identically.
struct Shared {
  const SweepConfig& config;
  TaskData& data;
  const Plan& plan;
  ResultsFile& results;
  const ResultsLayout& layout;
  RankLayout& ranks;
  Communicator* group;  // nullptr when the group is one rank
  const ResumeStore& resume;
  torch::Device device;  // this rank's: a GPU chosen from the node-local rank, else the CPU
};

// ---- coordinator (world rank 0) -----------------------------------------------------------------

class Coordinator {
 public:
  Coordinator(const Plan& plan, int workers, const std::vector<uint8_t>& done, bool parents_in_file,
              int group_size, const SweepOptions& options)
      : plan_(plan), sched_(plan, workers, done, parents_in_file), group_size_(group_size), start_(unix_now()),
        bar_(options.progress == ProgressStyle::kBar ||
             (options.progress == ProgressStyle::kAuto && log::stderr_is_terminal())),
        lines_(options.progress == ProgressStyle::kLines || (options.progress == ProgressStyle::kAuto && !bar_)),
        line_every_(options.progress_every), last_line_(start_) {
    stopped_.assign(static_cast<size_t>(workers), false);
    unanswered_.assign(static_cast<size_t>(workers), false);
  }

  // Handles pending requests from remote workers and answers what can be answered.
  void serve() {
    int flag = 1;
    while (flag) {
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      int64_t msg[5];
      MPI_Recv(msg, 5, MPI_INT64_T, st.MPI_SOURCE, kTagRequest, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      request(static_cast<int>(msg[0]), msg[1], static_cast<double>(msg[3]) / 1000.0, msg[4], msg[2] != 0);
    }
    report_progress();
    if (g_stop_signal)  // stop: every worker waiting for work is told to finish
      for (size_t w = 0; w < unanswered_.size(); ++w)
        if (unanswered_[w]) answer(static_cast<int>(w), Assignment{-1, true});
  }

  // Worker w reports its finished node (or -1) and asks for the next.
  void request(int w, int64_t node, double seconds, int64_t tokens, bool stopped) {
    if (stopped) stopped_[static_cast<size_t>(w)] = true;
    unanswered_[static_cast<size_t>(w)] = true;
    if (node >= 0) {
      sched_.finished(w, node, unix_now() - start_, seconds);
      log_done(node, seconds, tokens, fmt::format("worker {}", w));
    }
    if (g_stop_signal || stopped) {
      answer(w, Assignment{-1, true});
      return;
    }
    const Assignment a = sched_.next(w, unix_now() - start_);
    if (a.node >= 0 || a.finished) answer(w, a);
    for (const auto& [worker, assignment] : sched_.assign_waiting(unix_now() - start_))
      answer(worker, assignment);
    // Rule 6: kept copies whose children have all started (after the Serves just sent).
    for (const auto& [worker, node] : sched_.take_releases()) {
      if (worker == 0) {
        local_drops_.push_back(node);
      } else {
        const int64_t msg[kReplyInts] = {kReplyDrop, -1, node, -1, 0};
        MPI_Send(msg, kReplyInts, MPI_INT64_T, worker * group_size_, kTagReply, MPI_COMM_WORLD);
      }
    }
  }

  // Drops addressed to worker 0 (this rank's own worker).
  bool take_local_drop(int64_t* node) {
    if (local_drops_.empty()) return false;
    *node = local_drops_.front();
    local_drops_.pop_front();
    return true;
  }

  // Rule 0 of the scheduler: every rank computed the root together in `seconds`.
  void root_done_everywhere(int64_t node, double seconds, int64_t tokens) {
    sched_.complete_everywhere(node, seconds);
    log_done(node, seconds, tokens, "every worker");
  }

  // The local worker's (rank 0's) answer, once there is one.
  bool local_answer(Assignment* out) {
    if (!local_ready_) return false;
    *out = local_;
    local_ready_ = false;
    return true;
  }

  int finish_sent() const { return finish_sent_; }

  // Serve requests addressed to worker 0 (this rank's own worker): {node, requester world rank}.
  bool take_local_serve(std::pair<int64_t, int>* out) {
    if (local_serves_.empty()) return false;
    *out = local_serves_.front();
    local_serves_.pop_front();
    return true;
  }

  // One progress summary: nodes, share of the estimated work, running nodes, elapsed, ETA and
  // the training throughput of the finished nodes.
  std::string progress_text() const {
    const Progress p = sched_.progress();
    const double total = p.done_work_s + p.remaining_work_s;
    const double fraction = total > 0 ? p.done_work_s / total : 1.0;
    const double elapsed = unix_now() - start_;
    return fmt::format("{}/{} nodes, {:.0f}% of the work, {} running, elapsed {}, ETA {}, {:.0f} tokens/s",
                       p.done_nodes, p.total_nodes, 100.0 * fraction, p.running_nodes,
                       human_duration(elapsed), human_duration(eta(p)),
                       elapsed > 0 ? static_cast<double>(tokens_) / elapsed : 0.0);
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
      log::set_status_line(final_report ? "" : fmt::format("[{}{}] {}", std::string(filled, '#'),
                                                           std::string(kWidth - filled, '.'), progress_text()));
    }
    if (lines_ && line_every_ > 0 && now - last_line_ >= line_every_) {
      last_line_ = now;
      log::info("progress: {}", progress_text());
    }
  }

 private:
  void answer(int w, const Assignment& a) {
    unanswered_[static_cast<size_t>(w)] = false;
    const bool peer = a.node >= 0 && a.source == WeightSource::kPeer;
    if (w == 0) {
      local_ = a;
      local_ready_ = true;
    } else {
      const int64_t msg[kReplyInts] = {a.node >= 0 ? kReplyRun : kReplyFinish, a.node,
                                       static_cast<int64_t>(a.source),
                                       peer ? static_cast<int64_t>(a.peer) * group_size_ : -1,
                                       a.keep_held ? 1 : 0};
      MPI_Send(msg, kReplyInts, MPI_INT64_T, w * group_size_, kTagReply, MPI_COMM_WORLD);
      if (msg[0] == kReplyFinish) ++finish_sent_;
    }
    // The holder sends the parent's encoder to the requester's leader (after this reply, so the
    // requester is already waiting for it, or soon will be).
    if (!peer) return;
    const int64_t parent = plan_.nodes[static_cast<size_t>(a.node)].parent;
    if (a.peer == 0) {
      local_serves_.emplace_back(parent, w * group_size_);
    } else {
      const int64_t msg[kReplyInts] = {kReplyServe, -1, parent, static_cast<int64_t>(w) * group_size_, 0};
      MPI_Send(msg, kReplyInts, MPI_INT64_T, a.peer * group_size_, kTagReply, MPI_COMM_WORLD);
    }
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
  int group_size_;
  double start_;
  bool bar_, lines_;
  double line_every_, last_line_, last_bar_ = 0;
  int64_t tokens_ = 0;  // training tokens of the nodes finished in this run
  std::vector<bool> stopped_, unanswered_;
  Assignment local_;
  bool local_ready_ = false;
  std::deque<std::pair<int64_t, int>> local_serves_;
  std::deque<int64_t> local_drops_;
  int finish_sent_ = 0;
};

// ---- worker ---------------------------------------------------------------------------------------

class Worker {
 public:
  Worker(Shared& s, Coordinator* coordinator) : s_(s), coord_(coordinator) {
    worker_ = s.ranks.group_index;
    leader_ = s.ranks.group_rank == 0;
  }

  // Runs nodes until the coordinator says finish. Returns true when stopped by a signal.
  bool run() {
    int64_t finished = -1;
    double seconds = 0;
    bool stopped = false;
    while (true) {
      Reply reply;
      if (leader_) {
        std::vector<int64_t> drops;  // received before this request: none concerns its answer
        drops.swap(pending_drops_);
        reply = ask(finished, seconds, last_tokens_, stopped);
        reply.drops = std::move(drops);
      }
      if (s_.group) {
        torch::Tensor r = torch::tensor({reply.kind, reply.node, reply.a, reply.b, reply.keep,
                                         static_cast<int64_t>(reply.drops.size())}, torch::kInt64);
        s_.group->broadcast(r, 0);
        const auto v = [&](int i) { return r[i].item<int64_t>(); };
        reply.kind = v(0), reply.node = v(1), reply.a = v(2), reply.b = v(3), reply.keep = v(4);
        if (v(5) > 0) {
          torch::Tensor d = leader_ ? torch::tensor(reply.drops, torch::kInt64) : torch::empty({v(5)}, torch::kInt64);
          s_.group->broadcast(d, 0);
          reply.drops.assign(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + d.numel());
        }
      }
      for (int64_t node : reply.drops) {
        kept_.erase(node);
        log::debug("freed the kept encoder of {}", node_name(s_.plan.nodes[static_cast<size_t>(node)]));
      }
      if (reply.kind == kReplyFinish) return stopped;
      if (reply.keep) {  // rule 6: the held encoder stays, as a copy peers and this worker use
        OT_CHECK(held_ && held_node_ >= 0, "worker {}: told to keep an encoder, holding none", worker_);
        log::debug("keeping the encoder of {} for its other children ({} kept)",
                   node_name(s_.plan.nodes[static_cast<size_t>(held_node_)]), kept_.size() + 1);
        held_->to(torch::kCPU);  // kept copies wait in host memory, not on the GPU
        kept_.insert_or_assign(held_node_, held_);
      }
      const double t0 = unix_now();
      stopped = !run_node(reply);
      finished = stopped ? -1 : reply.node;
      seconds = unix_now() - t0;
    }
  }

  // The root on every rank of the world at once (scheduler.h rule 0): the tiny model's MLM
  // pretraining spread over the ranks by micro-batch, bitwise as one rank (TrainHooks::spread),
  // or the checkpoint loaded by every rank. World rank 0 decides when a signal stops it, writes
  // its snapshots, checkpoint and record; afterwards every worker holds the root. Returns false
  // when stopped by a signal.
  bool run_root_everywhere(Communicator* everyone) {
    const bool first = s_.ranks.world_rank == 0;
    NodeRun run;
    begin_node(0, everyone, first, fmt::format(" on all {} ranks", s_.ranks.world_size), run);
    run.hooks.spread = everyone;
    StageResult pre;
    XlmrEncoder e = make_root_encoder(s_.data, s_.device, run.hooks, &pre);
    if (run.interrupted) return false;
    run.rec.training = pre;
    if (first) s_.results.write_checkpoint(0, *e);
    finish_node(0, run.rec, first);
    if (first) coord_->root_done_everywhere(0, run.rec.end_time - run.rec.start_time, pre.tokens);
    hold(0, e);
    return true;
  }

  // Called between training steps: rank 0 serves the others' requests; a leader sends the
  // encoder it holds to peers the coordinator pointed at it; every rank checks for signals.
  bool keep_going() {
    if (coord_) coord_->serve();
    serve_peers();
    return g_stop_signal == 0;
  }

 private:
  Reply ask(int64_t finished, double seconds, int64_t tokens, bool stopped) {
    if (coord_) {
      coord_->request(worker_, finished, seconds, tokens, stopped);
      Assignment a;
      while (!coord_->local_answer(&a)) {
        coord_->serve();
        serve_peers();
        if (!coord_->local_answer(&a)) std::this_thread::sleep_for(kPollSleep);
        else break;
      }
      serve_peers();  // a Serve queued with this answer (before this worker moves on)
      const bool peer = a.node >= 0 && a.source == WeightSource::kPeer;
      Reply r;
      r.kind = a.node >= 0 ? kReplyRun : kReplyFinish;
      r.node = a.node;
      r.a = static_cast<int64_t>(a.source);
      r.b = peer ? static_cast<int64_t>(a.peer) * s_.ranks.group_size : -1;
      r.keep = a.keep_held ? 1 : 0;
      return r;
    }
    int64_t msg[5] = {worker_, finished, stopped ? 1 : 0, static_cast<int64_t>(seconds * 1000), tokens};
    MPI_Send(msg, 5, MPI_INT64_T, 0, kTagRequest, MPI_COMM_WORLD);
    while (true) {  // Serve and Drop messages may come first; the Run or Finish reply ends the wait
      int64_t reply[kReplyInts];
      MPI_Request req;
      MPI_Irecv(reply, kReplyInts, MPI_INT64_T, 0, kTagReply, MPI_COMM_WORLD, &req);
      int done = 0;
      while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done) std::this_thread::sleep_for(kPollSleep);
      }
      if (reply[0] == kReplyServe) {
        send_encoder(reply[2], static_cast<int>(reply[3]));
        continue;
      }
      if (reply[0] == kReplyDrop) {
        pending_drops_.push_back(reply[2]);
        continue;
      }
      Reply r;
      r.kind = reply[0], r.node = reply[1], r.a = reply[2], r.b = reply[3], r.keep = reply[4];
      return r;
    }
  }

  // ---- encoders between workers (DESIGN.md decision 5: own memory, a peer's memory, the file) --

 public:
  // Sends the encoders peers were told to take from this worker (leaders only; no-op otherwise).
  void serve_peers() {
    if (!leader_) return;
    std::pair<int64_t, int> local;
    if (coord_) {
      while (coord_->take_local_serve(&local)) send_encoder(local.first, local.second);
      int64_t drop = -1;
      while (coord_->take_local_drop(&drop)) pending_drops_.push_back(drop);
      return;
    }
    // A non-coordinator leader gets only Serve and Drop messages on kTagReply between its
    // requests (drops are applied at its next request, by every rank of its group).
    int flag = 1;
    while (flag) {
      MPI_Iprobe(0, kTagReply, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      if (!flag) break;
      int64_t msg[kReplyInts];
      MPI_Recv(msg, kReplyInts, MPI_INT64_T, 0, kTagReply, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      OT_CHECK(msg[0] == kReplyServe || msg[0] == kReplyDrop,
               "worker {}: a reply of kind {} while running a node", worker_, msg[0]);
      if (msg[0] == kReplyDrop) pending_drops_.push_back(msg[2]);
      else send_encoder(msg[2], static_cast<int>(msg[3]));
    }
  }


 private:
  // The held encoder of `node` to world rank `to`: a header {node, parameters} (-1 when this
  // worker no longer holds it: the requester then reads the results file), then each parameter
  // in named_parameters() order, which is the same in every encoder of the sweep.
  void send_encoder(int64_t node, int to) {
    XlmrEncoder source{nullptr};
    if (held_ && held_node_ == node) source = held_;
    else if (kept_.count(node)) source = kept_.at(node);
    const bool have = static_cast<bool>(source);
    int64_t header[2] = {node, -1};
    std::vector<torch::Tensor> params;
    if (have) {
      header[1] = 0;
      for (const auto& p : source->parameters()) {
        params.push_back(p.detach().to(torch::kCPU, torch::kFloat32).contiguous());
        header[1] += p.numel();
      }
    }
    MPI_Send(header, 2, MPI_INT64_T, to, kTagWeights, MPI_COMM_WORLD);
    for (const torch::Tensor& p : params) transfer_floats(p.data_ptr<float>(), p.numel(), to, /*send=*/true);
    if (have) log::debug("sent the encoder of {} to rank {}", node_name(s_.plan.nodes[static_cast<size_t>(node)]), to);
  }

  // Blocking send or receive of n floats in pieces below MPI's int count.
  static void transfer_floats(float* data, int64_t n, int peer, bool send) {
    constexpr int64_t kPiece = int64_t{1} << 30;
    for (int64_t at = 0; at < n; at += kPiece) {
      const int count = static_cast<int>(std::min(kPiece, n - at));
      if (send) MPI_Send(data + at, count, MPI_FLOAT, peer, kTagWeights, MPI_COMM_WORLD);
      else MPI_Recv(data + at, count, MPI_FLOAT, peer, kTagWeights, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }

  // Receives `node`'s encoder from the worker leader at world rank `from` into `e` (every rank
  // of the group gets it). While the header is awaited this worker keeps serving (rank 0 the
  // coordinator's requests, any leader its own peers): two workers may wait on each other.
  // Returns false when the peer no longer held it.
  bool receive_encoder(int64_t node, int from, XlmrEncoder& e) {
    int64_t ok = 0;
    std::vector<torch::Tensor> params;
    for (const auto& p : e->parameters()) params.push_back(p);
    if (leader_) {
      int64_t header[2] = {-1, -1};
      MPI_Request req;
      MPI_Irecv(header, 2, MPI_INT64_T, from, kTagWeights, MPI_COMM_WORLD, &req);
      int done = 0;
      while (!done) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) break;
        if (coord_) coord_->serve();
        serve_peers();
        std::this_thread::sleep_for(kPollSleep);
      }
      int64_t total = 0;
      for (const torch::Tensor& p : params) total += p.numel();
      OT_CHECK(header[0] == node && (header[1] == -1 || header[1] == total),
               "rank {} sent node {} with {} parameters; expected node {} with {}", from, header[0],
               header[1], node, total);
      ok = header[1] == total;
    }
    if (s_.group) {
      torch::Tensor t = torch::tensor({ok}, torch::kInt64);
      s_.group->broadcast(t, 0);
      ok = t[0].item<int64_t>();
    }
    if (!ok) return false;
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : params) {
      torch::Tensor buffer = torch::empty({p.numel()}, torch::kFloat32);
      if (leader_) transfer_floats(buffer.data_ptr<float>(), buffer.numel(), from, /*send=*/false);
      if (s_.group) s_.group->broadcast(buffer, 0);
      p.copy_(buffer.view(p.sizes()).to(p.device(), p.scalar_type()));
    }
    return true;
  }

  // The parent's encoder: held, from the peer that holds it, or from the results file.
  XlmrEncoder parent_encoder(int64_t parent, const Reply& reply, double* wait) {
    const double t0 = unix_now();
    XlmrEncoder e{nullptr};
    if (held_node_ == parent && held_) {
      e = copy_encoder(held_);
      e->to(s_.device);  // a kept copy lives in host memory
    } else if (kept_.count(parent)) {
      e = copy_encoder(kept_.at(parent));
      e->to(s_.device);
    } else {
      torch::manual_seed(0);
      EncoderOptions o;
      o.with_pooler = true;
      o.activation_checkpointing = s_.config.model.activation_checkpointing;
      e = XlmrEncoder(model_config(), o);
      e->to(s_.device);
      const bool from_peer = reply.a == static_cast<int64_t>(WeightSource::kPeer) && reply.b >= 0 &&
                             receive_encoder(parent, static_cast<int>(reply.b), e);
      if (from_peer) {
        ++peer_transfers_;
      } else {
        OT_CHECK(s_.results.has_checkpoint(parent), "node {} needs parent {}, neither held nor kept",
                 node_name(s_.plan.nodes[static_cast<size_t>(parent)]), parent);
        s_.results.read_checkpoint(parent, *e);
        ++file_reads_;
      }
    }
    *wait = unix_now() - t0;
    return e;
  }

  XlmrConfig model_config() { return root_model_config(s_.config, s_.data.vocab_size()); }

  // Keeps the node's encoder as this worker's held copy, rounded as the file stores it.
  void hold(int64_t node, XlmrEncoder e) {
    if (s_.layout.checkpoint_dtype == WeightDtype::kBFloat16) {
      torch::NoGradGuard no_grad;
      for (auto& p : e->parameters()) p.copy_(p.to(torch::kBFloat16).to(p.scalar_type()));
    }
    held_ = e;
    held_node_ = node;
  }

  // Returns false when stopped by a signal before the node finished.
  bool run_node(const Reply& reply) {
    const int64_t id = reply.node;
    const PlanNode& node = s_.plan.nodes[static_cast<size_t>(id)];
    OT_CHECK(node.kind != NodeKind::kRoot, "the root runs on every rank at once, not on worker {}", worker_);
    NodeRun run;
    begin_node(id, s_.group, leader_, "", run);
    run.hooks.group = s_.group;
    NodeRecord& rec = run.rec;
    XlmrEncoder e = parent_encoder(node.parent, reply, &rec.wait_seconds);
    if (node.kind == NodeKind::kStage) {
      rec.training = train_stage(e, s_.data.stage(node.stage), node.seed, run.hooks);
      if (run.interrupted) return false;
      if (leader_) s_.results.write_checkpoint(id, *e);
      finish_node(id, rec, leader_);
      hold(id, e);
      return true;
    }
    const TargetResult t = run_target(e, s_.data, node.stage, node.seed, run.hooks);
    if (run.interrupted) return false;
    rec.target = &t;
    finish_node(id, rec, leader_);
    return true;
  }

  // What a node's training needs from the sweep: stop decisions at step boundaries (rank 0 of
  // `ranks` decides for all of them; nullptr = this rank alone), resume snapshots (written by
  // `writer` every resume_every steps and when a signal stops the node, read by every rank when
  // it starts again), and its record's start.
  struct NodeRun {
    TrainHooks hooks;
    std::optional<TrainerSnapshot> snapshot;
    NodeRecord rec;
    bool interrupted = false;
  };
  void begin_node(int64_t id, Communicator* ranks, bool writer, const std::string& where, NodeRun& run) {
    const PlanNode& node = s_.plan.nodes[static_cast<size_t>(id)];
    run.hooks.on_step = [this, ranks, &run](int64_t, int64_t, const StageResult&) {
      int go = keep_going() ? 1 : 0;
      if (ranks) {
        torch::Tensor t = torch::tensor({go}, torch::kInt64);
        ranks->broadcast(t, 0);
        go = static_cast<int>(t[0].item<int64_t>());
      }
      if (!go) run.interrupted = true;
      return go != 0;
    };
    run.hooks.snapshot_every = s_.resume.every();
    run.hooks.on_snapshot = [this, id, seed = node.seed, writer](const TrainerSnapshot& snap) {
      if (writer) s_.resume.save(id, seed, snap);
    };
    run.snapshot = s_.resume.load(id, node.seed);
    if (run.snapshot) run.hooks.resume_from = &*run.snapshot;
    run.rec.rank = s_.ranks.world_rank;
    run.rec.start_time = unix_now();
    if (!writer) return;
    if (run.snapshot)
      log::info("{}: start{}, resuming at step {} ({})", node_name(node), where, run.snapshot->step,
                s_.resume.path_of(id).string());
    else
      log::info("{}: start{}", node_name(node), where);
    s_.results.mark_started(id, s_.ranks.world_rank, run.rec.start_time);
  }

  // The node's times, then (by `writer`) its data and done mark; its resume snapshot is then no
  // longer needed.
  void finish_node(int64_t id, NodeRecord& rec, bool writer) {
    const StageResult& t = rec.target ? rec.target->training : rec.training;
    rec.train_seconds = t.train_seconds;
    rec.eval_seconds = t.eval_seconds;
    rec.end_time = unix_now();
    last_tokens_ = t.tokens;
    if (!writer) return;
    s_.results.write_node(id, rec);
    s_.resume.remove(id);
  }

  Shared& s_;
  Coordinator* coord_;
  int worker_ = 0;
  bool leader_ = true;
  XlmrEncoder held_{nullptr};
  int64_t held_node_ = -1;
  std::map<int64_t, XlmrEncoder> kept_;  // rule 6: encoders kept for peers and later children
  std::vector<int64_t> pending_drops_;   // leader: kept copies to free at the next request
  int64_t last_tokens_ = 0;  // training tokens of the last finished node (progress)

 public:
  int64_t peer_transfers_ = 0, file_reads_ = 0;  // where parents came from (when not held)
};

// Done nodes whose encoder a pending child needs but the file does not keep are run again
// (deterministic: they give the same numbers).
std::vector<uint8_t> effective_done(const Plan& plan, std::vector<uint8_t> done, const ResultsLayout& layout) {
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

}  // namespace

int run_sweep(const SweepConfig& config, const SweepOptions& options, MPI_Comm world) {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
  RankLayout ranks = make_rank_layout(world, config.sweep.group_size);
  const int threads = configure_threads(options.threads > 0 ? options.threads : config.sweep.threads,
                                        ranks.local_size);
  const torch::Device device = select_device(ranks.local_rank);
  set_training_precision(config.model.dtype, device);
  TaskData data(config);
  const CostModel cost = CostModel::from_config(config);
  const Plan plan = build_plan(config, cost);
  const XlmrConfig model = root_model_config(config, data.vocab_size());
  ResultsLayout layout = make_results_layout(plan, node_outputs(data, plan), config, model);
  layout.model_config_json = hf_config_json(model, "XLMRobertaModel");
  const std::filesystem::path path = options.results.empty() ? std::filesystem::path(config.output.results) : options.results;
  std::unique_ptr<ResultsFile> results = ResultsFile::open_or_create(path, world, config, plan, layout);
  const std::vector<uint8_t> done = effective_done(plan, results->done_at_open(), layout);
  int64_t done_count = 0;
  for (uint8_t d : done) done_count += d;
  if (ranks.world_rank == 0)
    log::info("sweep '{}': {} nodes ({} done{}), {} worker(s) of {} rank(s), {} thread(s) per rank, device {}{}, results {}",
              config.sweep.name, plan.nodes.size(), done_count, results->resumed() ? ", resumed" : "",
              ranks.groups, ranks.group_size, threads, device.str(),
              config.model.dtype == Precision::kBf16 ? " (bf16 autocast)" : "", path.string());

  std::unique_ptr<Communicator> group;
  if (ranks.group_size > 1) group = make_communicator(ranks.group_comm, device);  // NCCL on GPUs
  // Snapshots belong to this config and this cache's layout (a changed cache changes the sizes).
  const ResumeStore resume(path, config.hash + ":" + layout.hash(), config.output.resume_every);
  Shared shared{config, data, plan, *results, layout, ranks, group.get(), resume, device};
  std::unique_ptr<Coordinator> coordinator;
  if (ranks.world_rank == 0)
    coordinator = std::make_unique<Coordinator>(plan, ranks.groups, done, config.output.checkpoints != CheckpointKeep::kNone,
                                                ranks.group_size, options);
  Worker worker(shared, coordinator.get());
  bool stopped = false, stopped_in_root = false;
  try {
    if (!done[0]) {  // scheduler.h rule 0: the root on every rank at once
      std::unique_ptr<Communicator> everyone;
      if (ranks.world_size > 1) everyone = make_communicator(world, device);
      stopped = stopped_in_root = !worker.run_root_everywhere(everyone.get());
    }
    if (!stopped) stopped = worker.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordertune: rank %d: %s\n", ranks.world_rank, e.what());
    std::fflush(stderr);
    MPI_Abort(world, kExitFailure);
  }
  // Rank 0 keeps answering (and sending the encoder it holds to peers told to take it from
  // worker 0) until every other worker has been told to finish.
  if (coordinator && !stopped_in_root)
    while (coordinator->finish_sent() < ranks.groups - 1) {
      coordinator->serve();
      worker.serve_peers();
      std::this_thread::sleep_for(kPollSleep);
    }
  // Where the parents of the nodes run in this session came from (when not held).
  int64_t sources[2] = {worker.peer_transfers_, worker.file_reads_}, totals[2] = {0, 0};
  if (ranks.group_rank != 0) sources[0] = sources[1] = 0;  // counted once per group
  MPI_Reduce(sources, totals, 2, MPI_INT64_T, MPI_SUM, 0, world);
  if (ranks.world_rank == 0)
    log::info("parent encoders not held by their worker: {} from a peer over MPI, {} from the results file",
              totals[0], totals[1]);
  if (coordinator) coordinator->report_progress(/*final_report=*/true);
  MPI_Barrier(world);  // every rank's writes are in before the collective close
  results.reset();
  if (ranks.world_rank == 0)
    log::info(stopped || g_stop_signal ? "sweep stopped by signal {}; run the same command to continue"
                                       : "sweep finished: {}",
              stopped || g_stop_signal ? std::to_string(static_cast<int>(g_stop_signal)) : path.string());
  return kExitOk;
}

}  // namespace ordertune

#include "ordertune/sweep/node_run.h"

#include <chrono>
#include <filesystem>
#include <utility>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/model/weights.h"

namespace ordertune {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- encoders in memory ----------------------------------------------------------------------

void HeldEncoders::hold(int64_t node, XlmrEncoder e) {
  held_ = std::move(e);
  held_node_ = node;
}

void HeldEncoders::keep_held() {
  OT_CHECK(held_ && held_node_ >= 0, "told to keep the held encoder, holding none");
  held_->to(torch::kCPU);  // kept copies wait in host memory, not on the GPU
  kept_.insert_or_assign(held_node_, held_);
}

void HeldEncoders::drop(int64_t node) {
  kept_.erase(node);
}

XlmrEncoder HeldEncoders::find(int64_t node) const {
  if (held_ && held_node_ == node) return held_;
  if (const auto it = kept_.find(node); it != kept_.end()) return it->second;
  return XlmrEncoder{nullptr};
}

// ---- one node ----------------------------------------------------------------------------------

NodeRunner::NodeRunner(SweepContext& s, PeerTransfer& peers, std::function<bool()> keep_going,
                       std::function<void()> while_waiting)
    : s_(s),
      peers_(peers),
      keep_going_(std::move(keep_going)),
      while_waiting_(std::move(while_waiting)),
      leader_(s.ranks.group_rank == 0) {}

bool NodeRunner::run_root_everywhere(Communicator* everyone) {
  const bool first = s_.ranks.world_rank == 0;
  Started run;
  begin_node(0, everyone, first, fmt::format(" on all {} ranks", s_.ranks.world_size), run);
  run.hooks.spread = everyone;
  StageResult pre;
  XlmrEncoder e = make_root_encoder(s_.data, s_.device, run.hooks, &pre);
  if (run.interrupted) return false;
  run.rec.training = pre;
  if (first) s_.results.write_checkpoint(0, *e);
  finish_node(0, run.rec, first);
  last_seconds_ = run.rec.end_time - run.rec.start_time;
  hold(0, e);
  return true;
}

bool NodeRunner::run(const protocol::Run& assigned) {
  const int64_t id = assigned.node;
  const PlanNode& node = s_.plan.nodes[static_cast<size_t>(id)];
  OT_CHECK(node.kind != NodeKind::kRoot, "the root runs on every rank at once, not on worker {}",
           s_.ranks.group_index);
  Started run;
  begin_node(id, s_.group, leader_, "", run);
  run.hooks.group = s_.group;
  NodeRecord& rec = run.rec;
  XlmrEncoder e = parent_encoder(node.parent, assigned, &rec.wait_seconds);
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

void NodeRunner::begin_node(int64_t id, Communicator* ranks, bool writer, const std::string& where,
                            Started& run) {
  const PlanNode& node = s_.plan.nodes[static_cast<size_t>(id)];
  run.hooks.on_step = [this, ranks, &run](int64_t, int64_t, const StageResult&) {
    // A signal on any rank of `ranks` stops all of them at this same step (host data): a signal
    // that reached one rank of a group alone is not lost.
    double stop = keep_going_() ? 0.0 : 1.0;
    if (ranks) ranks->all_reduce_sum_host(&stop, 1);
    if (stop > 0) run.interrupted = true;
    return stop == 0;
  };
  run.hooks.snapshot_every = s_.resume.every();
  run.hooks.on_snapshot = [this, id, seed = node.seed, writer](const TrainerSnapshot& snap) {
    if (!writer) return;
    try {
      s_.resume.save(id, seed, snap);
    } catch (const DataError& e) {
      // A full disk: the snapshot is what a re-run would resume from, not a result. The node
      // goes on (the results file has its space from creation); without the snapshot a re-run
      // restarts the node from its first step.
      log::warn("{}; the node goes on, and a re-run would restart it from its first step",
                e.what());
    }
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

void NodeRunner::finish_node(int64_t id, NodeRecord& rec, bool writer) {
  const StageResult& t = rec.target ? rec.target->training : rec.training;
  rec.train_seconds = t.train_seconds;
  rec.eval_seconds = t.eval_seconds;
  rec.end_time = unix_now();
  last_tokens_ = t.tokens;
  if (!writer) return;
  s_.results.write_node(id, rec);
  s_.resume.remove(id);
}

XlmrEncoder NodeRunner::parent_encoder(int64_t parent, const protocol::Run& assigned,
                                       double* wait) {
  const double t0 = unix_now();
  XlmrEncoder e{nullptr};
  if (const XlmrEncoder in_memory = encoders_.find(parent)) {
    e = copy_encoder(in_memory);
    e->to(s_.device);  // a kept copy lives in host memory
  } else {
    e = blank_encoder();
    const bool from_peer = assigned.source == WeightSource::kPeer &&
                           peers_.receive(parent, assigned.holder, e, while_waiting_);
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

XlmrEncoder NodeRunner::blank_encoder() {
  // Its initial values are overwritten (from a peer or the file); seeding first leaves this
  // rank's global RNG in the same state whichever nodes it ran before.
  torch::manual_seed(0);
  const XlmrConfig model = root_model_config(s_.config, s_.data.vocab_size());
  EncoderOptions o;
  o.with_pooler = true;
  o.activation_checkpointing = s_.config.model.activation_checkpointing;
  XlmrEncoder e(model, o);
  e->to(s_.device);
  return e;
}

void NodeRunner::hold(int64_t node, XlmrEncoder e) {
  if (s_.layout.checkpoint_dtype == WeightDtype::kBFloat16) {
    torch::NoGradGuard no_grad;
    for (auto& p : e->parameters()) p.copy_(p.to(torch::kBFloat16).to(p.scalar_type()));
  }
  encoders_.hold(node, std::move(e));
}

}  // namespace ordertune

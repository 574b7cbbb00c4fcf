#include "ordertune/sweep/protocol.h"

#include <algorithm>

#include <fmt/format.h>

#include "ordertune/dist/mpi_check.h"

namespace ordertune::protocol {
namespace {

// Reply kinds on the wire (slot 0).
constexpr int64_t kKindRun = 0, kKindFinish = 1, kKindServe = 2, kKindDrop = 3, kKindStop = 4;
// Slots a message does not use hold this, so that unpack can tell a packed message from noise.
constexpr int64_t kUnused = -1;

[[noreturn]] void bad_wire(const char* what, const Wire& in, const std::string& expected) {
  throw ProtocolError(fmt::format("sweep protocol: {} {{{}, {}, {}, {}, {}}}: expected {}", what,
                                  in[0], in[1], in[2], in[3], in[4], expected));
}

// An int (a world rank or worker index) from a wire slot.
int as_int(const Wire& in, int slot, const char* what) {
  if (in[static_cast<size_t>(slot)] < -1 || in[static_cast<size_t>(slot)] > INT32_MAX)
    bad_wire(what, in, fmt::format("slot {} in -1..{}", slot, INT32_MAX));
  return static_cast<int>(in[static_cast<size_t>(slot)]);
}

[[noreturn]] void broken(int worker, const std::string& rule, const Reply& reply) {
  throw ProtocolError(
      fmt::format("sweep protocol: worker {}: {} ({}; protocol.h)", worker, describe(reply), rule));
}

}  // namespace

std::string describe(const Reply& reply) {
  if (const auto* r = std::get_if<Run>(&reply))
    return r->source == WeightSource::kPeer
               ? fmt::format("Run {} (parent from the peer at rank {}{})", r->node, r->holder,
                             r->keep_held ? ", keeping the held encoder" : "")
               : fmt::format("Run {} (parent: {}{})", r->node, weight_source_name(r->source),
                             r->keep_held ? ", keeping the held encoder" : "");
  if (std::holds_alternative<Finish>(reply)) return "Finish";
  if (std::holds_alternative<Stop>(reply)) return "Stop";
  if (const auto* s = std::get_if<Serve>(&reply))
    return fmt::format("Serve {} to rank {}", s->node, s->to);
  return fmt::format("Drop {}", std::get<Drop>(reply).node);
}

// ---- wire format -------------------------------------------------------------------------------

Wire pack(const Request& request) {
  return {request.worker, request.finished,
          request.notice    ? 2
          : request.stopped ? 1
                            : 0,
          static_cast<int64_t>(request.seconds * 1000), request.tokens};
}

Request unpack_request(const Wire& in) {
  Request r;
  if (in[0] < 0) bad_wire("request", in, "a worker index >= 0");
  r.worker = as_int(in, 0, "request");
  if (in[1] < -1) bad_wire("request", in, "a finished node >= -1");
  if (in[2] < 0 || in[2] > 2) bad_wire("request", in, "stopped 0 or 1, or 2 (a stop notice)");
  if (in[2] == 2 && in[1] != -1) bad_wire("request", in, "no finished node with a stop notice");
  if (in[4] < 0) bad_wire("request", in, "tokens >= 0");
  r.finished = in[1];
  r.stopped = in[2] != 0;
  r.notice = in[2] == 2;
  r.seconds = static_cast<double>(in[3]) / 1000.0;  // no check: the wall clock may step back
  r.tokens = in[4];
  return r;
}

Wire pack(const Reply& reply) {
  if (const auto* r = std::get_if<Run>(&reply))
    return {kKindRun, r->node, static_cast<int64_t>(r->source), r->holder, r->keep_held ? 1 : 0};
  if (std::holds_alternative<Finish>(reply))
    return {kKindFinish, kUnused, kUnused, kUnused, kUnused};
  if (const auto* s = std::get_if<Serve>(&reply))
    return {kKindServe, s->node, s->to, kUnused, kUnused};
  if (std::holds_alternative<Stop>(reply)) return {kKindStop, kUnused, kUnused, kUnused, kUnused};
  return {kKindDrop, std::get<Drop>(reply).node, kUnused, kUnused, kUnused};
}

Reply unpack_reply(const Wire& in) {
  const auto unused_from = [&](size_t slot) {
    for (size_t i = slot; i < in.size(); ++i)
      if (in[i] != kUnused) bad_wire("reply", in, fmt::format("slot {} unused (-1)", i));
  };
  if (in[0] != kKindFinish && in[0] != kKindStop && in[1] < 0)
    bad_wire("reply", in, "a node id >= 0");
  switch (in[0]) {
    case kKindRun: {
      Run r;
      r.node = in[1];
      if (in[2] < static_cast<int64_t>(WeightSource::kNone) ||
          in[2] > static_cast<int64_t>(WeightSource::kResultsFile))
        bad_wire("reply", in, "a weight source 0..3");
      r.source = static_cast<WeightSource>(in[2]);
      r.holder = as_int(in, 3, "reply");
      if ((r.source == WeightSource::kPeer) != (r.holder >= 0))
        bad_wire("reply", in, "a holder rank >= 0 with a peer source (2), else -1");
      if (in[4] != 0 && in[4] != 1) bad_wire("reply", in, "keep_held 0 or 1");
      r.keep_held = in[4] != 0;
      return r;
    }
    case kKindFinish:
      unused_from(1);
      return Finish{};
    case kKindServe: {
      Serve s;
      s.node = in[1];
      s.to = as_int(in, 2, "reply");
      if (s.to < 0) bad_wire("reply", in, "a world rank >= 0 to serve");
      unused_from(3);
      return s;
    }
    case kKindDrop:
      unused_from(2);
      return Drop{in[1]};
    case kKindStop:
      unused_from(1);
      return Stop{};
    default:
      bad_wire("reply", in, "kind 0 (Run), 1 (Finish), 2 (Serve), 3 (Drop) or 4 (Stop)");
  }
}

Reply reply_for(const Assignment& a, int group_size) {
  if (a.node < 0) {
    if (!a.finished)
      throw ProtocolError(
          "sweep protocol: an assignment without a node that is not finished has no reply");
    return Finish{};
  }
  Run r;
  r.node = a.node;
  r.source = a.source;
  r.holder = a.source == WeightSource::kPeer ? a.peer * group_size : -1;
  r.keep_held = a.keep_held;
  return r;
}

// ---- ordering rules ----------------------------------------------------------------------------

void ReplyStream::requested() {
  if (awaiting_)
    throw ProtocolError(
        fmt::format("sweep protocol: worker {}: a second request before the first was answered "
                    "(rule 1; protocol.h)",
                    worker_));
  awaiting_ = true;
}

bool ReplyStream::replied(const Reply& reply) {
  if (std::holds_alternative<Run>(reply) || std::holds_alternative<Finish>(reply)) {
    if (!awaiting_)
      broken(worker_, "rule 1: a Run or Finish answers a request, and none is outstanding", reply);
    awaiting_ = false;
    return true;
  }
  if (std::holds_alternative<Stop>(reply)) {
    if (stopped_) broken(worker_, "rule 6: a leader is told to stop once", reply);
    stopped_ = true;
    return false;
  }
  const int64_t node = std::holds_alternative<Serve>(reply) ? std::get<Serve>(reply).node
                                                            : std::get<Drop>(reply).node;
  const bool was_dropped = std::find(dropped_.begin(), dropped_.end(), node) != dropped_.end();
  if (std::holds_alternative<Serve>(reply)) {
    if (was_dropped) broken(worker_, "rule 4: every Serve of a node comes before its Drop", reply);
  } else {
    if (was_dropped) broken(worker_, "rule 4: a kept copy is dropped once", reply);
    dropped_.push_back(node);
  }
  return false;
}

ReplyOrder::ReplyOrder(const Plan& plan, int workers, int group_size)
    : plan_(plan), group_size_(group_size), owed_(static_cast<size_t>(workers)) {
  for (int w = 0; w < workers; ++w) streams_.emplace_back(w);
}

int ReplyOrder::worker_of(int world_rank, const char* what) const {
  const int workers = static_cast<int>(streams_.size());
  if (world_rank < 0 || world_rank % group_size_ != 0 || world_rank / group_size_ >= workers)
    throw ProtocolError(
        fmt::format("sweep protocol: {} {}: expected the leader of one of {} workers of {} ranks",
                    what, world_rank, workers, group_size_));
  return world_rank / group_size_;
}

void ReplyOrder::requested(int worker) {
  if (serve_owed(worker))
    throw ProtocolError(
        fmt::format("sweep protocol: worker {}: asked again before its parent (node {}) was served "
                    "(rule 3; protocol.h)",
                    worker, owed_[static_cast<size_t>(worker)].node));
  streams_[static_cast<size_t>(worker)].requested();
}

void ReplyOrder::sending(int worker, const Reply& reply) {
  Owed& owed = owed_[static_cast<size_t>(worker)];
  if (const auto* r = std::get_if<Run>(&reply);
      r && r->node >= static_cast<int64_t>(plan_.nodes.size()))
    broken(worker, fmt::format("a node of the plan's {}", plan_.nodes.size()), reply);
  if (const auto* r = std::get_if<Run>(&reply); r && r->source == WeightSource::kPeer) {
    if (worker_of(r->holder, "Run from the peer at rank") == worker)
      broken(worker, "rule 3: a peer holder is another worker", reply);
    if (owed.node >= 0)
      broken(worker, "rule 3: one Serve per Run from a peer, before the next", reply);
  }
  if (const auto* s = std::get_if<Serve>(&reply)) {
    Owed& theirs = owed_[static_cast<size_t>(worker_of(s->to, "Serve to rank"))];
    if (theirs.node != s->node || theirs.holder != worker * group_size_)
      broken(worker,
             "rule 3: a Serve follows the Run that names this worker as the holder of its parent",
             reply);
  }
  streams_[static_cast<size_t>(worker)].replied(reply);  // rules 1 and 4
  if (const auto* r = std::get_if<Run>(&reply); r && r->source == WeightSource::kPeer)
    owed = Owed{plan_.nodes[static_cast<size_t>(r->node)].parent, r->holder};
  if (const auto* s = std::get_if<Serve>(&reply))
    owed_[static_cast<size_t>(s->to / group_size_)] = Owed{};
}

// ---- over MPI ----------------------------------------------------------------------------------

void send_request(MPI_Comm world, const Request& request) {
  const Wire w = pack(request);
  OT_MPI_CHECK(MPI_Send(w.data(), kWireInts, MPI_INT64_T, 0, kTagRequest, world));
}

bool receive_request(MPI_Comm world, int group_size, Request* out) {
  int flag = 0;
  MPI_Status st;
  OT_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, kTagRequest, world, &flag, &st));
  if (!flag) return false;
  Wire w{};
  OT_MPI_CHECK(MPI_Recv(w.data(), kWireInts, MPI_INT64_T, st.MPI_SOURCE, kTagRequest, world,
                        MPI_STATUS_IGNORE));
  *out = unpack_request(w);
  if (static_cast<int64_t>(out->worker) * group_size != st.MPI_SOURCE)
    throw ProtocolError(
        fmt::format("sweep protocol: rank {} asked for worker {}, whose leader is rank {}",
                    st.MPI_SOURCE, out->worker, static_cast<int64_t>(out->worker) * group_size));
  return true;
}

void send_reply(MPI_Comm world, int to, const Reply& reply) {
  const Wire w = pack(reply);
  OT_MPI_CHECK(MPI_Send(w.data(), kWireInts, MPI_INT64_T, to, kTagReply, world));
}

bool receive_reply(MPI_Comm world, Reply* out) {
  int flag = 0;
  OT_MPI_CHECK(MPI_Iprobe(0, kTagReply, world, &flag, MPI_STATUS_IGNORE));
  if (!flag) return false;
  Wire w{};
  OT_MPI_CHECK(MPI_Recv(w.data(), kWireInts, MPI_INT64_T, 0, kTagReply, world, MPI_STATUS_IGNORE));
  *out = unpack_reply(w);
  return true;
}

}  // namespace ordertune::protocol

// watchdog — ends a rank whose queued collective never completes (the "dist" component).
//
// NCCL queues a collective on a CUDA stream and returns; if a peer dies or hangs, the kernel
// waits forever, and so does the next host call that waits for the stream: the job would hang
// until its wall time. The NCCL communicator registers each call it queues here with a probe
// (a CUDA event). A thread checks every `poll` whether the oldest registered call has completed
// and whether the communicator reports an asynchronous error; when a call is older than
// `timeout`, or an error is reported, it calls `on_failure` once with one line saying what
// happened (the NCCL communicator then aborts the communicator and ends the process, which ends
// the MPI job). Independent of CUDA and NCCL, so that the CPU tests can drive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ordertune {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  using Probe = std::function<bool()>;              // true once the registered call has completed
  using ErrorCheck = std::function<std::string()>;  // non-empty: the communicator has failed
  using Failure = std::function<void(const std::string&)>;

  Watchdog(std::chrono::milliseconds timeout, std::chrono::milliseconds poll, ErrorCheck error,
           Failure on_failure);
  ~Watchdog();  // stops the thread; calls still pending are not reported
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Registers a call just queued; `what` names it in the failure line ("all_reduce_sum of
  // [1024] float32").
  void watch(std::string what, Probe done);
  // Calls registered and not yet seen complete.
  size_t pending() const;
  // Whether on_failure has been called.
  bool failed() const;

 private:
  struct Call {
    std::string what;
    Probe done;
    Clock::time_point queued;
  };
  void loop();
  // The failure line, or "" while all is well. Pops completed calls.
  std::string check();

  const std::chrono::milliseconds timeout_, poll_;
  ErrorCheck error_;
  Failure on_failure_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Call> calls_;
  bool stop_ = false, failed_ = false;
  std::thread thread_;
};

// The timeout of a collective: ORDERTUNE_COLLECTIVE_TIMEOUT seconds (a positive number), default
// 900. Anything else is a ConfigError naming the variable.
std::chrono::milliseconds collective_timeout();

}  // namespace ordertune

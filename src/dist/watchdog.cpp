#include "ordertune/dist/watchdog.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "ordertune/base/error.h"

namespace ordertune {

Watchdog::Watchdog(std::chrono::milliseconds timeout, std::chrono::milliseconds poll,
                   ErrorCheck error, Failure on_failure)
    : timeout_(timeout),
      poll_(poll),
      error_(std::move(error)),
      on_failure_(std::move(on_failure)),
      thread_([this] { loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Watchdog::watch(std::string what, Probe done) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back({std::move(what), std::move(done), Clock::now()});
}

size_t Watchdog::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_.size();
}

bool Watchdog::failed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_;
}

std::string Watchdog::check() {
  if (error_) {
    std::string e = error_();
    if (!e.empty()) return e;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Calls complete in the order they were queued (one stream), so only the oldest matters.
  while (!calls_.empty() && calls_.front().done()) calls_.pop_front();
  if (calls_.empty()) return "";
  const auto waited = Clock::now() - calls_.front().queued;
  if (waited < timeout_) return "";
  return fmt::format(
      "{} queued {:.0f} s ago has not completed (timeout {:.0f} s, ORDERTUNE_COLLECTIVE_TIMEOUT): "
      "a rank of its communicator has died or hangs",
      calls_.front().what, std::chrono::duration<double>(waited).count(),
      std::chrono::duration<double>(timeout_).count());
}

void Watchdog::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, poll_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    const std::string failure = check();
    lock.lock();
    if (failure.empty() || stop_) continue;
    failed_ = true;
    lock.unlock();
    on_failure_(failure);  // may end the process
    return;
  }
}

std::chrono::milliseconds collective_timeout() {
  const char* env = std::getenv("ORDERTUNE_COLLECTIVE_TIMEOUT");
  if (env == nullptr || *env == '\0') return std::chrono::milliseconds(900'000);
  char* end = nullptr;
  const double seconds = std::strtod(env, &end);
  if (end == env || *end != '\0' || !std::isfinite(seconds) || seconds <= 0)
    throw ConfigError(
        fmt::format("ORDERTUNE_COLLECTIVE_TIMEOUT: expected a positive number of seconds, found {}",
                    quote_found(env)));
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

}  // namespace ordertune

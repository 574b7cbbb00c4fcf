// The collective watchdog (dist/watchdog.h) that ends a rank whose NCCL call never completes.
// Driven here with probes of our own: what a CUDA event reports on a GPU, a flag reports here.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/dist/watchdog.h"

using namespace ordertune;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// Upper bound on waiting for the watchdog's thread: a hang guard, not a timing check.
constexpr auto kHangGuard = 120s;

}  // namespace

TEST_CASE("watchdog: a call that never completes is reported once, naming it", "[watchdog]") {
  std::promise<std::string> reported;
  std::atomic<int> calls{0};
  Watchdog dog(20ms, 2ms, nullptr, [&](const std::string& line) {
    if (calls++ == 0) reported.set_value(line);
  });
  dog.watch("all_reduce_sum of a [4] float32 tensor", [] { return false; });
  auto line = reported.get_future();
  REQUIRE(line.wait_for(kHangGuard) == std::future_status::ready);
  const std::string text = line.get();
  CHECK_THAT(text, Contains("all_reduce_sum of a [4] float32 tensor"));
  CHECK_THAT(text, Contains("has not completed"));
  CHECK_THAT(text, Contains("ORDERTUNE_COLLECTIVE_TIMEOUT"));
  CHECK(dog.failed());
  CHECK(calls == 1);
}

TEST_CASE("watchdog: completed calls are dropped and never reported", "[watchdog]") {
  std::atomic<bool> done{false}, failed{false};
  Watchdog dog(std::chrono::hours(1), 1ms, nullptr, [&](const std::string&) { failed = true; });
  dog.watch("broadcast", [&] { return done.load(); });
  dog.watch("send", [] { return true; });
  CHECK(dog.pending() >= 1);  // the first is not done, so neither is popped
  done = true;
  const auto until = std::chrono::steady_clock::now() + kHangGuard;
  while (dog.pending() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  CHECK(dog.pending() == 0);
  CHECK_FALSE(dog.failed());
  CHECK_FALSE(failed);
}

TEST_CASE("watchdog: an asynchronous error is reported without waiting for the timeout",
          "[watchdog]") {
  std::promise<std::string> reported;
  Watchdog dog(
      std::chrono::hours(1), 1ms,
      [] { return std::string("asynchronous error: remote process exited"); },
      [&](const std::string& line) { reported.set_value(line); });
  dog.watch("recv", [] { return false; });
  auto line = reported.get_future();
  REQUIRE(line.wait_for(kHangGuard) == std::future_status::ready);
  CHECK(line.get() == "asynchronous error: remote process exited");
}

TEST_CASE("watchdog: ORDERTUNE_COLLECTIVE_TIMEOUT is seconds, default 900", "[watchdog]") {
  unsetenv("ORDERTUNE_COLLECTIVE_TIMEOUT");
  CHECK(collective_timeout() == 900s);
  setenv("ORDERTUNE_COLLECTIVE_TIMEOUT", "1.5", 1);
  CHECK(collective_timeout() == 1500ms);
  setenv("ORDERTUNE_COLLECTIVE_TIMEOUT", "ten", 1);
  try {
    collective_timeout();
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()) ==
          "ORDERTUNE_COLLECTIVE_TIMEOUT: expected a positive number of seconds, found 'ten'");
  }
  setenv("ORDERTUNE_COLLECTIVE_TIMEOUT", "0", 1);
  CHECK_THROWS_AS(collective_timeout(), ConfigError);
  unsetenv("ORDERTUNE_COLLECTIVE_TIMEOUT");
}

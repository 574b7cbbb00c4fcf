#include "ordertune/base/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>

namespace ordertune::log {
namespace {

struct State {
  int rank = 0;
  Level min_level = Level::kInfo;
  std::string program = "ordertune";
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::mutex mutex;
  std::string status_line;  // live line at the bottom of a terminal, "" = none
};

constexpr const char* kClearLine = "\r\033[K";  // carriage return, erase to end of line

State& state() {
  static State s;
  return s;
}

const char* level_tag(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug: ";
    case Level::kInfo:
      return "";
    case Level::kWarn:
      return "warning: ";
    case Level::kError:
      return "error: ";
  }
  return "";
}

}  // namespace

void configure(int rank, Level min_level) {
  state().rank = rank;
  state().min_level = min_level;
}

void set_program(const std::string& name) {
  state().program = name;
}

int rank() {
  return state().rank;
}

double elapsed_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - state().start).count();
}

void write(Level level, const std::string& message) {
  State& s = state();
  if (level < s.min_level) return;
  const std::string line = fmt::format("[{} r{} +{:.1f}s] {}{}\n", s.program, s.rank,
                                       elapsed_seconds(), level_tag(level), message);
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.status_line.empty()) std::fputs(kClearLine, stderr);
  std::fputs(line.c_str(), stderr);
  if (!s.status_line.empty()) std::fputs(s.status_line.c_str(), stderr);
  std::fflush(stderr);
}

void set_status_line(const std::string& text) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (text.empty() && s.status_line.empty()) return;
  std::fputs(kClearLine, stderr);
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  s.status_line = text;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

}  // namespace ordertune::log

// log — rank-prefixed, timestamped log lines on stderr.
//
// Every line reads "[ordertune r3 +12.5s] message" so that the interleaved output of many MPI
// ranks stays attributable. Ranks other than 0 print only warnings and errors unless verbose.
#pragma once

#include <string>

#include <fmt/format.h>

// Every target compiles against the one fmt that CMake chose and links (CMakeLists.txt, "fmt"); a
// torch wheel ships fmt headers of another version that must not shadow it.
#if defined(ORDERTUNE_FMT_VERSION) && FMT_VERSION != ORDERTUNE_FMT_VERSION
#error "these fmt headers are not the fmt CMake chose (a torch wheel's include/fmt ahead of it?)"
#endif

namespace ordertune::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets this process's rank (prefix) and the lowest level printed. Call once after MPI_Init.
void configure(int rank, Level min_level);
void set_program(const std::string& name);  // the prefix word, "ordertune" by default
int rank();
double elapsed_seconds();  // since the first log call of the process
void write(Level level, const std::string& message);

// A live status line (a progress bar) kept below the log lines on a terminal: each log line
// clears it, prints, and draws it again. "" removes it. Only for a process whose stderr is a
// terminal; elsewhere a live line would fill log files with carriage returns.
void set_status_line(const std::string& text);
bool stderr_is_terminal();

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ordertune::log

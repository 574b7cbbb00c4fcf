// error — typed errors a user can cause, and checks for programmer invariants.
//
// A user error (bad config, malformed data file, wrong checkpoint, foreign results file) is an
// exception derived from ordertune::Error whose what() is ONE line naming the file and line or
// the config field, what was expected and what was found. main() prints it and exits non-zero.
// A broken invariant inside ordertune is not the user's fault: OT_CHECK aborts loudly with the
// source location instead.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

// One fmt for every target (CMakeLists.txt, "fmt"; base/log.h checks the same).
#if defined(ORDERTUNE_FMT_VERSION) && FMT_VERSION != ORDERTUNE_FMT_VERSION
#error "these fmt headers are not the fmt CMake chose (a torch wheel's include/fmt ahead of it?)"
#endif

namespace ordertune {

// Exit statuses, used by both executables.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // runtime failure (I/O, data, checkpoint, results)
inline constexpr int kExitUsage = 2;    // bad command line or configuration

// Base of every error a user can cause; what() is the whole one-line message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = kExitFailure)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Command line or configuration: "configs/x.toml:12: train.lr: expected a number > 0, got -1".
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message, kExitUsage) {}
};

// A raw task file or the data cache: "data/mnli/train.jsonl:7: expected ..., found ...".
class DataError : public Error {
 public:
  using Error::Error;
};

// A model checkpoint (Hugging Face directory, safetensors, HDF5 weights).
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// A results file (foreign config, concurrent writer, damaged layout).
class ResultsError : public Error {
 public:
  using Error::Error;
};

// Raised by an external library (HDF5, MPI, sentencepiece) with the library's own message.
class LibraryError : public Error {
 public:
  using Error::Error;
};

// "FILE:LINE: expected WHAT, found GOT" — the canonical shape of a data error. line <= 0 omits it.
[[noreturn]] void throw_data_error(const std::string& file, int64_t line,
                                   const std::string& expected, const std::string& found);

// Shortens a found value for an error message: at most `max_chars` bytes (on a UTF-8 boundary),
// newlines escaped, quoted.
std::string quote_found(const std::string& text, size_t max_chars = 60);

// What stands at `path` when it is not a regular file: "no such file", "a directory", "a
// special file (a device, pipe or socket)"; "" for a regular file. For "expected ..., found ...".
std::string describe_non_regular(const std::filesystem::path& path);

[[noreturn]] void check_failed(const char* file, int line, const char* condition,
                               const std::string& message);

}  // namespace ordertune

// Programmer invariant: aborts with location, condition and a formatted message.
#define OT_CHECK(cond, ...)                                                                      \
  do {                                                                                           \
    if (!(cond)) ::ordertune::check_failed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)

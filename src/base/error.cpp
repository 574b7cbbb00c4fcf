#include "ordertune/base/error.h"

#include <cstdio>
#include <cstdlib>

#include "ordertune/base/utf8.h"

namespace ordertune {

void throw_data_error(const std::string& file, int64_t line, const std::string& expected,
                      const std::string& found) {
  const std::string where = line > 0 ? fmt::format("{}:{}", file, line) : file;
  throw DataError(fmt::format("{}: expected {}, found {}", where, expected, found));
}

std::string describe_non_regular(const std::filesystem::path& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return "no such file";
  if (std::filesystem::is_regular_file(st)) return "";
  if (std::filesystem::is_directory(st)) return "a directory";
  return "a special file (a device, pipe or socket)";
}

std::string quote_found(const std::string& text, size_t max_chars) {
  std::string cut = text;
  bool truncated = false;
  if (cut.size() > max_chars) {
    cut.resize(utf8_cut(cut, max_chars));  // the message stays valid UTF-8
    truncated = true;
  }
  std::string out = "'";
  for (char c : cut) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  out += truncated ? "...'" : "'";
  return out;
}

void check_failed(const char* file, int line, const char* condition, const std::string& message) {
  std::fprintf(stderr, "ordertune: internal check failed at %s:%d: %s: %s\n", file, line, condition,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ordertune

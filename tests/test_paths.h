// Paths the tests need: the checkout, tests/fixtures, the build tree, scratch folders.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace ordertune::testing {

inline std::filesystem::path source_dir() {
  return ORDERTUNE_SOURCE_DIR;
}
// Third-party and reference material with its notices (tests/fixtures/README.md).
inline std::filesystem::path fixtures() {
  return source_dir() / "tests" / "fixtures";
}
inline std::filesystem::path test_data() {
  return source_dir() / "tests" / "data";
}
inline std::filesystem::path binary_dir() {
  return ORDERTUNE_BINARY_DIR;
}

// A fresh scratch folder per call, removed when the object goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag = "t") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ordertune-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace ordertune::testing

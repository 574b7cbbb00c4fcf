// Helpers of the tests against Hugging Face references (issue 14): the committed reference sets
// under tests/data/hf/<check>/ (written by tests/hf/*.py with transformers), their manifests, and
// a safetensors reader of their expected tensors that is independent of the code under test
// (ordertune's own reader is weights.cpp; this one follows the format's specification directly:
// 8-byte little-endian header length N, N bytes of JSON, then the data).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine_test.h"
#include "test_paths.h"

namespace ordertune::testing {

// The reference set of a check: $ORDERTUNE_HF_<CHECK>_REFS when set (the `hf` CTest label points
// it at a freshly generated set that also holds the variants not committed), else the committed
// tests/data/hf/<check>.
inline std::filesystem::path hf_refs(const std::string& check, const char* env_name) {
  if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0') return env;
  return test_data() / "hf" / check;
}

inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  INFO(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Every tensor of a safetensors file: F32 and F64 as float32 / float64, I64 as int64.
inline std::map<std::string, torch::Tensor> read_expected(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  REQUIRE(raw.size() >= 8);
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);  // little-endian, as the host (x86-64)
  REQUIRE(8 + n <= raw.size());
  const nlohmann::json header = nlohmann::json::parse(raw.begin() + 8, raw.begin() + 8 + n);
  const char* data = raw.data() + 8 + n;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const auto dtype = info.at("dtype").get<std::string>();
    const auto type = dtype == "F32"   ? torch::kFloat32
                      : dtype == "F64" ? torch::kFloat64
                      : dtype == "I64" ? torch::kInt64
                                       : torch::kUInt8;
    INFO(name << " " << dtype);
    REQUIRE(type != torch::kUInt8);
    const auto shape = info.at("shape").get<std::vector<int64_t>>();
    const auto begin = info.at("data_offsets")[0].get<uint64_t>();
    const auto end = info.at("data_offsets")[1].get<uint64_t>();
    torch::Tensor t = torch::empty(shape, type);
    REQUIRE(end - begin == static_cast<uint64_t>(t.nbytes()));
    REQUIRE(8 + n + end <= raw.size());
    std::memcpy(t.data_ptr(), data + begin, end - begin);
    out.emplace(name, t);
  }
  return out;
}

inline const torch::Tensor& expected_tensor(const std::map<std::string, torch::Tensor>& tensors,
                                            const std::string& name) {
  const auto it = tensors.find(name);
  INFO("expected tensor '" << name << "'");
  REQUIRE(it != tensors.end());
  return it->second;
}

// Largest |a - b| (float64), after checking that the shapes agree.
inline double worst_difference(const torch::Tensor& a, const torch::Tensor& b) {
  INFO("shapes " << a.sizes() << " and " << b.sizes());
  REQUIRE(a.sizes() == b.sizes());
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Prints one comparison as every hf check does: its worst difference against its tolerance.
inline double report_hf(const std::string& check, const std::string& what, double worst,
                        double tolerance) {
  std::printf("hf:%s %-58s worst difference %.3g (tolerance %g)\n", check.c_str(), what.c_str(),
              worst, tolerance);
  std::fflush(stdout);
  return worst;
}

}  // namespace ordertune::testing

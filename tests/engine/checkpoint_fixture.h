// Helpers of the weights and parity tests: the xlmr-tiny fixture, its checkpoint variants written
// by make_checkpoint_variants.py (numpy only, independent of ordertune), and an HDF5 reader that
// uses the HDF5 C API directly rather than the code under test.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <hdf5.h>

#include "engine/engine_test.h"
#include "test_paths.h"

namespace ordertune::testing {

// The reference implementation's hidden states match within this (float32 accumulation-order
// differences between two implementations of the same network; tests/fixtures/README.md).
inline constexpr double kParityTolerance = 1e-4;

inline std::filesystem::path xlmr_tiny() {
  return fixtures() / "xlmr-tiny";
}

inline constexpr const char* kPython = "/usr/bin/python3";  // Debian's, with python3-numpy

// Exit status of a shell command (-1 if it did not exit normally).
inline int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes the checkpoint variants of xlmr-tiny under `out` (one folder per variant; see the
// script's docstring). Fails the test clearly when Debian's python3-numpy is missing.
inline void make_checkpoint_variants(const std::filesystem::path& out) {
  if (run_shell(std::string(kPython) + " -c 'import numpy' >/dev/null 2>&1") != 0)
    FAIL(kPython << " cannot import numpy: install Debian's python3-numpy "
                    "(apt-get install python3-numpy); the checkpoint variants need it");
  const auto script = source_dir() / "tests" / "engine" / "make_checkpoint_variants.py";
  const std::string command = std::string(kPython) + " '" + script.string() + "' '" +
                              xlmr_tiny().string() + "' '" + out.string() + "'";
  INFO(command);
  REQUIRE(run_shell(command) == 0);
}

// Reads a whole float (-> float32) or integer (-> int64) dataset of an HDF5 file.
inline torch::Tensor read_h5_dataset(const std::filesystem::path& file, const std::string& name) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t ds = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  INFO(file << ": " << name);
  REQUIRE(ds >= 0);
  const hid_t space = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  const hid_t type = H5Dget_type(ds);
  const bool is_float = H5Tget_class(type) == H5T_FLOAT;
  torch::Tensor out = torch::empty(std::vector<int64_t>(dims.begin(), dims.end()),
                                   is_float ? torch::kFloat : torch::kInt64);
  REQUIRE(H5Dread(ds, is_float ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                  out.data_ptr()) >= 0);
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(f);
  return out;
}

// Largest |a - b| over the unpadded positions: a, b [L+1, B, T, H], mask [B, T].
inline double worst_unpadded_difference(const torch::Tensor& a, const torch::Tensor& b,
                                        const torch::Tensor& mask) {
  REQUIRE(a.sizes() == b.sizes());
  const torch::Tensor keep = mask.to(torch::kBool).unsqueeze(0).unsqueeze(-1).expand_as(a);
  return (a - b).abs().masked_select(keep).max().item<double>();
}

}  // namespace ordertune::testing

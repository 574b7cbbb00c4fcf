// h5 — thin RAII wrappers over the HDF5 C API, shared by the data cache and the results file.
//
// Every HDF5 call goes through h5_check(), which turns a failure into a LibraryError carrying
// HDF5's own error stack (innermost message first), as HighFive does. Automatic printing of the
// HDF5 error stack is switched off once per process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

#include <hdf5.h>

namespace ordertune::h5 {

// Throws LibraryError("<what>: <HDF5 error stack>") when status < 0.
hid_t h5_check(hid_t status, const std::string& what);

// Owns one HDF5 identifier (file, group, dataset, dataspace, type, property list, attribute).
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// HDF5 native type of T (int8, int32, int64, uint8, float, double, uint64).
template <typename T>
hid_t native_type();

class Group;

class File {
 public:
  // Creates (truncating) a file for serial writing.
  static File create(const std::filesystem::path& path);
  // Opens an existing file read-only or read-write (serial driver).
  static File open(const std::filesystem::path& path, bool writable);
  Group root() const;
  hid_t id() const { return handle_.id(); }
  void flush() const;
  const std::string& path() const { return path_; }

 private:
  Handle handle_;
  std::string path_;
};

class Group {
 public:
  Group() = default;
  Group(Handle handle, std::string path) : handle_(std::move(handle)), path_(std::move(path)) {}
  hid_t id() const { return handle_.id(); }
  const std::string& path() const { return path_; }

  bool exists(const std::string& name) const;  // a direct child (group or dataset)
  Group create_group(const std::string& name) const;
  Group open_group(const std::string& name) const;     // throws LibraryError if absent
  Group require_group(const std::string& name) const;  // open, or create when absent
  std::vector<std::string> children() const;           // names of direct children, sorted

  // Attributes (scalars, strings, string lists stored as a JSON-free variable-length array).
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, int64_t value) const;
  void set_attr(const std::string& name, double value) const;
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;

  // One-dimensional datasets. Empty vectors are stored as zero-length datasets.
  template <typename T>
  void write(const std::string& name, const std::vector<T>& values,
             const std::string& description = "") const;
  void write_strings(const std::string& name, const std::vector<std::string>& values,
                     const std::string& description = "") const;
  template <typename T>
  std::vector<T> read(const std::string& name) const;
  std::vector<std::string> read_strings(const std::string& name) const;
  int64_t dataset_size(const std::string& name) const;

 private:
  Handle handle_;
  std::string path_;
};

// Attribute helpers on any object (dataset or group) by id.
void set_string_attr(hid_t object, const std::string& name, const std::string& value);
std::string get_string_attr(hid_t object, const std::string& name);

}  // namespace ordertune::h5

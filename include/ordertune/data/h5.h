// h5 — the one wrapper over the HDF5 C API, shared by the data cache, the results file and the
// weight files: RAII handles, files (serial, or parallel through MPI-IO), groups, datasets and
// attributes. Nothing else in the tree calls the HDF5 C API.
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
#include <mpi.h>

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

// An owned copy of a type (a native type, say).
Handle copy_type(hid_t type);
// A fixed-width UTF-8 string type, NUL-padded, `width` bytes (at least 1).
Handle string_type(size_t width);
// The width a fixed-width string type needs for `values` (at least 1).
size_t string_width(const std::vector<std::string>& values);
// Bytes of one element of a type (a fixed-width string type: its width).
size_t type_size(hid_t type);

// The HDF5 library's version, "1.10.8".
std::string library_version();

// Whether `path` is an HDF5 file (false for any other file or none).
bool is_hdf5(const std::filesystem::path& path);

class Group;

// One dataset of any rank. Partial reads and writes go in pieces of at most 1 GiB: HDF5's
// MPI-IO driver (1.10, as in Debian 12) fails any single transfer of 2 GiB or more ("can't
// convert from size to size_i": MPI-IO counts are int), and one fp32 encoder of XLM-R large is
// 2.24 GB.
class Dataset {
 public:
  Dataset() = default;
  Dataset(Handle handle, std::string path) : handle_(std::move(handle)), path_(std::move(path)) {}
  hid_t id() const { return handle_.id(); }
  const std::string& path() const { return path_; }
  std::vector<int64_t> shape() const;
  size_t element_size() const;  // bytes of one element of the stored type
  bool is_float() const;        // the stored type is a floating-point type

  // Elements [offset, offset + count) of a 1-d dataset, or (row >= 0) columns [offset, offset +
  // count) of row `row` of a 2-d one, converted from or to `mem_type`.
  void write(hid_t mem_type, const void* data, hsize_t offset, hsize_t count,
             int64_t row = -1) const;
  void read(hid_t mem_type, void* data, hsize_t offset, hsize_t count, int64_t row = -1) const;
  template <typename T>
  void write(const std::vector<T>& values, hsize_t offset = 0) const {
    write(native_type<T>(), values.data(), offset, values.size());
  }
  template <typename T>
  void write_one(hsize_t offset, const T& value) const {
    write(native_type<T>(), &value, offset, 1);
  }
  // All of it in one transfer, converted to `mem_type` (any rank; serial files).
  void write_all(hid_t mem_type, const void* data) const;
  void read_all(hid_t mem_type, void* data) const;
  template <typename T>
  std::vector<T> read_all() const;
  // Strings of a 1-d fixed-width or variable-length string dataset.
  void write_strings(const std::vector<std::string>& values) const;  // fixed-width only
  std::vector<std::string> read_strings() const;

  void set_attr(const std::string& name, const std::string& value) const;
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;

 private:
  void transfer(hid_t mem_type, void* data, hsize_t offset, hsize_t count, int64_t row,
                bool write) const;
  Handle handle_;
  std::string path_;
};

class File {
 public:
  // Creates (truncating) a file for serial writing.
  static File create(const std::filesystem::path& path);
  // Opens an existing file read-only or read-write (serial driver).
  static File open(const std::filesystem::path& path, bool writable);
  // Creates (truncating) or opens read-write a file through MPI-IO, collectively over `comm`.
  static File create_parallel(const std::filesystem::path& path, MPI_Comm comm);
  static File open_parallel(const std::filesystem::path& path, MPI_Comm comm);
  Group root() const;
  hid_t id() const { return handle_.id(); }
  void flush() const;
  void close() { handle_.reset(); }  // collective for a parallel file
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

  bool exists(const std::string& name) const;      // a direct child (group or dataset)
  bool is_dataset(const std::string& name) const;  // a direct child that is a dataset
  Group create_group(const std::string& name) const;
  Group open_group(const std::string& name) const;     // throws LibraryError if absent
  Group require_group(const std::string& name) const;  // open, or create when absent
  std::vector<std::string> children() const;           // names of direct children, sorted
  // Copies the object at `path` of `source` (another file's group) to the same path below this.
  void copy_from(const Group& source, const std::string& path) const;
  // A second name for an object of this file (an HDF5 hard link): `name` below this group names
  // `source_name` below `source`, stored once.
  void link_to(const std::string& name, const Group& source, const std::string& source_name) const;

  // Attributes (scalars, strings, string lists stored as a JSON-free variable-length array).
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, int64_t value) const;
  void set_attr(const std::string& name, double value) const;
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;

  // A dataset (name may be a path below this group).
  Dataset open_dataset(const std::string& name) const;
  // A contiguous dataset of `type` and shape `dims` (empty: a scalar), allocated at creation as
  // parallel HDF5 needs; filled with `*fill` (a value of `type`) or left unwritten (never read
  // before written). `description` is stored as its attribute (none if empty).
  Dataset create_dataset(const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                         const std::string& description, const void* fill = nullptr) const;
  // A group with a description attribute.
  Group create_group(const std::string& name, const std::string& description) const;

  // One-dimensional datasets written whole (chunked and deflated when large; strings of variable
  // length). Empty vectors are stored as zero-length datasets.
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

// Attribute helpers on any object (file, dataset or group) by id.
void set_string_attr(hid_t object, const std::string& name, const std::string& value);
std::string get_string_attr(hid_t object, const std::string& name);

}  // namespace ordertune::h5

#include "ordertune/data/h5.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "ordertune/base/error.h"

namespace ordertune::h5 {
namespace {

// Collects the HDF5 error stack into one line, innermost first.
herr_t collect_error(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  std::string msg = err->desc ? err->desc : "";
  if (msg.empty()) return 0;
  if (n == 0) {
    *out = msg;
  } else {
    *out += " <- " + msg;
  }
  return 0;
}

void silence_hdf5_once() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

constexpr size_t kChunkElements = 1 << 16;  // chunk size for compressed, large datasets

}  // namespace

hid_t h5_check(hid_t status, const std::string& what) {
  if (status >= 0) return status;
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw LibraryError(fmt::format("{}: HDF5 error: {}", what, stack.empty() ? "unknown" : stack));
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && H5Iis_valid(id_) > 0) H5Idec_ref(id_);
  id_ = H5I_INVALID_HID;
}

template <>
hid_t native_type<int8_t>() {
  return H5T_NATIVE_INT8;
}
template <>
hid_t native_type<int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t native_type<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t native_type<uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t native_type<uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t native_type<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t native_type<double>() {
  return H5T_NATIVE_DOUBLE;
}

File File::create(const std::filesystem::path& path) {
  silence_hdf5_once();
  File f;
  f.path_ = path.string();
  f.handle_ = Handle(h5_check(H5Fcreate(f.path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                              "creating " + f.path_));
  return f;
}

File File::open(const std::filesystem::path& path, bool writable) {
  silence_hdf5_once();
  File f;
  f.path_ = path.string();
  f.handle_ = Handle(
      h5_check(H5Fopen(f.path_.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
               "opening " + f.path_));
  return f;
}

Group File::root() const {
  return Group(Handle(h5_check(H5Gopen2(handle_.id(), "/", H5P_DEFAULT), path_ + ": opening /")),
               path_ + ":/");
}

void File::flush() const {
  h5_check(H5Fflush(handle_.id(), H5F_SCOPE_GLOBAL), "flushing " + path_);
}

bool Group::exists(const std::string& name) const {
  return h5_check(H5Lexists(id(), name.c_str(), H5P_DEFAULT), path_ + ": checking " + name) > 0;
}

Group Group::create_group(const std::string& name) const {
  const std::string child = path_ + (path_.back() == '/' ? "" : "/") + name;
  return Group(
      Handle(h5_check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "creating group " + child)),
      child);
}

Group Group::open_group(const std::string& name) const {
  const std::string child = path_ + (path_.back() == '/' ? "" : "/") + name;
  return Group(
      Handle(h5_check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "opening group " + child)), child);
}

Group Group::require_group(const std::string& name) const {
  return exists(name) ? open_group(name) : create_group(name);
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  h5_check(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names),
           path_ + ": listing children");
  std::sort(names.begin(), names.end());
  return names;
}

void set_string_attr(hid_t object, const std::string& name, const std::string& value) {
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  Handle type(h5_check(H5Tcopy(H5T_C_S1), "attribute type"));
  h5_check(H5Tset_size(type.id(), std::max<size_t>(value.size(), 1)), "attribute size");
  h5_check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "attribute charset");
  Handle space(h5_check(H5Screate(H5S_SCALAR), "attribute space"));
  Handle attr(
      h5_check(H5Acreate2(object, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
               "creating attribute " + name));
  std::string padded = value.empty() ? std::string(1, '\0') : value;
  h5_check(H5Awrite(attr.id(), type.id(), padded.data()), "writing attribute " + name);
}

std::string get_string_attr(hid_t object, const std::string& name) {
  Handle attr(h5_check(H5Aopen(object, name.c_str(), H5P_DEFAULT), "opening attribute " + name));
  Handle type(h5_check(H5Aget_type(attr.id()), "attribute type " + name));
  if (H5Tget_class(type.id()) != H5T_STRING)
    throw LibraryError(fmt::format("attribute '{}': expected a string", name));
  if (H5Tis_variable_str(type.id()) > 0) {
    char* raw = nullptr;
    Handle mem(h5_check(H5Tcopy(H5T_C_S1), "string type"));
    H5Tset_size(mem.id(), H5T_VARIABLE);
    H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
    h5_check(H5Aread(attr.id(), mem.id(), &raw), "reading attribute " + name);
    std::string out = raw ? raw : "";
    H5free_memory(raw);
    return out;
  }
  const size_t size = H5Tget_size(type.id());
  std::string out(size, '\0');
  h5_check(H5Aread(attr.id(), type.id(), out.data()), "reading attribute " + name);
  out.resize(std::strlen(out.c_str()));
  return out;
}

void Group::set_attr(const std::string& name, const std::string& value) const {
  set_string_attr(id(), name, value);
}

template <typename T>
static void set_scalar_attr(hid_t object, const std::string& name, T value) {
  if (H5Aexists(object, name.c_str()) > 0) H5Adelete(object, name.c_str());
  Handle space(h5_check(H5Screate(H5S_SCALAR), "attribute space"));
  Handle attr(h5_check(
      H5Acreate2(object, name.c_str(), native_type<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
      "creating attribute " + name));
  h5_check(H5Awrite(attr.id(), native_type<T>(), &value), "writing attribute " + name);
}

void Group::set_attr(const std::string& name, int64_t value) const {
  set_scalar_attr(id(), name, value);
}
void Group::set_attr(const std::string& name, double value) const {
  set_scalar_attr(id(), name, value);
}

bool Group::has_attr(const std::string& name) const {
  return h5_check(H5Aexists(id(), name.c_str()), path_ + ": attribute " + name) > 0;
}

std::string Group::attr_string(const std::string& name) const {
  return get_string_attr(id(), name);
}

template <typename T>
static T get_scalar_attr(hid_t object, const std::string& name, const std::string& where) {
  Handle attr(h5_check(H5Aopen(object, name.c_str(), H5P_DEFAULT), where + ": attribute " + name));
  T value{};
  h5_check(H5Aread(attr.id(), native_type<T>(), &value), where + ": reading attribute " + name);
  return value;
}

int64_t Group::attr_int(const std::string& name) const {
  return get_scalar_attr<int64_t>(id(), name, path_);
}
double Group::attr_double(const std::string& name) const {
  return get_scalar_attr<double>(id(), name, path_);
}

template <typename T>
void Group::write(const std::string& name, const std::vector<T>& values,
                  const std::string& description) const {
  const hsize_t n = values.size();
  Handle space(h5_check(H5Screate_simple(1, &n, nullptr), "dataspace"));
  Handle dcpl(h5_check(H5Pcreate(H5P_DATASET_CREATE), "dataset properties"));
  if (n > kChunkElements) {
    // Large arrays are chunked and deflated: token ids compress ~2-3x, and a cache for all of
    // XTREME-R stays a few GB instead of ten.
    const hsize_t chunk = kChunkElements;
    h5_check(H5Pset_chunk(dcpl.id(), 1, &chunk), "chunking");
    h5_check(H5Pset_shuffle(dcpl.id()), "shuffle filter");
    h5_check(H5Pset_deflate(dcpl.id(), 1), "deflate filter");
  }
  Handle ds(h5_check(H5Dcreate2(id(), name.c_str(), native_type<T>(), space.id(), H5P_DEFAULT,
                                dcpl.id(), H5P_DEFAULT),
                     path_ + ": creating dataset " + name));
  if (n > 0)
    h5_check(H5Dwrite(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
             path_ + ": writing dataset " + name);
  if (!description.empty()) set_string_attr(ds.id(), "description", description);
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& values,
                          const std::string& description) const {
  const hsize_t n = values.size();
  Handle type(h5_check(H5Tcopy(H5T_C_S1), "string type"));
  h5_check(H5Tset_size(type.id(), H5T_VARIABLE), "string size");
  h5_check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "string charset");
  Handle space(h5_check(H5Screate_simple(1, &n, nullptr), "dataspace"));
  Handle dcpl(h5_check(H5Pcreate(H5P_DATASET_CREATE), "dataset properties"));
  if (n > kChunkElements) {
    const hsize_t chunk = kChunkElements;
    h5_check(H5Pset_chunk(dcpl.id(), 1, &chunk), "chunking");
  }
  Handle ds(h5_check(
      H5Dcreate2(id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
      path_ + ": creating dataset " + name));
  if (n > 0) {
    std::vector<const char*> ptrs(n);
    for (size_t i = 0; i < n; ++i) ptrs[i] = values[i].c_str();
    h5_check(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
             path_ + ": writing dataset " + name);
  }
  if (!description.empty()) set_string_attr(ds.id(), "description", description);
}

int64_t Group::dataset_size(const std::string& name) const {
  Handle ds(
      h5_check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), path_ + ": opening dataset " + name));
  Handle space(h5_check(H5Dget_space(ds.id()), "dataspace"));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank != 1)
    throw LibraryError(
        fmt::format("{}/{}: expected a 1-d dataset, found rank {}", path_, name, rank));
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.id(), &n, nullptr);
  return static_cast<int64_t>(n);
}

template <typename T>
std::vector<T> Group::read(const std::string& name) const {
  const int64_t n = dataset_size(name);
  std::vector<T> out(static_cast<size_t>(n));
  Handle ds(
      h5_check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), path_ + ": opening dataset " + name));
  if (n > 0)
    h5_check(H5Dread(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
             path_ + ": reading dataset " + name);
  return out;
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
  const int64_t n = dataset_size(name);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  if (n == 0) return out;
  Handle ds(
      h5_check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), path_ + ": opening dataset " + name));
  Handle type(h5_check(H5Tcopy(H5T_C_S1), "string type"));
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  h5_check(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
           path_ + ": reading dataset " + name);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  Handle space(h5_check(H5Dget_space(ds.id()), "dataspace"));
  H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, ptrs.data());
  return out;
}

#define OT_H5_INSTANTIATE(T)                                                                   \
  template void Group::write<T>(const std::string&, const std::vector<T>&, const std::string&) \
      const;                                                                                   \
  template std::vector<T> Group::read<T>(const std::string&) const;
OT_H5_INSTANTIATE(int32_t)
OT_H5_INSTANTIATE(int64_t)
OT_H5_INSTANTIATE(uint8_t)
OT_H5_INSTANTIATE(uint64_t)
OT_H5_INSTANTIATE(float)
OT_H5_INSTANTIATE(double)
#undef OT_H5_INSTANTIATE

}  // namespace ordertune::h5

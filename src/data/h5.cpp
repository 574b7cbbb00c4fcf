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

Handle copy_type(hid_t type) {
  return Handle(h5_check(H5Tcopy(type), "H5Tcopy"));
}

Handle string_type(size_t width) {
  Handle t(h5_check(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  h5_check(H5Tset_size(t.id(), std::max<size_t>(1, width)), "H5Tset_size");
  h5_check(H5Tset_strpad(t.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
  h5_check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

size_t string_width(const std::vector<std::string>& values) {
  size_t n = 1;
  for (const auto& s : values) n = std::max(n, s.size());
  return n;
}

size_t type_size(hid_t type) {
  const size_t size = H5Tget_size(type);
  if (size == 0) throw LibraryError("H5Tget_size: not a datatype");
  return size;
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

bool is_hdf5(const std::filesystem::path& path) {
  silence_hdf5_once();
  return H5Fis_hdf5(path.string().c_str()) > 0;
}

// ---- Dataset ------------------------------------------------------------------------------------

namespace {
constexpr hsize_t kMaxTransferBytes = hsize_t{1} << 30;
}  // namespace

std::vector<int64_t> Dataset::shape() const {
  Handle space(h5_check(H5Dget_space(id()), path_ + ": dataspace"));
  const int rank = static_cast<int>(h5_check(H5Sget_simple_extent_ndims(space.id()), path_));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

size_t Dataset::element_size() const {
  Handle type(h5_check(H5Dget_type(id()), path_ + ": type"));
  return H5Tget_size(type.id());
}

bool Dataset::is_float() const {
  Handle type(h5_check(H5Dget_type(id()), path_ + ": type"));
  return H5Tget_class(type.id()) == H5T_FLOAT;
}

void Dataset::transfer(hid_t mem_type, void* data, hsize_t offset, hsize_t count, int64_t row,
                       bool write) const {
  if (count == 0) return;
  Handle file_space(h5_check(H5Dget_space(id()), path_ + ": dataspace"));
  const hsize_t element = std::max<hsize_t>(1, H5Tget_size(mem_type));
  const hsize_t per_piece = std::max<hsize_t>(1, kMaxTransferBytes / element);
  for (hsize_t done = 0; done < count;) {
    hsize_t n = std::min(per_piece, count - done);
    hsize_t start[2] = {offset + done, 0}, cnt[2] = {n, 0};
    if (row >= 0) {
      start[0] = static_cast<hsize_t>(row);
      start[1] = offset + done;
      cnt[0] = 1;
      cnt[1] = n;
    }
    h5_check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start, nullptr, cnt, nullptr),
             path_ + ": selecting elements");
    Handle mem_space(h5_check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"));
    char* piece = static_cast<char*>(data) + done * element;
    if (write)
      h5_check(H5Dwrite(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, piece),
               path_ + ": writing");
    else
      h5_check(H5Dread(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, piece),
               path_ + ": reading");
    done += n;
  }
}

void Dataset::write(hid_t mem_type, const void* data, hsize_t offset, hsize_t count,
                    int64_t row) const {
  transfer(mem_type, const_cast<void*>(data), offset, count, row, /*write=*/true);
}

void Dataset::read(hid_t mem_type, void* data, hsize_t offset, hsize_t count, int64_t row) const {
  transfer(mem_type, data, offset, count, row, /*write=*/false);
}

void Dataset::write_all(hid_t mem_type, const void* data) const {
  h5_check(H5Dwrite(id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path_ + ": writing");
}

void Dataset::read_all(hid_t mem_type, void* data) const {
  h5_check(H5Dread(id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path_ + ": reading");
}

template <typename T>
std::vector<T> Dataset::read_all() const {
  int64_t n = 1;
  for (int64_t d : shape()) n *= d;
  std::vector<T> out(static_cast<size_t>(n));
  if (n > 0) read_all(native_type<T>(), out.data());
  return out;
}

void Dataset::write_strings(const std::vector<std::string>& values) const {
  if (values.empty()) return;
  Handle type(h5_check(H5Dget_type(id()), path_ + ": type"));
  OT_CHECK(H5Tis_variable_str(type.id()) <= 0, "{}: write_strings needs a fixed-width type", path_);
  const size_t width = H5Tget_size(type.id());
  std::vector<char> buf(width * values.size(), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    OT_CHECK(values[i].size() <= width, "{}: a string of {} bytes in a type of {}", path_,
             values[i].size(), width);
    std::copy(values[i].begin(), values[i].end(), buf.begin() + i * width);
  }
  write(type.id(), buf.data(), 0, values.size());
}

std::vector<std::string> Dataset::read_strings() const {
  Handle type(h5_check(H5Dget_type(id()), path_ + ": type"));
  Handle space(h5_check(H5Dget_space(id()), path_ + ": dataspace"));
  const auto n = static_cast<size_t>(H5Sget_simple_extent_npoints(space.id()));
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  if (H5Tis_variable_str(type.id()) > 0) {
    Handle mem(h5_check(H5Tcopy(H5T_C_S1), "string type"));
    h5_check(H5Tset_size(mem.id(), H5T_VARIABLE), "string size");
    h5_check(H5Tset_cset(mem.id(), H5T_CSET_UTF8), "string charset");
    std::vector<char*> ptrs(n, nullptr);
    h5_check(H5Dread(id(), mem.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()),
             path_ + ": reading");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(mem.id(), space.id(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t width = H5Tget_size(type.id());
  std::vector<char> buf(width * n);
  read_all(type.id(), buf.data());
  for (size_t i = 0; i < n; ++i) {
    const char* p = buf.data() + i * width;
    out.emplace_back(p, strnlen(p, width));
  }
  return out;
}

void Dataset::set_attr(const std::string& name, const std::string& value) const {
  set_string_attr(id(), name, value);
}
bool Dataset::has_attr(const std::string& name) const {
  return h5_check(H5Aexists(id(), name.c_str()), path_ + ": attribute " + name) > 0;
}
std::string Dataset::attr_string(const std::string& name) const {
  return get_string_attr(id(), name);
}

// ---- File ---------------------------------------------------------------------------------------

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

namespace {
Handle mpio_access(MPI_Comm comm) {
  Handle fapl(h5_check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"));
  h5_check(H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  return fapl;
}
}  // namespace

File File::create_parallel(const std::filesystem::path& path, MPI_Comm comm) {
  silence_hdf5_once();
  File f;
  f.path_ = path.string();
  const Handle fapl = mpio_access(comm);
  f.handle_ = Handle(h5_check(H5Fcreate(f.path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()),
                              "creating " + f.path_));
  return f;
}

File File::open_parallel(const std::filesystem::path& path, MPI_Comm comm) {
  silence_hdf5_once();
  File f;
  f.path_ = path.string();
  const Handle fapl = mpio_access(comm);
  f.handle_ =
      Handle(h5_check(H5Fopen(f.path_.c_str(), H5F_ACC_RDWR, fapl.id()), "opening " + f.path_));
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

Group Group::create_group(const std::string& name, const std::string& description) const {
  Group g = create_group(name);
  if (!description.empty()) g.set_attr("description", description);
  return g;
}

bool Group::is_dataset(const std::string& name) const {
  if (!exists(name)) return false;
  Handle object(h5_check(H5Oopen(id(), name.c_str(), H5P_DEFAULT), path_ + ": opening " + name));
  return H5Iget_type(object.id()) == H5I_DATASET;
}

Dataset Group::open_dataset(const std::string& name) const {
  const std::string child = path_ + (path_.back() == '/' || name.front() == '/' ? "" : "/") + name;
  return Dataset(
      Handle(h5_check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "opening dataset " + child)),
      child);
}

Dataset Group::create_dataset(const std::string& name, hid_t type, const std::vector<hsize_t>& dims,
                              const std::string& description, const void* fill) const {
  const std::string child = path_ + (path_.back() == '/' ? "" : "/") + name;
  Handle space(h5_check(dims.empty()
                            ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                        child + ": dataspace"));
  Handle dcpl(h5_check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  h5_check(H5Pset_layout(dcpl.id(), H5D_CONTIGUOUS), "H5Pset_layout");
  h5_check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  if (fill) {
    h5_check(H5Pset_fill_value(dcpl.id(), type, fill), "H5Pset_fill_value");
    h5_check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_ALLOC), "H5Pset_fill_time");
  } else {
    h5_check(H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  }
  Dataset d(Handle(h5_check(H5Dcreate2(id(), name.c_str(), type, space.id(), H5P_DEFAULT, dcpl.id(),
                                       H5P_DEFAULT),
                            "creating dataset " + child)),
            child);
  if (!description.empty()) d.set_attr("description", description);
  return d;
}

Group Group::open_group(const std::string& name) const {
  const std::string child = path_ + (path_.back() == '/' ? "" : "/") + name;
  return Group(
      Handle(h5_check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "opening group " + child)), child);
}

void Group::copy_from(const Group& source, const std::string& path) const {
  h5_check(H5Ocopy(source.id(), path.c_str(), id(), path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
           "copying " + path + " from " + source.path());
}

void Group::link_to(const std::string& name, const Group& source,
                    const std::string& source_name) const {
  h5_check(H5Lcreate_hard(source.id(), source_name.c_str(), id(), name.c_str(), H5P_DEFAULT,
                          H5P_DEFAULT),
           "linking " + path_ + "/" + name + " to " + source.path() + "/" + source_name);
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
  template std::vector<T> Group::read<T>(const std::string&) const;                            \
  template std::vector<T> Dataset::read_all<T>() const;
OT_H5_INSTANTIATE(int8_t)
OT_H5_INSTANTIATE(int32_t)
OT_H5_INSTANTIATE(int64_t)
OT_H5_INSTANTIATE(uint8_t)
OT_H5_INSTANTIATE(uint64_t)
OT_H5_INSTANTIATE(float)
OT_H5_INSTANTIATE(double)
#undef OT_H5_INSTANTIATE

}  // namespace ordertune::h5

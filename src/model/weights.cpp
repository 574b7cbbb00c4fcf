#include "ordertune/model/weights.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/base/log.h"
#include "ordertune/model/torch_env.h"

namespace ordertune {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix =
    "roberta.";  // transformers' XLMRobertaPreTrainedModel.base_model_prefix
constexpr size_t kPrefixLength = 8;
// The safetensors reference implementation refuses headers above 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string shape_string(c10::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// Bytes per element of a safetensors dtype; 0 for an unknown one.
uint64_t dtype_bytes(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
      {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

// The dtypes the loader converts from: those of real XLM-R checkpoints.
bool loadable_dtype(const std::string& dtype) {
  return dtype == "F32" || dtype == "F16" || dtype == "BF16";
}

torch::ScalarType scalar_type_of(const std::string& dtype) {
  if (dtype == "F16") return torch::kHalf;
  if (dtype == "BF16") return torch::kBFloat16;
  return torch::kFloat;
}

// ---- name matching, shared by safetensors and HDF5 sources -------------------------------------

// What a checkpoint holds, by key: shape, dtype and the file (or HDF5 group) to name in messages.
struct CatalogEntry {
  std::vector<int64_t> shape;
  std::string dtype;     // safetensors tag ("F32", ...) or HDF5 "float32" / "bfloat16"
  bool loadable = true;  // whether copy() can convert it to a float parameter
  std::string where;     // file (or group) holding it
};

struct Catalog {
  std::map<std::string, CatalogEntry> entries;
  std::string where_missing;  // what to name when a tensor is absent (file, index or group)
  std::string source;         // the checkpoint, for log lines
  // Copies each (checkpoint key, parameter) pair's tensor into the parameter, converting dtype
  // and device; a sharded source releases each shard's mapping once its tensors are copied.
  std::function<void(const std::vector<std::pair<std::string, torch::Tensor>>&)> copy;
};

// Buffers that transformers saves in some checkpoints but that are not parameters here.
bool is_ignored_buffer(const std::string& key) {
  return key.size() >= 13 && key.compare(key.size() - 13, 13, ".position_ids") == 0;
}

// Matches the module's parameters to the catalog (transformers' prefix rule), validates every
// shape and dtype BEFORE copying anything (a failed load leaves the module untouched), copies,
// and logs what was initialised or left unused.
LoadReport match_and_load(torch::nn::Module& module, bool task_model, bool load_head,
                          const Catalog& catalog) {
  bool checkpoint_prefixed = false;
  for (const auto& [key, entry] : catalog.entries)
    checkpoint_prefixed = checkpoint_prefixed || starts_with(key, kPrefix);

  LoadReport report;
  std::vector<std::pair<std::string, torch::Tensor>> assignments;  // checkpoint key, parameter
  std::set<std::string> taken;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    torch::Tensor& param = item.value();
    const bool in_encoder = !task_model || starts_with(name, kPrefix);
    const std::string bare = task_model && in_encoder ? name.substr(kPrefixLength) : name;
    // transformers initialises a missing pooler (add_pooling_layer) or task head.
    const bool optional = !in_encoder || starts_with(bare, "pooler.");
    if (!in_encoder && !load_head) {
      report.initialized.push_back(name);
      continue;
    }
    const std::string* found = nullptr;
    for (const std::string& candidate :
         {name, std::string(kPrefix) + name,
          starts_with(name, kPrefix) ? name.substr(kPrefixLength) : std::string()}) {
      if (candidate.empty()) continue;
      auto it = catalog.entries.find(candidate);
      if (it != catalog.entries.end()) {
        found = &it->first;
        break;
      }
    }
    if (!found) {
      if (optional) {
        report.initialized.push_back(name);
        continue;
      }
      const std::string key =
          in_encoder && checkpoint_prefixed ? std::string(kPrefix) + bare : bare;
      throw CheckpointError(fmt::format("{}: tensor '{}': expected {}, found none",
                                        catalog.where_missing, key, shape_string(param.sizes())));
    }
    const CatalogEntry& entry = catalog.entries.at(*found);
    if (entry.shape != param.sizes().vec())
      throw CheckpointError(fmt::format("{}: tensor '{}': expected {}, found {}", entry.where,
                                        *found, shape_string(param.sizes()),
                                        shape_string(entry.shape)));
    if (!entry.loadable)
      throw CheckpointError(
          fmt::format("{}: tensor '{}': expected dtype F32, F16 or BF16, found {}", entry.where,
                      *found, entry.dtype));
    taken.insert(*found);
    report.loaded.push_back(name);
    assignments.emplace_back(*found, param);
  }

  {
    torch::NoGradGuard no_grad;
    catalog.copy(assignments);
  }

  const bool lm_head_loaded = taken.count("lm_head.bias") > 0;
  for (const auto& [key, entry] : catalog.entries) {
    if (taken.count(key) || is_ignored_buffer(key)) continue;
    // XLMRobertaForMaskedLM ties lm_head.decoder to the word embeddings and lm_head.bias.
    if (lm_head_loaded && starts_with(key, "lm_head.decoder.")) continue;
    report.unused.push_back(key);
  }
  if (!report.initialized.empty())
    log::info("{}: not in the checkpoint, newly initialised: {}", catalog.source,
              fmt::join(report.initialized, ", "));
  if (!report.unused.empty()) {
    constexpr size_t kShown = 8;
    std::vector<std::string> shown(report.unused.begin(),
                                   report.unused.begin() + std::min(kShown, report.unused.size()));
    log::info("{}: {} checkpoint tensor(s) not used: {}{}", catalog.source, report.unused.size(),
              fmt::join(shown, ", "), report.unused.size() > kShown ? ", ..." : "");
  }
  clear_autocast_cache();  // new weights: drop bf16 copies of the old ones
  return report;
}

// ---- Hugging Face directory -> catalog ---------------------------------------------------------

CatalogEntry entry_of(const SafetensorsFile& file, const std::string& key) {
  const SafetensorsFile::Entry& e = file.entries().at(key);
  CatalogEntry entry;
  entry.shape = e.shape;
  entry.dtype = e.dtype;
  entry.loadable = loadable_dtype(e.dtype);
  entry.where = file.path().string();
  return entry;
}

LoadReport load_hf_directory(torch::nn::Module& module, bool task_model, bool load_head,
                             const fs::path& dir) {
  const fs::path single = dir / "model.safetensors";
  const fs::path index = dir / "model.safetensors.index.json";
  Catalog catalog;
  catalog.source = dir.string();
  // Files stay mapped only while their tensors are copied.
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, size_t> file_of_key;
  if (fs::exists(single)) {
    files.push_back(std::make_unique<SafetensorsFile>(single));
    for (const auto& [key, e] : files[0]->entries()) file_of_key[key] = 0;
    catalog.where_missing = single.string();
  } else if (fs::exists(index)) {
    std::ifstream in(index);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
        !j["weight_map"].is_object())
      throw CheckpointError(
          fmt::format("{}: expected a JSON object with a \"weight_map\" object, found {}",
                      index.string(), j.is_discarded() ? "malformed JSON" : "another layout"));
    std::map<std::string, size_t> shard_index;
    for (const auto& [key, shard] : j["weight_map"].items()) {
      if (!shard.is_string())
        throw CheckpointError(fmt::format("{}: weight_map['{}']: expected a file name, found {}",
                                          index.string(), key, shard.dump()));
      const std::string name = shard.get<std::string>();
      if (name.find('/') != std::string::npos || name == ".." || name == ".")
        throw CheckpointError(fmt::format("{}: weight_map['{}']: expected a file in {}, found '{}'",
                                          index.string(), key, dir.string(), name));
      auto [it, fresh] = shard_index.emplace(name, files.size());
      if (fresh) files.push_back(std::make_unique<SafetensorsFile>(dir / name));
      const SafetensorsFile& file = *files[it->second];
      if (!file.entries().count(key))
        throw CheckpointError(
            fmt::format("{}: tensor '{}': weight_map names {}, which does not hold it",
                        index.string(), key, name));
      file_of_key[key] = it->second;
    }
    catalog.where_missing = index.string();
  } else if (fs::exists(dir / "pytorch_model.bin") ||
             fs::exists(dir / "pytorch_model.bin.index.json")) {
    throw CheckpointError(fmt::format(
        "{}: found pytorch_model.bin, but ordertune reads only safetensors; convert it once with "
        "python3 -c \"import transformers as t; "
        "t.AutoModelForMaskedLM.from_pretrained('{}').save_pretrained('{}', "
        "safe_serialization=True)\" (or the XLMRobertaFor* class it was saved from)",
        dir.string(), dir.string(), dir.string()));
  } else if (!fs::is_directory(dir)) {
    throw CheckpointError(fmt::format(
        "{}: expected a Hugging Face checkpoint directory, found no such directory", dir.string()));
  } else {
    throw CheckpointError(
        fmt::format("{}: expected model.safetensors or model.safetensors.index.json, found neither",
                    dir.string()));
  }
  // The index (or the single file) lists what the checkpoint holds.
  for (const auto& [key, f] : file_of_key) catalog.entries[key] = entry_of(*files[f], key);

  catalog.copy = [&](const std::vector<std::pair<std::string, torch::Tensor>>& pairs) {
    // Shard by shard, each mapping released after its tensors are copied.
    for (size_t f = 0; f < files.size(); ++f) {
      for (const auto& [key, param] : pairs) {
        if (file_of_key.at(key) != f) continue;
        torch::Tensor target = param;
        target.copy_(files[f]->view(key));
      }
      files[f].reset();
    }
  };
  return match_and_load(module, task_model, load_head, catalog);
}

// ---- HDF5 -------------------------------------------------------------------------------------

const char* h5_dtype_name(WeightDtype dtype) {
  return dtype == WeightDtype::kBFloat16 ? "bfloat16" : "float32";
}

std::vector<hsize_t> h5_dims(c10::IntArrayRef shape) {
  return std::vector<hsize_t>(shape.begin(), shape.end());
}

// Writes a contiguous CPU tensor as an N-d dataset (created here) with the given types.
void h5_write_tensor(const h5::Group& group, const std::string& name, const torch::Tensor& tensor,
                     hid_t file_type, hid_t memory_type) {
  const torch::Tensor t = tensor.contiguous();
  const h5::Dataset ds = group.create_dataset(name, file_type, h5_dims(t.sizes()), "");
  if (t.numel() > 0) ds.write_all(memory_type, t.data_ptr());
}

LoadReport load_h5_group(torch::nn::Module& module, bool task_model, bool load_head,
                         const h5::Group& group) {
  Catalog catalog;
  catalog.source = group.path();
  catalog.where_missing = group.path();
  for (const std::string& name : group.children()) {
    if (!group.is_dataset(name)) continue;
    const h5::Dataset ds = group.open_dataset(name);
    CatalogEntry entry;
    entry.where = group.path();
    entry.shape = ds.shape();
    entry.dtype =
        ds.has_attr("dtype") ? ds.attr_string("dtype") : (ds.is_float() ? "float32" : "unknown");
    entry.loadable = (entry.dtype == "float32" && ds.is_float()) ||
                     (entry.dtype == "bfloat16" && !ds.is_float() && ds.element_size() == 2);
    catalog.entries[name] = entry;
  }
  catalog.copy = [&](const std::vector<std::pair<std::string, torch::Tensor>>& pairs) {
    for (const auto& [key, param] : pairs) {
      // One tensor at a time through a buffer of its stored type.
      const bool bf16 = catalog.entries.at(key).dtype == "bfloat16";
      torch::Tensor buffer =
          torch::empty(catalog.entries.at(key).shape, bf16 ? torch::kBFloat16 : torch::kFloat);
      if (buffer.numel() > 0)
        group.open_dataset(key).read_all(bf16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_FLOAT,
                                         buffer.data_ptr());
      torch::Tensor target = param;
      target.copy_(buffer);
    }
  };
  return match_and_load(module, task_model, load_head, catalog);
}

// ---- export -----------------------------------------------------------------------------------

const char* architecture_of(HeadKind kind) {
  switch (kind) {
    case HeadKind::kSequenceClassification:
      return "XLMRobertaForSequenceClassification";
    case HeadKind::kMultipleChoice:
      return "XLMRobertaForMultipleChoice";
    case HeadKind::kQuestionAnswering:
      return "XLMRobertaForQuestionAnswering";
    case HeadKind::kTokenClassification:
      return "XLMRobertaForTokenClassification";
    case HeadKind::kMaskedLM:
      return "XLMRobertaForMaskedLM";
    case HeadKind::kRetrieval:
    case HeadKind::kDualEncoder:
      return "XLMRobertaModel";
  }
  return "XLMRobertaModel";
}

std::vector<std::pair<std::string, torch::Tensor>> parameters_of(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    out.emplace_back(p.key(), p.value());
  return out;
}

// write_hf_config plus what it leaves out: the storage dtype and, for classification heads,
// the label count (transformers sizes the head from id2label).
void write_config(const XlmrConfig& config, const fs::path& path, const std::string& architecture,
                  WeightDtype dtype, int64_t num_labels) {
  write_hf_config(config, path.string(), architecture);
  std::ifstream in(path);
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(in);
  in.close();
  j["torch_dtype"] = dtype == WeightDtype::kBFloat16 ? "bfloat16" : "float32";
  if (num_labels > 0) {
    nlohmann::ordered_json id2label, label2id;
    for (int64_t i = 0; i < num_labels; ++i) {
      id2label[std::to_string(i)] = fmt::format("LABEL_{}", i);
      label2id[fmt::format("LABEL_{}", i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw CheckpointError(fmt::format("{}: cannot write", path.string()));
}

}  // namespace

// ---- SafetensorsFile --------------------------------------------------------------------------

SafetensorsFile::SafetensorsFile(const fs::path& path) : path_(path) {
  const std::string file = path.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw CheckpointError(fmt::format("{}: cannot open: {}", file, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw CheckpointError(fmt::format("{}: cannot stat: {}", file, std::strerror(err)));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ < 8) {
    ::close(fd);
    throw CheckpointError(fmt::format(
        "{}: expected a safetensors file (8-byte header length, JSON header, data), found {} bytes",
        file, size_));
  }
  void* map = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED)
    throw CheckpointError(fmt::format("{}: cannot map: {}", file, std::strerror(map_errno)));
  data_ = static_cast<const uint8_t*>(map);

  try {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data_[i];  // little-endian
    if (n > kMaxHeaderBytes || n > size_ - 8)
      throw CheckpointError(fmt::format(
          "{}: header length {} exceeds the file's {} bytes (not a safetensors file, or truncated)",
          file, n, size_));
    header_size_ = n;
    const char* text = reinterpret_cast<const char*>(data_ + 8);
    nlohmann::json j = nlohmann::json::parse(text, text + n, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      throw CheckpointError(
          fmt::format("{}: expected a JSON object as safetensors header, found {}", file,
                      j.is_discarded() ? "malformed JSON" : j.type_name()));
    const uint64_t data_bytes = size_ - 8 - n;
    for (const auto& [name, info] : j.items()) {
      if (name == "__metadata__") {
        if (!info.is_object())
          throw CheckpointError(fmt::format("{}: __metadata__: expected an object, found {}", file,
                                            info.type_name()));
        for (const auto& [k, v] : info.items())
          metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();
        continue;
      }
      auto bad = [&](const std::string& expected, const std::string& found) {
        return CheckpointError(
            fmt::format("{}: tensor '{}': expected {}, found {}", file, name, expected, found));
      };
      if (!info.is_object() || !info.contains("dtype") || !info["dtype"].is_string() ||
          !info.contains("shape") || !info["shape"].is_array() || !info.contains("data_offsets") ||
          !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
        throw bad("{dtype, shape, data_offsets: [begin, end]}", info.dump());
      Entry e;
      e.dtype = info["dtype"].get<std::string>();
      uint64_t numel = 1;
      for (const auto& d : info["shape"]) {
        if (!d.is_number_unsigned())
          throw bad("a shape of non-negative integers", info["shape"].dump());
        // Bounded by the data size, so that no product below can overflow.
        const uint64_t dim = d.get<uint64_t>();
        if (dim > data_bytes || __builtin_mul_overflow(numel, dim, &numel) || numel > data_bytes)
          throw bad(fmt::format("a shape of at most {} elements (the data size)", data_bytes),
                    info["shape"].dump());
        e.shape.push_back(static_cast<int64_t>(dim));
      }
      const auto& offsets = info["data_offsets"];
      if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned() ||
          offsets[0].get<uint64_t>() > offsets[1].get<uint64_t>())
        throw bad("data_offsets [begin, end] with begin <= end", offsets.dump());
      e.begin = offsets[0].get<uint64_t>();
      e.end = offsets[1].get<uint64_t>();
      if (e.end > data_bytes)
        throw bad(fmt::format("data_offsets within the {} bytes of data", data_bytes),
                  fmt::format("[{}, {}] (truncated file?)", e.begin, e.end));
      const uint64_t element = dtype_bytes(e.dtype);
      if (element > 0 && numel * element != e.end - e.begin)
        throw bad(
            fmt::format("{} bytes for {} {}", numel * element, e.dtype, shape_string(e.shape)),
            fmt::format("{} bytes", e.end - e.begin));
      entries_[name] = std::move(e);
    }
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(data_), size_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

torch::Tensor SafetensorsFile::view(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    throw CheckpointError(
        fmt::format("{}: tensor '{}': expected a tensor, found none", path_.string(), name));
  const Entry& e = it->second;
  if (!loadable_dtype(e.dtype))
    throw CheckpointError(fmt::format("{}: tensor '{}': expected dtype F32, F16 or BF16, found {}",
                                      path_.string(), name, e.dtype));
  const uint8_t* p = data_ + 8 + header_size_ + e.begin;
  const auto options = torch::TensorOptions().dtype(scalar_type_of(e.dtype));
  // Safetensors data is little-endian, as are the hosts we run on (x86-64, aarch64).
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");
  if (reinterpret_cast<uintptr_t>(p) % dtype_bytes(e.dtype) != 0) {
    // Headers whose length is not a multiple of the element size leave data misaligned: copy
    // this one tensor to aligned memory instead of handing unaligned pointers to the kernels.
    torch::Tensor aligned = torch::empty(e.shape, options);
    std::memcpy(aligned.data_ptr(), p, e.end - e.begin);
    return aligned;
  }
  return torch::from_blob(const_cast<uint8_t*>(p), e.shape, options);
}

void write_safetensors(const fs::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       WeightDtype dtype) {
  const bool bf16 = dtype == WeightDtype::kBFloat16;
  const uint64_t element = bf16 ? 2 : 4;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    OT_CHECK(t.is_floating_point(), "tensor '{}' is not floating point", name);
    OT_CHECK(name != "__metadata__", "reserved tensor name");
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * element;
    header[name] = {{"dtype", bf16 ? "BF16" : "F32"},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // The specification recommends 8-byte alignment of the data: pad the header with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');

  const fs::path tmp = fs::path(path.string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw CheckpointError(fmt::format("{}: cannot write", tmp.string()));
    uint8_t length[8];
    for (int i = 0; i < 8; ++i)
      length[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    // One tensor at a time: at most one converted tensor exists besides the parameters.
    for (const auto& [name, t] : tensors) {
      const torch::Tensor cpu =
          t.detach().to(torch::kCPU, bf16 ? torch::kBFloat16 : torch::kFloat).contiguous();
      out.write(static_cast<const char*>(cpu.data_ptr()),
                static_cast<std::streamsize>(cpu.numel() * static_cast<int64_t>(element)));
    }
    out.flush();
    if (!out) throw CheckpointError(fmt::format("{}: write failed (disk full?)", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    throw CheckpointError(
        fmt::format("{}: cannot rename to {}: {}", tmp.string(), path.string(), ec.message()));
}

// ---- Hugging Face directories -----------------------------------------------------------------

LoadReport load_hf_weights(XlmrEncoderImpl& encoder, const fs::path& dir) {
  return load_hf_directory(encoder, /*task_model=*/false, /*load_head=*/false, dir);
}

LoadReport load_hf_weights(XlmrForTaskImpl& model, const fs::path& dir, LoadOptions options) {
  return load_hf_directory(model, /*task_model=*/true, options.load_head, dir);
}

XlmrEncoder load_hf_encoder(const fs::path& dir, EncoderOptions options) {
  XlmrEncoder encoder(read_hf_config((dir / "config.json").string()), options);
  load_hf_weights(*encoder, dir);
  return encoder;
}

XlmrForTask load_hf_model(const fs::path& dir, HeadOptions head, EncoderOptions encoder_options,
                          LoadOptions options) {
  XlmrForTask model(read_hf_config((dir / "config.json").string()), head, encoder_options);
  load_hf_weights(*model, dir, options);
  return model;
}

void save_hf_checkpoint(const XlmrEncoderImpl& encoder, const fs::path& dir, WeightDtype dtype) {
  fs::create_directories(dir);
  write_config(encoder.config(), dir / "config.json", "XLMRobertaModel", dtype, /*num_labels=*/0);
  write_safetensors(dir / "model.safetensors", parameters_of(encoder), dtype);
}

void save_hf_checkpoint(const XlmrForTaskImpl& model, const fs::path& dir, WeightDtype dtype) {
  fs::create_directories(dir);
  const HeadKind kind = model.head_options().kind;
  const bool labelled =
      kind == HeadKind::kSequenceClassification || kind == HeadKind::kTokenClassification;
  write_config(model.roberta->config(), dir / "config.json", architecture_of(kind), dtype,
               labelled ? model.head_options().num_labels : 0);
  write_safetensors(dir / "model.safetensors", parameters_of(model), dtype);
}

// ---- HDF5 -------------------------------------------------------------------------------------

void create_h5_weights(const torch::nn::Module& module, const h5::Group& group, WeightDtype dtype) {
  const hid_t file_type = dtype == WeightDtype::kBFloat16 ? H5T_STD_U16LE : H5T_IEEE_F32LE;
  for (const auto& [name, t] : parameters_of(module))
    group.create_dataset(name, file_type, h5_dims(t.sizes()), "")
        .set_attr("dtype", h5_dtype_name(dtype));
}

void write_h5_weights(const torch::nn::Module& module, const h5::Group& group) {
  for (const auto& [name, t] : parameters_of(module)) {
    const h5::Dataset ds = group.open_dataset(name);
    const std::vector<int64_t> shape = ds.shape();
    if (shape != t.sizes().vec())
      throw CheckpointError(fmt::format("{}: tensor '{}': expected {}, found {}", group.path(),
                                        name, shape_string(t.sizes()), shape_string(shape)));
    const bool bf16 = ds.attr_string("dtype") == "bfloat16";
    const torch::Tensor cpu =
        t.detach().to(torch::kCPU, bf16 ? torch::kBFloat16 : torch::kFloat).contiguous();
    if (cpu.numel() > 0) ds.write_all(bf16 ? H5T_NATIVE_UINT16 : H5T_NATIVE_FLOAT, cpu.data_ptr());
  }
}

void save_h5_weights(const torch::nn::Module& module, const h5::Group& group, WeightDtype dtype) {
  create_h5_weights(module, group, dtype);
  write_h5_weights(module, group);
}

LoadReport load_h5_weights(XlmrEncoderImpl& encoder, const h5::Group& group) {
  return load_h5_group(encoder, /*task_model=*/false, /*load_head=*/false, group);
}

LoadReport load_h5_weights(XlmrForTaskImpl& model, const h5::Group& group, LoadOptions options) {
  return load_h5_group(model, /*task_model=*/true, options.load_head, group);
}

// ---- forward dump -----------------------------------------------------------------------------

TokenBatch read_token_id_lines(const fs::path& path, const XlmrConfig& config) {
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in)
    throw DataError(
        fmt::format("{}: cannot open (expected one line of token ids per sequence)", file));
  // Positions run from pad + 1 to max_position_embeddings - 1 (RoBERTa's offset).
  const int64_t max_tokens = config.max_position_embeddings - config.pad_token_id - 1;
  std::vector<std::vector<int64_t>> rows;
  std::vector<int64_t> blank_lines;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line);
    std::vector<int64_t> ids;
    std::string word;
    while (words >> word) {
      int64_t id = -1;
      const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
      if (ec != std::errc() || end != word.data() + word.size() || id < 0 ||
          id >= config.vocab_size)
        throw_data_error(file, number,
                         fmt::format("a token id in [0, {}) (vocab_size)", config.vocab_size),
                         quote_found(word));
      ids.push_back(id);
    }
    if (ids.empty()) {
      blank_lines.push_back(number);
      continue;
    }
    if (!blank_lines.empty())  // a blank line between sequences
      throw_data_error(file, blank_lines.front(), "space-separated token ids", "an empty line");
    if (static_cast<int64_t>(ids.size()) > max_tokens)
      throw_data_error(
          file, number,
          fmt::format("at most {} tokens (max_position_embeddings {} - padding id - 1)", max_tokens,
                      config.max_position_embeddings),
          fmt::format("{} tokens", ids.size()));
    rows.push_back(std::move(ids));
  }
  if (rows.empty()) throw_data_error(file, 0, "one line of token ids per sequence", "no token ids");
  size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size());
  const int64_t B = static_cast<int64_t>(rows.size()), T = static_cast<int64_t>(longest);
  TokenBatch batch;
  batch.input_ids = torch::full({B, T}, config.pad_token_id, torch::kInt64);
  batch.attention_mask = torch::zeros({B, T}, torch::kInt64);
  auto ids = batch.input_ids.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < rows[static_cast<size_t>(b)].size(); ++t) {
      ids[b][static_cast<int64_t>(t)] = rows[static_cast<size_t>(b)][t];
      mask[b][static_cast<int64_t>(t)] = 1;
    }
  return batch;
}

torch::Tensor all_hidden_states(XlmrEncoderImpl& encoder, const TokenBatch& batch) {
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  const torch::Device device = encoder.parameters().front().device();
  const EncoderOutput out =
      encoder.forward(batch.input_ids.to(device), batch.attention_mask.to(device),
                      /*all_hidden_states=*/true);
  encoder.train(was_training);
  return torch::stack(out.hidden_states, 0).to(torch::kCPU, torch::kFloat).contiguous();
}

torch::Tensor forward_to_h5(const fs::path& model_dir, const fs::path& inputs, const fs::path& out,
                            const torch::Device& device, Precision precision) {
  EncoderOptions options;
  options.with_pooler = false;  // hidden states only
  // Inputs first: a bad line fails before a large checkpoint is read.
  const XlmrConfig config = read_hf_config((model_dir / "config.json").string());
  const TokenBatch batch = read_token_id_lines(inputs, config);
  XlmrEncoder encoder(config, options);
  load_hf_weights(*encoder, model_dir);
  encoder->to(device);
  // Autocast is per thread and outlives this call: set for the forward, off again after it (also
  // when the forward throws), so the caller's precision is not changed behind its back.
  struct PrecisionScope {
    const torch::Device& device;
    PrecisionScope(Precision p, const torch::Device& d) : device(d) {
      set_training_precision(p, d);
    }
    ~PrecisionScope() { set_training_precision(Precision::kFp32, device); }
  };
  torch::Tensor hidden;
  {
    const PrecisionScope scope(precision, device);
    hidden = all_hidden_states(*encoder, batch);
  }
  h5::File file = h5::File::create(out);
  const h5::Group root = file.root();
  h5_write_tensor(root, "hidden_states", hidden, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT);
  h5_write_tensor(root, "attention_mask", batch.attention_mask, H5T_STD_I64LE, H5T_NATIVE_INT64);
  h5_write_tensor(root, "input_ids", batch.input_ids, H5T_STD_I64LE, H5T_NATIVE_INT64);
  root.set_attr("note", std::string("hidden_states[0] is the embedding output, hidden_states[i] "
                                    "the output of layer i"));
  root.set_attr("model", model_dir.string());
  root.set_attr("device", device.str());
  root.set_attr("dtype", std::string(choice_name(precision)));
  file.flush();
  return hidden;
}

}  // namespace ordertune

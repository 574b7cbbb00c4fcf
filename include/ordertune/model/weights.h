// weights — checkpoint I/O of the XLM-R modules: Hugging Face safetensors directories in and
// out, HDF5 groups for the results file, and the forward dump that checks a loaded checkpoint
// against a reference implementation.
//
// Safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end)}, "__metadata__": {...}},
// then the raw little-endian data, offsets relative to the end of the header. Files are read
// memory-mapped: each tensor is viewed in place (torch::from_blob) and copied once into its
// parameter, converting F16/BF16 to the parameter's dtype, so the weights never exist twice in
// host memory.
//
// Name matching follows transformers' base_model_prefix rule: a module parameter n takes the
// checkpoint tensor n, "roberta." + n, or n without a leading "roberta.", so XLMRobertaModel
// checkpoints (no prefix) and XLMRobertaFor* checkpoints ("roberta." prefix) load into both
// XlmrEncoder and XlmrForTask. As in transformers, a missing pooler or a missing task head is
// left as the constructor initialised it and named in one log line; any other missing tensor
// or a shape mismatch throws CheckpointError:
//   DIR/model.safetensors: tensor 'roberta.encoder.layer.3.attention.self.query.weight':
//   expected [1024, 1024], found [768, 768]                        (one line; "found none")
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ordertune/config/config.h"
#include "ordertune/data/h5.h"
#include "ordertune/model/heads.h"
#include "ordertune/model/model.h"

namespace ordertune {

// Floating-point format of stored weights.
enum class WeightDtype {
  kFloat32,   // exact
  kBFloat16,  // round to nearest even: half the size, 8 significant bits
};

// What a load did, by module parameter name (and checkpoint key for `unused`).
struct LoadReport {
  std::vector<std::string> loaded;       // parameters filled from the checkpoint
  std::vector<std::string> initialized;  // parameters absent from it, kept as constructed
  std::vector<std::string> unused;       // checkpoint tensors no parameter took (buffers excluded)
};

struct LoadOptions {
  bool load_head = true;  // XlmrForTask: take the head from the checkpoint (false: keep it fresh)
};

// ---- safetensors files ------------------------------------------------------------------------

// One safetensors file, memory-mapped read-only; the header is validated on open (JSON, dtypes,
// offsets within the file, byte counts matching the shapes). Throws CheckpointError naming the
// file.
class SafetensorsFile {
 public:
  struct Entry {
    std::string dtype;           // "F32", "F16", "BF16", "I64", ... as written
    std::vector<int64_t> shape;  // [] for a scalar
    uint64_t begin = 0;          // byte offsets into the data section, [begin, end)
    uint64_t end = 0;
  };

  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t header_size() const { return header_size_; }  // N, the JSON header's length in bytes
  // A CPU tensor viewing the mapping (F32, F16 or BF16 only), valid while this object lives.
  torch::Tensor view(const std::string& name) const;

 private:
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;  // mapping of the whole file
  size_t size_ = 0;
  uint64_t header_size_ = 0;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors as one safetensors file: "__metadata__": {"format": "pt"}, the header padded
// with spaces to a multiple of 8 bytes (so every tensor is 8-byte aligned in the file), F32 or
// BF16. Written to PATH.tmp and renamed, so a crash never leaves a half-written checkpoint.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       WeightDtype dtype = WeightDtype::kFloat32);

// ---- Hugging Face directories -----------------------------------------------------------------

// Loads DIR/model.safetensors or the shards of DIR/model.safetensors.index.json into the module
// (which must have been built from DIR/config.json). Logs missing pooler/head and unused tensors.
LoadReport load_hf_weights(XlmrEncoderImpl& encoder, const std::filesystem::path& dir);
LoadReport load_hf_weights(XlmrForTaskImpl& model, const std::filesystem::path& dir,
                           LoadOptions options = {});

// Builds the module from DIR/config.json and loads its weights.
XlmrEncoder load_hf_encoder(const std::filesystem::path& dir, EncoderOptions options = {});
XlmrForTask load_hf_model(const std::filesystem::path& dir, HeadOptions head,
                          EncoderOptions encoder_options = {}, LoadOptions options = {});

// Writes DIR/config.json and DIR/model.safetensors (keys as named_parameters(): no prefix for an
// encoder, so transformers' XLMRobertaModel / AutoModel loads it; "roberta." + head names for a
// task model, loaded by the matching XLMRobertaFor* class). Creates DIR if needed.
void save_hf_checkpoint(const XlmrEncoderImpl& encoder, const std::filesystem::path& dir,
                        WeightDtype dtype = WeightDtype::kFloat32);
void save_hf_checkpoint(const XlmrForTaskImpl& model, const std::filesystem::path& dir,
                        WeightDtype dtype = WeightDtype::kFloat32);

// ---- HDF5 groups (checkpoints in the results file) --------------------------------------------
// One N-d dataset per parameter, named as named_parameters(): float32, or bfloat16 bit patterns
// stored as uint16; every dataset carries a string attribute "dtype" ("float32" or "bfloat16").
// Creating datasets is collective in a parallel HDF5 file and writing raw data is not
// (src/DESIGN.md, decision 4), so the two steps are separate as well as combined.

// Creates (empty) datasets for the module's parameters in the group.
void create_h5_weights(const torch::nn::Module& module, const h5::Group& group, WeightDtype dtype);
// Writes the parameters into datasets made by create_h5_weights (independent I/O).
void write_h5_weights(const torch::nn::Module& module, const h5::Group& group);
// create + write.
void save_h5_weights(const torch::nn::Module& module, const h5::Group& group,
                     WeightDtype dtype = WeightDtype::kFloat32);
// Loads with the same name matching and missing-tensor rules as load_hf_weights.
LoadReport load_h5_weights(XlmrEncoderImpl& encoder, const h5::Group& group);
LoadReport load_h5_weights(XlmrForTaskImpl& model, const h5::Group& group,
                           LoadOptions options = {});

// ---- forward dump -----------------------------------------------------------------------------

struct TokenBatch {
  torch::Tensor input_ids;       // [B, T] int64, padded with the padding id
  torch::Tensor attention_mask;  // [B, T] int64, 1 = token, 0 = padding
};

// Reads one sequence of space-separated token ids per line, padded into one batch. Throws
// DataError "FILE:LINE: expected ..., found ..." on a bad id, an id outside the vocabulary, an
// empty line or a sequence longer than the model's positions.
TokenBatch read_token_id_lines(const std::filesystem::path& path, const XlmrConfig& config);

// Every layer's output in eval mode without gradients: [L+1, B, T, H] float32 on the CPU,
// index 0 = embedding output, i = output of layer i.
torch::Tensor all_hidden_states(XlmrEncoderImpl& encoder, const TokenBatch& batch);

// `ordertune forward`: loads DIR as an encoder (no pooler), runs the batch of FILE on `device`
// and writes OUT.h5 with datasets hidden_states (float32 [L+1, B, T, H]), attention_mask and
// input_ids (int64 [B, T]), and attributes device and dtype. `precision` bf16 runs the forward
// under bf16 autocast as training does (set_training_precision; weights stay fp32), and turns
// autocast off again afterwards. Returns the hidden states (float32, on the CPU).
torch::Tensor forward_to_h5(const std::filesystem::path& model_dir,
                            const std::filesystem::path& inputs, const std::filesystem::path& out,
                            const torch::Device& device = torch::kCPU,
                            Precision precision = Precision::kFp32);

}  // namespace ordertune

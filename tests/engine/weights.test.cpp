// Tests of weights.h: safetensors directories in and out, name matching, error messages, HDF5
// checkpoints, the token-id reader. File contents are checked with a byte-level safetensors
// parser written here (not SafetensorsFile) and with the HDF5 C API; bfloat16 rounding against
// an integer round-to-nearest-even written here.
#include "engine/checkpoint_fixture.h"

#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"
#include "ordertune/data/h5.h"
#include "ordertune/model/weights.h"

using namespace ordertune;
using namespace ordertune::testing;
namespace fs = std::filesystem;

namespace {

// One safetensors file parsed byte by byte, following the specification.
struct RawSafetensors {
  uint64_t header_size = 0;
  nlohmann::json header;
  std::string data;  // everything after the header
  std::string bytes(const std::string& name) const {
    const auto& o = header.at(name).at("data_offsets");
    return data.substr(o[0].get<size_t>(), o[1].get<size_t>() - o[0].get<size_t>());
  }
};

RawSafetensors read_raw(const fs::path& path) {
  const std::string all = read_text(path);
  REQUIRE(all.size() >= 8);
  RawSafetensors raw;
  for (int i = 7; i >= 0; --i)
    raw.header_size = (raw.header_size << 8) | static_cast<uint8_t>(all[i]);
  REQUIRE(8 + raw.header_size <= all.size());
  raw.header = nlohmann::json::parse(all.substr(8, raw.header_size));
  raw.data = all.substr(8 + raw.header_size);
  return raw;
}

std::string bytes_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

// float32 -> bfloat16 -> float32, round to nearest, ties to even, on the bit pattern.
float round_to_bf16(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  float y = 0;
  std::memcpy(&y, &u, 4);
  return y;
}

torch::Tensor round_to_bf16(const torch::Tensor& t) {
  torch::Tensor out = t.detach().to(torch::kFloat).contiguous().clone();
  float* p = out.data_ptr<float>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = round_to_bf16(p[i]);
  return out;
}

// The message of the CheckpointError `f` throws ("" if it throws none).
template <typename F>
std::string checkpoint_error(F&& f) {
  try {
    f();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "";
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

void check_equal_parameters(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pb = b.named_parameters();
  REQUIRE(a.named_parameters().size() == pb.size());
  for (const auto& p : a.named_parameters()) {
    INFO(p.key());
    REQUIRE(pb.contains(p.key()));
    CHECK(torch::equal(p.value(), pb[p.key()]));
  }
}

const std::vector<std::string> kFixtureLmHead = {"lm_head.bias", "lm_head.dense.bias",
                                                 "lm_head.dense.weight", "lm_head.layer_norm.bias",
                                                 "lm_head.layer_norm.weight"};

}  // namespace

TEST_CASE("encoder export is a Hugging Face XLMRobertaModel directory and reloads bitwise",
          "[weights]") {
  ScratchDir tmp("weights-export");
  torch::manual_seed(1);
  XlmrEncoder a(testing::small_test_config());
  save_hf_checkpoint(*a, tmp / "ckpt");

  // The file, read byte by byte: aligned header, format metadata, keys without prefix, F32 data
  // equal to the parameters' bytes, laid out without gaps.
  const RawSafetensors raw = read_raw(tmp / "ckpt" / "model.safetensors");
  CHECK(raw.header_size % 8 == 0);
  CHECK(raw.header.at("__metadata__") == nlohmann::json({{"format", "pt"}}));
  CHECK(raw.header.size() == a->named_parameters().size() + 1);
  size_t total = 0;
  for (const auto& p : a->named_parameters()) {
    INFO(p.key());
    REQUIRE(raw.header.contains(p.key()));
    CHECK(raw.header[p.key()]["dtype"] == "F32");
    CHECK(raw.header[p.key()]["shape"].get<std::vector<int64_t>>() == p.value().sizes().vec());
    CHECK(raw.bytes(p.key()) == bytes_of(p.value()));
    total += static_cast<size_t>(p.value().numel()) * 4;
  }
  CHECK(raw.data.size() == total);
  CHECK(raw.header.contains("embeddings.word_embeddings.weight"));
  CHECK(raw.header.contains("pooler.dense.weight"));

  const auto config = nlohmann::json::parse(read_text(tmp / "ckpt" / "config.json"));
  CHECK(config["architectures"] == nlohmann::json({"XLMRobertaModel"}));
  CHECK(config["model_type"] == "xlm-roberta");
  CHECK(config["hidden_size"] == 16);
  CHECK(config["torch_dtype"] == "float32");

  torch::manual_seed(2);
  XlmrEncoder b(read_hf_config((tmp / "ckpt" / "config.json").string()));
  const LoadReport report = load_hf_weights(*b, tmp / "ckpt");
  CHECK(report.loaded.size() == a->named_parameters().size());
  CHECK(report.initialized.empty());
  CHECK(report.unused.empty());
  check_equal_parameters(*a, *b);
  CHECK_FALSE(fs::exists(tmp / "ckpt" / "model.safetensors.tmp"));
}

TEST_CASE("BF16 export rounds to nearest even and reloads as those values", "[weights]") {
  // The reference rounding itself, on values whose rounding is known: bf16 keeps 7 fraction
  // bits, so at 1.0 the spacing is 2^-7 and 1 + 2^-8 is a tie.
  CHECK(round_to_bf16(1.0f + 0x1p-8f) == 1.0f);                       // tie, even below
  CHECK(round_to_bf16(1.0f + 0x3p-8f) == 1.0f + 0x1p-6f);             // tie, even above
  CHECK(round_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 1.0f + 0x1p-7f);  // above the tie
  CHECK(round_to_bf16(-(1.0f + 0x3p-8f)) == -(1.0f + 0x1p-6f));

  ScratchDir tmp("weights-bf16");
  torch::manual_seed(3);
  XlmrEncoder a(testing::small_test_config());
  {
    torch::NoGradGuard no_grad;
    auto w = a->embeddings->LayerNorm->weight;
    w[0] = 1.0f + 0x1p-8f;
    w[1] = 1.0f + 0x3p-8f;
    w[2] = -(1.0f + 0x1p-8f + 0x1p-20f);
  }
  save_hf_checkpoint(*a, tmp / "ckpt", WeightDtype::kBFloat16);
  const RawSafetensors raw = read_raw(tmp / "ckpt" / "model.safetensors");
  CHECK(raw.header_size % 8 == 0);
  for (const auto& p : a->named_parameters()) {
    INFO(p.key());
    CHECK(raw.header[p.key()]["dtype"] == "BF16");
    CHECK(raw.bytes(p.key()).size() == static_cast<size_t>(p.value().numel()) * 2);
  }
  CHECK(nlohmann::json::parse(read_text(tmp / "ckpt" / "config.json"))["torch_dtype"] ==
        "bfloat16");

  XlmrEncoder b(testing::small_test_config());
  load_hf_weights(*b, tmp / "ckpt");
  const auto pb = b->named_parameters();
  for (const auto& p : a->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(pb[p.key()], round_to_bf16(p.value())));
  }
  const auto w = b->embeddings->LayerNorm->weight;
  CHECK(w[0].item<float>() == 1.0f);
  CHECK(w[1].item<float>() == 1.0f + 0x1p-6f);
  CHECK(w[2].item<float>() == -(1.0f + 0x1p-7f));
}

TEST_CASE("task model export carries its head and XLMRobertaFor* layout", "[weights]") {
  ScratchDir tmp("weights-task");
  HeadOptions head;
  head.kind = HeadKind::kSequenceClassification;
  head.num_labels = 3;
  torch::manual_seed(4);
  XlmrForTask a(testing::small_test_config(), head);
  save_hf_checkpoint(*a, tmp / "ckpt");
  const RawSafetensors raw = read_raw(tmp / "ckpt" / "model.safetensors");
  CHECK(raw.header.contains("roberta.embeddings.word_embeddings.weight"));
  CHECK(raw.header.contains("classifier.out_proj.weight"));
  CHECK(raw.header["classifier.out_proj.weight"]["shape"] == nlohmann::json({3, 16}));
  const auto config = nlohmann::json::parse(read_text(tmp / "ckpt" / "config.json"));
  CHECK(config["architectures"] == nlohmann::json({"XLMRobertaForSequenceClassification"}));
  CHECK(config["id2label"].size() == 3);

  XlmrForTask b = load_hf_model(tmp / "ckpt", head);
  check_equal_parameters(*a, *b);

  // As an encoder: the prefix is stripped, the head is unused, the pooler is new.
  XlmrEncoder enc(testing::small_test_config());
  const LoadReport report = load_hf_weights(*enc, tmp / "ckpt");
  CHECK(report.initialized == std::vector<std::string>{"pooler.dense.weight", "pooler.dense.bias"});
  CHECK(report.unused ==
        std::vector<std::string>{"classifier.dense.bias", "classifier.dense.weight",
                                 "classifier.out_proj.bias", "classifier.out_proj.weight"});
  CHECK(torch::equal(enc->encoder->layer[1]->as<XlmrLayerImpl>()->output->dense->weight,
                     a->roberta->encoder->layer[1]->as<XlmrLayerImpl>()->output->dense->weight));
}

TEST_CASE("a missing pooler or head is initialised, unused tensors are reported", "[weights]") {
  const RawSafetensors raw = read_raw(xlmr_tiny() / "model.safetensors");
  const XlmrConfig config = read_hf_config((xlmr_tiny() / "config.json").string());
  SECTION("encoder with pooler from an XLMRobertaForMaskedLM checkpoint") {
    torch::manual_seed(5);
    XlmrEncoder enc(config);
    const torch::Tensor pooler_before = enc->pooler->dense->weight.clone();
    const LoadReport report = load_hf_weights(*enc, xlmr_tiny());
    CHECK(report.initialized ==
          std::vector<std::string>{"pooler.dense.weight", "pooler.dense.bias"});
    CHECK(report.unused == kFixtureLmHead);
    CHECK(torch::equal(enc->pooler->dense->weight, pooler_before));
    CHECK(bytes_of(enc->embeddings->word_embeddings->weight) ==
          raw.bytes("roberta.embeddings.word_embeddings.weight"));
    CHECK(bytes_of(enc->encoder->layer[2]->as<XlmrLayerImpl>()->attention->self->query->weight) ==
          raw.bytes("roberta.encoder.layer.2.attention.self.query.weight"));
  }
  SECTION("masked LM takes its head") {
    HeadOptions head;
    head.kind = HeadKind::kMaskedLM;
    XlmrForTask m(config, head);
    const LoadReport report = load_hf_weights(*m, xlmr_tiny());
    CHECK(report.initialized.empty());
    CHECK(report.unused.empty());
    CHECK(bytes_of(m->lm_bias) == raw.bytes("lm_head.bias"));
    CHECK(bytes_of(m->lm_dense->weight) == raw.bytes("lm_head.dense.weight"));
  }
  SECTION("masked LM with load_head = false keeps a fresh head") {
    HeadOptions head;
    head.kind = HeadKind::kMaskedLM;
    XlmrForTask m(config, head);
    LoadOptions options;
    options.load_head = false;
    const LoadReport report = load_hf_weights(*m, xlmr_tiny(), options);
    CHECK(report.initialized.size() == 5);
    CHECK(report.unused == kFixtureLmHead);
    CHECK(m->lm_bias.abs().sum().item<float>() == 0.0f);
  }
  SECTION("question answering gets a new qa_outputs head") {
    HeadOptions head;
    head.kind = HeadKind::kQuestionAnswering;
    XlmrForTask m(config, head);
    const LoadReport report = load_hf_weights(*m, xlmr_tiny());
    CHECK(report.initialized == std::vector<std::string>{"qa_outputs.weight", "qa_outputs.bias"});
    CHECK(report.unused == kFixtureLmHead);
    CHECK(bytes_of(m->roberta->embeddings->LayerNorm->bias) ==
          raw.bytes("roberta.embeddings.LayerNorm.bias"));
  }
  SECTION("multiple choice gets a new pooler and classifier") {
    HeadOptions head;
    head.kind = HeadKind::kMultipleChoice;
    XlmrForTask m(config, head);
    const LoadReport report = load_hf_weights(*m, xlmr_tiny());
    CHECK(report.initialized == std::vector<std::string>{"roberta.pooler.dense.weight",
                                                         "roberta.pooler.dense.bias",
                                                         "classifier.weight", "classifier.bias"});
  }
}

TEST_CASE("checkpoint errors name the file, the tensor, what was expected and what was found",
          "[weights][python]") {
  ScratchDir tmp("weights-errors");
  make_checkpoint_variants(tmp.path());
  const XlmrConfig config = read_hf_config((xlmr_tiny() / "config.json").string());
  XlmrEncoder enc(config);
  const auto before = snapshot(*enc);

  const std::string wrong = checkpoint_error([&] { load_hf_weights(*enc, tmp / "wrong_shape"); });
  CHECK(wrong == (tmp / "wrong_shape" / "model.safetensors").string() +
                     ": tensor 'roberta.encoder.layer.1.attention.self.query.weight': expected "
                     "[32, 32], found [64, 16]");
  // Validation precedes copying: a failed load leaves the module as it was.
  for (const auto& p : enc->named_parameters()) CHECK(torch::equal(p.value(), before.at(p.key())));

  CHECK(checkpoint_error([&] { load_hf_weights(*enc, tmp / "missing"); }) ==
        (tmp / "missing" / "model.safetensors").string() +
            ": tensor 'roberta.encoder.layer.2.output.dense.bias': expected [32], found none");

  const std::string bin = checkpoint_error([&] { load_hf_weights(*enc, tmp / "pytorch_bin"); });
  CHECK(bin.rfind((tmp / "pytorch_bin").string() + ": found pytorch_model.bin", 0) == 0);
  CHECK(bin.find("save_pretrained(") != std::string::npos);
  CHECK(bin.find("safe_serialization=True") != std::string::npos);
  CHECK(bin.find('\n') == std::string::npos);

  const std::string truncated = checkpoint_error([&] { load_hf_weights(*enc, tmp / "truncated"); });
  CHECK(truncated.rfind((tmp / "truncated" / "model.safetensors").string() + ": tensor '", 0) == 0);
  CHECK(truncated.find("truncated file?") != std::string::npos);

  CHECK(checkpoint_error([&] { load_hf_weights(*enc, tmp / "bad_header"); }) ==
        (tmp / "bad_header" / "model.safetensors").string() +
            ": expected a JSON object as safetensors header, found malformed JSON");

  for (const auto& p : enc->named_parameters()) CHECK(torch::equal(p.value(), before.at(p.key())));
}

TEST_CASE("a missing tensor of an unprefixed checkpoint is named without prefix", "[weights]") {
  ScratchDir tmp("weights-missing");
  XlmrEncoder a(testing::small_test_config());
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : a->named_parameters())
    if (p.key() != "encoder.layer.0.output.dense.bias") tensors.emplace_back(p.key(), p.value());
  fs::create_directories(tmp / "ckpt");
  write_hf_config(testing::small_test_config(), (tmp / "ckpt" / "config.json").string(),
                  "XLMRobertaModel");
  write_safetensors(tmp / "ckpt" / "model.safetensors", tensors);
  XlmrEncoder b(testing::small_test_config());
  CHECK(checkpoint_error([&] { load_hf_weights(*b, tmp / "ckpt"); }) ==
        (tmp / "ckpt" / "model.safetensors").string() +
            ": tensor 'encoder.layer.0.output.dense.bias': expected [16], found none");
  // Into a task model the same tensor is named as it would be in that checkpoint: no prefix.
  XlmrForTask m(testing::small_test_config(), HeadOptions{});
  CHECK(checkpoint_error([&] { load_hf_weights(*m, tmp / "ckpt"); }) ==
        (tmp / "ckpt" / "model.safetensors").string() +
            ": tensor 'encoder.layer.0.output.dense.bias': expected [16], found none");
}

TEST_CASE("malformed safetensors files and directories are rejected naming the file", "[weights]") {
  ScratchDir tmp("weights-malformed");
  auto write_file = [&](const std::string& name, const std::string& header, size_t data_bytes,
                        uint64_t declared_length) {
    std::string all(8, '\0');
    for (int i = 0; i < 8; ++i) all[i] = static_cast<char>((declared_length >> (8 * i)) & 0xFF);
    all += header + std::string(data_bytes, '\0');
    std::ofstream(tmp / name, std::ios::binary) << all;
    return (tmp / name).string();
  };
  auto error_of = [](const std::string& path) {
    return checkpoint_error([&] { SafetensorsFile f(path); });
  };
  {
    const std::string p = tmp / "short.safetensors";
    std::ofstream(p, std::ios::binary) << "abcd";
    CHECK(error_of(p) == p + ": expected a safetensors file (8-byte header length, JSON header, "
                             "data), found 4 bytes");
  }
  {
    const std::string p = write_file("long.safetensors", "{}", 90, 1000000);
    CHECK(error_of(p) == p + ": header length 1000000 exceeds the file's 100 bytes (not a "
                             "safetensors file, or truncated)");
  }
  {
    const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string p = write_file("beyond.safetensors", h, 4, h.size());
    CHECK(error_of(p) == p + ": tensor 'a': expected data_offsets within the 4 bytes of data, "
                             "found [0, 8] (truncated file?)");
  }
  {
    const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
    const std::string p = write_file("count.safetensors", h, 8, h.size());
    CHECK(error_of(p) == p + ": tensor 'a': expected 12 bytes for F32 [3], found 8 bytes");
  }
  {
    const std::string h = R"({"a":{"dtype":"F32","shape":[2]}})";
    const std::string p = write_file("fields.safetensors", h, 8, h.size());
    CHECK(error_of(p).rfind(p + ": tensor 'a': expected {dtype, shape, data_offsets", 0) == 0);
  }
  {
    // A valid file with a tensor of a dtype the loader cannot convert.
    const std::string h = R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
    const std::string p = write_file("int.safetensors", h, 8, h.size());
    SafetensorsFile f(p);
    CHECK(f.entries().at("a").dtype == "I64");
    CHECK(checkpoint_error([&] { f.view("a"); }) ==
          p + ": tensor 'a': expected dtype F32, F16 or BF16, found I64");
  }
  XlmrEncoder enc(testing::small_test_config());
  CHECK(checkpoint_error([&] { load_hf_weights(*enc, tmp / "nowhere"); }) ==
        (tmp / "nowhere").string() +
            ": expected a Hugging Face checkpoint directory, found no such directory");
  fs::create_directories(tmp / "empty");
  CHECK(checkpoint_error([&] { load_hf_weights(*enc, tmp / "empty"); }) ==
        (tmp / "empty").string() +
            ": expected model.safetensors or model.safetensors.index.json, found neither");
}

TEST_CASE("HDF5 weights round trip: N-d datasets, float32 exact, bfloat16 rounded", "[weights]") {
  ScratchDir tmp("weights-h5");
  torch::manual_seed(6);
  XlmrEncoder a(testing::small_test_config());
  HeadOptions head;
  head.kind = HeadKind::kTokenClassification;
  head.num_labels = 7;
  XlmrForTask task(testing::small_test_config(), head);
  {
    h5::File file = h5::File::create(tmp / "w.h5");
    save_h5_weights(*a, file.root().create_group("f32"));
    save_h5_weights(*a, file.root().create_group("bf16"), WeightDtype::kBFloat16);
    save_h5_weights(*task, file.root().create_group("task"));
    // Datasets first (collective in a parallel file), data later from a reopened file.
    create_h5_weights(*a, file.root().create_group("later"), WeightDtype::kFloat32);
    file.flush();
  }
  {
    h5::File file = h5::File::open(tmp / "w.h5", /*writable=*/true);
    write_h5_weights(*a, file.root().open_group("later"));
  }

  // Layout, read with the HDF5 C API: one N-d dataset per parameter, a dtype attribute.
  const torch::Tensor q =
      read_h5_dataset(tmp / "w.h5", "f32/encoder.layer.1.attention.self.query.weight");
  CHECK(q.sizes() == torch::IntArrayRef({16, 16}));
  CHECK(torch::equal(q, a->encoder->layer[1]->as<XlmrLayerImpl>()->attention->self->query->weight));
  {
    const hid_t f = H5Fopen((tmp / "w.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t ds = H5Dopen2(f, "bf16/embeddings.word_embeddings.weight", H5P_DEFAULT);
    REQUIRE(ds >= 0);
    const hid_t type = H5Dget_type(ds);
    CHECK(H5Tget_class(type) == H5T_INTEGER);
    CHECK(H5Tget_size(type) == 2);
    CHECK(h5::get_string_attr(ds, "dtype") == "bfloat16");
    H5Tclose(type);
    H5Dclose(ds);
    const hid_t ds32 = H5Dopen2(f, "f32/embeddings.word_embeddings.weight", H5P_DEFAULT);
    CHECK(h5::get_string_attr(ds32, "dtype") == "float32");
    H5Dclose(ds32);
    H5Fclose(f);
  }

  h5::File file = h5::File::open(tmp / "w.h5", /*writable=*/false);
  SECTION("float32 and create-then-write reload bitwise") {
    for (const std::string group : {"f32", "later"}) {
      INFO(group);
      XlmrEncoder b(testing::small_test_config());
      const LoadReport report = load_h5_weights(*b, file.root().open_group(group));
      CHECK(report.initialized.empty());
      CHECK(report.unused.empty());
      check_equal_parameters(*a, *b);
    }
  }
  SECTION("bfloat16 reloads as the rounded values") {
    XlmrEncoder b(testing::small_test_config());
    load_h5_weights(*b, file.root().open_group("bf16"));
    const auto pb = b->named_parameters();
    for (const auto& p : a->named_parameters()) {
      INFO(p.key());
      CHECK(torch::equal(pb[p.key()], round_to_bf16(p.value())));
    }
  }
  SECTION("a task model's group loads into a task model and, prefix stripped, an encoder") {
    XlmrForTask same(testing::small_test_config(), head);
    load_h5_weights(*same, file.root().open_group("task"));
    check_equal_parameters(*task, *same);
    XlmrEncoder enc(testing::small_test_config());
    const LoadReport report = load_h5_weights(*enc, file.root().open_group("task"));
    CHECK(report.unused == std::vector<std::string>{"classifier.bias", "classifier.weight"});
    CHECK(torch::equal(enc->embeddings->word_embeddings->weight,
                       task->roberta->embeddings->word_embeddings->weight));
  }
  SECTION("a shape mismatch names the group and the tensor") {
    XlmrConfig other = testing::small_test_config();
    other.vocab_size = 60;
    XlmrEncoder b(other);
    const h5::Group g = file.root().open_group("f32");
    CHECK(checkpoint_error([&] { load_h5_weights(*b, g); }) ==
          g.path() +
              ": tensor 'embeddings.word_embeddings.weight': expected [60, 16], found [50, 16]");
  }
}

TEST_CASE("token id lines are padded into one batch", "[weights]") {
  ScratchDir tmp("weights-ids");
  std::ofstream(tmp / "ids.txt") << "0 5 6 2\r\n0 7 2\n\n";
  const TokenBatch batch = read_token_id_lines(tmp / "ids.txt", testing::small_test_config());
  CHECK(torch::equal(batch.input_ids, torch::tensor({{0, 5, 6, 2}, {0, 7, 2, 1}}, torch::kInt64)));
  CHECK(torch::equal(batch.attention_mask,
                     torch::tensor({{1, 1, 1, 1}, {1, 1, 1, 0}}, torch::kInt64)));
  std::ofstream(tmp / "none.txt") << "\n";
  try {
    read_token_id_lines(tmp / "none.txt", testing::small_test_config());
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()) ==
          (tmp / "none.txt").string() +
              ": expected one line of token ids per sequence, found no token ids");
  }
}

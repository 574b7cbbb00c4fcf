#include "ordertune/config/model_config.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ordertune/base/error.h"

namespace ordertune {

// ---- config.json -----------------------------------------------------------------------------

XlmrConfig read_hf_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw CheckpointError(
        fmt::format("{}: cannot open (expected a Hugging Face config.json)", path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw CheckpointError(fmt::format("{}: expected a JSON object, found malformed JSON", path));
  XlmrConfig c;
  auto get_int = [&](const char* key, int64_t* out, int64_t min) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_number_integer() || it->get<int64_t>() < min)
      throw CheckpointError(
          fmt::format("{}: {}: expected an integer >= {}, found {}", path, key, min, it->dump()));
    *out = it->get<int64_t>();
  };
  auto get_num = [&](const char* key, double* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_number())
      throw CheckpointError(
          fmt::format("{}: {}: expected a number, found {}", path, key, it->dump()));
    *out = it->get<double>();
  };
  get_int("vocab_size", &c.vocab_size, 1);
  get_int("hidden_size", &c.hidden_size, 1);
  get_int("num_hidden_layers", &c.num_hidden_layers, 1);
  get_int("num_attention_heads", &c.num_attention_heads, 1);
  get_int("intermediate_size", &c.intermediate_size, 1);
  get_int("max_position_embeddings", &c.max_position_embeddings, 1);
  get_int("type_vocab_size", &c.type_vocab_size, 1);
  get_int("pad_token_id", &c.pad_token_id, 0);
  get_num("layer_norm_eps", &c.layer_norm_eps);
  get_num("hidden_dropout_prob", &c.hidden_dropout_prob);
  get_num("attention_probs_dropout_prob", &c.attention_probs_dropout_prob);
  get_num("initializer_range", &c.initializer_range);
  if (auto it = j.find("hidden_act"); it != j.end() && it->is_string()) c.hidden_act = *it;
  if (c.hidden_act != "gelu")
    throw CheckpointError(
        fmt::format("{}: hidden_act: expected \"gelu\" (exact), found \"{}\"", path, c.hidden_act));
  if (auto it = j.find("position_embedding_type");
      it != j.end() && it->is_string() && *it != "absolute")
    throw CheckpointError(fmt::format(
        "{}: position_embedding_type: expected \"absolute\", found {}", path, it->dump()));
  if (c.hidden_size % c.num_attention_heads != 0)
    throw CheckpointError(
        fmt::format("{}: num_attention_heads: expected a divisor of hidden_size "
                    "({}), found {}",
                    path, c.hidden_size, c.num_attention_heads));
  return c;
}

std::string hf_config_json(const XlmrConfig& c, const std::string& architecture) {
  nlohmann::json j;
  j["architectures"] = {architecture};
  j["model_type"] = "xlm-roberta";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["initializer_range"] = c.initializer_range;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["pad_token_id"] = c.pad_token_id;
  j["bos_token_id"] = 0;
  j["eos_token_id"] = 2;
  j["position_embedding_type"] = "absolute";
  j["torch_dtype"] = "float32";
  return j.dump(2);
}

void write_hf_config(const XlmrConfig& c, const std::string& path,
                     const std::string& architecture) {
  std::ofstream out(path);
  if (!out) throw CheckpointError(fmt::format("{}: cannot write", path));
  out << hf_config_json(c, architecture) << "\n";
}

XlmrConfig xlmr_large_config() {
  XlmrConfig c;
  c.hidden_size = 1024;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 16;
  c.intermediate_size = 4096;
  return c;
}

// ---- the sweep's models ------------------------------------------------------------------------

XlmrConfig tiny_model_config(const SweepConfig& config, int64_t vocab_size) {
  const TinyModelConfig& t = config.model.tiny;
  XlmrConfig c;
  c.vocab_size = vocab_size;
  c.hidden_size = t.hidden;
  c.num_hidden_layers = t.layers;
  c.num_attention_heads = t.heads;
  c.intermediate_size = t.ffn;
  c.max_position_embeddings = t.max_positions;
  return c;
}

XlmrConfig root_model_config(const SweepConfig& config, int64_t vocab_size) {
  if (config.model.checkpoint.empty()) return tiny_model_config(config, vocab_size);
  const std::string path =
      (std::filesystem::path(config.model.checkpoint) / "config.json").string();
  XlmrConfig c = read_hf_config(path);
  // What the data needs of the checkpoint, checked before any weight loads (a torch index error
  // in the first forward otherwise).
  std::string setting;
  const int64_t longest = config.longest_input(&setting);
  if (c.max_position_embeddings < longest + 2)
    throw CheckpointError(fmt::format(
        "{}: max_position_embeddings: expected at least {} ({} = {} in {}, plus 2: XLM-R's "
        "positions start after the padding id), found {}",
        path, longest + 2, setting, longest, config.path.string(), c.max_position_embeddings));
  if (vocab_size != c.vocab_size)
    throw CheckpointError(fmt::format(
        "{}: vocab_size: expected {} (the ids of the data cache's tokenizer), found {} (prepare "
        "with this checkpoint's tokenizer)",
        path, vocab_size, c.vocab_size));
  return c;
}

int64_t encoder_parameters(const XlmrConfig& c) {
  const int64_t H = c.hidden_size, F = c.intermediate_size;
  const int64_t embeddings =
      c.vocab_size * H + c.max_position_embeddings * H + c.type_vocab_size * H + 2 * H;
  const int64_t layer = (4 * H * H + 4 * H) + 2 * H + (2 * H * F + F + H) + 2 * H;
  const int64_t pooler = H * H + H;
  return embeddings + c.num_hidden_layers * layer + pooler;
}

}  // namespace ordertune

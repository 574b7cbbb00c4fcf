// Parity of the XLM-R encoder with an independent reference implementation: the xlmr-tiny
// fixture's expected.h5 holds every layer's hidden states computed by a Python implementation
// of Hugging Face's XLMRoberta modules (tests/fixtures/README.md). Compared at unpadded
// positions only, within kParityTolerance; checkpoint variants that differ in prefix, heads,
// sharding and dtype are written by make_checkpoint_variants.py (numpy, no torch).
#include "engine/checkpoint_fixture.h"

#include <cstdio>

#include "ordertune/base/error.h"
#include "ordertune/model/weights.h"

using namespace ordertune;
using namespace ordertune::testing;
namespace fs = std::filesystem;

namespace {

struct Reference {
  torch::Tensor hidden_states;   // [L+1, B, T, H]
  torch::Tensor attention_mask;  // [B, T]
  torch::Tensor input_ids;       // [B, T]
};

Reference reference() {
  const fs::path expected = xlmr_tiny() / "expected.h5";
  return {read_h5_dataset(expected, "hidden_states"), read_h5_dataset(expected, "attention_mask"),
          read_h5_dataset(expected, "input_ids")};
}

// Hidden states of the fixture's inputs with the checkpoint in `dir` (config from the fixture).
torch::Tensor hidden_states_of(const fs::path& dir) {
  EncoderOptions options;
  options.with_pooler = false;
  XlmrEncoder encoder = load_hf_encoder(dir, options);
  const TokenBatch batch = read_token_id_lines(xlmr_tiny() / "inputs.txt", encoder->config());
  return all_hidden_states(*encoder, batch);
}

double report_worst(const std::string& what, const torch::Tensor& hidden) {
  const Reference ref = reference();
  const double worst = worst_unpadded_difference(hidden, ref.hidden_states, ref.attention_mask);
  std::printf("parity %-28s worst |difference| at unpadded positions = %.3g\n", what.c_str(),
              worst);
  return worst;
}

}  // namespace

TEST_CASE("forward of the xlmr-tiny fixture matches the reference hidden states", "[parity]") {
  ScratchDir tmp("parity");
  const Reference ref = reference();
  const torch::Tensor hidden =
      forward_to_h5(xlmr_tiny(), xlmr_tiny() / "inputs.txt", tmp / "out.h5");
  REQUIRE(hidden.sizes() == ref.hidden_states.sizes());

  // The batch is padded as the reference padded it.
  CHECK(torch::equal(read_h5_dataset(tmp / "out.h5", "attention_mask"), ref.attention_mask));
  const torch::Tensor ids = read_h5_dataset(tmp / "out.h5", "input_ids");
  CHECK(torch::equal(ids.masked_select(ref.attention_mask.to(torch::kBool)),
                     ref.input_ids.masked_select(ref.attention_mask.to(torch::kBool))));
  CHECK(ids.masked_select(ref.attention_mask.eq(0)).eq(1).all().item<bool>());

  // What was written is what was computed, and both match the reference.
  const torch::Tensor written = read_h5_dataset(tmp / "out.h5", "hidden_states");
  CHECK(torch::equal(written, hidden));
  for (int64_t layer = 0; layer < hidden.size(0); ++layer) {
    const double worst = worst_unpadded_difference(
        hidden[layer].unsqueeze(0), ref.hidden_states[layer].unsqueeze(0), ref.attention_mask);
    INFO("layer " << layer << " worst difference " << worst);
    CHECK(worst <= kParityTolerance);
  }
  CHECK(report_worst("f32 (fixture, library)", hidden) <= kParityTolerance);

  // Sanity of the comparison itself: another model's hidden states are far off.
  torch::manual_seed(0);
  XlmrEncoder other(read_hf_config((xlmr_tiny() / "config.json").string()));
  const torch::Tensor far =
      all_hidden_states(*other, read_token_id_lines(xlmr_tiny() / "inputs.txt", other->config()));
  CHECK(worst_unpadded_difference(far, ref.hidden_states, ref.attention_mask) > 0.1);
}

TEST_CASE("ordertune forward (the executable) matches the reference hidden states",
          "[parity][cli]") {
  ScratchDir tmp("parity-cli");
  const fs::path binary = binary_dir() / "ordertune";
  INFO("needs the ordertune executable: cmake --build <build> --target ordertune");
  REQUIRE(fs::exists(binary));
  const std::string command = "'" + binary.string() + "' forward --model '" + xlmr_tiny().string() +
                              "' --inputs '" + (xlmr_tiny() / "inputs.txt").string() + "' --out '" +
                              (tmp / "out.h5").string() + "' 2>'" + (tmp / "err.txt").string() +
                              "'";
  const int rc = run_shell(command);
  INFO(command << "\nstderr: " << read_text(tmp / "err.txt"));
  REQUIRE(rc == 0);
  const Reference ref = reference();
  CHECK(torch::equal(read_h5_dataset(tmp / "out.h5", "attention_mask"), ref.attention_mask));
  CHECK(report_worst("f32 (fixture, CLI)", read_h5_dataset(tmp / "out.h5", "hidden_states")) <=
        kParityTolerance);
}

TEST_CASE("ordertune forward rejects a bad input line with one line naming it", "[parity][cli]") {
  ScratchDir tmp("parity-cli-bad");
  const fs::path binary = binary_dir() / "ordertune";
  REQUIRE(fs::exists(binary));
  auto run = [&](const std::string& inputs) {
    std::ofstream(tmp / "inputs.txt") << inputs;
    const int rc =
        run_shell("'" + binary.string() + "' forward --model '" + xlmr_tiny().string() +
                  "' --inputs '" + (tmp / "inputs.txt").string() + "' --out '" +
                  (tmp / "out.h5").string() + "' 2>'" + (tmp / "err.txt").string() + "'");
    return std::make_pair(rc, read_text(tmp / "err.txt"));
  };
  const std::string file = (tmp / "inputs.txt").string();
  {
    const auto [rc, err] = run("0 5 6 2\n0 5 x7 2\n");
    CHECK(rc != 0);
    CHECK(err ==
          "ordertune: " + file + ":2: expected a token id in [0, 250) (vocab_size), found 'x7'\n");
  }
  {
    const auto [rc, err] = run("0 5 6 2\n0 5 6 2\n0 250 2\n");
    CHECK(rc != 0);
    CHECK(err ==
          "ordertune: " + file + ":3: expected a token id in [0, 250) (vocab_size), found '250'\n");
  }
  {
    std::string long_line = "0";
    for (int i = 0; i < 38; ++i) long_line += " 5";  // 39 tokens; positions allow 40 - 1 - 1
    const auto [rc, err] = run(long_line + "\n");
    CHECK(rc != 0);
    CHECK(err ==
          "ordertune: " + file +
              ":1: expected at most 38 tokens (max_position_embeddings 40 - padding id - 1), "
              "found 39 tokens\n");
  }
  {
    const auto [rc, err] = run("0 5 2\n\n0 6 2\n");
    CHECK(rc != 0);
    CHECK(err ==
          "ordertune: " + file + ":2: expected space-separated token ids, found an empty line\n");
  }
}

TEST_CASE("checkpoints without prefix, with an unaligned header or in shards match the reference",
          "[parity][python]") {
  ScratchDir tmp("parity-variants");
  make_checkpoint_variants(tmp.path());
  // (a) XLMRobertaModel layout: no "roberta." prefix, no lm_head.
  CHECK(report_worst("stripped (XLMRobertaModel)", hidden_states_of(tmp / "stripped")) <=
        kParityTolerance);
  // Tensors at odd file offsets (header of 8k+3 bytes).
  CHECK(report_worst("f32 unaligned header", hidden_states_of(tmp / "f32")) <= kParityTolerance);
  // (c) two shards and model.safetensors.index.json.
  CHECK(report_worst("sharded (2 files + index)", hidden_states_of(tmp / "sharded")) <=
        kParityTolerance);
  // The three load exactly the same numbers as the fixture itself.
  const torch::Tensor fixture = hidden_states_of(xlmr_tiny());
  CHECK(torch::equal(hidden_states_of(tmp / "stripped"), fixture));
  CHECK(torch::equal(hidden_states_of(tmp / "sharded"), fixture));
}

TEST_CASE("F16 and BF16 checkpoints are converted exactly", "[parity][python]") {
  ScratchDir tmp("parity-dtypes");
  make_checkpoint_variants(tmp.path());
  const torch::Tensor fixture = hidden_states_of(xlmr_tiny());
  for (const std::string dtype : {"f16", "bf16"}) {
    INFO(dtype);
    // The loader converts exactly: the 16-bit file gives bitwise the same parameters and hidden
    // states as an F32 file holding the same (rounded, by numpy) values.
    EncoderOptions options;
    options.with_pooler = false;
    XlmrEncoder narrow = load_hf_encoder(tmp / dtype, options);
    XlmrEncoder wide = load_hf_encoder(tmp / (dtype + "_as_f32"), options);
    const auto a = narrow->named_parameters(), b = wide->named_parameters();
    for (const auto& p : a) {
      INFO(p.key());
      CHECK(torch::equal(p.value(), b[p.key()]));
    }
    const torch::Tensor h16 = hidden_states_of(tmp / dtype);
    CHECK(torch::equal(h16, hidden_states_of(tmp / (dtype + "_as_f32"))));
    // Rounding the weights to 16 bits moves the hidden states measurably (bf16 keeps 8
    // significant bits, so beyond the F32 tolerance): report it.
    const double worst = report_worst(dtype + " vs f32 reference", h16);
    CHECK(worst > 0);
    CHECK(!torch::equal(h16, fixture));
    CHECK(worst < 0.5);
  }
}

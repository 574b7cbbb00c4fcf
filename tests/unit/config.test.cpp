// Tests of config.h: defaults, the reference file, and one-line errors for bad input.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/config/config.h"
#include "ordertune/config/model_config.h"
#include "test_paths.h"

using namespace ordertune;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

// The one-line message a config raises (empty if it parses).
std::string error_of(const std::string& text) {
  try {
    parse_config(text, "x.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the reference config parses to exactly the built-in defaults", "[config]") {
  const SweepConfig ref = load_config(testing::source_dir() / "configs" / "reference.toml");
  const SweepConfig def = parse_config("", "empty.toml");

  CHECK(ref.sweep.name == def.sweep.name);
  CHECK(ref.sweep.seed == def.sweep.seed);
  CHECK(ref.sweep.replicates == def.sweep.replicates);
  CHECK(ref.sweep.group_size == def.sweep.group_size);
  CHECK(ref.sweep.share_gpus == def.sweep.share_gpus);
  CHECK(ref.sweep.deterministic == def.sweep.deterministic);
  CHECK(ref.sweep.threads == def.sweep.threads);
  CHECK(ref.sweep.tokens_per_second == def.sweep.tokens_per_second);

  CHECK(ref.model.checkpoint == def.model.checkpoint);
  CHECK(ref.model.tokenizer == def.model.tokenizer);
  CHECK(ref.model.retrieval_layer == def.model.retrieval_layer);
  CHECK(ref.model.dtype == def.model.dtype);
  CHECK(ref.model.activation_checkpointing == def.model.activation_checkpointing);
  CHECK(ref.model.tiny.layers == def.model.tiny.layers);
  CHECK(ref.model.tiny.hidden == def.model.tiny.hidden);
  CHECK(ref.model.tiny.heads == def.model.tiny.heads);
  CHECK(ref.model.tiny.ffn == def.model.tiny.ffn);
  CHECK(ref.model.tiny.vocab_size == def.model.tiny.vocab_size);
  CHECK(ref.model.tiny.max_positions == def.model.tiny.max_positions);
  CHECK(ref.model.tiny.pretrain_task == def.model.tiny.pretrain_task);
  CHECK(ref.model.tiny.pretrain_steps == def.model.tiny.pretrain_steps);
  CHECK(ref.model.tiny.pretrain_lr == def.model.tiny.pretrain_lr);
  CHECK(ref.model.tiny.pretrain_batch_size == def.model.tiny.pretrain_batch_size);
  CHECK(ref.model.tiny.pretrain_micro_batches == def.model.tiny.pretrain_micro_batches);

  CHECK(ref.data.root == def.data.root);
  CHECK(ref.data.cache == def.data.cache);
  CHECK(ref.data.max_length == def.data.max_length);
  CHECK(ref.data.qa_max_length == def.data.qa_max_length);
  CHECK(ref.data.qa_stride == def.data.qa_stride);
  CHECK(ref.data.qa_max_query_length == def.data.qa_max_query_length);
  CHECK(ref.data.max_examples == def.data.max_examples);
  CHECK(ref.data.languages == def.data.languages);
  CHECK(ref.data.demo == def.data.demo);
  CHECK(ref.data.demo_seed == def.data.demo_seed);
  CHECK(ref.data.demo_scale == def.data.demo_scale);

  CHECK(ref.orders.mode == def.orders.mode);
  CHECK(ref.orders.stages == def.orders.stages);
  CHECK(ref.orders.lengths == def.orders.lengths);
  CHECK(ref.orders.explicit_orders == def.orders.explicit_orders);
  CHECK(ref.targets == def.targets);

  CHECK(ref.train.lr == def.train.lr);
  CHECK(ref.train.batch_size == def.train.batch_size);
  CHECK(ref.train.grad_accum == def.train.grad_accum);
  CHECK(ref.train.epochs == def.train.epochs);
  CHECK(ref.train.max_steps == def.train.max_steps);
  CHECK(ref.train.warmup_fraction == def.train.warmup_fraction);
  CHECK(ref.train.weight_decay == def.train.weight_decay);
  CHECK(ref.train.max_grad_norm == def.train.max_grad_norm);
  CHECK(ref.train.eval_every == def.train.eval_every);
  CHECK(ref.train.select == def.train.select);
  CHECK(ref.train.max_train_examples == def.train.max_train_examples);
  CHECK(ref.train.max_eval_examples == def.train.max_eval_examples);

  CHECK(ref.output.results == def.output.results);
  CHECK(ref.output.checkpoints == def.output.checkpoints);
  CHECK(ref.output.checkpoint_dtype == def.output.checkpoint_dtype);
  CHECK(ref.output.resume_every == def.output.resume_every);
}

TEST_CASE("every setting in the reference config carries a comment", "[config]") {
  std::ifstream in(testing::source_dir() / "configs" / "reference.toml");
  std::string line;
  int line_no = 0, settings = 0;
  const std::regex setting(R"(^\s*[a-z_]+\s*=)");
  while (std::getline(in, line)) {
    ++line_no;
    if (!std::regex_search(line, setting)) continue;
    ++settings;
    INFO("reference.toml:" << line_no << ": " << line);
    CHECK(line.find('#') != std::string::npos);
  }
  CHECK(settings >= 50);
}

TEST_CASE("every shipped config is valid", "[config]") {
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_dir() / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(load_config(entry.path()));
  }
}

TEST_CASE("config values are read into their structs", "[config]") {
  const SweepConfig c = parse_config(R"(
[sweep]
seed = 7
replicates = 3
[data]
root = "download"
max_length = 128
languages = ["de", "fr"]
[orders]
stages = ["mnli", "squad_v1", "hellaswag"]
lengths = [0, 1, 2]
[targets]
tasks = ["xnli", "xquad"]
[train]
lr = 2e-5
[train.xnli]
epochs = 2
)",
                                     "x.toml");
  CHECK(c.sweep.seed == 7);
  CHECK(c.sweep.replicates == 3);
  CHECK(c.data.root == "download");
  CHECK(c.data.max_length == 128);
  CHECK(c.data.languages == std::vector<std::string>{"de", "fr"});
  CHECK(c.orders.lengths == std::vector<int>{0, 1, 2});
  CHECK(c.train.lr == Approx(2e-5));
  // The override inherits [train]'s values and changes only what it names.
  CHECK(c.train_for("xnli").epochs == 2);
  CHECK(c.train_for("xnli").lr == Approx(2e-5));
  CHECK(c.train_for("mnli").epochs == 3);
  // Stage members, targets, the targets' training tasks and the MLM corpus of the tiny model.
  const auto used = c.tasks_used();
  for (const char* t : {"mnli", "squad_v1", "hellaswag", "xnli", "xquad", "mlm"}) {
    INFO(t);
    CHECK(std::find(used.begin(), used.end(), t) != used.end());
  }
}

TEST_CASE("mixtures and user-defined tasks", "[config]") {
  const SweepConfig c = parse_config(R"(
[tasks.sst]
type = "classification"
format = "jsonl"
paths = { train = "sst/train.jsonl", dev = "sst/val.jsonl" }
labels = ["0", "1"]
options = { text_a = "text", text_b = "", label = "label" }

[tasks.xnli]
languages = { test = ["en", "de"] }

[mixtures.nli_mix]
tasks = ["mnli", "sst"]
sampling = "temperature"

[orders]
mode = "explicit"
explicit = [[], ["nli_mix"], ["sst", "mnli"]]
)",
                                     "x.toml");
  const TaskSpec& sst = c.registry.get("sst");
  CHECK(sst.type == TaskType::kClassification);
  CHECK(sst.paths.at("dev") == "sst/val.jsonl");
  CHECK(sst.languages.at("train") == std::vector<std::string>{"en"});
  CHECK(sst.options.at("text_b").empty());
  CHECK(!sst.builtin);
  // A built-in task keeps everything but what the config changes.
  const TaskSpec& xnli = c.registry.get("xnli");
  CHECK(xnli.languages.at("test") == std::vector<std::string>{"en", "de"});
  CHECK(xnli.format == TaskRegistry::builtin().get("xnli").format);
  CHECK(c.mixtures.at("nli_mix").sampling == Sampling::kTemperature);
  CHECK(c.orders.explicit_orders.size() == 3);
  CHECK(c.orders.explicit_orders[0].empty());
  const auto inter = c.intermediate_tasks();
  CHECK(inter == std::vector<std::string>{"mnli", "sst"});
}

// Every choice enum round-trips through its one spelling table, and a config names a choice only
// by a spelling of it (base/choice.h).
template <typename E>
void check_spellings() {
  std::set<std::string> names;
  for (const auto& s : ordertune::ChoiceTraits<E>::spellings) {
    INFO(s.name);
    CHECK(names.insert(s.name).second);  // each spelling once
    E parsed{};
    REQUIRE(ordertune::parse_choice(s.name, &parsed));
    CHECK(parsed == s.value);
    CHECK(std::string(ordertune::choice_name(s.value)) == s.name);
  }
  E unused{};
  CHECK_FALSE(ordertune::parse_choice("no such value", &unused));
}

TEST_CASE("choices are enums with one spelling each", "[config][choice]") {
  check_spellings<ordertune::TaskType>();
  check_spellings<ordertune::Metric>();
  check_spellings<ordertune::Precision>();
  check_spellings<ordertune::Sampling>();
  check_spellings<ordertune::OrdersMode>();
  check_spellings<ordertune::Selection>();
  check_spellings<ordertune::CheckpointKeep>();
  // Parsed where read: the value's enum, and the spellings in the message of a bad one.
  const SweepConfig c = parse_config(
      "[model]\ndtype = \"bf16\"\n[train]\nselect = \"best\"\n[orders]\nmode = \"permutations\"\n"
      "stages = [\"mnli\"]\n[output]\ncheckpoints = \"none\"\ncheckpoint_dtype = \"bf16\"\n",
      "x.toml");
  CHECK(c.model.dtype == ordertune::Precision::kBf16);
  CHECK(c.train.select == ordertune::Selection::kBest);
  CHECK(c.orders.mode == ordertune::OrdersMode::kPermutations);
  CHECK(c.output.checkpoints == ordertune::CheckpointKeep::kNone);
  CHECK(c.output.checkpoint_dtype == ordertune::Precision::kBf16);
  CHECK_THAT(error_of("[model]\ndtype = \"fp16\"\n"),
             Equals("x.toml:2: model.dtype: expected one of \"fp32\", \"bf16\", got \"fp16\""));
  CHECK_THAT(error_of("[orders]\nmode = 3\n"),
             Equals("x.toml:2: orders.mode: expected one of \"k_permutations\", \"permutations\", "
                    "\"explicit\", got 3"));
  CHECK_THAT(error_of("[tasks.mine]\nmetric = \"bleu\"\n"),
             Contains("tasks.mine.type: required for a new task"));
}

TEST_CASE("bad configs fail with one line naming file, line and field", "[config]") {
  SECTION("out of range: the example of the issue") {
    CHECK_THAT(error_of("[train]\nlr = -1\n"),
               Equals("x.toml:2: train.lr: expected a number > 0 and <= 1, got -1"));
  }
  SECTION("a learning rate nobody means (1e307 once passed and trained on NaN)") {
    CHECK_THAT(error_of("[train]\nlr = 1e307\n"),
               Equals("x.toml:2: train.lr: expected a number > 0 and <= 1, got 1e+307"));
  }
  SECTION("NaN and infinities pass no range comparison, so they are refused first") {
    CHECK_THAT(error_of("[train]\nlr = nan\n"),
               StartsWith("x.toml:2: train.lr: expected a finite number > 0 and <= 1, got ") &&
                   Contains("nan"));
    CHECK_THAT(error_of("[sweep]\ntokens_per_second = inf\n"),
               StartsWith("x.toml:2: sweep.tokens_per_second: expected a finite number > 0, got "));
    CHECK_THAT(error_of("[train]\nweight_decay = -inf\n"),
               StartsWith("x.toml:2: train.weight_decay: expected a finite number >= 0, got "));
  }
  SECTION("a language no target has (it once dropped every evaluation but English silently)") {
    CHECK_THAT(error_of("[data]\nlanguages = [\"de\", \"zz\"]\n[targets]\ntasks = [\"xnli\"]\n"),
               StartsWith("x.toml:2: data.languages: expected languages of the targets (ar, bg, "
                          "de, el, en, es, fr, hi, ru, sw, th, tr, ... 15 in all), got 'zz'"));
    CHECK(error_of("[data]\nlanguages = [\"de\", \"zz\"]\n").empty());  // no targets to check
  }
  SECTION("wrong type") {
    CHECK_THAT(error_of("[sweep]\nreplicates = \"three\"\n"),
               Contains("x.toml:2: sweep.replicates: expected an integer >= 1") &&
                   Contains("got \"three\""));
  }
  SECTION("unknown key (a typo) in a section") {
    CHECK_THAT(error_of("[train]\nlr = 1e-5\nepoch = 3\n"),
               Equals("x.toml:3: train.epoch: unknown key (see configs/reference.toml)"));
  }
  SECTION("unknown top-level section") {
    CHECK_THAT(error_of("[trian]\nlr = 1\n"), Contains("x.toml:1: trian: unknown key"));
  }
  SECTION("value not in the allowed set") {
    CHECK_THAT(error_of("[output]\ncheckpoints = \"some\"\n"),
               Contains("x.toml:2: output.checkpoints: expected one of \"all\", \"interior\", "
                        "\"none\", got \"some\""));
  }
  SECTION("unknown stage") {
    CHECK_THAT(error_of("[orders]\nstages = [\"mnli\", \"mnlii\"]\n"),
               Contains("x.toml:2: orders.stages:") && Contains("unknown stage 'mnlii'"));
  }
  SECTION("stage listed twice") {
    CHECK_THAT(error_of("[orders]\nstages = [\"mnli\", \"mnli\"]\n"),
               Contains("x.toml:2: orders.stages: stage 'mnli' is listed twice"));
  }
  SECTION("k larger than the number of stages") {
    CHECK_THAT(
        error_of("[orders]\nstages = [\"mnli\"]\nlengths = [0, 2]\n"),
        Contains("x.toml:3: orders.lengths: expected lengths <= number of stages (1), got 2"));
  }
  SECTION("unknown target") {
    CHECK_THAT(error_of("[targets]\ntasks = [\"xnli\", \"xlni\"]\n"),
               Contains("x.toml:2: targets.tasks: unknown task 'xlni'"));
  }
  SECTION("heads must divide hidden") {
    CHECK_THAT(error_of("[model.tiny]\nhidden = 64\nheads = 5\n"),
               Contains("x.toml:3: model.tiny.heads: expected a divisor of hidden (64), got 5"));
  }
  SECTION("micro-batches must divide the MLM batch") {
    CHECK_THAT(error_of("[model.tiny]\npretrain_batch_size = 24\npretrain_micro_batches = 5\n"),
               Equals("x.toml:3: model.tiny.pretrain_micro_batches: expected a divisor of "
                      "pretrain_batch_size (24), got 5"));
  }
  SECTION("a new task without a type") {
    CHECK_THAT(error_of("[tasks.mine]\nformat = \"jsonl\"\n"),
               Contains("x.toml:1: tasks.mine.type: required for a new task"));
  }
  SECTION("a task with an unknown format") {
    CHECK_THAT(error_of("[tasks.mine]\ntype = \"classification\"\nformat = \"csv\"\n"),
               Contains("x.toml:3: tasks.mine.format: expected one of") && Contains("got \"csv\""));
  }
  SECTION("per-task override of an unknown task") {
    CHECK_THAT(error_of("[train.mnlii]\nepochs = 2\n"),
               Contains("train.mnlii: expected a task or mixture name, got unknown 'mnlii'"));
  }
  SECTION("unknown key inside a per-task override") {
    CHECK_THAT(error_of("[train.mnli]\nepoks = 2\n"),
               Equals("x.toml:2: train.mnli.epoks: unknown key (see configs/reference.toml)"));
  }
  SECTION("TOML syntax error") {
    CHECK_THAT(error_of("[train]\nlr = = 1\n"),
               Contains("x.toml:2:") && Contains("TOML syntax error"));
  }
  SECTION("mixture with one member") {
    CHECK_THAT(error_of("[mixtures.m]\ntasks = [\"mnli\"]\n"),
               Contains("x.toml:2: mixtures.m.tasks: expected at least 2 member tasks, got 1"));
  }
  SECTION("explicit orders without mode = explicit") {
    CHECK_THAT(error_of("[orders]\nexplicit = [[\"mnli\"]]\n"),
               Contains("orders.explicit: only used with mode = \"explicit\""));
  }
  SECTION("a missing config file") {
    CHECK_THROWS_WITH(load_config("/nonexistent/x.toml"),
                      Contains("/nonexistent/x.toml: cannot read the config file"));
  }
  SECTION("config errors exit with status 2") {
    try {
      parse_config("[train]\nlr = 0\n", "x.toml");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.exit_code() == 2);
    }
  }
}

TEST_CASE("sweep.share_gpus is for group_size 1 only", "[config]") {
  CHECK(error_of("[sweep]\nshare_gpus = true\n").empty());
  CHECK(error_of("[sweep]\nshare_gpus = true\ngroup_size = 2\n") ==
        "x.toml: sweep.share_gpus: expected group_size = 1 (NCCL refuses two ranks of one group "
        "on one GPU), found group_size = 2");
}

TEST_CASE("configs nobody could mean are refused with one line (issue 16, item 9)", "[config]") {
  CHECK_THAT(error_of("[sweep]\nname = \"a\\u0000b\"\n"),
             Equals("x.toml:2: sweep.name: expected 1 to 200 bytes without control characters, "
                    "got 3 bytes with a control character"));
  CHECK_THAT(error_of("[sweep]\nname = \"" + std::string(100000, 'n') + "\"\n"),
             Equals("x.toml:2: sweep.name: expected 1 to 200 bytes without control characters, "
                    "got 100000 bytes"));
  CHECK(error_of("[sweep]\nname = \"pairs, seed 1 (ü)\"\n").empty());

  const auto dir = std::filesystem::temp_directory_path() / "ordertune-config-test";
  std::filesystem::create_directories(dir / "a-directory.toml");
  std::ofstream(dir / "empty.toml") << "\n  \n";
  auto load_error = [](const std::filesystem::path& p) {
    try {
      load_config(p);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(load_error(dir / "a-directory.toml") ==
        (dir / "a-directory.toml").string() + ": expected a config file (TOML), found a directory");
  CHECK(load_error(dir / "empty.toml") ==
        (dir / "empty.toml").string() +
            ": the config file is empty: expected at least one setting (configs/reference.toml "
            "lists every field with its default)");
  std::filesystem::remove_all(dir);
}

TEST_CASE("the tiny model's positions must hold the longest input (issue 16, item 11)",
          "[config]") {
  // squad_v1 as an intermediate task: its windows are data.qa_max_length.
  const std::string squad = "[orders]\nstages = [\"squad_v1\"]\n";
  CHECK_THAT(error_of(squad + "[model.tiny]\nmax_positions = 258\n"),
             Equals("x.toml: model.tiny.max_positions: expected at least 386 "
                    "(data.qa_max_length (squad_v1) = 384, plus 2: XLM-R's positions start after "
                    "the padding id), got 258"));
  CHECK(error_of(squad + "[model.tiny]\nmax_positions = 386\n").empty());
  CHECK(
      error_of(squad + "[model.tiny]\nmax_positions = 258\n[data]\nqa_max_length = 256\n").empty());
  CHECK_THAT(error_of("[model.tiny]\nmax_positions = 100\n"),
             Contains("expected at least 258 (data.max_length = 256, plus 2"));
}

TEST_CASE("what a user may mean but probably does not is a warning, not an error", "[config]") {
  const SweepConfig none = parse_config("[sweep]\nname = \"x\"\n", "x.toml");
  REQUIRE(none.warnings.size() == 1);
  CHECK_THAT(none.warnings[0],
             StartsWith("x.toml:1: targets.tasks: no targets: the sweep trains its orders but "
                        "scores nothing"));
  const SweepConfig twice = parse_config(
      "[orders]\nmode = \"explicit\"\nexplicit = [[\"mnli\"], [\"mnli\", \"squad_v1\", \"mnli\"]]\n"
      "[targets]\ntasks = [\"xnli\"]\n",
      "x.toml");
  CHECK(twice.warnings == std::vector<std::string>{
                              "x.toml:3: orders.explicit: order 2 names stage 'mnli' twice: it is "
                              "trained twice"});
  CHECK(parse_config("[targets]\ntasks = [\"xnli\"]\n", "x.toml").warnings.empty());
}

TEST_CASE("a checkpoint's positions and vocabulary are checked against the data before it loads",
          "[config]") {
  // model.tiny.max_positions is checked at config time; a checkpoint's max_position_embeddings
  // once surfaced as a LibTorch index error in the first forward.
  const std::filesystem::path checkpoint = testing::source_dir() / "tests/fixtures/xlmr-tiny";
  const std::string json = (checkpoint / "config.json").string();
  const XlmrConfig stored = read_hf_config(json);
  REQUIRE(stored.max_position_embeddings == 40);  // the fixture's: 38 tokens fit
  SweepConfig c = parse_config(
      "[model]\ncheckpoint = \"" + checkpoint.string() + "\"\n[data]\nmax_length = 39\n", "x.toml");
  CHECK_THROWS_WITH(root_model_config(c, stored.vocab_size),
                    json +
                        ": max_position_embeddings: expected at least 41 (data.max_length = 39 "
                        "in x.toml, plus 2: XLM-R's positions start after the padding id), "
                        "found 40");
  c.data.max_length = 38;
  CHECK(root_model_config(c, stored.vocab_size).max_position_embeddings == 40);
  CHECK_THROWS_WITH(root_model_config(c, stored.vocab_size + 1),
                    json + ": vocab_size: expected " + std::to_string(stored.vocab_size + 1) +
                        " (the ids of the data cache's tokenizer), found " +
                        std::to_string(stored.vocab_size) +
                        " (prepare with this checkpoint's tokenizer)");
}

// config — one TOML file describes a whole sweep; parsed once into validated plain structs.
//
// Every field has a default and a one-line comment here and in configs/reference.toml (the
// user-facing reference; tests check the two agree). Unknown keys, wrong types and out-of-range
// values are errors: "configs/x.toml:12: train.lr: expected a number > 0, got -1" (exit 2), so a
// typo never silently runs a different experiment.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "ordertune/config/task_registry.h"

namespace ordertune {

// ---- choices (base/choice.h: each spelt once, here) -------------------------------------------

// Numeric precision: of training (model.dtype: bf16 = autocast, weights stay fp32) and of the
// encoders stored in the results file (output.checkpoint_dtype).
enum class Precision { kFp32, kBf16 };
template <>
struct ChoiceTraits<Precision> {
  static constexpr Spelling<Precision> spellings[] = {{Precision::kFp32, "fp32"},
                                                      {Precision::kBf16, "bf16"}};
};

// How a mixture stage draws its member tasks (jiant's multi-task samplers).
enum class Sampling {
  kProportional,  // p ~ training items
  kTemperature,   // p ~ items^(1/T)
  kUniform,       // p = 1/tasks
};
template <>
struct ChoiceTraits<Sampling> {
  static constexpr Spelling<Sampling> spellings[] = {{Sampling::kProportional, "proportional"},
                                                     {Sampling::kTemperature, "temperature"},
                                                     {Sampling::kUniform, "uniform"}};
};

// Which orders a sweep trains.
enum class OrdersMode {
  kKPermutations,  // every ordered selection of k distinct stages, for each k in `lengths`
  kPermutations,   // every order of all stages
  kExplicit,       // exactly the listed orders
};
template <>
struct ChoiceTraits<OrdersMode> {
  static constexpr Spelling<OrdersMode> spellings[] = {
      {OrdersMode::kKPermutations, "k_permutations"},
      {OrdersMode::kPermutations, "permutations"},
      {OrdersMode::kExplicit, "explicit"}};
};

// The model a stage keeps after training.
enum class Selection {
  kBest,  // the evaluation with the best English dev metric
  kLast,  // the weights after the last step
};
template <>
struct ChoiceTraits<Selection> {
  static constexpr Spelling<Selection> spellings[] = {{Selection::kBest, "best"},
                                                      {Selection::kLast, "last"}};
};

// The encoders a sweep stores in the results file.
enum class CheckpointKeep {
  kAll,       // every node's
  kInterior,  // the root's and every stage node's with children (what resume and export need)
  kNone,      // none: encoders move between workers' memories only (scheduler.h rule 6)
};
template <>
struct ChoiceTraits<CheckpointKeep> {
  static constexpr Spelling<CheckpointKeep> spellings[] = {{CheckpointKeep::kAll, "all"},
                                                           {CheckpointKeep::kInterior, "interior"},
                                                           {CheckpointKeep::kNone, "none"}};
};

// ---- sections ------------------------------------------------------------------------------

struct SweepSection {
  std::string name = "sweep";  // label stored in the results file
  uint64_t seed = 42;          // sweep seed; node seeds derive from (seed, replicate, path)
  int replicates = 1;          // independent seeds per order (the study used 3)
  int group_size = 1;          // ranks training one node together (data parallel)
  bool share_gpus = false;     // let ranks of one node share a GPU (group_size 1 only; NCCL
                               // refuses two ranks of one communicator on one GPU)
  bool deterministic = false;  // deterministic GPU algorithms (torch_env.h set_deterministic)
  int threads = 0;             // compute threads per rank; 0 = cores of the node / ranks on it
  double tokens_per_second = 20000;  // training tokens per second of one group: the cost model's
                                     // throughput (plan.h); refined from measured nodes at run time
};

// The tiny model that ordertune pretrains itself (demo) when model.checkpoint is empty.
struct TinyModelConfig {
  int layers = 2;                     // transformer layers
  int hidden = 64;                    // hidden size
  int heads = 4;                      // attention heads (must divide hidden)
  int ffn = 256;                      // feed-forward size
  int vocab_size = 2000;              // sentencepiece pieces trained on the MLM corpus
  int max_positions = 386;            // position embeddings: the longest input (qa_max_length)
                                      // + 2, as XLM-R
  std::string pretrain_task = "mlm";  // MLM task whose corpus pretrains the model and tokenizer
  int64_t pretrain_steps = 300;       // MLM optimisation steps
  double pretrain_lr = 5e-4;          // MLM learning rate
  int pretrain_batch_size = 32;       // MLM batch size (sequences)
  // The MLM batch is accumulated over this many micro-batches (it must divide
  // pretrain_batch_size; 0 = gcd(pretrain_batch_size, 8)). The sweep pretrains on every rank at
  // once, each rank computing whole micro-batches, with results bitwise equal to one rank
  // (trainer.h, TrainHooks::spread): up to this many ranks share the work.
  int pretrain_micro_batches = 0;
  int micro_batches() const {
    return pretrain_micro_batches > 0 ? pretrain_micro_batches : std::gcd(pretrain_batch_size, 8);
  }
};

struct ModelConfig {
  std::string checkpoint;    // Hugging Face directory (config.json + model.safetensors); "" = tiny
  std::string tokenizer;     // sentencepiece model; "" = <checkpoint>/sentencepiece.bpe.model,
                             // or trained on the MLM corpus for the tiny model
  int retrieval_layer = -1;  // layer mean-pooled for retrieval; -1 = round(14/24 * layers)
  Precision dtype = Precision::kFp32;     // training precision: fp32 | bf16 (CUDA only)
  bool activation_checkpointing = false;  // recompute layer activations in backward (saves memory)
  TinyModelConfig tiny;                   // [model.tiny], used when checkpoint = ""
};

struct DataConfig {
  std::string root = "data";                 // base folder of relative task paths
  std::string cache = "cache/ordertune.h5";  // tokenized data cache written by prepare
  int max_length = 256;                      // tokens per sequence (non-QA), specials included
  int qa_max_length = 384;                   // tokens per QA window
  int qa_stride = 128;                       // context tokens between QA window starts (doc_stride)
  int qa_max_query_length = 64;              // question tokens kept
  int64_t max_examples = 0;                  // cap per (task, split, language); 0 = all
  std::vector<std::string> languages;        // evaluate only these languages; [] = all
  bool demo = false;                         // generate the synthetic demo suite under root
  uint64_t demo_seed = 1;                    // seed of the demo generator
  double demo_scale = 1.0;                   // multiplies the demo's example counts
};

// A stage that trains several tasks at once (one head each), as jiant's multi-task samplers.
struct MixtureConfig {
  std::string name;                             // stage name used in orders
  std::vector<std::string> tasks;               // member tasks
  Sampling sampling = Sampling::kProportional;  // proportional | temperature | uniform
  double temperature = 2.0;                     // with sampling = "temperature": p ~ size^(1/T)
};

struct OrdersConfig {
  OrdersMode mode = OrdersMode::kKPermutations;  // k_permutations | permutations | explicit
  std::vector<std::string> stages;               // intermediate tasks or mixture names
  std::vector<int> lengths = {0, 1};             // k values; 0 = the baseline (no stage)
  std::vector<std::vector<std::string>> explicit_orders;  // with mode = "explicit"
};

struct TrainConfig {
  double lr = 1e-5;              // peak learning rate (AdamW)
  int batch_size = 4;            // examples per optimizer step per group (before accumulation)
  int grad_accum = 1;            // micro-batches accumulated per optimizer step
  double epochs = 3;             // passes over the training split
  int64_t max_steps = 0;         // cap on optimizer steps; 0 = from epochs
  double warmup_fraction = 0.1;  // linear warmup over this fraction of steps, then linear decay
  double weight_decay = 0.01;    // AdamW decay (never on biases and LayerNorm)
  double max_grad_norm = 1.0;    // gradient clipping
  int64_t eval_every = 0;        // evaluate on English dev every N steps; 0 = end of each epoch
  Selection select = Selection::kLast;  // model kept: best (by dev metric) | last
  int64_t max_train_examples = 0;       // cap on training examples; 0 = all
  int64_t max_eval_examples = 0;        // cap on dev examples per evaluation; 0 = all
};

// [targets.<task>]: how one target is scored (README "Getting the data").
struct TargetOptions {
  // Folder of the task's public release with test answers (TaskSpec::gold): its test split is
  // read from there instead of the download's unlabelled one. Relative to the working directory,
  // as data.root; "" = the download's test split.
  std::string gold;
  bool score = true;  // score = "none" (false): predictions only, no language is scored
  // Languages with no labelled split that are predicted (their test split exported) and not
  // scored, e.g. UD-POS kk, th, tl, yo; any other language without labels stops plan and sweep.
  std::vector<std::string> unscored;
  // Stages (tasks or mixtures) trained, in this order, on the order's encoder before the target's
  // own fine-tuning: XTREME-R trains XCOPA on SIQA, then COPA (before = ["socialiqa"]). In the
  // plan they are stage nodes below the order node, shared with an order that ends the same way;
  // the leaf keeps its order (the results table's order column).
  std::vector<std::string> before;
};

struct OutputConfig {
  std::string results = "results/ordertune.h5";            // the results file
  CheckpointKeep checkpoints = CheckpointKeep::kInterior;  // encoders kept: all | interior | none
  Precision checkpoint_dtype = Precision::kFp32;           // fp32 | bf16
  int64_t resume_every = 200;  // steps between resume snapshots; 0 = only at signals
};

struct SweepConfig {
  std::filesystem::path path;  // the file it was read from (for messages)
  std::string text;            // the file's text (stored in the results file)
  std::string hash;            // hash of the text
  // Settings a user may mean but probably does not ("FILE:LINE: field: ..."): load_config logs
  // them (rank 0 alone under MPI); what nobody could mean is a ConfigError instead.
  std::vector<std::string> warnings;
  SweepSection sweep;
  ModelConfig model;
  DataConfig data;
  std::map<std::string, MixtureConfig> mixtures;
  OrdersConfig orders;
  std::vector<std::string> targets;                     // [targets] tasks
  std::map<std::string, TargetOptions> target_options;  // [targets.<task>]
  TrainConfig train;                                    // [train] defaults
  std::map<std::string, TrainConfig> train_overrides;   // [train.<task>]
  OutputConfig output;
  TaskRegistry registry;  // built-ins plus [tasks.*] definitions and overrides

  // Training settings of a task: [train] with [train.<task>] applied.
  const TrainConfig& train_for(const std::string& task) const;
  // How a target is scored: its [targets.<task>] table, or the defaults.
  const TargetOptions& target_options_for(const std::string& task) const;
  // Every task whose data the sweep needs: stage members, targets, their train_task, the
  // pretraining corpus. Sorted, unique.
  std::vector<std::string> tasks_used() const;
  // The most tokens one input may have: data.max_length, or data.qa_max_length when a QA task is
  // used and it is longer; `setting` (if given) names which. XLM-R's positions start after the
  // padding id (1), so the model needs max_position_embeddings >= this + 2.
  int64_t longest_input(std::string* setting = nullptr) const;
  // Intermediate stage members (tasks trained in orders).
  std::vector<std::string> intermediate_tasks() const;
  // Relative paths in the config are relative to the working directory of the command (the
  // submit directory under Slurm), as for every other command-line tool.
  std::filesystem::path data_root() const { return data.root; }
  std::filesystem::path cache_path() const { return data.cache; }
};

// Parses and validates a config file; throws ConfigError ("FILE:LINE: field: expected …, got …").
SweepConfig load_config(const std::filesystem::path& path);
// The same from text (tests); `name` is used in messages.
SweepConfig parse_config(const std::string& text, const std::string& name);

}  // namespace ordertune

#include "ordertune/config/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "ordertune/base/error.h"
#include "ordertune/base/hash.h"
#include "ordertune/base/log.h"

namespace ordertune {
namespace {

// How a TOML value looks in "got ..." (strings quoted, tables and arrays named).
std::string describe(const toml::node& node) {
  if (auto s = node.as_string()) return "\"" + s->get() + "\"";
  if (auto i = node.as_integer()) return std::to_string(i->get());
  if (auto f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_table()) return "a table";
  if (auto a = node.as_array()) return fmt::format("an array of {}", a->size());
  return "a date/time";
}

// Reads one TOML table, field by field, remembering which keys were used so that any key left
// over is reported as unknown. Messages: "FILE:LINE: prefix.key: expected WHAT, got VALUE".
class TableReader {
 public:
  TableReader(const toml::table& table, std::string prefix, std::string file)
      : table_(table), prefix_(std::move(prefix)), file_(std::move(file)) {}

  std::string field(const std::string& key) const {
    return prefix_.empty() ? key : prefix_ + "." + key;
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& key,
                         const std::string& expected) const {
    throw ConfigError(fmt::format("{}:{}: {}: expected {}, got {}", file_, node.source().begin.line,
                                  field(key), expected, describe(node)));
  }
  [[noreturn]] void fail_at(int64_t line, const std::string& key,
                            const std::string& message) const {
    throw ConfigError(fmt::format("{}:{}: {}: {}", file_, line, field(key), message));
  }
  int64_t line_of(const std::string& key) const {
    const toml::node* n = table_.get(key);
    return n ? n->source().begin.line : table_.source().begin.line;
  }

  const toml::node* take(const std::string& key) {
    used_.insert(key);
    return table_.get(key);
  }

  // NaN passes no comparison, so it is refused first, with infinities: no setting means them.
  void number(const std::string& key, double* out, double min, bool exclusive_min,
              double max = std::numeric_limits<double>::max()) {
    const toml::node* n = take(key);
    if (!n) return;
    double v;
    if (auto f = n->as_floating_point())
      v = f->get();
    else if (auto i = n->as_integer())
      v = static_cast<double>(i->get());
    else
      fail(*n, key, range_text("a number", min, exclusive_min, max));
    if (!std::isfinite(v)) fail(*n, key, range_text("a finite number", min, exclusive_min, max));
    if (v < min || (exclusive_min && v == min) || v > max)
      fail(*n, key, range_text("a number", min, exclusive_min, max));
    *out = v;
  }

  template <typename Int>
  void integer(const std::string& key, Int* out, int64_t min, int64_t max = INT64_MAX) {
    const toml::node* n = take(key);
    if (!n) return;
    auto i = n->as_integer();
    if (!i || i->get() < min || i->get() > max)
      fail(*n, key,
           range_text("an integer", static_cast<double>(min), false, static_cast<double>(max)));
    *out = static_cast<Int>(i->get());
  }

  void boolean(const std::string& key, bool* out) {
    const toml::node* n = take(key);
    if (!n) return;
    auto b = n->as_boolean();
    if (!b) fail(*n, key, "true or false");
    *out = b->get();
  }

  // A choice (base/choice.h): one of E's spellings.
  template <typename E>
  void choice(const std::string& key, E* out) {
    const toml::node* n = take(key);
    if (!n) return;
    auto s = n->as_string();
    if (!s || !parse_choice(s->get(), out)) fail(*n, key, "one of " + choice_list<E>());
  }

  void string(const std::string& key, std::string* out,
              const std::vector<std::string>& allowed = {}) {
    const toml::node* n = take(key);
    if (!n) return;
    auto s = n->as_string();
    const std::string expected =
        allowed.empty() ? "a string" : fmt::format("one of \"{}\"", fmt::join(allowed, "\", \""));
    if (!s) fail(*n, key, expected);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s->get()) == allowed.end())
      fail(*n, key, expected);
    *out = s->get();
  }

  void string_list(const std::string& key, std::vector<std::string>* out) {
    const toml::node* n = take(key);
    if (!n) return;
    auto a = n->as_array();
    if (!a) fail(*n, key, "an array of strings");
    out->clear();
    for (const toml::node& e : *a) {
      auto s = e.as_string();
      if (!s) fail(e, key, "an array of strings");
      out->push_back(s->get());
    }
  }

  void int_list(const std::string& key, std::vector<int>* out, int min, int max) {
    const toml::node* n = take(key);
    if (!n) return;
    auto a = n->as_array();
    const std::string expected = fmt::format("an array of integers in [{}, {}]", min, max);
    if (!a) fail(*n, key, expected);
    out->clear();
    for (const toml::node& e : *a) {
      auto i = e.as_integer();
      if (!i || i->get() < min || i->get() > max) fail(e, key, expected);
      out->push_back(static_cast<int>(i->get()));
    }
  }

  const toml::table* table(const std::string& key) {
    const toml::node* n = take(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(*n, key, "a table");
    return n->as_table();
  }

  // Keys not read by anyone are typos: one error naming the first such key.
  void finish() const {
    for (const auto& [k, v] : table_) {
      const std::string key(k.str());
      if (!used_.count(key))
        throw ConfigError(fmt::format(
            "{}:{}: {}: unknown key (see configs/reference.toml)", file_,
            k.source().begin.line ? k.source().begin.line : v.source().begin.line, field(key)));
    }
  }

  const toml::table& raw() const { return table_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& file() const { return file_; }

 private:
  static std::string range_text(const std::string& what, double min, bool exclusive_min,
                                double max) {
    std::string out = what;
    if (min > -1e300) out += fmt::format(" {} {}", exclusive_min ? ">" : ">=", min);
    if (max < 1e300 && max < static_cast<double>(INT64_MAX)) out += fmt::format(" and <= {}", max);
    return out;
  }

  const toml::table& table_;
  std::string prefix_;
  std::string file_;
  std::set<std::string> used_;
};

void read_train(TableReader& r, TrainConfig* t) {
  // AdamW's step is about lr per weight: beyond 1 no fine-tuning run means it (1e307 once passed
  // as "a number > 0" and trained on NaN).
  r.number("lr", &t->lr, 0, /*exclusive_min=*/true, 1);
  r.integer("batch_size", &t->batch_size, 1);
  r.integer("grad_accum", &t->grad_accum, 1);
  r.number("epochs", &t->epochs, 0, /*exclusive_min=*/true);
  r.integer("max_steps", &t->max_steps, 0);
  r.number("warmup_fraction", &t->warmup_fraction, 0, false, 1);
  r.number("weight_decay", &t->weight_decay, 0, false);
  r.number("max_grad_norm", &t->max_grad_norm, 0, /*exclusive_min=*/true);
  r.integer("eval_every", &t->eval_every, 0);
  r.choice("select", &t->select);
  r.integer("max_train_examples", &t->max_train_examples, 0);
  r.integer("max_eval_examples", &t->max_eval_examples, 0);
}

const std::vector<std::string> kSplits = {kSplitTrain, kSplitDev, kSplitTest};

// [tasks.NAME]: a new task (type, format and paths required) or changes to a built-in one.
void read_task(TableReader& r, const std::string& name, TaskRegistry* registry) {
  const bool existing = registry->contains(name);
  TaskSpec spec;
  if (existing) spec = registry->get(name);
  spec.name = name;
  spec.builtin = existing && spec.builtin;
  if (!existing && !r.raw().contains("type"))
    r.fail_at(r.raw().source().begin.line, "type",
              "required for a new task (one of " + choice_list<TaskType>() + ")");
  r.choice("type", &spec.type);
  const std::vector<std::string> formats = registry->formats();
  r.string("format", &spec.format, formats);
  if (spec.format.empty())
    r.fail_at(r.raw().source().begin.line, "format",
              fmt::format("required for a new task (one of {})", fmt::join(formats, ", ")));
  if (!existing && !r.raw().contains("metric")) {  // a new task's default: by its type
    switch (spec.type) {
      case TaskType::kTagging:
        spec.metric = Metric::kSeqevalF1;
        break;
      case TaskType::kExtractiveQA:
        spec.metric = Metric::kSquad;
        break;
      case TaskType::kMLM:
        spec.metric = Metric::kMlm;
        break;
      default:
        spec.metric = Metric::kAccuracy;
    }
  }
  r.choice("metric", &spec.metric);
  r.string("train_task", &spec.train_task);
  r.string("description", &spec.description);
  r.string_list("labels", &spec.labels);
  r.integer("num_choices", &spec.num_choices, 0, 64);
  if (const toml::table* paths = r.table("paths")) {
    TableReader pr(*paths, r.field("paths"), r.file());
    for (const std::string& split : kSplits) {
      std::string p;
      pr.string(split, &p);
      if (!p.empty()) spec.paths[split] = p;
    }
    pr.finish();
  }
  if (spec.paths.empty())
    r.fail_at(r.raw().source().begin.line, "paths",
              "required for a new task: a table of split = \"path\" (train, dev, test; "
              "\"{lang}\" stands for the language)");
  // languages: an array (every split) or a table split -> array.
  if (const toml::node* n = r.raw().get("languages")) {
    if (n->is_array()) {
      std::vector<std::string> langs;
      r.string_list("languages", &langs);
      spec.languages.clear();
      for (const auto& [split, path] : spec.paths) spec.languages[split] = langs;
    } else {
      const toml::table* lt = r.table("languages");
      TableReader lr(*lt, r.field("languages"), r.file());
      for (const std::string& split : kSplits) {
        if (!lt->get(split)) continue;
        lr.string_list(split, &spec.languages[split]);
      }
      lr.finish();
    }
  }
  for (const auto& [split, path] : spec.paths)
    if (spec.languages[split].empty()) spec.languages[split] = {"en"};
  if (const toml::table* opts = r.table("options")) {
    for (const auto& [k, v] : *opts) {
      if (auto s = v.as_string())
        spec.options[std::string(k.str())] = s->get();
      else if (auto i = v.as_integer())
        spec.options[std::string(k.str())] = std::to_string(i->get());
      else if (auto b = v.as_boolean())
        spec.options[std::string(k.str())] = b->get() ? "true" : "false";
      else
        throw ConfigError(
            fmt::format("{}:{}: {}.options.{}: expected a string, integer or "
                        "boolean, got {}",
                        r.file(), v.source().begin.line, r.prefix(), k.str(), describe(v)));
    }
  }
  r.finish();
  registry->add(std::move(spec));
}

// [tasks.*]: new tasks and changes to built-in ones, into the registry.
void read_tasks_section(const toml::table& tasks, const std::string& name, SweepConfig& c) {
  for (const auto& [k, v] : tasks) {
    const std::string task(k.str());
    if (!v.is_table())
      throw ConfigError(fmt::format("{}:{}: tasks.{}: expected a table, got {}", name,
                                    v.source().begin.line, task, describe(v)));
    TableReader tr(*v.as_table(), "tasks." + task, name);
    read_task(tr, task, &c.registry);
  }
}

// [sweep]: the sweep's name, seeds, replicates, groups and threads.
void read_sweep_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "sweep", name);
  r.string("name", &c.sweep.name);
  // The name goes into logs, file attributes and the analysis' figures: one printable line.
  const bool printable = std::none_of(c.sweep.name.begin(), c.sweep.name.end(), [](char ch) {
    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
  });
  if (c.sweep.name.empty() || c.sweep.name.size() > 200 || !printable)
    r.fail_at(r.line_of("name"), "name",
              fmt::format("expected 1 to 200 bytes without control characters, got {} bytes{}",
                          c.sweep.name.size(), printable ? "" : " with a control character"));
  r.integer("seed", &c.sweep.seed, 0);
  r.integer("replicates", &c.sweep.replicates, 1, 1000);
  r.integer("group_size", &c.sweep.group_size, 1, 4096);
  r.boolean("share_gpus", &c.sweep.share_gpus);
  if (c.sweep.share_gpus && c.sweep.group_size > 1)
    throw ConfigError(fmt::format(
        "{}: sweep.share_gpus: expected group_size = 1 (NCCL refuses two ranks of one group on "
        "one GPU), found group_size = {}",
        name, c.sweep.group_size));
  r.boolean("deterministic", &c.sweep.deterministic);
  r.integer("threads", &c.sweep.threads, 0, 1024);
  r.number("tokens_per_second", &c.sweep.tokens_per_second, 0, /*exclusive_min=*/true);
  r.finish();
}

// [model] and [model.tiny]: the checkpoint or the tiny model, precision.
void read_model_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "model", name);
  r.string("checkpoint", &c.model.checkpoint);
  r.string("tokenizer", &c.model.tokenizer);
  r.integer("retrieval_layer", &c.model.retrieval_layer, -1, 1000);
  r.choice("dtype", &c.model.dtype);
  r.boolean("activation_checkpointing", &c.model.activation_checkpointing);
  if (const toml::table* tt = r.table("tiny")) {
    TableReader tr(*tt, "model.tiny", name);
    auto& m = c.model.tiny;
    tr.integer("layers", &m.layers, 1, 64);
    tr.integer("hidden", &m.hidden, 8, 8192);
    tr.integer("heads", &m.heads, 1, 128);
    tr.integer("ffn", &m.ffn, 8, 65536);
    tr.integer("vocab_size", &m.vocab_size, 100, 1000000);
    tr.integer("max_positions", &m.max_positions, 8, 65536);
    tr.string("pretrain_task", &m.pretrain_task);
    tr.integer("pretrain_steps", &m.pretrain_steps, 0);
    tr.number("pretrain_lr", &m.pretrain_lr, 0, true);
    tr.integer("pretrain_batch_size", &m.pretrain_batch_size, 1);
    tr.integer("pretrain_micro_batches", &m.pretrain_micro_batches, 0, 4096);
    if (m.pretrain_batch_size % m.micro_batches() != 0)
      tr.fail_at(tr.line_of("pretrain_micro_batches"), "pretrain_micro_batches",
                 fmt::format("expected a divisor of pretrain_batch_size ({}), got {}",
                             m.pretrain_batch_size, m.pretrain_micro_batches));
    if (m.hidden % m.heads != 0)
      tr.fail_at(tr.line_of("heads"), "heads",
                 fmt::format("expected a divisor of hidden ({}), got {}", m.hidden, m.heads));
    tr.finish();
  }
  r.finish();
}

// [data]: paths, sequence lengths, QA windows, languages, the demo suite.
void read_data_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "data", name);
  auto& d = c.data;
  r.string("root", &d.root);
  r.string("cache", &d.cache);
  r.integer("max_length", &d.max_length, 8, 65536);
  r.integer("qa_max_length", &d.qa_max_length, 16, 65536);
  r.integer("qa_stride", &d.qa_stride, 1, 65536);
  r.integer("qa_max_query_length", &d.qa_max_query_length, 1, 65536);
  r.integer("max_examples", &d.max_examples, 0);
  r.string_list("languages", &d.languages);
  r.boolean("demo", &d.demo);
  r.integer("demo_seed", &d.demo_seed, 0);
  r.number("demo_scale", &d.demo_scale, 0, /*exclusive_min=*/true, 100);
  if (d.qa_max_query_length + 4 >= d.qa_max_length)
    r.fail_at(r.line_of("qa_max_query_length"), "qa_max_query_length",
              fmt::format("expected less than qa_max_length - 4 ({}), got {}", d.qa_max_length - 4,
                          d.qa_max_query_length));
  if (d.qa_stride >= d.qa_max_length - d.qa_max_query_length - 4)
    r.fail_at(r.line_of("qa_stride"), "qa_stride",
              fmt::format("expected less than the context part of a window ({}), got {}",
                          d.qa_max_length - d.qa_max_query_length - 4, d.qa_stride));
  r.finish();
}

// [mixtures.*]: multi-task stages (after [tasks.*]: members may be defined there).
void read_mixtures_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  for (const auto& [k, v] : t) {
    const std::string mix(k.str());
    if (!v.is_table())
      throw ConfigError(fmt::format("{}:{}: mixtures.{}: expected a table, got {}", name,
                                    v.source().begin.line, mix, describe(v)));
    TableReader r(*v.as_table(), "mixtures." + mix, name);
    MixtureConfig m;
    m.name = mix;
    r.string_list("tasks", &m.tasks);
    r.choice("sampling", &m.sampling);
    r.number("temperature", &m.temperature, 0, true);
    if (m.tasks.size() < 2)
      r.fail_at(r.line_of("tasks"), "tasks",
                fmt::format("expected at least 2 member tasks, got {}", m.tasks.size()));
    for (const auto& task : m.tasks)
      if (!c.registry.contains(task))
        r.fail_at(r.line_of("tasks"), "tasks", fmt::format("unknown task '{}'", task));
    if (c.registry.contains(mix))
      r.fail_at(r.raw().source().begin.line, "",
                fmt::format("expected a mixture name that is not a task name, got '{}'", mix));
    r.finish();
    c.mixtures[mix] = m;
  }
}

// [orders]: which orders of which stages (after [mixtures.*]: stages may be mixtures).
void read_orders_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "orders", name);
  auto& o = c.orders;
  r.choice("mode", &o.mode);
  r.string_list("stages", &o.stages);
  r.int_list("lengths", &o.lengths, 0, 64);
  if (const toml::node* n = r.take("explicit")) {
    auto a = n->as_array();
    if (!a) r.fail(*n, "explicit", "an array of orders, each an array of stage names");
    for (const toml::node& e : *a) {
      auto inner = e.as_array();
      if (!inner) r.fail(e, "explicit", "an array of orders, each an array of stage names");
      std::vector<std::string> order;
      for (const toml::node& s : *inner) {
        auto str = s.as_string();
        if (!str) r.fail(s, "explicit", "stage names (strings)");
        order.push_back(str->get());
      }
      o.explicit_orders.push_back(order);
    }
  }
  auto check_stage = [&](const std::string& key, const std::string& stage) {
    if (c.mixtures.count(stage)) return;
    if (!c.registry.contains(stage))
      r.fail_at(
          r.line_of(key), key,
          fmt::format("expected intermediate tasks or mixtures, got unknown stage '{}'", stage));
    const TaskSpec& spec = c.registry.get(stage);
    if (spec.type == TaskType::kRetrieval)
      r.fail_at(r.line_of(key), key,
                fmt::format("expected trainable stages, got retrieval task '{}'", stage));
  };
  std::set<std::string> seen;
  for (const auto& s : o.stages) {
    check_stage("stages", s);
    if (!seen.insert(s).second)
      r.fail_at(r.line_of("stages"), "stages", fmt::format("stage '{}' is listed twice", s));
  }
  for (const auto& order : o.explicit_orders)
    for (const auto& s : order) check_stage("explicit", s);
  if (o.mode == OrdersMode::kExplicit && o.explicit_orders.empty())
    r.fail_at(r.line_of("mode"), "explicit",
              "expected at least one order with mode = \"explicit\"");
  if (o.mode != OrdersMode::kExplicit && !o.explicit_orders.empty())
    r.fail_at(
        r.line_of("explicit"), "explicit",
        fmt::format("only used with mode = \"explicit\", but mode is \"{}\"", choice_name(o.mode)));
  if (o.mode == OrdersMode::kKPermutations && !o.stages.empty())
    for (int k : o.lengths)
      if (k > static_cast<int>(o.stages.size()))
        r.fail_at(
            r.line_of("lengths"), "lengths",
            fmt::format("expected lengths <= number of stages ({}), got {}", o.stages.size(), k));
  r.finish();
}

// [targets.<task>]: the gold release, or what is knowingly not scored.
void read_target_options(TableReader& r, const std::string& task, SweepConfig& c) {
  TargetOptions o;
  r.string("gold", &o.gold);
  std::string score = "auto";
  r.string("score", &score, {"auto", "none"});
  o.score = score == "auto";
  r.string_list("unscored", &o.unscored);
  r.string_list("before", &o.before);
  for (const std::string& stage : o.before) {
    const bool known = c.registry.contains(stage) || c.mixtures.count(stage);
    if (!known || (c.registry.contains(stage) && (c.registry.get(stage).type == TaskType::kMLM ||
                                                  !c.registry.get(stage).paths.count(kSplitTrain))))
      r.fail_at(r.line_of("before"), "before",
                fmt::format("expected intermediate tasks or mixtures with a training split, got "
                            "'{}'",
                            stage));
  }
  TaskSpec spec = c.registry.get(task);
  std::set<std::string> languages;
  for (const auto& [split, langs] : spec.languages) languages.insert(langs.begin(), langs.end());
  // A language the task does not have (a [tasks.<task>] languages list may leave it out) is
  // not evaluated at all: said, not refused.
  for (const std::string& lang : o.unscored)
    if (!languages.count(lang))
      c.warnings.push_back(fmt::format(
          "{}:{}: {}: '{}' is not a language of {} ({}): nothing to leave unscored", r.file(),
          r.line_of("unscored"), r.field("unscored"), lang, task, fmt::join(languages, ", ")));
  if (!o.gold.empty()) {
    std::vector<std::string> with_gold;
    for (const std::string& other : c.registry.names())
      if (!c.registry.get(other).gold.test_path.empty()) with_gold.push_back(other);
    if (spec.gold.test_path.empty())
      r.fail_at(r.line_of("gold"), "gold",
                fmt::format("expected a target with a known answered release ({}), got '{}' "
                            "(point [tasks.{}] paths.test at labelled files instead)",
                            fmt::join(with_gold, ", "), task, task));
    // The test split is read from the gold release (relative to the working directory).
    const std::filesystem::path folder = std::filesystem::absolute(o.gold).lexically_normal();
    spec.paths[kSplitTest] = (folder / spec.gold.test_path).string();
    spec.file_names = spec.gold.file_names;
    for (const auto& [key, value] : spec.gold.options) spec.options[key] = value;
    c.registry.add(std::move(spec));
  }
  r.finish();
  c.target_options[task] = std::move(o);
}

// [targets]: the XTREME-R tasks every order is evaluated on.
void read_targets_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "targets", name);
  r.string_list("tasks", &c.targets);
  for (const auto& task : c.targets) {
    if (!c.registry.contains(task))
      r.fail_at(r.line_of("tasks"), "tasks", fmt::format("unknown task '{}'", task));
    const TaskSpec& spec = c.registry.get(task);
    if (spec.type == TaskType::kMLM)
      r.fail_at(r.line_of("tasks"), "tasks",
                fmt::format("expected evaluable targets, got MLM task '{}'", task));
    if (!spec.train_task.empty() && !c.registry.contains(spec.train_task))
      r.fail_at(r.line_of("tasks"), "tasks",
                fmt::format("target '{}' trains on unknown task '{}'", task, spec.train_task));
  }
  // The remaining table-valued keys are [targets.<task>] tables of targets listed in tasks.
  for (const auto& [k, v] : t) {
    const std::string task(k.str());
    if (!v.is_table()) continue;
    r.take(task);
    if (std::find(c.targets.begin(), c.targets.end(), task) == c.targets.end())
      throw ConfigError(
          fmt::format("{}:{}: targets.{}: expected a target listed in "
                      "targets.tasks, got '{}' (targets: {})",
                      name, v.source().begin.line, task, task,
                      c.targets.empty() ? "none" : fmt::format("{}", fmt::join(c.targets, ", "))));
    TableReader tr(*v.as_table(), "targets." + task, name);
    read_target_options(tr, task, c);
  }
  r.finish();
}

// [train] and [train.<task>]: training settings and per-task overrides.
void read_train_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "train", name);
  read_train(r, &c.train);
  // Remaining table-valued keys are per-task overrides: [train.<task>].
  for (const auto& [k, v] : t) {
    const std::string task(k.str());
    if (!v.is_table()) continue;
    r.take(task);
    if (!c.registry.contains(task) && !c.mixtures.count(task))
      throw ConfigError(
          fmt::format("{}:{}: train.{}: expected a task or mixture name, got "
                      "unknown '{}'",
                      name, v.source().begin.line, task, task));
    TrainConfig override_cfg = c.train;
    TableReader tr(*v.as_table(), "train." + task, name);
    read_train(tr, &override_cfg);
    tr.finish();
    c.train_overrides[task] = override_cfg;
  }
  r.finish();
}

// [output]: the results file and the encoders it keeps.
void read_output_section(const toml::table& t, const std::string& name, SweepConfig& c) {
  TableReader r(t, "output", name);
  r.string("results", &c.output.results);
  r.choice("checkpoints", &c.output.checkpoints);
  r.choice("checkpoint_dtype", &c.output.checkpoint_dtype);
  r.integer("resume_every", &c.output.resume_every, 0);
  r.finish();
}

// The line of [section] key in the file (its section's line when the key is absent, 1 without
// either).
int64_t line_of(const toml::table& root, const std::string& section, const std::string& key) {
  const toml::table* t = root[section].as_table();
  if (!t) return 1;
  const toml::node* n = t->get(key);
  return n ? n->source().begin.line : t->source().begin.line;
}

// Checks that need more than one section: the languages against the targets' languages, and what
// a user may mean but probably does not (warnings).
void check_across_sections(const toml::table& root, const std::string& name, SweepConfig& c) {
  const auto warn = [&](const std::string& section, const std::string& key,
                        const std::string& message) {
    c.warnings.push_back(
        fmt::format("{}:{}: {}.{}: {}", name, line_of(root, section, key), section, key, message));
  };
  if (c.targets.empty())
    warn("targets", "tasks",
         "no targets: the sweep trains its orders but scores nothing (XTREME-R targets are, e.g., "
         "[\"xnli\", \"udpos\"])");
  for (size_t i = 0; i < c.orders.explicit_orders.size(); ++i) {
    std::set<std::string> seen;
    for (const std::string& stage : c.orders.explicit_orders[i])
      if (!seen.insert(stage).second)
        warn("orders", "explicit",
             fmt::format("order {} names stage '{}' twice: it is trained twice", i + 1, stage));
  }
  // data.languages keeps only the listed languages of each target; a code no target has keeps
  // nothing of any target but English (["zz"] once dropped every other evaluation silently).
  if (!c.data.languages.empty() && !c.targets.empty()) {
    std::set<std::string> offered;
    for (const std::string& target : c.targets)
      for (const auto& [split, langs] : c.registry.get(target).languages)
        offered.insert(langs.begin(), langs.end());
    for (const std::string& lang : c.data.languages)
      if (!offered.count(lang)) {
        std::vector<std::string> shown(offered.begin(), offered.end());
        const size_t all = shown.size();
        if (shown.size() > 12) shown.resize(12);
        throw ConfigError(
            fmt::format("{}:{}: data.languages: expected languages of the targets ({}{}), got '{}'",
                        name, line_of(root, "data", "languages"), fmt::join(shown, ", "),
                        all > shown.size() ? fmt::format(", ... {} in all", all) : "", lang));
      }
  }
}

}  // namespace

const TrainConfig& SweepConfig::train_for(const std::string& task) const {
  auto it = train_overrides.find(task);
  return it == train_overrides.end() ? train : it->second;
}

const TargetOptions& SweepConfig::target_options_for(const std::string& task) const {
  static const TargetOptions defaults;
  auto it = target_options.find(task);
  return it == target_options.end() ? defaults : it->second;
}

std::vector<std::string> SweepConfig::intermediate_tasks() const {
  std::set<std::string> out;
  auto add_stage = [&](const std::string& stage) {
    auto m = mixtures.find(stage);
    if (m != mixtures.end())
      out.insert(m->second.tasks.begin(), m->second.tasks.end());
    else
      out.insert(stage);
  };
  for (const auto& s : orders.stages) add_stage(s);
  for (const auto& order : orders.explicit_orders)
    for (const auto& s : order) add_stage(s);
  for (const auto& [target, options] : target_options)
    for (const auto& s : options.before) add_stage(s);
  return {out.begin(), out.end()};
}

int64_t SweepConfig::longest_input(std::string* setting) const {
  int64_t longest = data.max_length;
  std::string key = "data.max_length";
  for (const std::string& task : tasks_used())
    if (registry.contains(task) && registry.get(task).type == TaskType::kExtractiveQA &&
        data.qa_max_length > longest)
      longest = data.qa_max_length, key = "data.qa_max_length (" + task + ")";
  if (setting) *setting = key;
  return longest;
}

std::vector<std::string> SweepConfig::tasks_used() const {
  std::set<std::string> out;
  for (const auto& t : intermediate_tasks()) out.insert(t);
  for (const auto& t : targets) {
    out.insert(t);
    const TaskSpec& spec = registry.get(t);
    if (!spec.train_task.empty()) out.insert(spec.train_task);
  }
  if (model.checkpoint.empty()) out.insert(model.tiny.pretrain_task);
  return {out.begin(), out.end()};
}

SweepConfig parse_config(const std::string& text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  SweepConfig c;
  c.path = name;
  c.text = text;
  c.hash = hash_hex(text);
  c.registry = TaskRegistry::builtin();
  TableReader top(root, "", name);
  // Sections in dependency order: [tasks.*] first, since later sections may name the tasks
  // defined there; mixtures before orders, whose stages may be mixtures.
  using Section = void (*)(const toml::table&, const std::string&, SweepConfig&);
  const std::pair<const char*, Section> sections[] = {
      {"tasks", read_tasks_section},       {"sweep", read_sweep_section},
      {"model", read_model_section},       {"data", read_data_section},
      {"mixtures", read_mixtures_section}, {"orders", read_orders_section},
      {"targets", read_targets_section},   {"train", read_train_section},
      {"output", read_output_section},
  };
  for (const auto& [key, read] : sections)
    if (const toml::table* t = top.table(key)) read(*t, name, c);
  top.finish();
  check_across_sections(root, name, c);

  if (c.model.checkpoint.empty()) {
    // The longest input must have positions (a checkpoint's max_position_embeddings is checked
    // when it is loaded: root_model_config).
    std::string longest_key;
    const int64_t longest = c.longest_input(&longest_key);
    if (c.model.tiny.max_positions < longest + 2)
      throw ConfigError(fmt::format(
          "{}: model.tiny.max_positions: expected at least {} ({} = {}, plus 2: XLM-R's positions "
          "start after the padding id), got {}",
          name, longest + 2, longest_key, longest, c.model.tiny.max_positions));
    if (!c.registry.contains(c.model.tiny.pretrain_task) ||
        c.registry.get(c.model.tiny.pretrain_task).type != TaskType::kMLM)
      throw ConfigError(fmt::format("{}: model.tiny.pretrain_task: expected an MLM task, got '{}'",
                                    name, c.model.tiny.pretrain_task));
  }
  return c;
}

SweepConfig load_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(
        fmt::format("{}: expected a config file (TOML), found a directory", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ConfigError(
        fmt::format("{}: cannot read the config file (no such file?)", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  // An empty file is a wrong path or a truncated copy, not a sweep of the built-in defaults
  // (parse_config("") still gives the defaults, for tests).
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw ConfigError(fmt::format(
        "{}: the config file is empty: expected at least one setting (configs/reference.toml "
        "lists every field with its default)",
        path.string()));
  SweepConfig config = parse_config(text, path.string());
  if (log::rank() == 0)
    for (const std::string& w : config.warnings) log::warn("{}", w);
  return config;
}

}  // namespace ordertune

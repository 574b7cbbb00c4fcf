// The results file's schema table (sweep/results.h) against the documentation users read: every
// dataset the sweep creates is in README's "results file" table and the table names nothing the
// sweep does not create, and each dataset's static contents fit its declared shape.
#include "engine/engine_test.h"

#include <fstream>
#include <regex>
#include <set>
#include <variant>

#include "ordertune/sweep/results.h"
#include "test_paths.h"

using namespace ordertune;

namespace {

// The dataset paths README documents: the first `code` of each "| `/...` |" row of the table
// under "### Results file", with `{a,b}` expanded (the row "`/` attrs" names attributes).
std::set<std::string> documented_paths() {
  std::ifstream in(testing::source_dir() / "README.md");
  REQUIRE(in);
  std::set<std::string> out;
  bool in_section = false;
  const std::regex row(R"(^\| `(/[^`]*)`)");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("### ", 0) == 0) in_section = line == "### Results file";
    std::smatch m;
    if (!in_section || !std::regex_search(line, m, row)) continue;
    const std::string path = m[1];
    if (path == "/") continue;
    const size_t open = path.find('{');
    if (open == std::string::npos) {
      out.insert(path);
      continue;
    }
    const std::string stem = path.substr(0, open), list = path.substr(open + 1);
    size_t from = 0;
    for (size_t comma; (comma = list.find_first_of(",}", from)) != std::string::npos;
         from = comma + 1)
      out.insert(stem + list.substr(from, comma - from));
  }
  return out;
}

// A plan of a root, one stage and one target leaf, with one metric row and one kept encoder.
ResultsSchema small_schema() {
  Plan plan;
  for (int64_t id = 0; id < 3; ++id) {
    PlanNode n;
    n.id = id;
    n.parent = id - 1;
    n.kind = id == 0 ? NodeKind::kRoot : id == 1 ? NodeKind::kStage : NodeKind::kTarget;
    n.stage = id == 1 ? "mnli" : id == 2 ? "xnli" : "";
    if (id > 0) n.path = {"mnli"};
    plan.nodes.push_back(n);
  }
  ResultsLayout L;
  L.curve_offset = {0, 0, 10, 20};
  L.dev_offset = {0, 0, 2, 4};
  L.metrics = {{2, "de", "accuracy", "test"}};
  L.metric_offset = {0, 0, 0, 1};
  L.predictions = {{2, "de", 5, 0}};
  L.prediction_offset = {0, 0, 0, 1};
  L.checkpoint_row = {-1, 0, -1};
  L.checkpoints = 1;
  L.param_names = {"embeddings.word_embeddings.weight"};
  L.param_shapes = {{50, 16}};
  L.param_offsets = {0, 800};
  SweepConfig config;
  config.text = "[sweep]\nname = \"schema\"\n";
  return results_schema(config, plan, L);
}

}  // namespace

TEST_CASE("results schema: README documents exactly the datasets the sweep creates",
          "[sweep][results]") {
  std::set<std::string> created;
  for (const auto& d : small_schema().datasets) created.insert(d.path);
  const std::set<std::string> documented = documented_paths();
  REQUIRE(documented.size() > 10);  // the table was found
  for (const std::string& p : created) {
    INFO("created but not documented: " << p);
    CHECK(documented.count(p) == 1);
  }
  for (const std::string& p : documented) {
    INFO("documented but not created: " << p);
    CHECK(created.count(p) == 1);
  }
}

TEST_CASE("results schema: groups precede their datasets; static contents fit their shape",
          "[sweep][results]") {
  const ResultsSchema s = small_schema();
  std::set<std::string> groups{""};
  for (const auto& g : s.groups) groups.insert(g.path);
  std::set<std::string> seen;
  for (const auto& d : s.datasets) {
    INFO(d.path);
    CHECK(seen.insert(d.path).second);
    CHECK(groups.count(d.path.substr(0, d.path.rfind('/'))) == 1);
    const bool has_contents = !std::holds_alternative<std::monostate>(d.contents);
    const bool has_fill = !std::holds_alternative<std::monostate>(d.fill);
    CHECK_FALSE((has_contents && has_fill));
    if (has_contents) {
      const size_t n = std::visit(
          [](const auto& v) -> size_t {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>)
              return 0;
            else
              return v.size();
          },
          d.contents);
      REQUIRE(d.dims.size() == 1);
      CHECK(d.dims[0] == n);
    }
  }
  // The plan's rows and the kept encoder's row, by the sizes the layout gives.
  auto find = [&](const std::string& path) {
    for (const auto& d : s.datasets)
      if (d.path == path) return d;
    FAIL("no dataset " << path);
    return ResultsSchema::Dataset{};
  };
  CHECK(find("/plan/kind").dims == std::vector<hsize_t>{3});
  CHECK(find("/curves/loss").dims == std::vector<hsize_t>{20});
  CHECK(find("/predictions/values").dims == std::vector<hsize_t>{5});
  CHECK(find("/checkpoints/weights").dims == std::vector<hsize_t>{1, 800});
  CHECK(std::get<std::vector<std::string>>(find("/plan/path").contents) ==
        std::vector<std::string>{"", "mnli", "mnli"});
}

// Tests of h5.h: HDF5 failures become LibraryError with HDF5's own message.
#include <catch2/catch.hpp>

#include "ordertune/base/error.h"
#include "ordertune/data/h5.h"
#include "test_paths.h"

using namespace ordertune;
using Catch::Matchers::Contains;

TEST_CASE("HDF5 errors carry the operation and HDF5's error stack", "[h5]") {
  testing::ScratchDir dir("h5");
  CHECK_THROWS_AS(h5::File::open(dir / "missing.h5", false), LibraryError);
  CHECK_THROWS_WITH(h5::File::open(dir / "missing.h5", false),
                    Contains("opening") && Contains("missing.h5: HDF5 error:"));
  h5::File f = h5::File::create(dir / "a.h5");
  f.root().create_group("g");
  CHECK_THROWS_WITH(f.root().create_group("g"),
                    Contains("creating group") && Contains("HDF5 error"));
  CHECK_THROWS_AS(f.root().read<int32_t>("absent"), LibraryError);
}

TEST_CASE("attributes and datasets round-trip", "[h5]") {
  testing::ScratchDir dir("h5");
  {
    h5::File f = h5::File::create(dir / "a.h5");
    auto g = f.root().create_group("g");
    g.set_attr("name", std::string("wört"));
    g.set_attr("n", static_cast<int64_t>(-5));
    g.set_attr("x", 0.25);
    g.set_attr("empty", std::string());
    g.write("ints", std::vector<int64_t>{1, -2, 3}, "three numbers");
    g.write("none", std::vector<float>{});
    g.write_strings("strs", {"a", "", "ü"});
  }
  h5::File f = h5::File::open(dir / "a.h5", false);
  auto g = f.root().open_group("g");
  CHECK(g.attr_string("name") == "wört");
  CHECK(g.attr_int("n") == -5);
  CHECK(g.attr_double("x") == 0.25);
  CHECK(g.attr_string("empty").empty());
  CHECK(g.read<int64_t>("ints") == std::vector<int64_t>{1, -2, 3});
  CHECK(g.read<float>("none").empty());
  CHECK(g.read_strings("strs") == std::vector<std::string>{"a", "", "ü"});
  CHECK(g.children() == std::vector<std::string>{"ints", "none", "strs"});
  CHECK(f.root().children() == std::vector<std::string>{"g"});
}

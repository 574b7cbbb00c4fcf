// Tests of ordertune::dropout / dropout_add (model.h): torch::dropout's semantics with a cheaper
// mask generator on CPU, checked against the definition (keep rate, scale, gradient) and for the
// properties training relies on (seeding, thread-count independence).
#include "engine/engine_test.h"

#include <cmath>

#include "ordertune/model/model.h"

using namespace ordertune;

namespace {
constexpr double kP = 0.1;
}  // namespace

TEST_CASE("dropout keeps 1 - p of the elements and scales them as torch::dropout", "[dropout]") {
  torch::manual_seed(7);
  const int64_t n = 1 << 20;
  const torch::Tensor x = torch::randn({n}).abs_().add_(0.5);  // no zeros: kept <=> nonzero
  const torch::Tensor y = ordertune::dropout(x, kP, /*train=*/true);
  const torch::Tensor kept = y.ne(0);
  const double rate = kept.to(torch::kFloat64).mean().item<double>();
  // Binomial(n, 0.9): standard deviation sqrt(0.09 / n) = 3e-4 of the rate; allow 6 of them.
  CHECK(std::abs(rate - (1 - kP)) < 6 * std::sqrt(kP * (1 - kP) / static_cast<double>(n)));
  // Adjacent elements share one 64-bit hash: they must still be independent.
  const torch::Tensor pairs = kept.view({n / 2, 2});
  const double both = pairs.all(1).to(torch::kFloat64).mean().item<double>();
  CHECK(std::abs(both - (1 - kP) * (1 - kP)) < 6 * std::sqrt(0.19 * 0.81 / (n / 2.0)));
  // Kept values are x times the float 1 / (1 - p), as torch's noise tensor makes them.
  const float scale = 1.0f / static_cast<float>(1.0 - kP);
  CHECK(torch::equal(y.masked_select(kept), x.masked_select(kept) * scale));
}

TEST_CASE("dropout handles an odd element count", "[dropout]") {
  torch::manual_seed(2);
  const torch::Tensor x = torch::full({7, 11}, 2.0f);
  const torch::Tensor y = ordertune::dropout(x, 0.5, /*train=*/true);
  CHECK(torch::logical_or(y.eq(0), y.eq(4)).all().item<bool>());
  CHECK(y.eq(4).any().item<bool>());
  CHECK(y.eq(0).any().item<bool>());
}

TEST_CASE("dropout is the identity in evaluation or with p = 0", "[dropout]") {
  const torch::Tensor x = torch::randn({4, 5});
  CHECK(ordertune::dropout(x, kP, /*train=*/false).is_same(x));
  CHECK(ordertune::dropout(x, 0.0, /*train=*/true).is_same(x));
  const torch::Tensor r = torch::randn({4, 5});
  CHECK(torch::equal(ordertune::dropout_add(x, r, kP, /*train=*/false), x + r));
}

TEST_CASE("dropout masks follow torch::manual_seed and not the thread count", "[dropout]") {
  const torch::Tensor x = torch::ones({3, 1000, 77});
  torch::manual_seed(11);
  const torch::Tensor a = ordertune::dropout(x, kP, true), b = ordertune::dropout(x, kP, true);
  CHECK_FALSE(torch::equal(a, b));  // each call draws a fresh seed
  torch::manual_seed(11);
  CHECK(torch::equal(ordertune::dropout(x, kP, true), a));

  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  torch::manual_seed(11);
  const torch::Tensor two = ordertune::dropout(x, kP, true);
  at::set_num_threads(1);
  torch::manual_seed(11);
  const torch::Tensor one = ordertune::dropout(x, kP, true);
  at::set_num_threads(threads);
  CHECK(torch::equal(one, two));
  CHECK(torch::equal(one, a));
}

TEST_CASE("dropout gradients are the same mask and scale; dropout_add passes the residual's",
          "[dropout]") {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({6, 50}).abs_().add_(0.5).requires_grad_(true);
  const torch::Tensor r = torch::randn({6, 50}).requires_grad_(true);
  const torch::Tensor w = torch::randn({6, 50});

  torch::manual_seed(9);
  const torch::Tensor plain = ordertune::dropout(x, kP, true);
  (plain * w).sum().backward();
  const torch::Tensor noise = plain.detach() / x.detach();  // 0 or 1 / (1 - p)
  CHECK(torch::allclose(x.grad(), w * noise, /*rtol=*/1e-6, /*atol=*/0));
  const torch::Tensor gx = x.grad().clone();
  x.mutable_grad() = torch::Tensor();

  torch::manual_seed(9);  // same seed: same mask
  const torch::Tensor fused = ordertune::dropout_add(x, r, kP, true);
  CHECK(torch::equal(fused, r.detach() + plain.detach()));
  (fused * w).sum().backward();
  CHECK(torch::equal(x.grad(), gx));
  CHECK(torch::equal(r.grad(), w));
}

TEST_CASE("dropout accepts non-contiguous input", "[dropout]") {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({40, 30}).t();
  torch::manual_seed(4);
  const torch::Tensor y = ordertune::dropout(x, kP, true);
  torch::manual_seed(4);
  const torch::Tensor z = ordertune::dropout(x.contiguous(), kP, true);
  CHECK(torch::equal(y, z));
}

// Tests of retrieval.h on embeddings whose answers are known by construction; margin scores are
// recomputed here from the formula of utils_retrieve.mine_bitext in double precision.
#include "engine/engine_test.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "ordertune/train/retrieval.h"

using namespace ordertune;

namespace {

// A unit vector in the plane at `degrees`.
std::vector<float> at_angle(double degrees) {
  const double r = degrees * M_PI / 180.0;
  return {static_cast<float>(std::cos(r)), static_cast<float>(std::sin(r))};
}

torch::Tensor rows_tensor(const std::vector<std::vector<float>>& rows) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat).view({static_cast<int64_t>(rows.size()), -1});
}

// Queries, and candidates = their rows in a random order plus small noise and random scale
// (cosine must not care). Returns the candidate index of each query.
std::vector<int64_t> permuted_noisy_copies(int64_t n, int64_t h, torch::Tensor* queries,
                                           torch::Tensor* candidates) {
  *queries = torch::randn({n, h});
  const torch::Tensor perm = torch::randperm(n);  // candidate j is query perm[j]
  *candidates = (queries->index_select(0, perm) + 0.01 * torch::randn({n, h})) *
                (0.5 + torch::rand({n, 1}) * 3);
  std::vector<int64_t> expected(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) expected[static_cast<size_t>(perm[j].item<int64_t>())] = j;
  return expected;
}

Ragged<int32_t> ragged(const std::vector<std::vector<int32_t>>& rows) {
  Ragged<int32_t> r;
  for (const auto& row : rows) r.push_row(row);
  return r;
}

}  // namespace

TEST_CASE("l2_normalize gives unit rows and keeps zero rows zero", "[retrieval]") {
  const auto x = torch::tensor({3.0f, 4.0f, 0.0f, 0.0f, -2.0f, 0.0f}).view({3, 2});
  const auto y = l2_normalize(x);
  CHECK(torch::allclose(y, torch::tensor({0.6f, 0.8f, 0.0f, 0.0f, -1.0f, 0.0f}).view({3, 2})));
  CHECK_THROWS(l2_normalize(torch::ones({3})));
}

TEST_CASE("nearest_neighbours recovers a permutation of noisy copies", "[retrieval]") {
  torch::manual_seed(11);
  torch::Tensor q, c;
  const auto expected = permuted_noisy_copies(/*n=*/200, /*h=*/32, &q, &c);
  CHECK(nearest_neighbours(q, c) == expected);
  SECTION("any block size gives the same answer") {
    CHECK(nearest_neighbours(q, c, /*block_rows=*/1) == expected);
    CHECK(nearest_neighbours(q, c, /*block_rows=*/7) == expected);
  }
  SECTION("other dtypes are compared in float32") {
    CHECK(nearest_neighbours(q.to(torch::kDouble), c.to(torch::kDouble)) == expected);
  }
}

TEST_CASE("nearest_neighbours breaks ties to the lowest index", "[retrieval]") {
  // Candidates 1, 2 and 3 all point along the query (cosine 1); 0 is orthogonal.
  const auto q = rows_tensor({{1, 0}, {0, 5}});
  const auto c = rows_tensor({{0, 1}, {2, 0}, {1, 0}, {3, 0}});
  CHECK(nearest_neighbours(q, c) == std::vector<int64_t>{1, 0});
  CHECK_THROWS(nearest_neighbours(q, torch::zeros({0, 2})));
  CHECK_THROWS(nearest_neighbours(q, torch::zeros({4, 3})));
}

TEST_CASE("top_k ranks by cosine, ties to the lowest index, k capped", "[retrieval]") {
  // Cosines with the query [1, 0]: c0 0, c1 0.707, c2 1, c3 -1, c4 1 (tie with c2).
  const auto q = rows_tensor({{1, 0}});
  const auto c = rows_tensor({{0, 1}, {1, 1}, {1, 0}, {-1, 0}, {2, 0}});
  CHECK(top_k(q, c, 3) == std::vector<std::vector<int64_t>>{{2, 4, 1}});
  CHECK(top_k(q, c, 10) == std::vector<std::vector<int64_t>>{{2, 4, 1, 0, 3}});
  CHECK_THROWS(top_k(q, c, 0));

  SECTION("both selection paths agree with a stable full sort") {
    torch::manual_seed(5);
    const auto qs = torch::randn({6, 8});
    const auto cs = torch::randn({150, 8});
    const auto sim = torch::mm(l2_normalize(qs), l2_normalize(cs).t());
    for (int64_t k : {1, 20, 64, 65, 150}) {
      INFO("k = " << k);
      const auto got = top_k(qs, cs, k, /*block_rows=*/4);
      for (int64_t i = 0; i < 6; ++i) {
        std::vector<int64_t> order(150);
        std::iota(order.begin(), order.end(), int64_t{0});
        const auto row = sim[i].contiguous();
        const float* s = row.data_ptr<float>();
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return s[a] > s[b]; });
        order.resize(static_cast<size_t>(k));
        CHECK(got[static_cast<size_t>(i)] == order);
      }
    }
  }
  SECTION("exact ties in bulk: duplicated candidates") {
    const auto base = torch::randn({10, 4});
    const auto cs = torch::cat({base, base, base});  // candidate j, j+10, j+20 are equal
    for (int64_t k : {3, 30}) {
      const auto got = top_k(base.narrow(0, 0, 1), cs, k);
      REQUIRE(got[0].size() >= 3);
      CHECK(got[0][0] == 0);
      CHECK(got[0][1] == 10);
      CHECK(got[0][2] == 20);
    }
  }
}

TEST_CASE("BUCC margin scores equal the formula of mine_bitext", "[retrieval]") {
  // Sources at 0, 10, 20 degrees; targets at 0, 50, 80. Target 0 is a hub (nearest to every
  // source); the ratio margin penalises it, so source 2 picks target 1 although target 0 is
  // its nearest neighbour.
  const std::vector<double> xs = {0, 10, 20}, ys = {0, 50, 80};
  const auto x = rows_tensor({at_angle(0), at_angle(10), at_angle(20)});
  const auto y = rows_tensor({at_angle(0), at_angle(50), at_angle(80)});
  const int64_t k = 2;

  // Reference in double: cos, k-NN means both ways, ratio margin over each k-NN list.
  double cosine[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) cosine[i][j] = std::cos((xs[i] - ys[j]) * M_PI / 180.0);
  auto top_mean = [&](std::vector<double> v) {
    std::sort(v.rbegin(), v.rend());
    return (v[0] + v[1]) / 2.0;
  };
  double fwd_mean[3], bwd_mean[3];
  for (int i = 0; i < 3; ++i) fwd_mean[i] = top_mean({cosine[i][0], cosine[i][1], cosine[i][2]});
  for (int j = 0; j < 3; ++j) bwd_mean[j] = top_mean({cosine[0][j], cosine[1][j], cosine[2][j]});
  auto margin = [&](int i, int j) { return cosine[i][j] / ((fwd_mean[i] + bwd_mean[j]) / 2.0); };
  // Best over the k nearest of each side (no ties in this example).
  auto best_forward = [&](int i) {
    std::vector<int> order = {0, 1, 2};
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return cosine[i][a] > cosine[i][b]; });
    return margin(i, order[0]) >= margin(i, order[1]) ? order[0] : order[1];
  };
  auto best_backward = [&](int j) {
    std::vector<int> order = {0, 1, 2};
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return cosine[a][j] > cosine[b][j]; });
    return margin(order[0], j) >= margin(order[1], j) ? order[0] : order[1];
  };

  BuccMiningOptions options;
  options.neighbourhood = k;
  const BuccMarginBest best = bucc_margin_best(x, y, options);
  REQUIRE(best.forward_best.size() == 3);
  REQUIRE(best.backward_best.size() == 3);
  CHECK(best.forward_best == std::vector<int64_t>{0, 0, 1});  // by construction, see above
  for (int i = 0; i < 3; ++i) {
    INFO("source " << i);
    CHECK(best.forward_best[static_cast<size_t>(i)] == best_forward(i));
    CHECK(best.forward_score[static_cast<size_t>(i)] ==
          Approx(margin(i, best_forward(i))).epsilon(1e-5));
  }
  for (int j = 0; j < 3; ++j) {
    INFO("target " << j);
    CHECK(best.backward_best[static_cast<size_t>(j)] == best_backward(j));
    CHECK(best.backward_score[static_cast<size_t>(j)] ==
          Approx(margin(best_backward(j), j)).epsilon(1e-5));
  }

  SECTION("retrieval modes") {
    auto pairs = [](const std::vector<BuccCandidate>& c) {
      std::vector<std::pair<int64_t, int64_t>> p;
      for (const auto& x : c) p.emplace_back(x.source, x.target);
      return p;
    };
    using P = std::vector<std::pair<int64_t, int64_t>>;
    options.retrieval = BuccRetrieval::kForward;
    CHECK(pairs(bucc_candidates(best, options)) == P{{0, 0}, {1, 0}, {2, 1}});
    options.retrieval = BuccRetrieval::kBackward;
    const P backward = {{best_backward(0), 0}, {best_backward(1), 1}, {best_backward(2), 2}};
    CHECK(pairs(bucc_candidates(best, options)) == backward);
    options.retrieval = BuccRetrieval::kIntersect;
    P intersect;
    for (int i = 0; i < 3; ++i)
      if (best_backward(best_forward(i)) == i) intersect.emplace_back(i, best_forward(i));
    CHECK(pairs(bucc_candidates(best, options)) == intersect);

    // kMax by hand: all 6 (pair, score) by score descending, greedy one-to-one.
    options.retrieval = BuccRetrieval::kMax;
    std::vector<BuccCandidate> all;
    for (int i = 0; i < 3; ++i) all.push_back({i, best_forward(i), margin(i, best_forward(i))});
    for (int j = 0; j < 3; ++j) all.push_back({best_backward(j), j, margin(best_backward(j), j)});
    std::stable_sort(all.begin(), all.end(), [](const BuccCandidate& a, const BuccCandidate& b) {
      return a.score > b.score;
    });
    P greedy;
    std::vector<bool> used_s(3, false), used_t(3, false);
    for (const auto& c : all) {
      if (used_s[static_cast<size_t>(c.source)] || used_t[static_cast<size_t>(c.target)]) continue;
      used_s[static_cast<size_t>(c.source)] = used_t[static_cast<size_t>(c.target)] = true;
      greedy.emplace_back(c.source, c.target);
    }
    const auto mined = bucc_candidates(best, options);
    CHECK(pairs(mined) == greedy);
    for (size_t i = 1; i < mined.size(); ++i) CHECK(mined[i - 1].score >= mined[i].score);
    CHECK(pairs(bucc_mine(x, y, options)) == greedy);
    options.threshold = 100.0;  // kMax keeps only score > threshold
    CHECK(bucc_candidates(best, options).empty());
  }
}

TEST_CASE("BUCC mining recovers translation pairs among distractors", "[retrieval]") {
  torch::manual_seed(21);
  torch::Tensor src, trg;
  const auto expected = permuted_noisy_copies(/*n=*/60, /*h=*/24, &src, &trg);
  // Targets also hold 40 sentences that translate nothing.
  const auto targets = torch::cat({trg, torch::randn({40, 24})});
  BuccMiningOptions options;
  options.block_rows = 16;
  const auto mined = bucc_mine(src, targets, options);
  std::vector<std::pair<int64_t, int64_t>> gold;
  for (int64_t i = 0; i < 60; ++i) gold.emplace_back(i, expected[static_cast<size_t>(i)]);
  // Every source is mined with its translation, and those pairs come first.
  REQUIRE(mined.size() >= 60);
  for (size_t i = 0; i < 60; ++i)
    CHECK(mined[i].target == expected[static_cast<size_t>(mined[i].source)]);
  const double threshold = bucc_optimize_threshold(mined, gold);
  const auto extracted = bucc_extract(mined, threshold);
  CHECK(extracted.size() == 60);
}

TEST_CASE("bucc_optimize_threshold maximises F1 on the gold as bucc_optimize", "[retrieval]") {
  // Scores 1.5 .. 1.0; gold: the pairs scored 1.5, 1.4, 1.2 and one never mined.
  // F1 along the list: 0.4, 0.667, 0.571, 0.75 (best, after 1.2), 0.667, 0.6.
  const std::vector<BuccCandidate> candidates = {{3, 3, 1.2}, {0, 0, 1.5}, {1, 1, 1.4},
                                                 {2, 9, 1.3}, {4, 8, 1.1}, {5, 7, 1.0}};
  const std::vector<std::pair<int64_t, int64_t>> gold = {{0, 0}, {1, 1}, {3, 3}, {6, 6}, {0, 0}};
  const double threshold = bucc_optimize_threshold(candidates, gold);
  CHECK(threshold == Approx(1.15));
  const auto kept = bucc_extract(candidates, threshold);
  REQUIRE(kept.size() == 3 + 1);
  CHECK(bucc_extract(candidates, 1.2).size() == 4);  // >= threshold

  SECTION("no correct candidate: threshold 0") {
    CHECK(bucc_optimize_threshold(candidates, {{7, 7}}) == 0.0);
  }
  SECTION("best F1 at the last candidate keeps everything") {
    const std::vector<BuccCandidate> c = {{0, 9, 2.0}, {1, 1, 1.0}};
    CHECK(bucc_optimize_threshold(c, {{1, 1}}) == 1.0);
  }
}

TEST_CASE("unique_rows and bucc_candidates_to_rows drop repeated sentences", "[retrieval]") {
  const auto src = ragged({{0, 5, 2}, {0, 6, 2}, {0, 5, 2}, {0, 7, 2}});
  const auto u = unique_rows(src);
  CHECK(u.first_row == std::vector<int64_t>{0, 1, 3});
  CHECK(u.unique_of_row == std::vector<int64_t>{0, 1, 0, 2});
  CHECK(u.count == std::vector<int64_t>{2, 1, 1});
  const auto trg = unique_rows(ragged({{0, 8, 2}, {0, 9, 2}}));
  const std::vector<BuccCandidate> mined = {{2, 0, 1.3}, {0, 1, 1.2}, {1, 0, 1.1}};
  const auto rows = bucc_candidates_to_rows(mined, u, trg);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].source == 3);
  CHECK(rows[0].target == 0);
  CHECK(rows[1].source == 1);
  CHECK(rows[1].score == 1.1);
}

TEST_CASE("in_batch_softmax_loss is the cross-entropy of scaled cosines", "[retrieval]") {
  // q = [[1, 0], [0, 1]], c = [[1, 0], [1, 1]]: cosines [[1, r], [0, r]], r = 1/sqrt(2).
  const auto q = torch::tensor({1.0, 0.0, 0.0, 1.0}, torch::kDouble).view({2, 2}).requires_grad_();
  const auto c = torch::tensor({3.0, 0.0, 1.0, 1.0}, torch::kDouble).view({2, 2}).requires_grad_();
  const double s = 2.0, r = 1.0 / std::sqrt(2.0);
  const double loss0 = -std::log(std::exp(s) / (std::exp(s) + std::exp(s * r)));
  const double loss1 = -std::log(std::exp(s * r) / (std::exp(0.0) + std::exp(s * r)));
  const auto loss = in_batch_softmax_loss(q, c, s);
  CHECK(loss.item<double>() == Approx((loss0 + loss1) / 2).epsilon(1e-12));
  loss.backward();
  REQUIRE(q.grad().defined());
  REQUIRE(c.grad().defined());
  CHECK(torch::isfinite(q.grad()).all().item<bool>());
  CHECK(torch::isfinite(c.grad()).all().item<bool>());
  CHECK(q.grad().abs().sum().item<double>() > 0);

  SECTION("a trainable scale (BertForRetrieval's logit_scale) gets a gradient") {
    const auto scale = torch::full({1}, s, torch::kDouble).requires_grad_();
    const auto l = in_batch_softmax_loss(q.detach(), c.detach(), scale);
    CHECK(l.item<double>() == Approx(loss.item<double>()).epsilon(1e-12));
    l.backward();
    CHECK(std::isfinite(scale.grad().item<double>()));
  }
  SECTION("default scale is xtreme's 100") {
    const auto l = in_batch_softmax_loss(q.detach(), c.detach());
    const double e0 = -std::log(1.0 / (1.0 + std::exp(100.0 * (r - 1.0))));
    const double e1 = -std::log(1.0 / (std::exp(-100.0 * r) + 1.0));
    CHECK(l.item<double>() == Approx((e0 + e1) / 2).epsilon(1e-9));
  }
  CHECK_THROWS(in_batch_softmax_loss(q, torch::ones({3, 2}, torch::kDouble)));
}

TEST_CASE("embed mean-pools a layer, independent of row order and batch size", "[retrieval]") {
  torch::manual_seed(7);
  XlmrEncoder enc(testing::small_test_config());
  enc->train();  // embed must switch to eval (no dropout) and back
  const std::vector<std::vector<int32_t>> rows = {
      {0, 5, 6, 2}, {0, 7, 2},    {0, 8, 9, 10, 11, 12, 2},
      {0, 13, 2},   {0, 5, 6, 2}, {0, 14, 15, 16, 2}};
  const int64_t layer = 1;
  const auto e1 = embed(*enc, ragged(rows), layer, /*batch_size=*/1);
  const auto e3 = embed(*enc, ragged(rows), layer, /*batch_size=*/3);
  CHECK(enc->is_training());
  REQUIRE(e1.sizes() == torch::IntArrayRef({6, 16}));
  CHECK(e1.scalar_type() == torch::kFloat);
  CHECK(torch::allclose(e1, e3, /*rtol=*/1e-5, /*atol=*/1e-5));
  CHECK(torch::allclose(e1[0], e1[4]));  // the same sentence twice

  SECTION("row order only permutes the result") {
    const std::vector<size_t> perm = {3, 0, 5, 2, 4, 1};
    std::vector<std::vector<int32_t>> shuffled;
    for (size_t p : perm) shuffled.push_back(rows[p]);
    const auto es = embed(*enc, ragged(shuffled), layer, /*batch_size=*/4);
    for (size_t i = 0; i < perm.size(); ++i)
      CHECK(torch::allclose(es[static_cast<int64_t>(i)], e1[static_cast<int64_t>(perm[i])],
                            /*rtol=*/1e-5, /*atol=*/1e-5));
  }
  SECTION("equals an unpadded single-row forward") {
    enc->eval();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<int64_t> ids(rows[i].begin(), rows[i].end());
      const auto x = torch::tensor(ids, torch::kInt64).view({1, -1});
      const auto h = enc->forward(x, {}, /*all_hidden_states=*/true).hidden_states[layer];
      CHECK(
          torch::allclose(e3[static_cast<int64_t>(i)], h.mean(1)[0], /*rtol=*/1e-5, /*atol=*/1e-5));
    }
  }
  CHECK_THROWS(embed(*enc, ragged(rows), /*layer=*/3, 2));
  CHECK(embed(*enc, Ragged<int32_t>{}, layer, 2).size(0) == 0);
}

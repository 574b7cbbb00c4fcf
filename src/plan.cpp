#include "ordertune/plan.h"

#include "ordertune/hash.h"

namespace ordertune {

uint64_t node_seed(uint64_t sweep_seed, int replicate, const std::vector<std::string>& path) {
  Hasher h;
  h.update(&sweep_seed, sizeof sweep_seed).update(&replicate, sizeof replicate);
  for (const std::string& stage : path) h.field(stage);
  return derive_seed(h.digest(), "node");
}

uint64_t target_seed(uint64_t node, const std::string& target) {
  return derive_seed(node, "target:" + target);
}

}  // namespace ordertune

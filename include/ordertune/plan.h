// plan — the static plan of a sweep: the prefix tree of stages per replicate with a target leaf
// under every order, node seeds, costs (../shared/DESIGN.md, decisions 4-6).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ordertune {

// The seed of the node reached by `path` (stage names, root first) in replicate r: a function of
// (sweep seed, replicate, path) only, never of the rank that runs it.
uint64_t node_seed(uint64_t sweep_seed, int replicate, const std::vector<std::string>& path);
// The seed of a target leaf under a node.
uint64_t target_seed(uint64_t node_seed, const std::string& target);

}  // namespace ordertune

// resume — resume checkpoints of running nodes (output.resume_every; src/DESIGN.md,
// decision 8): an interrupted node continues from its last snapshot instead of its first step.
//
// Snapshots live beside the results file, one per running node: RESULTS.resume/node-<id>.pt
// (LibTorch archive: trainer weights with heads, AdamW moments, the best-so-far weights and the
// curves so far; trainer.h TrainerSnapshot). They are not in the results file because they are
// transient, their size depends on the stage's heads, and they are rewritten many times per node,
// while the results file's layout is static and its datasets are created once, collectively.
// A snapshot is written to a temporary name and renamed, so a kill at any moment leaves the
// previous snapshot or the new one, never half of one; it is removed when its node is done.
// Each records the sweep's config hash, the node and its seed: a snapshot of another sweep or
// node is ignored with a warning (the node then restarts from its first step, which gives the
// same numbers, only later).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "ordertune/train/trainer.h"

namespace ordertune {

class ResumeStore {
 public:
  // `every` = output.resume_every (0: no periodic snapshots; a signal still writes one).
  ResumeStore(const std::filesystem::path& results_path, std::string config_hash, int64_t every);

  int64_t every() const { return every_; }
  std::filesystem::path path_of(int64_t node) const;

  // Atomic write (temporary file + rename). Tensors are copied to the CPU.
  void save(int64_t node, uint64_t seed, const TrainerSnapshot& snapshot) const;
  // The node's snapshot, if one of this sweep and node exists; nullopt otherwise (a foreign or
  // unreadable one is reported in one warning line and left alone).
  std::optional<TrainerSnapshot> load(int64_t node, uint64_t seed) const;
  // Removes the node's snapshot and any temporary file a killed write left (its node is done),
  // and the folder once it is empty.
  void remove(int64_t node) const;

 private:
  std::filesystem::path dir_;
  std::string config_hash_;
  int64_t every_;
};

}  // namespace ordertune

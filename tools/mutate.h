// Deterministic, clustered changes to an existing image, the way a running
// VM changes its disk between two backups: a few contiguous rewrites of
// 64 KiB ... 2 MiB (files replaced, database pages flushed) plus scattered
// 4 KiB writes concentrated in a few hot zones (metadata, journals). About
// three quarters of the budget goes to extents, the rest to scattered blocks.
// No two writes overlap, so the bytes reported are the bytes changed. The new
// content is random or log-like text, a pure function of (file size, seed).
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace coffer::tools {

struct MutationWrite {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool text = false;       // log-like text, else random bytes
  bool scattered = false;  // a single 4 KiB block in a hot zone
};

struct MutationPlan {
  std::vector<MutationWrite> writes;  // in offset order, disjoint
  uint64_t bytes = 0;                 // sum of the lengths
  size_t extents = 0;                 // writes that are not scattered blocks
  size_t scattered_blocks = 0;
  size_t hot_zones = 0;
};

// Plans changes to about `percent` (0 < percent <= 100) of an image of
// `size` bytes, in 4 KiB blocks (the last one may be partial).
MutationPlan PlanMutation(uint64_t size, double percent, uint64_t seed);

// Applies PlanMutation(size of `path`, percent, seed) in place. Errors: the
// file cannot be opened, read or written; it is not a regular file.
Result<MutationPlan> MutateImage(const std::string& path, double percent, uint64_t seed);

}  // namespace coffer::tools

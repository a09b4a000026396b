// Progress of a long operation, shared between the pipeline (which adds to
// it) and whoever shows it (the CLI's progress line, the agent's job API).
//
// Thread safety: all members are atomic.
#pragma once

#include <atomic>
#include <cstdint>

namespace coffer {

struct Progress {
  std::atomic<uint64_t> total{0};      // bytes the operation will cover
  std::atomic<uint64_t> done{0};       // bytes covered so far
  std::atomic<uint64_t> new_bytes{0};  // backup: plaintext of new chunks so far
};

}  // namespace coffer

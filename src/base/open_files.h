// The process's limit on open file descriptors.
#pragma once

#include <cstdint>

namespace coffer {

// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard
// limit, capped at kOpenFileLimitCap; never lowers it. Many systems start
// processes at a soft limit of 1024 with a far higher hard limit, and a
// local store holds a descriptor for each object of a batch until it is
// synced (store/local/local_store.h), several batches at once in an agent.
// Returns the soft limit in force afterwards.
inline constexpr uint64_t kOpenFileLimitCap = 1 << 16;
uint64_t RaiseOpenFileLimit();

}  // namespace coffer

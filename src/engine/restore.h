// The restore pipeline: fetch each distinct chunk of a manifest once, open
// and verify it (AEAD tag, then the id recomputed from the plaintext), and
// write it at every offset where the volume holds it. Zero ranges are left
// to the writer (holes in a file). Nothing unverified is ever written.
//
// Threads fetch and verify chunks in parallel and hand them to one writing
// thread; memory is a few chunk buffers per thread, whatever the volume size.
#pragma once

#include <atomic>

#include "base/error.h"
#include "engine/progress.h"
#include "engine/repository.h"
#include "volume/volume.h"

namespace coffer {

struct RestoreOptions {
  // Fetching threads; 0: the store's concurrency (S3: its connections), else
  // cores + 1 (fetches overlap verification).
  unsigned threads = 0;
  Progress* progress = nullptr;
  // When set and it becomes true, the threads stop at their next chunk and
  // RunRestore returns kCancelled without committing the writer.
  const std::atomic<bool>* cancel = nullptr;
};

struct RestoreResult {
  uint64_t bytes = 0;  // the volume size
  uint64_t zero_bytes = 0;
  uint64_t chunks_fetched = 0;  // distinct chunks read from the target
  double seconds = 0;
};

// Errors name the chunk (full id) and its volume offset: kCorruption for a
// chunk that fails verification or is missing, the writer's error (e.g.
// kResourceExhausted for a full disk) otherwise. On error the writer is not
// committed.
Result<RestoreResult> RunRestore(Repository& repo, const Manifest& manifest, VolumeWriter& dest,
                                 const RestoreOptions& options);

}  // namespace coffer

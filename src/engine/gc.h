// Garbage collection (DESIGN §5): mark every chunk any manifest names, then
// sweep chunks that are not live and older than the grace period. The sweep
// raises the target's GC generation before it deletes anything, so caches of
// "known chunks" tagged with the old generation are dropped. It also removes
// the store's temporaries (ObjectStore::CleanTemporaries) of writers that are
// provably gone, and any older than the grace period and an hour.
//
// The caller holds the target's exclusive lock. GC refuses to run when any
// manifest cannot be read: it could not know which chunks that backup needs.
#pragma once

#include <chrono>

#include "base/error.h"
#include "engine/lock.h"
#include "engine/repository.h"

namespace coffer {

struct GcOptions {
  std::chrono::seconds grace{24 * 3600};
  bool dry_run = false;
  // The exclusive lock the caller holds: reasserted after the mark and
  // before anything is deleted, so a GC that was paused long enough for a
  // backup to take the target deletes nothing.
  TargetLock* lock = nullptr;
};

struct GcReport {
  uint64_t backups = 0;
  uint64_t chunks_total = 0;
  uint64_t chunks_live = 0;
  uint64_t chunks_deleted = 0;  // with dry_run: would be deleted
  uint64_t bytes_deleted = 0;
  uint64_t chunks_young = 0;  // unreferenced but within the grace period: kept
  uint64_t bytes_young = 0;
  uint64_t generation = 0;  // the GC generation after the run
  // Temporaries (ObjectStore::CleanTemporaries) deleted, with dry_run:
  // would be: those of provably dead writers, and any older than the grace
  // and an hour. Kept: the others (a live writer's, or a young one of a
  // writer that cannot be judged).
  uint64_t temporaries_deleted = 0, temporaries_bytes_deleted = 0;
  uint64_t temporaries_kept = 0, temporaries_bytes_kept = 0;
};

Result<GcReport> RunGc(Repository& repo, const GcOptions& options);

}  // namespace coffer

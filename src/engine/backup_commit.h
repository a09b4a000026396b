// The checks before a backup writes its manifest (DESIGN §5), internal to
// the engine. A GC that ran during the backup (the target's GC generation
// moved since the backup read what it knows) may have swept chunks the
// backup skipped as stored; then every chunk the manifest names is
// confirmed in the target, and a missing one is read again from the source
// and stored again.
//
// Thread safety: called by the backup's own thread once its chunks are
// durable.
#pragma once

#include "base/error.h"
#include "engine/backup.h"

namespace coffer {

// The caller's gate (options.before_commit), the lock (options.lock
// reasserted), and, if the GC generation moved from `start_generation`,
// every data chunk of `m` confirmed or stored again from `source`. Fills
// *checks. kUnavailable when the source no longer holds a swept chunk's
// bytes or a GC keeps sweeping; else the gate's, the lock's or the store's
// error.
Status CheckCommit(Repository& repo, VolumeReader& source, const BackupOptions& options,
                   const Manifest& m, uint64_t start_generation, CommitChecks* checks);

}  // namespace coffer

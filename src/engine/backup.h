// The backup pipeline (DESIGN §1): read a volume, cut it with FastCDC,
// record zero chunks, hash, compress and seal the rest, store the chunks the
// target does not have yet, and write the manifest last.
//
// The volume is split into the target's segments (a cut is forced at each
// segment boundary); each worker thread takes whole segments and does
// reading, cutting, hashing, compression and sealing of a chunk in one pass
// while the chunk is hot in cache. Sealed chunks go to uploader threads
// through a fixed pool of buffers, so memory stays bounded whatever the
// volume size, and the durable writes of the store overlap the CPU work.
//
// Thread safety: one RunBackup per Repository at a time is the intended use;
// concurrent backups of one target are safe but may both store a chunk.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "core/compress/zstd_codec.h"
#include "engine/known_chunks.h"
#include "engine/lock.h"
#include "engine/progress.h"
#include "engine/repository.h"
#include "volume/volume.h"

namespace coffer {

// How the pipeline ran: counters that say whether its shortcuts were
// taken, for the tests that pin them. They say nothing about the backup.
struct BackupTuning {
  uint64_t parent_cuts = 0;      // data chunks cut where the parent's were, unscanned
  uint64_t handed_over = 0;      // new chunks sealed by a worker other than the one that cut them
  uint64_t read_ahead_used = 0;  // windows continued with bytes read ahead
};

struct BackupOptions {
  std::string volume_id;    // empty: the name
  std::string volume_name;  // the parent is the newest backup with this name
  // The id the manifest gets; nil: a random one. The manager passes the id of
  // its backup row, so that the row and the manifest name the same backup
  // (deleting the row deletes that manifest). A manifest that already has
  // the id is replaced: a retried attempt stores the same backup again.
  Uuid backup_id;
  int zstd_level = kDefaultZstdLevel;
  unsigned workers = 0;    // CPU threads; 0: one per core
  unsigned uploaders = 0;  // concurrent Puts; 0: the store's concurrency, else 4
  // How many bytes each worker reads ahead of the window it cuts, on a
  // thread of its own, so that waiting for the source overlaps the work: a
  // multiple of 4 KiB; 0 reads only when the window runs out. The bytes
  // stored do not depend on it.
  size_t read_ahead = size_t(2) << 20;
  // Ids known to be stored (DESIGN §1): those the parent's manifest names,
  // and those of `known_chunks` when set. Neither is asked about nor stored;
  // both count as not new. When the backup succeeds, the ids of its manifest
  // are added to `known_chunks` (the caller saves it). Prepared and saved by
  // the caller, which holds the target's lock (see known_chunks.h).
  KnownChunkCache* known_chunks = nullptr;
  // When set, the summaries of the target's backups (to find the parent)
  // are taken from it where it has them, and it is updated; the caller
  // loads and saves it.
  SummaryCache* summary_cache = nullptr;
  // What to do with an id that is not known: ask the store first (Head) and
  // store it only if absent, or store it at once (a Put of an existing id
  // rewrites the same bytes: convergent encryption). Unset: ask where a
  // request costs nothing (a local directory: a stat, and new_bytes stays
  // exact when nothing is known), store at once where every request is
  // billed (S3: the known-chunks cache is what saves the upload there).
  std::optional<bool> head_unknown_chunks;
  Progress* progress = nullptr;
  // When set and it becomes true, the workers and uploaders stop at their
  // next chunk and RunBackup returns kCancelled without writing a manifest
  // (the chunks already stored stay, unreferenced, for gc or a retry).
  const std::atomic<bool>* cancel = nullptr;
  // The target's lock the caller holds (engine/lock.h). Reasserted just
  // before the manifest is written: a lock that was broken while this
  // process did not refresh it is put back, or the backup fails.
  TargetLock* lock = nullptr;
  // Called once every chunk is durable, before the commit checks and the
  // manifest (the agent asks the manager whether its attempt may still
  // commit). An error ends the backup with nothing more written.
  std::function<Status()> before_commit;
  // When set, filled in when the backup succeeds with how the pipeline ran
  // (tests read it; a user has no use for it).
  BackupTuning* tuning = nullptr;
};

// What the checks before the manifest found (DESIGN §5). A GC that ran
// during the backup (the target's GC generation moved since the backup read
// what it knows) may have swept chunks the backup skipped as stored; then
// every chunk the manifest names is confirmed in the target, and a missing
// one is read again from the source and stored again.
struct CommitChecks {
  uint64_t generation_at_start = 0;
  uint64_t generation_at_commit = 0;
  uint64_t chunks_confirmed = 0;  // looked for because the generation moved
  uint64_t chunks_restored = 0;   // found missing and stored again from the source
};

struct BackupResult {
  ManifestSummary summary;  // backup id, sizes, counts, parent; stored_bytes = chunks
  uint64_t zero_chunks = 0;
  uint64_t manifest_bytes = 0;  // the sealed manifest, also written to the target
  // The sealed manifest's first bytes (at most kManifestSummaryMaxRead): what
  // a summary read gets, for SummaryCache::Put.
  Bytes manifest_head;
  CommitChecks commit;
  double seconds = 0;
  // The size of the known set after the backup (RunBackupSession sets it).
  uint64_t known_chunks = 0;
  // Temporaries of dead writers removed before the backup (RunBackupSession).
  TemporaryReport temporaries;
};

Result<BackupResult> RunBackup(Repository& repo, VolumeReader& source,
                               const BackupOptions& options);

}  // namespace coffer

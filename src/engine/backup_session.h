// A backup session: what the CLI and the agent both do around RunBackup,
// written once. A backup learns which chunks its target already stores and
// the summaries of the target's earlier backups (to find its parent) from a
// BackupMemory kept between backups — files under the user's cache
// directory for the CLI, the agent's memory for the agent (DESIGN §6: the
// agent keeps nothing of a target on disk) — and gives back what it learned,
// whether or not it completed. Its figures are reported the same way by
// both (BackupFigures).
//
//   FileBackupMemory memory(root, TargetLocation(...));   // or the agent's
//   BackupSession s{options, &memory, [](auto line) { log(line); }};
//   auto r = RunBackupSession(repo, source, s);           // under the lock
//   BackupFigures f = FiguresOf(*r);
//
// Safety (DESIGN §5): a known set is tagged with the target's GC
// generation and used only while it matches; the session checks it out
// under the caller's target lock, so no sweep runs before the manifest
// names what the backup skipped.
//
// Thread safety: a session is one backup; memories say their own.
#pragma once

#include <functional>
#include <string>

#include "engine/backup.h"
#include "engine/known_chunks.h"
#include "engine/repository.h"

namespace coffer {

class BackupMemory {
 public:
  virtual ~BackupMemory() = default;
  // The chunks `repo` is known to store, for one backup; `*note` says
  // where they came from ("12 listed in the target").
  virtual Result<KnownChunkCache> CheckoutKnown(Repository& repo, std::string* note) = 0;
  virtual SummaryCache CheckoutSummaries(Repository& repo) = 0;
  // After the backup, completed or not: what it used and learned is still
  // true (a failed backup adds nothing a manifest names, and the
  // generation tag retires what a sweep may remove). A failure to keep it
  // costs requests next time, nothing more.
  virtual Status Keep(const KnownChunkCache& known, const SummaryCache& summaries) = 0;
};

// The CLI's memory: <root>/<target uuid>/… files (engine/known_chunks.h),
// found by the target's location. Written atomically; one process at a time
// per file is enough (a concurrent writer loses nothing but hits).
class FileBackupMemory : public BackupMemory {
 public:
  FileBackupMemory(std::string root, std::string location)
      : root_(std::move(root)), location_(std::move(location)) {}

  Result<KnownChunkCache> CheckoutKnown(Repository& repo, std::string* note) override;
  SummaryCache CheckoutSummaries(Repository& repo) override;
  Status Keep(const KnownChunkCache& known, const SummaryCache& summaries) override;

  // What the known-chunks file was when it was checked out, and where.
  CacheState state() const { return state_; }
  const std::string& path() const { return path_; }

 private:
  std::string root_, location_, path_;
  CacheState state_ = CacheState::kMissing;
};

struct BackupSession {
  // The backup's options; the session sets known_chunks and summary_cache.
  BackupOptions options;
  BackupMemory* memory = nullptr;  // null: only the parent's chunks are known
  // Lines for the job log (where the known chunks came from), and warnings
  // (a memory that could not be kept).
  std::function<void(const std::string&)> note, warn;
};

// The figures of a completed backup, as the CLI's --json and the agent's
// report both give them.
struct BackupFigures {
  std::string backup_id, parent_id;  // parent_id "" for a full backup
  std::string target_id, volume_id, volume_name;
  uint64_t logical_bytes = 0, zero_bytes = 0, new_bytes = 0;
  uint64_t stored_bytes = 0;  // new chunks' objects and the manifest
  uint64_t chunks = 0, zero_chunks = 0, new_chunks = 0;
  uint64_t known_chunks = 0;  // in the known set after the backup
  double seconds = 0;
  CommitChecks commit;
};
BackupFigures FiguresOf(const BackupResult& r);

// "removed 3 temporaries (12 MiB) left by writers that were killed"
std::string DescribeReclaimed(const TemporaryReport& r);

// Runs one backup of `source` into `repo` with the session's memory, after
// removing the temporaries of writers that are provably dead
// (ObjectStore::CleanTemporaries; said in a note, counted in the result).
// Call it holding the target's lock (engine/lock.h).
Result<BackupResult> RunBackupSession(Repository& repo, VolumeReader& source,
                                      const BackupSession& session);

}  // namespace coffer

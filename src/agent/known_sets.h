// KnownChunkSets: the chunk ids each target is known to store (and the
// summaries of its backups), kept in the
// agent's memory for as long as it runs, so that a backup job neither asks
// the store about each new chunk (on S3 a HEAD is a billed request) nor
// uploads again what a backup of another volume already stored. The CLI
// keeps the same set in a file (engine/known_chunks.h); the agent keeps
// nothing of a target on disk (DESIGN §6), so it holds the set in memory.
//
//   KnownChunkSets sets;                       // one per agent
//   auto memory = sets.For(address);           // a BackupMemory for one job
//   session.memory = memory.get();             // RunBackupSession checks out
//                                              // and returns the sets
//
// Safety (DESIGN §5): a set is tagged with the target's GC generation, which
// a sweep raises before it deletes anything. Checkout reads the generation
// and gives the remembered set only when it matches; otherwise it lists the
// target's chunks (one request per 1000 chunks). The manager never runs a
// backup and a sweep of one target at the same time, so ids valid when a job
// starts stay valid until its manifest names them. Return keeps the ids only
// for the generation they were learned in.
//
// Memory: 32 bytes per distinct chunk of each target the agent has backed up
// to (about 32 MiB per TiB of unique data at 1 MiB chunks), plus one copy
// per running backup job.
//
// Thread safety: Checkout and Return may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "base/error.h"
#include "base/uuid.h"
#include "engine/backup_session.h"
#include "engine/known_chunks.h"
#include "engine/repository.h"

namespace coffer::agent {

class KnownChunkSets {
 public:
  // The sets of the target at `address` as a backup session's memory
  // (engine/backup_session.h); it must not outlive this object.
  std::unique_ptr<BackupMemory> For(std::string address);

  // A private set for one backup job of `repo`, found at `address` (the
  // target address as the request gives it): the remembered one if it is of
  // this target and its current GC generation, else one rebuilt from a
  // listing of the target. `*listed` (when given) tells which it was.
  Result<KnownChunkCache> Checkout(Repository& repo, const std::string& address,
                                   bool* listed = nullptr);

  // Remembers the ids of `used` (a set from Checkout that a completed backup
  // added its chunks to) for the next job at `address`.
  void Return(const std::string& address, const KnownChunkCache& used);

  // The sealed summaries of a target's backups (engine/known_chunks.h,
  // SummaryCache), so that finding a backup's parent reads only the
  // manifests not seen before: a copy for one job, and the job's copy
  // (which dropped the backups no longer listed) kept for the next one.
  // Manifests never change under their id, so any address will do.
  SummaryCache CheckoutSummaries(const Uuid& target_id);
  void ReturnSummaries(const SummaryCache& used);

 private:
  std::mutex mu_;
  // Keyed by target id and address: a directory and a bucket copied from it
  // share a target id but not their chunks.
  std::map<std::pair<std::string, std::string>, KnownChunkCache> sets_;
  std::map<Uuid, SummaryCache> summaries_;  // by target id
};

}  // namespace coffer::agent

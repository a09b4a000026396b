#include "engine/backup_session.h"

#include "base/text.h"

namespace coffer {

Result<KnownChunkCache> FileBackupMemory::CheckoutKnown(Repository& repo, std::string* note) {
  KnownChunkCache cache(KnownChunkCache::PathFor(root_, repo.config().target_id, location_));
  COFFER_ASSIGN_OR_RETURN(state_, cache.Prepare(repo));
  path_ = cache.path();
  *note = "known chunks: " + std::to_string(cache.size()) +
          (state_ == CacheState::kValid ? " from "
                                        : " listed in the target (the cache file was " +
                                              std::string(CacheStateName(state_)) + "): ") +
          cache.path();
  return cache;
}

SummaryCache FileBackupMemory::CheckoutSummaries(Repository& repo) {
  SummaryCache summaries(SummaryCache::PathFor(root_, repo.config().target_id));
  summaries.Load(repo.config().target_id);
  return summaries;
}

Status FileBackupMemory::Keep(const KnownChunkCache& known, const SummaryCache& summaries) {
  COFFER_RETURN_IF_ERROR(AddContext(known.Save(), "the known-chunks cache was not saved"));
  return AddContext(summaries.Save(), "the summary cache was not saved");
}

BackupFigures FiguresOf(const BackupResult& r) {
  const ManifestSummary& s = r.summary;
  BackupFigures f;
  f.backup_id = s.backup_id.ToString();
  if (!s.parent_id.IsNil()) f.parent_id = s.parent_id.ToString();
  f.target_id = s.target_id.ToString();
  f.volume_id = s.volume_id;
  f.volume_name = s.volume_name;
  f.logical_bytes = s.source_size;
  f.zero_bytes = s.zero_bytes;
  f.new_bytes = s.new_bytes;
  f.stored_bytes = s.stored_bytes + r.manifest_bytes;
  f.chunks = s.chunk_count;
  f.zero_chunks = r.zero_chunks;
  f.new_chunks = s.new_chunks;
  f.known_chunks = r.known_chunks;
  f.seconds = r.seconds;
  f.commit = r.commit;
  return f;
}

std::string DescribeReclaimed(const TemporaryReport& r) {
  return "removed " + std::to_string(r.removed) + " temporar" + (r.removed == 1 ? "y" : "ies") +
         " (" + FormatBytes(r.removed_bytes) + ") left by writers that were killed";
}

Result<BackupResult> RunBackupSession(Repository& repo, VolumeReader& source,
                                      const BackupSession& session) {
  auto note = [&session](const std::string& line) {
    if (session.note) session.note(line);
  };
  // What a killed writer left (a local target's temporaries of a process
  // that has exited) goes before this backup writes its own: a target
  // written by killed backups does not grow by their unpublished batches.
  // Not a reason to fail the backup if it cannot be done.
  TemporaryReport reclaimed;
  if (auto cleaned = repo.store().CleanTemporaries({.dead_writers = true}); !cleaned) {
    if (session.warn) session.warn(cleaned.error().message());
  } else {
    reclaimed = *cleaned;
    if (reclaimed.removed > 0) note(DescribeReclaimed(reclaimed));
  }
  BackupOptions o = session.options;
  if (session.memory == nullptr) {
    o.known_chunks = nullptr;
    o.summary_cache = nullptr;
    auto result = RunBackup(repo, source, o);
    if (result) result->temporaries = reclaimed;
    return result;
  }
  std::string where;
  COFFER_ASSIGN_OR_RETURN(KnownChunkCache known, session.memory->CheckoutKnown(repo, &where));
  note(where);
  SummaryCache summaries = session.memory->CheckoutSummaries(repo);
  o.known_chunks = &known;
  o.summary_cache = &summaries;
  auto result = RunBackup(repo, source, o);
  if (result) {
    // The new backup's summary joins the others for the next run.
    summaries.Put(result->summary.backup_id, result->manifest_head);
    result->known_chunks = known.size();
    result->temporaries = reclaimed;
  }
  if (auto kept = session.memory->Keep(known, summaries); !kept && session.warn) {
    session.warn(kept.error().message());
  }
  return result;
}

}  // namespace coffer

#include "engine/gc.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "base/text.h"
#include "core/format/chunk_object.h"

namespace coffer {
namespace {

void CountTemporaries(const TemporaryReport& t, GcReport& report) {
  report.temporaries_deleted = t.removed;
  report.temporaries_bytes_deleted = t.removed_bytes;
  report.temporaries_kept = t.kept;
  report.temporaries_bytes_kept = t.kept_bytes;
}

}  // namespace

Result<GcReport> RunGc(Repository& repo, const GcOptions& options) {
  GcReport report;
  // Mark. Every manifest must open: a backup whose chunks we cannot see
  // would lose them.
  std::unordered_set<ChunkId, ChunkIdHash> live;
  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids, repo.ListBackupIds());
  for (const Uuid& id : ids) {
    auto m = repo.LoadManifest(id);
    if (!m) {
      if (m.error().code() == ErrorCode::kNotFound) continue;
      return std::unexpected(m.error().WithContext(
          "gc stopped before deleting anything: it cannot know which chunks backup " +
          id.ToString() + " needs"));
    }
    ++report.backups;
    for (const ManifestEntry& e : m->entries) {
      if (!e.zero) live.insert(e.id);
    }
  }

  // Sweep candidates: not live, older than the grace period.
  int64_t now = UnixNow();
  std::vector<std::string> doomed;
  COFFER_RETURN_IF_ERROR(repo.store().List("chunks/", [&](const ObjectInfo& info) -> Status {
    auto id = ParseChunkKey(info.key);
    if (!id) return {};  // not ours to delete
    ++report.chunks_total;
    if (live.contains(*id)) {
      ++report.chunks_live;
    } else if (now - info.mtime < options.grace.count()) {
      ++report.chunks_young;
      report.bytes_young += info.size;
    } else {
      doomed.push_back(info.key);
      ++report.chunks_deleted;
      report.bytes_deleted += info.size;
    }
    return {};
  }));

  // Temporary objects of writers that died mid-write (a backup killed
  // before its batch was published): nothing names them. Those of a writer
  // provably dead go at once; any other only when older than the grace
  // period and than an hour, since a writer this GC does not exclude (on
  // another host, without a lock) may still be at work on it, and a live
  // writer publishes its batch within seconds.
  constexpr int64_t kMinTemporaryAge = 3600;
  TemporaryCleanup cleanup{.dead_writers = true,
                           .min_age = std::max<int64_t>(options.grace.count(), kMinTemporaryAge),
                           .dry_run = options.dry_run,
                           .everywhere = true};
  if (options.dry_run) {
    COFFER_ASSIGN_OR_RETURN(TemporaryReport t, AddContext(repo.store().CleanTemporaries(cleanup),
                                                          "looking for temporary objects"));
    CountTemporaries(t, report);
    COFFER_ASSIGN_OR_RETURN(report.generation, repo.GcGeneration());
    return report;
  }
  if (options.lock != nullptr) {
    COFFER_RETURN_IF_ERROR(
        AddContext(options.lock->Reassert(), "gc stopped before deleting anything"));
  }
  COFFER_ASSIGN_OR_RETURN(TemporaryReport t, AddContext(repo.store().CleanTemporaries(cleanup),
                                                        "removing stale temporary objects"));
  CountTemporaries(t, report);
  if (doomed.empty()) {
    COFFER_ASSIGN_OR_RETURN(report.generation, repo.GcGeneration());
  } else {
    COFFER_ASSIGN_OR_RETURN(report.generation, repo.RaiseGcGeneration());
    constexpr size_t kBatch = 1000;
    for (size_t i = 0; i < doomed.size(); i += kBatch) {
      size_t n = std::min(kBatch, doomed.size() - i);
      COFFER_RETURN_IF_ERROR(repo.store().DeleteMany(std::span(doomed).subspan(i, n)));
    }
  }
  return report;
}

}  // namespace coffer

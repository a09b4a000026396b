// The check in three stages: what the target stores, what its manifests
// reference (each checked against what is stored), and, with read_data,
// every referenced chunk read and verified.
#include "engine/check.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/format/chunk_object.h"

namespace coffer {
namespace {

struct Reference {
  Uuid backup;
  std::string volume;
  uint64_t offset;
  uint32_t length;
};

using StoredChunks = std::unordered_map<ChunkId, uint64_t, ChunkIdHash>;  // id -> object size
using References = std::unordered_map<ChunkId, Reference, ChunkIdHash>;   // first use of each id

std::string Where(const ChunkId& id, const Reference& r) {
  return "chunk " + HexEncode(id) + " (backup " + r.backup.ToString() + ", volume " + r.volume +
         ", offset " + std::to_string(r.offset) + ")";
}

// Every chunk object under chunks/, counted in `report`.
Result<StoredChunks> ListStored(Repository& repo, CheckReport& report) {
  StoredChunks stored;
  COFFER_RETURN_IF_ERROR(repo.store().List("chunks/", [&](const ObjectInfo& info) -> Status {
    auto id = ParseChunkKey(info.key);
    if (!id) {
      report.errors.push_back("unexpected object " + info.key + " under chunks/");
      return {};
    }
    stored[*id] = info.size;
    report.bytes_stored += info.size;
    return {};
  }));
  report.chunks_stored = stored.size();
  return stored;
}

// The chunks of one manifest that `referenced` does not hold yet, added to
// it and each checked against what is stored.
void AddReferences(const Uuid& id, const Manifest& m, const StoredChunks& stored,
                   References& referenced, CheckReport& report) {
  uint64_t offset = 0;
  for (const ManifestEntry& e : m.entries) {
    if (!e.zero && !referenced.contains(e.id)) {
      Reference r{id, m.summary.volume_name, offset, e.length};
      auto it = stored.find(e.id);
      if (it == stored.end()) {
        report.errors.push_back(Where(e.id, r) + " is missing from the target");
        report.integrity_error = true;
      } else if (it->second < kChunkOverhead) {
        report.errors.push_back(Where(e.id, r) + " is truncated (" + std::to_string(it->second) +
                                " bytes)");
        report.integrity_error = true;
      }
      referenced.emplace(e.id, r);
    }
    offset += e.length;
  }
}

// Every manifest opened, and the chunks they reference, each at its first
// use.
Result<References> CheckManifests(Repository& repo, const StoredChunks& stored,
                                  CheckReport& report) {
  References referenced;
  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids, repo.ListBackupIds());
  for (const Uuid& id : ids) {
    auto m = repo.LoadManifest(id);
    if (!m) {
      if (m.error().code() == ErrorCode::kNotFound) continue;  // forgotten meanwhile
      report.errors.push_back("backup " + id.ToString() + " is damaged: " + m.error().message());
      if (m.error().code() == ErrorCode::kCorruption) {
        report.integrity_error = true;
        report.damaged_backups.push_back(id.ToString());
      }
      continue;
    }
    if (m->summary.target_id != repo.config().target_id) {
      report.errors.push_back("backup " + id.ToString() +
                              " is damaged: its manifest belongs to another target");
      report.integrity_error = true;
      report.damaged_backups.push_back(id.ToString());
      continue;
    }
    ++report.backups;
    AddReferences(id, *m, stored, referenced, report);
  }
  report.chunks_referenced = referenced.size();
  for (const auto& [cid, size] : stored) {
    if (!referenced.contains(cid)) ++report.chunks_unreferenced;
  }
  return referenced;
}

// Reads and verifies the referenced chunks that are stored, on threads of
// their own. What is wrong goes to `report`; an error only when a chunk
// could not be read for another reason than its absence.
Status ReadData(Repository& repo, const CheckOptions& options, const StoredChunks& stored,
                const References& referenced, CheckReport& report) {
  std::vector<std::pair<ChunkId, Reference>> todo;
  uint64_t total = 0;
  for (const auto& [cid, ref] : referenced) {
    auto it = stored.find(cid);
    if (it == stored.end()) continue;
    todo.emplace_back(cid, ref);
    total += it->second;
  }
  if (options.progress) options.progress->total = total;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> read{0};
  std::mutex mu;
  std::optional<Error> fatal;
  auto work = [&] {
    Buffer object, plain, scratch;
    while (true) {
      size_t i = next++;
      if (i >= todo.size()) return;
      const auto& [cid, ref] = todo[i];
      auto got = repo.store().Get(ChunkKey(cid), &object);
      if (!got) {
        std::lock_guard lock(mu);
        if (got.error().code() == ErrorCode::kNotFound) {
          report.errors.push_back(Where(cid, ref) + " is missing from the target");
          report.integrity_error = true;
        } else if (!fatal) {
          fatal = got.error().WithContext("reading " + Where(cid, ref));
        }
        continue;
      }
      if (options.progress) options.progress->done += object.size();
      auto st = OpenChunk(repo.keys(), cid, object.view(), ref.length, &plain, &scratch);
      ++read;
      if (!st || plain.size() != ref.length) {
        std::lock_guard lock(mu);
        report.errors.push_back(Where(cid, ref) + ": " +
                                (st ? "holds the wrong number of bytes" : st.error().message()));
        report.integrity_error = true;
      }
    }
  };
  // As for a restore: a latency-bound store's connections, else the cores.
  const unsigned threads = options.threads
                               ? options.threads
                               : repo.store().properties().ConcurrencyOr(
                                     std::max(1u, std::thread::hardware_concurrency()) + 2);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (fatal) return std::unexpected(*fatal);
  report.chunks_read = read;
  return {};
}

}  // namespace

Result<CheckReport> RunCheck(Repository& repo, const CheckOptions& options) {
  CheckReport report;
  COFFER_ASSIGN_OR_RETURN(StoredChunks stored, ListStored(repo, report));
  COFFER_ASSIGN_OR_RETURN(References referenced, CheckManifests(repo, stored, report));
  // Counted as a backup or gc would judge them; nothing is removed.
  COFFER_ASSIGN_OR_RETURN(
      TemporaryReport t,
      AddContext(repo.store().CleanTemporaries(
                     {.dead_writers = true, .dry_run = true, .everywhere = true}),
                 "looking for temporary objects"));
  report.temporaries = t.removed + t.kept;
  report.temporaries_bytes = t.removed_bytes + t.kept_bytes;
  report.temporaries_of_dead_writers = t.removed;
  if (!options.read_data) return report;
  COFFER_RETURN_IF_ERROR(ReadData(repo, options, stored, referenced, report));
  return report;
}

}  // namespace coffer

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

std::string Where(const ChunkId& id, const Reference& r) {
  return "chunk " + HexEncode(id) + " (backup " + r.backup.ToString() + ", volume " + r.volume +
         ", offset " + std::to_string(r.offset) + ")";
}

}  // namespace

Result<CheckReport> RunCheck(Repository& repo, const CheckOptions& options) {
  CheckReport report;
  std::unordered_map<ChunkId, uint64_t, ChunkIdHash> stored;  // id -> object size
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

  std::unordered_map<ChunkId, Reference, ChunkIdHash> referenced;  // first use of each id
  COFFER_ASSIGN_OR_RETURN(std::vector<Uuid> ids, repo.ListBackupIds());
  for (const Uuid& id : ids) {
    auto m = repo.LoadManifest(id);
    if (!m) {
      if (m.error().code() == ErrorCode::kNotFound) continue;  // forgotten meanwhile
      report.errors.push_back(m.error().message());
      if (m.error().code() == ErrorCode::kCorruption) report.integrity_error = true;
      continue;
    }
    ++report.backups;
    if (m->summary.target_id != repo.config().target_id) {
      report.errors.push_back("manifest " + id.ToString() + " belongs to another target");
      report.integrity_error = true;
    }
    uint64_t offset = 0;
    for (const ManifestEntry& e : m->entries) {
      if (!e.zero && !referenced.contains(e.id)) {
        Reference r{id, m->summary.volume_name, offset, e.length};
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
  report.chunks_referenced = referenced.size();
  for (const auto& [cid, size] : stored) {
    if (!referenced.contains(cid)) ++report.chunks_unreferenced;
  }
  if (!options.read_data) return report;

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
  return report;
}

}  // namespace coffer

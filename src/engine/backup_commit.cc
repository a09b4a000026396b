#include "engine/backup_commit.h"

#include <map>
#include <unordered_set>
#include <vector>

#include "base/text.h"
#include "core/format/chunk_object.h"

namespace coffer {
namespace {

using Placed = std::pair<uint64_t, ManifestEntry>;  // a chunk at its volume offset

// The data chunks of `m` that the target does not hold: a LIST of a
// chunks/xx/ folder where it holds two or more of them, else a HEAD.
Result<std::vector<Placed>> MissingChunks(Repository& repo, const Manifest& m,
                                          uint64_t* confirmed) {
  // Each distinct chunk once, at its first offset, grouped by folder.
  std::map<std::string, std::vector<Placed>> by_folder;
  std::unordered_set<ChunkId, ChunkIdHash> seen;
  uint64_t offset = 0;
  for (const ManifestEntry& e : m.entries) {
    if (!e.zero && seen.insert(e.id).second) {
      std::string key = ChunkKey(e.id);
      by_folder[key.substr(0, key.rfind('/') + 1)].emplace_back(offset, e);
    }
    offset += e.length;
  }
  std::vector<Placed> missing;
  for (auto& [folder, chunks] : by_folder) {
    *confirmed += chunks.size();
    if (chunks.size() == 1) {
      auto head = repo.store().Head(ChunkKey(chunks[0].second.id));
      if (head) continue;
      if (head.error().code() != ErrorCode::kNotFound) {
        return std::unexpected(head.error().WithContext("confirming the backup's chunks"));
      }
      missing.push_back(chunks[0]);
      continue;
    }
    std::unordered_set<std::string> present;
    COFFER_RETURN_IF_ERROR(AddContext(repo.store().List(folder,
                                                        [&](const ObjectInfo& info) -> Status {
                                                          present.insert(info.key);
                                                          return {};
                                                        }),
                                      "confirming the backup's chunks"));
    for (auto& c : chunks) {
      if (!present.contains(ChunkKey(c.second.id))) missing.push_back(c);
    }
  }
  return missing;
}

// Reads a chunk's bytes at `offset` from the source again, checks they
// still have its id, and stores it.
Status StoreAgain(Repository& repo, VolumeReader& source, int zstd_level, uint64_t offset,
                  const ManifestEntry& e) {
  const std::string what = "chunk " + HexEncode(e.id) + " (volume offset " +
                           std::to_string(offset) +
                           ") was swept by a GC that ran during this "
                           "backup";
  Bytes plain(e.length);
  COFFER_RETURN_IF_ERROR(AddContext(source.ReadAt(offset, plain.data(), plain.size()),
                                    what + ", and reading it again failed"));
  if (ComputeChunkId(repo.keys(), plain) != e.id) {
    return Unavailable(what +
                       ", and the source no longer holds the same bytes there; no "
                       "manifest was written: run the backup again");
  }
  Bytes sealed(plain.size() + kChunkOverhead);
  SealedChunk out = SealChunk(repo.keys(), e.id, plain, sealed.data(), zstd_level);
  return AddContext(repo.store().Put(ChunkKey(e.id), ByteView(sealed.data(), out.size)),
                    what + ", and storing it again failed");
}

}  // namespace

Status CheckCommit(Repository& repo, VolumeReader& source, const BackupOptions& options,
                   const Manifest& m, uint64_t start_generation, CommitChecks* checks) {
  checks->generation_at_start = start_generation;
  if (options.before_commit) COFFER_RETURN_IF_ERROR(options.before_commit());
  if (options.lock != nullptr) {
    COFFER_RETURN_IF_ERROR(AddContext(options.lock->Reassert(), "before writing the manifest"));
  }
  uint64_t known = start_generation;
  // A sweep raises the generation before it deletes: if it has not moved,
  // no chunk this backup counted on was swept. If it has, confirm them all
  // (and again if it moves while we do).
  for (int round = 0;; ++round) {
    COFFER_ASSIGN_OR_RETURN(uint64_t now,
                            AddContext(repo.GcGeneration(), "reading the GC generation"));
    checks->generation_at_commit = now;
    if (now == known) return {};
    if (round == 3) {
      return Unavailable("a GC keeps sweeping the target while this backup commits (generation " +
                         std::to_string(known) + " → " + std::to_string(now) +
                         "); no manifest was written");
    }
    known = now;
    COFFER_ASSIGN_OR_RETURN(auto missing, MissingChunks(repo, m, &checks->chunks_confirmed));
    for (const auto& [offset, entry] : missing) {
      COFFER_RETURN_IF_ERROR(StoreAgain(repo, source, options.zstd_level, offset, entry));
      ++checks->chunks_restored;
    }
    COFFER_RETURN_IF_ERROR(AddContext(repo.store().Flush(), "storing chunks again"));
  }
}

}  // namespace coffer

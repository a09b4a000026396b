// KnownChunkCache: the chunk ids a target is known to store, kept in a local
// file per target, so that a backup neither asks the store about each chunk
// (a HEAD is a request, and requests cost money) nor uploads again what a
// backup of another volume already stored (DESIGN §1, §5).
//
// The file is <root>/<target uuid>/known-chunks-<16 hex>, where root is
// --cache-dir, else $XDG_CACHE_HOME/coffer, else $HOME/.cache/coffer, and the
// 16 hex digits hash the target's location: a directory and the bucket it
// was copied to with `aws s3 sync` share the target uuid but not their
// chunks, so each gets its own file. Its bytes are in docs/FORMAT.md
// ("Known-chunks cache").
//
// Safety (DESIGN §5): the file carries the target's GC generation, which a
// sweep raises before it deletes anything; ids cached before a sweep are
// never used after it. A file that is missing, of another generation or
// another target, of the wrong length, unsorted or failing its checksum is
// not used. Prepare then rebuilds the set from a listing of the target's
// chunks: what a HEAD per chunk would have learned, at one request per 1000
// chunks. What no cache can know is an object deleted by hand, or a target
// replaced by an older copy at the same address without a sweep; for those,
// --no-cache (or deleting the directory) is the remedy.
//
// Thread safety: Contains may be called from many threads at once; Load,
// Rebuild, Prepare, Add and Save need exclusive access.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/uuid.h"
#include "core/crypto/keys.h"
#include "engine/repository.h"

namespace coffer {

// What Load found in the cache file.
enum class CacheState {
  kValid,       // this target, this generation, intact: its ids are used
  kMissing,     // no file (first backup from this machine, or --cache-dir is new)
  kStale,       // another GC generation: a sweep ran since it was written
  kUnreadable,  // of another target, truncated, corrupt, or not readable
};
// "valid", "missing", "stale", "unreadable".
std::string_view CacheStateName(CacheState state);

class KnownChunkCache {
 public:
  // $XDG_CACHE_HOME/coffer, else $HOME/.cache/coffer; "" if neither is set.
  static std::string DefaultRoot();
  // The file for target `target_id` found at `location` (a canonical
  // directory path, or the S3 endpoint and s3:// address).
  static std::string PathFor(std::string_view root, const Uuid& target_id,
                             std::string_view location);

  explicit KnownChunkCache(std::string path) : path_(std::move(path)) {}

  // Reads the file and keeps its ids if it is kValid for `target_id` at
  // `generation`; otherwise the set is empty. Never fails: a cache that
  // cannot be read is a cache miss, not an error.
  CacheState Load(const Uuid& target_id, uint64_t generation);

  // Replaces the set by the ids of the chunks `store` lists (under
  // "chunks/"), for the target and generation of the last Load.
  Status Rebuild(ObjectStore& store);

  // For a backup of `repo`: reads the target's GC generation, loads the file,
  // and rebuilds the set from the target's listing if the file was not
  // kValid. Returns what the file was. Call it holding the target's lock, so
  // that no sweep runs before the backup's manifest names what it skipped.
  Result<CacheState> Prepare(Repository& repo);

  bool Contains(const ChunkId& id) const;
  // Adds ids (any order, duplicates allowed).
  void Add(std::span<const ChunkId> ids);
  size_t size() const { return ids_.size(); }
  const std::string& path() const { return path_; }
  // The target and GC generation of the last Load (or Prepare).
  const Uuid& target_id() const { return target_id_; }
  uint64_t generation() const { return generation_; }
  std::span<const ChunkId> ids() const { return ids_; }

  // Writes the file atomically (a temporary file beside it, fsynced, renamed
  // over it), creating its directories (mode 0700).
  Status Save() const;

 private:
  std::string path_;
  Uuid target_id_;
  uint64_t generation_ = 0;
  std::vector<ChunkId> ids_;  // sorted, unique
};

// SummaryCache: the sealed summaries of a target's backups as the store
// holds them (the manifest header and the encrypted, authenticated summary
// part: nothing readable without the target key), kept locally so that
// finding a backup's parent costs one listing of manifests/ and a ranged GET
// only for the backups not seen before, instead of a GET per backup in the
// target. A manifest never changes under its id, so a cached summary stays
// right for as long as the listing names its backup; each one is
// authenticated again whenever it is used, and one that fails is read from
// the store instead.
//
// The file is <root>/<target uuid>/summaries (root as for KnownChunkCache);
// its bytes are in docs/FORMAT.md ("Summary cache"). The agent keeps the
// same set in memory (path "").
//
// Thread safety: none; one user at a time.
class SummaryCache {
 public:
  static std::string PathFor(std::string_view root, const Uuid& target_id);

  explicit SummaryCache(std::string path) : path_(std::move(path)) {}

  // Reads the file if it is intact and of `target_id`; otherwise the cache
  // is empty. Never fails. Returns whether the file was used.
  bool Load(const Uuid& target_id);
  // Writes the file atomically, creating its directories (mode 0700). A
  // cache without a path is not written.
  Status Save() const;

  const Uuid& target_id() const { return target_id_; }
  std::optional<ByteView> Find(const Uuid& backup_id) const;
  // Keeps the header and sealed summary at the start of `object` (a prefix
  // of the manifest, as read for its summary).
  void Put(const Uuid& backup_id, ByteView object);
  // Forgets every backup not in `ids` (sorted or not).
  void Retain(std::span<const Uuid> ids);
  size_t size() const { return summaries_.size(); }

 private:
  std::string path_;
  Uuid target_id_;
  std::map<Uuid, Bytes> summaries_;
};

}  // namespace coffer

// What a backup takes from its parent, the newest backup of the same volume
// name (DESIGN §1), internal to the engine: the ids its manifest names,
// which count as stored, and, when it was cut with the same chunker and
// segments, where its chunks lie, so that the cut of an unchanged chunk is
// confirmed without a scan.
//
// Thread safety: read-only once loaded; any thread may use it.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "base/error.h"
#include "core/chunker/fastcdc.h"
#include "engine/repository.h"

namespace coffer {

class BackupParent {
 public:
  // Finds the parent among the target's backups (their summaries from
  // `cache` where it has them, which is updated) and reads its manifest.
  // No backup of that name: an empty parent. Errors are the store's.
  static Result<BackupParent> Load(Repository& repo, const std::string& volume_name,
                                   SummaryCache* cache);

  const Uuid& id() const { return id_; }  // nil: no parent
  // Whether the parent's manifest names the chunk: it is stored.
  bool Contains(const ChunkId& id) const { return ids_.contains(id); }
  // The cut `cdc` would make at `pos` (the chunk's bytes at p, up to
  // `bound`, the limit NextCut would be given) if the parent's chunk there
  // is unchanged, with its id in *id; 0 if it is not (or there is none).
  size_t Cut(const FastCdc& cdc, const TargetKeys& keys, uint64_t pos, const uint8_t* p,
             size_t bound, ChunkId* id) const;

 private:
  // A data chunk of the parent, in volume order.
  struct Chunk {
    uint64_t offset;
    uint32_t length;
    ChunkId id;
  };

  Uuid id_;
  std::unordered_set<ChunkId, ChunkIdHash> ids_;
  std::vector<Chunk> chunks_;  // empty unless cut as this backup is
};

}  // namespace coffer

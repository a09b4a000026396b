#include "engine/backup_parent.h"

#include <algorithm>

#include "core/format/chunk_object.h"

namespace coffer {

Result<BackupParent> BackupParent::Load(Repository& repo, const std::string& volume_name,
                                        SummaryCache* cache) {
  BackupParent out;
  // A damaged manifest (`coffer check` reports it) is no parent: the newest
  // healthy one of the volume is, or none, which costs this backup reads
  // and uploads, not correctness.
  std::vector<DamagedBackup> damaged;
  COFFER_ASSIGN_OR_RETURN(std::vector<ManifestSummary> summaries,
                          repo.ListSummaries(cache, &damaged));
  const ManifestSummary* parent = nullptr;
  for (const ManifestSummary& s : summaries) {
    if (s.volume_name == volume_name) parent = &s;  // oldest first: keeps the newest
  }
  if (parent == nullptr) return out;
  COFFER_ASSIGN_OR_RETURN(Manifest m, repo.LoadManifest(parent->backup_id));
  out.id_ = parent->backup_id;
  out.ids_.reserve(m.entries.size());
  for (const ManifestEntry& e : m.entries) {
    if (!e.zero) out.ids_.insert(e.id);
  }
  const ChunkerParams& mine = repo.config().chunker;
  const ChunkerParams& theirs = m.summary.chunker;
  if (theirs.min_size == mine.min_size && theirs.avg_size == mine.avg_size &&
      theirs.max_size == mine.max_size && m.summary.segment_size == repo.config().segment_size) {
    out.chunks_.reserve(m.entries.size());
    uint64_t offset = 0;
    for (const ManifestEntry& e : m.entries) {
      if (!e.zero) out.chunks_.push_back(Chunk{offset, e.length, e.id});
      offset += e.length;
    }
  }
  return out;
}

// FastCDC's cut for the chunk at `pos` is a function of its bytes alone (up
// to `bound`). If the parent has a chunk of length L at the same offset with
// the same id, these are the same bytes, so no candidate before L passes
// here either (none did there: the parent's scan tested them all), and the
// cut is L exactly when L passes its own test or L is the bound. The id is
// computed either way; a changed chunk costs one extra hash of it.
size_t BackupParent::Cut(const FastCdc& cdc, const TargetKeys& keys, uint64_t pos, const uint8_t* p,
                         size_t bound, ChunkId* id) const {
  auto it = std::lower_bound(chunks_.begin(), chunks_.end(), pos,
                             [](const Chunk& c, uint64_t o) { return c.offset < o; });
  if (it == chunks_.end() || it->offset != pos || it->length > bound) return 0;
  const size_t len = it->length;
  if (len != bound && !cdc.PassesAt(p, len)) return 0;
  *id = ComputeChunkId(keys, ByteView(p, len));
  return *id == it->id ? len : 0;
}

}  // namespace coffer

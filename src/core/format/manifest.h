// Manifests ("manifests/<backup uuid>"): what one backup of one volume holds.
//
// A manifest object has two sealed parts under K_meta with random nonces:
// the summary (ids, names, sizes, times, counts) and the chunk list
// (zstd-compressed). `ls` reads only the summary with a ranged read; restore
// and GC read both. Both parts bind the backup uuid in their associated
// data, and the chunk list also binds the summary's tag, so parts cannot be
// swapped between manifests. Bytes in docs/FORMAT.md ("manifest").
//
// Thread safety: values and pure functions.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "base/uuid.h"
#include "core/chunker/fastcdc.h"
#include "core/crypto/keys.h"

namespace coffer {

struct ManifestEntry {
  ChunkId id{};  // meaningless for zero entries
  uint32_t length = 0;
  bool zero = false;
};

struct ManifestSummary {
  Uuid backup_id;
  Uuid target_id;
  Uuid parent_id;          // nil if the backup had no parent
  int64_t created_at = 0;  // microseconds since the epoch
  std::string volume_id;
  std::string volume_name;
  uint64_t source_size = 0;
  ChunkerParams chunker;
  uint64_t segment_size = 0;
  // As counted by the backup that wrote the manifest.
  uint64_t zero_bytes = 0;
  uint64_t new_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t chunk_count = 0;  // entries in the chunk list, zero entries included
  uint64_t new_chunks = 0;
  uint64_t duration_ms = 0;
};

struct Manifest {
  ManifestSummary summary;
  std::vector<ManifestEntry> entries;
};

// A summary read never needs more than this many bytes from the object start
// (the header declares the summary's length; names are limited to 4 KiB).
inline constexpr size_t kManifestSummaryMaxRead = 16 * 1024;

Bytes SealManifest(const TargetKeys& keys, const Manifest& manifest);

// How many bytes at the start of a manifest object hold its header and
// sealed summary (what OpenManifestSummary needs), as the header declares;
// at most object_prefix.size(), and all of it when too short to tell.
size_t ManifestSummaryPrefixLength(ByteView object_prefix);

// Opens the summary alone from a prefix of the object (at least the header
// and the sealed summary). kCorruption if anything fails to verify.
Result<ManifestSummary> OpenManifestSummary(const TargetKeys& keys, const Uuid& backup_id,
                                            ByteView object_prefix);

// Opens the whole manifest and checks that the entries add up to the source
// size and that the summary's counts match.
Result<Manifest> OpenManifest(const TargetKeys& keys, const Uuid& backup_id, ByteView object);

std::string ManifestKey(const Uuid& backup_id);
inline constexpr std::string_view kManifestPrefix = "manifests/";

}  // namespace coffer

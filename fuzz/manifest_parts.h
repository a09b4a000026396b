// The two sealed parts of a manifest (docs/FORMAT.md, "manifest") built from
// and taken apart into their plaintexts, for the fuzz target that feeds the
// manifest decoder arbitrary authenticated parts and for the tool that makes
// its seeds from real manifests. A second writer of the format, kept to
// FORMAT.md rather than to manifest.cc's internals.
//
// Thread safety: pure functions.
#pragma once

#include <optional>

#include "base/bytes.h"
#include "base/uuid.h"
#include "core/crypto/keys.h"

namespace coffer::fuzz {

struct ManifestParts {
  Bytes summary;     // the encoded summary
  Bytes chunk_list;  // the zstd frame of the entries
};

// header (12) | nonce | sealed summary | nonce | sealed chunk list, each
// part bound to the header and backup id, the list also to the summary's tag.
Bytes SealManifestParts(const TargetKeys& keys, const Uuid& backup_id, const ManifestParts& parts);

// The plaintexts of a well-formed manifest, or nothing.
std::optional<ManifestParts> OpenManifestParts(const TargetKeys& keys, const Uuid& backup_id,
                                               ByteView object);

}  // namespace coffer::fuzz

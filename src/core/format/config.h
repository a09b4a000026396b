// The target's "config" object: target uuid, format version, chunker
// parameters, authenticated with a BLAKE3 MAC under K_config. Its exact bytes
// are in docs/FORMAT.md ("config"); keep the two in step.
//
// The fields are plain so a reader can refuse an unknown format version
// before asking for a passphrase; VerifyConfig checks the MAC once the
// target key is known.
#pragma once

#include "base/bytes.h"
#include "base/error.h"
#include "base/uuid.h"
#include "core/chunker/fastcdc.h"
#include "core/crypto/keys.h"

namespace coffer {

inline constexpr uint8_t kFormatVersion = 1;

struct TargetConfig {
  Uuid target_id;
  int64_t created_at = 0;
  ChunkerParams chunker;
  // Chunking restarts every `segment_size` bytes of a volume (a cut is forced
  // there), so segments can be chunked in parallel with deterministic cut
  // points. 0 means one segment.
  uint64_t segment_size = 0;
};

Bytes EncodeConfig(const TargetConfig& config, const TargetKeys& keys);

// Parses the fields without the key: kCorruption if malformed, kInvalidArgument
// (naming the version) if the format version is newer than this build knows.
Result<TargetConfig> ParseConfig(ByteView object);

// kCorruption unless the MAC matches under these keys.
Status VerifyConfig(ByteView object, const TargetKeys& keys);

}  // namespace coffer

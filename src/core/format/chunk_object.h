// Sealed chunk objects ("chunks/<2 hex>/<64 hex id>"): an 8-byte header, the
// body (zstd-compressed plaintext when that is smaller, else the plaintext)
// encrypted with XChaCha20-Poly1305 under K_enc, and the 16-byte tag. The
// nonce is not stored: it is derived from the id (DESIGN §2). The associated
// data is the header and the id, so a chunk cannot be renamed or have its
// flags changed. Bytes in docs/FORMAT.md ("chunk").
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "core/crypto/keys.h"

namespace coffer {

inline constexpr size_t kChunkHeaderLen = 8;
inline constexpr size_t kChunkOverhead = kChunkHeaderLen + kAeadTagLen;

struct SealedChunk {
  size_t size = 0;  // bytes of the object written to `out`
  bool compressed = false;
};

// Seals `plain` (whose id is `id`) into out[0 .. plain.size() + kChunkOverhead).
SealedChunk SealChunk(const TargetKeys& keys, const ChunkId& id, ByteView plain, uint8_t* out,
                      int zstd_level);

// Verifies and opens a chunk object into *plain: checks the header, the AEAD
// tag, decompresses (at most `max_plain` bytes) and recomputes the id from
// the plaintext. kCorruption with the reason if any check fails; *plain then
// holds nothing usable. `scratch` is reused across calls to avoid allocation.
Status OpenChunk(const TargetKeys& keys, const ChunkId& id, ByteView object, size_t max_plain,
                 Buffer* plain, Buffer* scratch);

// The same, with the plaintext in out[0 .. max_plain), which the caller
// provides (placed where it wants it: a restore aligns it for O_DIRECT).
// Returns the plaintext's length.
Result<size_t> OpenChunkInto(const TargetKeys& keys, const ChunkId& id, ByteView object,
                             size_t max_plain, uint8_t* out, Buffer* scratch);

// "chunks/ab/ab01…" for an id, and back (nothing for any other key).
std::string ChunkKey(const ChunkId& id);
std::optional<ChunkId> ParseChunkKey(std::string_view key);

}  // namespace coffer

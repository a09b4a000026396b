// A target's key hierarchy (DESIGN §2): one random 32-byte target key TK and
// the subkeys derived from it with BLAKE3 derive_key and fixed contexts.
//
//   K_id     "coffer 2026-11 chunk id"        chunk id = BLAKE3-keyed(K_id, plaintext)
//   K_nonce  "coffer 2026-11 chunk nonce"     nonce = BLAKE3-keyed(K_nonce, id)[0..24]
//   K_enc    "coffer 2026-11 chunk key"       XChaCha20-Poly1305 key for chunks
//   K_meta   "coffer 2026-11 metadata key"    XChaCha20-Poly1305 key for manifests
//   K_gear   "coffer 2026-11 chunker gear"    seeds FastCDC's gear table
//   K_config "coffer 2026-11 config mac"      BLAKE3-keyed MAC of the config object
//
// K_config is Coffer's addition to the table in DESIGN §2: the config must be
// readable before a key slot is opened (to check the format version), so it
// is authenticated with a MAC rather than sealed.
//
// Thread safety: values; all functions are pure.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"
#include "core/crypto/aead.h"
#include "core/crypto/secret.h"

namespace coffer {

inline constexpr size_t kChunkIdLen = 32;
using ChunkId = std::array<uint8_t, kChunkIdLen>;

struct ChunkIdHash {
  size_t operator()(const ChunkId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // already uniformly random
    return h;
  }
};

struct TargetKeys {
  SecretKey target_key;  // TK
  SecretKey id_key;      // K_id
  SecretKey nonce_key;   // K_nonce
  SecretKey enc_key;     // K_enc
  SecretKey meta_key;    // K_meta
  SecretKey gear_key;    // K_gear
  SecretKey config_key;  // K_config

  static TargetKeys Derive(const SecretKey& target_key);
};

ChunkId ComputeChunkId(const TargetKeys& keys, ByteView plaintext);
void ChunkNonce(const TargetKeys& keys, const ChunkId& id, uint8_t nonce[kAeadNonceLen]);
// The 256 gear values: BLAKE3-keyed(K_gear, empty input), extended to 2048
// bytes, read as 256 little-endian u64.
std::array<uint64_t, 256> GearTableFor(const TargetKeys& keys);

}  // namespace coffer

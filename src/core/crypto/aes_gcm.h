// AES-256-GCM (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag,
// through OpenSSL's EVP interface. Coffer uses it for one thing: wrapping the
// manager's secrets at rest under its master key (DESIGN §2; see
// meta/secret_box.h). Chunks and manifests use XChaCha20-Poly1305 (aead.h).
//
// A 96-bit nonce must never repeat under one key; callers draw it at random,
// which is safe for far more messages than a metadata database will ever
// seal (NIST's bound is 2^32 per key).
//
// Thread safety: all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "core/crypto/secret.h"

namespace coffer {

inline constexpr size_t kAesGcmNonceLen = 12;
inline constexpr size_t kAesGcmTagLen = 16;

// Encrypts `plain` under `key` (AES-256) and writes ciphertext || tag
// (plain.size() + 16 bytes) to `out`; `ad` is authenticated, not encrypted.
void AesGcmSeal(const SecretKey& key, const uint8_t nonce[kAesGcmNonceLen], ByteView ad,
                ByteView plain, uint8_t* out);

// Verifies and decrypts `sealed` (ciphertext || tag) into `out`
// (sealed.size() - 16 bytes). Returns false if `sealed` is shorter than a tag
// or the tag does not verify; `out` is then wiped, so nothing unauthenticated
// is ever returned.
[[nodiscard]] bool AesGcmOpen(const SecretKey& key, const uint8_t nonce[kAesGcmNonceLen],
                              ByteView ad, ByteView sealed, uint8_t* out);

}  // namespace coffer

// XChaCha20-Poly1305 (IETF variant, as libsodium's
// crypto_aead_xchacha20poly1305_ietf_*): the AEAD that seals every chunk and
// every piece of metadata.
//
// XChaCha20-Poly1305 is HChaCha20(key, nonce[0..16]) giving a subkey, then
// the RFC 8439 ChaCha20-Poly1305 AEAD under that subkey with the nonce
// 00 00 00 00 || nonce[16..24]. AeadSeal/AeadOpen compute HChaCha20 with
// libsodium and the AEAD with OpenSSL's ChaCha20-Poly1305, which is about
// 2.5x faster than libsodium's portable code on this class of CPU; the bytes
// are identical (aead_test.cc checks them against libsodium on many inputs).
//
// Thread safety: all functions may be called concurrently.
#pragma once

#include <cstdint>

#include "base/bytes.h"
#include "core/crypto/secret.h"

namespace coffer {

inline constexpr size_t kAeadNonceLen = 24;
inline constexpr size_t kAeadTagLen = 16;

// Encrypts `plain` and writes ciphertext || tag (plain.size() + 16 bytes) to
// `out`, which may be plain.data() itself (in place).
void AeadSeal(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad, ByteView plain,
              uint8_t* out);

// Verifies and decrypts `sealed` (ciphertext || tag) into `out`
// (sealed.size() - 16 bytes; may be sealed.data() itself). Returns false if
// the tag does not verify, in which case `out` is wiped: nothing
// unauthenticated is ever returned.
[[nodiscard]] bool AeadOpen(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad,
                            ByteView sealed, uint8_t* out);

// libsodium's own implementation of the same construction, for tests and
// benchmarks that prove the fast path produces the same bytes.
void AeadSealReference(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad,
                       ByteView plain, uint8_t* out);
[[nodiscard]] bool AeadOpenReference(const SecretKey& key, const uint8_t nonce[kAeadNonceLen],
                                     ByteView ad, ByteView sealed, uint8_t* out);

}  // namespace coffer

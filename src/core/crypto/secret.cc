#include "core/crypto/secret.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "core/hash/blake3.h"

namespace coffer {

void InitCrypto() {
  static const bool ok = [] { return sodium_init() >= 0; }();
  if (!ok) {
    std::fprintf(stderr, "coffer: libsodium failed to initialise\n");
    std::abort();
  }
}

void Wipe(void* p, size_t n) { sodium_memzero(p, n); }

bool SecretsEqual(std::string_view a, std::string_view b) {
  uint8_t ha[32], hb[32];
  Blake3Hash(AsBytes(a), ha);
  Blake3Hash(AsBytes(b), hb);
  return sodium_memcmp(ha, hb, sizeof ha) == 0;
}

SecretKey SecretKey::Random() {
  InitCrypto();
  SecretKey k;
  randombytes_buf(k.data(), kKeyLen);
  return k;
}

}  // namespace coffer

#include "core/crypto/secret.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace coffer {

void InitCrypto() {
  static const bool ok = [] { return sodium_init() >= 0; }();
  if (!ok) {
    std::fprintf(stderr, "coffer: libsodium failed to initialise\n");
    std::abort();
  }
}

void Wipe(void* p, size_t n) { sodium_memzero(p, n); }

SecretKey SecretKey::Random() {
  InitCrypto();
  SecretKey k;
  randombytes_buf(k.data(), kKeyLen);
  return k;
}

}  // namespace coffer

#include "core/crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace coffer {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "coffer: OpenSSL AES-256-GCM failed in %s\n", what);
  std::abort();
}

// Secrets are a few dozen bytes; anything near INT_MAX is a caller bug.
int IntLen(size_t n) {
  if (n > size_t(INT_MAX)) Fail("length check");
  return int(n);
}

}  // namespace

void AesGcmSeal(const SecretKey& key, const uint8_t nonce[kAesGcmNonceLen], ByteView ad,
                ByteView plain, uint8_t* out) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fail("EVP_CIPHER_CTX_new");
  int outl = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1) {
    Fail("EVP_EncryptInit_ex");
  }
  if (!ad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &outl, ad.data(), IntLen(ad.size())) != 1) {
    Fail("EVP_EncryptUpdate(ad)");
  }
  if (!plain.empty() &&
      EVP_EncryptUpdate(ctx.get(), out, &outl, plain.data(), IntLen(plain.size())) != 1) {
    Fail("EVP_EncryptUpdate");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out + plain.size(), &outl) != 1) Fail("EVP_EncryptFinal_ex");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(kAesGcmTagLen),
                          out + plain.size()) != 1) {
    Fail("EVP_CTRL_GCM_GET_TAG");
  }
}

bool AesGcmOpen(const SecretKey& key, const uint8_t nonce[kAesGcmNonceLen], ByteView ad,
                ByteView sealed, uint8_t* out) {
  if (sealed.size() < kAesGcmTagLen) return false;
  size_t n = sealed.size() - kAesGcmTagLen;
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Fail("EVP_CIPHER_CTX_new");
  int outl = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) != 1) {
    Fail("EVP_DecryptInit_ex");
  }
  // OpenSSL takes the expected tag as a non-const pointer but only reads it.
  uint8_t tag[kAesGcmTagLen];
  std::copy(sealed.begin() + ptrdiff_t(n), sealed.end(), tag);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(kAesGcmTagLen), tag) != 1) {
    Fail("EVP_CTRL_GCM_SET_TAG");
  }
  bool ok = true;
  if (!ad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &outl, ad.data(), IntLen(ad.size())) != 1) {
    ok = false;
  }
  if (ok && n > 0 && EVP_DecryptUpdate(ctx.get(), out, &outl, sealed.data(), IntLen(n)) != 1) {
    ok = false;
  }
  if (ok && EVP_DecryptFinal_ex(ctx.get(), out + n, &outl) != 1) ok = false;
  if (!ok) Wipe(out, n);
  return ok;
}

}  // namespace coffer

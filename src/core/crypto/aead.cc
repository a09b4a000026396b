#include "core/crypto/aead.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace coffer {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

EVP_CIPHER_CTX* ThreadCtx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "coffer: OpenSSL ChaCha20-Poly1305 failed in %s\n", what);
  std::abort();
}

// The IETF ChaCha20-Poly1305 subkey and nonce for an XChaCha20 nonce.
struct Derived {
  uint8_t subkey[32];
  uint8_t nonce[12];
  ~Derived() { Wipe(subkey, sizeof subkey); }
};

void Derive(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], Derived* d) {
  crypto_core_hchacha20(d->subkey, nonce, key.data(), nullptr);
  std::memset(d->nonce, 0, 4);
  std::memcpy(d->nonce + 4, nonce + 16, 8);
}

// OpenSSL takes int lengths; chunks and manifests are far below 2 GiB, but
// feed in slices anyway so no length can overflow.
bool Update(EVP_CIPHER_CTX* ctx, bool encrypt, uint8_t* out, const uint8_t* in, size_t n) {
  constexpr size_t kSlice = size_t(1) << 30;
  while (n > 0) {
    int len = int(std::min(n, kSlice)), outl = 0;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, out, &outl, in, len)
                     : EVP_DecryptUpdate(ctx, out, &outl, in, len);
    if (ok != 1 || outl != len) return false;
    in += len;
    if (out != nullptr) out += len;
    n -= size_t(len);
  }
  return true;
}

}  // namespace

void AeadSeal(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad, ByteView plain,
              uint8_t* out) {
  InitCrypto();
  Derived d;
  Derive(key, nonce, &d);
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, d.subkey, d.nonce) != 1) {
    Fail("init");
  }
  int outl = 0;
  if (!ad.empty() && EVP_EncryptUpdate(ctx, nullptr, &outl, ad.data(), int(ad.size())) != 1) {
    Fail("associated data");
  }
  if (!Update(ctx, true, out, plain.data(), plain.size())) Fail("update");
  if (EVP_EncryptFinal_ex(ctx, out + plain.size(), &outl) != 1) Fail("final");
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, int(kAeadTagLen), out + plain.size()) != 1) {
    Fail("tag");
  }
}

bool AeadOpen(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad,
              ByteView sealed, uint8_t* out) {
  if (sealed.size() < kAeadTagLen) return false;
  InitCrypto();
  size_t n = sealed.size() - kAeadTagLen;
  uint8_t tag[kAeadTagLen];
  std::memcpy(tag, sealed.data() + n, kAeadTagLen);  // `out` may overwrite sealed
  Derived d;
  Derive(key, nonce, &d);
  EVP_CIPHER_CTX* ctx = ThreadCtx();
  bool ok = EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, d.subkey, d.nonce) == 1;
  int outl = 0;
  if (ok && !ad.empty()) {
    ok = EVP_DecryptUpdate(ctx, nullptr, &outl, ad.data(), int(ad.size())) == 1;
  }
  ok = ok && Update(ctx, false, out, sealed.data(), n);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, int(kAeadTagLen), tag) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx, out + n, &outl) == 1;
  if (!ok) Wipe(out, n);
  return ok;
}

void AeadSealReference(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad,
                       ByteView plain, uint8_t* out) {
  InitCrypto();
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, plain.data(), plain.size(), ad.data(),
                                             ad.size(), nullptr, nonce, key.data());
}

bool AeadOpenReference(const SecretKey& key, const uint8_t nonce[kAeadNonceLen], ByteView ad,
                       ByteView sealed, uint8_t* out) {
  InitCrypto();
  unsigned long long mlen = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, nullptr, sealed.data(),
                                                    sealed.size(), ad.data(), ad.size(), nonce,
                                                    key.data()) == 0;
}

}  // namespace coffer

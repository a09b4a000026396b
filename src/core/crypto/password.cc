#include "core/crypto/password.h"

#include <sodium.h>

namespace coffer {

Argon2Params DefaultArgon2Params() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

Status ValidateArgon2Params(const Argon2Params& p) {
  if (p.opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
      p.memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE) {
    return Corruption("key slot asks for Argon2id limits below libsodium's INTERACTIVE floor");
  }
  if (p.opslimit > 64 || p.memlimit > (uint64_t(4) << 30)) {
    return Corruption("key slot asks for Argon2id limits above 64 passes or 4 GiB");
  }
  return {};
}

Result<SecretKey> DeriveFromPassphrase(std::string_view passphrase,
                                       const uint8_t salt[kPasswordSaltLen],
                                       const Argon2Params& params) {
  InitCrypto();
  COFFER_RETURN_IF_ERROR(ValidateArgon2Params(params));
  SecretKey k;
  if (crypto_pwhash(k.data(), kKeyLen, passphrase.data(), passphrase.size(), salt, params.opslimit,
                    size_t(params.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("Argon2id could not allocate " +
                             std::to_string(params.memlimit >> 20) + " MiB");
  }
  return k;
}

}  // namespace coffer

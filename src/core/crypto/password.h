// Passphrase-derived keys (Argon2id through libsodium's crypto_pwhash), used
// to wrap the target key in a key slot.
//
// Thread safety: pure functions. Each call allocates `memlimit` bytes for its
// duration and frees them before returning.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "core/crypto/secret.h"

namespace coffer {

inline constexpr size_t kPasswordSaltLen = 16;

struct Argon2Params {
  uint64_t opslimit;
  uint64_t memlimit;  // bytes
};

// libsodium's INTERACTIVE limits (2 passes, 64 MiB): the floor DESIGN §9 sets.
Argon2Params DefaultArgon2Params();

// Checks stored parameters before running them: below INTERACTIVE is refused
// (a tampered slot must not make a weak key), and so is more than 4 GiB
// (a tampered slot must not exhaust memory).
Status ValidateArgon2Params(const Argon2Params& p);

Result<SecretKey> DeriveFromPassphrase(std::string_view passphrase,
                                       const uint8_t salt[kPasswordSaltLen],
                                       const Argon2Params& params);

}  // namespace coffer

// Key slots (objects "keys/<slot id>"): the target key TK wrapped under a key
// derived from a passphrase with Argon2id. Any slot opens the target. Bytes in
// docs/FORMAT.md ("key slot").
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "base/uuid.h"
#include "core/crypto/password.h"
#include "core/crypto/secret.h"

namespace coffer {

struct KeySlotInfo {
  Uuid slot_id;
  int64_t created_at = 0;
  Argon2Params params;
};

// Wraps `target_key` under `passphrase` with fresh salt and nonce.
Result<Bytes> SealKeySlot(const Uuid& slot_id, const SecretKey& target_key,
                          std::string_view passphrase, const Argon2Params& params,
                          int64_t created_at);

// Reads the slot's plain fields without the passphrase.
Result<KeySlotInfo> ParseKeySlot(const Uuid& slot_id, ByteView object);

// Unwraps TK: kAuthFailed if the passphrase is wrong (or the slot was
// tampered with), kCorruption if the slot is malformed.
Result<SecretKey> OpenKeySlot(const Uuid& slot_id, ByteView object, std::string_view passphrase);

}  // namespace coffer

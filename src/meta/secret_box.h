// SecretBox: how the manager keeps secrets at rest in its metadata database
// (DESIGN §2). Each secret (an agent token, an S3 secret access key, a
// target's TK) is sealed with AES-256-GCM under the 32-byte master key, with
// the row id and the field name as associated data, so a sealed value copied
// to another row or another column does not open.
//
// Stored form (text, so both databases keep it in a plain TEXT column):
//   "1:" || hex( nonce (12 random bytes) || ciphertext || tag (16 bytes) )
// Associated data:
//   "coffer manager secret v1" || 0x00 || row id || 0x00 || field
// where field names the column, e.g. "backup_target.target_key".
//
// Thread safety: a SecretBox is immutable after construction; Seal and Open
// may be called concurrently.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/error.h"
#include "core/crypto/secret.h"
#include "meta/types.h"

namespace coffer::meta {

class SecretBox {
 public:
  explicit SecretBox(const SecretKey& master_key) : key_(master_key) {}

  // Seals `plain` for `field` of row `row_id`; returns the stored form.
  std::string Seal(ByteView plain, std::string_view row_id, std::string_view field) const;

  // Opens a stored form. kCorruption if it is malformed; kAuthFailed if the
  // tag does not verify (a different master key, another row's or field's
  // value, or tampered bytes). Nothing unauthenticated is returned.
  [[nodiscard]] Result<SecretString> Open(std::string_view sealed, std::string_view row_id,
                                          std::string_view field) const;

 private:
  SecretKey key_;
};

}  // namespace coffer::meta

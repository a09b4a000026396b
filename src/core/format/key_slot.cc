#include "core/format/key_slot.h"

#include <sodium.h>

#include "core/crypto/aead.h"

namespace coffer {
namespace {

constexpr char kMagic[4] = {'C', 'F', 'K', 'S'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kKdfArgon2id = 1;
// magic, version, kdf, reserved, opslimit, memlimit, salt, created, nonce
constexpr size_t kHeaderLen = 4 + 1 + 1 + 2 + 8 + 8 + kPasswordSaltLen + 8 + kAeadNonceLen;
constexpr size_t kObjectLen = kHeaderLen + kKeyLen + kAeadTagLen;

Bytes AssociatedData(ByteView header, const Uuid& slot_id) {
  Bytes ad(header.begin(), header.end());
  ad.insert(ad.end(), slot_id.bytes.begin(), slot_id.bytes.end());
  return ad;
}

}  // namespace

Result<Bytes> SealKeySlot(const Uuid& slot_id, const SecretKey& target_key,
                          std::string_view passphrase, const Argon2Params& params,
                          int64_t created_at) {
  InitCrypto();
  uint8_t salt[kPasswordSaltLen];
  uint8_t nonce[kAeadNonceLen];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  COFFER_ASSIGN_OR_RETURN(SecretKey wrap, DeriveFromPassphrase(passphrase, salt, params));
  Bytes out;
  ByteWriter w(&out);
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(kVersion);
  w.U8(kKdfArgon2id);
  w.U16(0);
  w.U64(params.opslimit);
  w.U64(params.memlimit);
  w.Raw(ByteView(salt, sizeof salt));
  w.U64(uint64_t(created_at));
  w.Raw(ByteView(nonce, sizeof nonce));
  Bytes ad = AssociatedData(out, slot_id);
  out.resize(kObjectLen);
  AeadSeal(wrap, nonce, ad, ByteView(target_key.data(), kKeyLen), out.data() + kHeaderLen);
  return out;
}

Result<KeySlotInfo> ParseKeySlot(const Uuid& slot_id, ByteView object) {
  std::string name = "key slot " + slot_id.ToString();
  if (object.size() < 8 || std::memcmp(object.data(), kMagic, 4) != 0) {
    return Corruption(name + ": not a key slot (bad magic)");
  }
  if (object[4] != kVersion || object[5] != kKdfArgon2id) {
    return Corruption(name + ": unknown version or key derivation");
  }
  if (object.size() != kObjectLen) return Corruption(name + ": wrong size");
  ByteReader r(object.subspan(8));
  KeySlotInfo info;
  info.slot_id = slot_id;
  info.params.opslimit = r.U64();
  info.params.memlimit = r.U64();
  r.Raw(kPasswordSaltLen);
  info.created_at = int64_t(r.U64());
  return info;
}

Result<SecretKey> OpenKeySlot(const Uuid& slot_id, ByteView object, std::string_view passphrase) {
  COFFER_ASSIGN_OR_RETURN(KeySlotInfo info, ParseKeySlot(slot_id, object));
  const uint8_t* salt = object.data() + 8 + 16;
  const uint8_t* nonce = object.data() + kHeaderLen - kAeadNonceLen;
  auto wrap = DeriveFromPassphrase(passphrase, salt, info.params);
  if (!wrap) return std::unexpected(wrap.error().WithContext("key slot " + slot_id.ToString()));
  Bytes ad = AssociatedData(object.first(kHeaderLen), slot_id);
  SecretKey tk;
  if (!AeadOpen(*wrap, nonce, ad, object.subspan(kHeaderLen), tk.data())) {
    return AuthFailed("wrong passphrase for key slot " + slot_id.ToString());
  }
  return tk;
}

}  // namespace coffer

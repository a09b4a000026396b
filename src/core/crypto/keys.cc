#include "core/crypto/keys.h"

#include "core/hash/blake3.h"

namespace coffer {
namespace {

SecretKey Subkey(const SecretKey& tk, std::string_view context) {
  SecretKey k;
  Blake3DeriveKey(context, ByteView(tk.data(), kKeyLen), k.data(), kKeyLen);
  return k;
}

}  // namespace

TargetKeys TargetKeys::Derive(const SecretKey& tk) {
  TargetKeys k;
  k.target_key = tk;
  k.id_key = Subkey(tk, "coffer 2026-11 chunk id");
  k.nonce_key = Subkey(tk, "coffer 2026-11 chunk nonce");
  k.enc_key = Subkey(tk, "coffer 2026-11 chunk key");
  k.meta_key = Subkey(tk, "coffer 2026-11 metadata key");
  k.gear_key = Subkey(tk, "coffer 2026-11 chunker gear");
  k.config_key = Subkey(tk, "coffer 2026-11 config mac");
  return k;
}

ChunkId ComputeChunkId(const TargetKeys& keys, ByteView plaintext) {
  ChunkId id;
  Blake3KeyedHash(keys.id_key.data(), plaintext, id.data());
  return id;
}

void ChunkNonce(const TargetKeys& keys, const ChunkId& id, uint8_t nonce[kAeadNonceLen]) {
  uint8_t full[kBlake3OutLen];
  Blake3KeyedHash(keys.nonce_key.data(), id, full);
  std::memcpy(nonce, full, kAeadNonceLen);
}

std::array<uint64_t, 256> GearTableFor(const TargetKeys& keys) {
  uint8_t raw[256 * 8];
  Blake3 h(keys.gear_key.data());
  h.Finalize(raw, sizeof raw);
  std::array<uint64_t, 256> gear;
  for (size_t i = 0; i < 256; ++i) gear[i] = GetLe64(raw + 8 * i);
  return gear;
}

}  // namespace coffer

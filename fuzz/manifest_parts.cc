#include "fuzz/manifest_parts.h"

#include <cstring>

#include "core/crypto/aead.h"

namespace coffer::fuzz {
namespace {

constexpr size_t kHeaderLen = 12;

Bytes AssociatedData(ByteView header, const Uuid& backup_id, ByteView summary_tag) {
  Bytes ad(header.begin(), header.end());
  ad.insert(ad.end(), backup_id.bytes.begin(), backup_id.bytes.end());
  ad.insert(ad.end(), summary_tag.begin(), summary_tag.end());
  return ad;
}

}  // namespace

Bytes SealManifestParts(const TargetKeys& keys, const Uuid& backup_id, const ManifestParts& parts) {
  const size_t summary_sealed = kAeadNonceLen + parts.summary.size() + kAeadTagLen;
  Bytes out(kHeaderLen + summary_sealed + kAeadNonceLen + parts.chunk_list.size() + kAeadTagLen);
  const uint8_t magic[5] = {'C', 'F', 'M', 'F', 1};
  std::memcpy(out.data(), magic, sizeof magic);
  PutLe32(out.data() + 8, uint32_t(summary_sealed));
  const ByteView header(out.data(), kHeaderLen);
  // Fixed nonces: the fuzzer must be deterministic, and nothing here is
  // ever stored.
  uint8_t* p = out.data() + kHeaderLen;
  std::memset(p, 1, kAeadNonceLen);
  AeadSeal(keys.meta_key, p, AssociatedData(header, backup_id, {}), parts.summary,
           p + kAeadNonceLen);
  const ByteView summary_tag(p + summary_sealed - kAeadTagLen, kAeadTagLen);
  uint8_t* q = p + summary_sealed;
  std::memset(q, 2, kAeadNonceLen);
  AeadSeal(keys.meta_key, q, AssociatedData(header, backup_id, summary_tag), parts.chunk_list,
           q + kAeadNonceLen);
  return out;
}

std::optional<ManifestParts> OpenManifestParts(const TargetKeys& keys, const Uuid& backup_id,
                                               ByteView object) {
  if (object.size() < kHeaderLen) return std::nullopt;
  const size_t summary_sealed = GetLe32(object.data() + 8);
  if (summary_sealed < kAeadNonceLen + kAeadTagLen ||
      object.size() < kHeaderLen + summary_sealed + kAeadNonceLen + kAeadTagLen) {
    return std::nullopt;
  }
  const ByteView header = object.first(kHeaderLen);
  const ByteView s = object.subspan(kHeaderLen, summary_sealed);
  const ByteView l = object.subspan(kHeaderLen + summary_sealed);
  ManifestParts parts;
  parts.summary.resize(s.size() - kAeadNonceLen - kAeadTagLen);
  parts.chunk_list.resize(l.size() - kAeadNonceLen - kAeadTagLen);
  const ByteView summary_tag = s.last(kAeadTagLen);
  if (!AeadOpen(keys.meta_key, s.data(), AssociatedData(header, backup_id, {}),
                s.subspan(kAeadNonceLen), parts.summary.data()) ||
      !AeadOpen(keys.meta_key, l.data(), AssociatedData(header, backup_id, summary_tag),
                l.subspan(kAeadNonceLen), parts.chunk_list.data())) {
    return std::nullopt;
  }
  return parts;
}

}  // namespace coffer::fuzz

#include "core/format/manifest.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "core/compress/zstd_codec.h"
#include "core/crypto/aead.h"

namespace coffer {
namespace {

constexpr char kMagic[4] = {'C', 'F', 'M', 'F'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderLen = 12;  // magic, version, 3 reserved, u32 sealed summary length
constexpr size_t kMaxName = 4096;
constexpr uint8_t kKindZero = 0;
constexpr uint8_t kKindData = 1;
constexpr size_t kEntryLen = 4 + 1 + kChunkIdLen;

// header || backup uuid || (for the chunk list) the summary's tag.
struct AssociatedData {
  std::array<uint8_t, kHeaderLen + 16 + kAeadTagLen> bytes{};
  size_t size = 0;
  AssociatedData(ByteView header, const Uuid& backup_id, ByteView summary_tag) {
    std::memcpy(bytes.data(), header.data(), kHeaderLen);
    std::memcpy(bytes.data() + kHeaderLen, backup_id.bytes.data(), 16);
    if (!summary_tag.empty())
      std::memcpy(bytes.data() + kHeaderLen + 16, summary_tag.data(), kAeadTagLen);
    size = kHeaderLen + 16 + summary_tag.size();
  }
  ByteView view() const { return ByteView(bytes.data(), size); }
};

Bytes EncodeSummary(const ManifestSummary& s) {
  Bytes out;
  ByteWriter w(&out);
  w.Raw(s.backup_id.bytes);
  w.Raw(s.target_id.bytes);
  w.Raw(s.parent_id.bytes);
  w.U64(uint64_t(s.created_at));
  w.String(s.volume_id.substr(0, kMaxName));
  w.String(s.volume_name.substr(0, kMaxName));
  w.U64(s.source_size);
  w.U32(s.chunker.min_size);
  w.U32(s.chunker.avg_size);
  w.U32(s.chunker.max_size);
  w.U64(s.segment_size);
  w.U64(s.zero_bytes);
  w.U64(s.new_bytes);
  w.U64(s.stored_bytes);
  w.U64(s.chunk_count);
  w.U64(s.new_chunks);
  w.U64(s.duration_ms);
  return out;
}

Result<ManifestSummary> DecodeSummary(ByteView in) {
  ByteReader r(in);
  ManifestSummary s;
  auto uuid = [&](Uuid* u) {
    ByteView b = r.Raw(16);
    if (r.ok()) std::copy(b.begin(), b.end(), u->bytes.begin());
  };
  uuid(&s.backup_id);
  uuid(&s.target_id);
  uuid(&s.parent_id);
  s.created_at = int64_t(r.U64());
  s.volume_id = r.String(kMaxName);
  s.volume_name = r.String(kMaxName);
  s.source_size = r.U64();
  s.chunker.min_size = r.U32();
  s.chunker.avg_size = r.U32();
  s.chunker.max_size = r.U32();
  s.segment_size = r.U64();
  s.zero_bytes = r.U64();
  s.new_bytes = r.U64();
  s.stored_bytes = r.U64();
  s.chunk_count = r.U64();
  s.new_chunks = r.U64();
  s.duration_ms = r.U64();
  if (!r.ok() || r.remaining() != 0) return Corruption("malformed summary");
  return s;
}

}  // namespace

std::string ManifestKey(const Uuid& backup_id) {
  return std::string(kManifestPrefix) + backup_id.ToString();
}

Bytes SealManifest(const TargetKeys& keys, const Manifest& m) {
  InitCrypto();
  Bytes summary = EncodeSummary(m.summary);
  Bytes list;
  list.reserve(m.entries.size() * kEntryLen);
  ByteWriter lw(&list);
  for (const ManifestEntry& e : m.entries) {
    lw.U32(e.length);
    lw.U8(e.zero ? kKindZero : kKindData);
    if (!e.zero) lw.Raw(e.id);
  }
  Bytes compressed = CompressFrame(list, 3);
  size_t n = compressed.size();

  size_t summary_sealed = kAeadNonceLen + summary.size() + kAeadTagLen;
  Bytes out(kHeaderLen + summary_sealed + kAeadNonceLen + n + kAeadTagLen);
  std::memcpy(out.data(), kMagic, 4);
  out[4] = kVersion;
  PutLe32(out.data() + 8, uint32_t(summary_sealed));
  ByteView header(out.data(), kHeaderLen);

  uint8_t* p = out.data() + kHeaderLen;
  randombytes_buf(p, kAeadNonceLen);
  AeadSeal(keys.meta_key, p, AssociatedData(header, m.summary.backup_id, {}).view(), summary,
           p + kAeadNonceLen);
  ByteView summary_tag(p + summary_sealed - kAeadTagLen, kAeadTagLen);

  uint8_t* q = p + summary_sealed;
  randombytes_buf(q, kAeadNonceLen);
  AeadSeal(keys.meta_key, q, AssociatedData(header, m.summary.backup_id, summary_tag).view(),
           ByteView(compressed.data(), n), q + kAeadNonceLen);
  return out;
}

size_t ManifestSummaryPrefixLength(ByteView object) {
  if (object.size() < kHeaderLen) return object.size();
  return std::min(object.size(), kHeaderLen + size_t(GetLe32(object.data() + 8)));
}

Result<ManifestSummary> OpenManifestSummary(const TargetKeys& keys, const Uuid& backup_id,
                                            ByteView object) {
  if (object.size() < kHeaderLen || std::memcmp(object.data(), kMagic, 4) != 0) {
    return Corruption("not a manifest (bad magic)");
  }
  if (object[4] != kVersion) {
    return Corruption("unknown manifest version " + std::to_string(object[4]));
  }
  size_t summary_sealed = GetLe32(object.data() + 8);
  if (summary_sealed < kAeadNonceLen + kAeadTagLen ||
      summary_sealed > kManifestSummaryMaxRead - kHeaderLen ||
      object.size() < kHeaderLen + summary_sealed) {
    return Corruption("manifest summary length out of range");
  }
  ByteView header = object.first(kHeaderLen);
  const uint8_t* p = object.data() + kHeaderLen;
  size_t len = summary_sealed - kAeadNonceLen - kAeadTagLen;
  Bytes summary(len);
  if (!AeadOpen(keys.meta_key, p, AssociatedData(header, backup_id, {}).view(),
                ByteView(p + kAeadNonceLen, len + kAeadTagLen), summary.data())) {
    return Corruption("manifest authentication failed (corrupt, tampered, or not this backup's)");
  }
  COFFER_ASSIGN_OR_RETURN(ManifestSummary s, DecodeSummary(summary));
  if (s.backup_id != backup_id) return Corruption("manifest names another backup");
  return s;
}

Result<Manifest> OpenManifest(const TargetKeys& keys, const Uuid& backup_id, ByteView object) {
  Manifest m;
  COFFER_ASSIGN_OR_RETURN(m.summary, OpenManifestSummary(keys, backup_id, object));
  size_t summary_sealed = GetLe32(object.data() + 8);
  ByteView rest = object.subspan(kHeaderLen + summary_sealed);
  if (rest.size() < kAeadNonceLen + kAeadTagLen) return Corruption("manifest chunk list missing");
  ByteView header = object.first(kHeaderLen);
  ByteView summary_tag = object.subspan(kHeaderLen + summary_sealed - kAeadTagLen, kAeadTagLen);
  size_t len = rest.size() - kAeadNonceLen - kAeadTagLen;
  Bytes compressed(len);
  if (!AeadOpen(keys.meta_key, rest.data(), AssociatedData(header, backup_id, summary_tag).view(),
                rest.subspan(kAeadNonceLen), compressed.data())) {
    return Corruption("manifest chunk list authentication failed");
  }
  uint64_t count = m.summary.chunk_count;
  if (count > (uint64_t(1) << 32)) return Corruption("manifest declares too many chunks");
  Buffer list;
  if (auto st = Decompress(compressed, size_t(count) * kEntryLen, &list); !st) {
    return Corruption("manifest chunk list: " + st.error().message());
  }
  // The smallest entry (a zero run) takes 5 bytes: a count the list cannot
  // hold is refused before it sizes anything.
  if (list.size() / (kEntryLen - kChunkIdLen) < count) {
    return Corruption("manifest chunk list holds fewer entries than its count " +
                      std::to_string(count));
  }
  ByteReader r(list.view());
  m.entries.reserve(size_t(count));
  uint64_t total = 0;
  for (uint64_t i = 0; i < count; ++i) {
    ManifestEntry e;
    e.length = r.U32();
    uint8_t kind = r.U8();
    if (kind == kKindData) {
      ByteView id = r.Raw(kChunkIdLen);
      if (r.ok()) std::copy(id.begin(), id.end(), e.id.begin());
    } else if (kind == kKindZero) {
      e.zero = true;
    } else {
      return Corruption("manifest entry " + std::to_string(i) + " has unknown kind");
    }
    if (!r.ok()) return Corruption("manifest chunk list truncated");
    if (e.length == 0 || e.length > m.summary.chunker.max_size) {
      return Corruption("manifest entry " + std::to_string(i) + " has a bad length");
    }
    total += e.length;
    m.entries.push_back(e);
  }
  if (r.remaining() != 0) return Corruption("manifest chunk list has trailing bytes");
  if (total != m.summary.source_size) {
    return Corruption("manifest entries add up to " + std::to_string(total) +
                      " bytes, not the source size " + std::to_string(m.summary.source_size));
  }
  return m;
}

}  // namespace coffer

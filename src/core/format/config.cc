#include "core/format/config.h"

#include <sodium.h>

#include "core/hash/blake3.h"

namespace coffer {
namespace {

constexpr char kMagic[4] = {'C', 'F', 'C', 'G'};
constexpr size_t kBodyLen = 4 + 4 + 16 + 8 + 12 + 8;  // everything before the MAC
constexpr size_t kMacLen = 32;

}  // namespace

Bytes EncodeConfig(const TargetConfig& c, const TargetKeys& keys) {
  Bytes out;
  ByteWriter w(&out);
  w.Raw(AsBytes(std::string_view(kMagic, 4)));
  w.U8(kFormatVersion);
  w.U8(0);
  w.U16(0);
  w.Raw(c.target_id.bytes);
  w.U64(uint64_t(c.created_at));
  w.U32(c.chunker.min_size);
  w.U32(c.chunker.avg_size);
  w.U32(c.chunker.max_size);
  w.U64(c.segment_size);
  uint8_t mac[kMacLen];
  Blake3KeyedHash(keys.config_key.data(), out, mac);
  w.Raw(ByteView(mac, kMacLen));
  return out;
}

Result<TargetConfig> ParseConfig(ByteView object) {
  if (object.size() < 5 || std::memcmp(object.data(), kMagic, 4) != 0) {
    return Corruption("config: not a Coffer target config (bad magic)");
  }
  if (object[4] != kFormatVersion) {
    return InvalidArgument("config: format version " + std::to_string(object[4]) +
                           " is not supported by this coffer (it reads version " +
                           std::to_string(kFormatVersion) + "); upgrade coffer");
  }
  if (object.size() != kBodyLen + kMacLen) {
    return Corruption("config: " + std::to_string(object.size()) + " bytes, expected " +
                      std::to_string(kBodyLen + kMacLen));
  }
  ByteReader r(object.subspan(8));
  TargetConfig c;
  ByteView id = r.Raw(16);
  std::copy(id.begin(), id.end(), c.target_id.bytes.begin());
  c.created_at = int64_t(r.U64());
  c.chunker.min_size = r.U32();
  c.chunker.avg_size = r.U32();
  c.chunker.max_size = r.U32();
  c.segment_size = r.U64();
  if (!r.ok()) return Corruption("config: truncated");
  if (auto st = ValidateChunkerParams(c.chunker); !st) {
    return Corruption("config: " + st.error().message());
  }
  if (c.segment_size != 0 && c.segment_size < c.chunker.max_size) {
    return Corruption("config: segment size smaller than the largest chunk");
  }
  return c;
}

Status VerifyConfig(ByteView object, const TargetKeys& keys) {
  if (object.size() != kBodyLen + kMacLen) return Corruption("config: wrong size");
  uint8_t mac[kMacLen];
  Blake3KeyedHash(keys.config_key.data(), object.first(kBodyLen), mac);
  if (sodium_memcmp(mac, object.data() + kBodyLen, kMacLen) != 0) {
    return Corruption("config: authentication failed (tampered, or from another target)");
  }
  return {};
}

}  // namespace coffer

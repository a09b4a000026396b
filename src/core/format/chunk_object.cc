#include "core/format/chunk_object.h"

#include "core/compress/zstd_codec.h"

namespace coffer {
namespace {

constexpr char kMagic[4] = {'C', 'F', 'C', 'K'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagZstd = 1;

void AssociatedData(const uint8_t* header, const ChunkId& id, uint8_t ad[kChunkHeaderLen + 32]) {
  std::memcpy(ad, header, kChunkHeaderLen);
  std::memcpy(ad + kChunkHeaderLen, id.data(), id.size());
}

}  // namespace

SealedChunk SealChunk(const TargetKeys& keys, const ChunkId& id, ByteView plain, uint8_t* out,
                      int zstd_level) {
  uint8_t* body = out + kChunkHeaderLen;
  size_t compressed = CompressIfSmaller(plain, body, zstd_level);
  std::memcpy(out, kMagic, 4);
  out[4] = kVersion;
  out[5] = compressed > 0 ? kFlagZstd : 0;
  out[6] = out[7] = 0;
  uint8_t ad[kChunkHeaderLen + 32];
  AssociatedData(out, id, ad);
  uint8_t nonce[kAeadNonceLen];
  ChunkNonce(keys, id, nonce);
  // Encrypt straight from the source when not compressed: no extra copy.
  ByteView source = compressed > 0 ? ByteView(body, compressed) : plain;
  AeadSeal(keys.enc_key, nonce, ByteView(ad, sizeof ad), source, body);
  return SealedChunk{kChunkHeaderLen + source.size() + kAeadTagLen, compressed > 0};
}

Result<size_t> OpenChunkInto(const TargetKeys& keys, const ChunkId& id, ByteView object,
                             size_t max_plain, uint8_t* out, Buffer* scratch) {
  if (object.size() < kChunkOverhead || std::memcmp(object.data(), kMagic, 4) != 0) {
    return Corruption("not a chunk object (bad magic or too short)");
  }
  if (object[4] != kVersion || (object[5] & ~kFlagZstd) != 0 || object[6] != 0 || object[7] != 0) {
    return Corruption("unknown chunk header (version " + std::to_string(object[4]) + ")");
  }
  bool compressed = (object[5] & kFlagZstd) != 0;
  size_t body_len = object.size() - kChunkOverhead;
  if (!compressed && body_len > max_plain) return Corruption("chunk larger than the maximum");
  uint8_t ad[kChunkHeaderLen + 32];
  AssociatedData(object.data(), id, ad);
  uint8_t nonce[kAeadNonceLen];
  ChunkNonce(keys, id, nonce);
  uint8_t* body = out;
  if (compressed) {
    scratch->Reserve(body_len);
    body = scratch->data();
  }
  if (!AeadOpen(keys.enc_key, nonce, ByteView(ad, sizeof ad), object.subspan(kChunkHeaderLen),
                body)) {
    return Corruption("authentication failed (corrupt or tampered chunk)");
  }
  size_t plain_len = body_len;
  if (compressed) {
    auto n = DecompressInto(ByteView(body, body_len), out, max_plain);
    if (!n) return Corruption("authenticated but undecodable body: " + n.error().message());
    plain_len = *n;
  }
  if (ComputeChunkId(keys, ByteView(out, plain_len)) != id) {
    return Corruption("content does not match its id");
  }
  return plain_len;
}

Status OpenChunk(const TargetKeys& keys, const ChunkId& id, ByteView object, size_t max_plain,
                 Buffer* plain, Buffer* scratch) {
  plain->set_size(0);
  plain->Reserve(max_plain);
  COFFER_ASSIGN_OR_RETURN(size_t n,
                          OpenChunkInto(keys, id, object, max_plain, plain->data(), scratch));
  plain->set_size(n);
  return {};
}

std::string ChunkKey(const ChunkId& id) {
  std::string hex = HexEncode(id);
  return "chunks/" + hex.substr(0, 2) + "/" + hex;
}

std::optional<ChunkId> ParseChunkKey(std::string_view key) {
  constexpr std::string_view kPrefix = "chunks/";
  if (key.size() != kPrefix.size() + 3 + 64 || !key.starts_with(kPrefix)) return std::nullopt;
  std::string_view dir = key.substr(kPrefix.size(), 2);
  std::string_view hex = key.substr(kPrefix.size() + 3);
  if (key[kPrefix.size() + 2] != '/' || hex.substr(0, 2) != dir) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto bytes = HexDecode(hex);
  if (!bytes) return std::nullopt;
  ChunkId id{};
  std::copy(bytes->begin(), bytes->end(), id.begin());
  return id;
}

}  // namespace coffer

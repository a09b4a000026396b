// Chunk objects (core/format/chunk_object.h): what a target's chunks/ holds,
// read by restore, check and verify from a store that may be hostile.
//
// Input: target key (32) | chunk id (32) | object. The object is opened as
// it is (header checks, then the AEAD: real objects in the seed corpus carry
// the key and id they were sealed with, so they open). The same bytes are
// then sealed as a compressed body under that key and id and opened, so the
// decoder past the tag (zstd, the plaintext bound, the id check) sees
// arbitrary authenticated bytes too. The bytes after the key are also read
// as an object key (ParseChunkKey: listings name chunks).
#include <cstring>

#include "core/crypto/aead.h"
#include "core/format/chunk_object.h"
#include "fuzz/fuzz_util.h"

namespace coffer {
namespace {

// The largest plaintext the fuzzer lets a chunk have: a restore passes the
// target's max_size; the seeds' target uses 64 KiB chunks.
constexpr size_t kMaxPlain = 256 * 1024;

void OpenAsSealedBody(const TargetKeys& keys, const ChunkId& id, ByteView body) {
  // The header of docs/FORMAT.md ("chunk") with the zstd flag.
  Bytes object(kChunkHeaderLen + body.size() + kAeadTagLen);
  const uint8_t header[kChunkHeaderLen] = {'C', 'F', 'C', 'K', 1, 1, 0, 0};
  std::memcpy(object.data(), header, kChunkHeaderLen);
  uint8_t ad[kChunkHeaderLen + kChunkIdLen];
  std::memcpy(ad, header, kChunkHeaderLen);
  std::memcpy(ad + kChunkHeaderLen, id.data(), kChunkIdLen);
  uint8_t nonce[kAeadNonceLen];
  ChunkNonce(keys, id, nonce);
  AeadSeal(keys.enc_key, nonce, ByteView(ad, sizeof ad), body, object.data() + kChunkHeaderLen);
  Buffer plain, scratch;
  if (auto st = OpenChunk(keys, id, object, kMaxPlain, &plain, &scratch); st) {
    if (plain.size() > kMaxPlain) std::abort();
  }
}

}  // namespace
}  // namespace coffer

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  fuzz::Input in(data, size);
  TargetKeys keys;
  ChunkId id;
  if (!in.TakeKeys(&keys) || !in.Take(id.size(), id.data())) return 0;
  (void)ParseChunkKey(in.rest_text());

  Buffer plain, scratch;
  if (auto st = OpenChunk(keys, id, in.rest(), kMaxPlain, &plain, &scratch); st) {
    // Opened: the plaintext is bounded and is what the id names.
    if (plain.size() > kMaxPlain || ComputeChunkId(keys, plain.view()) != id) std::abort();
  }
  OpenAsSealedBody(keys, id, in.rest());
  return 0;
}

// The BLAKE3 hasher: splits the input into 1 KiB chunks, hashes runs of whole
// chunks with the active SIMD kernel, and merges chaining values into the
// binary tree the specification defines.
//
// Tree shape. Chunk i's chaining value enters the tree as a leaf; a parent is
// the compression of its children's two chaining values. A complete subtree
// of 2^k chunks may only start at a chunk index that is a multiple of 2^k,
// which is what lets Update hash the largest such aligned run at once and
// get the same bytes as chunk-by-chunk hashing.
//
// The stack holds the chaining values of completed subtrees, largest first.
// Merging is lazy (done before a push or before bytes enter the current
// chunk, never right after a push): the last subtree's value stays on the
// stack unmerged, so when the input ends on a chunk boundary the root can
// still be built from the top two entries, with the ROOT flag that only the
// root compression carries.
#include "core/hash/blake3.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/hash/blake3_impl.h"

namespace coffer {
namespace {

using blake3::kBlockLen;
using blake3::kChunkLen;
using blake3::Kernels;

// Whole chunks hashed per call of the kernel before reducing to one value;
// larger subtrees are split in halves until they fit. 128 keeps the parent
// levels wide enough for 16 lanes and the scratch space at 6 KiB.
constexpr uint64_t kBatchChunks = 128;

void WordsFromBytes(const uint8_t* in, uint32_t* words, int n) {
  for (int i = 0; i < n; ++i) words[i] = GetLe32(in + 4 * i);
}
void BytesFromWords(const uint32_t* words, uint8_t* out, int n) {
  for (int i = 0; i < n; ++i) PutLe32(out + 4 * i, words[i]);
}

// Hashes the n (a power of two, at most kBatchChunks) chunks at `in`, the
// first with index `index`, in one kernel call, then reduces their chaining
// values level by level until `keep` (1 or 2) remain, written to out.
void HashBatch(const Kernels& k, const uint8_t* in, uint64_t n, uint64_t index,
               const uint32_t key[8], uint8_t flags, uint64_t keep, uint8_t* out) {
  // Adjacent pairs of values are exactly the parent blocks of the next
  // level; the levels alternate between two buffers.
  alignas(64) uint8_t a[kBatchChunks * 32];
  alignas(64) uint8_t b[kBatchChunks / 2 * 32];
  k.hash_many(in, kChunkLen, n, blake3::kBlocksPerChunk, key, index, 1, flags, blake3::kChunkStart,
              blake3::kChunkEnd, a);
  uint8_t* cur = a;
  uint8_t* next = b;
  while (n > keep) {
    n /= 2;
    k.hash_many(cur, 64, n, 1, key, 0, 0, flags | blake3::kParent, 0, 0, next);
    std::swap(cur, next);
  }
  std::memcpy(out, cur, n * 32);
}

// Writes the chaining value of the complete subtree of `n` (a power of two)
// chunks at `in`, whose first chunk has index `index`, to out[32].
void CompressSubtree(const Kernels& k, const uint8_t* in, uint64_t n, uint64_t index,
                     const uint32_t key[8], uint8_t flags, uint8_t out[32]) {
  if (n <= kBatchChunks) return HashBatch(k, in, n, index, key, flags, 1, out);
  uint8_t children[64];
  CompressSubtree(k, in, n / 2, index, key, flags, children);
  CompressSubtree(k, in + n / 2 * kChunkLen, n / 2, index + n / 2, key, flags, children + 32);
  k.hash_many(children, 64, 1, 1, key, 0, 0, flags | blake3::kParent, 0, 0, out);
}

// A node not yet compressed: the root, or a node whose chaining value is
// still to be taken.
struct Output {
  uint32_t cv[8];
  uint8_t block[kBlockLen];
  uint8_t block_len;
  uint64_t counter;
  uint8_t flags;
};

Output ParentOutput(const uint32_t left[8], const uint32_t right[8], const uint32_t key[8],
                    uint8_t flags) {
  Output o;
  std::memcpy(o.cv, key, sizeof(o.cv));
  BytesFromWords(left, o.block, 8);
  BytesFromWords(right, o.block + 32, 8);
  o.block_len = kBlockLen;
  o.counter = 0;
  o.flags = flags | blake3::kParent;
  return o;
}

}  // namespace

Blake3::Blake3() : Blake3(blake3::kIv, 0) {}

Blake3::Blake3(const uint8_t key[kBlake3KeyLen]) {
  uint32_t words[8];
  WordsFromBytes(key, words, 8);
  *this = Blake3(words, blake3::kKeyedHash);
}

Blake3::Blake3(const uint32_t key[8], uint8_t flags) : flags_(flags) {
  std::memcpy(key_, key, sizeof(key_));
  Reset();
}

Blake3 Blake3::ForDeriveKey(std::string_view context) {
  Blake3 context_hasher(blake3::kIv, blake3::kDeriveKeyContext);
  context_hasher.Update(context.data(), context.size());
  uint8_t context_key[kBlake3KeyLen];
  context_hasher.Finalize(context_key, sizeof(context_key));
  uint32_t words[8];
  WordsFromBytes(context_key, words, 8);
  return Blake3(words, blake3::kDeriveKeyMaterial);
}

void Blake3::Reset() {
  std::memcpy(chunk_cv_, key_, sizeof(chunk_cv_));
  chunk_index_ = 0;
  block_len_ = 0;
  blocks_done_ = 0;
  stack_len_ = 0;
}

void Blake3::Update(const void* data, size_t len) {
  const auto* in = static_cast<const uint8_t*>(data);
  const Kernels& k = blake3::ActiveKernels();
  while (len > 0) {
    size_t chunk_len = size_t{blocks_done_} * kBlockLen + block_len_;
    if (chunk_len == kChunkLen) {
      // The chunk is full and more input follows, so it was not the last.
      uint8_t flags = flags_ | blake3::kChunkEnd | (blocks_done_ == 0 ? blake3::kChunkStart : 0);
      k.compress_in_place(chunk_cv_, block_, kBlockLen, chunk_index_, flags);
      PushCv(chunk_cv_, chunk_index_);
      std::memcpy(chunk_cv_, key_, sizeof(chunk_cv_));
      ++chunk_index_;
      block_len_ = 0;
      blocks_done_ = 0;
      chunk_len = 0;
    }
    if (chunk_len == 0 && len > kChunkLen) {
      // The largest power-of-two run of whole chunks that fits the input
      // and starts at a multiple of its own size.
      uint64_t n = std::bit_floor(uint64_t{len / kChunkLen});
      if (chunk_index_ != 0) n = std::min(n, chunk_index_ & (~chunk_index_ + 1));
      if (n >= 2) {
        HashSubtrees(in, n);
        in += n * kChunkLen;
        len -= n * kChunkLen;
        continue;
      }
    }
    size_t take = std::min(len, kChunkLen - chunk_len);
    // Input in the current chunk completes the subtrees before it: merge
    // them now, because Finalize folds the stack without looking at it.
    if (chunk_len == 0) MergeStack(std::popcount(chunk_index_));
    UpdateChunk(in, take);
    in += take;
    len -= take;
  }
}

// Adds len bytes, no more than the current chunk has room for.
void Blake3::UpdateChunk(const uint8_t* data, size_t len) {
  const Kernels& k = blake3::ActiveKernels();
  while (len > 0) {
    if (block_len_ == kBlockLen) {
      uint8_t flags = flags_ | (blocks_done_ == 0 ? blake3::kChunkStart : 0);
      k.compress_in_place(chunk_cv_, block_, kBlockLen, chunk_index_, flags);
      ++blocks_done_;
      block_len_ = 0;
    }
    // Whole blocks straight from the input, as long as one is not the last.
    while (block_len_ == 0 && len > kBlockLen) {
      uint8_t flags = flags_ | (blocks_done_ == 0 ? blake3::kChunkStart : 0);
      k.compress_in_place(chunk_cv_, data, kBlockLen, chunk_index_, flags);
      ++blocks_done_;
      data += kBlockLen;
      len -= kBlockLen;
    }
    size_t take = std::min(len, kBlockLen - block_len_);
    std::memcpy(block_ + block_len_, data, take);
    block_len_ += uint8_t(take);
    data += take;
    len -= take;
  }
}

// Hashes the aligned run of num_chunks (a power of two, at least 2) whole
// chunks at data and pushes the values of its two halves, so that the run's
// own node can still become the root.
void Blake3::HashSubtrees(const uint8_t* data, size_t num_chunks) {
  const Kernels& k = blake3::ActiveKernels();
  uint64_t half = num_chunks / 2;
  uint8_t cvs[64];
  if (num_chunks <= kBatchChunks) {
    // One kernel call for all of them: small runs need every lane.
    HashBatch(k, data, num_chunks, chunk_index_, key_, flags_, 2, cvs);
  } else {
    CompressSubtree(k, data, half, chunk_index_, key_, flags_, cvs);
    CompressSubtree(k, data + half * kChunkLen, half, chunk_index_ + half, key_, flags_, cvs + 32);
  }
  uint32_t cv[8];
  WordsFromBytes(cvs, cv, 8);
  PushCv(cv, chunk_index_);
  WordsFromBytes(cvs + 32, cv, 8);
  PushCv(cv, chunk_index_ + half);
  chunk_index_ += num_chunks;
}

// Pushes the value of the subtree that starts at chunk_index, after merging
// what the chunks before it complete.
void Blake3::PushCv(const uint32_t cv[8], uint64_t chunk_index) {
  MergeStack(std::popcount(chunk_index));
  std::memcpy(stack_[stack_len_], cv, 32);
  ++stack_len_;
}

// Merges the top entries until `target` remain. The n chunks before a
// subtree form one complete subtree per set bit of n, so popcount(n) entries
// is what remains once everything left of it is merged.
void Blake3::MergeStack(int target) {
  const Kernels& k = blake3::ActiveKernels();
  while (stack_len_ > target) {
    Output parent = ParentOutput(stack_[stack_len_ - 2], stack_[stack_len_ - 1], key_, flags_);
    k.compress_in_place(parent.cv, parent.block, kBlockLen, 0, parent.flags);
    std::memcpy(stack_[stack_len_ - 2], parent.cv, sizeof(parent.cv));
    --stack_len_;
  }
}

void Blake3::Finalize(uint8_t* out, size_t out_len) const { FinalizeSeek(0, out, out_len); }

void Blake3::FinalizeSeek(uint64_t seek, uint8_t* out, size_t out_len) const {
  const Kernels& k = blake3::ActiveKernels();
  // The root is the current chunk folded with every stack entry, top down;
  // if the input ended on a chunk boundary, the top two entries instead.
  Output o;
  size_t below;
  size_t chunk_len = size_t{blocks_done_} * kBlockLen + block_len_;
  if (stack_len_ == 0 || chunk_len > 0) {
    std::memcpy(o.cv, chunk_cv_, sizeof(o.cv));
    std::memset(o.block, 0, sizeof(o.block));
    std::memcpy(o.block, block_, block_len_);
    o.block_len = block_len_;
    o.counter = chunk_index_;
    o.flags = flags_ | blake3::kChunkEnd | (blocks_done_ == 0 ? blake3::kChunkStart : 0);
    below = stack_len_;
  } else {
    o = ParentOutput(stack_[stack_len_ - 2], stack_[stack_len_ - 1], key_, flags_);
    below = stack_len_ - 2;
  }
  while (below > 0) {
    --below;
    uint32_t cv[8];
    std::memcpy(cv, o.cv, sizeof(cv));
    k.compress_in_place(cv, o.block, o.block_len, o.counter, o.flags);
    o = ParentOutput(stack_[below], cv, key_, flags_);
  }
  // The root's output stream is the compression of the same node with an
  // incrementing counter, 64 bytes per counter value.
  uint64_t counter = seek / 64;
  size_t skip = seek % 64;
  while (out_len > 0) {
    uint8_t block[64];
    k.compress_xof(o.cv, o.block, o.block_len, counter, o.flags | blake3::kRoot, block);
    size_t take = std::min(out_len, sizeof(block) - skip);
    std::memcpy(out, block + skip, take);
    out += take;
    out_len -= take;
    skip = 0;
    ++counter;
  }
}

void Blake3Hash(ByteView data, uint8_t out[kBlake3OutLen]) {
  Blake3 h;
  h.Update(data.data(), data.size());
  h.Finalize(out, kBlake3OutLen);
}

void Blake3KeyedHash(const uint8_t key[kBlake3KeyLen], ByteView data, uint8_t out[kBlake3OutLen]) {
  Blake3 h(key);
  h.Update(data.data(), data.size());
  h.Finalize(out, kBlake3OutLen);
}

void Blake3DeriveKey(std::string_view context, ByteView key_material, uint8_t* out,
                     size_t out_len) {
  Blake3 h = Blake3::ForDeriveKey(context);
  h.Update(key_material.data(), key_material.size());
  h.Finalize(out, out_len);
}

}  // namespace coffer

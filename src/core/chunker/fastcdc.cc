#include "core/chunker/fastcdc.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <string>

namespace coffer {
namespace {

constexpr size_t kWindow = 64;  // bytes that reach a gear hash's top bit

// Runs the gear hash over bytes [first, last) of `p`, continuing from *h, and
// tests (W & mask) == 0 after each byte. Returns the candidate length (index
// + 1) of the first byte whose hash passes, or 0 if none does, with *h then
// the hash after byte last-1.
//
// Four positions per step: h0..h3 are each computed from the hash before the
// step plus a sum of table words that does not depend on it, so the loop
// carried dependency is one shift and one add per four bytes rather than per
// byte. Every position is still tested, in order, so the result is the one of
// the byte-at-a-time definition.
size_t Scan(const uint8_t* p, size_t first, size_t last, uint64_t* h, uint64_t mask,
            const uint64_t* gear) {
  uint64_t hash = *h;
  size_t i = first;
  for (; i + 4 <= last; i += 4) {
    const uint64_t g0 = gear[p[i]];
    const uint64_t g1 = gear[p[i + 1]];
    const uint64_t g2 = gear[p[i + 2]];
    const uint64_t g3 = gear[p[i + 3]];
    const uint64_t t1 = (g0 << 1) + g1;
    const uint64_t t2 = (t1 << 1) + g2;
    const uint64_t t3 = (t2 << 1) + g3;
    const uint64_t h0 = (hash << 1) + g0;
    const uint64_t h1 = (hash << 2) + t1;
    const uint64_t h2 = (hash << 3) + t2;
    const uint64_t h3 = (hash << 4) + t3;
    if ((h0 & mask) == 0) return i + 1;
    if ((h1 & mask) == 0) return i + 2;
    if ((h2 & mask) == 0) return i + 3;
    if ((h3 & mask) == 0) return i + 4;
    hash = h3;
  }
  for (; i < last; ++i) {
    hash = (hash << 1) + gear[p[i]];
    if ((hash & mask) == 0) return i + 1;
  }
  *h = hash;
  return 0;
}

// The top `bits` bits of a 64-bit word; 1 <= bits <= 63.
constexpr uint64_t TopBits(int bits) { return ~uint64_t{0} << (64 - bits); }

}  // namespace

Status ValidateChunkerParams(const ChunkerParams& p) {
  if (p.min_size < kMinChunkSizeLimit) {
    return InvalidArgument("chunker min_size " + std::to_string(p.min_size) +
                           " is below the 64-byte hash window");
  }
  if (!std::has_single_bit(p.avg_size)) {
    return InvalidArgument("chunker avg_size " + std::to_string(p.avg_size) +
                           " is not a power of two");
  }
  if (p.max_size > kMaxChunkSizeLimit) {
    return InvalidArgument("chunker max_size " + std::to_string(p.max_size) +
                           " is above the 64 MiB limit");
  }
  if (p.min_size >= p.avg_size) {
    return InvalidArgument("chunker min_size " + std::to_string(p.min_size) +
                           " is not below avg_size " + std::to_string(p.avg_size));
  }
  if (p.avg_size >= p.max_size) {
    return InvalidArgument("chunker max_size " + std::to_string(p.max_size) +
                           " is not above avg_size " + std::to_string(p.avg_size));
  }
  return {};
}

FastCdc::FastCdc(const ChunkerParams& params, const GearTable& gear)
    : params_(params), gear_(gear) {
  assert(ValidateChunkerParams(params).has_value());
  // 64 < avg_size <= 2^25 after validation, so 7 <= b <= 25 and both masks
  // are well formed.
  const int b = std::countr_zero(params.avg_size);
  mask_s_ = TopBits(b + 2);
  mask_l_ = TopBits(b - 2);

  // Every window inside a zero run hashes to the same word, so the first
  // test of each region decides the whole run.
  uint64_t zero_hash = 0;
  for (size_t k = 0; k < kWindow; ++k) zero_hash = (zero_hash << 1) + gear_[0];
  if ((zero_hash & mask_s_) == 0) {
    zero_chunk_size_ = params.min_size;
  } else if ((zero_hash & mask_l_) == 0) {
    zero_chunk_size_ = params.avg_size;
  } else {
    zero_chunk_size_ = params.max_size;
  }
}

// `at_end` only takes part in the precondition: with len >= max_size the cut
// is the same either way.
size_t FastCdc::NextCut(const uint8_t* data, size_t len, [[maybe_unused]] bool at_end) const {
  assert(at_end || len >= params_.max_size);
  const size_t min_size = params_.min_size;
  const size_t avg_size = params_.avg_size;
  const size_t limit = std::min<size_t>(len, params_.max_size);
  if (limit <= min_size) return limit;

  // The hash at candidate L covers bytes [L-64, L); the first candidate is
  // min_size, so hashing starts at min_size-64 and the first 63 bytes are
  // hashed without a test. The byte before `limit` is never hashed: a cut
  // there is the fallback anyway.
  uint64_t h = 0;
  for (size_t i = min_size - kWindow; i < min_size - 1; ++i) h = (h << 1) + gear_[data[i]];
  const uint64_t* gear = gear_.data();
  const size_t normal_end = std::min(avg_size, limit);
  if (size_t cut = Scan(data, min_size - 1, normal_end - 1, &h, mask_s_, gear)) return cut;
  if (limit > avg_size) {
    if (size_t cut = Scan(data, avg_size - 1, limit - 1, &h, mask_l_, gear)) return cut;
  }
  return limit;
}

bool FastCdc::PassesAt(const uint8_t* data, size_t len) const {
  if (len < params_.min_size || len >= params_.max_size) return false;
  uint64_t h = 0;
  for (size_t i = len - kWindow; i < len; ++i) h = (h << 1) + gear_[data[i]];
  return (h & (len < params_.avg_size ? mask_s_ : mask_l_)) == 0;
}

}  // namespace coffer

// The portable BLAKE3 compression function, written from the specification:
// the reference every SIMD kernel is tested against, and the fallback on
// CPUs without them.
#include <bit>
#include <cstring>

#include "core/hash/blake3_impl.h"

namespace coffer::blake3 {
namespace {

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

inline void Store32(uint8_t* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  std::memcpy(p, &v, 4);
}

inline __attribute__((always_inline)) void G(uint32_t* v, int a, int b, int c, int d, uint32_t x,
                                             uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = std::rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = std::rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = std::rotr(v[b] ^ v[c], 7);
}

template <int r>
inline __attribute__((always_inline)) void Round(uint32_t* v, const uint32_t* m) {
  constexpr const uint8_t* s = kSchedule.word[r];
  // Columns, then diagonals.
  G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

// Runs the seven rounds; v holds the 16 state words afterwards, before the
// final feed-forward.
inline void CompressRounds(uint32_t v[16], const uint32_t cv[8], const uint8_t block[kBlockLen],
                           uint8_t block_len, uint64_t counter, uint8_t flags) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = Load32(block + 4 * i);
  for (int i = 0; i < 8; ++i) v[i] = cv[i];
  for (int i = 0; i < 4; ++i) v[8 + i] = kIv[i];
  v[12] = uint32_t(counter);
  v[13] = uint32_t(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  Round<0>(v, m);
  Round<1>(v, m);
  Round<2>(v, m);
  Round<3>(v, m);
  Round<4>(v, m);
  Round<5>(v, m);
  Round<6>(v, m);
}

}  // namespace

void PortableCompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                             uint64_t counter, uint8_t flags) {
  uint32_t v[16];
  CompressRounds(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void PortableCompressXof(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                         uint64_t counter, uint8_t flags, uint8_t out[64]) {
  uint32_t v[16];
  CompressRounds(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; ++i) {
    Store32(out + 4 * i, v[i] ^ v[i + 8]);
    Store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void PortableHashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                      const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < num_inputs; ++i) {
    const uint8_t* in = input + i * stride;
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t block_flags = flags;
      if (b == 0) block_flags |= flags_start;
      if (b + 1 == blocks) block_flags |= flags_end;
      PortableCompressInPlace(cv, in + b * kBlockLen, kBlockLen, counter + i * counter_step,
                              block_flags);
    }
    for (int w = 0; w < 8; ++w) Store32(out + 32 * i + 4 * w, cv[w]);
  }
}

const Kernels kPortableKernels = {PortableCompressInPlace, PortableCompressXof, PortableHashMany};

}  // namespace coffer::blake3

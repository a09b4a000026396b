// The AVX2 BLAKE3 kernel: eight inputs at once. Compiled with -mavx2;
// called only when cpuid and xgetbv report AVX2 usable.
#include <immintrin.h>

#include "core/hash/blake3_impl.h"
#include "core/hash/blake3_lanes.h"

namespace coffer::blake3 {
namespace {

// 8x8 transpose of 32-bit words: r[i] word j becomes r[j] word i.
inline void Transpose8(__m256i r[8]) {
  __m256i t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + q] holds word q (128-bit half 0) and word 4 + q (half 1) of rows
  // 4g..4g+3.
  for (int g = 0; g < 2; ++g) {
    u[4 * g + 0] = _mm256_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm256_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm256_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm256_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int q = 0; q < 4; ++q) {
    r[q] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x20);
    r[4 + q] = _mm256_permute2x128_si256(u[q], u[4 + q], 0x31);
  }
}

struct Avx2Ops {
  using V = __m256i;
  static constexpr int kLanes = 8;

  static V Add(V a, V b) { return _mm256_add_epi32(a, b); }
  static V Xor(V a, V b) { return _mm256_xor_si256(a, b); }
  static V Set1(uint32_t x) { return _mm256_set1_epi32(int(x)); }
  static V LoadU32(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const V*>(p)); }
  // Rotations by whole bytes are byte shuffles.
  static V Rot16(V x) {
    return _mm256_shuffle_epi8(
        x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7,
                            4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static V Rot12(V x) {
    return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
  }
  static V Rot8(V x) {
    return _mm256_shuffle_epi8(
        x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6,
                            7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static V Rot7(V x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

  static void LoadMessage(const uint8_t* p, size_t stride, V m[16]) {
    for (int half = 0; half < 2; ++half) {
      for (int lane = 0; lane < 8; ++lane) {
        m[8 * half + lane] =
            _mm256_loadu_si256(reinterpret_cast<const V*>(p + lane * stride + 32 * half));
      }
      Transpose8(m + 8 * half);
    }
  }

  static void StoreCvs(const V h[8], uint8_t* out) {
    V a[8] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]};
    Transpose8(a);
    for (int lane = 0; lane < 8; ++lane) {
      _mm256_storeu_si256(reinterpret_cast<V*>(out + 32 * lane), a[lane]);
    }
  }
};

}  // namespace

void Avx2HashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                  const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                  uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= Avx2Ops::kLanes) {
    HashLanes<Avx2Ops>(input, stride, blocks, key, counter, counter_step, flags, flags_start,
                       flags_end, out);
    input += Avx2Ops::kLanes * stride;
    counter += Avx2Ops::kLanes * counter_step;
    out += Avx2Ops::kLanes * 32;
    num_inputs -= Avx2Ops::kLanes;
  }
  Sse41HashMany(input, stride, num_inputs, blocks, key, counter, counter_step, flags, flags_start,
                flags_end, out);
}

const Kernels kAvx2Kernels = {PortableCompressInPlace, PortableCompressXof, Avx2HashMany};

}  // namespace coffer::blake3

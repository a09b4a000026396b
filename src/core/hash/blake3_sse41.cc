// The SSE4.1 BLAKE3 kernel: four inputs at once. Compiled with -msse4.1;
// called only when cpuid reports SSE4.1.
#include <immintrin.h>

#include "core/hash/blake3_impl.h"
#include "core/hash/blake3_lanes.h"

namespace coffer::blake3 {
namespace {

// 4x4 transpose of 32-bit words.
inline void Transpose4(__m128i& r0, __m128i& r1, __m128i& r2, __m128i& r3) {
  __m128i t0 = _mm_unpacklo_epi32(r0, r1);
  __m128i t1 = _mm_unpackhi_epi32(r0, r1);
  __m128i t2 = _mm_unpacklo_epi32(r2, r3);
  __m128i t3 = _mm_unpackhi_epi32(r2, r3);
  r0 = _mm_unpacklo_epi64(t0, t2);
  r1 = _mm_unpackhi_epi64(t0, t2);
  r2 = _mm_unpacklo_epi64(t1, t3);
  r3 = _mm_unpackhi_epi64(t1, t3);
}

struct Sse41Ops {
  using V = __m128i;
  static constexpr int kLanes = 4;

  static V Add(V a, V b) { return _mm_add_epi32(a, b); }
  static V Xor(V a, V b) { return _mm_xor_si128(a, b); }
  static V Set1(uint32_t x) { return _mm_set1_epi32(int(x)); }
  static V LoadU32(const uint32_t* p) { return _mm_loadu_si128(reinterpret_cast<const V*>(p)); }
  // Rotations by whole bytes are byte shuffles.
  static V Rot16(V x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
  }
  static V Rot12(V x) { return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20)); }
  static V Rot8(V x) {
    return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
  }
  static V Rot7(V x) { return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25)); }

  static void LoadMessage(const uint8_t* p, size_t stride, V m[16]) {
    for (int q = 0; q < 4; ++q) {
      for (int lane = 0; lane < 4; ++lane) {
        m[4 * q + lane] = _mm_loadu_si128(reinterpret_cast<const V*>(p + lane * stride + 16 * q));
      }
      Transpose4(m[4 * q], m[4 * q + 1], m[4 * q + 2], m[4 * q + 3]);
    }
  }

  static void StoreCvs(const V h[8], uint8_t* out) {
    V a[8] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]};
    Transpose4(a[0], a[1], a[2], a[3]);
    Transpose4(a[4], a[5], a[6], a[7]);
    for (int lane = 0; lane < 4; ++lane) {
      _mm_storeu_si128(reinterpret_cast<V*>(out + 32 * lane), a[lane]);
      _mm_storeu_si128(reinterpret_cast<V*>(out + 32 * lane + 16), a[4 + lane]);
    }
  }
};

}  // namespace

void Sse41HashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                   uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= Sse41Ops::kLanes) {
    HashLanes<Sse41Ops>(input, stride, blocks, key, counter, counter_step, flags, flags_start,
                        flags_end, out);
    input += Sse41Ops::kLanes * stride;
    counter += Sse41Ops::kLanes * counter_step;
    out += Sse41Ops::kLanes * 32;
    num_inputs -= Sse41Ops::kLanes;
  }
  PortableHashMany(input, stride, num_inputs, blocks, key, counter, counter_step, flags,
                   flags_start, flags_end, out);
}

const Kernels kSse41Kernels = {PortableCompressInPlace, PortableCompressXof, Sse41HashMany};

}  // namespace coffer::blake3

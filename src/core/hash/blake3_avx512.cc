// The AVX-512 BLAKE3 kernel: sixteen inputs at once, and a single-block
// compression that keeps the state in four rows and permutes the message
// with one vpermd per round. Compiled with -mavx512f -mavx512vl; called only
// when cpuid and xgetbv report both usable.
#include <immintrin.h>

// GCC 12's avx512fintrin.h initialises a dummy operand from itself, which
// -W(maybe-)uninitialized reports once the intrinsics are inlined (GCC bug
// 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "core/hash/blake3_impl.h"
#include "core/hash/blake3_lanes.h"

namespace coffer::blake3 {
namespace {

// 16x16 transpose of 32-bit words: r[i] word j becomes r[j] word i.
inline __attribute__((always_inline)) void Transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // w[4g + q]: 128-bit lane k holds word 4k + q of rows 4g..4g+3.
  __m512i w[16];
  for (int g = 0; g < 4; ++g) {
    w[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    w[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    w[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    w[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  // Then a 4x4 transpose of 128-bit lanes across the four groups.
  for (int q = 0; q < 4; ++q) {
    __m512i x0 = _mm512_shuffle_i32x4(w[q], w[4 + q], 0x44);       // g0.0 g0.1 g1.0 g1.1
    __m512i x1 = _mm512_shuffle_i32x4(w[q], w[4 + q], 0xEE);       // g0.2 g0.3 g1.2 g1.3
    __m512i y0 = _mm512_shuffle_i32x4(w[8 + q], w[12 + q], 0x44);  // g2.0 g2.1 g3.0 g3.1
    __m512i y1 = _mm512_shuffle_i32x4(w[8 + q], w[12 + q], 0xEE);  // g2.2 g2.3 g3.2 g3.3
    r[q] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    r[4 + q] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    r[8 + q] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    r[12 + q] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

struct Avx512Ops {
  using V = __m512i;
  static constexpr int kLanes = 16;

  static V Add(V a, V b) { return _mm512_add_epi32(a, b); }
  static V Xor(V a, V b) { return _mm512_xor_si512(a, b); }
  static V Set1(uint32_t x) { return _mm512_set1_epi32(int(x)); }
  static V LoadU32(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static V Rot16(V x) { return _mm512_ror_epi32(x, 16); }
  static V Rot12(V x) { return _mm512_ror_epi32(x, 12); }
  static V Rot8(V x) { return _mm512_ror_epi32(x, 8); }
  static V Rot7(V x) { return _mm512_ror_epi32(x, 7); }

  static void LoadMessage(const uint8_t* p, size_t stride, V m[16]) {
    for (int lane = 0; lane < 16; ++lane) m[lane] = _mm512_loadu_si512(p + lane * stride);
    Transpose16(m);
  }

  static void StoreCvs(const V h[8], uint8_t* out) {
    // Rows 8..15 are don't-cares: only words 0..7 of each lane are stored.
    V a[16] = {h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
               h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]};
    Transpose16(a);
    for (int lane = 0; lane < 16; ++lane) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * lane),
                          _mm512_castsi512_si256(a[lane]));
    }
  }
};

// Single block: rows a = v0..3, b = v4..7, c = v8..11, d = v12..15; the
// diagonal step rotates rows b, c, d so the diagonals line up as columns.
inline void RowG(__m128i& a, __m128i& b, __m128i& c, __m128i& d, __m128i x, __m128i y) {
  a = _mm_add_epi32(_mm_add_epi32(a, b), x);
  d = _mm_ror_epi32(_mm_xor_si128(d, a), 16);
  c = _mm_add_epi32(c, d);
  b = _mm_ror_epi32(_mm_xor_si128(b, c), 12);
  a = _mm_add_epi32(_mm_add_epi32(a, b), y);
  d = _mm_ror_epi32(_mm_xor_si128(d, a), 8);
  c = _mm_add_epi32(c, d);
  b = _mm_ror_epi32(_mm_xor_si128(b, c), 7);
}

// The message words of round r in the order the row form consumes them:
// column x, column y, diagonal x, diagonal y.
template <int r>
inline __m512i RoundMessage(__m512i m) {
  constexpr const uint8_t* s = kSchedule.word[r];
  return _mm512_permutexvar_epi32(
      _mm512_setr_epi32(s[0], s[2], s[4], s[6], s[1], s[3], s[5], s[7], s[8], s[10], s[12], s[14],
                        s[9], s[11], s[13], s[15]),
      m);
}

template <int r>
inline void RowRound(__m128i& a, __m128i& b, __m128i& c, __m128i& d, __m512i m) {
  __m512i p = RoundMessage<r>(m);
  RowG(a, b, c, d, _mm512_castsi512_si128(p), _mm512_extracti32x4_epi32(p, 1));
  b = _mm_shuffle_epi32(b, 0x39);
  c = _mm_shuffle_epi32(c, 0x4E);
  d = _mm_shuffle_epi32(d, 0x93);
  RowG(a, b, c, d, _mm512_extracti32x4_epi32(p, 2), _mm512_extracti32x4_epi32(p, 3));
  b = _mm_shuffle_epi32(b, 0x93);
  c = _mm_shuffle_epi32(c, 0x4E);
  d = _mm_shuffle_epi32(d, 0x39);
}

inline void RowRounds(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                      uint64_t counter, uint8_t flags, __m128i& a, __m128i& b, __m128i& c,
                      __m128i& d) {
  __m512i m = _mm512_loadu_si512(block);
  a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  c = _mm_setr_epi32(int(kIv[0]), int(kIv[1]), int(kIv[2]), int(kIv[3]));
  d = _mm_setr_epi32(int(uint32_t(counter)), int(uint32_t(counter >> 32)), block_len, flags);
  RowRound<0>(a, b, c, d, m);
  RowRound<1>(a, b, c, d, m);
  RowRound<2>(a, b, c, d, m);
  RowRound<3>(a, b, c, d, m);
  RowRound<4>(a, b, c, d, m);
  RowRound<5>(a, b, c, d, m);
  RowRound<6>(a, b, c, d, m);
}

void Avx512CompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                           uint64_t counter, uint8_t flags) {
  __m128i a, b, c, d;
  RowRounds(cv, block, block_len, counter, flags, a, b, c, d);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(cv + 4), _mm_xor_si128(b, d));
}

void Avx512CompressXof(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                       uint64_t counter, uint8_t flags, uint8_t out[64]) {
  __m128i a, b, c, d;
  RowRounds(cv, block, block_len, counter, flags, a, b, c, d);
  __m128i cv0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv));
  __m128i cv1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cv + 4));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_xor_si128(a, c));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_xor_si128(b, d));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32), _mm_xor_si128(c, cv0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 48), _mm_xor_si128(d, cv1));
}

void Avx512HashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                    const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                    uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= Avx512Ops::kLanes) {
    HashLanes<Avx512Ops>(input, stride, blocks, key, counter, counter_step, flags, flags_start,
                         flags_end, out);
    input += Avx512Ops::kLanes * stride;
    counter += Avx512Ops::kLanes * counter_step;
    out += Avx512Ops::kLanes * 32;
    num_inputs -= Avx512Ops::kLanes;
  }
  Avx2HashMany(input, stride, num_inputs, blocks, key, counter, counter_step, flags, flags_start,
               flags_end, out);
}

}  // namespace

const Kernels kAvx512Kernels = {Avx512CompressInPlace, Avx512CompressXof, Avx512HashMany};

}  // namespace coffer::blake3

// Internals of BLAKE3 shared by the hasher and its kernels: the constants of
// the specification and the table of kernel functions one implementation
// (portable, SSE4.1, AVX2, AVX-512) provides.
//
// The SIMD kernels are compiled with their own -m flags, so this header holds
// only data and declarations: an inline function defined here and compiled
// into a SIMD file could be the copy the linker keeps for everyone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace coffer::blake3 {

inline constexpr size_t kBlockLen = 64;
inline constexpr size_t kChunkLen = 1024;
inline constexpr size_t kBlocksPerChunk = kChunkLen / kBlockLen;

// Domain separation flags (BLAKE3 specification, table 3).
enum Flags : uint8_t {
  kChunkStart = 1 << 0,
  kChunkEnd = 1 << 1,
  kParent = 1 << 2,
  kRoot = 1 << 3,
  kKeyedHash = 1 << 4,
  kDeriveKeyContext = 1 << 5,
  kDeriveKeyMaterial = 1 << 6,
};

inline constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The permutation applied to the message words between rounds.
inline constexpr uint8_t kPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

inline constexpr int kRounds = 7;

// kSchedule.word[r][i] is the index of the original message word that round
// r uses in position i: the permutation applied r times. Kernels index the
// message with it instead of moving words around. A plain array, not
// std::array, so that no member function gets compiled with SIMD flags.
struct Schedule {
  uint8_t word[kRounds][16];
};
consteval Schedule MakeSchedule() {
  Schedule s{};
  for (int i = 0; i < 16; ++i) s.word[0][i] = uint8_t(i);
  for (int r = 1; r < kRounds; ++r) {
    for (int i = 0; i < 16; ++i) s.word[r][i] = s.word[r - 1][kPermutation[i]];
  }
  return s;
}
inline constexpr Schedule kSchedule = MakeSchedule();

// Compresses one block into the chaining value `cv` (8 words) in place.
using CompressInPlaceFn = void (*)(uint32_t cv[8], const uint8_t block[kBlockLen],
                                   uint8_t block_len, uint64_t counter, uint8_t flags);
// Compresses one block and writes the full 64-byte output (extended output
// of a root node).
using CompressXofFn = void (*)(const uint32_t cv[8], const uint8_t block[kBlockLen],
                               uint8_t block_len, uint64_t counter, uint8_t flags, uint8_t out[64]);
// Hashes `num_inputs` inputs of `blocks` whole blocks each, all starting from
// `key`. Input i begins at input + i * stride and has counter
// counter + i * counter_step (1 for chunks, 0 for parents). Every block gets
// `flags`, the first one also `flags_start` and the last one `flags_end`.
// The 32-byte chaining values go to out, one after the other; out must not
// overlap the input.
using HashManyFn = void (*)(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                            const uint32_t key[8], uint64_t counter, uint64_t counter_step,
                            uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out);

struct Kernels {
  CompressInPlaceFn compress_in_place;
  CompressXofFn compress_xof;
  HashManyFn hash_many;
};

// The kernels of the active implementation (see Blake3ForceImpl).
const Kernels& ActiveKernels();

// Each implementation's table, defined in its own file.
extern const Kernels kPortableKernels;
#if defined(COFFER_BLAKE3_X86)
extern const Kernels kSse41Kernels;
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif

// Portable building blocks the SIMD kernels fall back on for the inputs left
// over after the last full group of lanes.
void PortableCompressInPlace(uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                             uint64_t counter, uint8_t flags);
void PortableCompressXof(const uint32_t cv[8], const uint8_t block[kBlockLen], uint8_t block_len,
                         uint64_t counter, uint8_t flags, uint8_t out[64]);
void PortableHashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                      const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t* out);

#if defined(COFFER_BLAKE3_X86)
// Widest-first cascades: each hashes what it can in its own lane count and
// hands the rest to the next narrower one.
void Sse41HashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                   uint8_t flags_start, uint8_t flags_end, uint8_t* out);
void Avx2HashMany(const uint8_t* input, size_t stride, size_t num_inputs, size_t blocks,
                  const uint32_t key[8], uint64_t counter, uint64_t counter_step, uint8_t flags,
                  uint8_t flags_start, uint8_t flags_end, uint8_t* out);
#endif

}  // namespace coffer::blake3

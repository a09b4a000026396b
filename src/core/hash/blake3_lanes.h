// The BLAKE3 compression function run on N inputs at once, one per SIMD
// lane ("transposed": vector j holds state word j of every input). Shared by
// the SSE4.1, AVX2 and AVX-512 kernels, each of which supplies an Ops type:
//
//   using V = the vector type;  kLanes = lanes per vector;
//   V Add(V, V), Xor(V, V), Set1(uint32_t), LoadU32(const uint32_t*);
//   V Rot16(V), Rot12(V), Rot8(V), Rot7(V): rotate each word right;
//   void LoadMessage(const uint8_t* p, size_t stride, V m[16]): the block at
//     p + lane * stride, transposed;
//   void StoreCvs(const V h[8], uint8_t* out): lane i's 8 words to out + 32i.
//
// Include only from a kernel file. Everything is in an anonymous namespace
// on purpose: each kernel file gets its own copy compiled with its own
// instruction set, and none can leak to another file through the linker.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "core/hash/blake3_impl.h"

namespace coffer::blake3 {
namespace {

// Takes an address, not a pointer: it may lie past the end of the input.
inline __attribute__((always_inline)) void Prefetch(uintptr_t address) {
  _mm_prefetch(reinterpret_cast<const char*>(address), _MM_HINT_T0);
}

template <class Ops>
inline __attribute__((always_inline)) void LaneG(typename Ops::V* v, int a, int b, int c, int d,
                                                 typename Ops::V x, typename Ops::V y) {
  v[a] = Ops::Add(Ops::Add(v[a], v[b]), x);
  v[d] = Ops::Rot16(Ops::Xor(v[d], v[a]));
  v[c] = Ops::Add(v[c], v[d]);
  v[b] = Ops::Rot12(Ops::Xor(v[b], v[c]));
  v[a] = Ops::Add(Ops::Add(v[a], v[b]), y);
  v[d] = Ops::Rot8(Ops::Xor(v[d], v[a]));
  v[c] = Ops::Add(v[c], v[d]);
  v[b] = Ops::Rot7(Ops::Xor(v[b], v[c]));
}

template <class Ops, int r>
inline __attribute__((always_inline)) void LaneRound(typename Ops::V* v, const typename Ops::V* m) {
  constexpr const uint8_t* s = kSchedule.word[r];
  LaneG<Ops>(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  LaneG<Ops>(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  LaneG<Ops>(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  LaneG<Ops>(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  LaneG<Ops>(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  LaneG<Ops>(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  LaneG<Ops>(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  LaneG<Ops>(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

// Hashes Ops::kLanes inputs; the contract of HashManyFn for exactly that
// many inputs.
template <class Ops>
void HashLanes(const uint8_t* input, size_t stride, size_t blocks, const uint32_t key[8],
               uint64_t counter, uint64_t counter_step, uint8_t flags, uint8_t flags_start,
               uint8_t flags_end, uint8_t* out) {
  using V = typename Ops::V;
  constexpr int kLanes = Ops::kLanes;
  V h[8];
  for (int j = 0; j < 8; ++j) h[j] = Ops::Set1(key[j]);
  uint32_t counter_lo[kLanes], counter_hi[kLanes];
  for (int i = 0; i < kLanes; ++i) {
    uint64_t c = counter + uint64_t(i) * counter_step;
    counter_lo[i] = uint32_t(c);
    counter_hi[i] = uint32_t(c >> 32);
  }
  const V lo = Ops::LoadU32(counter_lo);
  const V hi = Ops::LoadU32(counter_hi);
  // Prefetching, measured on a page-cached file mapped in memory: the
  // hardware prefetcher alone leaves loads waiting on memory at the start of
  // every group and after every page fault. So each block asks for (1) the
  // block two ahead in every lane, and (2) a slice of the next group, which
  // usually follows (runs of whole chunks). Prefetches past the end of the
  // input are harmless: they never fault.
  const uintptr_t base = reinterpret_cast<uintptr_t>(input);
  const uintptr_t next = base + kLanes * stride;
  const size_t slice = kLanes * stride / blocks;
  for (size_t b = 0; b < blocks; ++b) {
    for (int lane = 0; lane < kLanes; ++lane) Prefetch(base + lane * stride + (b + 2) * kBlockLen);
    for (size_t off = 0; off < slice; off += 64) Prefetch(next + b * slice + off);
    uint8_t block_flags = flags;
    if (b == 0) block_flags |= flags_start;
    if (b + 1 == blocks) block_flags |= flags_end;
    V m[16];
    Ops::LoadMessage(input + b * kBlockLen, stride, m);
    V v[16] = {h[0],
               h[1],
               h[2],
               h[3],
               h[4],
               h[5],
               h[6],
               h[7],
               Ops::Set1(kIv[0]),
               Ops::Set1(kIv[1]),
               Ops::Set1(kIv[2]),
               Ops::Set1(kIv[3]),
               lo,
               hi,
               Ops::Set1(uint32_t{kBlockLen}),
               Ops::Set1(block_flags)};
    LaneRound<Ops, 0>(v, m);
    LaneRound<Ops, 1>(v, m);
    LaneRound<Ops, 2>(v, m);
    LaneRound<Ops, 3>(v, m);
    LaneRound<Ops, 4>(v, m);
    LaneRound<Ops, 5>(v, m);
    LaneRound<Ops, 6>(v, m);
    for (int j = 0; j < 8; ++j) h[j] = Ops::Xor(v[j], v[j + 8]);
  }
  Ops::StoreCvs(h, out);
}

}  // namespace
}  // namespace coffer::blake3

// FastCDC content-defined chunking (Xia et al., USENIX ATC '16) with
// normalized chunking level 2. FastCdc is a pure function from bytes to cut
// points: it keeps no state between calls, reads no more than max_size bytes
// and allocates nothing, so the same data gives the same chunks whatever
// the read buffer sizes. A caller keeps at least max_size bytes buffered
// ahead of the current chunk start (or all that is left of the input) and
// calls NextCut once per chunk.
//
// The cut points are part of the on-disk format: they decide chunk
// boundaries and with them dedup across versions. The rule, exactly:
//
//   gear      256 64-bit words, an input (derived per target from K_gear).
//   W(L)      for a chunk starting at data[0] and a candidate length L >= 64,
//             the gear hash of the 64 bytes before the candidate cut:
//               W(L) = sum_{k=0..63} gear[data[L-1-k]] << k    (mod 2^64).
//             Because each byte's term is shifted out after 64 steps, this
//             is the rolling hash h = (h << 1) + gear[b], started with h = 0
//             at byte L-64 or any earlier byte. The implementation starts it
//             at byte min_size-64, so the first min_size-64 bytes of a chunk
//             are never hashed and every tested W is a full 64-byte window.
//   b         log2(avg_size).
//   mask_s    the top b+2 bits of the word: ~0 << (64-(b+2)).
//   mask_l    the top b-2 bits of the word: ~0 << (64-(b-2)).
//   limit     min(len, max_size); `len` when at_end, else max_size.
//   cut       the smallest L with
//               min_size <= L < avg_size and (W(L) & mask_s) == 0, or
//               avg_size <= L < limit    and (W(L) & mask_l) == 0;
//             if there is none, limit (a chunk shorter than min_size only at
//             the end of the input).
//
// The masks take the high bits because the low bits of a gear hash depend
// on the last few bytes only; bit 63 depends on all 64. For the defaults
// (min 256 KiB, avg 1 MiB, max 4 MiB) that is 22 bits before 1 MiB and 18
// after, so random data gives chunks of about 1.14 MiB on average.
//
// The inner loop evaluates W at every position, four positions per step
// with the hash dependency chain broken across them; it gives bit for bit
// the cut points of the one-byte definition above (the tests hold it to a
// plain byte-at-a-time reference).
//
// Thread safety: a FastCdc is immutable after construction; any number of
// threads may call its const methods at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/error.h"

namespace coffer {

struct ChunkerParams {
  uint32_t min_size = 256 * 1024;
  uint32_t avg_size = 1024 * 1024;  // a power of two
  uint32_t max_size = 4 * 1024 * 1024;
};

// The largest max_size accepted; bounds the buffer a reader keeps ahead.
inline constexpr uint32_t kMaxChunkSizeLimit = 64 * 1024 * 1024;
// The smallest min_size accepted: the hash window is 64 bytes.
inline constexpr uint32_t kMinChunkSizeLimit = 64;

// Returns kInvalidArgument, with a message naming the bad field, unless
// 64 <= min_size < avg_size < max_size <= 64 MiB and avg_size is a power of
// two.
Status ValidateChunkerParams(const ChunkerParams& p);

using GearTable = std::array<uint64_t, 256>;

class FastCdc {
 public:
  // `params` must have passed ValidateChunkerParams (asserted in debug
  // builds). The gear table is copied.
  FastCdc(const ChunkerParams& params, const GearTable& gear);

  // `data` starts at a chunk boundary and holds `len` bytes; `at_end` says no
  // bytes follow them. Precondition: len >= max_size or at_end. Returns the
  // length of the chunk that starts at `data`: 1..min(len, max_size), and 0
  // only when len == 0. Reads at most min(len, max_size) bytes.
  size_t NextCut(const uint8_t* data, size_t len, bool at_end) const;

  // Whether candidate length `len` passes the cut test on its own: min_size
  // <= len < max_size and (W(len) & mask) == 0, with mask_s below avg_size
  // and mask_l from it on. Reads data[len-64, len). Lets a caller confirm a
  // cut it expects without scanning: if no candidate before `len` passes
  // (known, e.g., because the same bytes were chunked before and cut at
  // `len`), then NextCut returns `len` exactly when it passes or when `len`
  // is the limit.
  bool PassesAt(const uint8_t* data, size_t len) const;

  // The length NextCut returns when the chunk's first zero_chunk_size()
  // bytes are all zero (and, unless at_end, at least max_size bytes are
  // given). It is min_size, avg_size or max_size, whichever the constant
  // hash of 64 zero bytes first satisfies. Lets callers cut long zero runs
  // and holes without reading or scanning them: a run of R zero bytes at a
  // boundary is R / zero_chunk_size() zero chunks, and chunking resumes on
  // the real bytes after them.
  uint32_t zero_chunk_size() const { return zero_chunk_size_; }

  const ChunkerParams& params() const { return params_; }

 private:
  ChunkerParams params_;
  GearTable gear_;
  uint64_t mask_s_;
  uint64_t mask_l_;
  uint32_t zero_chunk_size_;
};

}  // namespace coffer

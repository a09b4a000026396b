// Zero runs: the part of Coffer's cut rule that keeps zeros out of data
// chunks. Block volumes are full of zeroed file-system blocks; without this
// rule a data chunk that runs into zeros absorbs up to max_size of them, so
// they get hashed, compressed, encrypted and restored as written data.
//
// The rule (docs/FORMAT.md, "Cut points"): a zero run is a sequence of whole
// kZeroBlock-byte blocks, aligned to multiples of kZeroBlock in the volume,
// that are all zero and together at least kMinZeroRun bytes long. A chunk
// that starts where a zero run starts is a zero chunk covering the run (at
// most max_size bytes, and never past the segment end). A data chunk ends
// at the latest where the next zero run starts, else where FastCDC cuts.
//
// The functions are pure: they depend only on the bytes and on where the
// buffer sits in the volume. Thread safety: none needed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace coffer {

inline constexpr size_t kZeroBlock = 4096;
inline constexpr size_t kMinZeroRun = 64 * 1024;

// Bytes of zero blocks at the start of data[0..len), where data starts at a
// block-aligned volume offset: whole zero blocks, stopping at the first
// block holding a non-zero byte. When `at_end` (the data ends the segment),
// a final partial block counts too if it is all zero.
size_t ZeroBlocksPrefix(const uint8_t* data, size_t len, bool at_end);

// The first block-aligned position b (relative to data, with data at volume
// offset `offset`) with 0 < b < limit where a zero run starts: kMinZeroRun
// bytes of zero blocks within data[b..len). Returns `limit` when there is
// none. `len` must cover limit + kMinZeroRun bytes unless `at_end` (the
// data ends the segment; a run may then end in a final partial block).
size_t FindZeroRun(const uint8_t* data, size_t len, uint64_t offset, size_t limit, bool at_end);

}  // namespace coffer

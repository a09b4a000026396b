// Writing and reading files with O_DIRECT, which needs the buffer, the file
// offset and the length aligned to the device's block. These helpers go
// through a block-aligned scratch buffer of kDirectScratch bytes, one per
// thread and kept for the thread's life, so no call touches a new page: on
// a VM whose host reclaims the guest's free memory, the first touch of a
// page costs more than copying it (docs/PERFORMANCE.md), and page-cache
// pages for data written once are exactly such pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/error.h"

namespace coffer {

inline constexpr size_t kDirectBlock = 4096;  // a multiple of any device's block
inline constexpr size_t kDirectScratch = 1 << 20;

// The page-cache page, never smaller than kDirectBlock: direct and buffered
// writes to one file must not share one (64 KiB pages on some machines).
uint64_t CachePageSize();

inline uint64_t DirectRoundUp(uint64_t n) { return (n + kDirectBlock - 1) & ~(kDirectBlock - 1); }
inline uint64_t DirectRoundDown(uint64_t n) { return n & ~uint64_t(kDirectBlock - 1); }

// Writes `data` at `offset` (a multiple of kDirectBlock) to `fd`, opened
// with O_DIRECT, padding the last block with zeros; the caller cuts a
// padded tail off with ftruncate if it must. Returns false, having written
// nothing, if the kernel refused O_DIRECT for this file (EINVAL on the first
// write) or no scratch buffer could be had: the caller then writes buffered.
// Data at a block-aligned address is written from where it is; anything
// else is copied through the scratch buffer first.
// `name` is for messages.
Result<bool> WriteDirect(int fd, uint64_t offset, ByteView data, const std::string& name);

// Copies [offset, offset+length) of `fd` out of the page cache if the cache
// holds all of it (cachestat, then preadv2 with RWF_NOWAIT): returns the
// bytes read, normally all of them, and 0 when any page is not cached or
// the kernel cannot say; it never starts I/O. For data that may or may not
// be cached: the caller reads the rest with ReadDirect, so cold data
// neither goes through read-ahead nor fills the cache.
size_t ReadCached(int fd, uint64_t offset, uint64_t length, uint8_t* out);

// Whether the page cache holds every page of [offset, offset+length) of
// `fd` (cachestat); false when the kernel cannot say. It reads nothing.
bool IsCached(int fd, uint64_t offset, uint64_t length);

// Whether this kernel can say what the page cache holds (cachestat, Linux
// 6.5 and later, unless a seccomp filter refuses it).
bool CacheStateKnown();

// Reads [offset, offset+length) of `fd`, opened with O_DIRECT, into `out`.
// Where `out` sits as far from a block boundary as `offset` does, the whole
// blocks are read straight into it and only the partial blocks at either
// end through the scratch buffer; otherwise all of it goes through the
// scratch buffer. Returns false if the kernel refused O_DIRECT for the file
// or no scratch buffer could be had (the caller then reads it all
// buffered); kCorruption if the file ends before offset+length.
Result<bool> ReadDirect(int fd, uint64_t offset, uint64_t length, uint8_t* out,
                        const std::string& name);

}  // namespace coffer

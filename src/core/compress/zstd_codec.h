// zstd behind two calls: compress a chunk only when that saves space, and
// decompress with a known upper bound on the output.
//
// Compression contexts are kept per thread, so both functions may be called
// concurrently from any number of threads without locking.
#pragma once

#include "base/bytes.h"
#include "base/error.h"

namespace coffer {

// The level the data path uses: measured to give most of level 3's ratio on
// log-like text at nearly twice its speed (docs/PERFORMANCE.md).
inline constexpr int kDefaultZstdLevel = 1;

// Compresses `in` into out[0..]. Returns the compressed size, or 0 when the
// result would not be smaller than the input (the caller then stores the
// input as it is). `out` must have room for in.size() bytes.
size_t CompressIfSmaller(ByteView in, uint8_t* out, int level = kDefaultZstdLevel);

// Compresses `in` into one zstd frame, whatever its size (for metadata,
// where one decoding path matters more than a few bytes).
Bytes CompressFrame(ByteView in, int level);

// Decompresses one zstd frame. kCorruption if the frame is malformed or its
// content would exceed `max_size`.
Status Decompress(ByteView in, size_t max_size, Buffer* out);

// The same into out[0 .. max_size), which the caller provides; returns the
// decompressed length.
Result<size_t> DecompressInto(ByteView in, uint8_t* out, size_t max_size);

}  // namespace coffer

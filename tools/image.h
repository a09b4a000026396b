// Synthetic VM-disk-like images for tests, the demo and benchmarks.
//
// An image is a sequence of extents of varied sizes (64 KiB ... 64 MiB,
// log-uniform, every offset 4 KiB-aligned), each of one kind:
//   random  incompressible bytes (media, encrypted or compressed files)
//   text    log-like lines, about 3-4x compressible with zstd -1
//   zero    free space; written as zeros, or left as a hole when sparse
//   repeat  copies of earlier random or text data at 4 KiB-aligned source
//           offsets (copied files, VM templates), which dedup can find
// Kinds are assigned so that the byte fractions hit the target composition
// (30 / 25 / 30 / 15 %) closely while the extents stay interleaved, as on a
// used file system. Everything is a pure function of (size, seed).
//
// Thread safety: free functions without shared state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace coffer::tools {

enum class ExtentKind : uint8_t { kRandom = 0, kText = 1, kZero = 2, kRepeat = 3 };
inline constexpr size_t kExtentKinds = 4;
const char* ExtentKindName(ExtentKind kind);

// Target share of the image's bytes per kind, in ExtentKind order.
inline constexpr std::array<double, kExtentKinds> kComposition = {0.30, 0.25, 0.30, 0.15};

inline constexpr uint64_t kBlock = 4096;
inline constexpr uint64_t kMinExtent = 64 << 10;
inline constexpr uint64_t kMaxExtent = 64 << 20;

struct Piece {
  uint64_t source;  // offset of an earlier random or text range, 4 KiB-aligned
  uint64_t length;
};

struct Extent {
  uint64_t offset = 0;
  uint64_t length = 0;
  ExtentKind kind = ExtentKind::kRandom;
  std::vector<Piece> pieces;  // for kRepeat: what to copy, in order
};

// The layout of an image of `size` bytes: extents in offset order, covering
// [0, size) exactly. Only the last extent may have a length that is not a
// multiple of 4 KiB.
std::vector<Extent> PlanImage(uint64_t size, uint64_t seed);

struct ImageStats {
  std::array<uint64_t, kExtentKinds> bytes{};  // per ExtentKind
  size_t extents = 0;
  double seconds = 0;
};

// Writes the image planned by PlanImage(size, seed) to `path` (created or
// truncated). With `sparse`, zero extents are left as holes. Errors: the
// file cannot be created or written (ErrnoError codes, e.g. kResourceExhausted
// for a full disk).
Result<ImageStats> CreateImage(const std::string& path, uint64_t size, uint64_t seed, bool sparse);

}  // namespace coffer::tools

#include "core/chunker/zero.h"

#include <cstring>

namespace coffer {
namespace {

// An unaligned 8-byte load; compiles to a single mov.
inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

bool IsAllZero(const uint8_t* data, size_t n) {
  if (n < 8) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; ++i) acc |= data[i];
    return acc == 0;
  }
  // Most data chunks fail here, on their first word.
  if (Load64(data) != 0) return false;
  // Blocks of 64 bytes, eight independent loads OR-ed together so the loads
  // overlap; the compiler turns this into vector loads where it can.
  size_t i = 8;
  for (; i + 64 <= n; i += 64) {
    const uint8_t* p = data + i;
    const uint64_t acc = (Load64(p) | Load64(p + 8)) | (Load64(p + 16) | Load64(p + 24)) |
                         (Load64(p + 32) | Load64(p + 40)) | (Load64(p + 48) | Load64(p + 56));
    if (acc != 0) return false;
  }
  for (; i + 8 <= n; i += 8) {
    if (Load64(data + i) != 0) return false;
  }
  // The last n-i < 8 bytes: one load that overlaps bytes already checked.
  return i == n || Load64(data + n - 8) == 0;
}

}  // namespace coffer

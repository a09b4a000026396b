#include "core/chunker/zero_runs.h"

#include <algorithm>

#include "core/chunker/zero.h"

namespace coffer {

size_t ZeroBlocksPrefix(const uint8_t* data, size_t len, bool at_end) {
  size_t n = 0;
  while (n + kZeroBlock <= len && IsAllZero(data + n, kZeroBlock)) n += kZeroBlock;
  if (at_end && n + kZeroBlock > len && n < len && IsAllZero(data + n, len - n)) n = len;
  return n;
}

size_t FindZeroRun(const uint8_t* data, size_t len, uint64_t offset, size_t limit, bool at_end) {
  size_t b = size_t((kZeroBlock - offset % kZeroBlock) % kZeroBlock);
  if (b == 0) b = kZeroBlock;  // positions strictly after the start
  size_t run_start = 0, run = 0;
  for (; b + kZeroBlock <= len; b += kZeroBlock) {
    if (run == 0 && b >= limit) break;
    if (IsAllZero(data + b, kZeroBlock)) {
      if (run == 0) run_start = b;
      run += kZeroBlock;
      if (run >= kMinZeroRun) return run_start;
    } else {
      run = 0;
    }
  }
  // A run cut short by the end of the data still counts if long enough.
  if (at_end && run > 0 && b < len && IsAllZero(data + b, len - b)) run += len - b;
  if (run >= kMinZeroRun && run_start < limit) return run_start;
  return limit;
}

}  // namespace coffer

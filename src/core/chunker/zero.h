// Zero detection for the data path: a chunk whose bytes are all zero is
// recorded as "zero, length N" and never hashed, compressed or stored, so
// every chunk passes through IsAllZero first. It must cost next to nothing on
// data (which almost always has a non-zero byte in its first few words) and
// run at memory speed on zero runs.
//
// Thread safety: a pure function.
#pragma once

#include <cstddef>
#include <cstdint>

namespace coffer {

// True if all n bytes at `data` are zero (true for n == 0, when `data` may
// be null). Any alignment. Reads word-wise, 64 bytes per step, and returns at
// the first step that holds a non-zero byte.
bool IsAllZero(const uint8_t* data, size_t n);

}  // namespace coffer

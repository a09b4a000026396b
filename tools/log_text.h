// Log-like text for test images: lines such as
//   2026-11-24T04:20:58.123456Z web-03 nginx[2211]: 10.4.1.77 - - "GET /api/v1/items/..."
// A pool of lines is built once from a seed (hosts, services, templates and
// their fixed fields); a Stream then emits lines from the pool with an
// advancing timestamp and some numbers re-drawn on every line. The mix of
// repeated structure and fresh digits makes the text compress about 3-4x with
// zstd level 1, as system and application logs do, and keeps generation at
// memcpy speed (no formatting per line).
//
// Thread safety: a LogTextPool is immutable after construction and may be
// shared; each Stream belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "prng.h"

namespace coffer::tools {

class LogTextPool {
 public:
  // Builds `lines` pool lines from `seed`.
  explicit LogTextPool(uint64_t seed, size_t lines = 4096);

  // A field whose characters are re-drawn on every emission of its line.
  enum FieldKind : uint8_t { kDecimal, kHex, kBase64 };
  struct Field {
    uint16_t offset;
    uint8_t length;
    FieldKind kind;
  };
  struct Line {
    std::string text;  // starts with a timestamp placeholder, ends with '\n'
    std::vector<Field> fields;
  };
  const std::vector<Line>& lines() const { return lines_; }

 private:
  std::vector<Line> lines_;
};

// Emits an endless sequence of log lines; Fill() may be called with any
// buffer sizes and yields the same bytes for the same seed.
class LogTextStream {
 public:
  LogTextStream(const LogTextPool& pool, uint64_t seed);

  void Fill(uint8_t* out, size_t n);

  // Length of the timestamp that starts every line ("....-..-..T..:..:..\.......Z").
  static constexpr size_t kTimestampLength = 27;

 private:
  void NextLine();
  void WriteTimestamp(char* out);

  const LogTextPool* pool_;
  Xoshiro256 rng_;
  uint64_t clock_us_;
  int64_t day_ = -1;
  char date_[11] = {};  // "YYYY-MM-DD" of day_
  std::string line_;
  size_t line_pos_ = 0;  // bytes of line_ already emitted
};

}  // namespace coffer::tools

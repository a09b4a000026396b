// Parsing and printing of the human-facing values of the CLI: sizes
// ("256K", "4M"), durations ("90s", "24h", "7d"), byte counts, RFC 3339 times.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer {

// "4096", "256K", "1M", "4MiB", "2G" (binary multiples). Rejects anything else.
Result<uint64_t> ParseSize(std::string_view text);

// "0", "90s", "30m", "24h", "7d". Rejects a missing unit on a non-zero value.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// "1.5 GiB", "12 KiB", "100 B".
std::string FormatBytes(uint64_t n);

// Seconds since the epoch, UTC, as "2026-11-24T04:20:58Z".
std::string FormatRfc3339(int64_t unix_seconds);

// Current wall-clock time as seconds (and microseconds) since the epoch.
int64_t UnixNow();
int64_t UnixNowMicros();

}  // namespace coffer

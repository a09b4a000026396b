// Small helpers the manager's background loops (scheduler, GC loop) share:
// their clock, their log sink, blank-string checks. Internal to
// src/manager/loops and services.
//
// Thread safety: pure functions.
#pragma once

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace coffer::manager {

// `clock_us()` when set, else the system clock; microseconds since the epoch.
inline int64_t ClockNow(const std::function<int64_t()>& clock_us) {
  if (clock_us) return clock_us();
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sends a line to `log` when set, else to stderr as "coffer manager: …".
inline void LogTo(const std::function<void(std::string_view)>& log, const std::string& line) {
  if (log) {
    log(line);
  } else {
    std::fprintf(stderr, "coffer manager: %s\n", line.c_str());
  }
}

inline bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace coffer::manager

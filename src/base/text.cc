#include "base/text.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace coffer {

static Result<uint64_t> ParseNumberPrefix(std::string_view text, size_t* used) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) {
    return InvalidArgument("'" + std::string(text) + "' does not start with a number");
  }
  *used = size_t(ptr - text.data());
  return v;
}

Result<uint64_t> ParseSize(std::string_view text) {
  size_t used = 0;
  COFFER_ASSIGN_OR_RETURN(uint64_t v, ParseNumberPrefix(text, &used));
  std::string_view unit = text.substr(used);
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K" || unit == "KiB" || unit == "k") {
    shift = 10;
  } else if (unit == "M" || unit == "MiB") {
    shift = 20;
  } else if (unit == "G" || unit == "GiB") {
    shift = 30;
  } else if (unit == "T" || unit == "TiB") {
    shift = 40;
  } else {
    return InvalidArgument("size '" + std::string(text) +
                           "' has an unknown unit (use B, K, M, G or T)");
  }
  if (shift > 0 && v > (UINT64_MAX >> shift)) {
    return InvalidArgument("size '" + std::string(text) + "' is too large");
  }
  return v << shift;
}

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  size_t used = 0;
  COFFER_ASSIGN_OR_RETURN(uint64_t v, ParseNumberPrefix(text, &used));
  std::string_view unit = text.substr(used);
  uint64_t mult = 0;
  if (unit.empty() && v == 0) return std::chrono::seconds(0);
  if (unit == "s")
    mult = 1;
  else if (unit == "m")
    mult = 60;
  else if (unit == "h")
    mult = 3600;
  else if (unit == "d")
    mult = 86400;
  else
    return InvalidArgument("duration '" + std::string(text) +
                           "' needs a unit: s, m, h or d (e.g. 90s, 30m, 24h, 7d)");
  if (v > uint64_t(INT64_MAX) / mult) {
    return InvalidArgument("duration '" + std::string(text) + "' is too large");
  }
  return std::chrono::seconds(int64_t(v * mult));
}

std::string FormatBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024) return std::to_string(n) + " B";
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f %s", v < 10 ? 2 : (v < 100 ? 1 : 0), v, kUnits[u]);
  return buf;
}

std::string FormatRfc3339(int64_t unix_seconds) {
  std::time_t t = std::time_t(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace coffer

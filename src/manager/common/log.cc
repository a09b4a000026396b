#include "manager/common/log.h"

#include <cstdio>
#include <mutex>
#include <string>

#include "base/text.h"

namespace coffer::manager {

void Log(std::string_view message) {
  static std::mutex mu;
  std::string line =
      "coffer manager: " + FormatRfc3339(UnixNow()) + " " + std::string(message) + "\n";
  std::lock_guard lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace coffer::manager

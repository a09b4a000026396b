// Cron expressions (manager/common/cron.h): a volume's backup_cron as the
// API receives it, parsed and then evaluated by the scheduler and the
// schedule editor's preview.
//
// Input: the expression.
#include "fuzz/fuzz_util.h"
#include "manager/common/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace coffer;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cron = manager::CronSchedule::Parse(text);
  if (!cron) return 0;
  // Parse refuses schedules that never run: a parsed one has a next run,
  // strictly later and on a whole minute. 2026-12-07T00:00:00Z.
  constexpr int64_t kStart = int64_t(1796601600) * 1'000'000;
  auto runs = cron->NextRuns(kStart, 3);
  if (runs.empty()) std::abort();
  int64_t last = kStart;
  for (int64_t t : runs) {
    if (t <= last || t % 60'000'000 != 0) std::abort();
    last = t;
  }
  return 0;
}

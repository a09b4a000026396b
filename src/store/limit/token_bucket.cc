#include "store/limit/token_bucket.h"

#include <algorithm>
#include <thread>

namespace coffer {
namespace {

class RealClock final : public PacingClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::nanoseconds d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

PacingClock& PacingClock::Real() {
  static RealClock clock;
  return clock;
}

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, PacingClock& clock)
    : rate_(std::max<uint64_t>(rate, 1)),
      burst_(double(burst)),
      clock_(clock),
      tokens_(double(burst)),
      last_(clock.Now()) {}

void TokenBucket::Take(uint64_t n) {
  double wait_seconds;
  {
    std::lock_guard lock(mu_);
    auto now = clock_.Now();
    double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * double(rate_));
    tokens_ -= double(n);
    wait_seconds = tokens_ < 0 ? -tokens_ / double(rate_) : 0;
  }
  if (wait_seconds > 0) {
    clock_.SleepFor(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(wait_seconds)));
  }
}

}  // namespace coffer

// TokenBucket: paces a flow of bytes to a rate. A caller takes n tokens and
// is made to sleep for whatever it took beyond what had accumulated, so
// callers are served in the order they arrive and the bytes let through by
// time t never exceed burst + rate * t.
//
// The clock is injectable so tests can run ten simulated seconds instantly.
//
// Thread safety: Take may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace coffer {

class PacingClock {
 public:
  virtual ~PacingClock() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
  static PacingClock& Real();
};

class TokenBucket {
 public:
  // `rate` bytes per second (> 0); up to `burst` bytes may pass at once after
  // an idle spell.
  TokenBucket(uint64_t rate, uint64_t burst, PacingClock& clock = PacingClock::Real());

  // Pays for n bytes, sleeping as long as the rate requires.
  void Take(uint64_t n);

  uint64_t rate() const { return rate_; }

 private:
  const uint64_t rate_;
  const double burst_;
  PacingClock& clock_;
  std::mutex mu_;
  double tokens_;  // negative: debt that later callers wait out
  std::chrono::steady_clock::time_point last_;
};

}  // namespace coffer

#include "store/limit/limit_store.h"

#include <atomic>
#include <thread>
#include <vector>

#include "store/mem/mem_store.h"
#include "store/store_conformance.h"

namespace coffer {
namespace {

INSTANTIATE_TEST_SUITE_P(LimitOverMem, StoreConformanceTest,
                         testing::Values(StoreFactory{"limit_mem",
                                                      [] {
                                                        return std::make_unique<LimitStore>(
                                                            std::make_unique<MemStore>(),
                                                            BandwidthLimits{256 << 20, 256 << 20});
                                                      }}),
                         StoreFactoryName);

// A clock that only moves when someone sleeps: ten seconds pass instantly.
class FakeClock final : public PacingClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return now_; }
  void SleepFor(std::chrono::nanoseconds d) override { now_ += d; }
  double Seconds() const { return std::chrono::duration<double>(now_ - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_{}, now_{};
};

TEST(TokenBucketTest, HoldsTheRateWithinTenPercentOverTenSeconds) {
  for (uint64_t rate : {uint64_t(100) << 10, uint64_t(10) << 20, uint64_t(1) << 30}) {
    for (uint64_t chunk : {uint64_t(4096), uint64_t(1) << 20, uint64_t(4) << 20}) {
      FakeClock clock;
      TokenBucket bucket(rate, rate / 10, clock);
      uint64_t sent = 0;
      while (clock.Seconds() < 10.0) {
        bucket.Take(chunk);
        sent += chunk;
      }
      double measured = double(sent) / clock.Seconds();
      EXPECT_NEAR(measured / double(rate), 1.0, 0.10) << "rate " << rate << " chunk " << chunk;
    }
  }
}

TEST(LimitStoreTest, PacesUploadsAndDownloadsInRealTime) {
  // 4 threads of 64 KiB objects against 8 MiB/s for ~1.5 s each way.
  constexpr uint64_t kRate = 8 << 20;
  LimitStore store(std::make_unique<MemStore>(), BandwidthLimits{kRate, kRate});
  Bytes obj(64 << 10, 7);
  auto measure = [&](bool upload) {
    std::atomic<uint64_t> bytes{0};
    auto start = std::chrono::steady_clock::now();
    auto until = start + std::chrono::milliseconds(1500);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::string key = "o" + std::to_string(t);
        Buffer buf;
        while (std::chrono::steady_clock::now() < until) {
          if (upload) {
            EXPECT_TRUE(store.Put(key, obj).has_value());
          } else {
            EXPECT_TRUE(store.Get(key, &buf).has_value());
          }
          bytes += obj.size();
        }
      });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return double(bytes.load()) / secs;
  };
  // Never faster than the limit (+15 %: one burst over a short window). A
  // loaded machine can only make the threads slower, which is no fault of
  // the limiter (TokenBucketTest checks its precision on a fake clock), so
  // the lower bound only catches a limiter that throttles far too hard.
  double up = measure(true);
  EXPECT_LE(up / kRate, 1.15) << up;
  EXPECT_GE(up / kRate, 0.5) << up;
  double down = measure(false);
  EXPECT_LE(down / kRate, 1.15) << down;
  EXPECT_GE(down / kRate, 0.5) << down;
}

TEST(LimitStoreTest, UnlimitedDirectionIsNotPaced) {
  LimitStore store(std::make_unique<MemStore>(), BandwidthLimits{1024, 0});
  ASSERT_TRUE(store.Put("k", Bytes(100, 1)).has_value());
  auto start = std::chrono::steady_clock::now();
  Buffer buf;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store.Get("k", &buf).has_value());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
}

}  // namespace
}  // namespace coffer

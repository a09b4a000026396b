#include "store/retry/retry_store.h"

#include <chrono>
#include <set>

#include "store/fault/fault_store.h"
#include "store/mem/mem_store.h"
#include "store/store_conformance.h"

namespace coffer {
namespace {

const RetryPolicy kFast{20, std::chrono::milliseconds(1), std::chrono::milliseconds(4),
                        std::chrono::milliseconds(60'000)};

// Faults on a quarter of all calls, absorbed by retries: the conformance
// suite cannot tell the difference.
INSTANTIATE_TEST_SUITE_P(RetryOverFaultOverMem, StoreConformanceTest,
                         testing::Values(StoreFactory{"retry_fault_mem",
                                                      [] {
                                                        static uint64_t seed = 1;
                                                        return std::make_unique<RetryStore>(
                                                            std::make_unique<FaultStore>(
                                                                std::make_unique<MemStore>(), 0.25,
                                                                seed++),
                                                            kFast);
                                                      }}),
                         StoreFactoryName);

// A store whose calls fail with a given error a given number of times.
class FlakyStore final : public ObjectStore {
 public:
  FlakyStore(int failures, ErrorCode code) : failures_(failures), code_(code) {}
  std::string Describe() const override { return "flaky"; }
  Status Put(std::string_view key, ByteView data) override {
    ++calls;
    if (failures_-- > 0) return MakeError(code_, "put " + std::string(key) + ": boom");
    return mem_.Put(key, data);
  }
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override {
    return mem_.Get(key, out, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return mem_.Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    ++calls;
    return mem_.List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return mem_.Delete(key); }
  int calls = 0;

 private:
  int failures_;
  ErrorCode code_;
  MemStore mem_;
};

TEST(RetryStoreTest, RetriesUnavailableUntilItSucceeds) {
  auto flaky = std::make_unique<FlakyStore>(3, ErrorCode::kUnavailable);
  FlakyStore* raw = flaky.get();
  auto metrics = std::make_shared<StoreMetrics>();
  RetryStore store(std::move(flaky), kFast, metrics);
  ASSERT_TRUE(store.Put("k", AsBytes("v")).has_value());
  EXPECT_EQ(raw->calls, 4);
  EXPECT_EQ(store.retries(), 3u);
  EXPECT_EQ(metrics->retries(), 3u);
}

TEST(RetryStoreTest, DoesNotRetryOtherErrors) {
  for (ErrorCode code : {ErrorCode::kAuthFailed, ErrorCode::kNotFound, ErrorCode::kInvalidArgument,
                         ErrorCode::kPermissionDenied}) {
    auto flaky = std::make_unique<FlakyStore>(1, code);
    FlakyStore* raw = flaky.get();
    RetryStore store(std::move(flaky), kFast);
    auto st = store.Put("k", AsBytes("v"));
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), code);
    EXPECT_EQ(raw->calls, 1);
    EXPECT_EQ(store.retries(), 0u);
  }
}

TEST(RetryStoreTest, GivesUpAfterTheAttemptLimitKeepingTheMessage) {
  auto flaky = std::make_unique<FlakyStore>(100, ErrorCode::kUnavailable);
  FlakyStore* raw = flaky.get();
  RetryPolicy p = kFast;
  p.max_attempts = 4;
  RetryStore store(std::move(flaky), p);
  auto st = store.Put("chunks/ab/x", AsBytes("v"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("put chunks/ab/x: boom"), std::string::npos);
  EXPECT_NE(st.error().message().find("gave up after 4 attempts"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(raw->calls, 4);
}

TEST(RetryStoreTest, GivesUpAtTheDeadline) {
  RetryPolicy p{1000, std::chrono::milliseconds(20), std::chrono::milliseconds(40),
                std::chrono::milliseconds(200)};
  RetryStore store(std::make_unique<FlakyStore>(1000, ErrorCode::kUnavailable), p);
  auto start = std::chrono::steady_clock::now();
  auto st = store.Put("k", AsBytes("v"));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("deadline"), std::string::npos) << st.error().message();
  EXPECT_LT(took, 1.0);
}

TEST(RetryStoreTest, BackoffGrowsExponentiallyUpToTheCap) {
  // With full jitter each wait is uniform in [0, min(cap, base * 2^n)]: the
  // mean wait of early retries is about half the ceiling.
  RetryPolicy p{8, std::chrono::milliseconds(8), std::chrono::milliseconds(64),
                std::chrono::milliseconds(60'000)};
  RetryStore store(std::make_unique<FlakyStore>(7, ErrorCode::kUnavailable), p, nullptr, 42);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store.Put("k", AsBytes("v")).has_value());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Ceilings 8+16+32+64+64+64+64 = 312 ms; the sum of uniform draws is
  // far from both 0 and the cap.
  EXPECT_GT(took, 0.03);
  EXPECT_LT(took, 0.6);
}

TEST(RetryStoreTest, AListCutShortIsResumedWithoutRepeatingObjects) {
  auto mem = std::make_unique<MemStore>();
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(mem->Put("k" + std::to_string(i), AsBytes("v")).has_value());
  // Every List attempt has a 60 % chance of failing, many of them part-way.
  RetryStore store(std::make_unique<FaultStore>(std::move(mem), 0.6, 7), kFast);
  for (int round = 0; round < 10; ++round) {
    std::multiset<std::string> seen;
    ASSERT_TRUE(store
                    .List("",
                          [&](const ObjectInfo& i) -> Status {
                            seen.insert(i.key);
                            return {};
                          })
                    .has_value());
    EXPECT_EQ(seen.size(), 50u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 50u);
  }
  EXPECT_GT(store.retries(), 0u);
}

TEST(RetryStoreTest, TheCallbacksOwnErrorIsNeverRetried) {
  auto flaky = std::make_unique<FlakyStore>(0, ErrorCode::kUnavailable);
  ASSERT_TRUE(flaky->Put("a", AsBytes("v")).has_value());
  FlakyStore* raw = flaky.get();
  RetryStore store(std::move(flaky), kFast);
  int calls = 0;
  auto st = store.List("", [&](const ObjectInfo&) -> Status {
    ++calls;
    return Unavailable("the caller's own trouble");
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(raw->calls, 2);  // the Put above and one List
  EXPECT_EQ(store.retries(), 0u);
}

TEST(FaultStoreTest, FailsAboutTheRequestedFractionReproducibly) {
  auto run = [](uint64_t seed) {
    FaultStore store(std::make_unique<MemStore>(), 0.1, seed);
    std::vector<bool> outcome;
    for (int i = 0; i < 2000; ++i) outcome.push_back(store.Put("k", AsBytes("v")).has_value());
    return std::make_pair(outcome, store.injected());
  };
  auto [a, na] = run(5);
  auto [b, nb] = run(5);
  EXPECT_EQ(a, b);
  EXPECT_EQ(na, nb);
  EXPECT_GT(na, 140u);
  EXPECT_LT(na, 260u);
  FaultStore store(std::make_unique<MemStore>(), 1.0, 1);
  auto st = store.Put("chunks/x", AsBytes("v"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("chunks/x"), std::string::npos);
}

}  // namespace
}  // namespace coffer

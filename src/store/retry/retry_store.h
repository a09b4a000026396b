// RetryStore: retries the calls of another store that fail with
// kUnavailable (5xx, SlowDown, timeouts, stalls, reset connections: DESIGN
// §7), with capped exponential backoff and full jitter, an attempt limit and
// an overall deadline per call. Any other error is returned at once.
//
// A List that fails part-way is retried without calling `fn` again for the
// objects it has already seen (tracked by a 64-bit hash of each key, 8 bytes
// per object, so a listing of millions stays small); an error returned by
// `fn` itself is never retried.
//
// Thread safety: as the wrapped store; the random source is locked.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>

#include "store/metrics/store_metrics.h"
#include "store/object_store.h"

namespace coffer {

struct RetryPolicy {
  int max_attempts = 10;  // including the first
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{10'000};
  // No new attempt starts after this much time since the call began.
  std::chrono::milliseconds deadline{180'000};
};

class RetryStore final : public ObjectStore {
 public:
  // `metrics`, when given, counts every retry (CountRetry).
  RetryStore(std::unique_ptr<ObjectStore> inner, RetryPolicy policy,
             std::shared_ptr<StoreMetrics> metrics = nullptr, uint64_t seed = 0);

  std::string Describe() const override { return inner_->Describe(); }
  StoreProperties properties() const override { return inner_->properties(); }
  Status Put(std::string_view key, ByteView data) override;
  Status PutDeferred(std::string_view key, ByteView data) override;
  // Not retried: a failed Flush has lost the deferred objects.
  Status Flush() override { return inner_->Flush(); }
  Status Get(std::string_view key, Buffer* out,
             std::optional<ByteRange> range = std::nullopt) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  // Retried whole: removing what is gone already is no error.
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override;
  Status DeleteMany(std::span<const std::string> keys) override;

  uint64_t retries() const { return retries_.load(); }  // over all calls so far

 private:
  template <typename T>
  // Runs `op` until it succeeds, fails for good, or the policy says stop;
  // never retries once *final (when given) is true.
  Result<T> Run(const std::function<Result<T>()>& op, const bool* final = nullptr);
  std::chrono::milliseconds Backoff(int retry);

  std::unique_ptr<ObjectStore> inner_;
  const RetryPolicy policy_;
  std::shared_ptr<StoreMetrics> metrics_;
  std::atomic<uint64_t> retries_{0};
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace coffer

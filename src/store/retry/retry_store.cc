#include "store/retry/retry_store.h"

#include <algorithm>
#include <thread>
#include <unordered_set>
#include <vector>

namespace coffer {

RetryStore::RetryStore(std::unique_ptr<ObjectStore> inner, RetryPolicy policy,
                       std::shared_ptr<StoreMetrics> metrics, uint64_t seed)
    : inner_(std::move(inner)),
      policy_(policy),
      metrics_(std::move(metrics)),
      rng_(seed != 0 ? seed : std::random_device{}()) {}

std::chrono::milliseconds RetryStore::Backoff(int retry) {
  // Full jitter: uniform in [0, min(cap, initial * 2^retry)].
  int64_t ceiling = policy_.initial_backoff.count();
  for (int i = 0; i < retry && ceiling < policy_.max_backoff.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, policy_.max_backoff.count());
  std::lock_guard lock(rng_mu_);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, ceiling)(rng_));
}

template <typename T>
Result<T> RetryStore::Run(const std::function<Result<T>()>& op, const bool* final) {
  const auto start = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    Result<T> r = op();
    if (r || !r.error().IsRetryable() || (final != nullptr && *final)) return r;
    auto elapsed = std::chrono::steady_clock::now() - start;
    auto wait = Backoff(attempt - 1);
    std::string why;
    if (attempt >= policy_.max_attempts) {
      why = "gave up after " + std::to_string(attempt) + " attempts";
    } else if (elapsed + wait >= policy_.deadline) {
      why = "gave up after " + std::to_string(attempt) + " attempts in " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()) +
            " s (deadline " + std::to_string(policy_.deadline.count() / 1000) + " s)";
    }
    if (!why.empty()) {
      return std::unexpected(r.error().Reworded(r.error().message() + " (" + why + ")"));
    }
    retries_.fetch_add(1);
    if (metrics_) metrics_->CountRetry();
    std::this_thread::sleep_for(wait);
  }
}

Status RetryStore::Put(std::string_view key, ByteView data) {
  return Run<void>([&] { return inner_->Put(key, data); });
}

Status RetryStore::PutDeferred(std::string_view key, ByteView data) {
  return Run<void>([&] { return inner_->PutDeferred(key, data); });
}

Status RetryStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  return Run<void>([&] { return inner_->Get(key, out, range); });
}

Result<ObjectInfo> RetryStore::Head(std::string_view key) {
  return Run<ObjectInfo>([&] { return inner_->Head(key); });
}

Result<TemporaryReport> RetryStore::CleanTemporaries(const TemporaryCleanup& cleanup) {
  return Run<TemporaryReport>([&] { return inner_->CleanTemporaries(cleanup); });
}

Status RetryStore::Delete(std::string_view key) {
  return Run<void>([&] { return inner_->Delete(key); });
}

Status RetryStore::DeleteMany(std::span<const std::string> keys) {
  return Run<void>([&] { return inner_->DeleteMany(keys); });
}

Status RetryStore::List(std::string_view prefix,
                        const std::function<Status(const ObjectInfo&)>& fn) {
  // Keys delivered in earlier attempts, as sorted hashes; and this attempt's.
  std::vector<uint64_t> seen, fresh;
  std::hash<std::string_view> hasher;
  bool fn_failed = false;
  auto attempt = [&]() -> Status {
    if (!fresh.empty()) {
      seen.insert(seen.end(), fresh.begin(), fresh.end());
      std::sort(seen.begin(), seen.end());
      fresh.clear();
    }
    return inner_->List(prefix, [&](const ObjectInfo& info) -> Status {
      uint64_t h = hasher(info.key);
      if (std::binary_search(seen.begin(), seen.end(), h)) return {};
      fresh.push_back(h);
      Status st = fn(info);
      if (!st) fn_failed = true;
      return st;
    });
  };
  // The caller's own error ends the listing, retryable or not.
  return Run<void>(attempt, &fn_failed);
}

}  // namespace coffer

// FaultStore (for tests): makes a seeded random fraction of the calls to
// another store fail with kUnavailable, the way a flaky network does. A
// failing call fails either before it reaches the store or after (the Put
// happened but its answer was lost); a failing List stops part-way, after
// some of its objects were delivered.
//
// Thread safety: as the wrapped store; the random source is locked.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <random>

#include "store/object_store.h"

namespace coffer {

class FaultStore final : public ObjectStore {
 public:
  FaultStore(std::unique_ptr<ObjectStore> inner, double fraction, uint64_t seed);

  std::string Describe() const override { return inner_->Describe(); }
  StoreProperties properties() const override { return inner_->properties(); }
  Status Put(std::string_view key, ByteView data) override;
  Status Get(std::string_view key, Buffer* out,
             std::optional<ByteRange> range = std::nullopt) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override {
    return inner_->CleanTemporaries(cleanup);
  }
  Status DeleteMany(std::span<const std::string> keys) override;

  uint64_t injected() const { return injected_.load(); }  // failures made so far

 private:
  enum class When { kNever, kBefore, kAfter };
  When Draw();

  std::unique_ptr<ObjectStore> inner_;
  const double fraction_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> injected_{0};
};

}  // namespace coffer

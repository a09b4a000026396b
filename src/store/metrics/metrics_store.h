// MetricsStore: counts the calls into another store, by kind, with the bytes
// moved, into a StoreMetrics. For stores where one call is one request (a
// local directory); the S3 store counts its HTTP requests itself.
//
// Thread safety: as the wrapped store.
#pragma once

#include <memory>

#include "store/metrics/store_metrics.h"
#include "store/object_store.h"

namespace coffer {

class MetricsStore final : public ObjectStore {
 public:
  MetricsStore(std::unique_ptr<ObjectStore> inner, std::shared_ptr<StoreMetrics> metrics);

  std::string Describe() const override { return inner_->Describe(); }
  StoreProperties properties() const override { return inner_->properties(); }
  Status Put(std::string_view key, ByteView data) override;
  Status PutDeferred(std::string_view key, ByteView data) override;
  Status Flush() override { return inner_->Flush(); }
  Status Get(std::string_view key, Buffer* out,
             std::optional<ByteRange> range = std::nullopt) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override {
    return inner_->CleanTemporaries(cleanup);
  }
  Status DeleteMany(std::span<const std::string> keys) override;

  StoreMetrics& metrics() { return *metrics_; }

 private:
  template <typename T>
  T Counted(RequestKind kind, T result);

  std::unique_ptr<ObjectStore> inner_;
  std::shared_ptr<StoreMetrics> metrics_;
};

}  // namespace coffer

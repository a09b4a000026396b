// LimitStore: caps the bandwidth another store uses, upload and download
// separately (--limit-upload, --limit-download), with a token bucket each.
// Put pays for its bytes before it sends them; Get pays for what it received
// after it returns, so a long run holds the rate to within a few percent.
//
// Thread safety: as the wrapped store; the buckets are shared by all callers.
#pragma once

#include <memory>
#include <optional>

#include "store/limit/token_bucket.h"
#include "store/object_store.h"

namespace coffer {

struct BandwidthLimits {
  uint64_t upload_bytes_per_second = 0;    // 0: unlimited
  uint64_t download_bytes_per_second = 0;  // 0: unlimited
};

class LimitStore final : public ObjectStore {
 public:
  LimitStore(std::unique_ptr<ObjectStore> inner, BandwidthLimits limits,
             PacingClock& clock = PacingClock::Real());

  std::string Describe() const override { return inner_->Describe(); }
  StoreProperties properties() const override { return inner_->properties(); }
  Status Put(std::string_view key, ByteView data) override;
  Status PutDeferred(std::string_view key, ByteView data) override;
  Status Flush() override { return inner_->Flush(); }
  Status Get(std::string_view key, Buffer* out,
             std::optional<ByteRange> range = std::nullopt) override;
  Result<ObjectInfo> Head(std::string_view key) override { return inner_->Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override {
    return inner_->CleanTemporaries(cleanup);
  }
  Status DeleteMany(std::span<const std::string> keys) override { return inner_->DeleteMany(keys); }

 private:
  std::unique_ptr<ObjectStore> inner_;
  std::optional<TokenBucket> upload_, download_;
};

}  // namespace coffer

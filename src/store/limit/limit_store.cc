#include "store/limit/limit_store.h"

namespace coffer {
namespace {

// A tenth of a second's worth may pass at once: enough to keep a pipe busy,
// small against the 10-second windows over which the limit must hold.
uint64_t BurstFor(uint64_t rate) { return std::max<uint64_t>(rate / 10, 1); }

}  // namespace

LimitStore::LimitStore(std::unique_ptr<ObjectStore> inner, BandwidthLimits limits,
                       PacingClock& clock)
    : inner_(std::move(inner)) {
  if (limits.upload_bytes_per_second > 0) {
    upload_.emplace(limits.upload_bytes_per_second, BurstFor(limits.upload_bytes_per_second),
                    clock);
  }
  if (limits.download_bytes_per_second > 0) {
    download_.emplace(limits.download_bytes_per_second, BurstFor(limits.download_bytes_per_second),
                      clock);
  }
}

Status LimitStore::Put(std::string_view key, ByteView data) {
  if (upload_) upload_->Take(data.size());
  return inner_->Put(key, data);
}

Status LimitStore::PutDeferred(std::string_view key, ByteView data) {
  if (upload_) upload_->Take(data.size());
  return inner_->PutDeferred(key, data);
}

Status LimitStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  Status st = inner_->Get(key, out, range);
  if (st && download_) download_->Take(out->size());
  return st;
}

}  // namespace coffer

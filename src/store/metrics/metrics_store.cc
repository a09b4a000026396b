#include "store/metrics/metrics_store.h"

namespace coffer {

MetricsStore::MetricsStore(std::unique_ptr<ObjectStore> inner,
                           std::shared_ptr<StoreMetrics> metrics)
    : inner_(std::move(inner)),
      metrics_(metrics ? std::move(metrics) : std::make_shared<StoreMetrics>()) {}

template <typename T>
T MetricsStore::Counted(RequestKind kind, T result) {
  metrics_->CountRequest(kind);
  if (!result) metrics_->CountFailure();
  return result;
}

Status MetricsStore::Put(std::string_view key, ByteView data) {
  Status st = Counted(RequestKind::kPut, inner_->Put(key, data));
  metrics_->CountUpload(data.size());
  return st;
}

Status MetricsStore::PutDeferred(std::string_view key, ByteView data) {
  Status st = Counted(RequestKind::kPut, inner_->PutDeferred(key, data));
  metrics_->CountUpload(data.size());
  return st;
}

Status MetricsStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  Status st = Counted(RequestKind::kGet, inner_->Get(key, out, range));
  if (st) metrics_->CountDownload(out->size());
  return st;
}

Result<ObjectInfo> MetricsStore::Head(std::string_view key) {
  return Counted(RequestKind::kHead, inner_->Head(key));
}

Status MetricsStore::List(std::string_view prefix,
                          const std::function<Status(const ObjectInfo&)>& fn) {
  return Counted(RequestKind::kList, inner_->List(prefix, fn));
}

Status MetricsStore::Delete(std::string_view key) {
  return Counted(RequestKind::kDelete, inner_->Delete(key));
}

Status MetricsStore::DeleteMany(std::span<const std::string> keys) {
  return Counted(RequestKind::kDeleteMany, inner_->DeleteMany(keys));
}

}  // namespace coffer

#include "store/fault/fault_store.h"

namespace coffer {
namespace {

std::unexpected<Error> Injected(std::string_view op, std::string_view key) {
  return Unavailable(std::string(op) + " " + std::string(key) + ": fault injected by FaultStore");
}

}  // namespace

FaultStore::FaultStore(std::unique_ptr<ObjectStore> inner, double fraction, uint64_t seed)
    : inner_(std::move(inner)), fraction_(fraction), rng_(seed) {}

FaultStore::When FaultStore::Draw() {
  std::lock_guard lock(mu_);
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng_) >= fraction_) return When::kNever;
  injected_.fetch_add(1);
  return (rng_() & 1) ? When::kBefore : When::kAfter;
}

Status FaultStore::Put(std::string_view key, ByteView data) {
  When w = Draw();
  if (w == When::kBefore) return Injected("put", key);
  COFFER_RETURN_IF_ERROR(inner_->Put(key, data));
  if (w == When::kAfter) return Injected("put (after storing)", key);
  return {};
}

Status FaultStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  When w = Draw();
  if (w == When::kBefore) return Injected("get", key);
  COFFER_RETURN_IF_ERROR(inner_->Get(key, out, range));
  if (w == When::kAfter) return Injected("get (after reading)", key);
  return {};
}

Result<ObjectInfo> FaultStore::Head(std::string_view key) {
  if (Draw() != When::kNever) return Injected("head", key);
  return inner_->Head(key);
}

Status FaultStore::List(std::string_view prefix,
                        const std::function<Status(const ObjectInfo&)>& fn) {
  When w = Draw();
  if (w == When::kBefore) return Injected("list", prefix);
  int delivered = 0;
  bool cut = false;
  Status st = inner_->List(prefix, [&](const ObjectInfo& info) -> Status {
    // Part-way failure: after a few objects, like a lost page of a listing.
    if (w == When::kAfter && delivered >= 3) {
      cut = true;
      return Injected("list (part-way)", prefix);
    }
    ++delivered;
    return fn(info);
  });
  if (!st) return st;
  if (w == When::kAfter && !cut) return Injected("list (after the last page)", prefix);
  return {};
}

Status FaultStore::Delete(std::string_view key) {
  When w = Draw();
  if (w == When::kBefore) return Injected("delete", key);
  COFFER_RETURN_IF_ERROR(inner_->Delete(key));
  if (w == When::kAfter) return Injected("delete (after deleting)", key);
  return {};
}

Status FaultStore::DeleteMany(std::span<const std::string> keys) {
  When w = Draw();
  std::string what = std::to_string(keys.size()) + " objects";
  if (w == When::kBefore) return Injected("delete-many", what);
  COFFER_RETURN_IF_ERROR(inner_->DeleteMany(keys));
  if (w == When::kAfter) return Injected("delete-many (after deleting)", what);
  return {};
}

}  // namespace coffer

#include "store/mem/mem_store.h"

#include <vector>

#include "base/text.h"

namespace coffer {

Status MemStore::Put(std::string_view key, ByteView data) {
  if (key.empty()) return InvalidArgument("empty object key");
  std::lock_guard lock(mu_);
  objects_[std::string(key)] = Object{Bytes(data.begin(), data.end()), UnixNow()};
  return {};
}

Status MemStore::Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("no object " + std::string(key) + " in memory");
  const Bytes& d = it->second.data;
  uint64_t offset = 0, length = d.size();
  if (range) {
    if (range->offset >= d.size() && !(d.empty() && range->offset == 0 && range->length == 0)) {
      return InvalidArgument("range starts at " + std::to_string(range->offset) +
                             ", past the end of " + std::string(key));
    }
    offset = range->offset;
    length = std::min<uint64_t>(range->length, d.size() - offset);
  }
  out->Reserve(length);
  if (length > 0) std::memcpy(out->data(), d.data() + offset, length);
  out->set_size(length);
  return {};
}

Result<ObjectInfo> MemStore::Head(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("no object " + std::string(key) + " in memory");
  return ObjectInfo{it->first, it->second.data.size(), it->second.mtime};
}

Status MemStore::List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> found;
  {
    std::lock_guard lock(mu_);
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
      found.push_back(ObjectInfo{it->first, it->second.data.size(), it->second.mtime});
    }
  }
  // Call back without the lock, so fn may use the store.
  for (const ObjectInfo& info : found) COFFER_RETURN_IF_ERROR(fn(info));
  return {};
}

Status MemStore::Delete(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it != objects_.end()) objects_.erase(it);
  return {};
}

Status MemStore::SetModTime(std::string_view key, int64_t mtime) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound("no object " + std::string(key) + " in memory");
  it->second.mtime = mtime;
  return {};
}

}  // namespace coffer

#include "store/object_store.h"

namespace coffer {

Status ObjectStore::DeleteMany(std::span<const std::string> keys) {
  for (const std::string& key : keys) COFFER_RETURN_IF_ERROR(Delete(key));
  return {};
}

Result<Bytes> GetAll(ObjectStore& store, std::string_view key) {
  Buffer buf;
  COFFER_RETURN_IF_ERROR(store.Get(key, &buf));
  return Bytes(buf.data(), buf.data() + buf.size());
}

}  // namespace coffer

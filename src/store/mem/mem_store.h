// MemStore keeps objects in memory: the reference implementation the
// conformance suite checks the others against, and a fast store for tests.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <map>
#include <mutex>

#include "store/object_store.h"

namespace coffer {

class MemStore final : public ObjectStore {
 public:
  std::string Describe() const override { return "mem:"; }
  Status Put(std::string_view key, ByteView data) override;
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;

  // For tests of time-dependent logic (GC grace): sets an object's mtime.
  Status SetModTime(std::string_view key, int64_t mtime);

 private:
  struct Object {
    Bytes data;
    int64_t mtime;
  };
  std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;
};

}  // namespace coffer

// LocalStore keeps a target in a directory: the key "chunks/ab/ab12…" is the
// file <root>/chunks/ab/ab12…
//
// Put writes a temporary file (".tmp-…" in the same directory), fsyncs it,
// renames it over the final name and fsyncs the directory, so no partial
// object is ever visible under its final name, whatever the moment the
// process or the machine stops. List never reports temporary files.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "store/object_store.h"

namespace coffer {

class LocalStore final : public ObjectStore {
 public:
  // Opens the directory `root`; it must exist unless `create` is set.
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& root, bool create);

  std::string Describe() const override { return root_; }
  Status Put(std::string_view key, ByteView data) override;
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;

  // Removes temporary files left by processes that died mid-Put and are
  // older than `min_age_seconds`. Returns how many were removed.
  Result<uint64_t> RemoveStaleTemporaries(int64_t min_age_seconds);

  static constexpr std::string_view kTempPrefix = ".tmp-";

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  Result<std::string> PathOf(std::string_view key) const;
  Status EnsureDir(const std::string& dir);

  std::string root_;
  std::mutex dirs_mu_;
  std::unordered_set<std::string> known_dirs_;  // directories known to exist
};

}  // namespace coffer

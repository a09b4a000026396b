// S3Store: an ObjectStore in a bucket of an S3-compatible service, under a
// prefix. The key "chunks/ab/ab12…" of a target at s3://BUCKET/PREFIX is the
// S3 object "PREFIX/chunks/ab/ab12…": the same layout as a local target's
// directory, so a target copied either way with any S3 tool stays usable.
//
// Every request is one attempt: retries, limits and counts of retries are
// the wrappers' business (store/retry, store/limit); the client counts the
// requests it sends, by kind, in StoreMetrics.
//
// Writes carry Content-MD5 and a signed x-amz-content-sha256 of the body, so
// a body damaged or cut short on the way is rejected rather than stored.
// Objects above `multipart_threshold` go up by multipart upload, aborted if
// any part fails. A writer killed meanwhile leaves its upload unfinished: its
// parts are stored and billed but no object; these are the store's
// temporaries (CleanTemporaries).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <memory>
#include <string>

#include "store/object_store.h"
#include "store/s3/s3_client.h"

namespace coffer {

struct S3StoreOptions {
  S3Config client;
  std::string prefix;  // "" or "backups/team-a" (no leading or trailing slash needed)
  uint64_t multipart_threshold = uint64_t(64) << 20;
  uint64_t part_size = uint64_t(16) << 20;  // S3 wants at least 5 MiB for all but the last
};

// Splits "s3://BUCKET/PREFIX" into bucket and prefix (which may be empty).
Status ParseS3Address(std::string_view address, std::string* bucket, std::string* prefix);

class S3Store final : public ObjectStore {
 public:
  // Checks the options; sends nothing (the first request tells whether the
  // bucket exists and the credentials are good).
  static Result<std::unique_ptr<S3Store>> Open(S3StoreOptions options,
                                               std::shared_ptr<StoreMetrics> metrics = nullptr);

  std::string Describe() const override;
  // Its connections, and billed requests.
  StoreProperties properties() const override;
  Status Put(std::string_view key, ByteView data) override;
  Status Get(std::string_view key, Buffer* out,
             std::optional<ByteRange> range = std::nullopt) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Status List(std::string_view prefix, const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Delete(std::string_view key) override;
  // One request per 1000 keys (the multi-object delete API).
  Status DeleteMany(std::span<const std::string> keys) override;
  // Unfinished multipart uploads under the prefix, only with
  // cleanup.everywhere (one LIST per 1000; an abort each). A listing does
  // not say who began an upload, so none is of a provably dead writer: they
  // go by age alone (their Initiated time against this host's clock), and
  // their sizes are not counted (that would take a request per upload).
  Result<TemporaryReport> CleanTemporaries(const TemporaryCleanup& cleanup) override;

  StoreMetrics& metrics() { return client_->metrics(); }

 private:
  S3Store(S3StoreOptions options, std::unique_ptr<S3Client> client);
  Result<std::string> FullKey(std::string_view key) const;
  Status PutMultipart(const std::string& full, ByteView data);

  S3StoreOptions options_;
  std::unique_ptr<S3Client> client_;
  std::string root_;  // "PREFIX/" or ""
};

}  // namespace coffer

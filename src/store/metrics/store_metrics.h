// StoreMetrics: counters of the requests a target costs, by kind, and of the
// retries spent on them, for `--json` output and the manager's /metrics.
//
// The S3 store counts each HTTP request it sends (a multipart upload is
// several, a listing one per page of 1000 keys); MetricsStore counts the
// calls into any other store. RetryStore counts its retries here too.
//
// Thread safety: all counters are atomic; share one StoreMetrics between
// threads and stores freely.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace coffer {

enum class RequestKind {
  kPut,
  kGet,
  kHead,
  kList,
  kDelete,
  kDeleteMany,       // S3: one POST ?delete per 1000 keys
  kMultipartCreate,  // S3 multipart upload: initiate
  kMultipartPart,    // one per part
  kMultipartComplete,
  kMultipartAbort,
};
inline constexpr size_t kRequestKinds = 10;

// "put", "get", "head", "list", "delete", "delete_many", "multipart_create",
// "multipart_part", "multipart_complete", "multipart_abort".
std::string_view RequestKindName(RequestKind kind);

class StoreMetrics {
 public:
  void CountRequest(RequestKind kind) { requests_[size_t(kind)].fetch_add(1, kRelaxed); }
  void CountFailure() { failures_.fetch_add(1, kRelaxed); }
  void CountRetry() { retries_.fetch_add(1, kRelaxed); }
  void CountUpload(uint64_t bytes) { bytes_uploaded_.fetch_add(bytes, kRelaxed); }
  void CountDownload(uint64_t bytes) { bytes_downloaded_.fetch_add(bytes, kRelaxed); }

  uint64_t requests(RequestKind kind) const { return requests_[size_t(kind)].load(kRelaxed); }
  uint64_t total_requests() const;
  uint64_t failures() const { return failures_.load(kRelaxed); }  // requests that failed
  uint64_t retries() const { return retries_.load(kRelaxed); }
  uint64_t bytes_uploaded() const { return bytes_uploaded_.load(kRelaxed); }
  uint64_t bytes_downloaded() const { return bytes_downloaded_.load(kRelaxed); }

  // Request counts by RequestKindName, only kinds that occurred: the
  // `requests` object of `--json` output.
  std::map<std::string, uint64_t> RequestCounts() const;

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  std::array<std::atomic<uint64_t>, kRequestKinds> requests_{};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> bytes_uploaded_{0};
  std::atomic<uint64_t> bytes_downloaded_{0};
};

}  // namespace coffer

// OpenStore: the one place that turns a target address into a store and
// stacks the wrappers (retry, limits, metrics) on it.
//
// Addresses: a directory path, "file://PATH", or "s3://BUCKET/PREFIX" (the
// prefix may be empty). Under the prefix, keys are laid out exactly as in a
// local target's directory (DESIGN §3).
//
// The stack, from the caller down:
//   RetryStore  retries kUnavailable (5xx, SlowDown, timeouts, resets, stalls)
//   LimitStore  bandwidth limits, when set; below the retries so that every
//               attempt's bytes are paced
//   backend     S3Store (counts its HTTP requests), or MetricsStore over a
//               LocalStore (counts calls)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/metrics/store_metrics.h"
#include "store/object_store.h"
#include "store/retry/retry_store.h"
#include "store/s3/s3_client.h"

namespace coffer {

struct StoreOptions {
  bool create = false;  // create a missing local directory (init)

  // S3. Credentials are s3_credentials when set (the agent gets them with
  // each job), else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
  // AWS_SESSION_TOKEN from the environment.
  std::optional<AwsCredentials> s3_credentials;
  std::string s3_endpoint;  // e.g. http://127.0.0.1:9000; empty: AWS
  std::string s3_region;    // empty: AWS_REGION, AWS_DEFAULT_REGION, or us-east-1
  S3Addressing s3_addressing = S3Addressing::kAuto;  // auto: virtual-hosted on AWS, else path
  int s3_connections = 16;  // concurrent requests at most; more wait for a free connection
  uint64_t s3_multipart_threshold = uint64_t(64) << 20;  // larger objects: multipart upload
  uint64_t s3_part_size = uint64_t(16) << 20;
  std::string s3_ca_file;  // PEM bundle to trust; empty: AWS_CA_BUNDLE, else the system's
  std::chrono::milliseconds s3_connect_timeout{10'000};
  std::chrono::milliseconds s3_stall_timeout{30'000};  // no progress this long: retry

  // Bandwidth limits in bytes per second, any target; 0: unlimited.
  uint64_t limit_upload = 0;
  uint64_t limit_download = 0;

  RetryPolicy retry;

  // When set, receives the request counts by kind (S3: each HTTP request,
  // attempts included; local: each call) and the retries. Read it after the
  // work: metrics->RequestCounts(), metrics->retries().
  std::shared_ptr<StoreMetrics> metrics;
};

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view address,
                                               const StoreOptions& options);

}  // namespace coffer

#include "store/open_store.h"

#include <cstdlib>

#include "store/limit/limit_store.h"
#include "store/local/local_store.h"
#include "store/metrics/metrics_store.h"
#include "store/s3/s3_store.h"
#include "store/target_address.h"

namespace coffer {
namespace {

Result<std::unique_ptr<ObjectStore>> OpenS3(std::string_view address, const StoreOptions& options,
                                            std::shared_ptr<StoreMetrics> metrics) {
  S3StoreOptions s3;
  COFFER_RETURN_IF_ERROR(ParseS3Address(address, &s3.client.bucket, &s3.prefix));
  s3.client.endpoint = options.s3_endpoint;
  s3.client.region = options.s3_region;
  s3.client.addressing = options.s3_addressing;
  if (options.s3_credentials) {
    if (options.s3_credentials->access_key_id.empty() ||
        options.s3_credentials->secret_access_key.empty()) {
      return PermissionDenied("target " + std::string(address) +
                              ": S3 credentials need an access key id and a secret access key");
    }
    s3.client.credentials = *options.s3_credentials;
  } else {
    auto creds = CredentialsFromEnvironment();
    if (!creds) {
      return std::unexpected(creds.error().WithContext("target " + std::string(address)));
    }
    s3.client.credentials = std::move(*creds);
  }
  s3.client.http.max_connections = options.s3_connections;
  s3.client.http.connect_timeout = options.s3_connect_timeout;
  s3.client.http.stall_timeout = options.s3_stall_timeout;
  s3.client.http.ca_file = options.s3_ca_file;
  if (s3.client.http.ca_file.empty()) {
    if (const char* bundle = std::getenv("AWS_CA_BUNDLE")) s3.client.http.ca_file = bundle;
  }
  s3.multipart_threshold = options.s3_multipart_threshold;
  s3.part_size = options.s3_part_size;
  COFFER_ASSIGN_OR_RETURN(auto store, S3Store::Open(std::move(s3), std::move(metrics)));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view address,
                                               const StoreOptions& options) {
  COFFER_ASSIGN_OR_RETURN(TargetAddress where, TargetAddress::Parse(address));
  auto metrics = options.metrics ? options.metrics : std::make_shared<StoreMetrics>();
  std::unique_ptr<ObjectStore> store;
  if (where.is_s3()) {
    COFFER_ASSIGN_OR_RETURN(store, OpenS3(address, options, metrics));
  } else {
    COFFER_ASSIGN_OR_RETURN(auto local, LocalStore::Open(where.path, options.create));
    store = std::make_unique<MetricsStore>(std::move(local), metrics);
  }
  if (options.limit_upload > 0 || options.limit_download > 0) {
    store = std::make_unique<LimitStore>(
        std::move(store), BandwidthLimits{options.limit_upload, options.limit_download});
  }
  return std::unique_ptr<ObjectStore>(
      std::make_unique<RetryStore>(std::move(store), options.retry, metrics));
}

}  // namespace coffer

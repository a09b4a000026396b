// S3Client: signed requests to one bucket of an S3-compatible service, with
// the service's error answers turned into Errors that name the object and
// the S3 error code.
//
// Addressing: path-style ("http://host/bucket/key") or virtual-hosted
// ("https://bucket.host/key"). kAuto picks virtual-hosted for AWS's own
// endpoint (when the bucket name is a DNS label without dots) and path-style
// for any custom endpoint (MinIO, Ceph, moto), which is what those expect.
//
// Thread safety: Call may be used from many threads at once; requests beyond
// HttpOptions::max_connections wait for a free connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/metrics/store_metrics.h"
#include "store/s3/http_client.h"
#include "store/s3/sigv4.h"

namespace coffer {

enum class S3Addressing { kAuto, kPath, kVirtualHosted };

struct S3Config {
  std::string bucket;
  std::string endpoint;  // "http://127.0.0.1:9000", "https://s3.example.com"; empty: AWS
  std::string region;    // empty: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1
  S3Addressing addressing = S3Addressing::kAuto;
  AwsCredentials credentials;
  HttpOptions http;
};

// Credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN; kPermissionDenied naming the missing variable.
Result<AwsCredentials> CredentialsFromEnvironment();

struct S3Call {
  std::string_view method;
  RequestKind kind;
  std::string key;   // object key within the bucket; empty for a bucket-level request
  HeaderList query;  // raw names and values
  HeaderList headers;
  ByteView body;
  Buffer* sink = nullptr;  // where a successful response body goes (GET)
};

class S3Client {
 public:
  // Checks the configuration (endpoint syntax, bucket name); sends nothing.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config,
                                                  std::shared_ptr<StoreMetrics> metrics);

  // Signs and sends `call`. A 2xx answer is the response; anything else is an
  // Error whose code says whether a retry may help (kUnavailable) and whose
  // message names the method, the object and the S3 error code.
  Result<HttpResponse> Call(const S3Call& call);

  const S3Config& config() const { return config_; }
  StoreMetrics& metrics() { return *metrics_; }
  // "s3://bucket/key", for messages.
  std::string Url(std::string_view key) const;

 private:
  S3Client(S3Config config, std::shared_ptr<StoreMetrics> metrics);

  S3Config config_;
  std::shared_ptr<StoreMetrics> metrics_;
  HttpClient http_;
  std::string scheme_;     // "http" or "https"
  std::string host_;       // Host header: "bucket.s3.amazonaws.com", "127.0.0.1:9000"
  std::string path_base_;  // "" (virtual-hosted) or "/bucket" (path-style)
};

// Maps an S3 error answer (status and XML body) for `method` on `object`
// (an s3:// URL) to an Error. Exposed for tests.
Error S3Error(std::string_view method, const std::string& object, long status,
              std::string_view body);

}  // namespace coffer

// AWS Signature Version 4, as S3 uses it: a pure function from a request
// (method, host, URI path, query, headers, payload hash), a time, credentials
// and a scope (region, service) to the headers that authenticate it.
//
// S3 differs from the generic SigV4 rules in one place: the canonical URI is
// the path exactly as sent, already URI-encoded once (UriEncode with '/'
// kept), never normalised or encoded a second time.
//
// Thread safety: pure functions, no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace coffer {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

struct SigningRequest {
  std::string_view method;        // "GET", "PUT", ...
  std::string_view host;          // Host header value: "bucket.s3.amazonaws.com", "127.0.0.1:9000"
  std::string_view encoded_path;  // the URI path as sent, e.g. "/bucket/chunks/ab%20c"
  HeaderList query;               // raw (not encoded) names and values; encoded when signed
  HeaderList headers;             // further headers that will be sent and must be signed
  std::string_view payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  // S3 wants the payload hash sent (and signed) as x-amz-content-sha256;
  // other services do not.
  bool add_content_sha256_header = true;
};

struct SignedRequest {
  // Headers to add to the request: X-Amz-Date, X-Amz-Content-Sha256 (for S3),
  // X-Amz-Security-Token (with a session token) and Authorization.
  HeaderList headers;
  std::string canonical_request;  // for diagnostics and tests
  std::string string_to_sign;
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Signs `req` as of `unix_time` (seconds since the epoch, UTC).
SignedRequest SignV4(const SigningRequest& req, const AwsCredentials& creds,
                     std::string_view region, std::string_view service, int64_t unix_time);

// Percent-encodes every byte except the unreserved A-Z a-z 0-9 - . _ ~ (and
// '/' when keep_slash), as SigV4 and S3 require: "a b+c" -> "a%20b%2Bc".
std::string UriEncode(std::string_view s, bool keep_slash);

// "20150830T123600Z" for a time in seconds since the epoch.
std::string AmzDate(int64_t unix_time);

// Digests through OpenSSL, for signing and integrity headers.
std::string Sha256Hex(ByteView data);
std::string Md5Base64(ByteView data);

}  // namespace coffer

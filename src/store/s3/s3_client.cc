#include "store/s3/s3_client.h"

#include <cstdlib>

#include "base/text.h"
#include "store/s3/s3_xml.h"

namespace coffer {
namespace {

bool DnsCompatibleBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return b.front() != '-' && b.back() != '-';
}

bool ValidBucketName(std::string_view b) {
  if (b.empty() || b.size() > 255) return false;
  for (char c : b) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// S3's refusals of the credentials are kPermissionDenied, not kAuthFailed:
// kAuthFailed means a wrong passphrase to the CLI (exit 3), and issue 4 wants
// wrong credentials to exit 1 with the S3 code in the message. A missing
// bucket is kInvalidArgument: the target's address is wrong, and no caller
// may take it for a missing object (a missing `gc` object reads as
// generation 0, a missing chunk is stored).
ErrorCode CodeFor(std::string_view code, long status) {
  static constexpr std::string_view kNotFound[] = {"NoSuchKey", "NoSuchUpload", "NotFound"};
  static constexpr std::string_view kDenied[] = {
      "AccessDenied",      "InvalidAccessKeyId",   "SignatureDoesNotMatch", "InvalidToken",
      "ExpiredToken",      "TokenRefreshRequired", "InvalidSecurity",       "AccountProblem",
      "AllAccessDisabled", "RequestTimeTooSkewed", "InvalidClientTokenId",  "Forbidden"};
  static constexpr std::string_view kTransient[] = {
      "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling",
      "ThrottlingException", "RequestThrottled", "BadGateway", "GatewayTimeout", "OperationAborted",
      // The body arrived damaged or short; the same bytes sent again will do.
      "BadDigest", "IncompleteBody", "XAmzContentSHA256Mismatch"};
  for (auto c : kNotFound) {
    if (code == c) return ErrorCode::kNotFound;
  }
  if (code == "NoSuchBucket") return ErrorCode::kInvalidArgument;
  for (auto c : kDenied) {
    if (code == c) return ErrorCode::kPermissionDenied;
  }
  for (auto c : kTransient) {
    if (code == c) return ErrorCode::kUnavailable;
  }
  if (status >= 500 || status == 408 || status == 429) return ErrorCode::kUnavailable;
  if (code == "InvalidRange" || status == 416) return ErrorCode::kInvalidArgument;
  if (status == 403 || status == 401) return ErrorCode::kPermissionDenied;
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 409) return ErrorCode::kAlreadyExists;
  if (status >= 300 && status < 500) return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

std::string StatusName(long status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 412:
      return "PreconditionFailed";
    case 416:
      return "InvalidRange";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    default:
      return "HTTP" + std::to_string(status);
  }
}

}  // namespace

Result<AwsCredentials> CredentialsFromEnvironment() {
  AwsCredentials c{EnvOr("AWS_ACCESS_KEY_ID", ""), EnvOr("AWS_SECRET_ACCESS_KEY", ""),
                   EnvOr("AWS_SESSION_TOKEN", "")};
  if (c.access_key_id.empty()) {
    return PermissionDenied("S3 credentials: AWS_ACCESS_KEY_ID is not set");
  }
  if (c.secret_access_key.empty()) {
    return PermissionDenied("S3 credentials: AWS_SECRET_ACCESS_KEY is not set");
  }
  return c;
}

Error S3Error(std::string_view method, const std::string& object, long status,
              std::string_view body) {
  auto parsed = s3xml::ParseError(body);
  // HEAD answers carry no body: all there is to go on is the status.
  std::string code = parsed ? parsed->code : StatusName(status);
  std::string message = parsed ? parsed->message : "";
  std::string detail = parsed ? parsed->detail : "";
  ErrorCode ec = CodeFor(code, status);
  std::string m = std::string(method) + " " + object + ": ";
  if (code == "RequestTimeTooSkewed") {
    m += "clock skew: this machine's clock and the S3 server's differ by more than it allows; "
         "correct the system time (RequestTimeTooSkewed";
    if (!detail.empty()) m += "; " + detail;
    m += ")";
    return Error(ErrorCode::kPermissionDenied, m).WithS3Code(code);
  }
  if (code == "NoSuchBucket") {
    m += "the bucket does not exist (NoSuchBucket)";
  } else {
    m += code;
    if (!message.empty()) m += ": " + message;
  }
  m += " (HTTP " + std::to_string(status);
  if (!detail.empty()) m += "; " + detail;
  m += ")";
  // A code the service said (or, for a bodiless HEAD, the status's name).
  return Error(ec, m).WithS3Code(code);
}

S3Client::S3Client(S3Config config, std::shared_ptr<StoreMetrics> metrics)
    : config_(std::move(config)), metrics_(std::move(metrics)), http_(config_.http) {}

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config,
                                                   std::shared_ptr<StoreMetrics> metrics) {
  if (!ValidBucketName(config.bucket)) {
    return InvalidArgument("invalid S3 bucket name '" + config.bucket + "'");
  }
  if (config.region.empty()) {
    config.region = EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", "us-east-1"));
  }
  std::string endpoint = config.endpoint;
  bool aws = endpoint.empty();
  if (aws) endpoint = "https://s3." + config.region + ".amazonaws.com";
  std::string scheme = "https";
  if (size_t sep = endpoint.find("://"); sep != std::string::npos) {
    scheme = endpoint.substr(0, sep);
    endpoint = endpoint.substr(sep + 3);
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if ((scheme != "http" && scheme != "https") || endpoint.empty() ||
      endpoint.find('/') != std::string::npos) {
    return InvalidArgument("invalid S3 endpoint '" + config.endpoint +
                           "' (expected http://HOST[:PORT] or https://HOST[:PORT])");
  }
  // The Host header omits a port that is the scheme's default, as clients do
  // and as the signature must match.
  if ((scheme == "http" && endpoint.ends_with(":80")) ||
      (scheme == "https" && endpoint.ends_with(":443"))) {
    endpoint = endpoint.substr(0, endpoint.rfind(':'));
  }
  S3Addressing addressing = config.addressing;
  if (addressing == S3Addressing::kAuto) {
    addressing = aws && DnsCompatibleBucket(config.bucket) ? S3Addressing::kVirtualHosted
                                                           : S3Addressing::kPath;
  }
  if (addressing == S3Addressing::kVirtualHosted && !DnsCompatibleBucket(config.bucket)) {
    return InvalidArgument("bucket '" + config.bucket +
                           "' cannot be addressed virtual-hosted style (not a DNS label)");
  }
  if (!metrics) metrics = std::make_shared<StoreMetrics>();
  std::unique_ptr<S3Client> c(new S3Client(std::move(config), std::move(metrics)));
  c->scheme_ = scheme;
  if (addressing == S3Addressing::kVirtualHosted) {
    c->host_ = c->config_.bucket + "." + endpoint;
  } else {
    c->host_ = endpoint;
    c->path_base_ = "/" + c->config_.bucket;
  }
  return c;
}

std::string S3Client::Url(std::string_view key) const {
  return "s3://" + config_.bucket + (key.empty() ? "" : "/" + std::string(key));
}

Result<HttpResponse> S3Client::Call(const S3Call& call) {
  std::string path = path_base_ + "/" + UriEncode(call.key, true);
  if (call.key.empty() && !path_base_.empty()) path = path_base_;
  std::string payload_hash = Sha256Hex(call.body);
  SigningRequest sreq{call.method, host_, path, call.query, call.headers, payload_hash};
  SignedRequest signed_req = SignV4(sreq, config_.credentials, config_.region, "s3", UnixNow());

  HttpRequest req{call.method, scheme_ + "://" + host_ + path, call.headers, call.body, call.sink};
  for (size_t i = 0; i < call.query.size(); ++i) {
    const auto& [k, v] = call.query[i];
    req.url += (i == 0 ? '?' : '&') + UriEncode(k, false);
    if (!v.empty()) req.url += "=" + UriEncode(v, false);
  }
  req.headers.emplace_back("Host", host_);
  for (auto& h : signed_req.headers) req.headers.push_back(std::move(h));

  metrics_->CountRequest(call.kind);
  metrics_->CountUpload(call.body.size());
  Result<HttpResponse> resp = http_.Send(req);
  if (!resp) {
    metrics_->CountFailure();
    return std::unexpected(resp.error().WithContext(Url(call.key)));
  }
  if (call.sink != nullptr) metrics_->CountDownload(call.sink->size());
  if (resp->status < 200 || resp->status > 299) {
    metrics_->CountFailure();
    return std::unexpected(S3Error(call.method, Url(call.key), resp->status, resp->body));
  }
  return resp;
}

}  // namespace coffer

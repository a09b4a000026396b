// The HTTP shell both services share (DESIGN §4, §6): requests and answers
// as plain values, the one JSON error body, and the listen address. The HTTP
// library (cpp-httplib) is included only in this folder; routes see these
// types.
//
// Error body (every non-2xx answer of the manager and the agent):
//   {"error": {"code": "invalid-argument", "message": "…", "field": "gc_hour",
//              "s3_error_code": "InvalidAccessKeyId"}}
// "field" when one request field is at fault, "s3_error_code" when an S3
// service gave one. Both travel structurally, as Error's details (base/error.h).
//
// Thread safety: values.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace coffer::service {

using nlohmann::json;

// HOST:PORT or [IPv6]:PORT; port 0 means any free port.
struct ListenAddress {
  std::string host = "127.0.0.1";
  int port = 0;
};
Result<ListenAddress> ParseListen(std::string_view text);

// Whether two header names are the same (they are case-insensitive).
bool SameHeaderName(std::string_view a, std::string_view b);

struct Request {
  std::string method, path;
  std::vector<std::string> params;  // the route pattern's groups, in order
  std::multimap<std::string, std::string> query;
  std::multimap<std::string, std::string> headers;  // names as sent
  // The body. It may hold secrets: ReadJsonBody wipes it once parsed.
  std::string body;

  bool HasQuery(std::string_view key) const { return query.contains(std::string(key)); }
  std::string Query(std::string_view key) const;    // "" when absent
  std::string Header(std::string_view name) const;  // case-insensitive; "" when absent
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  void Json(int status, const json& body);
  void Text(int status, std::string body, std::string content_type);
  void SetHeader(std::string name, std::string value);
};

// An error as an HTTP answer.
struct ApiError {
  int status = 500;
  std::string code;  // ErrorCodeName, or "unauthenticated", "too-large"
  std::string message;
  std::string field;
  std::string s3_error_code;
};

// The error body (above) of `e`, and back: an Error with the code, message
// and details of a body, or nullopt if `body` is not one.
json ErrorJson(const ApiError& e);
json ErrorJson(const Error& e);
std::optional<Error> ErrorFromJson(const json& body);
// The code of an ErrorCodeName ("not-found" → kNotFound); kInternal for an
// unknown name.
ErrorCode ErrorCodeFromName(std::string_view name);

// Sends `e` as the answer (401s also carry WWW-Authenticate: Bearer).
void SendError(Response& res, const ApiError& e);
// An Error with the status its code implies: kInvalidArgument 400,
// kNotFound 404, kAlreadyExists/kConflict 409, kResourceExhausted 429,
// kUnavailable 503, kAuthFailed/kPermissionDenied 502 (a peer refused us),
// anything else 500. Routes with other rules build their own ApiError.
ApiError ToApiError(const Error& e);

// The body as a JSON object, then the body's bytes wiped (it may hold keys,
// passphrases, tokens). On failure an answer is sent and nullopt returned:
// 415 unless Content-Type is application/json; 400 for an empty body,
// malformed JSON or bytes that are not UTF-8, a number beyond a double
// (1e400), a key given twice in one object, nesting deeper than
// kMaxJsonDepth, or a body that is not an object.
inline constexpr int kMaxJsonDepth = 32;
std::optional<json> ReadJsonBody(Request& req, Response& res);

// RFC 3339 (UTC, seconds) for microseconds since the epoch; null for 0.
json Time(int64_t us);

}  // namespace coffer::service

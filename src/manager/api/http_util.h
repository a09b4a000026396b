// Helpers shared by the REST routes: JSON replies, the error body, the
// mapping from Error codes to HTTP statuses, and a reader for request fields
// that names the field at fault.
//
// Error body (every non-2xx answer):
//   {"error": {"code": "invalid-argument", "message": "…", "field": "gc_hour",
//              "s3_error_code": "InvalidAccessKeyId"}}
// "field" when one field is at fault, "s3_error_code" when the target's S3
// service gave one.
//
// Thread safety: stateless functions; a FieldReader belongs to one request.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer::manager::api {

using nlohmann::json;

struct ApiError {
  int status = 500;
  std::string code;  // ErrorCodeName, or "unauthenticated", "too-large"
  std::string message;
  std::string field;
  std::string s3_error_code;
};

// How an error maps, by where it came from:
//   kInvalidArgument → 400 (field: the message's "field: " prefix, if any)
//   kNotFound → 404; kAlreadyExists, kConflict → 409
//   kResourceExhausted → 429 (an agent is at its job limit)
//   with `target_access` (creating, patching a target; deleting a backup's
//   manifest; anything that reached the target): kUnavailable,
//   kPermissionDenied, kAuthFailed → 422 with the S3 error code;
//   otherwise kUnavailable → 503, kAuthFailed / kPermissionDenied → 502
//   (an agent or the database refused us, not the caller's fault)
//   anything else → 500.
ApiError ToApiError(const Error& e, bool target_access = false);

// The S3 error code in a message ("… InvalidAccessKeyId: …"), or "".
std::string S3ErrorCode(std::string_view message);

void SendJson(httplib::Response& res, int status, const json& body);
void SendError(httplib::Response& res, const ApiError& e);
void SendError(httplib::Response& res, const Error& e, bool target_access = false);
// A 400 naming `field`.
void SendFieldError(httplib::Response& res, const std::string& field, const std::string& message);

// The request body as a JSON object; on failure a 400 has been sent.
std::optional<json> ParseBody(const httplib::Request& req, httplib::Response& res);

// Overwrites a string's bytes (request bodies and fields holding secrets).
void WipeString(std::string& s);
// Overwrites the named string fields of a parsed body (secrets).
void WipeFields(json& body, std::initializer_list<const char*> keys);

// RFC 3339 (UTC, seconds) for microseconds since the epoch; null for 0.
json Time(int64_t us);

// Reads the fields of one JSON object; the first problem is kept with the
// field's name, and later calls do nothing. Accessors return whether the
// field was present (and valid).
class FieldReader {
 public:
  explicit FieldReader(const json& obj, std::string prefix = "")
      : obj_(obj), prefix_(std::move(prefix)) {}

  bool ok() const { return !error_; }
  const ApiError& error() const { return *error_; }
  void Fail(const std::string& key, const std::string& message);
  // Keeps the first problem of a reader of a nested object.
  void Take(const FieldReader& inner) {
    if (!error_ && inner.error_) error_ = inner.error_;
  }

  // Refuses fields not in `allowed` (a typo must not be silently ignored).
  void Only(std::initializer_list<std::string_view> allowed);

  bool String(const char* key, std::string* out, bool required, size_t max_len = 1024);
  // Present and null: *is_null = true (PATCH clears it).
  bool NullableString(const char* key, std::optional<std::string>* out, bool* is_null);
  bool Int(const char* key, int64_t* out, bool required, int64_t min, int64_t max);
  bool Bool(const char* key, bool* out);
  const json* Object(const char* key, bool required);
  bool Has(const char* key) const { return obj_.contains(key); }
  std::string Name(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

 private:
  const json& obj_;
  std::string prefix_;
  std::optional<ApiError> error_;
};

}  // namespace coffer::manager::api

// What the REST routes share beyond the service shell (service/http.h):
// the manager's mapping from Error codes to HTTP statuses, which depends on
// whether the request reached a target.
//
// Thread safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"
#include "service/http.h"
#include "service/http_server.h"
#include "service/json_fields.h"

namespace coffer::manager::api {

using nlohmann::json;
using service::ApiError;
using service::FieldReader;
using service::Request;
using service::Response;
using service::Time;
using service::WipeFields;

// How an error maps, by where it came from:
//   kInvalidArgument → 400 (with the field the error names, if any)
//   kNotFound → 404; kAlreadyExists, kConflict → 409
//   kResourceExhausted → 429 (an agent is at its job limit)
//   with `target_access` (creating, patching a target; deleting a backup's
//   manifest; anything that reached the target): kUnavailable,
//   kPermissionDenied, kAuthFailed → 422 with the S3 error code;
//   otherwise kUnavailable → 503, kAuthFailed / kPermissionDenied → 502
//   (an agent or the database refused us, not the caller's fault)
//   anything else → 500.
ApiError ToApiError(const Error& e, bool target_access = false);

using service::SendError;  // an ApiError
void SendError(Response& res, const Error& e, bool target_access = false);
// A 400 naming `field`.
void SendFieldError(Response& res, const std::string& field, const std::string& message);
// The largest `limit` a list accepts (0, where allowed, means no limit).
inline constexpr int64_t kMaxListLimit = 1'000'000;
// The query parameter `key` as a whole number from min to max, written
// exactly so ("1e400", "12abc", "+3" and "" are refused): true with *out set,
// or left alone when absent; false once a 400 naming it has been sent.
bool ReadQueryInt(const Request& req, Response& res, const char* key, int64_t min, int64_t max,
                  int64_t* out);

}  // namespace coffer::manager::api

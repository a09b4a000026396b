#include "manager/api/http_util.h"

#include <charconv>

namespace coffer::manager::api {

ApiError ToApiError(const Error& e, bool target_access) {
  ApiError a = service::ToApiError(e);
  const bool refused = e.code() == ErrorCode::kUnavailable ||
                       e.code() == ErrorCode::kPermissionDenied ||
                       e.code() == ErrorCode::kAuthFailed;
  if (target_access && refused) a.status = 422;
  return a;
}

void SendError(Response& res, const Error& e, bool target_access) {
  service::SendError(res, ToApiError(e, target_access));
}

void SendFieldError(Response& res, const std::string& field, const std::string& message) {
  service::SendError(res, ApiError{400, "invalid-argument", message, field, ""});
}

bool ReadQueryInt(const Request& req, Response& res, const char* key, int64_t min, int64_t max,
                  int64_t* out) {
  if (!req.HasQuery(key)) return true;
  const std::string text = req.Query(key);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    SendFieldError(res, key,
                   std::string(key) + ": must be a whole number from " + std::to_string(min) +
                       " to " + std::to_string(max));
    return false;
  }
  *out = v;
  return true;
}

}  // namespace coffer::manager::api

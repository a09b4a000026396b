#include "manager/api/http_util.h"

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

}  // namespace coffer::manager::api

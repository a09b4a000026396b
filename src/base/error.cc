#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace coffer {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kAlreadyExists:
      return "already-exists";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kCorruption:
      return "corruption";
    case ErrorCode::kAuthFailed:
      return "auth-failed";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kPermissionDenied:
      return "permission-denied";
    case ErrorCode::kResourceExhausted:
      return "resource-exhausted";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

Error Error::WithContext(std::string_view context) const {
  std::string m(context);
  m += ": ";
  m += message_;
  return Error(code_, std::move(m));
}

Error ErrnoError(int err, std::string_view what) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      code = ErrorCode::kNotFound;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      code = ErrorCode::kResourceExhausted;
      break;
    case EINVAL:
    case EISDIR:
      code = ErrorCode::kInvalidArgument;
      break;
    case EAGAIN:
    case EINTR:
    case ETIMEDOUT:
      code = ErrorCode::kUnavailable;
      break;
    case EIO:
      code = ErrorCode::kInternal;
      break;
    default:
      break;
  }
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  return Error(code, std::move(m));
}

}  // namespace coffer

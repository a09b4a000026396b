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

std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  // Every code from the first to the last (kInternal), so that a code added
  // to the enum and to ErrorCodeName is found here too.
  for (int c = 0; c <= int(ErrorCode::kInternal); ++c) {
    if (ErrorCodeName(ErrorCode(c)) == name) return ErrorCode(c);
  }
  return std::nullopt;
}

Error Error::WithContext(std::string_view context) const {
  Error e = *this;
  std::string m(context);
  m += ": ";
  m += message_;
  e.message_ = std::move(m);
  return e;
}

Error Error::WithField(std::string field) const {
  Error e = *this;
  if (e.field_.empty()) e.field_ = std::move(field);
  return e;
}

Error Error::Reworded(std::string message) const { return Recoded(code_, std::move(message)); }

Error Error::Recoded(ErrorCode code, std::string message) const {
  Error e = *this;
  e.code_ = code;
  e.message_ = std::move(message);
  return e;
}

Error Error::WithS3Code(std::string code) const {
  Error e = *this;
  e.s3_code_ = std::move(code);
  return e;
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

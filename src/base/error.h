// Errors are values: every fallible function returns Result<T>, which is
// std::expected<T, Error>. An Error carries a code that says whether a retry
// can help (only kUnavailable) and a message that names the thing involved:
// the object key, the volume offset, the file path. Two details travel with
// it when known, so that no caller parses them back out of the message: the
// request field at fault ("volume.locator") and the S3 service's error code
// ("InvalidAccessKeyId").
//
// Thread safety: plain values, no shared state.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace coffer {

enum class ErrorCode {
  kNotFound,
  kAlreadyExists,
  kConflict,  // the request conflicts with current state: a row still referenced,
              // a transition not allowed, a stale fencing token, a lease held elsewhere
  kInvalidArgument,
  kCorruption,   // an object failed authentication or is malformed
  kAuthFailed,   // wrong passphrase, wrong credentials
  kUnavailable,  // transient: the only code a retry may fix
  kPermissionDenied,
  kResourceExhausted,  // disk full, quota
  kCancelled,
  kInternal,
};

std::string_view ErrorCodeName(ErrorCode code);
// The code an ErrorCodeName names, or nullopt.
std::optional<ErrorCode> ParseErrorCode(std::string_view name);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The request field at fault, or "": set where a field is checked.
  const std::string& field() const { return field_; }
  // The S3 service's error code, or "": set where an S3 answer is read.
  const std::string& s3_code() const { return s3_code_; }

  // Returns a copy whose message is "context: message", for adding the name
  // of the thing an inner error was about. The details are kept.
  Error WithContext(std::string_view context) const;
  // Copies with a detail set (a field already set is kept: the innermost
  // check knows best which field it read).
  Error WithField(std::string field) const;
  Error WithS3Code(std::string code) const;
  // A copy with another message (an outer layer's wording), and with
  // another code too, details kept.
  Error Reworded(std::string message) const;
  Error Recoded(ErrorCode code, std::string message) const;

  bool IsRetryable() const { return code_ == ErrorCode::kUnavailable; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string field_;
  std::string s3_code_;
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = Result<void>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> NotFound(std::string m) {
  return MakeError(ErrorCode::kNotFound, std::move(m));
}
inline std::unexpected<Error> AlreadyExists(std::string m) {
  return MakeError(ErrorCode::kAlreadyExists, std::move(m));
}
inline std::unexpected<Error> Conflict(std::string m) {
  return MakeError(ErrorCode::kConflict, std::move(m));
}
inline std::unexpected<Error> InvalidArgument(std::string m) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(m));
}
inline std::unexpected<Error> Corruption(std::string m) {
  return MakeError(ErrorCode::kCorruption, std::move(m));
}
inline std::unexpected<Error> AuthFailed(std::string m) {
  return MakeError(ErrorCode::kAuthFailed, std::move(m));
}
inline std::unexpected<Error> Unavailable(std::string m) {
  return MakeError(ErrorCode::kUnavailable, std::move(m));
}
inline std::unexpected<Error> PermissionDenied(std::string m) {
  return MakeError(ErrorCode::kPermissionDenied, std::move(m));
}
inline std::unexpected<Error> ResourceExhausted(std::string m) {
  return MakeError(ErrorCode::kResourceExhausted, std::move(m));
}
inline std::unexpected<Error> Cancelled(std::string m) {
  return MakeError(ErrorCode::kCancelled, std::move(m));
}
inline std::unexpected<Error> Internal(std::string m) {
  return MakeError(ErrorCode::kInternal, std::move(m));
}
// kInvalidArgument about one request field: the message is "field: why",
// and the field travels as a detail.
inline std::unexpected<Error> FieldInvalid(std::string field, std::string_view why) {
  std::string m = field + ": ";
  m += why;
  return std::unexpected<Error>(Error(ErrorCode::kInvalidArgument, std::move(m)).WithField(field));
}

// Prefixes the error of a failed Result with `context` ("context: message");
// passes a success through. (GCC 12's std::expected has no transform_error.)
template <typename T>
Result<T> AddContext(Result<T> r, std::string_view context) {
  if (!r) return std::unexpected(r.error().WithContext(context));
  return r;
}

// Maps an errno value from a failed system call on `what` (a path, a
// device) to an Error with the matching code and the system's message.
Error ErrnoError(int err, std::string_view what);

}  // namespace coffer

#define COFFER_CONCAT_INNER(a, b) a##b
#define COFFER_CONCAT(a, b) COFFER_CONCAT_INNER(a, b)

// Returns early from the enclosing function with the error of a failed Result.
#define COFFER_RETURN_IF_ERROR(expr)                                     \
  do {                                                                   \
    auto&& coffer_status_ = (expr);                                      \
    if (!coffer_status_) return std::unexpected(coffer_status_.error()); \
  } while (0)

// `COFFER_ASSIGN_OR_RETURN(auto x, F());` declares x from a successful
// Result, or returns its error.
#define COFFER_ASSIGN_OR_RETURN(lhs, expr) \
  COFFER_ASSIGN_OR_RETURN_IMPL(COFFER_CONCAT(coffer_result_, __LINE__), lhs, expr)
#define COFFER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)        \
  auto tmp = (expr);                                        \
  if (!tmp) return std::unexpected(std::move(tmp.error())); \
  lhs = std::move(*tmp)

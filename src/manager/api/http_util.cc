#include "manager/api/http_util.h"

#include <regex>

#include "base/text.h"
#include "core/crypto/secret.h"

namespace coffer::manager::api {
namespace {

// "gc_hour: …", "volume.locator: …": a field name the message starts with.
std::string LeadingField(const std::string& message) {
  static const std::regex kField(R"(^([a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*): )");
  std::smatch m;
  if (std::regex_search(message, m, kField)) return m[1].str();
  return "";
}

}  // namespace

std::string S3ErrorCode(std::string_view message) {
  // CamelCase words of two or more parts (InvalidAccessKeyId, NoSuchBucket,
  // SignatureDoesNotMatch, AccessDenied), as the S3 client prints them.
  static const std::regex kCode(R"((^|[\s(:])([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+)(?=[:)\s;]|$))");
  std::string m(message);
  std::smatch match;
  if (std::regex_search(m, match, kCode)) return match[2].str();
  return "";
}

ApiError ToApiError(const Error& e, bool target_access) {
  ApiError a;
  a.code = std::string(ErrorCodeName(e.code()));
  a.message = e.message();
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      a.status = 400;
      a.field = LeadingField(e.message());
      break;
    case ErrorCode::kNotFound:
      a.status = 404;
      break;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      a.status = 409;
      break;
    case ErrorCode::kResourceExhausted:
      a.status = 429;
      break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kAuthFailed:
      if (target_access) {
        a.status = 422;
        a.s3_error_code = S3ErrorCode(e.message());
      } else {
        a.status = e.code() == ErrorCode::kUnavailable ? 503 : 502;
      }
      break;
    default:
      a.status = 500;
  }
  return a;
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, const ApiError& e) {
  json err = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) err["field"] = e.field;
  if (!e.s3_error_code.empty()) err["s3_error_code"] = e.s3_error_code;
  if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  SendJson(res, e.status, {{"error", err}});
}

void SendError(httplib::Response& res, const Error& e, bool target_access) {
  SendError(res, ToApiError(e, target_access));
}

void SendFieldError(httplib::Response& res, const std::string& field, const std::string& message) {
  SendError(res, ApiError{400, "invalid-argument", message, field, ""});
}

std::optional<json> ParseBody(const httplib::Request& req, httplib::Response& res) {
  std::optional<json> body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    SendError(res, ApiError{400, "invalid-argument",
                            std::string("the body is not valid JSON: ") + e.what(), "", ""});
  }
  // The body may hold secrets (S3 keys, passphrases, agent tokens): httplib
  // hands out its mutable request as const; wiping in place is the only way.
  WipeString(const_cast<std::string&>(req.body));
  if (body && !body->is_object()) {
    SendError(res, ApiError{400, "invalid-argument", "the body must be a JSON object", "", ""});
    body.reset();
  }
  return body;
}

void WipeString(std::string& s) {
  if (!s.empty()) Wipe(s.data(), s.size());
}

void WipeFields(json& body, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = body.find(key);
    if (it != body.end() && it->is_string()) WipeString(it->get_ref<std::string&>());
  }
}

json Time(int64_t us) {
  if (us == 0) return nullptr;
  return FormatRfc3339(us / 1'000'000);
}

void FieldReader::Fail(const std::string& key, const std::string& message) {
  if (error_) return;
  error_ = ApiError{400, "invalid-argument", Name(key) + ": " + message, Name(key), ""};
}

void FieldReader::Only(std::initializer_list<std::string_view> allowed) {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool known = false;
    for (auto a : allowed) known |= it.key() == a;
    if (!known) Fail(it.key(), "unknown field");
  }
}

bool FieldReader::String(const char* key, std::string* out, bool required, size_t max_len) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  if (!it->is_string()) {
    Fail(key, "must be a string");
    return false;
  }
  const std::string& v = it->get_ref<const std::string&>();
  if (required && v.empty()) {
    Fail(key, "must not be empty");
    return false;
  }
  if (v.size() > max_len) {
    Fail(key, "is longer than " + std::to_string(max_len) + " bytes");
    return false;
  }
  *out = v;
  return true;
}

bool FieldReader::NullableString(const char* key, std::optional<std::string>* out, bool* is_null) {
  *is_null = false;
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end()) return false;
  if (it->is_null()) {
    *is_null = true;
    return true;
  }
  std::string v;
  if (!String(key, &v, false)) return false;
  *out = std::move(v);
  return true;
}

bool FieldReader::Int(const char* key, int64_t* out, bool required, int64_t min, int64_t max) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return false;
  }
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(max))) {
    Fail(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    Fail(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return false;
  }
  *out = v;
  return true;
}

bool FieldReader::Bool(const char* key, bool* out) {
  if (error_) return false;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    Fail(key, "must be true or false");
    return false;
  }
  *out = it->get<bool>();
  return true;
}

const json* FieldReader::Object(const char* key, bool required) {
  if (error_) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) {
    if (required) Fail(key, "required");
    return nullptr;
  }
  if (!it->is_object()) {
    Fail(key, "must be an object");
    return nullptr;
  }
  return &*it;
}

}  // namespace coffer::manager::api

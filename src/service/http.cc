#include "service/http.h"

#include <strings.h>

#include <charconv>
#include <unordered_set>

#include "base/text.h"
#include "core/crypto/secret.h"
#include "service/http_wire.h"

namespace coffer::service {

Result<ListenAddress> ParseListen(std::string_view text) {
  const std::string t(text);
  std::string host, port;
  if (t.starts_with("[")) {
    size_t close = t.find("]:");
    if (close == std::string::npos) return InvalidArgument("listen '" + t + "': want [HOST]:PORT");
    host = t.substr(1, close - 1);
    port = t.substr(close + 2);
  } else {
    size_t colon = t.rfind(':');
    if (colon == std::string::npos) return InvalidArgument("listen '" + t + "': want HOST:PORT");
    host = t.substr(0, colon);
    port = t.substr(colon + 1);
  }
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (host.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) {
    return InvalidArgument("listen '" + t + "': want HOST:PORT with a port 0-65535");
  }
  return ListenAddress{host, p};
}

std::string Request::Query(std::string_view key) const {
  auto it = query.find(std::string(key));
  return it == query.end() ? "" : it->second;
}

bool SameHeaderName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (SameHeaderName(k, name)) return v;
  }
  return "";
}

void Response::Json(int s, const json& b) {
  status = s;
  // A string that is not UTF-8 (a name read from somewhere outside) must
  // not turn an answer into an exception: its bad bytes become U+FFFD.
  body = b.dump(-1, ' ', false, json::error_handler_t::replace);
  content_type = "application/json";
}

void Response::Text(int s, std::string b, std::string type) {
  status = s;
  body = std::move(b);
  content_type = std::move(type);
}

void Response::SetHeader(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
}

json ErrorJson(const ApiError& e) {
  json err = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) err["field"] = e.field;
  if (!e.s3_error_code.empty()) err["s3_error_code"] = e.s3_error_code;
  return {{"error", err}};
}

json ErrorJson(const Error& e) { return ErrorJson(ToApiError(e)); }

ErrorCode ErrorCodeFromName(std::string_view name) {
  if (auto c = ParseErrorCode(name)) return *c;
  if (name == "unauthenticated") return ErrorCode::kAuthFailed;
  if (name == "too-large") return ErrorCode::kResourceExhausted;
  return ErrorCode::kInternal;
}

std::optional<Error> ErrorFromJson(const json& body) {
  if (!body.is_object()) return std::nullopt;
  auto it = body.find("error");
  if (it == body.end() || !it->is_object()) return std::nullopt;
  const json& e = *it;
  auto str = [&e](const char* key) {
    auto f = e.find(key);
    return f != e.end() && f->is_string() ? f->get<std::string>() : std::string();
  };
  const std::string code = str("code"), message = str("message");
  if (code.empty() || message.empty()) return std::nullopt;
  Error out(ErrorCodeFromName(code), message);
  if (std::string field = str("field"); !field.empty()) out = out.WithField(field);
  if (std::string s3 = str("s3_error_code"); !s3.empty()) out = out.WithS3Code(s3);
  return out;
}

ApiError ToApiError(const Error& e) {
  ApiError a;
  a.code = std::string(ErrorCodeName(e.code()));
  a.message = e.message();
  a.field = e.field();
  a.s3_error_code = e.s3_code();
  switch (e.code()) {
    case ErrorCode::kInvalidArgument:
      a.status = 400;
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
      a.status = 503;
      break;
    case ErrorCode::kAuthFailed:
    case ErrorCode::kPermissionDenied:
      a.status = 502;
      break;
    default:
      a.status = 500;
  }
  return a;
}

void SendError(Response& res, const ApiError& e) {
  if (e.status == 401) res.SetHeader("WWW-Authenticate", "Bearer");
  res.Json(e.status, ErrorJson(e));
}

namespace {

// Thrown from the parser's callback to stop at the first problem nlohmann
// would let through: a key given twice (which value would win is a guess
// the client should not have to make) and nesting past kMaxJsonDepth.
struct JsonShapeError {
  std::string message;
};

bool IsJsonType(std::string_view type) {
  const std::string_view media = type.substr(0, type.find(';'));
  std::string_view t = media;
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return SameHeaderName(t, "application/json");
}

}  // namespace

std::optional<json> ReadJsonBody(Request& req, Response& res) {
  auto refuse = [&](int status, std::string message) {
    WipeString(req.body);
    SendError(res, ApiError{status, "invalid-argument", std::move(message), "", ""});
    return std::nullopt;
  };
  if (req.body.empty()) {
    return refuse(400,
                  "the request has no body: send a JSON object with Content-Type: "
                  "application/json");
  }
  const std::string type = req.Header("Content-Type");
  if (!IsJsonType(type)) {
    return refuse(415, "the body must be JSON sent with Content-Type: application/json" +
                           (type.empty() ? std::string(" (none was given)")
                                         : " (not '" + wire::EscapeForLog(type) + "')"));
  }
  std::vector<std::unordered_set<std::string>> keys;  // of each open object
  auto check = [&keys](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) {
          throw JsonShapeError{"the body nests deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels"};
        }
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) {
          throw JsonShapeError{"the body gives the key '" + parsed.get<std::string>() + "' twice"};
        }
        break;
      default:
        break;
    }
    return true;
  };
  std::optional<json> body;
  try {
    body = json::parse(req.body, check);
  } catch (const JsonShapeError& e) {
    return refuse(400, e.message);
  } catch (const json::exception& e) {
    // parse_error (syntax, bytes that are not UTF-8) and out_of_range (a
    // number beyond a double, such as 1e400) alike: the client's mistake.
    std::string what = e.what();
    if (size_t at = what.find("] "); what.starts_with("[json.exception.") && at != what.npos) {
      what.erase(0, at + 2);
    }
    return refuse(400, "the body is not valid JSON: " + what);
  }
  WipeString(req.body);
  if (!body->is_object()) return refuse(400, "the body must be a JSON object");
  return body;
}

json Time(int64_t us) {
  if (us == 0) return nullptr;
  return FormatRfc3339(us / 1'000'000);
}

}  // namespace coffer::service

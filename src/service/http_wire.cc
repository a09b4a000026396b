#include "service/http_wire.h"

#include <charconv>
#include <cstdio>

#include "service/http.h"

namespace coffer::service::wire {
namespace {

// RFC 9110 §5.6.2: the characters of a token (header names, methods).
bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return SameHeaderName(a, b); }

// Whether the comma-separated list `value` holds `item` (case-insensitive).
bool ListHas(std::string_view value, std::string_view item) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view one = TrimSpace(value.substr(0, comma));
    if (EqualsIgnoreCase(one, item)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status ParseQuery(std::string_view q, std::multimap<std::string, std::string>* out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = DecodeComponent(pair.substr(0, eq), true);
    if (!key) return std::unexpected(key.error());
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = DecodeComponent(pair.substr(eq + 1), true);
      if (!v) return std::unexpected(v.error());
      value = std::move(*v);
    }
    out->emplace(std::move(*key), std::move(value));
  }
  return {};
}

Status ParseRequestLine(std::string_view line, RequestHead* h) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return InvalidArgument("the request line is not METHOD TARGET HTTP/1.1");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return InvalidArgument("the request method is not a token");
  if (version == "HTTP/1.1") {
    h->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    h->minor_version = 0;
  } else {
    return InvalidArgument("only HTTP/1.0 and HTTP/1.1 are spoken here");
  }
  // Origin form only ("/path?query"): this is not a proxy.
  if (!target.starts_with('/')) return InvalidArgument("the request target must start with '/'");
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f) {
      return InvalidArgument("the request target holds a byte that must be percent-encoded");
    }
  }
  h->method = std::string(method);
  h->target = std::string(target);
  const size_t qmark = target.find('?');
  auto path = DecodeComponent(target.substr(0, qmark), false);
  if (!path) return std::unexpected(path.error().Reworded("path: " + path.error().message()));
  h->path = std::move(*path);
  if (qmark != std::string_view::npos) {
    auto st = ParseQuery(target.substr(qmark + 1), &h->query);
    if (!st) return std::unexpected(st.error().Reworded("query: " + st.error().message()));
  }
  return {};
}

// Decides how the body is framed (RFC 9112 §6.3) and whether the
// connection stays open.
Status Frame(RequestHead* h) {
  std::string_view length, encoding;
  bool connection_close = false, connection_keep_alive = false;
  for (const auto& [name, value] : h->headers) {
    if (EqualsIgnoreCase(name, "Content-Length")) {
      if (!length.empty() && length != value) {
        return InvalidArgument("two different Content-Length headers");
      }
      length = value;
    } else if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      if (!encoding.empty()) return InvalidArgument("more than one Transfer-Encoding header");
      encoding = value;
    } else if (EqualsIgnoreCase(name, "Connection")) {
      connection_close |= ListHas(value, "close");
      connection_keep_alive |= ListHas(value, "keep-alive");
    } else if (EqualsIgnoreCase(name, "Expect")) {
      if (!EqualsIgnoreCase(value, "100-continue")) {
        return InvalidArgument("Expect: only 100-continue is understood");
      }
      h->expect_continue = true;
    }
  }
  h->keep_alive = h->minor_version == 1 ? !connection_close : connection_keep_alive;
  if (!encoding.empty()) {
    // Both framings at once is how requests are smuggled past proxies.
    if (!length.empty()) return InvalidArgument("Content-Length beside Transfer-Encoding");
    if (!EqualsIgnoreCase(encoding, "chunked")) {
      return InvalidArgument("Transfer-Encoding '" + std::string(encoding) +
                             "' is not supported (only chunked)");
    }
    h->body = RequestHead::Body::kChunked;
    return {};
  }
  if (!length.empty()) {
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
    if (ec != std::errc() || ptr != length.data() + length.size()) {
      return InvalidArgument("Content-Length is not a number of bytes");
    }
    h->body = n == 0 ? RequestHead::Body::kNone : RequestHead::Body::kLength;
    h->content_length = n;
  }
  return {};
}

}  // namespace

std::string_view RequestHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

size_t FindHeadEnd(std::string_view buffer) {
  size_t at = buffer.find("\r\n\r\n");
  return at == std::string_view::npos ? at : at + 4;
}

Result<RequestHead> ParseRequestHead(std::string_view head) {
  if (head.size() > kMaxHeadBytes) return InvalidArgument("the request head is too large");
  if (head.ends_with("\r\n\r\n")) head.remove_suffix(2);
  RequestHead h;
  bool first = true;
  while (!head.empty()) {
    size_t end = head.find("\r\n");
    if (end == std::string_view::npos) return InvalidArgument("the request head is not complete");
    std::string_view line = head.substr(0, end);
    head.remove_prefix(end + 2);
    if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
      return InvalidArgument("a bare CR or LF in the request head");
    }
    if (line.find('\0') != std::string_view::npos) {
      return InvalidArgument("a NUL byte in the request head");
    }
    if (first) {
      if (auto st = ParseRequestLine(line, &h); !st) return std::unexpected(st.error());
      first = false;
      continue;
    }
    if (line.empty()) return InvalidArgument("an empty line inside the request head");
    if (line.front() == ' ' || line.front() == '\t') {
      return InvalidArgument("a folded header line (obsolete, refused)");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
      return InvalidArgument("a header line is not NAME: VALUE");
    }
    std::string_view value = TrimSpace(line.substr(colon + 1));
    for (unsigned char c : value) {
      if (c < 0x20 && c != '\t') return InvalidArgument("a control character in a header value");
    }
    if (h.headers.size() == kMaxHeaders) return InvalidArgument("too many header lines");
    h.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  if (first) return InvalidArgument("the request line is missing");
  if (auto st = Frame(&h); !st) return std::unexpected(st.error());
  return h;
}

bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;  // a continuation byte first, an overlong 0xc0/0xc1, or beyond U+10FFFF
    }
    if (i + extra >= s.size()) return false;  // cut short
    for (int k = 1; k <= extra; ++k) {
      const unsigned char n = s[i + k];
      if ((n & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (n & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;  // overlong, or beyond Unicode
    }
    if (cp >= 0xd800 && cp <= 0xdfff) return false;  // surrogates are not characters
    i += extra + 1;
  }
  return true;
}

Result<std::string> DecodeComponent(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      const int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      const int lo = hi < 0 ? -1 : HexValue(s[i + 2]);
      if (lo < 0) return InvalidArgument("a '%' not followed by two hex digits");
      out += char(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  for (unsigned char c : out) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("a control character (or NUL)");
  }
  if (!IsUtf8(out)) return InvalidArgument("bytes that are not UTF-8");
  return out;
}

Result<size_t> ChunkedDecoder::Feed(std::string_view in, std::string* body) {
  // A size line is hex digits and optional extensions; a trailer line is a
  // header. Neither needs to be long.
  constexpr size_t kMaxLine = 4096;
  size_t used = 0;
  while (used < in.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      const size_t n = size_t(std::min<uint64_t>(remaining_, in.size() - used));
      body->append(in.substr(used, n));
      used += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDataEnd;
      continue;
    }
    const char c = in[used++];
    if (c != '\n') {
      if (line_.size() == kMaxLine) return InvalidArgument("a chunked body's line is too long");
      line_ += c;
      continue;
    }
    if (line_.empty() || line_.back() != '\r') {
      return InvalidArgument("a chunked body's line does not end in CRLF");
    }
    line_.pop_back();
    if (auto st = EndOfLine(body); !st) return std::unexpected(st.error());
    line_.clear();
  }
  return used;
}

Status ChunkedDecoder::EndOfLine(std::string*) {
  switch (state_) {
    case State::kSize: {
      std::string_view size = std::string_view(line_).substr(0, line_.find(';'));
      size = TrimSpace(size);
      uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), n, 16);
      if (size.empty() || ec != std::errc() || ptr != size.data() + size.size()) {
        return InvalidArgument("a chunk size is not a hex number");
      }
      if (n > max_body_ - total_) return ResourceExhausted("the chunked body is too large");
      total_ += n;
      remaining_ = n;
      state_ = n == 0 ? State::kTrailer : State::kData;
      return {};
    }
    case State::kDataEnd:
      if (!line_.empty()) return InvalidArgument("a chunk's data is longer than its size");
      state_ = State::kSize;
      return {};
    case State::kTrailer:
      // Trailer fields are read and dropped; the blank line ends the body.
      if (line_.empty()) state_ = State::kDone;
      return {};
    default:
      return Internal("chunked decoder: a line in the data");
  }
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string FormatResponse(int status, std::string_view content_type, std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool keep_alive, bool head_only) {
  std::string out;
  out.reserve(256 + (head_only ? 0 : body.size()));
  out += "HTTP/1.1 " + std::to_string(status) + " ";
  out += ReasonPhrase(status);
  out += "\r\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!body.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::pair<std::string, std::string> RequestLineForLog(std::string_view head) {
  std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return {"-", "-"};
  std::string_view method = line.substr(0, std::min<size_t>(sp1, 16));
  std::string_view target = line.substr(sp1 + 1);
  target = target.substr(0, std::min({target.find(' '), target.find('?'), size_t(200)}));
  return {EscapeForLog(method), target.empty() ? "-" : EscapeForLog(target)};
}

std::string EscapeForLog(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += char(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace coffer::service::wire

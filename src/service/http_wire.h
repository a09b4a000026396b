// The HTTP/1.1 wire format the server reads and writes (RFC 9112), as pure
// functions over bytes: the request head, chunked bodies, the answer's
// bytes, and the escaping of what is logged. No sockets: the server
// (http_server.cc) feeds them what it reads, and a fuzz target feeds them
// anything.
//
// What is refused, and why, is decided here once for both services: a
// request that could be read two ways (Content-Length beside
// Transfer-Encoding, two different lengths, a folded header) is refused
// rather than guessed at; a path or query that decodes to a NUL, a control
// character or bytes that are not UTF-8 is refused before any route sees
// it, so neither logs nor JSON answers can be forged or broken by it.
//
// Thread safety: functions are pure; a ChunkedDecoder belongs to one body.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace coffer::service::wire {

// The largest request head (request line and headers) accepted; larger is
// a 431.
inline constexpr size_t kMaxHeadBytes = 16 * 1024;
inline constexpr size_t kMaxHeaders = 100;

struct RequestHead {
  std::string method;
  std::string target;  // as sent, still percent-encoded (what the log shows)
  std::string path;    // decoded
  std::multimap<std::string, std::string> query;             // decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  int minor_version = 1;                                     // HTTP/1.minor
  bool keep_alive = true;
  enum class Body { kNone, kLength, kChunked };
  Body body = Body::kNone;
  uint64_t content_length = 0;  // for kLength
  bool expect_continue = false;

  // The first value of a header (names are case-insensitive); "" if absent.
  std::string_view Header(std::string_view name) const;
};

// Where the head ends in `buffer`: the offset just past the blank line
// ("\r\n\r\n"), or npos while it has not arrived.
size_t FindHeadEnd(std::string_view buffer);

// Parses a request head: the bytes of `buffer` up to FindHeadEnd. Errors
// are kInvalidArgument whose message says what is wrong, for a 400 (a
// transfer coding other than chunked among them).
Result<RequestHead> ParseRequestHead(std::string_view head);

// %XX-decodes `s` ('+' as a space when `plus_is_space`, as in a query).
// Refuses a malformed escape, and a result holding a NUL or another control
// character or bytes that are not UTF-8.
Result<std::string> DecodeComponent(std::string_view s, bool plus_is_space);

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates).
bool IsUtf8(std::string_view s);

// Reads a chunked body (RFC 9112 §7.1) as its bytes arrive, refusing more
// than max_body bytes of data before they are buffered.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(uint64_t max_body) : max_body_(max_body) {}

  // Consumes what it can of `in`, appending the data to `*body`, and
  // returns how many bytes of `in` it used (all of them unless done() came
  // first). Errors: kInvalidArgument for malformed framing,
  // kResourceExhausted when the data exceeds max_body (a 413).
  Result<size_t> Feed(std::string_view in, std::string* body);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  Status EndOfLine(std::string* body);

  uint64_t max_body_;
  uint64_t total_ = 0;
  uint64_t remaining_ = 0;  // of the current chunk's data
  State state_ = State::kSize;
  std::string line_;  // a size or trailer line being assembled
};

// The bytes of an answer. `head_only` (a HEAD request) leaves the body out
// but keeps its Content-Length.
std::string FormatResponse(int status, std::string_view content_type, std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool keep_alive, bool head_only = false);
std::string_view ReasonPhrase(int status);

// The method and target of a head that could not be parsed, for the log:
// escaped, the target without its query and cut at 200 bytes; "-" for what
// cannot be found.
std::pair<std::string, std::string> RequestLineForLog(std::string_view head);

// `s` safe for one log line: printable ASCII as is, every other byte (a
// newline, a NUL, an escape sequence, non-ASCII) as \xNN.
std::string EscapeForLog(std::string_view s);

}  // namespace coffer::service::wire

// HttpClient: one HTTP(S) call to a peer service (the manager calling an
// agent; tests calling either), on cpp-httplib.
//
// Errors: kInvalidArgument for an unusable URL; kUnavailable when no answer
// came (refused, reset, timeout). Any answer, whatever its status, is a
// success: the caller decides what the status means.
//
// Thread safety: stateless apart from its options; any thread may call.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"

namespace coffer::service {

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};  // connect, read and write, each
  std::string ca_file;                       // PEM bundle for https; empty: the system's
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(std::string_view name) const;  // case-insensitive; "" if absent
};

class HttpClient {
 public:
  // `base_url`: http://HOST:PORT or https://HOST:PORT.
  HttpClient(std::string base_url, HttpClientOptions options = {})
      : base_url_(std::move(base_url)), options_(std::move(options)) {}

  // METHOD path with `bearer` (when not empty) and a JSON `body` (when not
  // null). The token's and the body's copies made here are wiped after the
  // call (best effort: the library copies them too).
  Result<HttpReply> Call(const std::string& method, const std::string& path,
                         const std::string& bearer, const std::string* body = nullptr);

 private:
  std::string base_url_;
  HttpClientOptions options_;
};

}  // namespace coffer::service

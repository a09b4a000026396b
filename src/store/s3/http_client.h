// HttpClient: the HTTP/1.1 transport of the S3 store, over libcurl, and the
// only code in Coffer that includes curl.h.
//
// Connections are reused: the client keeps a pool of curl easy handles (each
// holds its own connection cache), one per concurrent request, at most
// `max_connections`; a request beyond that waits for a free handle, which
// bounds both connections and the memory of requests in flight.
//
// Transport failures (refused or reset connections, timeouts, stalls, a body
// cut short) are kUnavailable; an unusable address or TLS setup is
// kInvalidArgument. HTTP error statuses are not errors here: the caller gets
// the response and maps it.
//
// Thread safety: Send may be called from many threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "store/s3/sigv4.h"

namespace coffer {

struct HttpOptions {
  int max_connections = 8;
  std::chrono::milliseconds connect_timeout{10'000};
  // No byte moving in either direction for this long is a stall: the request
  // fails with kUnavailable (and is retried above).
  std::chrono::milliseconds stall_timeout{30'000};
  std::string ca_file;  // PEM bundle to trust instead of the system's; empty: system
};

struct HttpRequest {
  std::string_view method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  HeaderList headers;
  ByteView body;
  // Where a successful (2xx) response body goes; nullptr: HttpResponse::body.
  // Error bodies always go to HttpResponse::body.
  Buffer* sink = nullptr;
};

struct HttpResponse {
  long status = 0;
  HeaderList headers;  // names in lower case
  std::string body;
  // The value of header `lower_name`, or "" when absent.
  std::string Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> Send(const HttpRequest& req);

 private:
  void* Acquire();
  void Release(void* handle);

  const HttpOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<void*> idle_;  // CURL* handles, their connections kept alive
  int open_ = 0;             // handles in existence, idle or in use
};

}  // namespace coffer

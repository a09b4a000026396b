// HttpServer: the one HTTP/1.1 server of the manager and the agent, over
// TLS (OpenSSL) when a certificate is given.
//
// What every request meets, in order:
//   - a head that is malformed, ambiguous or holds bytes a path or query
//     must not decode to (service/http_wire.h): 400; a head over 16 KiB:
//     431; a method no service speaks: 405;
//   - the bearer token (`Authorization: Bearer <token>`), checked by the
//     `authorize` predicate before any body is read, except on open paths:
//     401 with WWW-Authenticate;
//   - bodies above max_body_bytes: 413, before they are read when they say
//     their length, as soon as they pass it when chunked; a body that does
//     not arrive in body_timeout: 408; one cut short: 400;
//   - the route: none matches, 404; the path matches for other methods
//     only, 405 with Allow; a handler that throws, 500. Every one of these
//     is the JSON error body (service/http.h), and every error before the
//     handler closes the connection after its answer;
//   - the request log: one line "coffer NAME: METHOD PATH STATUS MS ms" on
//     stderr when log_requests, with the path as sent (percent-encoded, so
//     no request can write a line of its own) — never headers, query
//     strings or bodies, which hold secrets — and on_request for metrics.
// HEAD is answered by the GET route without its body. Answers carry
// X-Content-Type-Options: nosniff, and Cache-Control: no-store unless the
// handler set one.
//
// Thread safety: Serve blocks on the calling thread, which owns the sockets,
// and runs handlers on `workers` threads; Stop may be called from any thread. Routes are
// added before Bind.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace coffer::service {

using Handler = std::function<void(Request&, Response&)>;

struct ServerOptions {
  std::string name;  // "agent", "manager": in messages and the log
  ListenAddress listen;
  std::string tls_cert, tls_key;  // both or neither
  uint64_t max_body_bytes = 1 << 20;
  // Whether a bearer token is accepted. Paths in open_paths need none.
  std::function<bool(std::string_view token)> authorize;
  std::vector<std::string> open_paths;
  bool log_requests = true;
  std::function<void(const std::string& method, const std::string& path, int status,
                     double seconds)>
      on_request;

  // Threads that run handlers; requests beyond them wait in a queue of
  // max_queued_requests, past which the answer is 503.
  int workers = 16;
  size_t max_queued_requests = 1024;
  // Connections held open at once, in all and from one client address;
  // beyond either, a new connection gets a 503 and is closed.
  size_t max_connections = 1024;
  size_t max_connections_per_client = 128;
  // Deadlines: for a whole request head from its first byte (a TLS
  // handshake included), for a whole body from the end of its head, for a
  // whole answer to be taken by the client, and for an idle kept-alive
  // connection. A request that misses one gets a 408 and is closed.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds idle_timeout{10000};
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes: `pattern` is a regular expression over the whole path; its
  // groups are Request::params.
  void Get(const std::string& pattern, Handler h);
  void Post(const std::string& pattern, Handler h);
  void Patch(const std::string& pattern, Handler h);
  void Put(const std::string& pattern, Handler h);
  void Delete(const std::string& pattern, Handler h);

  // Binds the socket: kInvalidArgument for unusable TLS files, kUnavailable
  // when the address cannot be bound.
  Status Bind();
  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  // Answers requests until Stop().
  Status Serve();
  void Stop();

 private:
  struct Impl;
  const ServerOptions options_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Runs `serve` (which blocks) until SIGINT or SIGTERM, on which `stop` is
// called; logs "coffer NAME: stopping (signal N)". SIGPIPE is ignored.
// Call before starting other threads: the stop signals are blocked in the
// calling thread, which the threads it starts inherit.
Status ServeUntilSignal(std::string_view name, const std::function<Status()>& serve,
                        const std::function<void()>& stop);
// Blocks SIGINT and SIGTERM in the calling thread (and the threads it
// starts afterwards), for ServeUntilSignal.
void BlockStopSignals();

}  // namespace coffer::service

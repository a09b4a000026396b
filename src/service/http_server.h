// HttpServer: the one HTTP server of the manager and the agent, on
// cpp-httplib, over TLS when a certificate is given.
//
// What every request meets, in order:
//   - bodies above max_body_bytes: 413, before the body is read;
//   - the bearer token (`Authorization: Bearer <token>`), checked by the
//     `authorize` predicate before any body is read, except on open paths:
//     401 with WWW-Authenticate;
//   - the route: none matches, 404; a handler that throws, 500. Every one
//     of these is the JSON error body (service/http.h);
//   - the request log: one line "coffer NAME: METHOD PATH STATUS MS ms" on
//     stderr when log_requests — never headers, query strings or bodies,
//     which hold secrets — and on_request for metrics.
//
// Thread safety: Serve blocks on the calling thread and answers on the
// library's worker threads; Stop may be called from any thread. Routes are
// added before Bind.
#pragma once

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

#include "service/http_server.h"

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/crypto/secret.h"

namespace coffer::service {
namespace {

// When the request being handled on this thread started (httplib runs a
// request's pre-routing handler, handler and logger on one thread).
thread_local std::chrono::steady_clock::time_point request_start;

void Write(httplib::Response& out, Response& in) {
  out.status = in.status;
  for (auto& [k, v] : in.headers) out.set_header(k, v);
  if (!in.body.empty()) out.set_content(std::move(in.body), in.content_type);
}

void SendTo(httplib::Response& out, const ApiError& e) {
  Response r;
  SendError(r, e);
  Write(out, r);
}

}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> http;
  std::string tls_error;
};

HttpServer::HttpServer(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  if (!options_.tls_cert.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (!tls->is_valid()) {
      impl_->tls_error =
          "cannot use TLS certificate " + options_.tls_cert + " with key " + options_.tls_key;
    }
    impl_->http = std::move(tls);
  } else {
    impl_->http = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *impl_->http;
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = std::chrono::steady_clock::now();
    for (const std::string& open : options_.open_paths) {
      if (req.path == open) return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string& auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.starts_with(kBearer) && options_.authorize &&
        options_.authorize(std::string_view(auth).substr(kBearer.size()))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    SendTo(res, ApiError{401, "unauthenticated",
                         auth.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                      : "invalid bearer token",
                         "", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&,
                                                                  httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      SendTo(res, ApiError{413, "too-large",
                           "the body is larger than the " + options_.name + " accepts", "", ""});
    } else if (res.status == 404) {
      SendTo(res, ApiError{404, "not-found", "no such endpoint", "", ""});
    } else {
      SendTo(res, ApiError{res.status, "invalid-argument",
                           "HTTP status " + std::to_string(res.status), "", ""});
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendTo(res, ApiError{500, "internal", "internal error: " + what, "", ""});
      });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count();
    if (options_.on_request) options_.on_request(req.method, req.path, res.status, seconds);
    if (options_.log_requests) {
      std::fprintf(stderr, "coffer %s: %s %s %d %lld ms\n", options_.name.c_str(),
                   req.method.c_str(), req.path.c_str(), res.status,
                   static_cast<long long>(seconds * 1000));
    }
  });
}

HttpServer::~HttpServer() { Stop(); }

namespace {

httplib::Server::Handler Adapt(Handler h) {
  return [h = std::move(h)](const httplib::Request& in, httplib::Response& out) {
    Request req;
    req.method = in.method;
    req.path = in.path;
    for (size_t i = 1; i < in.matches.size(); ++i) req.params.push_back(in.matches[i].str());
    for (const auto& [k, v] : in.params) req.query.emplace(k, v);
    for (const auto& [k, v] : in.headers) req.headers.emplace(k, v);
    // The body may hold secrets: moved, not copied, so that wiping ours
    // wipes the only copy (httplib hands its mutable request out as const).
    req.body = std::move(const_cast<std::string&>(in.body));
    Response res;
    h(req, res);
    WipeString(req.body);
    Write(out, res);
  };
}

}  // namespace

void HttpServer::Get(const std::string& pattern, Handler h) {
  impl_->http->Get(pattern, Adapt(std::move(h)));
}
void HttpServer::Post(const std::string& pattern, Handler h) {
  impl_->http->Post(pattern, Adapt(std::move(h)));
}
void HttpServer::Patch(const std::string& pattern, Handler h) {
  impl_->http->Patch(pattern, Adapt(std::move(h)));
}
void HttpServer::Put(const std::string& pattern, Handler h) {
  impl_->http->Put(pattern, Adapt(std::move(h)));
}
void HttpServer::Delete(const std::string& pattern, Handler h) {
  impl_->http->Delete(pattern, Adapt(std::move(h)));
}

Status HttpServer::Bind() {
  if (!impl_->tls_error.empty()) return InvalidArgument(impl_->tls_error);
  const ListenAddress& l = options_.listen;
  if (l.port == 0) {
    port_ = impl_->http->bind_to_any_port(l.host);
    if (port_ < 0) return Unavailable("cannot listen on " + l.host);
  } else {
    if (!impl_->http->bind_to_port(l.host, l.port)) {
      return Unavailable("cannot listen on " + l.host + ":" + std::to_string(l.port));
    }
    port_ = l.port;
  }
  return {};
}

Status HttpServer::Serve() {
  if (!impl_->http->listen_after_bind()) return Internal("the HTTP server stopped with an error");
  return {};
}

void HttpServer::Stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

namespace {

sigset_t StopSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t stop_signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Status ServeUntilSignal(std::string_view name, const std::function<Status()>& serve,
                        const std::function<void()>& stop) {
  BlockStopSignals();
  const sigset_t stop_signals = StopSignals();
  const std::string who(name);
  std::thread waiter([&stop, stop_signals, who] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "coffer %s: stopping (signal %d)\n", who.c_str(), sig);
    stop();
  });
  auto served = serve();
  // Serve also returns if the listener fails; wake the waiter either way.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return served;
}

}  // namespace coffer::service

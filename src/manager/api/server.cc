#include "manager/api/server.h"

#include <httplib.h>

#include <chrono>

#include "manager/api/http_util.h"
#include "manager/log.h"

namespace coffer::manager::api {
namespace {

// When the request being handled on this thread started (httplib runs a
// request's pre-routing handler, handler and logger on one thread).
thread_local std::chrono::steady_clock::time_point request_start;

}  // namespace

ApiServer::ApiServer(ApiContext context, ApiOptions options)
    : ctx_(std::move(context)), options_(std::move(options)) {}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Bind() {
  http_ = std::make_unique<httplib::Server>();
  Routes();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    if (port_ < 0) return Unavailable("cannot listen on " + options_.host);
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port));
    }
    port_ = options_.port;
  }
  return {};
}

Status ApiServer::Serve() {
  if (!http_->listen_after_bind()) return Internal("the HTTP server stopped with an error");
  return {};
}

void ApiServer::Stop() {
  if (http_) http_->stop();
}

void ApiServer::Routes() {
  httplib::Server& s = *http_;
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_start = std::chrono::steady_clock::now();
    if (req.path == "/healthz") return httplib::Server::HandlerResponse::Unhandled;
    const std::string& auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.starts_with(kBearer) &&
        ctx_.auth->Check(std::string_view(auth).substr(kBearer.size()))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    SendError(res, ApiError{401, "unauthenticated",
                            auth.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                         : "invalid bearer token",
                            "", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        if (res.status == 413) {
          SendError(res, ApiError{413, "too-large", "the body is larger than the manager accepts",
                                  "", ""});
        } else if (res.status == 404) {
          SendError(res, ApiError{404, "not-found", "no such endpoint", "", ""});
        } else {
          SendError(res, ApiError{res.status, "invalid-argument",
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
        SendError(res, ApiError{500, "internal", "internal error: " + what, "", ""});
      });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count();
    ctx_.metrics->CountRequest(req.method, req.path, res.status, seconds);
    if (options_.log_requests) {
      Log(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
          std::to_string(int64_t(seconds * 1000)) + " ms");
    }
  });
  AddSystemRoutes(s, ctx_);
  AddTargetRoutes(s, ctx_);
  AddAgentRoutes(s, ctx_);
  AddVolumeRoutes(s, ctx_);
  AddBackupRoutes(s, ctx_);
}

}  // namespace coffer::manager::api

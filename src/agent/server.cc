#include "agent/server.h"

#include <httplib.h>

#include <cstdio>

#include "agent/requests.h"
#include "agent/run_job.h"
#include "core/crypto/secret.h"

namespace coffer::agent {
namespace {

using nlohmann::json;

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, int status, const Error& e, const std::string& field = "") {
  json err = {{"code", ErrorCodeName(e.code())}, {"message", e.message()}};
  if (!field.empty()) err["field"] = field;
  SendJson(res, status, {{"error", err}});
}

// The HTTP status for an error that stops a request before a job starts.
int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    default:
      return 400;  // a bad locator, a missing volume, a malformed field
  }
}

// Parses the body, then overwrites it: it holds the target key.
std::optional<json> ParseBody(const httplib::Request& req, httplib::Response& res) {
  std::optional<json> body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    SendError(
        res, 400,
        Error(ErrorCode::kInvalidArgument, std::string("the body is not valid JSON: ") + e.what()));
  }
  // httplib owns a mutable Request and hands it out as const; wiping the
  // bytes in place is the only way to keep the key from lingering.
  WipeString(const_cast<std::string&>(req.body));
  return body;
}

json VolumeJson(const VolumeSpec& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"backend", BackendName(v.backend)},
          {"locator", RedactLocator(v.backend, v.locator)}};
}

}  // namespace

AgentServer::AgentServer(AgentConfig config)
    : config_(std::move(config)), jobs_(config_.max_running_jobs) {}

AgentServer::~AgentServer() { Stop(); }

Status AgentServer::Bind() {
  if (!config_.tls_cert.empty()) {
    auto tls =
        std::make_unique<httplib::SSLServer>(config_.tls_cert.c_str(), config_.tls_key.c_str());
    if (!tls->is_valid()) {
      return InvalidArgument("cannot use TLS certificate " + config_.tls_cert + " with key " +
                             config_.tls_key);
    }
    http_ = std::move(tls);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  Routes();
  if (config_.listen_port == 0) {
    port_ = http_->bind_to_any_port(config_.listen_host);
    if (port_ < 0) return Unavailable("cannot listen on " + config_.listen_host);
  } else {
    if (!http_->bind_to_port(config_.listen_host, config_.listen_port)) {
      return Unavailable("cannot listen on " + config_.listen_host + ":" +
                         std::to_string(config_.listen_port));
    }
    port_ = config_.listen_port;
  }
  return {};
}

Status AgentServer::Serve() {
  if (!http_->listen_after_bind()) return Internal("the HTTP server stopped with an error");
  return {};
}

void AgentServer::Stop() {
  if (http_) http_->stop();
}

void AgentServer::Routes() {
  httplib::Server& s = *http_;
  s.set_payload_max_length(config_.max_body_bytes);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string& auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    bool ok = auth.starts_with(kBearer) &&
              SecretsEqual(std::string_view(auth).substr(kBearer.size()), config_.token);
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    SendError(res, 401,
              Error(ErrorCode::kAuthFailed,
                    auth.empty() ? "missing bearer token" : "wrong bearer token"));
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string msg = res.status == 413   ? "the body is larger than the agent accepts"
                          : res.status == 404 ? "no such endpoint or job"
                                              : "HTTP status " + std::to_string(res.status);
        ErrorCode code = res.status == 413   ? ErrorCode::kResourceExhausted
                         : res.status == 404 ? ErrorCode::kNotFound
                                             : ErrorCode::kInvalidArgument;
        SendError(res, res.status, Error(code, msg));
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
        SendError(res, 500, Error(ErrorCode::kInternal, "internal error: " + what));
      });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    std::fprintf(stderr, "coffer agent: %s %s %d\n", req.method.c_str(), req.path.c_str(),
                 res.status);
  });

  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, {{"status", "ok"}});
  });

  s.Post("/v1/storage/backup", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = ParseBody(req, res);
    if (!body) return;
    FieldError fe{"", Error(ErrorCode::kInvalidArgument, "")};
    auto parsed = ParseBackupRequest(*body, &fe);
    if (!parsed) return SendError(res, 400, fe.error, fe.field);
    auto request = std::make_shared<BackupRequest>(std::move(*parsed));
    auto source =
        ValidateSource(request->volume.backend, request->volume.locator, config_.volume_roots);
    if (!source)
      return SendError(res, StatusFor(source.error().code()), source.error(), "volume.locator");
    auto job = jobs_.Start("backup", request->attempt, VolumeJson(request->volume),
                           "volume " + request->volume.id, [request, src = *source, this](Job& j) {
                             RunBackupJob(j, *request, src, config_, known_sets_);
                           });
    if (!job) return SendError(res, StatusFor(job.error().code()), job.error());
    res.set_header("Location", "/v1/storage/jobs/" + (*job)->id());
    SendJson(res, 202, (*job)->ToJson(false));
  });

  s.Post("/v1/storage/restore", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = ParseBody(req, res);
    if (!body) return;
    FieldError fe{"", Error(ErrorCode::kInvalidArgument, "")};
    auto parsed = ParseRestoreRequest(*body, &fe);
    if (!parsed) return SendError(res, 400, fe.error, fe.field);
    auto request = std::make_shared<RestoreRequest>(std::move(*parsed));
    const VolumeSpec& d = request->destination;
    auto dest = ValidateDestination(d.backend, d.locator, config_.volume_roots);
    if (!dest)
      return SendError(res, StatusFor(dest.error().code()), dest.error(), "destination.locator");
    auto job = jobs_.Start(
        "restore", request->attempt, VolumeJson(d), "",
        [request, dst = *dest, this](Job& j) { RunRestoreJob(j, *request, dst, config_); });
    if (!job) return SendError(res, StatusFor(job.error().code()), job.error());
    res.set_header("Location", "/v1/storage/jobs/" + (*job)->id());
    SendJson(res, 202, (*job)->ToJson(false));
  });

  s.Get("/v1/storage/jobs", [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const auto& job : jobs_.All()) list.push_back(job->ToJson(false));
    SendJson(res, 200, {{"jobs", list}});
  });

  auto find = [this](const httplib::Request& req, httplib::Response& res) {
    auto job = jobs_.Find(req.matches[1]);
    if (!job) SendError(res, 404, Error(ErrorCode::kNotFound, "no job " + req.matches[1].str()));
    return job;
  };
  s.Get(R"(/v1/storage/jobs/([0-9a-f-]+))",
        [find](const httplib::Request& req, httplib::Response& res) {
          if (auto job = find(req, res)) SendJson(res, 200, job->ToJson(true));
        });
  auto cancel = [find](const httplib::Request& req, httplib::Response& res) {
    auto job = find(req, res);
    if (!job) return;
    if (!job->RequestCancel()) {
      return SendError(
          res, 409,
          Error(ErrorCode::kConflict, "job " + job->id() + " already ended (" +
                                          std::string(JobStateName(job->state())) + ")"));
    }
    SendJson(res, 202, job->ToJson(false));
  };
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/cancel)", cancel);
  // The commit gate (DESIGN §5): the manager approves the attempt it still
  // holds for the backup, or abandons the job.
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/commit)",
         [find](const httplib::Request& req, httplib::Response& res) {
           auto body = ParseBody(req, res);
           if (!body) return;
           auto it = body->find("attempt");
           if (!body->is_object() || it == body->end() || !it->is_number_unsigned()) {
             return SendError(res, 400,
                              Error(ErrorCode::kInvalidArgument,
                                    "attempt: the attempt the manager approves, a positive "
                                    "integer, is required"),
                              "attempt");
           }
           auto job = find(req, res);
           if (!job) return;
           if (auto st = job->DecideCommit(it->get<uint64_t>()); !st) {
             return SendError(res, 409, st.error());
           }
           SendJson(res, 200, job->ToJson(false));
         });
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/abandon)",
         [find](const httplib::Request& req, httplib::Response& res) {
           auto body = ParseBody(req, res);
           if (!body) return;
           std::string reason;
           if (body->is_object()) {
             auto it = body->find("reason");
             if (it != body->end() && it->is_string()) reason = it->get<std::string>();
           }
           auto job = find(req, res);
           if (!job) return;
           if (!job->Abandon(reason)) {
             return SendError(res, 409,
                              Error(ErrorCode::kConflict,
                                    "job " + job->id() + " already ended or was approved (" +
                                        std::string(JobStateName(job->state())) + ")"));
           }
           SendJson(res, 200, job->ToJson(false));
         });
  s.Delete(R"(/v1/storage/jobs/([0-9a-f-]+))", cancel);
}

}  // namespace coffer::agent

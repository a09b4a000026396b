#include "agent/server.h"

#include "agent/run_job.h"
#include "core/crypto/secret.h"
#include "service/json_fields.h"

namespace coffer::agent {
namespace {

using service::Request;
using service::Response;

// The status of an error that stops a request before a job starts: the
// service's mapping, except that a refused or unreachable peer cannot be
// one here (the job has not started), so those are the caller's 400.
int StatusFor(const Error& e) {
  switch (e.code()) {
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

void Refuse(Response& res, const Error& e) {
  service::ApiError a = service::ToApiError(e);
  a.status = StatusFor(e);
  service::SendError(res, a);
}

// The job's volume as reports show it: no secret in the locator.
agent_api::VolumeSpec Shown(const agent_api::VolumeSpec& v) {
  return {v.id, v.name, v.backend, BackendOf(v.backend).redact(v.locator), false, {}};
}

void Accepted(Response& res, const Job& job) {
  res.SetHeader("Location", "/v1/storage/jobs/" + job.id());
  res.Json(202, agent_api::ToJson(job.Report(false)));
}

}  // namespace

AgentServer::AgentServer(AgentConfig config)
    : config_(std::move(config)),
      backends_{config_.volume_roots, config_.iscsi_initiator},
      jobs_(config_.max_running_jobs) {
  service::ServerOptions o;
  o.name = "agent";
  o.listen = config_.listen;
  o.tls_cert = config_.tls_cert;
  o.tls_key = config_.tls_key;
  o.max_body_bytes = config_.max_body_bytes;
  o.authorize = [this](std::string_view token) { return SecretsEqual(token, config_.token); };
  http_ = std::make_unique<service::HttpServer>(std::move(o));
  Routes();
}

AgentServer::~AgentServer() { http_->Stop(); }

void AgentServer::Routes() {
  service::HttpServer& s = *http_;
  s.Get("/healthz", [](Request&, Response& res) {
    agent_api::Health h;
    h.version = COFFER_VERSION;
    res.Json(200, agent_api::ToJson(h));
  });

  s.Post("/v1/storage/backup", [this](Request& req, Response& res) {
    auto body = service::ReadJsonBody(req, res);
    if (!body) return;
    auto parsed = agent_api::ParseBackupRequest(*body);
    if (!parsed) return Refuse(res, parsed.error());
    auto request = std::make_shared<agent_api::BackupRequest>(std::move(*parsed));
    const agent_api::VolumeSpec& v = request->volume;
    auto source = BackendOf(v.backend).validate_source(v.locator, backends_);
    if (!source) return Refuse(res, source.error().WithField("volume.locator"));
    auto job = jobs_.Start(JobKind::kBackup, request->attempt, Shown(v), "volume " + v.id,
                           [request, src = *source, this](Job& j) {
                             RunBackupJob(j, *request, src, config_, backends_, known_sets_);
                           });
    if (!job) return Refuse(res, job.error());
    Accepted(res, **job);
  });

  s.Post("/v1/storage/restore", [this](Request& req, Response& res) {
    auto body = service::ReadJsonBody(req, res);
    if (!body) return;
    auto parsed = agent_api::ParseRestoreRequest(*body);
    if (!parsed) return Refuse(res, parsed.error());
    auto request = std::make_shared<agent_api::RestoreRequest>(std::move(*parsed));
    const agent_api::VolumeSpec& d = request->destination;
    auto dest = BackendOf(d.backend).validate_destination(d.locator, backends_);
    if (!dest) return Refuse(res, dest.error().WithField("destination.locator"));
    auto job = jobs_.Start(JobKind::kRestore, request->attempt, Shown(d), "",
                           [request, dst = *dest, this](Job& j) {
                             RunRestoreJob(j, *request, dst, config_, backends_);
                           });
    if (!job) return Refuse(res, job.error());
    Accepted(res, **job);
  });

  s.Get("/v1/storage/jobs", [this](Request&, Response& res) {
    agent_api::JobList list;
    for (const auto& job : jobs_.All()) list.jobs.push_back(job->Report(false));
    res.Json(200, agent_api::ToJson(list));
  });

  auto find = [this](Request& req, Response& res) {
    auto job = jobs_.Find(req.params.at(0));
    if (!job) {
      service::SendError(res, service::ToApiError(NotFound("no job " + req.params.at(0)).error()));
    }
    return job;
  };
  s.Get(R"(/v1/storage/jobs/([0-9a-f-]+))", [find](Request& req, Response& res) {
    if (auto job = find(req, res)) res.Json(200, agent_api::ToJson(job->Report(true)));
  });
  auto cancel = [find](Request& req, Response& res) {
    auto job = find(req, res);
    if (!job) return;
    if (!job->RequestCancel()) {
      return Refuse(res, Conflict("job " + job->id() + " already ended (" +
                                  std::string(JobStateName(job->state())) + ")")
                             .error());
    }
    res.Json(202, agent_api::ToJson(job->Report(false)));
  };
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/cancel)", cancel);
  s.Delete(R"(/v1/storage/jobs/([0-9a-f-]+))", cancel);
  // The commit gate (DESIGN §5): the manager approves the attempt it still
  // holds for the backup, or abandons the job.
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/commit)", [find](Request& req, Response& res) {
    auto body = service::ReadJsonBody(req, res);
    if (!body) return;
    auto commit = agent_api::ParseCommitRequest(*body);
    if (!commit) return Refuse(res, commit.error());
    auto job = find(req, res);
    if (!job) return;
    if (auto st = job->DecideCommit(commit->attempt); !st) return Refuse(res, st.error());
    res.Json(200, agent_api::ToJson(job->Report(false)));
  });
  s.Post(R"(/v1/storage/jobs/([0-9a-f-]+)/abandon)", [find](Request& req, Response& res) {
    auto body = service::ReadJsonBody(req, res);
    if (!body) return;
    auto abandon = agent_api::ParseAbandonRequest(*body);
    if (!abandon) return Refuse(res, abandon.error());
    auto job = find(req, res);
    if (!job) return;
    if (!job->Abandon(abandon->reason)) {
      return Refuse(res, Conflict("job " + job->id() + " already ended or was approved (" +
                                  std::string(JobStateName(job->state())) + ")")
                             .error());
    }
    res.Json(200, agent_api::ToJson(job->Report(false)));
  });
}

}  // namespace coffer::agent

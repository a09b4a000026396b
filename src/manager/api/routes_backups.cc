// /v1/backups (list, inspect with live progress, delete, restore) and
// /v1/restores (restores, as rows of the metadata store).
#include <httplib.h>

#include <charconv>

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

void List(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  meta::BackupFilter filter;
  if (req.has_param("volume_id")) filter.volume_id = req.get_param_value("volume_id");
  if (req.has_param("target_id")) filter.target_id = req.get_param_value("target_id");
  if (req.has_param("status")) {
    auto s = meta::ParseBackupStatus(req.get_param_value("status"));
    if (!s) return SendFieldError(res, "status", "status: must be running, completed or failed");
    filter.status = *s;
  }
  if (req.has_param("limit")) {
    try {
      filter.limit = std::stoll(req.get_param_value("limit"));
    } catch (const std::exception&) {
      filter.limit = -1;
    }
    if (filter.limit < 0) return SendFieldError(res, "limit", "limit: must be a whole number");
  }
  auto backups = ctx.meta->ListBackups(filter);
  if (!backups) return SendError(res, backups.error());
  json list = json::array();
  for (const auto& b : *backups) list.push_back(BackupJson(b));
  SendJson(res, 200, {{"backups", list}});
}

void Get(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto b = ctx.meta->GetBackup(req.matches[1].str());
  if (!b) return SendError(res, b.error());
  json j = BackupJson(*b);
  j["progress"] = nullptr;
  if (b->status == meta::BackupStatus::kRunning) {
    auto job = ctx.orchestrator->LiveJob(*b);
    if (job) {
      j["progress"] = ProgressJson(*job);
    } else {
      j["progress_error"] = job.error().message();
    }
  }
  SendJson(res, 200, j);
}

void Restore(ApiContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto body = ParseBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "agent_id", "backend", "locator"});
  RestoreRequest r;
  r.backup_id = req.matches[1].str();
  std::string backend;
  f.String("name", &r.name, true, 128);
  f.String("agent_id", &r.agent_id, true, 128);
  f.String("backend", &backend, true, 16);
  f.String("locator", &r.locator, true, 4096);
  if (f.ok()) {
    auto b = meta::ParseVolumeBackend(backend);
    if (!b) f.Fail("backend", "must be file, iscsi or nbd");
    if (b) r.backend = *b;
  }
  if (!f.ok()) return SendError(res, f.error());
  if (auto agent = ctx.meta->GetAgent(r.agent_id); !agent) {
    if (agent.error().code() != ErrorCode::kNotFound) return SendError(res, agent.error());
    return SendFieldError(res, "agent_id", "agent_id: no agent " + r.agent_id);
  }
  auto started = ctx.restores->Start(r);
  if (!started) return SendError(res, started.error());
  json j = VolumeJson(started->first);
  j["restore"] = RestoreJson(started->second);
  res.set_header("Location", "/v1/restores/" + started->second.id);
  SendJson(res, 202, j);
}

json LiveRestoreJson(ApiContext& ctx, const manager::Restore& r) {
  json j = RestoreJson(r);
  if (r.state != meta::RestoreState::kRunning) return j;
  if (auto job = ctx.restores->LiveJob(r); job) j["progress"] = ProgressJson(*job);
  return j;
}

}  // namespace

void AddBackupRoutes(httplib::Server& s, ApiContext& ctx) {
  s.Get("/v1/backups",
        [&ctx](const httplib::Request& req, httplib::Response& res) { List(ctx, req, res); });
  s.Get(R"(/v1/backups/([^/]+))",
        [&ctx](const httplib::Request& req, httplib::Response& res) { Get(ctx, req, res); });
  s.Delete(R"(/v1/backups/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto st = ctx.targets->DeleteBackup(req.matches[1].str());
    if (!st) return SendError(res, st.error(), true);
    res.status = 204;
  });
  s.Post(R"(/v1/backups/([^/]+)/restore)",
         [&ctx](const httplib::Request& req, httplib::Response& res) { Restore(ctx, req, res); });
  s.Get("/v1/restores", [&ctx](const httplib::Request& req, httplib::Response& res) {
    meta::RestoreFilter filter;
    if (req.has_param("volume_id")) filter.volume_id = req.get_param_value("volume_id");
    if (req.has_param("state")) {
      auto state = meta::ParseRestoreState(req.get_param_value("state"));
      if (!state) {
        return SendFieldError(res, "state", "state: must be running, completed or failed");
      }
      filter.state = *state;
    }
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      int64_t limit = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || end != text.data() + text.size() || limit < 1) {
        return SendFieldError(res, "limit", "limit: must be a positive integer");
      }
      filter.limit = limit;
    }
    auto restores = ctx.restores->List(filter);
    if (!restores) return SendError(res, restores.error());
    json list = json::array();
    for (const auto& r : *restores) list.push_back(RestoreJson(r));
    SendJson(res, 200, {{"restores", list}});
  });
  s.Get(R"(/v1/restores/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto r = ctx.restores->Get(req.matches[1].str());
    if (!r) return SendError(res, r.error());
    SendJson(res, 200, LiveRestoreJson(ctx, *r));
  });
}

}  // namespace coffer::manager::api

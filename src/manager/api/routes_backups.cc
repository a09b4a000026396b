// /v1/backups (list, inspect with live progress, delete, restore) and
// /v1/restores (restores, as rows of the metadata store).

#include <charconv>

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

void List(ApiContext& ctx, Request& req, Response& res) {
  meta::BackupFilter filter;
  if (req.HasQuery("volume_id")) filter.volume_id = req.Query("volume_id");
  if (req.HasQuery("target_id")) filter.target_id = req.Query("target_id");
  if (req.HasQuery("status")) {
    auto s = meta::ParseBackupStatus(req.Query("status"));
    if (!s) return SendFieldError(res, "status", "status: must be running, completed or failed");
    filter.status = *s;
  }
  if (!ReadQueryInt(req, res, "limit", 0, kMaxListLimit, &filter.limit)) return;
  auto backups = ctx.backups->List(filter);
  if (!backups) return SendError(res, backups.error());
  json list = json::array();
  for (const auto& b : *backups) list.push_back(BackupJson(b));
  res.Json(200, {{"backups", list}});
}

void Get(ApiContext& ctx, Request& req, Response& res) {
  auto b = ctx.backups->Get(req.params.at(0));
  if (!b) return SendError(res, b.error());
  json j = BackupJson(*b);
  j["progress"] = nullptr;
  if (b->status == meta::BackupStatus::kRunning) {
    auto job = ctx.backups->Live(*b);
    if (job) {
      j["progress"] = ProgressJson(*job);
    } else {
      j["progress_error"] = job.error().message();
    }
  }
  res.Json(200, j);
}

void Restore(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto r = ReadRestoreRequest(*body, req.params.at(0));
  if (!r) return SendError(res, r.error());
  auto started = ctx.restores->Start(*r);
  if (!started) return SendError(res, started.error());
  json j = VolumeJson(started->first);
  j["restore"] = RestoreJson(started->second);
  res.SetHeader("Location", "/v1/restores/" + started->second.id);
  res.Json(202, j);
}

json LiveRestoreJson(ApiContext& ctx, const manager::Restore& r) {
  json j = RestoreJson(r);
  if (r.state != meta::RestoreState::kRunning) return j;
  if (auto job = ctx.restores->LiveJob(r); job) j["progress"] = ProgressJson(*job);
  return j;
}

}  // namespace

void AddBackupRoutes(service::HttpServer& s, ApiContext& ctx) {
  s.Get("/v1/backups", [&ctx](Request& req, Response& res) { List(ctx, req, res); });
  s.Get(R"(/v1/backups/([^/]+))", [&ctx](Request& req, Response& res) { Get(ctx, req, res); });
  s.Delete(R"(/v1/backups/([^/]+))", [&ctx](Request& req, Response& res) {
    auto st = ctx.backups->Delete(req.params.at(0));
    if (!st) return SendError(res, st.error(), true);
    res.status = 204;
  });
  s.Post(R"(/v1/backups/([^/]+)/restore)",
         [&ctx](Request& req, Response& res) { Restore(ctx, req, res); });
  s.Get("/v1/restores", [&ctx](Request& req, Response& res) {
    meta::RestoreFilter filter;
    if (req.HasQuery("volume_id")) filter.volume_id = req.Query("volume_id");
    if (req.HasQuery("state")) {
      auto state = meta::ParseRestoreState(req.Query("state"));
      if (!state) {
        return SendFieldError(res, "state", "state: must be running, completed or failed");
      }
      filter.state = *state;
    }
    if (!ReadQueryInt(req, res, "limit", 1, kMaxListLimit, &filter.limit)) return;
    auto restores = ctx.restores->List(filter);
    if (!restores) return SendError(res, restores.error());
    json list = json::array();
    for (const auto& r : *restores) list.push_back(RestoreJson(r));
    res.Json(200, {{"restores", list}});
  });
  s.Get(R"(/v1/restores/([^/]+))", [&ctx](Request& req, Response& res) {
    auto r = ctx.restores->Get(req.params.at(0));
    if (!r) return SendError(res, r.error());
    res.Json(200, LiveRestoreJson(ctx, *r));
  });
}

}  // namespace coffer::manager::api

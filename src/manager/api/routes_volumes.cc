// /v1/volumes: volumes (agent, backend, locator, size, hooks), their backup
// schedule (validated cron, retain count, target) and "back up now".

#include "base/text.h"
#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"
#include "manager/common/cron.h"

namespace coffer::manager::api {
namespace {

constexpr int kNextRuns = 5;

// The volume as GET shows it: the record, its next scheduled runs and the
// restore that made it, if one did.
json FullVolumeJson(ApiContext& ctx, const meta::Volume& v) {
  json j = VolumeJson(v);
  json runs = json::array();
  if (!v.backup_cron.empty() && v.backup_target_id) {
    if (auto cron = CronSchedule::Parse(v.backup_cron)) {
      for (int64_t t : cron->NextRuns(UnixNowMicros(), kNextRuns)) runs.push_back(Time(t));
    }
  }
  j["next_backup_runs"] = runs;
  auto restore = ctx.restores->ForVolume(v.id);
  j["restore"] = restore && *restore ? RestoreJson(**restore) : json();
  return j;
}

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto v = ReadNewVolume(*body);
  if (!v) return SendError(res, v.error());
  auto volume = ctx.volumes->Create(*v);
  if (!volume) return SendError(res, volume.error());
  res.SetHeader("Location", "/v1/volumes/" + volume->id);
  res.Json(201, FullVolumeJson(ctx, *volume));
}

void Update(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  meta::VolumeHooks hooks;  // fields a "hooks" object does not give stay
  if (body->contains("hooks")) {
    auto current = ctx.volumes->Get(req.params.at(0));
    if (!current) return SendError(res, current.error());
    hooks = current->hooks;
  }
  auto p = ReadVolumePatch(*body, hooks);
  if (!p) return SendError(res, p.error());
  auto volume = ctx.volumes->Update(req.params.at(0), *p);
  if (!volume) return SendError(res, volume.error());
  res.Json(200, FullVolumeJson(ctx, *volume));
}

void Schedule(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto current = ctx.volumes->Get(req.params.at(0));
  if (!current) return SendError(res, current.error());
  meta::VolumeSchedule current_schedule;
  current_schedule.backup_target_id = current->backup_target_id;
  current_schedule.backup_cron = current->backup_cron;
  current_schedule.backup_retain_count = current->backup_retain_count;
  auto s = ReadVolumeSchedule(*body, current_schedule);
  if (!s) return SendError(res, s.error());
  auto volume = ctx.volumes->SetSchedule(current->id, *s);
  if (!volume) return SendError(res, volume.error());
  res.Json(200, FullVolumeJson(ctx, *volume));
}

void BackupNow(ApiContext& ctx, Request& req, Response& res) {
  auto backup = ctx.backups->Start(req.params.at(0), "api");
  if (!backup) return SendError(res, backup.error());
  res.SetHeader("Location", "/v1/backups/" + backup->id);
  res.Json(202, BackupJson(*backup));
}

}  // namespace

void AddVolumeRoutes(service::HttpServer& s, ApiContext& ctx) {
  s.Post("/v1/volumes", [&ctx](Request& req, Response& res) { Create(ctx, req, res); });
  s.Get("/v1/volumes", [&ctx](Request&, Response& res) {
    auto volumes = ctx.volumes->List();
    if (!volumes) return SendError(res, volumes.error());
    json list = json::array();
    for (const auto& v : *volumes) list.push_back(FullVolumeJson(ctx, v));
    res.Json(200, {{"volumes", list}});
  });
  s.Get(R"(/v1/volumes/([^/]+))", [&ctx](Request& req, Response& res) {
    auto v = ctx.volumes->Get(req.params.at(0));
    if (!v) return SendError(res, v.error());
    res.Json(200, FullVolumeJson(ctx, *v));
  });
  s.Patch(R"(/v1/volumes/([^/]+))", [&ctx](Request& req, Response& res) { Update(ctx, req, res); });
  s.Delete(R"(/v1/volumes/([^/]+))", [&ctx](Request& req, Response& res) {
    auto st = ctx.volumes->Delete(req.params.at(0));
    if (!st) return SendError(res, st.error());
    res.status = 204;
  });
  s.Patch(R"(/v1/volumes/([^/]+)/backup_schedule)",
          [&ctx](Request& req, Response& res) { Schedule(ctx, req, res); });
  s.Post(R"(/v1/volumes/([^/]+)/backup)",
         [&ctx](Request& req, Response& res) { BackupNow(ctx, req, res); });
}

}  // namespace coffer::manager::api

// /v1/volumes: volumes (agent, backend, locator, size, hooks), their backup
// schedule (validated cron, retain count, target) and "back up now".

#include "base/text.h"
#include "manager/api/http_util.h"
#include "manager/api/records.h"
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

void ReadHooks(FieldReader& f, meta::VolumeHooks* hooks) {
  const json* h = f.Object("hooks", false);
  if (h == nullptr) return;
  FieldReader hf(*h, "hooks");
  hf.Only({"pre_backup_command", "post_backup_command", "timeout_seconds"});
  hf.String("pre_backup_command", &hooks->pre_backup_command, false, 4096);
  hf.String("post_backup_command", &hooks->post_backup_command, false, 4096);
  hf.Int("timeout_seconds", &hooks->timeout_seconds, false, 1, 86400);
  f.Take(hf);
}

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "agent_id", "backend", "locator", "size_bytes", "hooks"});
  meta::Volume v;
  std::string backend;
  f.String("name", &v.name, true, 128);
  f.String("agent_id", &v.agent_id, true, 128);
  f.String("backend", &backend, true, 16);
  f.String("locator", &v.locator, true, 4096);
  f.Int("size_bytes", &v.size_bytes, false, 0, INT64_MAX);
  ReadHooks(f, &v.hooks);
  if (f.ok()) {
    auto b = meta::ParseVolumeBackend(backend);
    if (!b) f.Fail("backend", "must be " + BackendList());
    if (b) v.backend = *b;
  }
  if (!f.ok()) return SendError(res, f.error());
  auto volume = ctx.volumes->Create(v);
  if (!volume) return SendError(res, volume.error());
  res.SetHeader("Location", "/v1/volumes/" + volume->id);
  res.Json(201, FullVolumeJson(ctx, *volume));
}

void Update(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "locator", "size_bytes", "hooks"});
  meta::VolumePatch p;
  std::string s;
  int64_t n = 0;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.Has("locator") && f.String("locator", &s, true, 4096)) p.locator = s;
  if (f.Int("size_bytes", &n, false, 0, INT64_MAX)) p.size_bytes = n;
  if (f.Has("hooks")) {
    auto current = ctx.volumes->Get(req.params.at(0));
    if (!current) return SendError(res, current.error());
    meta::VolumeHooks hooks = current->hooks;  // fields not given stay
    ReadHooks(f, &hooks);
    p.hooks = hooks;
  }
  if (!f.ok()) return SendError(res, f.error());
  auto volume = ctx.volumes->Update(req.params.at(0), p);
  if (!volume) return SendError(res, volume.error());
  res.Json(200, FullVolumeJson(ctx, *volume));
}

void Schedule(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto current = ctx.volumes->Get(req.params.at(0));
  if (!current) return SendError(res, current.error());
  FieldReader f(*body);
  f.Only({"backup_target_id", "backup_cron", "backup_retain_count"});
  meta::VolumeSchedule s;
  s.backup_target_id = current->backup_target_id;
  s.backup_cron = current->backup_cron;
  s.backup_retain_count = current->backup_retain_count;
  std::optional<std::string> target;
  bool clear_target = false;
  if (f.NullableString("backup_target_id", &target, &clear_target)) {
    s.backup_target_id = clear_target || (target && target->empty()) ? std::nullopt : target;
  }
  f.String("backup_cron", &s.backup_cron, false, 256);
  int64_t retain = s.backup_retain_count;
  if (f.Int("backup_retain_count", &retain, false, 0, 100000)) s.backup_retain_count = int(retain);
  if (!f.ok()) return SendError(res, f.error());
  auto volume = ctx.volumes->SetSchedule(current->id, s);
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

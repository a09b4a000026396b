// /v1/backup_targets: CRUD, ad-hoc GC and GC history (DESIGN §4).

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

void WipeSecrets(json& body) { WipeFields(body, {"s3_secret_access_key", "passphrase"}); }

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "address", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key",
          "passphrase", "gc_hour", "gc_grace_seconds", "adopt"});
  CreateTargetRequest r;
  std::string secret, passphrase;
  int64_t gc_hour = r.gc_hour, grace = r.gc_grace_seconds;
  f.String("name", &r.name, true, 128);
  f.String("address", &r.address, true, 2048);
  f.String("s3_endpoint", &r.s3_endpoint, false);
  f.String("s3_region", &r.s3_region, false, 64);
  f.String("s3_access_key_id", &r.s3_access_key_id, false, 256);
  f.String("s3_secret_access_key", &secret, false, 256);
  f.String("passphrase", &passphrase, true, 1024);
  f.Int("gc_hour", &gc_hour, false, 0, 23);
  f.Int("gc_grace_seconds", &grace, false, 0, 365LL * 86400);
  f.Bool("adopt", &r.adopt);
  WipeSecrets(*body);
  r.s3_secret_access_key = meta::SecretString(std::move(secret));
  r.passphrase = meta::SecretString(std::move(passphrase));
  WipeString(secret);
  WipeString(passphrase);
  if (!f.ok()) return SendError(res, f.error());
  r.gc_hour = int(gc_hour);
  r.gc_grace_seconds = grace;
  auto target = ctx.targets->CreateTarget(r);
  if (!target) return SendError(res, target.error(), true);
  res.SetHeader("Location", "/v1/backup_targets/" + target->id);
  res.Json(201, TargetJson(*target));
}

void Update(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key", "gc_hour",
          "gc_grace_seconds"});
  UpdateTargetRequest p;
  std::string s;
  int64_t n = 0;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.String("s3_endpoint", &s, false)) p.s3_endpoint = s;
  if (f.String("s3_region", &s, false, 64)) p.s3_region = s;
  if (f.String("s3_access_key_id", &s, false, 256)) p.s3_access_key_id = s;
  if (f.String("s3_secret_access_key", &s, false, 256)) {
    p.s3_secret_access_key = meta::SecretString(s);
  }
  WipeString(s);
  if (f.Int("gc_hour", &n, false, 0, 23)) p.gc_hour = int(n);
  if (f.Int("gc_grace_seconds", &n, false, 0, 365LL * 86400)) p.gc_grace_seconds = n;
  WipeSecrets(*body);
  if (!f.ok()) return SendError(res, f.error());
  auto target = ctx.targets->UpdateTarget(req.params.at(0), p);
  if (!target) return SendError(res, target.error(), true);
  res.Json(200, TargetJson(*target));
}

}  // namespace

void AddTargetRoutes(service::HttpServer& s, ApiContext& ctx) {
  s.Post("/v1/backup_targets", [&ctx](Request& req, Response& res) { Create(ctx, req, res); });
  s.Get("/v1/backup_targets", [&ctx](Request&, Response& res) {
    auto targets = ctx.targets->List();
    if (!targets) return SendError(res, targets.error());
    json list = json::array();
    for (const auto& t : *targets) list.push_back(TargetJson(t));
    res.Json(200, {{"backup_targets", list}});
  });
  s.Get(R"(/v1/backup_targets/([^/]+))", [&ctx](Request& req, Response& res) {
    auto t = ctx.targets->Get(req.params.at(0));
    if (!t) return SendError(res, t.error());
    res.Json(200, TargetJson(*t));
  });
  s.Patch(R"(/v1/backup_targets/([^/]+))",
          [&ctx](Request& req, Response& res) { Update(ctx, req, res); });
  s.Delete(R"(/v1/backup_targets/([^/]+))", [&ctx](Request& req, Response& res) {
    const std::string force = req.Query("force");
    if (!force.empty() && force != "true" && force != "false") {
      return SendFieldError(res, "force", "force: must be true or false");
    }
    auto st = ctx.targets->Delete(req.params.at(0), force == "true");
    if (!st) {
      ApiError e = ToApiError(st.error());
      if (e.status == 409 && force != "true") {
        e.message +=
            " (DELETE …?force=true removes its backup rows too; the "
            "objects in the target stay)";
      }
      return SendError(res, e);
    }
    res.status = 204;
  });
  s.Post(R"(/v1/backup_targets/([^/]+)/gc)", [&ctx](Request& req, Response& res) {
    const std::string id = req.params.at(0);
    auto run_id = ctx.gc->RunNow(id);
    if (!run_id) return SendError(res, run_id.error());
    auto run = ctx.targets->GcRun(*run_id);
    if (!run) return SendError(res, run.error());
    res.SetHeader("Location", "/v1/backup_targets/" + id + "/gc_runs");
    res.Json(202, GcRunJson(*run));
  });
  s.Get(R"(/v1/backup_targets/([^/]+)/gc_runs)", [&ctx](Request& req, Response& res) {
    const std::string id = req.params.at(0);
    int64_t limit = 0;
    if (!ReadQueryInt(req, res, "limit", 0, kMaxListLimit, &limit)) return;
    auto runs = ctx.targets->GcRuns(id, limit);
    if (!runs) return SendError(res, runs.error());
    json list = json::array();
    for (const auto& r : *runs) list.push_back(GcRunJson(r));
    res.Json(200, {{"gc_runs", list}});
  });
}

}  // namespace coffer::manager::api

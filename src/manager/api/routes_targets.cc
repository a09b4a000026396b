// /v1/backup_targets: CRUD, ad-hoc GC and GC history (DESIGN §4).

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto r = ReadCreateTarget(*body);
  if (!r) return SendError(res, r.error());
  auto target = ctx.targets->CreateTarget(*r);
  if (!target) return SendError(res, target.error(), true);
  res.SetHeader("Location", "/v1/backup_targets/" + target->id);
  res.Json(201, TargetJson(*target));
}

void Update(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto p = ReadUpdateTarget(*body);
  if (!p) return SendError(res, p.error());
  auto target = ctx.targets->UpdateTarget(req.params.at(0), *p);
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

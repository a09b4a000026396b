// GET /healthz (no token), GET /metrics, GET /v1/openapi.json.

#include "manager/api/http_util.h"
#include "manager/api/server.h"

namespace coffer::manager::api {

void AddSystemRoutes(service::HttpServer& s, ApiContext& ctx) {
  // Liveness only: the process answers. It says nothing a caller without a
  // token should not know.
  s.Get("/healthz", [](Request&, Response& res) { res.Json(200, {{"status", "ok"}}); });
  s.Get("/metrics", [&ctx](Request&, Response& res) {
    const bool leader = ctx.is_leader ? ctx.is_leader() : true;
    auto text = ctx.metrics->Render(leader);
    if (!text) return SendError(res, text.error());
    res.Text(200, *text, "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/v1/openapi.json",
        [](Request&, Response& res) { res.Text(200, OpenApiDocument(), "application/json"); });
}

}  // namespace coffer::manager::api

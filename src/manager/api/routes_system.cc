// GET /healthz and GET /readyz (no token), GET /metrics, GET /v1/openapi.json.

#include "manager/api/http_util.h"
#include "manager/api/server.h"

namespace coffer::manager::api {

void AddSystemRoutes(service::HttpServer& s, ApiContext& ctx) {
  // Liveness only: the process answers. It says nothing a caller without a
  // token should not know.
  s.Get("/healthz", [](Request&, Response& res) { res.Json(200, {{"status", "ok"}}); });
  // Readiness: the process answers and so does its database. A manager
  // whose database is gone stays up (liveness) and answers 503 here and on
  // every route that needs the database, until it returns. The reason is
  // for the token holder's log, not this open route.
  s.Get("/readyz", [&ctx](Request&, Response& res) {
    if (auto st = ctx.ready ? ctx.ready() : Status(); !st) {
      return service::SendError(
          res, ApiError{503, "unavailable", "the metadata database does not answer", "", ""});
    }
    res.Json(200, {{"status", "ready"}});
  });
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

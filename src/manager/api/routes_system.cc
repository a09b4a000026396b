// GET /healthz (no token), GET /metrics, GET /v1/openapi.json.
#include <httplib.h>

#include "manager/api/http_util.h"
#include "manager/api/server.h"

namespace coffer::manager::api {

void AddSystemRoutes(httplib::Server& s, ApiContext& ctx) {
  // Liveness only: the process answers. It says nothing a caller without a
  // token should not know.
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, {{"status", "ok"}});
  });
  s.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    const bool leader = ctx.is_leader ? ctx.is_leader() : true;
    auto text = ctx.metrics->Render(*ctx.meta, leader);
    if (!text) return SendError(res, text.error());
    res.status = 200;
    res.set_content(*text, "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(OpenApiDocument(), "application/json");
  });
}

}  // namespace coffer::manager::api

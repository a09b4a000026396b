// /v1/agents: the agents the manager may call (URL and token; the token is
// stored wrapped and never returned). Registering an agent, or changing its
// URL or token, asks it first (AgentService::Check): one that cannot be
// reached, refuses the token or speaks another protocol version is a 422
// naming the field.

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

// The fields were checked before the service was called: an error naming
// the URL or the token is the agent's answer to the check (unreachable,
// refused, another protocol), 422; anything else maps as usual.
ApiError ToAgentError(const Error& e) {
  ApiError a = ToApiError(e);
  if (e.field() == "url" || e.field() == "token") a.status = 422;
  return a;
}

// The manager's rules for an agent URL (a 400, where the agent's answer is
// a 422).
UrlCheck CheckUrl(ApiContext& ctx) {
  return [&ctx](const std::string& url) { return ctx.agents->CheckUrl(url); };
}

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto a = ReadNewAgent(*body, CheckUrl(ctx));
  if (!a) return SendError(res, a.error());
  auto agent = ctx.agents->Register(*a);
  if (!agent) return SendError(res, ToAgentError(agent.error()));
  res.SetHeader("Location", "/v1/agents/" + agent->agent.id);
  json j = AgentJson(agent->agent);
  j["protocol_version"] = agent->health.protocol_version;
  j["agent_version"] = agent->health.version;
  res.Json(201, j);
}

void Update(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  auto p = ReadAgentPatch(*body, CheckUrl(ctx));
  if (!p) return SendError(res, p.error());
  auto agent = ctx.agents->Update(req.params.at(0), *p);
  if (!agent) return SendError(res, ToAgentError(agent.error()));
  res.Json(200, AgentJson(*agent));
}

}  // namespace

void AddAgentRoutes(service::HttpServer& s, ApiContext& ctx) {
  s.Post("/v1/agents", [&ctx](Request& req, Response& res) { Create(ctx, req, res); });
  s.Get("/v1/agents", [&ctx](Request&, Response& res) {
    auto agents = ctx.agents->List();
    if (!agents) return SendError(res, agents.error());
    json list = json::array();
    for (const auto& a : *agents) list.push_back(AgentJson(a));
    res.Json(200, {{"agents", list}});
  });
  s.Get(R"(/v1/agents/([^/]+))", [&ctx](Request& req, Response& res) {
    auto a = ctx.agents->Get(req.params.at(0));
    if (!a) return SendError(res, a.error());
    res.Json(200, AgentJson(*a));
  });
  s.Patch(R"(/v1/agents/([^/]+))", [&ctx](Request& req, Response& res) { Update(ctx, req, res); });
  s.Delete(R"(/v1/agents/([^/]+))", [&ctx](Request& req, Response& res) {
    auto st = ctx.agents->Delete(req.params.at(0));
    if (!st) return SendError(res, st.error());
    res.status = 204;
  });
}

}  // namespace coffer::manager::api

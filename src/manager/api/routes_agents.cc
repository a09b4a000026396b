// /v1/agents: the agents the manager may call (URL and token; the token is
// stored wrapped and never returned). Registering an agent, or changing its
// URL or token, asks it first (AgentService::Check): one that cannot be
// reached, refuses the token or speaks another protocol version is a 422
// naming the field.

#include "manager/api/http_util.h"
#include "manager/api/records.h"
#include "manager/api/server.h"

namespace coffer::manager::api {
namespace {

// The fields' own checks, before the agent is asked (a 400, where the
// agent's answer is a 422).
void CheckFields(ApiContext& ctx, FieldReader& f, const std::optional<std::string>& url,
                 const std::optional<std::string>& token) {
  if (url) {
    if (auto st = ctx.agents->CheckUrl(*url); !st) {
      std::string m = st.error().message();
      if (m.starts_with("url: ")) m.erase(0, 5);
      f.Fail("url", m);
    }
  }
  if (!token) return;
  if (token->size() < 16) f.Fail("token", "must be at least 16 characters");
  // The token travels as a header line: a CR or LF in it would add lines
  // of the manager's choosing to every call (header injection).
  for (unsigned char c : *token) {
    if (c < 0x21 || c > 0x7e) {
      f.Fail("token", "must be printable ASCII without spaces or control characters");
      break;
    }
  }
}

// The fields were checked before the service was called: an error naming
// the URL or the token is the agent's answer to the check (unreachable,
// refused, another protocol), 422; anything else maps as usual.
ApiError ToAgentError(const Error& e) {
  ApiError a = ToApiError(e);
  if (e.field() == "url" || e.field() == "token") a.status = 422;
  return a;
}

std::string Trim(std::string url) {
  if (url.ends_with('/')) url.pop_back();
  return url;
}

void Create(ApiContext& ctx, Request& req, Response& res) {
  auto body = service::ReadJsonBody(req, res);
  if (!body) return;
  FieldReader f(*body);
  f.Only({"name", "url", "token"});
  meta::NewAgent a;
  std::string token;
  f.String("name", &a.name, true, 128);
  f.String("url", &a.url, true, 2048);
  f.String("token", &token, true, 4096);
  WipeFields(*body, {"token"});
  if (f.ok()) CheckFields(ctx, f, a.url, token);
  a.url = Trim(a.url);
  a.token = meta::SecretString(std::move(token));
  WipeString(token);
  if (!f.ok()) return SendError(res, f.error());
  auto agent = ctx.agents->Register(a);
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
  FieldReader f(*body);
  f.Only({"name", "url", "token"});
  meta::AgentPatch p;
  std::string s;
  if (f.Has("name") && f.String("name", &s, true, 128)) p.name = s;
  if (f.Has("url") && f.String("url", &s, true, 2048)) p.url = Trim(s);
  std::optional<std::string> token;
  if (f.Has("token") && f.String("token", &s, true, 4096)) token = s;
  WipeString(s);
  WipeFields(*body, {"token"});
  if (f.ok())
    CheckFields(ctx, f, p.url ? std::optional<std::string>(*p.url + "/") : std::nullopt, token);
  if (token) {
    p.token = meta::SecretString(std::move(*token));
    WipeString(*token);
  }
  if (!f.ok()) return SendError(res, f.error());
  auto agent = ctx.agents->Update(req.params.at(0), p);
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

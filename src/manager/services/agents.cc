#include "manager/services/agents.h"

#include "service/peer_url.h"

namespace coffer::manager {

Result<agent_api::Health> AgentService::Check(const std::string& url,
                                              const meta::SecretString& token) {
  COFFER_RETURN_IF_ERROR(CheckUrl(url));
  auto health = client_.Health(AgentEndpoint{url, token});
  if (health) return health;
  const Error& e = health.error();
  const std::string field = e.code() == ErrorCode::kAuthFailed ? "token" : "url";
  std::string why = e.message();
  if (e.code() == ErrorCode::kUnavailable) why += " (register the agent once it runs)";
  return std::unexpected(Error(e.code(), field + ": " + why).WithField(field));  // its own field
}

Status AgentService::CheckUrl(const std::string& url) const {
  auto peer = service::ParsePeerUrl(url);
  Status allowed = peer ? service::CheckPeerHost(peer->host, allow_link_local_)
                        : Status(std::unexpected(peer.error()));
  if (!allowed) return FieldInvalid("url", allowed.error().message());
  return {};
}

Result<RegisteredAgent> AgentService::Register(const meta::NewAgent& a) {
  COFFER_ASSIGN_OR_RETURN(agent_api::Health health, Check(a.url, a.token));
  COFFER_ASSIGN_OR_RETURN(meta::Agent agent, meta_.CreateAgent(a));
  return RegisteredAgent{std::move(agent), std::move(health)};
}

Result<meta::Agent> AgentService::Update(const std::string& id, const meta::AgentPatch& p) {
  if (p.url || p.token) {
    COFFER_ASSIGN_OR_RETURN(meta::Agent current, meta_.GetAgent(id));
    meta::SecretString token;
    if (p.token) {
      token = *p.token;
    } else {
      COFFER_ASSIGN_OR_RETURN(token, meta_.GetAgentToken(id));
    }
    COFFER_RETURN_IF_ERROR(Check(p.url ? *p.url : current.url, token));
  }
  return meta_.UpdateAgent(id, p);
}

}  // namespace coffer::manager

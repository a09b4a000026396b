#include "manager/services/agents.h"

namespace coffer::manager {

Result<agent_api::Health> AgentService::Check(const std::string& url,
                                              const meta::SecretString& token) {
  auto health = client_.Health(AgentEndpoint{url, token});
  if (health) return health;
  const Error& e = health.error();
  const std::string field = e.code() == ErrorCode::kAuthFailed ? "token" : "url";
  std::string why = e.message();
  if (e.code() == ErrorCode::kUnavailable) why += " (register the agent once it runs)";
  return std::unexpected(Error(e.code(), field + ": " + why).WithField(field));  // its own field
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

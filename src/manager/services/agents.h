// AgentService: the agents the manager may call (DESIGN §4). An agent is
// registered, or its URL or token changed, only once it has answered GET
// /healthz with the manager's token and the manager's protocol version
// (agent_api::kProtocolVersion), so that a typo or an agent of another
// version is refused when it is entered, not at the first backup.
//
// Errors of Register and Update: kInvalidArgument for a field (a URL that is
// not http(s)://host[:port], or whose host is link-local or not one host's
// address: service/peer_url.h), and for the agent's answer an Error whose field detail is "url"
// (unreachable, another protocol) or "token" (refused); kAlreadyExists for a taken name.
//
// Thread safety: thread safe (the store and the client are).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent_api/protocol.h"
#include "manager/jobs/agent_client.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// An agent as registered, with what it said of itself when it was checked.
struct RegisteredAgent {
  meta::Agent agent;
  agent_api::Health health;
};

class AgentService {
 public:
  // `allow_link_local`: whether an agent may live at a link-local address
  // (the manager's allow_link_local_peers).
  AgentService(meta::MetaStore& meta, AgentClient& client, bool allow_link_local = false)
      : meta_(meta), client_(client), allow_link_local_(allow_link_local) {}

  // Whether the manager may call `url` at all (before asking the agent):
  // http(s)://host[:port], a host that is not link-local (unless allowed)
  // and is one host's address. kInvalidArgument naming "url".
  Status CheckUrl(const std::string& url) const;
  // Asks the agent at `url` with `token` what it speaks (after CheckUrl).
  Result<agent_api::Health> Check(const std::string& url, const meta::SecretString& token);

  Result<RegisteredAgent> Register(const meta::NewAgent& a);
  // A new URL or token is checked first (with the other one as stored).
  Result<meta::Agent> Update(const std::string& id, const meta::AgentPatch& p);
  Result<meta::Agent> Get(const std::string& id) { return meta_.GetAgent(id); }
  Result<std::vector<meta::Agent>> List() { return meta_.ListAgents(); }
  // kConflict while a volume names the agent.
  Status Delete(const std::string& id) { return meta_.DeleteAgent(id); }

 private:
  meta::MetaStore& meta_;
  AgentClient& client_;
  const bool allow_link_local_;
};

}  // namespace coffer::manager

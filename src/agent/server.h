// AgentServer: the agent's HTTP API (docs/API.md, "Agent API"), the agent
// protocol (agent_api/protocol.h) on the service shell (service/), over
// TLS when a certificate is configured.
//
// Every request, GET /healthz included, must carry `Authorization: Bearer
// <token>`, compared in constant time (SecretsEqual) before any body is
// read; GET /healthz says the agent's protocol version and build, which
// only a caller with the token needs to know. Errors
// are the service error body, naming the field at fault:
//   {"error": {"code": "invalid-argument", "message": "…", "field": "volume.locator"}}
//
// Thread safety: Serve blocks on the calling thread and answers on the
// HTTP library's worker threads; Stop may be called from any thread.
#pragma once

#include <memory>

#include "agent/config.h"
#include "agent/job.h"
#include "agent/known_sets.h"
#include "base/error.h"
#include "service/http_server.h"
#include "volume/backends.h"

namespace coffer::agent {

class AgentServer {
 public:
  explicit AgentServer(AgentConfig config);
  ~AgentServer();

  // The HTTP server: Bind, port, Serve (until Stop), Stop.
  service::HttpServer& http() { return *http_; }

 private:
  void Routes();

  const AgentConfig config_;
  const BackendContext backends_;
  KnownChunkSets known_sets_;  // shared by the backup jobs, so it outlives them
  JobRegistry jobs_;
  std::unique_ptr<service::HttpServer> http_;
};

}  // namespace coffer::agent

// AgentServer: the agent's HTTP API (docs/API.md, "Agent API") on
// cpp-httplib, over TLS when a certificate is configured.
//
// Every request must carry `Authorization: Bearer <token>`; the token is
// compared in constant time (SecretsEqual) before any body is read, and a
// missing or wrong one is a 401. Bodies above max_body_bytes are refused
// with 413 before they are read. Errors are JSON:
//   {"error": {"code": "invalid-argument", "message": "…", "field": "volume.locator"}}
// Requests are logged to stderr as "METHOD PATH STATUS" — never headers or
// bodies, which hold the token and key material.
//
// Thread safety: Serve blocks on the calling thread and answers on
// httplib's worker threads; Stop may be called from any thread.
#pragma once

#include <memory>

#include "agent/config.h"
#include "agent/job.h"
#include "agent/known_sets.h"
#include "base/error.h"

namespace httplib {
class Server;
}

namespace coffer::agent {

class AgentServer {
 public:
  explicit AgentServer(AgentConfig config);
  ~AgentServer();

  // Binds the listening socket: kInvalidArgument for unusable TLS files,
  // kUnavailable when the address cannot be bound.
  Status Bind();
  int port() const { return port_; }
  // Answers requests until Stop().
  Status Serve();
  void Stop();

 private:
  void Routes();

  const AgentConfig config_;
  KnownChunkSets known_sets_;  // shared by the backup jobs, so it outlives them
  JobRegistry jobs_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
};

}  // namespace coffer::agent

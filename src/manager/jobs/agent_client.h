// AgentClient: the manager's side of the agent protocol (agent_api/,
// docs/API.md "Agent API"): ask an agent what it speaks, start a backup or
// restore job, ask for a job, cancel one, answer its commit gate. One HTTP
// connection per call (service::HttpClient), `Authorization: Bearer <agent
// token>`, http or https as the agent's URL says.
//
// Errors, so that callers can tell "gone" from "unreachable":
//   kNotFound          the agent does not know the job (404): it restarted,
//                      or forgot the job
//   kUnavailable       no answer: connection refused or reset, timeout, 5xx
//   kAuthFailed        the agent refused the token (401)
//   kInvalidArgument   the agent refused the request (400); the error's
//                      field detail is the one the agent named
//   kConflict          409 (e.g. the volume is being backed up already)
//   kResourceExhausted 429 (the agent runs as many jobs as it may)
//   kInternal          anything else, or an answer that is not a job (the
//                      field at fault named)
// Messages name the agent's URL, never its token. Request bodies carry key
// material: they are wiped after sending (best effort: the HTTP library
// copies them).
//
// Thread safety: stateless apart from its options; any thread may call.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent_api/protocol.h"
#include "base/error.h"
#include "meta/types.h"
#include "service/http_client.h"

namespace coffer::manager {

struct AgentEndpoint {
  std::string url;  // "http://host:port" or "https://host:port"
  meta::SecretString token;
};

// A job as the agent reports it (GET /v1/storage/jobs/{id}).
using AgentJob = agent_api::JobReport;

// Why a job ended without its result: "agent job ID failed: CODE: MESSAGE".
std::string JobFailure(const AgentJob& job);

using AgentClientOptions = service::HttpClientOptions;

class AgentClient {
 public:
  explicit AgentClient(AgentClientOptions options = {}) : options_(std::move(options)) {}

  // GET /healthz: what the agent speaks. An agent whose protocol version is
  // not ours is kInvalidArgument, naming both versions.
  Result<agent_api::Health> Health(const AgentEndpoint& agent);
  // POST /v1/storage/backup or /restore; the request's text is wiped after
  // it was sent.
  Result<AgentJob> StartBackup(const AgentEndpoint& agent, const agent_api::BackupRequest& r);
  Result<AgentJob> StartRestore(const AgentEndpoint& agent, const agent_api::RestoreRequest& r);
  Result<AgentJob> GetJob(const AgentEndpoint& agent, std::string_view job_id);
  // POST /v1/storage/jobs/{id}/cancel; a job that already ended is not an
  // error.
  Status CancelJob(const AgentEndpoint& agent, std::string_view job_id);
  // The commit gate (DESIGN §5): POST /v1/storage/jobs/{id}/commit with the
  // attempt the manager holds (kConflict: the agent runs another attempt
  // and abandons the job), or /abandon with the reason the attempt is stale.
  Status CommitJob(const AgentEndpoint& agent, std::string_view job_id, int64_t attempt);
  Status AbandonJob(const AgentEndpoint& agent, std::string_view job_id, const std::string& reason);

 private:
  // METHOD path with `body` (wiped afterwards); an answer with another
  // status than `ok` is the agent's error.
  Result<nlohmann::json> Call(const AgentEndpoint& agent, const char* method,
                              const std::string& path, std::string* body,
                              std::initializer_list<int> ok);
  Result<AgentJob> StartJob(const AgentEndpoint& agent, const std::string& path,
                            nlohmann::json request);

  AgentClientOptions options_;
};

}  // namespace coffer::manager

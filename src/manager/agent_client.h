// AgentClient: the manager's side of the agent API (docs/API.md, "Agent
// API"): start a backup or restore job, ask for a job, cancel one. One HTTP
// connection per call (cpp-httplib), `Authorization: Bearer <agent token>`,
// http or https as the agent's URL says.
//
// Errors, so that callers can tell "gone" from "unreachable":
//   kNotFound          the agent does not know the job (404): it restarted,
//                      or forgot the job
//   kUnavailable       no answer: connection refused or reset, timeout, 5xx
//   kAuthFailed        the agent refused the token (401)
//   kInvalidArgument   the agent refused the request (400); the message
//                      starts with "<field>: " when the agent named one
//   kConflict          409 (e.g. the volume is being backed up already)
//   kResourceExhausted 429 (the agent runs as many jobs as it may)
//   kInternal          anything else, or an answer that is not a job
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

#include "base/error.h"
#include "meta/types.h"

namespace coffer::manager {

struct AgentEndpoint {
  std::string url;  // "http://host:port" or "https://host:port"
  meta::SecretString token;
};

// A job as the agent reports it (GET /v1/storage/jobs/{id}).
struct AgentJob {
  std::string id;
  std::string kind;   // "backup" | "restore"
  std::string state;  // "running" | "completed" | "failed" | "cancelled"
  int64_t attempt = 0;
  uint64_t total_bytes = 0, done_bytes = 0, new_bytes = 0, bytes_per_second = 0;
  double elapsed_seconds = 0;
  nlohmann::json result;   // the job's result once completed (null before)
  std::string error_code;  // set when failed or cancelled
  std::string error_message;
  nlohmann::json log;  // lines, when asked for

  bool awaiting_commit = false;  // a backup whose chunks are stored, at the commit gate

  bool running() const { return state == "running"; }
};

struct AgentClientOptions {
  std::chrono::milliseconds timeout{10000};  // connect, read and write, each
  std::string ca_file;                       // PEM bundle for https agents; empty: system
};

class AgentClient {
 public:
  explicit AgentClient(AgentClientOptions options = {}) : options_(std::move(options)) {}

  // POST /v1/storage/backup or /restore; the body is wiped afterwards.
  Result<AgentJob> StartBackup(const AgentEndpoint& agent, std::string body);
  Result<AgentJob> StartRestore(const AgentEndpoint& agent, std::string body);
  Result<AgentJob> GetJob(const AgentEndpoint& agent, std::string_view job_id);
  // POST /v1/storage/jobs/{id}/cancel; a job that already ended is not an
  // error.
  Status CancelJob(const AgentEndpoint& agent, std::string_view job_id);
  // The commit gate (DESIGN §5): POST /v1/storage/jobs/{id}/commit with the
  // attempt the manager holds (kConflict: the agent runs another attempt
  // and abandons the job), or /abandon with the reason the attempt is stale.
  Status CommitJob(const AgentEndpoint& agent, std::string_view job_id, int64_t attempt);
  Status AbandonJob(const AgentEndpoint& agent, std::string_view job_id, const std::string& reason);
  // GET /healthz without caring for the answer's body: whether it answers.
  Status Ping(const AgentEndpoint& agent);

 private:
  struct Reply {
    int status = 0;
    std::string body;
  };
  Result<Reply> Call(const AgentEndpoint& agent, const char* method, const std::string& path,
                     std::string* body);

  AgentClientOptions options_;
};

// Parses the agent's job JSON. kInternal if it is not one.
Result<AgentJob> ParseAgentJob(std::string_view body);

}  // namespace coffer::manager

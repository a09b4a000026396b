// The agent's settings (DESIGN §10): from flags and, with --config, a TOML
// file with the same keys; a flag given on the command line wins.
//
//   listen = "127.0.0.1:8081"
//   token_file = "/etc/coffer/agent.token"
//   volume_roots = ["/var/lib/images", "/srv/vm"]
//   tls_cert = "/etc/coffer/agent.crt"     # both or neither
//   tls_key = "/etc/coffer/agent.key"
//   max_body_bytes = 1048576
//   max_running_jobs = 8
//   hook_timeout_seconds = 300             # default for hooks that name none
//   lock_wait_seconds = 900                # a job waits this long for a GC of its target
//   commit_wait_seconds = 600              # and this long for the manager's commit approval
//   iscsi_initiator = "iqn.2026-11.dev.coffer:agent"
//
// Thread safety: a value, read-only once the agent runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "service/http.h"

namespace coffer::agent {

struct AgentConfig {
  service::ListenAddress listen{"127.0.0.1", 8081};
  std::string token_file;
  std::string token;                      // read from token_file by Finish()
  std::vector<std::string> volume_roots;  // canonical (realpath) after Finish()
  std::string tls_cert, tls_key;
  uint64_t max_body_bytes = 1 << 20;
  int max_running_jobs = 8;
  int hook_timeout_seconds = 300;
  // How long a job waits for the target's exclusive lock (a GC) to go
  // before it fails, and how long a backup waits for the manager to approve
  // its commit before it abandons itself (DESIGN §5).
  int lock_wait_seconds = 900;
  int commit_wait_seconds = 600;
  std::string iscsi_initiator = "iqn.2026-11.dev.coffer:agent";
};

// Reads a TOML file into `config`; only keys present change it.
// kInvalidArgument naming the key (or the parse error's line) on a bad file.
Status LoadConfigFile(const std::string& path, AgentConfig* config);

// Checks the merged settings and loads what they point to: reads the token
// (trailing newline dropped; refuses an empty one), resolves each volume
// root (must be an existing directory), requires both TLS files or neither.
Status FinishConfig(AgentConfig* config);

}  // namespace coffer::agent

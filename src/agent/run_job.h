// The work of the agent's jobs: a backup of a volume into a target and a
// restore of a backup into a new volume, each reporting progress, log lines
// and its outcome on its Job.
//
// Thread safety: each call runs on its job's own thread; KnownChunkSets is
// shared and thread safe.
#pragma once

#include "agent/config.h"
#include "agent/job.h"
#include "agent/known_sets.h"
#include "agent_api/protocol.h"
#include "volume/backends.h"

namespace coffer::agent {

// `source` and `destination` are what the backend's validate_* returned.
void RunBackupJob(Job& job, agent_api::BackupRequest& request, const std::string& source,
                  const AgentConfig& config, const BackendContext& backends,
                  KnownChunkSets& known_sets);

void RunRestoreJob(Job& job, agent_api::RestoreRequest& request, const std::string& destination,
                   const AgentConfig& config, const BackendContext& backends);

}  // namespace coffer::agent

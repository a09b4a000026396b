// The agent protocol's job requests (agent_api/protocol.h), built from the
// manager's records. They carry the target's key and S3 secret: they go to
// AgentClient, which sends and wipes their text, and are never logged.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "agent_api/protocol.h"
#include "meta/types.h"

namespace coffer::manager {

// A backup of `volume` into `target`, storing the manifest under
// `backup_id`, fenced by `attempt` and held at the commit gate.
agent_api::BackupRequest BackupRequestFor(const meta::Volume& volume, agent_api::TargetSpec target,
                                          const std::string& backup_id, int64_t attempt);

// A restore of `backup_id` from `target` into the new volume `destination`.
agent_api::RestoreRequest RestoreRequestFor(const meta::Volume& destination,
                                            agent_api::TargetSpec target,
                                            const std::string& backup_id);

}  // namespace coffer::manager

// The JSON bodies of the agent's job requests (docs/API.md, "Agent API"),
// built from the manager's records. They carry the target's key and S3
// secret: callers hand the string to AgentClient (which wipes it) and never
// log it.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "manager/targets.h"
#include "meta/types.h"

namespace coffer::manager {

// POST /v1/storage/backup for `volume` into `target`, storing the manifest
// under `backup_id`, fenced by `attempt`.
std::string BackupJobBody(const meta::Volume& volume, const JobTarget& target,
                          const std::string& backup_id, int64_t attempt);

// POST /v1/storage/restore of `backup_id` from `target` into the new volume
// `destination`.
std::string RestoreJobBody(const meta::Volume& destination, const JobTarget& target,
                           const std::string& backup_id);

}  // namespace coffer::manager

#include "manager/jobs/job_requests.h"

#include "base/uuid.h"

namespace coffer::manager {

agent_api::BackupRequest BackupRequestFor(const meta::Volume& volume, agent_api::TargetSpec target,
                                          const std::string& backup_id, int64_t attempt) {
  agent_api::BackupRequest r;
  r.attempt = uint64_t(attempt);
  r.await_commit = true;
  if (auto id = Uuid::Parse(backup_id)) r.backup_id = *id;
  r.target = std::move(target);
  r.volume.id = volume.id;
  r.volume.name = volume.name;
  r.volume.backend = volume.backend;
  r.volume.locator = volume.locator;
  const meta::VolumeHooks& h = volume.hooks;
  r.volume.hooks = {h.pre_backup_command, h.post_backup_command,
                    std::chrono::seconds(h.timeout_seconds)};
  return r;
}

agent_api::RestoreRequest RestoreRequestFor(const meta::Volume& destination,
                                            agent_api::TargetSpec target,
                                            const std::string& backup_id) {
  agent_api::RestoreRequest r;
  r.attempt = 1;
  r.target = std::move(target);
  r.backup_id = backup_id;
  r.destination.id = destination.id;
  r.destination.name = destination.name;
  r.destination.backend = destination.backend;
  r.destination.locator = destination.locator;
  return r;
}

}  // namespace coffer::manager

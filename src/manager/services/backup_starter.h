// BackupStarter: the seam between the scheduler (which decides *when* a
// volume is backed up) and the orchestration that does it (creates the
// backup row, takes the target's backup lease, sends the agent its job).
// The manager's orchestration implements it; the scheduler's tests count
// calls on a fake.
//
// Thread safety: implementations must allow calls from any thread (the
// scheduler's own thread and REST request threads at once).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace coffer::manager {

class BackupStarter {
 public:
  virtual ~BackupStarter() = default;

  // Starts a backup of the volume now and returns the new backup's id once
  // its row exists (status running); the job itself goes on asynchronously.
  // `reason` says who asked, for the job log: "schedule", "api", ...
  // Errors: kConflict when the volume already has a running backup or a GC
  // of its target holds the target (the scheduler treats it as "skip this
  // slot"); kNotFound for an unknown volume; kInvalidArgument when the volume
  // has no target; anything else when the agent cannot be reached.
  virtual Result<std::string> StartBackup(const std::string& volume_id,
                                          std::string_view reason) = 0;
};

}  // namespace coffer::manager

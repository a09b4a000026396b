// Snapshot hooks (DESIGN §6): commands a volume names so that any storage
// system can provide a consistent snapshot.
//
//   pre_backup   runs before reading; prints the locator of a fresh snapshot
//                on stdout (its last non-empty line), which the agent then
//                validates like any locator and reads with the volume's
//                backend. Nothing printed: the volume's own locator is read.
//   post_backup  runs after reading, whether the backup succeeded or not
//                (when pre_backup succeeded), to release the snapshot.
//
// Each runs as `/bin/sh -c COMMAND` in its own process group with a time
// limit (the whole group is killed when it expires) and a clean environment:
// PATH, HOME, LANG and TMPDIR of the agent, plus COFFER_HOOK (pre-backup or
// post-backup), COFFER_JOB_ID, COFFER_VOLUME_ID, COFFER_VOLUME_NAME,
// COFFER_BACKEND, COFFER_LOCATOR and, for post_backup,
// COFFER_SNAPSHOT_LOCATOR. Never the agent's other variables (which may
// hold credentials), never key material. Their stdout and stderr go to the
// job log line by line.
//
// Thread safety: reentrant; each job runs its own hooks.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "agent/job_log.h"
#include "base/error.h"

namespace coffer::agent {

struct HookContext {
  std::string job_id;
  std::string volume_id, volume_name, backend, locator;
  std::chrono::seconds timeout{300};
};

// Runs the pre-backup hook; returns the snapshot locator it printed (or
// `ctx.locator` when it printed none). kInternal naming the exit code or
// signal when it fails, kUnavailable when it timed out, kCancelled when the
// job was cancelled meanwhile.
Result<std::string> RunPreHook(const std::string& command, const HookContext& ctx, JobLog& log,
                               const std::atomic<bool>* cancel);

// Runs the post-backup hook with COFFER_SNAPSHOT_LOCATOR set. Errors as
// above. Not cancellable: releasing a snapshot must not be cut short.
Status RunPostHook(const std::string& command, const HookContext& ctx,
                   const std::string& snapshot_locator, JobLog& log);

}  // namespace coffer::agent

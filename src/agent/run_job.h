// What a backup or restore job does, step by step, on its own thread:
//
// backup   open the target with the key from the request; run the
//          pre-backup hook (its locator is validated like the request's);
//          for a `file` volume without a hook, snapshot it (reflink, copy,
//          or none when quiescent); read it through the backup pipeline,
//          skipping the chunks the target is known to store;
//          remove the snapshot; run the post-backup hook (also after a
//          failure, whenever the pre-backup hook succeeded).
// restore  open the target; resolve the backup; create or open the
//          destination volume; run the restore pipeline.
//
// Each step is written to the job log; the job ends completed (with the
// result), failed (with the error) or cancelled.
//
// Thread safety: each call owns its job and request.
#pragma once

#include "agent/config.h"
#include "agent/job.h"
#include "agent/known_sets.h"
#include "agent/requests.h"

namespace coffer::agent {

// `source` is the validated locator (the resolved path for a file).
// `known_sets` is the agent's memory of the chunks each target stores.
void RunBackupJob(Job& job, BackupRequest& request, const std::string& source,
                  const AgentConfig& config, KnownChunkSets& known_sets);

// `destination` is the validated locator (the resolved path for a file).
void RunRestoreJob(Job& job, RestoreRequest& request, const std::string& destination,
                   const AgentConfig& config);

}  // namespace coffer::agent

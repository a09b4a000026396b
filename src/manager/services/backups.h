// BackupService: the backups the API shows and acts on (DESIGN §4): listed
// and read from the metadata store, a running one with its live progress
// from its agent, started through the orchestrator (which owns dispatch and
// fencing), deleted manifest first through the targets service.
//
// Thread safety: thread safe (its parts are).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manager/jobs/agent_client.h"
#include "manager/services/orchestrator.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

class BackupService {
 public:
  BackupService(meta::MetaStore& meta, TargetService& targets, Orchestrator& orchestrator)
      : meta_(meta), targets_(targets), orchestrator_(orchestrator) {}

  Result<meta::Backup> Get(const std::string& id) { return meta_.GetBackup(id); }
  Result<std::vector<meta::Backup>> List(const meta::BackupFilter& f) {
    return meta_.ListBackups(f);
  }
  // Starts a backup of the volume now; the row as it was created.
  Result<meta::Backup> Start(const std::string& volume_id, std::string_view reason);
  // A running backup's job as its agent reports it.
  Result<AgentJob> Live(const meta::Backup& backup) { return orchestrator_.LiveJob(backup); }
  // The manifest, then the row (TargetService::DeleteBackup).
  Status Delete(const std::string& id) { return targets_.DeleteBackup(id); }

 private:
  meta::MetaStore& meta_;
  TargetService& targets_;
  Orchestrator& orchestrator_;
};

}  // namespace coffer::manager

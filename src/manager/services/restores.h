// RestoreService: restores a completed backup into a new volume (DESIGN §4,
// POST /v1/backups/{id}/restore) as an agent job, and keeps the restore's
// state for GET /v1/restores/{id} and the new volume's "restore" field.
//
// A restore, step by step: the backup must be completed (kConflict
// otherwise); the new volume row is created (kAlreadyExists for a taken
// name, kInvalidArgument naming the field for a bad one); the agent gets the
// job (the target's connection and key, the backup id, the new volume's
// backend and locator); if the agent refuses it (a locator outside its
// volume roots, an existing file), the new volume row is removed again and
// the agent's error returned (its field renamed to the API's: "locator").
// The poller then follows the job: running → progress; completed → bytes
// written; failed or gone → the reason. A volume whose restore failed stays
// (with the restore's state) until it is deleted.
//
// Restores are rows of the metadata store (meta::Restore): a restore
// survives a manager restart and every replica sees it. The poller of the
// process that started it follows the job; Reconcile (the reconciler's
// round, leader only) follows again those of a process that stopped, and
// fails those whose agent job is gone or that nothing was heard of for the
// silence timeout. The volume a restore writes says so (GET
// /v1/volumes/{id}, "restore"), and one whose restore is running or failed
// holds no complete data: a backup of it is refused (Orchestrator).
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "manager/common/metrics.h"
#include "manager/jobs/agent_client.h"
#include "manager/jobs/job_poller.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct RestoreRequest {
  std::string backup_id;
  std::string name;      // of the new volume
  std::string agent_id;  // that writes it
  meta::VolumeBackend backend = meta::VolumeBackend::kFile;
  std::string locator;
};

using Restore = meta::Restore;

class RestoreService {
 public:
  RestoreService(meta::MetaStore& meta, TargetService& targets, AgentClient& client,
                 JobPoller& poller, ManagerMetrics& metrics)
      : meta_(meta), targets_(targets), client_(client), poller_(poller), metrics_(metrics) {}

  // Starts the restore; returns the new volume and the restore.
  Result<std::pair<meta::Volume, Restore>> Start(const RestoreRequest& request);

  Result<Restore> Get(const std::string& id);  // kNotFound
  // The newest restore into the volume (the one that made it), if any.
  Result<std::optional<Restore>> ForVolume(const std::string& volume_id);
  Result<std::vector<Restore>> List(const meta::RestoreFilter& filter);  // newest first
  // Asks the agent about a restore's job now (live progress).
  Result<AgentJob> LiveJob(const Restore& restore);

  // The reconciler's round for restores: every running restore not heard of
  // since `silent_since_us` that this process does not follow is asked about
  // and followed again, settled, or failed when its job is gone; one silent
  // since `fail_before_us` is failed. Returns how many were failed.
  int Reconcile(int64_t silent_since_us, int64_t fail_before_us);

 private:
  bool OnPoll(const std::string& id, const Result<AgentJob>& answer);
  void Follow(const Restore& r, AgentEndpoint agent);
  void Fail(const Restore& r, const std::string& why);

  meta::MetaStore& meta_;
  TargetService& targets_;
  AgentClient& client_;
  JobPoller& poller_;
  ManagerMetrics& metrics_;
};

}  // namespace coffer::manager

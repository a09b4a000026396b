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
// Restore state lives in this process's memory only (the metadata store has
// no table for it): after a manager restart, or on another replica, the
// volume is there but GET /v1/restores/{id} is 404; the agent's job (and the
// volume's data) are unaffected.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "manager/agent_client.h"
#include "manager/job_poller.h"
#include "manager/metrics.h"
#include "manager/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct RestoreRequest {
  std::string backup_id;
  std::string name;      // of the new volume
  std::string agent_id;  // that writes it
  meta::VolumeBackend backend = meta::VolumeBackend::kFile;
  std::string locator;
};

struct Restore {
  std::string id;
  std::string backup_id;
  std::string volume_id;  // the new volume
  std::string agent_id;
  std::string agent_job_id;
  std::string state = "running";  // running | completed | failed
  int64_t started_at_us = 0;
  std::optional<int64_t> finished_at_us;
  uint64_t total_bytes = 0, done_bytes = 0;  // progress, as of the last poll
  nlohmann::json result;                     // the agent's result once completed
  std::string error;
};

class RestoreService {
 public:
  RestoreService(meta::MetaStore& meta, TargetService& targets, AgentClient& client,
                 JobPoller& poller, ManagerMetrics& metrics)
      : meta_(meta), targets_(targets), client_(client), poller_(poller), metrics_(metrics) {}

  // Starts the restore; returns the new volume and the restore.
  Result<std::pair<meta::Volume, Restore>> Start(const RestoreRequest& request);

  Result<Restore> Get(const std::string& id);                      // kNotFound
  std::optional<Restore> ForVolume(const std::string& volume_id);  // the newest
  std::vector<Restore> List();                                     // newest first
  // Asks the agent about a restore's job now (live progress).
  Result<AgentJob> LiveJob(const Restore& restore);

 private:
  bool OnPoll(const std::string& id, const Result<AgentJob>& answer);

  meta::MetaStore& meta_;
  TargetService& targets_;
  AgentClient& client_;
  JobPoller& poller_;
  ManagerMetrics& metrics_;
  std::mutex mu_;
  std::map<std::string, Restore> restores_;
};

}  // namespace coffer::manager

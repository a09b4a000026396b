// Orchestrator: runs backups on agents (DESIGN §4–§5) and implements
// BackupStarter for the scheduler and the REST API.
//
// A backup, step by step:
//   1. the volume's agent and target are looked up, the target's connection
//      and key material fetched (TargetService::GetJobTarget);
//   2. the backup row is created `running`, attempt 1 (the fencing token);
//      the metadata store refuses it (kConflict) while the volume has a
//      running backup or a GC holds the target's kGc lease, so a backup and a
//      GC of one target never overlap;
//   3. the job goes to the agent with the row's id as the manifest's id and
//      the attempt; the agent's job id is recorded (fenced);
//   4. the poller asks the agent every poll interval: running → heartbeat
//      into the row; completed → CompleteBackup with the job's sizes, counts
//      and duration, then retention of the volume; failed or cancelled →
//      FailBackup with the agent's reason; the agent no longer knows the job
//      (404: it restarted) → the job is sent again as a new attempt (up to
//      kMaxAttempts, then FailBackup saying why). An unreachable agent gives
//      no heartbeat: the Reconciler fails the backup once it has been silent
//      for the silence timeout.
// Every report carries the attempt; the store refuses a stale one
// (kConflict), and the poller then stops: someone else has decided.
//
// An agent that does not take the manager's backup id (an older agent)
// stores the manifest under an id of its own; the orchestrator then fails
// the row with a reason naming that id and imports the stored backup under
// it (MetaStore::ImportBackup), so nothing stored is lost from the index.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.h"
#include "manager/common/metrics.h"
#include "manager/jobs/agent_client.h"
#include "manager/jobs/job_poller.h"
#include "manager/services/backup_starter.h"
#include "manager/services/retention.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

// The agent of a volume as the client needs it (URL and unwrapped token).
Result<AgentEndpoint> EndpointOf(meta::MetaStore& meta, std::string_view agent_id);

class Orchestrator : public BackupStarter {
 public:
  // Dispatches of one backup at most: a lost job is sent again until then.
  static constexpr int64_t kMaxAttempts = 3;

  Orchestrator(meta::MetaStore& meta, TargetService& targets, Retention& retention,
               AgentClient& client, JobPoller& poller, ManagerMetrics& metrics)
      : meta_(meta),
        targets_(targets),
        retention_(retention),
        client_(client),
        poller_(poller),
        metrics_(metrics) {}

  // BackupStarter. Besides its errors: when the agent refuses or cannot
  // take the job, the row is failed with the reason and the agent's error is
  // returned, its message naming the backup id.
  Result<std::string> StartBackup(const std::string& volume_id, std::string_view reason) override;

  // Applies one answer of the agent about a running backup (the poller's
  // callback; the Reconciler's too). Returns whether the backup is still
  // running and worth polling.
  bool OnBackupPoll(const meta::Backup& backup, const Result<AgentJob>& answer);

  // Polls a running backup that no poller of this process follows (after a
  // manager restart, or a replica that died).
  void Adopt(const meta::Backup& backup, AgentEndpoint agent);
  bool IsPolled(const std::string& backup_id) const { return poller_.IsTracked(backup_id); }
  void StopPolling(const std::string& backup_id) { poller_.Untrack(backup_id); }
  // After a backup's row was failed while its agent job may live on (the
  // reconciler gave up on a silent agent): keeps following the job, so that
  // if it comes back and asks to commit, it is abandoned at once rather
  // than left waiting for an answer (DESIGN §5, fencing).
  void Fence(const meta::Backup& backup, std::string reason);

  // Asks the agent about a running backup now: its live job (progress).
  Result<AgentJob> LiveJob(const meta::Backup& backup);

 private:
  // A job at the commit gate: approve its attempt, or abandon it.
  bool OnCommitAsked(const meta::Backup& backup, const AgentJob& job);
  // Dispatch looks up the volume, its agent and the target and Sends; a
  // failure to start fails the row (FailDispatch), its reason beginning with
  // `after` (what led to this dispatch) when given.
  Status Dispatch(const meta::Backup& backup, const std::string& after = "");
  Status Send(const meta::Backup& backup, const meta::Volume& volume, AgentEndpoint agent,
              agent_api::TargetSpec target, const std::string& after);
  Status FailDispatch(const meta::Backup& backup, const std::string& after, const Error& error,
                      const std::string& why);
  void Redispatch(const meta::Backup& backup, const std::string& why);
  Result<AgentEndpoint> Endpoint(const meta::Backup& backup);
  void Completed(const meta::Backup& backup, const AgentJob& job);
  void Failed(const meta::Backup& backup, const std::string& reason);

  meta::MetaStore& meta_;
  TargetService& targets_;
  Retention& retention_;
  AgentClient& client_;
  JobPoller& poller_;
  ManagerMetrics& metrics_;
};

}  // namespace coffer::manager

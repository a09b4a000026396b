#include "manager/services/orchestrator.h"

#include "base/text.h"
#include "base/uuid.h"
#include "manager/common/log.h"
#include "manager/jobs/job_requests.h"

namespace coffer::manager {
namespace {

meta::BackupStats StatsOf(const agent_api::BackupReport& r) {
  meta::BackupStats s;
  s.logical_bytes = int64_t(r.logical_bytes);
  s.zero_bytes = int64_t(r.zero_bytes);
  s.new_bytes = int64_t(r.new_bytes);
  s.stored_bytes = int64_t(r.stored_bytes);
  s.chunks = int64_t(r.chunks);
  s.new_chunks = int64_t(r.new_chunks);
  return s;
}

}  // namespace

Result<AgentEndpoint> EndpointOf(meta::MetaStore& meta, std::string_view agent_id) {
  COFFER_ASSIGN_OR_RETURN(meta::Agent agent, meta.GetAgent(agent_id));
  COFFER_ASSIGN_OR_RETURN(meta::SecretString token, meta.GetAgentToken(agent_id));
  return AgentEndpoint{agent.url, std::move(token)};
}

Result<std::string> Orchestrator::StartBackup(const std::string& volume_id,
                                              std::string_view reason) {
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.GetVolume(volume_id));
  if (!volume.backup_target_id || volume.backup_target_id->empty()) {
    return FieldInvalid("backup_target_id", "volume " + volume.name +
                                                " has no backup target; set one with PATCH "
                                                "/v1/volumes/{id}/backup_schedule");
  }
  const std::string target_id = *volume.backup_target_id;
  // A volume a restore made holds complete data only once that restore has
  // completed.
  COFFER_ASSIGN_OR_RETURN(auto made_by, meta_.ListRestores({.volume_id = volume.id, .limit = 1}));
  if (!made_by.empty() && made_by.front().state != meta::RestoreState::kCompleted) {
    const meta::Restore& r = made_by.front();
    if (r.state == meta::RestoreState::kRunning) {
      return Conflict("volume " + volume.name + " is being written by restore " + r.id +
                      "; back it up once the restore has completed");
    }
    return Conflict("volume " + volume.name + " was made by restore " + r.id + ", which failed (" +
                    r.error + "): it holds no complete data");
  }
  // Both looked up before the row exists: a volume whose agent or target is
  // gone starts nothing.
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, EndpointOf(meta_, volume.agent_id));
  COFFER_ASSIGN_OR_RETURN(agent_api::TargetSpec target, targets_.GetJobTarget(target_id));

  meta::NewBackup nb;
  nb.id = Uuid::Random().ToString();
  nb.volume_id = volume.id;
  nb.target_id = target_id;
  COFFER_ASSIGN_OR_RETURN(meta::Backup backup, meta_.CreateBackup(nb));
  Log("backup " + backup.id + " of volume " + volume.name + " started (" + std::string(reason) +
      ")");
  COFFER_RETURN_IF_ERROR(Send(backup, volume, std::move(agent), std::move(target), ""));
  return backup.id;
}

// Sends the job of `backup` (its current attempt) to the volume's agent,
// records the agent's job id under that attempt, and polls it. When the
// agent does not take the job the row is failed (the reason begins with
// `after`, what led to this dispatch, when given) and the error returned.
Status Orchestrator::Dispatch(const meta::Backup& backup, const std::string& after) {
  auto volume = meta_.GetVolume(backup.volume_id);
  if (!volume) {
    return FailDispatch(backup, after, volume.error(),
                        "its volume is gone: " + volume.error().message());
  }
  auto agent = EndpointOf(meta_, volume->agent_id);
  if (!agent) {
    return FailDispatch(backup, after, agent.error(),
                        "its agent is gone: " + agent.error().message());
  }
  auto target = targets_.GetJobTarget(backup.target_id);
  if (!target) {
    return FailDispatch(backup, after, target.error(), "its target: " + target.error().message());
  }
  return Send(backup, *volume, std::move(*agent), std::move(*target), after);
}

Status Orchestrator::Send(const meta::Backup& backup, const meta::Volume& volume,
                          AgentEndpoint agent, agent_api::TargetSpec target,
                          const std::string& after) {
  auto job = client_.StartBackup(
      agent, BackupRequestFor(volume, std::move(target), backup.id, backup.attempt));
  if (!job) {
    return FailDispatch(backup, after, job.error(),
                        "the agent did not take the job: " + job.error().message());
  }
  if (auto st = meta_.SetBackupAgentJob(backup.id, backup.attempt, job->id); !st) {
    // Failed or fenced meanwhile (the reconciler): the job is not ours.
    (void)client_.CancelJob(agent, job->id);
    return std::unexpected(st.error().WithContext("backup " + backup.id));
  }
  meta::Backup tracked = backup;
  tracked.agent_job_id = job->id;
  poller_.Track(
      backup.id, std::move(agent), job->id,
      [this, tracked](const Result<AgentJob>& answer) { return OnBackupPoll(tracked, answer); });
  return {};
}

Status Orchestrator::FailDispatch(const meta::Backup& backup, const std::string& after,
                                  const Error& error, const std::string& why) {
  Failed(backup, after.empty() ? why
                               : after + "; attempt " + std::to_string(backup.attempt) +
                                     " was not started: " + why);
  return std::unexpected(error.WithContext("backup " + backup.id));
}

// The agent no longer knows the job (it restarted, or dropped it): the job
// is sent again as a new attempt, whose number fences the lost one, up to
// kMaxAttempts; then the backup fails.
void Orchestrator::Redispatch(const meta::Backup& backup, const std::string& why) {
  if (backup.attempt >= kMaxAttempts) {
    Failed(backup, why + "; gave up after " + std::to_string(kMaxAttempts) + " attempts");
    return;
  }
  auto attempt = meta_.NewBackupAttempt(backup.id);
  if (!attempt) {
    // kConflict: decided elsewhere. Otherwise the reconciler comes back to it.
    Log("backup " + backup.id + ": " + why + "; no new attempt: " + attempt.error().message());
    return;
  }
  meta::Backup next = backup;
  next.attempt = *attempt;
  next.agent_job_id.clear();
  Log("backup " + backup.id + ": " + why + "; sending it again as attempt " +
      std::to_string(next.attempt));
  if (auto st = Dispatch(next, why); !st) {
    Log("backup " + backup.id + ": attempt " + std::to_string(next.attempt) +
        " not started: " + st.error().message() + " (after: " + why + ")");
  }
}

void Orchestrator::Adopt(const meta::Backup& backup, AgentEndpoint agent) {
  Log("backup " + backup.id + ": following agent job " + backup.agent_job_id);
  poller_.Track(
      backup.id, std::move(agent), backup.agent_job_id,
      [this, backup](const Result<AgentJob>& answer) { return OnBackupPoll(backup, answer); });
}

Result<AgentJob> Orchestrator::LiveJob(const meta::Backup& backup) {
  if (backup.agent_job_id.empty()) return NotFound("no agent job recorded yet");
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, Endpoint(backup));
  return client_.GetJob(agent, backup.agent_job_id);
}

bool Orchestrator::OnBackupPoll(const meta::Backup& backup, const Result<AgentJob>& answer) {
  if (!answer) {
    if (answer.error().code() == ErrorCode::kNotFound) {
      Redispatch(backup, "the agent no longer knows job " + backup.agent_job_id +
                             " (the agent restarted or dropped the job)");
      return false;
    }
    if (answer.error().code() == ErrorCode::kInternal) {
      // An answer that breaks the agent protocol will not mend itself.
      Failed(backup, answer.error().message());
      return false;
    }
    // Unreachable or refusing: no heartbeat; the reconciler fails the backup
    // once it has been silent for too long.
    return true;
  }
  const AgentJob& job = *answer;
  if (job.running() && job.awaiting_commit) return OnCommitAsked(backup, job);
  if (job.running()) {
    auto st = meta_.HeartbeatBackup(backup.id, backup.attempt);
    return st || st.error().code() != ErrorCode::kConflict;  // conflict: decided elsewhere
  }
  if (job.state == agent_api::JobState::kCompleted) {
    Completed(backup, job);
  } else {
    Failed(backup, JobFailure(job));
  }
  return false;
}

// The commit gate (DESIGN §5, fencing). The heartbeat is the approval: it
// succeeds only while the row runs this attempt, and once it has, the
// reconciler cannot fail the row (it fails only rows not heard from since it
// listed them). A stale attempt is abandoned and writes nothing.
bool Orchestrator::OnCommitAsked(const meta::Backup& backup, const AgentJob& job) {
  auto agent = Endpoint(backup);
  if (!agent) return true;  // asked again on the next poll
  auto fenced = [&](const std::string& why) {
    Log("backup " + backup.id + ": agent job " + job.id + " is fenced: " + why);
    if (auto st = client_.AbandonJob(*agent, job.id, why); !st) {
      Log("backup " + backup.id + ": abandoning job " + job.id +
          " failed (it abandons itself when its wait ends): " + st.error().message());
    }
    return false;
  };
  if (int64_t(job.attempt) != backup.attempt) {
    return fenced("it runs attempt " + std::to_string(job.attempt) + ", the backup's is " +
                  std::to_string(backup.attempt));
  }
  if (auto st = meta_.HeartbeatBackup(backup.id, backup.attempt); !st) {
    if (st.error().code() != ErrorCode::kConflict) return true;  // the database: ask again
    return fenced(st.error().message());
  }
  if (auto st = client_.CommitJob(*agent, job.id, backup.attempt); !st) {
    Log("backup " + backup.id + ": approving the commit of job " + job.id +
        " failed: " + st.error().message());
  }
  return true;
}

void Orchestrator::Fence(const meta::Backup& backup, std::string reason) {
  poller_.Untrack(backup.id);
  if (backup.agent_job_id.empty()) return;
  auto agent = Endpoint(backup);
  if (!agent) return;
  const int64_t until = UnixNowMicros() + int64_t(24) * 3600 * 1'000'000;
  poller_.Track(backup.id, std::move(*agent), backup.agent_job_id,
                [this, backup, reason, until](const Result<AgentJob>& answer) {
                  if (!answer) {
                    // Gone (kNotFound), or silent for a day: nothing to fence.
                    return answer.error().code() != ErrorCode::kNotFound && UnixNowMicros() < until;
                  }
                  if (!answer->running()) {
                    if (answer->state == agent_api::JobState::kCompleted) {
                      Log("backup " + backup.id + ": agent job " + answer->id +
                          " completed after the backup was failed (an agent without the commit "
                          "gate?); its manifest is in the target, run `coffer manager "
                          "index-rebuild` to adopt it");
                    }
                    return false;
                  }
                  if (answer->awaiting_commit) {
                    auto agent = Endpoint(backup);
                    if (agent) {
                      Log("backup " + backup.id + ": agent job " + answer->id +
                          " came back and asks to commit; abandoned: " + reason);
                      (void)client_.AbandonJob(*agent, answer->id, reason);
                    }
                  }
                  return true;
                });
}

Result<AgentEndpoint> Orchestrator::Endpoint(const meta::Backup& backup) {
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.GetVolume(backup.volume_id));
  return EndpointOf(meta_, volume.agent_id);
}

void Orchestrator::Completed(const meta::Backup& backup, const AgentJob& job) {
  if (!job.backup) {
    Failed(backup, "agent job " + job.id + " completed without a backup report");
    return;
  }
  const agent_api::BackupReport& r = *job.backup;
  const std::string& stored_id = r.backup_id;
  const meta::BackupStats stats = StatsOf(r);
  const double seconds = r.seconds;
  const int64_t duration_ms = int64_t(seconds * 1000);
  if (stored_id != backup.id) {
    // An agent that ignores backup_id: record what it stored under its id
    // first, then fail this row with a pointer to it.
    meta::Backup imported = backup;
    imported.id = stored_id;
    imported.status = meta::BackupStatus::kCompleted;
    imported.agent_job_id = job.id;
    imported.stats = stats;
    imported.finished_at_us = UnixNowMicros();
    imported.duration_ms = duration_ms;
    imported.error.clear();
    if (auto st = meta_.ImportBackup(imported); !st) {
      Log("backup " + stored_id + ": cannot record it: " + st.error().message());
    }
    Failed(backup, "the agent stored this backup as " + stored_id +
                       " (it does not take the manager's backup id); recorded under that id");
  } else {
    auto done = meta_.CompleteBackup(backup.id, backup.attempt, stats, duration_ms);
    if (!done) {
      Log("backup " + backup.id + ": completion refused: " + done.error().message());
      return;
    }
    metrics_.BackupFinished(meta::BackupStatus::kCompleted, seconds);
    Log("backup " + backup.id + " completed: " + FormatBytes(uint64_t(stats.logical_bytes)) + ", " +
        FormatBytes(uint64_t(stats.new_bytes)) + " new");
  }
  auto kept = retention_.Apply(backup.volume_id);
  if (!kept) {
    Log("retention of volume " + backup.volume_id + ": " + kept.error().message());
    return;
  }
  for (const auto& id : kept->deleted) Log("retention deleted backup " + id);
  for (const auto& e : kept->errors) Log("retention could not delete backup " + e);
}

void Orchestrator::Failed(const meta::Backup& backup, const std::string& reason) {
  auto st = meta_.FailBackup(backup.id, backup.attempt, reason);
  if (!st) {
    Log("backup " + backup.id + ": cannot record the failure (" + reason +
        "): " + st.error().message());
    return;
  }
  metrics_.BackupFinished(meta::BackupStatus::kFailed, 0);
  Log("backup " + backup.id + " failed: " + reason);
}

}  // namespace coffer::manager

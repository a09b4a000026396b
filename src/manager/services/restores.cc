#include "manager/services/restores.h"

#include <algorithm>

#include "base/text.h"
#include "base/uuid.h"
#include "manager/common/log.h"
#include "manager/jobs/job_requests.h"
#include "manager/services/orchestrator.h"

namespace coffer::manager {
namespace {

// The agent names its request's fields ("destination.locator"); the API's
// request has them at the top ("locator").
Error RenameField(const Error& e) {
  constexpr std::string_view kPrefix = "destination.";
  if (!e.field().starts_with(kPrefix)) return e;
  Error renamed(e.code(), e.message());
  if (!e.s3_code().empty()) renamed = renamed.WithS3Code(e.s3_code());
  return renamed.WithField(e.field().substr(kPrefix.size()));
}

}  // namespace

Result<std::pair<meta::Volume, Restore>> RestoreService::Start(const RestoreRequest& request) {
  if (auto agent = meta_.GetAgent(request.agent_id); !agent) {
    if (agent.error().code() != ErrorCode::kNotFound) return std::unexpected(agent.error());
    return FieldInvalid("agent_id", "no agent " + request.agent_id);
  }
  COFFER_ASSIGN_OR_RETURN(meta::Backup backup, meta_.GetBackup(request.backup_id));
  if (backup.status != meta::BackupStatus::kCompleted) {
    return Conflict("backup " + backup.id + " is " + std::string(meta::ToString(backup.status)) +
                    "; only a completed backup can be restored");
  }
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, EndpointOf(meta_, request.agent_id));
  COFFER_ASSIGN_OR_RETURN(agent_api::TargetSpec target, targets_.GetJobTarget(backup.target_id));

  meta::Volume v;
  v.name = request.name;
  v.agent_id = request.agent_id;
  v.backend = request.backend;
  v.locator = request.locator;
  v.size_bytes = backup.stats.logical_bytes;
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.CreateVolume(v));

  auto job = client_.StartRestore(agent, RestoreRequestFor(volume, std::move(target), backup.id));
  if (!job) {
    if (auto st = meta_.DeleteVolume(volume.id); !st) {
      Log("restore: cannot remove volume " + volume.name + " again: " + st.error().message());
    }
    return std::unexpected(RenameField(job.error()));
  }
  meta::NewRestore nr{Uuid::Random().ToString(), backup.id, volume.id, request.agent_id, job->id};
  auto r = meta_.CreateRestore(nr);
  if (!r) {
    // The job runs, but nothing would follow it: stop it, and say why.
    (void)client_.CancelJob(agent, job->id);
    (void)meta_.DeleteVolume(volume.id);
    return std::unexpected(r.error().WithContext("recording the restore"));
  }
  Log("restore " + r->id + " of backup " + backup.id + " into volume " + volume.name +
      " started (agent job " + job->id + ")");
  Follow(*r, std::move(agent));
  return std::make_pair(std::move(volume), std::move(*r));
}

void RestoreService::Follow(const Restore& r, AgentEndpoint agent) {
  const std::string id = r.id;
  poller_.Track("restore:" + id, std::move(agent), r.agent_job_id,
                [this, id](const Result<AgentJob>& answer) { return OnPoll(id, answer); });
}

void RestoreService::Fail(const Restore& r, const std::string& why) {
  auto done = meta_.FinishRestore(r.id, meta::RestoreState::kFailed, "", why);
  if (!done) return;  // ended meanwhile: the first word stands
  metrics_.RestoreFinished("failed");
  Log("restore " + r.id + " failed: " + why);
}

bool RestoreService::OnPoll(const std::string& id, const Result<AgentJob>& answer) {
  auto r = meta_.GetRestore(id);
  if (!r) return r.error().code() != ErrorCode::kNotFound;  // the database: ask again
  if (r->state != meta::RestoreState::kRunning) return false;
  if (!answer) {
    if (answer.error().code() == ErrorCode::kInternal) {
      Fail(*r, answer.error().message());  // breaks the agent protocol: will not mend
      return false;
    }
    if (answer.error().code() != ErrorCode::kNotFound) return true;  // unreachable: retry
    Fail(*r, "the agent no longer knows job " + r->agent_job_id +
                 " (the agent restarted or dropped the job); volume " + r->volume_id +
                 " holds no complete data");
    return false;
  }
  if (answer->running()) {
    auto st = meta_.UpdateRestoreProgress(id, int64_t(answer->progress.total_bytes),
                                          int64_t(answer->progress.done_bytes));
    return st || st.error().code() != ErrorCode::kConflict;
  }
  if (answer->state != agent_api::JobState::kCompleted) {
    Fail(*r, JobFailure(*answer));
  } else if (!answer->restore) {
    Fail(*r, "agent job " + answer->id + " completed without a restore report");
  } else if (meta_.FinishRestore(id, meta::RestoreState::kCompleted,
                                 agent_api::ToJson(*answer->restore).dump(), "")) {
    metrics_.RestoreFinished("completed");
    Log("restore " + id + " completed");
  }
  return false;
}

int RestoreService::Reconcile(int64_t silent_since_us, int64_t fail_before_us) {
  auto running = meta_.ListRestores({.state = meta::RestoreState::kRunning});
  if (!running) {
    Log("reconciler: listing restores: " + running.error().message());
    return 0;
  }
  int failed = 0;
  for (const Restore& r : *running) {
    if (r.heartbeat_at_us >= silent_since_us) continue;
    const bool followed = poller_.IsTracked("restore:" + r.id);
    if (r.heartbeat_at_us < fail_before_us) {
      poller_.Untrack("restore:" + r.id);
      Fail(r, "nothing was heard of agent job " + r.agent_job_id + " for " +
                  std::to_string((UnixNowMicros() - r.heartbeat_at_us) / 1'000'000) + " s");
      ++failed;
      continue;
    }
    if (followed) continue;
    auto agent = EndpointOf(meta_, r.agent_id);
    if (!agent) {
      if (agent.error().code() == ErrorCode::kNotFound) {
        Fail(r, "its agent is gone: " + agent.error().message());
        ++failed;
      }
      continue;
    }
    // A restore another process started (it stopped): ask, and follow it.
    auto job = client_.GetJob(*agent, r.agent_job_id);
    if (OnPoll(r.id, job)) {
      Log("reconciler: following restore " + r.id + " (agent job " + r.agent_job_id + ") again");
      Follow(r, std::move(*agent));
    }
  }
  return failed;
}

Result<Restore> RestoreService::Get(const std::string& id) { return meta_.GetRestore(id); }

Result<std::optional<Restore>> RestoreService::ForVolume(const std::string& volume_id) {
  COFFER_ASSIGN_OR_RETURN(auto newest, meta_.ListRestores({.volume_id = volume_id, .limit = 1}));
  if (newest.empty()) return std::optional<Restore>();
  return std::optional<Restore>(std::move(newest.front()));
}

Result<AgentJob> RestoreService::LiveJob(const Restore& restore) {
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, EndpointOf(meta_, restore.agent_id));
  return client_.GetJob(agent, restore.agent_job_id);
}

Result<std::vector<Restore>> RestoreService::List(const meta::RestoreFilter& filter) {
  return meta_.ListRestores(filter);
}

}  // namespace coffer::manager

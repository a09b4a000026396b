#include "manager/restores.h"

#include <algorithm>

#include "base/text.h"
#include "base/uuid.h"
#include "manager/job_requests.h"
#include "manager/log.h"
#include "manager/orchestrator.h"

namespace coffer::manager {
namespace {

// The agent names its request's fields ("destination.locator: …"); the
// API's request has them at the top ("locator: …").
Error RenameField(const Error& e) {
  constexpr std::string_view kPrefix = "destination.";
  std::string m = e.message();
  if (m.starts_with(kPrefix)) m.erase(0, kPrefix.size());
  return Error(e.code(), m);
}

}  // namespace

Result<std::pair<meta::Volume, Restore>> RestoreService::Start(const RestoreRequest& request) {
  COFFER_ASSIGN_OR_RETURN(meta::Backup backup, meta_.GetBackup(request.backup_id));
  if (backup.status != meta::BackupStatus::kCompleted) {
    return Conflict("backup " + backup.id + " is " + std::string(meta::ToString(backup.status)) +
                    "; only a completed backup can be restored");
  }
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, EndpointOf(meta_, request.agent_id));
  COFFER_ASSIGN_OR_RETURN(JobTarget target, targets_.GetJobTarget(backup.target_id));

  meta::Volume v;
  v.name = request.name;
  v.agent_id = request.agent_id;
  v.backend = request.backend;
  v.locator = request.locator;
  v.size_bytes = backup.stats.logical_bytes;
  COFFER_ASSIGN_OR_RETURN(meta::Volume volume, meta_.CreateVolume(v));

  auto job = client_.StartRestore(agent, RestoreJobBody(volume, target, backup.id));
  if (!job) {
    if (auto st = meta_.DeleteVolume(volume.id); !st) {
      Log("restore: cannot remove volume " + volume.name + " again: " + st.error().message());
    }
    return std::unexpected(RenameField(job.error()));
  }
  Restore r;
  r.id = Uuid::Random().ToString();
  r.backup_id = backup.id;
  r.volume_id = volume.id;
  r.agent_id = request.agent_id;
  r.agent_job_id = job->id;
  r.started_at_us = UnixNowMicros();
  {
    std::lock_guard lock(mu_);
    restores_[r.id] = r;
  }
  Log("restore " + r.id + " of backup " + backup.id + " into volume " + volume.name +
      " started (agent job " + job->id + ")");
  const std::string id = r.id;
  poller_.Track("restore:" + id, std::move(agent), job->id,
                [this, id](const Result<AgentJob>& answer) { return OnPoll(id, answer); });
  return std::make_pair(std::move(volume), std::move(r));
}

bool RestoreService::OnPoll(const std::string& id, const Result<AgentJob>& answer) {
  std::lock_guard lock(mu_);
  auto it = restores_.find(id);
  if (it == restores_.end()) return false;
  Restore& r = it->second;
  if (!answer) {
    if (answer.error().code() != ErrorCode::kNotFound) return true;  // unreachable: retry
    r.state = "failed";
    r.error = "the agent no longer knows job " + r.agent_job_id +
              " (the agent restarted or dropped the job)";
  } else {
    r.total_bytes = answer->total_bytes;
    r.done_bytes = answer->done_bytes;
    if (answer->running()) return true;
    if (answer->state == "completed") {
      r.state = "completed";
      r.result = answer->result;
    } else {
      r.state = "failed";
      r.error = "agent job " + r.agent_job_id + " " + answer->state + ": " +
                (answer->error_code.empty() ? "" : answer->error_code + ": ") +
                answer->error_message;
    }
  }
  r.finished_at_us = UnixNowMicros();
  metrics_.RestoreFinished(r.state);
  Log("restore " + r.id + " " + r.state + (r.error.empty() ? "" : ": " + r.error));
  return false;
}

Result<Restore> RestoreService::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = restores_.find(id);
  if (it == restores_.end()) return NotFound("no restore " + id + " (known to this manager)");
  return it->second;
}

std::optional<Restore> RestoreService::ForVolume(const std::string& volume_id) {
  std::lock_guard lock(mu_);
  std::optional<Restore> newest;
  for (const auto& [id, r] : restores_) {
    if (r.volume_id == volume_id && (!newest || r.started_at_us > newest->started_at_us)) {
      newest = r;
    }
  }
  return newest;
}

Result<AgentJob> RestoreService::LiveJob(const Restore& restore) {
  COFFER_ASSIGN_OR_RETURN(AgentEndpoint agent, EndpointOf(meta_, restore.agent_id));
  return client_.GetJob(agent, restore.agent_job_id);
}

std::vector<Restore> RestoreService::List() {
  std::lock_guard lock(mu_);
  std::vector<Restore> out;
  for (const auto& [id, r] : restores_) out.push_back(r);
  std::sort(out.begin(), out.end(),
            [](const Restore& a, const Restore& b) { return a.started_at_us > b.started_at_us; });
  return out;
}

}  // namespace coffer::manager

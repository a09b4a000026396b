#include "manager/loops/reconciler.h"

#include "base/text.h"
#include "manager/common/log.h"

namespace coffer::manager {

void Reconciler::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reconciler::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    if (auto r = RunOnce(); !r) Log("reconciler: " + r.error().message());
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return stop_; });
  }
}

Result<ReconcileRound> Reconciler::RunOnce() {
  ReconcileRound round;
  if (options_.is_leader && !options_.is_leader()) return round;
  round.leader = true;
  const int64_t now = options_.clock_us ? options_.clock_us() : UnixNowMicros();
  const int64_t orphan_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.orphan_after).count();
  COFFER_ASSIGN_OR_RETURN(auto silent, meta_.ListSilentBackups(now - orphan_us));
  for (const meta::Backup& b : silent) Reconcile(b, now, &round);
  if (options_.restores != nullptr) {
    const int64_t silence_us =
        std::chrono::duration_cast<std::chrono::microseconds>(options_.silence_timeout).count();
    round.restores_failed = options_.restores->Reconcile(now - orphan_us, now - silence_us);
  }
  return round;
}

void Reconciler::Reconcile(const meta::Backup& b, int64_t now, ReconcileRound* round) {
  const int64_t silence_us =
      std::chrono::duration_cast<std::chrono::microseconds>(options_.silence_timeout).count();
  const std::string quiet = std::to_string((now - b.heartbeat_at_us) / 1'000'000) + " s";
  const bool too_long = now - b.heartbeat_at_us >= silence_us;
  // Not heard from since it was listed.
  const int64_t silent_since = b.heartbeat_at_us + 1;
  auto fail = [&](const std::string& reason) {
    // Only while still silent: a commit the poller approved meanwhile
    // heartbeats the row, and then this is refused (DESIGN §5, fencing).
    if (meta_.FailSilentBackup(b.id, b.attempt, silent_since, reason)) {
      orchestrator_.Fence(b, "backup " + b.id + " was failed by the reconciler: " + reason);
      ++round->failed;
      Log("reconciler: backup " + b.id + " failed: " + reason);
    }
  };
  if (b.agent_job_id.empty()) {
    if (too_long) {
      fail(
          "no agent job was recorded for it (the manager stopped while starting it) and "
          "nothing was heard of it for " +
          quiet);
    }
    return;
  }
  if (orchestrator_.IsPolled(b.id)) {
    if (too_long) fail("the agent has not answered about job " + b.agent_job_id + " for " + quiet);
    return;
  }
  auto volume = meta_.GetVolume(b.volume_id);
  auto agent = volume ? EndpointOf(meta_, volume->agent_id)
                      : Result<AgentEndpoint>(std::unexpected(volume.error()));
  if (!agent) {
    // A database hiccup is not the backup's fault: only a missing row is.
    if (agent.error().code() == ErrorCode::kNotFound) {
      fail("its volume or agent is gone: " + agent.error().message());
    }
    return;
  }
  auto job = orchestrator_.LiveJob(b);
  if (!job && job.error().code() != ErrorCode::kNotFound) {
    if (too_long) {
      fail("the agent has not answered about job " + b.agent_job_id + " for " + quiet + ": " +
           job.error().message());
    }
    return;
  }
  if (orchestrator_.OnBackupPoll(b, job)) {
    orchestrator_.Adopt(b, std::move(*agent));
    ++round->adopted;
  } else {
    ++round->settled;
  }
}

}  // namespace coffer::manager

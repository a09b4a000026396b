// Jobs: the agent's asynchronous backups and restores. A Job is created by
// a request, runs on a thread of its own, and is polled and cancelled by id.
// Jobs live in memory only: a restarted agent knows none (the manager's
// reconciler marks their backups failed).
//
// Thread safety: a Job's state, result and error are guarded by its mutex;
// progress counters and the cancel flag are atomic; JobRegistry is safe for
// concurrent use by the HTTP threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "agent/job_log.h"
#include "agent_api/protocol.h"
#include "base/error.h"
#include "engine/progress.h"

namespace coffer::agent {

using agent_api::JobKind;
using agent_api::JobState;
using agent_api::JobStateName;

class Job {
 public:
  // `volume`: id, name, backend and the locator without its secrets.
  Job(std::string id, JobKind kind, uint64_t attempt, agent_api::VolumeSpec volume);

  const std::string& id() const { return id_; }
  JobKind kind() const { return kind_; }
  Progress& progress() { return progress_; }
  JobLog& log() { return log_; }
  const std::atomic<bool>& cancel_flag() const { return cancel_; }

  JobState state() const;
  bool RequestCancel();  // false if the job already finished
  void Complete(agent_api::BackupReport report);
  void Complete(agent_api::RestoreReport report);
  void Finish(const Error& error);  // kCancelled → cancelled, else failed

  // The commit gate (DESIGN §5, fencing). The job thread calls AwaitCommit
  // once its chunks are stored; it returns when the manager approved this
  // attempt (DecideCommit), and fails with kConflict when the manager
  // abandoned it or approved another attempt, kCancelled on a cancel, and
  // kUnavailable when no answer came within `timeout`. A job whose
  // commit was not approved writes nothing more.
  Status AwaitCommit(std::chrono::seconds timeout);
  // The manager's approval of `attempt`: kConflict if it is not this job's
  // attempt (the job is then abandoned), or if the job is not waiting to
  // commit (nothing changes then).
  Status DecideCommit(uint64_t attempt);
  // The manager's word that this attempt is stale; false if the job ended.
  bool Abandon(const std::string& reason);

  // The job as the API shows it (docs/API.md).
  agent_api::JobReport Report(bool with_log) const;

 private:
  void Ended(JobState state);  // mu_ held

  const std::string id_;
  const JobKind kind_;
  const uint64_t attempt_;
  const agent_api::VolumeSpec volume_;
  const int64_t created_at_;
  const std::chrono::steady_clock::time_point started_;
  Progress progress_;
  JobLog log_;
  std::atomic<bool> cancel_{false};

  enum class Gate { kNone, kWaiting, kApproved, kAbandoned };

  mutable std::mutex mu_;
  std::condition_variable gate_cv_;
  Gate gate_ = Gate::kNone;
  std::string abandoned_because_;
  JobState state_ = JobState::kRunning;
  std::optional<double> seconds_;  // set when finished
  int64_t finished_at_ = 0;
  std::optional<agent_api::BackupReport> backup_;
  std::optional<agent_api::RestoreReport> restore_;
  std::optional<Error> error_;
};

class JobRegistry {
 public:
  // At most `max_running` jobs run at once; finished jobs are kept (newest
  // kKeepFinished) for polling.
  explicit JobRegistry(int max_running) : max_running_(max_running) {}
  ~JobRegistry();  // cancels running jobs and waits for them

  static constexpr size_t kKeepFinished = 1000;

  // Starts `work` on a new thread for a new job. kResourceExhausted when
  // max_running jobs run already; kConflict when `exclusive_key` is not
  // empty and a running job holds the same key (two backups of a volume).
  Result<std::shared_ptr<Job>> Start(JobKind kind, uint64_t attempt, agent_api::VolumeSpec volume,
                                     std::string exclusive_key, std::function<void(Job&)> work);

  std::shared_ptr<Job> Find(const std::string& id) const;
  std::vector<std::shared_ptr<Job>> All() const;

 private:
  struct Entry {
    std::shared_ptr<Job> job;
    std::string exclusive_key;
    std::thread thread;
  };
  void Reap();  // joins finished threads, drops the oldest finished jobs; mu_ held

  const int max_running_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> jobs_;
  uint64_t sequence_ = 0;
  std::map<uint64_t, std::string> order_;  // creation order → id
};

}  // namespace coffer::agent

#include "agent/job.h"

#include "base/text.h"
#include "base/uuid.h"

namespace coffer::agent {

Job::Job(std::string id, JobKind kind, uint64_t attempt, agent_api::VolumeSpec volume)
    : id_(std::move(id)),
      kind_(kind),
      attempt_(attempt),
      volume_(std::move(volume)),
      created_at_(UnixNow()),
      started_(std::chrono::steady_clock::now()) {}

JobState Job::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool Job::RequestCancel() {
  std::lock_guard lock(mu_);
  if (state_ != JobState::kRunning) return false;
  if (!cancel_.exchange(true)) log_.Add("cancel requested");
  gate_cv_.notify_all();
  return true;
}

Status Job::AwaitCommit(std::chrono::seconds timeout) {
  std::unique_lock lock(mu_);
  if (gate_ == Gate::kNone) gate_ = Gate::kWaiting;
  log_.Add("chunks stored; waiting for the manager to approve attempt " + std::to_string(attempt_));
  bool decided = gate_cv_.wait_for(lock, timeout, [this] {
    return gate_ == Gate::kApproved || gate_ == Gate::kAbandoned || cancel_.load();
  });
  if (gate_ == Gate::kApproved) {
    log_.Add("the manager approved attempt " + std::to_string(attempt_));
    return {};
  }
  if (gate_ == Gate::kAbandoned) {
    return Conflict("fenced: the manager abandoned attempt " + std::to_string(attempt_) + " (" +
                    abandoned_because_ + "); no manifest was written");
  }
  if (cancel_.load()) return Cancelled("the job was cancelled before its manifest was written");
  (void)decided;
  gate_ = Gate::kAbandoned;
  return Unavailable("the manager did not approve attempt " + std::to_string(attempt_) +
                     " within " + std::to_string(timeout.count()) + " s; no manifest was written");
}

Status Job::DecideCommit(uint64_t attempt) {
  std::lock_guard lock(mu_);
  if (state_ != JobState::kRunning || gate_ != Gate::kWaiting) {
    return Conflict("job " + id_ + " is not waiting to commit");
  }
  if (attempt != attempt_) {
    gate_ = Gate::kAbandoned;
    abandoned_because_ = "the manager's current attempt is " + std::to_string(attempt);
    gate_cv_.notify_all();
    return Conflict("job " + id_ + " runs attempt " + std::to_string(attempt_) + ", not " +
                    std::to_string(attempt) + ": it is abandoned");
  }
  gate_ = Gate::kApproved;
  gate_cv_.notify_all();
  return {};
}

bool Job::Abandon(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (state_ != JobState::kRunning || gate_ == Gate::kApproved) return false;
  if (gate_ != Gate::kAbandoned) log_.Add("abandoned by the manager: " + reason);
  gate_ = Gate::kAbandoned;
  abandoned_because_ = reason.empty() ? "no reason given" : reason;
  gate_cv_.notify_all();
  return true;
}

void Job::Ended(JobState state) {
  state_ = state;
  seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  finished_at_ = UnixNow();
}

void Job::Complete(agent_api::BackupReport report) {
  std::lock_guard lock(mu_);
  backup_ = std::move(report);
  Ended(JobState::kCompleted);
  log_.Add("backup completed");
}

void Job::Complete(agent_api::RestoreReport report) {
  std::lock_guard lock(mu_);
  restore_ = std::move(report);
  Ended(JobState::kCompleted);
  log_.Add("restore completed");
}

void Job::Finish(const Error& error) {
  std::lock_guard lock(mu_);
  error_ = error;
  Ended(error.code() == ErrorCode::kCancelled ? JobState::kCancelled : JobState::kFailed);
  log_.Add(std::string(agent_api::JobKindName(kind_)) + " " + std::string(JobStateName(state_)) +
           ": " + error.message());
}

agent_api::JobReport Job::Report(bool with_log) const {
  std::lock_guard lock(mu_);
  double elapsed =
      seconds_ ? *seconds_
               : std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  agent_api::JobReport r;
  r.id = id_;
  r.kind = kind_;
  r.state = state_;
  r.attempt = attempt_;
  r.volume = volume_;
  r.created_at = FormatRfc3339(created_at_);
  if (finished_at_) r.finished_at = FormatRfc3339(finished_at_);
  r.cancel_requested = cancel_.load();
  r.awaiting_commit = gate_ == Gate::kWaiting;
  const uint64_t done = progress_.done.load();
  r.progress = {progress_.total.load(), done, progress_.new_bytes.load(),
                elapsed > 0 ? uint64_t(double(done) / elapsed) : 0, elapsed};
  r.backup = backup_;
  r.restore = restore_;
  r.error = error_;
  if (with_log) r.log = log_.Lines();
  return r;
}

JobRegistry::~JobRegistry() {
  std::map<std::string, Entry> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& [id, e] : jobs) e.job->RequestCancel();
  for (auto& [id, e] : jobs) {
    if (e.thread.joinable()) e.thread.join();
  }
}

void JobRegistry::Reap() {
  size_t finished = 0;
  for (auto& [id, e] : jobs_) {
    if (e.job->state() == JobState::kRunning) continue;
    ++finished;
    // Its thread is past its last step: join it now rather than keep it.
    if (e.thread.joinable()) e.thread.join();
  }
  for (auto it = order_.begin(); it != order_.end() && finished > kKeepFinished;) {
    auto j = jobs_.find(it->second);
    if (j != jobs_.end() && j->second.job->state() != JobState::kRunning) {
      if (j->second.thread.joinable()) j->second.thread.join();  // ending, or ended
      jobs_.erase(j);
      it = order_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

Result<std::shared_ptr<Job>> JobRegistry::Start(JobKind kind, uint64_t attempt,
                                                agent_api::VolumeSpec volume,
                                                std::string exclusive_key,
                                                std::function<void(Job&)> work) {
  std::lock_guard lock(mu_);
  Reap();
  int running = 0;
  for (auto& [id, e] : jobs_) {
    if (e.job->state() != JobState::kRunning) continue;
    ++running;
    if (!exclusive_key.empty() && e.exclusive_key == exclusive_key) {
      return MakeError(ErrorCode::kConflict,
                       "job " + id + " is already backing up this volume (" + exclusive_key + ")");
    }
  }
  if (running >= max_running_) {
    return ResourceExhausted(std::to_string(running) +
                             " jobs are running, the agent's limit; retry later");
  }
  auto job = std::make_shared<Job>(Uuid::Random().ToString(), kind, attempt, std::move(volume));
  Entry& e = jobs_[job->id()];
  e.job = job;
  e.exclusive_key = std::move(exclusive_key);
  order_[sequence_++] = job->id();
  e.thread = std::thread([job, work = std::move(work)] {
    try {
      work(*job);
    } catch (const std::exception& ex) {
      job->Finish(Error(ErrorCode::kInternal, std::string("unexpected exception: ") + ex.what()));
    }
  });
  return job;
}

std::shared_ptr<Job> JobRegistry::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.job;
}

std::vector<std::shared_ptr<Job>> JobRegistry::All() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Job>> out;
  for (const auto& [seq, id] : order_) {
    auto it = jobs_.find(id);
    if (it != jobs_.end()) out.push_back(it->second.job);
  }
  return out;
}

}  // namespace coffer::agent

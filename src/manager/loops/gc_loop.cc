#include "manager/loops/gc_loop.h"

#include <algorithm>

#include "base/uuid.h"
#include "engine/gc.h"
#include "engine/lock.h"
#include "manager/common/cron.h"
#include "manager/loops/loop_support.h"

namespace coffer::manager {

struct GcLoop::Job {
  meta::BackupTarget target;
  std::string run_id;
  std::string holder;  // of the kGc lease
};

namespace {

// Renews a lease every ttl/3 on a thread of its own until stopped; remembers
// the first failure (the lease lapsed or the database was unreachable).
class LeaseRenewer {
 public:
  LeaseRenewer(meta::MetaStore& meta, const std::string& target_id, const std::string& holder,
               std::chrono::milliseconds ttl)
      : thread_([this, &meta, target_id, holder, ttl] {
          std::unique_lock lock(mu_);
          const auto every = std::max(std::chrono::milliseconds(1), ttl / 3);
          while (!cv_.wait_for(lock, every, [this] { return stop_; })) {
            lock.unlock();
            auto renewed = meta.RenewTargetLease(target_id, holder, ttl);
            lock.lock();
            if (!renewed && failure_.empty()) failure_ = renewed.error().message();
          }
        }) {}
  // Stops renewing; returns the first failure, or "" if the lease held.
  std::string Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    return failure_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string failure_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

GcLoop::GcLoop(meta::MetaStore& meta, TargetService& targets, GcLoopOptions options)
    : meta_(meta), targets_(targets), options_(std::move(options)) {}

GcLoop::~GcLoop() { Stop(); }

int64_t GcLoop::Now() const { return ClockNow(options_.clock_us); }

void GcLoop::Log(const std::string& message) const { LogTo(options_.log, "gc: " + message); }

void GcLoop::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void GcLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  WaitIdle();
}

void GcLoop::Loop() {
  while (true) {
    auto tick = TickOnce();
    if (!tick) Log("tick failed: " + tick.error().message());
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.tick, [this] { return stop_; })) return;
  }
}

void GcLoop::Reap() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu_);
    done.swap(finished_);
  }
  for (auto& t : done) t.join();
}

void GcLoop::WaitIdle() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return jobs_.empty(); });
  }
  Reap();
}

std::set<std::string> GcLoop::RunningTargets() {
  std::lock_guard lock(mu_);
  std::set<std::string> out;
  for (const auto& [id, thread] : jobs_) out.insert(id);
  return out;
}

Result<std::string> GcLoop::RunNow(const std::string& target_id) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return Cancelled("the manager is stopping");
  }
  return Begin(target_id);
}

Result<std::string> GcLoop::Begin(const std::string& target_id) {
  Reap();
  COFFER_ASSIGN_OR_RETURN(meta::BackupTarget target, meta_.GetBackupTarget(target_id));
  {
    std::lock_guard lock(mu_);
    if (jobs_.contains(target_id)) {
      return Conflict("a GC of target " + target.name + " is already running");
    }
  }
  auto job = std::make_shared<Job>();
  job->target = target;
  job->holder = "gc:" + Uuid::Random().ToString();
  auto lease =
      meta_.AcquireTargetLease(target_id, meta::LeaseKind::kGc, job->holder, options_.lease_ttl);
  if (!lease) {
    if (lease.error().code() == ErrorCode::kConflict) {
      return Conflict("target " + target.name +
                      " is busy: a backup to it is running or another GC holds it (" +
                      lease.error().message() + ")");
    }
    return std::unexpected(lease.error());
  }
  auto run = meta_.CreateGcRun(target_id);
  if (!run) {
    (void)meta_.ReleaseTargetLease(target_id, job->holder);
    return std::unexpected(run.error());
  }
  job->run_id = run->id;
  std::unique_lock lock(mu_);
  // A job of this loop may still run on the target if its lease lapsed.
  if (stop_ || jobs_.contains(target_id)) {
    const bool stopping = stop_;
    lock.unlock();
    meta::GcRunResult not_run{meta::GcRunStatus::kFailed, 0, 0,
                              stopping ? "the manager was stopping" : "another GC was running",
                              job->holder};
    if (!meta_.FinishGcRun(job->run_id, not_run)) {
      (void)meta_.ReleaseTargetLease(target_id, job->holder);
    }
    if (stopping) return Cancelled("the manager is stopping");
    return Conflict("a GC of target " + target.name + " is already running");
  }
  // Under mu_: the job's own bookkeeping at its end waits for this insert.
  jobs_.emplace(target_id, std::thread([this, job] { RunJob(job); }));
  return job->run_id;
}

void GcLoop::RunJob(std::shared_ptr<Job> job) {
  const std::string& target_id = job->target.id;
  LeaseRenewer renewer(meta_, target_id, job->holder, options_.lease_ttl);
  if (options_.on_job_start) options_.on_job_start(target_id);
  meta::GcRunResult result;
  auto repo = targets_.OpenRepository(target_id);
  // The database lease keeps this manager's own backups off the target; the
  // lock in the target keeps off everyone else's (the CLI, other managers).
  std::unique_ptr<TargetLock> lock;
  if (repo) {
    LockRequest r;
    r.exclusive = true;
    r.purpose = "gc";
    r.job = "manager GC run " + job->run_id;
    r.wait = options_.lock_wait;
    r.on_wait = [&](const std::string& holder) {
      Log("target " + job->target.name + ": GC run " + job->run_id + " waits for " + holder);
    };
    auto taken = TargetLock::Acquire((*repo)->store(), r);
    if (taken) {
      lock = std::move(*taken);
    } else {
      repo = std::unexpected(taken.error());
    }
  }
  if (repo) {
    GcOptions gc;
    gc.grace = std::chrono::seconds(job->target.gc_grace_seconds);
    gc.lock = lock.get();
    auto report = RunGc(**repo, gc);
    if (report) {
      result.chunks_deleted = int64_t(report->chunks_deleted);
      result.bytes_deleted = int64_t(report->bytes_deleted);
    } else {
      result.status = meta::GcRunStatus::kFailed;
      result.error = report.error().message();
    }
  } else {
    result.status = meta::GcRunStatus::kFailed;
    result.error = repo.error().message();
  }
  lock.reset();
  const std::string lapse = renewer.Stop();
  if (!lapse.empty()) {
    result.status = meta::GcRunStatus::kFailed;
    if (!result.error.empty()) result.error += "; ";
    result.error +=
        "the GC lease lapsed during the run, so a backup may have overlapped it "
        "(run `coffer check`): " +
        lapse;
  }
  {
    // Leave jobs_ before the lease goes: whoever gets the lease next finds
    // no job of the target here. Reap (or Stop) joins this thread later.
    std::lock_guard lock(mu_);
    auto it = jobs_.find(target_id);
    finished_.push_back(std::move(it->second));
    jobs_.erase(it);
  }
  // The run is finished and the lease released in one transaction, so a
  // client that sees the run completed can start a backup at once.
  result.lease_holder = job->holder;
  if (auto st = meta_.FinishGcRun(job->run_id, result); !st) {
    Log("target " + job->target.name + ": recording GC run " + job->run_id +
        " failed: " + st.error().message());
    if (auto rel = meta_.ReleaseTargetLease(target_id, job->holder); !rel) {
      Log("target " + job->target.name +
          ": releasing the GC lease failed (it expires by itself): " + rel.error().message());
    }
  }
  Log("target " + job->target.name + ": GC run " + job->run_id + " " +
      (result.status == meta::GcRunStatus::kCompleted
           ? "deleted " + std::to_string(result.chunks_deleted) + " chunks, " +
                 std::to_string(result.bytes_deleted) + " bytes"
           : "failed: " + result.error));
  cv_.notify_all();
}

Result<int64_t> GcLoop::Baseline(const meta::BackupTarget& target) {
  COFFER_ASSIGN_OR_RETURN(auto runs, meta_.ListGcRuns(target.id, 1));
  if (!runs.empty()) return std::max(runs.front().started_at_us, target.created_at_us);
  return target.created_at_us;
}

void GcLoop::FailAbandonedRun(const meta::BackupTarget& t) {
  // A run is created after its lease is taken and finished in the
  // transaction that releases it, and a lease is granted only when no other
  // is live. So a running run that is not the newest, or the newest one
  // without a live GC lease, belongs to a manager that stopped mid-sweep
  // (or lost its lease).
  auto runs = meta_.ListGcRuns(t.id, 20);
  if (!runs || runs->empty()) return;
  auto leases = meta_.ListTargetLeases(t.id);
  if (!leases) return;
  const bool held = std::ranges::any_of(
      *leases, [](const meta::TargetLease& l) { return l.kind == meta::LeaseKind::kGc; });
  for (size_t i = 0; i < runs->size(); ++i) {
    const meta::GcRun& run = (*runs)[i];
    if (run.status != meta::GcRunStatus::kRunning || (i == 0 && held)) continue;
    meta::GcRunResult abandoned{
        meta::GcRunStatus::kFailed, 0, 0,
        "abandoned: the manager running it stopped (or lost its lease) before it finished; "
        "a partial sweep is safe: run GC again",
        ""};
    if (meta_.FinishGcRun(run.id, abandoned)) {
      Log("target " + t.name + ": GC run " + run.id + " was abandoned; marked failed");
    }
  }
}

Result<GcTick> GcLoop::TickOnce() {
  Reap();
  GcTick tick;
  if (options_.is_leader && !options_.is_leader()) {
    state_.clear();
    return tick;
  }
  tick.leader = true;
  COFFER_ASSIGN_OR_RETURN(auto targets, AddContext(meta_.ListBackupTargets(), "listing targets"));
  const int64_t now = Now();
  const std::set<std::string> running = RunningTargets();
  std::set<std::string> seen;
  for (const meta::BackupTarget& t : targets) {
    seen.insert(t.id);
    if (!running.contains(t.id)) FailAbandonedRun(t);
    auto daily = CronSchedule::Parse("0 " + std::to_string(t.gc_hour) + " * * *");
    if (!daily) {
      Log("target " + t.name + ": " + daily.error().message());
      continue;
    }
    auto it = state_.find(t.id);
    if (it == state_.end()) {
      auto baseline = Baseline(t);
      if (!baseline) {
        Log("target " + t.name + ": " + baseline.error().message());
        continue;
      }
      it = state_.emplace(t.id, TargetState{t.gc_hour, *baseline}).first;
    } else if (it->second.gc_hour != t.gc_hour) {
      it->second = TargetState{t.gc_hour, now};  // a new hour applies from now on
      continue;
    }
    auto due = daily->NextAfter(it->second.last_slot_us);
    if (!due || *due > now) continue;
    if (running.contains(t.id)) {  // a GC running now serves this slot
      it->second.last_slot_us = now;
      continue;
    }
    auto run = Begin(t.id);
    if (run) {
      it->second.last_slot_us = now;
      tick.started.push_back(*run);
    } else if (run.error().code() == ErrorCode::kConflict) {
      ++tick.deferred;  // a backup holds the target: try again next tick
    } else {
      Log("target " + t.name + ": daily GC not started: " + run.error().message());
    }
  }
  std::erase_if(state_, [&](const auto& kv) { return !seen.contains(kv.first); });
  return tick;
}

}  // namespace coffer::manager

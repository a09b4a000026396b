// GcLoop: garbage collection of the manager's targets (DESIGN §4–§5), daily
// at each target's GC hour (UTC) and on demand.
//
// One GC of a target:
//   1. take the target's kGc lease (holder "gc:<uuid>"); the metadata store
//      refuses it while a backup of the target runs or another lease is
//      live, so a GC and a backup never overlap, however long either takes;
//   2. record a backup_gc_run row (running);
//   3. open the target with its stored key and RunGc with the target's
//      grace, renewing the lease every lease_ttl/3 on a thread of its own
//      for as long as the sweep takes;
//   4. finish the row (completed with chunks and bytes deleted, or failed
//      with the error) and release the lease, in one transaction.
// A running row without a live GC lease on its target was left by a manager
// that stopped mid-sweep; every tick marks such a row failed.
// If a renewal fails (the lease lapsed, e.g. the database was unreachable
// for longer than the ttl), the sweep cannot be stopped part-way; the run is
// recorded as failed, with its counts and the lapse in its error text, so an
// operator sees that a backup may have overlapped it.
//
// The daily GC runs only on the leader. A due GC whose lease is refused (a
// backup is running) is retried every tick until it gets the lease; then
// that day's slot is done. A missed day runs once. Where a target stands is
// recomputed from its newest GC run (else its creation time) when the loop
// first sees it, as the Scheduler does for volumes.
//
// On-demand GC (POST /v1/backup_targets/{id}/gc) runs on whichever replica
// received the request, leader or not: the lease, not leadership, is what
// keeps GC and backups apart.
//
// Thread safety: RunNow, WaitIdle and RunningTargets from any thread;
// TickOnce from one thread at a time; Start, Stop and the destructor from
// one thread. Stop (and the destructor) waits for running GCs to finish:
// a sweep is not interrupted half-way.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/error.h"
#include "manager/services/targets.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct GcLoopOptions {
  std::chrono::milliseconds tick{60'000};
  std::function<int64_t()> clock_us;  // empty: the system clock
  // As SchedulerOptions::is_leader (the daily GC only). Empty: always leader.
  std::function<bool()> is_leader;
  std::chrono::milliseconds lease_ttl{120'000};  // renewed every ttl/3
  // How long a GC waits for the target's exclusive lock (DESIGN §5): the
  // shared locks of backups, restores and checks that other programs (the
  // CLI, an agent of another manager) run on it. Then the run fails naming
  // the holder.
  std::chrono::seconds lock_wait{600};
  // As SchedulerOptions::log.
  std::function<void(std::string_view)> log;
  // Test seam: runs on a GC's own thread once its lease and run row exist,
  // before the target is opened (tests hold a GC there to look at it).
  std::function<void(const std::string& target_id)> on_job_start;
};

struct GcTick {
  bool leader = false;
  std::vector<std::string> started;  // gc run ids
  int deferred = 0;                  // due, but the lease was refused: next tick
};

class GcLoop {
 public:
  GcLoop(meta::MetaStore& meta, TargetService& targets, GcLoopOptions options = {});
  ~GcLoop();  // Stop()
  GcLoop(const GcLoop&) = delete;
  GcLoop& operator=(const GcLoop&) = delete;

  void Start();
  void Stop();

  // Starts a GC of the target now, in the background, and returns its gc run
  // id once the lease is held and the run row exists. kConflict (→ 409) while
  // a backup of the target is running or another GC holds it, naming the
  // reason; kNotFound for an unknown target; kCancelled after Stop.
  Result<std::string> RunNow(const std::string& target_id);

  // One round of the daily schedule (leader only).
  Result<GcTick> TickOnce();

  // Blocks until no GC started by this loop is running (tests, shutdown).
  void WaitIdle();
  // Targets with a GC of this loop running now.
  std::set<std::string> RunningTargets();

 private:
  struct Job;
  struct TargetState {
    int gc_hour = -1;
    int64_t last_slot_us = 0;
  };
  int64_t Now() const;
  void Log(const std::string& message) const;
  void Reap();  // joins the threads of finished jobs
  Result<int64_t> Baseline(const meta::BackupTarget& target);
  // Marks failed the running GC runs of t that nobody runs any more.
  void FailAbandonedRun(const meta::BackupTarget& t);
  Result<std::string> Begin(const std::string& target_id);  // lease, row, thread
  void RunJob(std::shared_ptr<Job> job);
  void Loop();

  meta::MetaStore& meta_;
  TargetService& targets_;
  GcLoopOptions options_;
  std::map<std::string, TargetState> state_;  // TickOnce's thread only

  std::mutex mu_;
  std::condition_variable cv_;  // loop wake-up and job completion
  bool stop_ = false;
  std::map<std::string, std::thread> jobs_;  // by target id
  std::vector<std::thread> finished_;        // to join
  std::thread thread_;
};

}  // namespace coffer::manager

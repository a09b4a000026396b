// Scheduler: the manager's cron loop (DESIGN §4). On its own thread, every
// tick, and only while this replica is the leader, it starts a backup (via
// BackupStarter) of every volume whose cron slot has come.
//
// Rules:
//   - A missed slot runs once: if the manager was down (or not leader) across
//     several slots of a volume, the volume gets one backup when it comes
//     back, not one per slot.
//   - Never two runs of one volume at once: StartBackup's kConflict while a
//     backup of the volume is still running means "skip this slot"; the next
//     slot is the next chance.
//   - A slot that meets a GC of the volume's target (a live kGc lease) waits
//     for it: it is tried again every tick and runs once the GC has ended,
//     rather than being dropped until the next slot (a daily "0 3 * * *"
//     meets the default gc_hour 3).
//   - Any other error is logged and the slot counts as done, so an
//     unreachable agent is not sent a new attempt every tick.
//   - Where a volume stands (its last handled slot) is remembered in memory
//     and, because the metadata store has no field for it, recomputed from
//     the database when the scheduler first sees the volume (process start,
//     leadership gained): the newest backup's start time (any status, any
//     reason), else the volume's creation time. A slot after that time that
//     has passed is "missed" and runs once. A volume whose cron expression
//     changes while the scheduler runs starts afresh from that moment (the
//     new expression's past slots are not "missed").
//   - Cron times are UTC (cron.h). An unparsable cron (the REST layer
//     validates, so only an old or hand-edited row) is logged once and
//     skipped. A volume without target or without cron is not scheduled.
//
// Thread safety: Start, Stop and the destructor from one thread; TickOnce
// from one thread at a time (it is what the loop thread calls; tests call
// it directly without Start).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/error.h"
#include "manager/services/backup_starter.h"
#include "meta/meta_store.h"

namespace coffer::manager {

struct SchedulerOptions {
  std::chrono::milliseconds tick{15'000};
  // Microseconds since the epoch; empty: the system clock. Tests pass one
  // they move.
  std::function<int64_t()> clock_us;
  // Whether this replica may run background work now, asked before every
  // tick. The manager passes one function, shared by all its loops, over its
  // single meta::LeaderLock (TryAcquire, then StillHeld; serialised by a
  // mutex, since a LeaderLock is single-threaded). Empty: always leader.
  std::function<bool()> is_leader;
  // Where the loop's messages go (the manager passes its log); empty:
  // stderr. Messages never hold secrets.
  std::function<void(std::string_view)> log;
};

// What one tick did, for tests and the log.
struct SchedulerTick {
  bool leader = false;
  int started = 0;  // backups started
  int skipped = 0;  // slots skipped: the volume's backup was still running
  int waiting = 0;  // slots waiting for a GC of their target to end
  int failed = 0;   // other StartBackup errors (logged)
};

class Scheduler {
 public:
  Scheduler(meta::MetaStore& meta, BackupStarter& starter, SchedulerOptions options = {});
  ~Scheduler();  // stops the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the loop thread: a tick at once, then one every options.tick.
  void Start();
  // Wakes the thread and joins it; a tick in progress finishes first.
  void Stop();

  // One round: if leader, start the backups that are due. When not leader,
  // the in-memory state is dropped, so leadership gained later starts from
  // the database again. An error reading the volumes is returned.
  Result<SchedulerTick> TickOnce();

 private:
  struct VolumeState {
    std::string cron;
    int64_t last_slot_us = 0;   // slots at or before this are handled
    bool waits_for_gc = false;  // a slot came while a GC held the target
  };
  // Whether a GC holds the target now (a live kGc lease).
  bool GcHolds(const std::string& target_id);
  int64_t Now() const;
  void Log(const std::string& message) const;
  Result<int64_t> Baseline(const meta::Volume& volume);
  void Loop();

  meta::MetaStore& meta_;
  BackupStarter& starter_;
  SchedulerOptions options_;
  std::map<std::string, VolumeState> state_;     // by volume id; TickOnce's thread only
  std::map<std::string, std::string> bad_cron_;  // volume id → cron already logged as bad

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace coffer::manager

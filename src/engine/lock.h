// Locks in the target (DESIGN §5, docs/FORMAT.md "Locks"): objects
// "locks/<uuid>", one per holder, taken by every program that writes or reads
// a target: the CLI, the agent's jobs and the manager's GC alike. Backups,
// restores, checks and forgets hold a shared lock; a GC holds the exclusive
// one. A process writes its own lock first and then lists the others, so of
// two racing processes at least one sees the other and backs off.
//
// A lock is rewritten every stale_after/6 while held, and says who holds it
// (host, host id, process and its start time, job) and after how long
// without a rewrite it may be taken for abandoned. It is stale, and so
// ignored and removed by the next taker (which may say so: on_removed), only
// when its holder is provably gone:
//   - it was not rewritten for longer than the stale_after it declares
//     (30 minutes unless COFFER_LOCK_STALE_AFTER says otherwise), or
//   - its holder is provably gone by base/process_identity.h: on this host
//     (same host id: machine id and PID namespace), and either another
//     boot, or a process that has exited (a zombie too), or a process of
//     that id started at another time (the id was reused).
// Anything else is live; `coffer unlock --all` is the operator's tool for a
// lock whose holder they know to be gone but cannot be proven so.
//
// A holder that was paused past its stale_after (SIGSTOP, a VM frozen) may
// find its lock broken: the refresher notices the object is gone and marks
// the lock lost. Reassert() puts it back if nobody incompatible holds the
// target meanwhile; callers that commit something (a manifest, a sweep) call
// it first.
//
// Thread safety: a TargetLock is owned by one thread; its refresher runs in
// its own thread until the lock is released. lost() may be read from any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/process_identity.h"
#include "store/object_store.h"

namespace coffer {

inline constexpr std::string_view kLockPrefix = "locks/";

struct LockInfo {
  std::string key;
  bool exclusive = false;
  std::string purpose;  // "backup", "restore", "check", "forget", "gc"
  std::string host;     // the holder's host name, for people
  std::string host_id;  // machine id and PID namespace; empty in old locks
  std::string boot_id;
  int64_t pid = 0;
  uint64_t pid_start = 0;  // the process's start time, clock ticks after boot
  std::string job;         // what the holder works on: a backup or job id, or empty
  int64_t created_at = 0;
  int64_t refreshed_at = 0;  // the object's modification time
  int64_t stale_after = 0;   // seconds, as the holder declared it
  bool stale = false;
  std::string stale_reason;  // why it is stale, when it is
};

// Who this process is, as its locks say it (base/process_identity.h).
using LockOwner = ProcessIdentity;

struct LockRequest {
  bool exclusive = false;
  std::string purpose;
  std::string job;  // optional: the backup or job the lock is for
  // How long to wait for incompatible holders to go before giving up with
  // kUnavailable; 0: give up at once.
  std::chrono::seconds wait{0};
  // Called once, when the first attempt meets a holder and `wait` > 0, with
  // the description of that holder.
  std::function<void(const std::string&)> on_wait;
  // When set and it becomes true, a wait ends at once with kCancelled (an
  // agent job cancelled while it waits for a GC).
  const std::atomic<bool>* cancel = nullptr;
  // Called for each lock of a provably gone holder that this taker removed
  // (its stale_reason says why), here and in Reassert, so that the caller
  // can say so where its user looks.
  std::function<void(const LockInfo&)> on_removed;
};

class TargetLock {
 public:
  static constexpr std::chrono::seconds kDefaultStaleAfter{1800};
  static constexpr std::chrono::seconds kMinStaleAfter{3};

  // COFFER_LOCK_STALE_AFTER when set (a duration: 90s, 30m), else 30 min.
  static std::chrono::seconds StaleAfterFromEnvironment();

  // Takes the lock, waiting up to request.wait for incompatible holders to
  // go; kUnavailable names the one that stayed. Stale locks met on the way
  // are removed (and passed to request.on_removed).
  static Result<std::unique_ptr<TargetLock>> Acquire(ObjectStore& store,
                                                     const LockRequest& request);
  static Result<std::unique_ptr<TargetLock>> Acquire(ObjectStore& store, bool exclusive,
                                                     std::string purpose) {
    return Acquire(store, LockRequest{.exclusive = exclusive, .purpose = std::move(purpose)});
  }
  ~TargetLock();  // stops refreshing and deletes the lock object

  const std::string& key() const { return key_; }
  // The refresher found the lock object gone: someone judged it stale.
  bool lost() const { return lost_.load(); }

  // Makes sure the lock is in the target now: confirms the object is there
  // (one HEAD), or, if it was broken, writes it again and fails with
  // kUnavailable when an incompatible holder took the target meanwhile.
  Status Reassert();

 private:
  TargetLock(ObjectStore& store, std::string key, std::string body, bool exclusive,
             std::chrono::seconds stale_after, std::function<void(const LockInfo&)> on_removed);
  void RefreshLoop();

  ObjectStore& store_;
  const std::string key_, body_;
  const bool exclusive_;
  const std::chrono::seconds stale_after_;
  const std::function<void(const LockInfo&)> on_removed_;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

// Every lock object in the store, with its staleness judged now.
Result<std::vector<LockInfo>> ListLocks(ObjectStore& store);

// Removes stale locks (or all, with `all`); returns how many.
Result<int> RemoveLocks(ObjectStore& store, bool all);

// "a shared lock (backup of job 3f…) held by pid 42 on host-a since …"
std::string DescribeLock(const LockInfo& lock);

}  // namespace coffer

// Advisory locks for standalone CLI use (DESIGN §5): objects "locks/<uuid>".
// Backups and forgets take a shared lock, gc an exclusive one. A process
// writes its own lock first and then looks at the others, so of two racing
// processes at least one sees the other and backs off.
//
// A lock is refreshed (rewritten) every few minutes while held. It is stale,
// and ignored, when it was not refreshed for kStaleAfter, or when it names a
// process on this host that no longer runs (a `kill -9`). `coffer unlock`
// removes stale locks; `--all` removes every lock.
//
// Thread safety: a TargetLock is owned by one thread; its refresher runs in
// its own thread until the lock is released.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/error.h"
#include "store/object_store.h"

namespace coffer {

inline constexpr std::string_view kLockPrefix = "locks/";

struct LockInfo {
  std::string key;
  bool exclusive = false;
  std::string purpose;  // "backup", "gc", …
  std::string host;
  int64_t pid = 0;
  int64_t created_at = 0;
  int64_t refreshed_at = 0;  // the object's modification time
  bool stale = false;
};

class TargetLock {
 public:
  static constexpr std::chrono::seconds kRefreshEvery{300};
  static constexpr std::chrono::seconds kStaleAfter{1800};

  // Takes the lock or returns kUnavailable naming the conflicting holder.
  static Result<std::unique_ptr<TargetLock>> Acquire(ObjectStore& store, bool exclusive,
                                                     std::string purpose);
  ~TargetLock();  // stops refreshing and deletes the lock object

 private:
  TargetLock(ObjectStore& store, std::string key, std::string body);
  void RefreshLoop();

  ObjectStore& store_;
  std::string key_, body_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

// Every lock object in the store, with its staleness judged now.
Result<std::vector<LockInfo>> ListLocks(ObjectStore& store);

// Removes stale locks (or all, with `all`); returns how many.
Result<int> RemoveLocks(ObjectStore& store, bool all);

}  // namespace coffer

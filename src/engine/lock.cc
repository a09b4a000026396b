#include "engine/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/text.h"
#include "base/uuid.h"

namespace coffer {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

std::string Describe(const LockInfo& l) {
  return std::string(l.exclusive ? "an exclusive" : "a shared") + " lock (" + l.purpose +
         ") held by pid " + std::to_string(l.pid) + " on " + l.host + " since " +
         FormatRfc3339(l.created_at);
}

}  // namespace

Result<std::vector<LockInfo>> ListLocks(ObjectStore& store) {
  std::vector<LockInfo> locks;
  std::string self_host = HostName();
  int64_t now = UnixNow();
  COFFER_RETURN_IF_ERROR(store.List(kLockPrefix, [&](const ObjectInfo& info) -> Status {
    auto raw = GetAll(store, info.key);
    if (!raw) {
      if (raw.error().code() == ErrorCode::kNotFound) return {};  // released meanwhile
      return std::unexpected(raw.error());
    }
    LockInfo l;
    l.key = info.key;
    l.refreshed_at = info.mtime;
    auto j = nlohmann::json::parse(AsChars(*raw), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      l.purpose = "unreadable";
      l.stale = now - info.mtime > TargetLock::kStaleAfter.count();
      l.exclusive = true;  // assume the worst until it is stale
    } else {
      l.exclusive = j.value("exclusive", true);
      l.purpose = j.value("purpose", "");
      l.host = j.value("host", "");
      l.pid = j.value("pid", int64_t(0));
      l.created_at = j.value("created_at", int64_t(0));
      l.stale = now - info.mtime > TargetLock::kStaleAfter.count() ||
                (l.host == self_host && !ProcessAlive(l.pid));
    }
    locks.push_back(std::move(l));
    return {};
  }));
  return locks;
}

Result<std::unique_ptr<TargetLock>> TargetLock::Acquire(ObjectStore& store, bool exclusive,
                                                        std::string purpose) {
  nlohmann::json j = {{"exclusive", exclusive},
                      {"purpose", purpose},
                      {"host", HostName()},
                      {"pid", int64_t(::getpid())},
                      {"created_at", UnixNow()}};
  std::string key = std::string(kLockPrefix) + Uuid::Random().ToString();
  std::string body = j.dump();
  COFFER_RETURN_IF_ERROR(store.Put(key, AsBytes(body)));
  std::unique_ptr<TargetLock> lock(new TargetLock(store, key, body));
  COFFER_ASSIGN_OR_RETURN(std::vector<LockInfo> locks, ListLocks(store));
  for (const LockInfo& other : locks) {
    if (other.key == key || other.stale) continue;
    if (exclusive || other.exclusive) {
      return Unavailable("the target is locked: " + Describe(other) +
                         ". If that process is gone, run `coffer unlock`.");
    }
  }
  return lock;
}

TargetLock::TargetLock(ObjectStore& store, std::string key, std::string body)
    : store_(store), key_(std::move(key)), body_(std::move(body)) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

TargetLock::~TargetLock() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  refresher_.join();
  (void)store_.Delete(key_);  // if this fails, the lock goes stale and is ignored
}

void TargetLock::RefreshLoop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, kRefreshEvery, [this] { return stop_; })) {
    lock.unlock();
    (void)store_.Put(key_, AsBytes(body_));  // a missed refresh is retried next round
    lock.lock();
  }
}

Result<int> RemoveLocks(ObjectStore& store, bool all) {
  COFFER_ASSIGN_OR_RETURN(std::vector<LockInfo> locks, ListLocks(store));
  int removed = 0;
  for (const LockInfo& l : locks) {
    if (!all && !l.stale) continue;
    COFFER_RETURN_IF_ERROR(store.Delete(l.key));
    ++removed;
  }
  return removed;
}

}  // namespace coffer

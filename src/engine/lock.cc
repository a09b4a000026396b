#include "engine/lock.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>

#include "base/text.h"
#include "base/uuid.h"

namespace coffer {
namespace {

// Why `l` is stale, or "" when it is live, judged at `now` by `self`.
std::string StaleReason(const LockInfo& l, const LockOwner& self, int64_t now) {
  const int64_t quiet = now - l.refreshed_at;
  if (quiet > l.stale_after) {
    return "not refreshed for " + std::to_string(quiet) + " s, longer than the " +
           std::to_string(l.stale_after) + " s its holder promised";
  }
  ProcessIdentity holder{.host = l.host,
                         .host_id = l.host_id,
                         .boot_id = l.boot_id,
                         .pid = l.pid,
                         .pid_start = l.pid_start};
  // A lock without a host id names its host by name alone.
  if (holder.host_id.empty() && l.host == self.host) holder.host_id = self.host_id;
  return WhyProcessGone(holder, self);
}

LockInfo ParseLock(const ObjectInfo& info, ByteView raw) {
  LockInfo l;
  l.key = info.key;
  l.refreshed_at = info.mtime;
  l.stale_after = TargetLock::kDefaultStaleAfter.count();
  auto j = nlohmann::json::parse(AsChars(raw), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    l.purpose = "unreadable";
    l.exclusive = true;  // assume the worst until it is stale
    return l;
  }
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) -> int64_t {
    auto it = j.find(k);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  auto it = j.find("exclusive");
  l.exclusive = it == j.end() || !it->is_boolean() || it->get<bool>();
  l.purpose = str("purpose");
  l.host = str("host");
  l.host_id = str("host_id");
  l.boot_id = str("boot_id");
  l.pid = num("pid");
  l.pid_start = uint64_t(std::max<int64_t>(0, num("pid_start")));
  l.job = str("job");
  l.created_at = num("created_at");
  if (int64_t s = num("stale_after"); s > 0) {
    l.stale_after = std::max<int64_t>(s, TargetLock::kMinStaleAfter.count());
  }
  return l;
}

bool Conflicts(bool exclusive, const LockInfo& other) { return exclusive || other.exclusive; }

// The first live lock among `locks` that conflicts with a holder of kind
// `exclusive` (other than `self_key`); removes the stale ones it passes.
std::optional<LockInfo> FirstConflict(ObjectStore& store, const std::vector<LockInfo>& locks,
                                      const std::string& self_key, bool exclusive,
                                      const std::function<void(const LockInfo&)>& on_removed) {
  std::optional<LockInfo> conflict;
  for (const LockInfo& other : locks) {
    if (other.key == self_key) continue;
    if (other.stale) {
      // Broken: its holder is provably gone. Left in place, it would be
      // read again by every command that lists the locks.
      if (store.Delete(other.key) && on_removed) on_removed(other);
      continue;
    }
    if (!conflict && Conflicts(exclusive, other)) conflict = other;
  }
  return conflict;
}

std::unexpected<Error> Held(const LockInfo& other, bool waited) {
  return Unavailable(std::string("the target is locked") + (waited ? " still" : "") + ": " +
                     DescribeLock(other) +
                     (other.exclusive ? ". Try again when it is done"
                                      : ". A GC waits until no backup, restore or check runs") +
                     (waited ? "" : " (the CLI waits for it with --lock-wait)") +
                     ". If that process is gone and this was not detected, run `coffer unlock "
                     "--all` once you are sure.");
}

}  // namespace

std::string DescribeLock(const LockInfo& l) {
  std::string s = std::string(l.exclusive ? "an exclusive" : "a shared") + " lock (" + l.purpose;
  if (!l.job.empty()) s += " " + l.job;
  s += ") held by pid " + std::to_string(l.pid) + " on " + (l.host.empty() ? "?" : l.host);
  if (l.created_at > 0) s += " since " + FormatRfc3339(l.created_at);
  s += ", last refreshed " + FormatRfc3339(l.refreshed_at);
  return s;
}

std::chrono::seconds TargetLock::StaleAfterFromEnvironment() {
  const char* env = std::getenv("COFFER_LOCK_STALE_AFTER");
  if (env == nullptr || *env == '\0') return kDefaultStaleAfter;
  auto d = ParseDuration(env);
  if (!d) return kDefaultStaleAfter;
  return std::max(*d, kMinStaleAfter);
}

namespace {

// Every lock but `own` (whose body the caller knows: not read).
Result<std::vector<LockInfo>> ListOtherLocks(ObjectStore& store, const std::string& own) {
  std::vector<LockInfo> locks;
  const LockOwner& self = LockOwner::Self();
  int64_t now = UnixNow();
  COFFER_RETURN_IF_ERROR(store.List(kLockPrefix, [&](const ObjectInfo& info) -> Status {
    if (info.key == own) return {};
    auto raw = GetAll(store, info.key);
    if (!raw) {
      if (raw.error().code() == ErrorCode::kNotFound) return {};  // released meanwhile
      return std::unexpected(raw.error());
    }
    LockInfo l = ParseLock(info, *raw);
    l.stale_reason = StaleReason(l, self, now);
    l.stale = !l.stale_reason.empty();
    locks.push_back(std::move(l));
    return {};
  }));
  return locks;
}

}  // namespace

Result<std::vector<LockInfo>> ListLocks(ObjectStore& store) { return ListOtherLocks(store, ""); }

Result<std::unique_ptr<TargetLock>> TargetLock::Acquire(ObjectStore& store,
                                                        const LockRequest& request) {
  const LockOwner& self = LockOwner::Self();
  const std::chrono::seconds stale_after = StaleAfterFromEnvironment();
  nlohmann::json j = {{"version", 1},
                      {"exclusive", request.exclusive},
                      {"purpose", request.purpose},
                      {"job", request.job},
                      {"host", self.host},
                      {"host_id", self.host_id},
                      {"boot_id", self.boot_id},
                      {"pid", self.pid},
                      {"pid_start", self.pid_start},
                      {"created_at", UnixNow()},
                      {"stale_after", int64_t(stale_after.count())}};
  const std::string key = std::string(kLockPrefix) + Uuid::Random().ToString();
  const std::string body = j.dump();
  const auto deadline = std::chrono::steady_clock::now() + request.wait;
  std::mt19937 rng(std::random_device{}());
  auto backoff = std::chrono::milliseconds(200);
  bool told = false;
  for (;;) {
    COFFER_RETURN_IF_ERROR(AddContext(store.Put(key, AsBytes(body)), "writing lock " + key));
    auto locks = ListOtherLocks(store, key);
    if (!locks) {
      (void)store.Delete(key);
      return std::unexpected(locks.error().WithContext("listing locks"));
    }
    std::optional<LockInfo> conflict =
        FirstConflict(store, *locks, key, request.exclusive, request.on_removed);
    if (!conflict) {
      return std::unique_ptr<TargetLock>(
          new TargetLock(store, key, body, request.exclusive, stale_after, request.on_removed));
    }
    // Step aside, so that a holder waiting for us (two takers that met)
    // is not kept out while we wait in turn.
    (void)store.Delete(key);
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return Held(*conflict, request.wait.count() > 0);
    if (!told && request.on_wait) request.on_wait(DescribeLock(*conflict));
    told = true;
    // Jittered, so that two takers that keep meeting stop meeting; in short
    // steps, so that a cancel ends the wait within a tenth of a second.
    auto pause = backoff / 2 + std::chrono::milliseconds(rng() % (backoff.count() + 1));
    const auto until = now + std::min<std::chrono::steady_clock::duration>(pause, deadline - now);
    while (std::chrono::steady_clock::now() < until) {
      if (request.cancel != nullptr && request.cancel->load()) {
        return Cancelled("cancelled while waiting for " + DescribeLock(*conflict));
      }
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(100), until - std::chrono::steady_clock::now()));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

TargetLock::TargetLock(ObjectStore& store, std::string key, std::string body, bool exclusive,
                       std::chrono::seconds stale_after,
                       std::function<void(const LockInfo&)> on_removed)
    : store_(store),
      key_(std::move(key)),
      body_(std::move(body)),
      exclusive_(exclusive),
      stale_after_(stale_after),
      on_removed_(std::move(on_removed)) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

TargetLock::~TargetLock() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  refresher_.join();
  // A lost lock's object may belong to nobody now, or be ours again after
  // Reassert; either way it goes. If this fails, it goes stale.
  (void)store_.Delete(key_);
}

void TargetLock::RefreshLoop() {
  const auto every = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(500),
      std::chrono::duration_cast<std::chrono::milliseconds>(stale_after_) / 6);
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, every, [this] { return stop_; })) {
    lock.unlock();
    // Rewritten only while it is there: a lock someone broke is not put
    // back behind their back (Reassert does that, and checks first).
    auto head = store_.Head(key_);
    if (!head && head.error().code() == ErrorCode::kNotFound) {
      lost_ = true;
    } else if (head && !lost_) {
      (void)store_.Put(key_, AsBytes(body_));  // a missed refresh is retried next round
    }
    lock.lock();
  }
}

Status TargetLock::Reassert() {
  auto head = store_.Head(key_);
  if (!head && head.error().code() != ErrorCode::kNotFound) {
    return std::unexpected(head.error().WithContext("confirming lock " + key_));
  }
  bool was_lost = lost_ || !head;
  if (was_lost) {
    COFFER_RETURN_IF_ERROR(AddContext(store_.Put(key_, AsBytes(body_)), "writing lock " + key_));
  }
  // A shared holder whose lock stayed in place is protected as it was; an
  // exclusive one (GC) checks that nobody judged it gone meanwhile.
  if (!was_lost && !exclusive_) return {};
  for (int look = 0;; ++look) {
    COFFER_ASSIGN_OR_RETURN(std::vector<LockInfo> locks,
                            AddContext(ListOtherLocks(store_, key_), "listing locks"));
    std::optional<LockInfo> other = FirstConflict(store_, locks, key_, exclusive_, on_removed_);
    if (!other) break;
    // Whoever breaks a lock deletes it, so while ours stayed in place a
    // conflicting lock is a taker that saw ours and is backing off: it is
    // gone in a moment. One that stays, or a lock of ours that was broken,
    // means someone else holds the target.
    if (!was_lost && look < 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      auto again = store_.Head(key_);
      if (!again && again.error().code() == ErrorCode::kNotFound) {
        was_lost = true;
        COFFER_RETURN_IF_ERROR(
            AddContext(store_.Put(key_, AsBytes(body_)), "writing lock " + key_));
      }
      continue;
    }
    lost_ = true;
    return Unavailable(std::string(was_lost ? "this process's lock on the target was broken "
                                              "while it did not refresh it (paused?), and "
                                            : "") +
                       DescribeLock(*other) + " holds the target now");
  }
  lost_ = false;
  return {};
}

Result<int> RemoveLocks(ObjectStore& store, bool all) {
  COFFER_ASSIGN_OR_RETURN(std::vector<LockInfo> locks, ListLocks(store));
  int removed = 0;
  for (const LockInfo& l : locks) {
    if (!all && !l.stale) continue;
    if (auto st = store.Delete(l.key); !st && st.error().code() != ErrorCode::kNotFound) {
      return std::unexpected(st.error());
    }
    ++removed;
  }
  return removed;
}

}  // namespace coffer

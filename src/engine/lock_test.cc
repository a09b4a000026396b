// The lock protocol (DESIGN §5, docs/FORMAT.md "Locks") on an in-memory
// store. The checks a backup makes before its manifest are in
// engine_test.cc; the protocol between real processes (CLI, agent, manager)
// in tests/gc_race_test.cc.
#include "engine/lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/text.h"
#include "store/mem/mem_store.h"

namespace coffer {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class LockTest : public testing::Test {
 protected:
  // A lock object as another process would write it; `fields` override.
  void PutLock(const std::string& name, json fields, int64_t age_seconds = 0) {
    json j = {{"version", 1},        {"exclusive", false},  {"purpose", "backup"},
              {"host", "elsewhere"}, {"host_id", "host-b"}, {"boot_id", "boot-b"},
              {"pid", 999999999},    {"pid_start", 12345},  {"created_at", UnixNow()},
              {"stale_after", 1800}};
    if (fields.is_object()) j.update(fields);
    const std::string key = "locks/" + name;
    ASSERT_TRUE(store_.Put(key, AsBytes(j.dump())).has_value());
    if (age_seconds > 0) {
      ASSERT_TRUE(store_.SetModTime(key, UnixNow() - age_seconds).has_value());
    }
  }
  std::optional<LockInfo> Find(const std::string& name) {
    auto locks = ListLocks(store_);
    EXPECT_TRUE(locks.has_value());
    for (const LockInfo& l : *locks) {
      if (l.key == "locks/" + name) return l;
    }
    return std::nullopt;
  }
  bool Exists(const std::string& name) { return store_.Head("locks/" + name).has_value(); }

  MemStore store_;
};

TEST_F(LockTest, SharedLocksShareAndTheExclusiveOneExcludesBothWays) {
  auto a = TargetLock::Acquire(store_, false, "backup");
  auto b = TargetLock::Acquire(store_, false, "restore");
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto gc = TargetLock::Acquire(store_, true, "gc");
  ASSERT_FALSE(gc.has_value());
  EXPECT_EQ(gc.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(gc.error().message().find("a shared lock ("), std::string::npos)
      << gc.error().message();
  // The refused taker left nothing behind.
  EXPECT_EQ(ListLocks(store_)->size(), 2u);
  a->reset();
  b->reset();
  EXPECT_TRUE(ListLocks(store_)->empty());
  auto gc2 = TargetLock::Acquire(store_, true, "gc");
  ASSERT_TRUE(gc2.has_value());
  auto backup = TargetLock::Acquire(store_, false, "backup");
  ASSERT_FALSE(backup.has_value());
  EXPECT_NE(backup.error().message().find("an exclusive lock (gc"), std::string::npos);
}

TEST_F(LockTest, ALockSaysWhoHoldsIt) {
  auto held = TargetLock::Acquire(
      store_, LockRequest{.exclusive = false, .purpose = "backup", .job = "backup 3f2a"});
  ASSERT_TRUE(held.has_value());
  auto raw = GetAll(store_, (*held)->key());
  ASSERT_TRUE(raw.has_value());
  json j = json::parse(AsChars(*raw));
  const LockOwner& self = LockOwner::Self();
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["exclusive"], false);
  EXPECT_EQ(j["purpose"], "backup");
  EXPECT_EQ(j["job"], "backup 3f2a");
  EXPECT_EQ(j["host_id"], self.host_id);
  EXPECT_EQ(j["boot_id"], self.boot_id);
  EXPECT_EQ(j["pid"], int64_t(::getpid()));
  EXPECT_GT(j["pid_start"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["pid_start"], self.pid_start);
  EXPECT_EQ(j["stale_after"], 1800);
  EXPECT_FALSE(self.host_id.empty());
}

// Stale only when the holder is provably gone: on this host by its process
// (gone, or its id reused) or its boot; anywhere by the silence it promised.
TEST_F(LockTest, ALockIsStaleOnlyWhenItsHolderIsProvablyGone) {
  const LockOwner& self = LockOwner::Self();
  // Another host's process cannot be looked at: live however its pid looks.
  PutLock("other-host", json::object());
  // This host, a process that does not exist.
  PutLock("dead", {{"host_id", self.host_id}, {"boot_id", self.boot_id}});
  // This host, this process's id but another start time: the id was reused.
  PutLock("reused", {{"host_id", self.host_id},
                     {"boot_id", self.boot_id},
                     {"pid", int64_t(::getpid())},
                     {"pid_start", self.pid_start + 1}});
  // This host, this very process: live.
  PutLock("alive", {{"host_id", self.host_id},
                    {"boot_id", self.boot_id},
                    {"pid", int64_t(::getpid())},
                    {"pid_start", self.pid_start}});
  // This host before a reboot.
  PutLock("rebooted", {{"host_id", self.host_id},
                       {"boot_id", "an-earlier-boot"},
                       {"pid", int64_t(::getpid())},
                       {"pid_start", self.pid_start}});
  // Another host, silent for longer than it promised; and one silent for
  // 40 minutes that promised 2 hours.
  PutLock("silent", {{"stale_after", 60}}, 61 + 5);
  PutLock("patient", {{"stale_after", 7200}}, 2400);
  // Unreadable: live until the default 30 minutes pass.
  ASSERT_TRUE(store_.Put("locks/garbage-new", AsBytes("{not json")).has_value());
  ASSERT_TRUE(store_.Put("locks/garbage-old", AsBytes("\x01\x02")).has_value());
  ASSERT_TRUE(store_.SetModTime("locks/garbage-old", UnixNow() - 1801).has_value());

  EXPECT_FALSE(Find("other-host")->stale);
  EXPECT_TRUE(Find("dead")->stale);
  EXPECT_NE(Find("dead")->stale_reason.find("has exited"), std::string::npos);
  EXPECT_TRUE(Find("reused")->stale);
  EXPECT_NE(Find("reused")->stale_reason.find("another process"), std::string::npos);
  EXPECT_FALSE(Find("alive")->stale);
  EXPECT_TRUE(Find("rebooted")->stale);
  EXPECT_NE(Find("rebooted")->stale_reason.find("restarted"), std::string::npos);
  EXPECT_TRUE(Find("silent")->stale);
  EXPECT_NE(Find("silent")->stale_reason.find("not refreshed for"), std::string::npos);
  EXPECT_FALSE(Find("patient")->stale);
  EXPECT_FALSE(Find("garbage-new")->stale);
  EXPECT_TRUE(Find("garbage-new")->exclusive);  // the worst is assumed
  EXPECT_TRUE(Find("garbage-old")->stale);

  // A taker removes the stale ones it meets and is held by the live ones.
  auto gc = TargetLock::Acquire(store_, true, "gc");
  ASSERT_FALSE(gc.has_value());
  for (const char* gone : {"dead", "reused", "rebooted", "silent", "garbage-old"}) {
    EXPECT_FALSE(Exists(gone)) << gone;
  }
  for (const char* live : {"other-host", "alive", "patient", "garbage-new"}) {
    EXPECT_TRUE(Exists(live)) << live;
  }
  // `coffer unlock` removes the stale (none left), --all the rest.
  EXPECT_EQ(*RemoveLocks(store_, false), 0);
  EXPECT_EQ(*RemoveLocks(store_, true), 4);
  EXPECT_TRUE(TargetLock::Acquire(store_, true, "gc").has_value());
}

TEST_F(LockTest, ATakerWaitsForAHolderToGoAndSaysWhatItWaitsFor) {
  auto backup = TargetLock::Acquire(store_, false, "backup");
  ASSERT_TRUE(backup.has_value());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    backup->reset();
  });
  std::vector<std::string> told;
  auto gc = TargetLock::Acquire(
      store_, LockRequest{.exclusive = true,
                          .purpose = "gc",
                          .wait = seconds(30),
                          .on_wait = [&](const std::string& h) { told.push_back(h); }});
  release.join();
  ASSERT_TRUE(gc.has_value()) << gc.error().message();
  ASSERT_EQ(told.size(), 1u);
  EXPECT_NE(told[0].find("a shared lock (backup"), std::string::npos) << told[0];

  // A holder that stays: the wait ends with the holder named.
  const auto start = std::chrono::steady_clock::now();
  auto late = TargetLock::Acquire(
      store_, LockRequest{.exclusive = false, .purpose = "backup", .wait = seconds(1)});
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(late.has_value());
  EXPECT_GE(waited, 1.0);
  EXPECT_NE(late.error().message().find("locked still"), std::string::npos)
      << late.error().message();
  EXPECT_EQ(ListLocks(store_)->size(), 1u);  // the waiter's own lock is gone
}

TEST_F(LockTest, ACancelEndsAWaitAtOnce) {
  auto gc = TargetLock::Acquire(store_, true, "gc");
  ASSERT_TRUE(gc.has_value());
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  auto waited = TargetLock::Acquire(
      store_, LockRequest{.purpose = "backup", .wait = seconds(600), .cancel = &cancel});
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  canceller.join();
  ASSERT_FALSE(waited.has_value());
  EXPECT_EQ(waited.error().code(), ErrorCode::kCancelled);
  EXPECT_NE(waited.error().message().find("waiting for an exclusive lock (gc"), std::string::npos)
      << waited.error().message();
  EXPECT_LT(took, 60.0);                     // not the 600 s it was willing to wait
  EXPECT_EQ(ListLocks(store_)->size(), 1u);  // the waiter left nothing
}

// A holder that was paused past its promise finds its lock broken, and
// takes it back only if nobody incompatible took the target meanwhile.
TEST_F(LockTest, ABrokenLockIsNoticedAndTakenBackOnlyIfTheTargetIsFree) {
  ::setenv("COFFER_LOCK_STALE_AFTER", "3s", 1);  // refreshed every 0.5 s
  auto held = TargetLock::Acquire(store_, false, "backup");
  ::unsetenv("COFFER_LOCK_STALE_AFTER");
  ASSERT_TRUE(held.has_value());
  TargetLock& lock = **held;
  EXPECT_TRUE(lock.Reassert().has_value());  // in place: one HEAD
  ASSERT_TRUE(store_.Delete(lock.key()).has_value());
  for (int i = 0; i < 100 && !lock.lost(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(lock.lost());
  EXPECT_FALSE(store_.Head(lock.key()).has_value());  // not rewritten behind anyone's back
  // Nobody took the target: put back.
  ASSERT_TRUE(lock.Reassert().has_value());
  EXPECT_FALSE(lock.lost());
  EXPECT_TRUE(store_.Head(lock.key()).has_value());

  // Broken again, and a GC took the target meanwhile: refused.
  ASSERT_TRUE(store_.Delete(lock.key()).has_value());
  PutLock("gc", {{"exclusive", true}, {"purpose", "gc"}});
  auto st = lock.Reassert();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("was broken"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("an exclusive lock (gc"), std::string::npos);
  EXPECT_TRUE(lock.lost());
}

// A GC confirms the target is still its own before it deletes: a backup
// that meets its lock and backs off is no obstacle, one that holds a lock
// of its own beside the GC's is.
TEST_F(LockTest, AnExclusiveHolderTellsATakerBackingOffFromAHolder) {
  auto gc = TargetLock::Acquire(store_, true, "gc");
  ASSERT_TRUE(gc.has_value());
  PutLock("backing-off", json::object());
  std::thread gone([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)store_.Delete("locks/backing-off");
  });
  EXPECT_TRUE((*gc)->Reassert().has_value());
  gone.join();
  PutLock("staying", json::object());
  auto st = (*gc)->Reassert();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("a shared lock (backup"), std::string::npos)
      << st.error().message();
}

}  // namespace
}  // namespace coffer

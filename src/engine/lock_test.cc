// The lock protocol and the checks a backup makes before its manifest
// (DESIGN §5), on an in-memory store. The same protocol between real
// processes (CLI, agent, manager) is tested in tests/gc_race_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "base/text.h"
#include "core/format/chunk_object.h"
#include "engine/backup.h"
#include "engine/check.h"
#include "engine/gc.h"
#include "engine/lock.h"
#include "engine/restore.h"
#include "store/mem/mem_store.h"
#include "volume/file_volume.h"

namespace coffer {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class LockTest : public testing::Test {
 protected:
  // A lock object as another process would write it; `fields` override.
  void PutLock(const std::string& name, json fields, int64_t age_seconds = 0) {
    json j = {{"version", 1},          {"exclusive", false},   {"purpose", "backup"},
              {"host", "elsewhere"},   {"host_id", "host-b"},  {"boot_id", "boot-b"},
              {"pid", 999999999},      {"pid_start", 12345},   {"created_at", UnixNow()},
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
  PutLock("rebooted", {{"host_id", self.host_id}, {"boot_id", "an-earlier-boot"},
                       {"pid", int64_t(::getpid())}, {"pid_start", self.pid_start}});
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

// The fixture of the commit checks: a target in memory with small chunks,
// and an image file.
class CommitCheckTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-commit-test-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = std::make_unique<MemStore>();
    mem_ = store.get();
    InitOptions opts;
    opts.chunker = {4096, 16384, 65536};
    opts.segment_size = 1 << 20;
    auto repo = Repository::Init(std::move(store), "pw", opts);
    ASSERT_TRUE(repo.has_value()) << repo.error().message();
    repo_ = std::move(*repo);
    data_.resize(3 << 20);
    std::mt19937_64 rng(7);
    for (auto& b : data_) b = uint8_t(rng());
    image_ = (dir_ / "img").string();
    WriteImage(data_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteImage(const Bytes& data) {
    std::ofstream(image_, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  }
  Result<BackupResult> Backup(std::function<Status()> before_commit = {}) {
    auto src = OpenFileVolume(image_);
    EXPECT_TRUE(src.has_value());
    BackupOptions o;
    o.volume_name = "vm";
    o.before_commit = std::move(before_commit);
    return RunBackup(*repo_, **src, o);
  }
  std::vector<std::string> ChunkKeys() {
    std::vector<std::string> keys;
    EXPECT_TRUE(mem_->List("chunks/", [&](const ObjectInfo& i) -> Status {
                      keys.push_back(i.key);
                      return {};
                    })
                    .has_value());
    return keys;
  }
  // What a sweep does: raise the generation, then delete `keys`.
  Status Sweep(const std::vector<std::string>& keys) {
    COFFER_RETURN_IF_ERROR(repo_->RaiseGcGeneration());
    return mem_->DeleteMany(keys);
  }
  Bytes Restore(const Uuid& id) {
    auto m = repo_->LoadManifest(id);
    EXPECT_TRUE(m.has_value());
    std::string out = (dir_ / ("restore-" + id.ToString())).string();
    auto w = CreateFileVolume(out, m->summary.source_size, {});
    EXPECT_TRUE(w.has_value());
    auto r = RunRestore(*repo_, *m, **w, {});
    EXPECT_TRUE(r.has_value()) << r.error().message();
    std::ifstream in(out, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  void ExpectCheckClean() {
    auto report = RunCheck(*repo_, {.read_data = true});
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->errors.empty()) << report->errors.front();
  }

  std::filesystem::path dir_;
  MemStore* mem_ = nullptr;
  std::unique_ptr<Repository> repo_;
  Bytes data_;
  std::string image_;
};

TEST_F(CommitCheckTest, WithoutASweepNothingIsConfirmed) {
  auto r = Backup();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->commit.generation_at_start, r->commit.generation_at_commit);
  EXPECT_EQ(r->commit.chunks_confirmed, 0u);
  EXPECT_EQ(r->commit.chunks_restored, 0u);
}

// The race of DESIGN §5 forced: the backup skips chunks an old forgotten
// backup left (they are stored), then a sweep deletes them before the
// manifest. The backup notices the generation moved, finds them missing,
// and stores them again from the source.
TEST_F(CommitCheckTest, ChunksSweptDuringTheBackupAreStoredAgainFromTheSource) {
  auto old = Backup();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());  // forgotten
  const std::vector<std::string> orphans = ChunkKeys();
  ASSERT_GT(orphans.size(), 10u);
  // Delete half, so that some folders are listed and the rest asked about.
  std::vector<std::string> swept(orphans.begin(), orphans.begin() + orphans.size() / 2);
  auto r = Backup([&] { return Sweep(swept); });
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->summary.new_chunks, 0u);  // every chunk was skipped as stored
  EXPECT_EQ(r->commit.generation_at_commit, r->commit.generation_at_start + 1);
  EXPECT_EQ(r->commit.chunks_confirmed, orphans.size());
  EXPECT_EQ(r->commit.chunks_restored, swept.size());
  EXPECT_EQ(ChunkKeys().size(), orphans.size());
  ExpectCheckClean();
  EXPECT_EQ(Restore(r->summary.backup_id), data_);
}

// When the source no longer holds the swept chunk's bytes, nothing is
// committed: the backup fails with the reason and leaves no manifest.
TEST_F(CommitCheckTest, ASweptChunkTheSourceNoLongerHoldsFailsTheBackup) {
  auto old = Backup();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());
  auto r = Backup([&]() -> Status {
    Bytes changed = data_;
    for (auto& b : changed) b ^= 0xff;
    WriteImage(changed);
    return Sweep(ChunkKeys());
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("was swept by a GC"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("no manifest was written"), std::string::npos);
  EXPECT_TRUE(repo_->ListBackupIds()->empty());
  ExpectCheckClean();
}

// A gate that says no (the manager fenced the attempt) ends the backup
// before any check or manifest.
TEST_F(CommitCheckTest, AGateThatRefusesWritesNoManifest) {
  auto r = Backup([]() -> Status { return Conflict("fenced: attempt 1 is stale"); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(repo_->ListBackupIds()->empty());
}

// A GC whose exclusive lock was broken while it was paused deletes nothing
// once a backup holds the target.
TEST_F(CommitCheckTest, AGcThatLostTheTargetDeletesNothing) {
  auto old = Backup();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());
  const size_t chunks = ChunkKeys().size();
  auto gc_lock = TargetLock::Acquire(repo_->store(), true, "gc");
  ASSERT_TRUE(gc_lock.has_value());
  // A backup on another host judged the GC's lock stale and took the target.
  ASSERT_TRUE(mem_->Delete((*gc_lock)->key()).has_value());
  json other = {{"exclusive", false}, {"purpose", "backup"},  {"host", "b"},
                {"host_id", "host-b"}, {"pid", 1},             {"created_at", UnixNow()},
                {"stale_after", 1800}};
  ASSERT_TRUE(mem_->Put("locks/other", AsBytes(other.dump())).has_value());
  auto r = RunGc(*repo_, {.grace = seconds(0), .lock = gc_lock->get()});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("gc stopped before deleting anything"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(ChunkKeys().size(), chunks);
  EXPECT_EQ(*repo_->GcGeneration(), 0u);
}

}  // namespace
}  // namespace coffer

// The GC loop on real parts: a SQLite metadata store (its leases are the
// exclusion under test), a local target with real backups and real garbage.
#include "manager/loops/gc_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "base/uuid.h"
#include "engine/check.h"
#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using namespace testing_support;
using namespace std::chrono;

#define ASSERT_OK(r) ASSERT_TRUE((r).has_value()) << (r).error().message()

int64_t At(int d, int h, int mi = 0) {
  const sys_days day{year(2026) / month(3) / std::chrono::day(unsigned(d))};
  return duration_cast<microseconds>(day.time_since_epoch() + hours(h) + minutes(mi)).count();
}

class GcLoopTest : public testing::Test {
 protected:
  GcLoopTest() : meta_(OpenTestMeta(dir_, [this] { return Clock(); })), targets_(*meta_) {}
  // The target and its volume, made at Clock()'s time.
  void SetUp() override {
    if (!fixed_start_) MakeTarget();
  }
  void MakeTarget() {
    target_ = CreateLocalTarget(targets_, dir_, "target");
    UpdateTargetRequest no_grace;
    no_grace.gc_grace_seconds = 0;
    target_ = *targets_.UpdateTarget(target_.id, no_grace);
    volume_ = CreateVolume(*meta_, "vol", target_.id);
  }
  // The system clock until a test fixes the time.
  int64_t Clock() const {
    const int64_t fixed = now_.load();
    if (fixed != 0) return fixed;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  }
  GcLoopOptions Options() {
    GcLoopOptions o;
    o.clock_us = [this] { return Clock(); };
    o.is_leader = [this] { return leader_.load(); };
    o.log = [](std::string_view) {};
    return o;
  }
  int ChunkFiles() {
    int n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "target/chunks")) {
      n += e.is_regular_file();
    }
    return n;
  }
  // Two backups of different images, the first deleted: its chunks are garbage.
  void MakeGarbage() {
    WriteImage(dir_ / "a.img", 2 << 20, 1);
    WriteImage(dir_ / "b.img", 2 << 20, 2);
    auto a = RecordBackup(*meta_, targets_, volume_, dir_ / "a.img");
    kept_ = RecordBackup(*meta_, targets_, volume_, dir_ / "b.img");
    ASSERT_OK(targets_.DeleteBackup(a.id));
  }
  meta::GcRun Run(const std::string& id) {
    auto r = meta_->GetGcRun(id);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return r ? *r : meta::GcRun{};
  }

  bool fixed_start_ = false;  // set by tests that make the target themselves
  std::atomic<int64_t> now_{0};
  std::atomic<bool> leader_{true};
  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  TargetService targets_;
  meta::BackupTarget target_;
  meta::Volume volume_;
  meta::Backup kept_;
};

TEST_F(GcLoopTest, OnDemandGcSweepsGarbageAndRecordsTheRun) {
  MakeGarbage();
  const int before = ChunkFiles();
  GcLoop gc(*meta_, targets_, Options());
  auto run_id = gc.RunNow(target_.id);
  ASSERT_OK(run_id);
  gc.WaitIdle();
  meta::GcRun run = Run(*run_id);
  EXPECT_EQ(run.status, meta::GcRunStatus::kCompleted) << run.error;
  EXPECT_GT(run.chunks_deleted, 0);
  EXPECT_GT(run.bytes_deleted, 1 << 20);
  ASSERT_TRUE(run.finished_at_us.has_value());
  EXPECT_EQ(ChunkFiles(), before - run.chunks_deleted);
  EXPECT_TRUE(meta_->ListTargetLeases(target_.id)->empty()) << "the lease was not released";
  // The backup that is left is whole.
  auto repo = targets_.OpenRepository(target_.id);
  ASSERT_OK(repo);
  auto check = RunCheck(**repo, CheckOptions{.read_data = true});
  ASSERT_OK(check);
  EXPECT_TRUE(check->errors.empty());
  EXPECT_EQ(check->chunks_unreferenced, 0u);
  EXPECT_EQ(check->backups, 1u);
}

TEST_F(GcLoopTest, RefusedWhileABackupOfTheTargetRuns) {
  meta::NewBackup running{Uuid::Random().ToString(), volume_.id, target_.id, ""};
  auto b = meta_->CreateBackup(running);
  ASSERT_OK(b);
  GcLoop gc(*meta_, targets_, Options());
  auto run_id = gc.RunNow(target_.id);
  ASSERT_FALSE(run_id.has_value());
  EXPECT_EQ(run_id.error().code(), ErrorCode::kConflict);
  EXPECT_NE(run_id.error().message().find("backup"), std::string::npos) << run_id.error().message();
  EXPECT_TRUE(meta_->ListGcRuns(target_.id, 0)->empty()) << "a refused GC left a run row";
  ASSERT_OK(meta_->CompleteBackup(b->id, b->attempt, {}, 1));
  ASSERT_OK(gc.RunNow(target_.id));
  gc.WaitIdle();
}

TEST_F(GcLoopTest, WhileGcRunsBackupsAndOtherGcsAreRefusedAndTheLeaseIsRenewed) {
  // The store's clock stands still and is moved by hand, less than a ttl at
  // a time, so a renewal that runs late on a loaded machine cannot lapse.
  now_ = Clock();
  std::promise<void> entered, release;
  std::shared_future<void> release_f = release.get_future().share();
  GcLoopOptions o = Options();
  o.lease_ttl = milliseconds(300);
  o.on_job_start = [&](const std::string&) {
    entered.set_value();
    release_f.wait();
  };
  GcLoop gc(*meta_, targets_, o);
  auto run_id = gc.RunNow(target_.id);
  ASSERT_OK(run_id);
  entered.get_future().wait();
  EXPECT_EQ(gc.RunningTargets(), std::set<std::string>{target_.id});

  meta::NewBackup nb{Uuid::Random().ToString(), volume_.id, target_.id, ""};
  auto refused = meta_->CreateBackup(nb);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  auto second = gc.RunNow(target_.id);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
  // Held for several lease lifetimes: renewed each time, still refused.
  for (int step = 0; step < 5; ++step) {
    now_ += 200'000;
    const int64_t renewed_until = now_ + 300'000;
    const auto deadline = steady_clock::now() + seconds(20);
    std::vector<meta::TargetLease> leases;
    while (steady_clock::now() < deadline) {
      auto l = meta_->ListTargetLeases(target_.id);
      ASSERT_OK(l);
      leases = *l;
      if (leases.size() == 1 && leases[0].expires_at_us == renewed_until) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_EQ(leases.size(), 1u) << "step " << step;
    EXPECT_EQ(leases[0].kind, meta::LeaseKind::kGc);
    ASSERT_EQ(leases[0].expires_at_us, renewed_until) << "not renewed at step " << step;
    EXPECT_FALSE(meta_->CreateBackup(nb).has_value());
  }

  release.set_value();
  gc.WaitIdle();
  EXPECT_EQ(Run(*run_id).status, meta::GcRunStatus::kCompleted) << Run(*run_id).error;
  ASSERT_OK(meta_->CreateBackup(nb));
}

TEST_F(GcLoopTest, StopWaitsForARunningGcToFinish) {
  std::promise<void> entered, release;
  std::shared_future<void> release_f = release.get_future().share();
  GcLoopOptions o = Options();
  o.on_job_start = [&](const std::string&) {
    entered.set_value();
    release_f.wait();
  };
  GcLoop gc(*meta_, targets_, o);
  auto run_id = gc.RunNow(target_.id);
  ASSERT_OK(run_id);
  entered.get_future().wait();
  auto stopped = std::async(std::launch::async, [&] { gc.Stop(); });
  EXPECT_EQ(stopped.wait_for(milliseconds(200)), std::future_status::timeout);
  release.set_value();
  stopped.get();
  EXPECT_EQ(Run(*run_id).status, meta::GcRunStatus::kCompleted) << Run(*run_id).error;
  EXPECT_TRUE(meta_->ListTargetLeases(target_.id)->empty());
}

TEST_F(GcLoopTest, AFailedGcIsRecordedWithItsErrorAndReleasesTheLease) {
  std::filesystem::remove_all(dir_ / "target");
  GcLoop gc(*meta_, targets_, Options());
  auto run_id = gc.RunNow(target_.id);
  ASSERT_OK(run_id);
  gc.WaitIdle();
  meta::GcRun run = Run(*run_id);
  EXPECT_EQ(run.status, meta::GcRunStatus::kFailed);
  EXPECT_FALSE(run.error.empty());
  EXPECT_TRUE(meta_->ListTargetLeases(target_.id)->empty());
}

TEST_F(GcLoopTest, UnknownTargetIsNotFound) {
  GcLoop gc(*meta_, targets_, Options());
  EXPECT_EQ(gc.RunNow(Uuid::Random().ToString()).error().code(), ErrorCode::kNotFound);
}

class DailyGcTest : public GcLoopTest {
 protected:
  DailyGcTest() { fixed_start_ = true; }
};

TEST_F(DailyGcTest, DailyAtTheTargetHourOnTheLeaderOnly) {
  now_ = At(1, 1);
  MakeTarget();
  auto at = [&](int d, int h, int mi = 0) { return At(5 + d, h, mi); };
  GcLoop gc(*meta_, targets_, Options());
  // Days passed since the target was made: the missed slot runs once.
  now_ = at(0, 2, 30);
  auto tick = gc.TickOnce();
  ASSERT_OK(tick);
  EXPECT_EQ(tick->started.size(), 1u);
  gc.WaitIdle();
  // Not again before 03:00 (the default GC hour), then once.
  now_ = at(0, 2, 59);
  EXPECT_TRUE(gc.TickOnce()->started.empty());
  now_ = at(0, 3, 1);
  EXPECT_EQ(gc.TickOnce()->started.size(), 1u);
  gc.WaitIdle();
  now_ = at(0, 3, 30);
  EXPECT_TRUE(gc.TickOnce()->started.empty());
  // A restarted manager knows today's GC ran (from its run row).
  GcLoop restarted(*meta_, targets_, Options());
  now_ = at(0, 4);
  EXPECT_TRUE(restarted.TickOnce()->started.empty());
  // Not the leader: nothing, even when due.
  leader_ = false;
  now_ = at(1, 3, 1);
  EXPECT_FALSE(gc.TickOnce()->leader);
  EXPECT_EQ(meta_->ListGcRuns(target_.id, 0)->size(), 2u);
  // The leader again, while a backup runs: deferred, then run when it ends.
  leader_ = true;
  meta::NewBackup nb{Uuid::Random().ToString(), volume_.id, target_.id, ""};
  auto b = meta_->CreateBackup(nb);
  ASSERT_OK(b);
  tick = gc.TickOnce();
  ASSERT_OK(tick);
  EXPECT_EQ(tick->deferred, 1);
  EXPECT_TRUE(tick->started.empty());
  ASSERT_OK(meta_->CompleteBackup(b->id, b->attempt, {}, 1));
  now_ = at(1, 3, 2);
  EXPECT_EQ(gc.TickOnce()->started.size(), 1u);
  gc.WaitIdle();
  EXPECT_EQ(meta_->ListGcRuns(target_.id, 0)->size(), 3u);
}

TEST_F(GcLoopTest, TheLoopThreadRunsDueGcs) {
  MakeGarbage();
  GcLoopOptions o = Options();
  o.tick = milliseconds(5);
  GcLoop gc(*meta_, targets_, o);
  // Made just now, hour 3 UTC: due only once 03:00 comes; move a day on.
  now_ = Clock() + int64_t(86400) * 1'000'000 * 2;
  gc.Start();
  const auto deadline = steady_clock::now() + seconds(20);
  auto finished = [&] {
    auto runs = meta_->ListGcRuns(target_.id, 0);
    return !runs->empty() && (*runs)[0].status != meta::GcRunStatus::kRunning;
  };
  while (!finished() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  gc.Stop();
  auto runs = meta_->ListGcRuns(target_.id, 0);
  ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].status, meta::GcRunStatus::kCompleted) << (*runs)[0].error;
  EXPECT_GT((*runs)[0].chunks_deleted, 0);
  EXPECT_EQ(gc.RunNow(target_.id).error().code(), ErrorCode::kCancelled);
}

TEST_F(GcLoopTest, ARunLeftByAStoppedManagerIsMarkedFailedOnceItsLeaseIsGone) {
  // A manager took the lease, recorded the run and died: the run reads
  // running until its lease expires, then the next tick fails it. The clock
  // is moved by hand, so a slow tick cannot see the lease expire early.
  now_ = Clock();
  ASSERT_OK(
      meta_->AcquireTargetLease(target_.id, meta::LeaseKind::kGc, "gc:dead", milliseconds(200)));
  auto run = meta_->CreateGcRun(target_.id);
  ASSERT_OK(run);
  GcLoop gc(*meta_, targets_, Options());
  ASSERT_OK(gc.TickOnce());
  EXPECT_EQ(Run(run->id).status, meta::GcRunStatus::kRunning) << "failed while its lease lived";
  now_ += 300'000;
  ASSERT_OK(gc.TickOnce());
  meta::GcRun after = Run(run->id);
  EXPECT_EQ(after.status, meta::GcRunStatus::kFailed);
  EXPECT_NE(after.error.find("abandoned"), std::string::npos) << after.error;
  // The target is free: a GC runs on it.
  auto next = gc.RunNow(target_.id);
  ASSERT_OK(next);
  gc.WaitIdle();
  EXPECT_EQ(Run(*next).status, meta::GcRunStatus::kCompleted) << Run(*next).error;
}

}  // namespace
}  // namespace coffer::manager

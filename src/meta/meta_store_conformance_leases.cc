// The conformance tests: per-target leases (DESIGN §5), leadership, and
// concurrent use from threads and replicas.
#include <set>
#include <thread>

#include "base/uuid.h"
#include "meta/meta_store_conformance.h"

namespace coffer::meta {
namespace {

using std::chrono::seconds;

// ---- leases -------------------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, GcLeaseExcludesEveryOtherHolder) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto gc = store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-A", seconds(60));
  META_ASSERT_OK(gc);
  EXPECT_EQ(gc->holder, "gc-A");
  EXPECT_EQ(gc->kind, LeaseKind::kGc);
  EXPECT_GE(gc->expires_at_us, gc->acquired_at_us + 60'000'000);

  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-B", seconds(60)),
                    ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kBackup, "backup-1", seconds(60)),
                    ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->CreateBackup(Start(v, t)), ErrorCode::kConflict);
  // The holder itself may acquire again (extends it).
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-A", seconds(60)));
  // Another target is not affected.
  BackupTarget other = MakeTarget("other");
  META_ASSERT_OK(store_->AcquireTargetLease(other.id, LeaseKind::kGc, "gc-B", seconds(60)));

  META_ASSERT_OK(store_->ReleaseTargetLease(t.id, "gc-A"));
  META_ASSERT_OK(store_->ReleaseTargetLease(t.id, "gc-A"));  // not held: fine
  META_ASSERT_OK(store_->CreateBackup(Start(v, t)));
  META_EXPECT_ERROR(
      store_->AcquireTargetLease(Uuid::Random().ToString(), LeaseKind::kGc, "x", seconds(1)),
      ErrorCode::kNotFound);
}

TEST_P(MetaStoreConformanceTest, BackupLeasesShareButKeepGcOut) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kBackup, "backup-1", seconds(60)));
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kBackup, "backup-2", seconds(60)));
  EXPECT_EQ(store_->ListTargetLeases(t.id)->size(), 2u);
  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)),
                    ErrorCode::kConflict);
  META_ASSERT_OK(store_->ReleaseTargetLease(t.id, "backup-1"));
  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)),
                    ErrorCode::kConflict);
  META_ASSERT_OK(store_->ReleaseTargetLease(t.id, "backup-2"));

  // A running backup row keeps GC out as well, lease or not.
  auto b = store_->CreateBackup(Start(v, t));
  META_ASSERT_OK(b);
  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)),
                    ErrorCode::kConflict);
  META_ASSERT_OK(store_->CompleteBackup(b->id, 1, {}, 1));
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)));
  EXPECT_EQ(store_->ListTargetLeases(t.id)->size(), 1u);
}

TEST_P(MetaStoreConformanceTest, LeasesExpireUnlessRenewed) {
  BackupTarget t = MakeTarget("t");
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-A", seconds(10)));
  Advance(seconds(8));
  auto renewed = store_->RenewTargetLease(t.id, "gc-A", seconds(10));
  META_ASSERT_OK(renewed);
  Advance(seconds(8));  // 16 s after acquiring, 8 s after renewing: still held
  META_EXPECT_ERROR(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-B", seconds(10)),
                    ErrorCode::kConflict);
  Advance(seconds(3));  // now expired
  EXPECT_TRUE(store_->ListTargetLeases(t.id)->empty());
  auto taken = store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc-B", seconds(10));
  META_ASSERT_OK(taken);
  // The old holder has lost it and learns so when it renews.
  META_EXPECT_ERROR(store_->RenewTargetLease(t.id, "gc-A", seconds(10)), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->RenewTargetLease(t.id, "nobody", seconds(10)), ErrorCode::kConflict);
  auto leases = store_->ListTargetLeases(t.id);
  META_ASSERT_OK(leases);
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_EQ((*leases)[0].holder, "gc-B");
}

TEST_P(MetaStoreConformanceTest, LeasesAreSharedBetweenReplicas) {
  BackupTarget t = MakeTarget("t");
  auto replica = Open();
  ASSERT_NE(replica, nullptr);
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kBackup, "backup-1", seconds(60)));
  META_EXPECT_ERROR(replica->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)),
                    ErrorCode::kConflict);
  META_ASSERT_OK(store_->ReleaseTargetLease(t.id, "backup-1"));
  META_ASSERT_OK(replica->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)));
}

// ---- leadership ---------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, OnlyOneReplicaLeads) {
  auto replica = Open();
  ASSERT_NE(replica, nullptr);
  auto l1 = store_->NewLeaderLock();
  auto l2 = replica->NewLeaderLock();
  META_ASSERT_OK(l1);
  META_ASSERT_OK(l2);
  auto got1 = (*l1)->TryAcquire();
  META_ASSERT_OK(got1);
  EXPECT_TRUE(*got1);
  auto got2 = (*l2)->TryAcquire();
  META_ASSERT_OK(got2);
  EXPECT_FALSE(*got2);
  EXPECT_EQ(BoolOrError((*l1)->StillHeld()), "true");
  EXPECT_EQ(BoolOrError((*l2)->StillHeld()), "false");
  EXPECT_EQ(BoolOrError((*l1)->TryAcquire()), "true");  // again: still ours

  (*l1)->Release();
  EXPECT_EQ(BoolOrError((*l1)->StillHeld()), "false");
  EXPECT_EQ(BoolOrError((*l2)->TryAcquire()), "true");
  EXPECT_EQ(BoolOrError((*l1)->TryAcquire()), "false");
  l2->reset();  // destroying the holder releases it
  EXPECT_EQ(BoolOrError((*l1)->TryAcquire()), "true");
}

// ---- concurrency ----------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, ThreadsCreatingBackupsConcurrently) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  constexpr int kThreads = 6, kEach = 8;
  std::vector<Volume> volumes;
  for (int i = 0; i < kThreads; ++i) volumes.push_back(MakeVolume("v" + std::to_string(i), a));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        auto b = store_->CreateBackup(Start(volumes[size_t(i)], t));
        if (!b) {
          ++failures;
          ADD_FAILURE() << b.error().message();
          continue;
        }
        if (!store_->HeartbeatBackup(b->id, b->attempt) ||
            !store_->CompleteBackup(b->id, b->attempt, {.logical_bytes = j}, 1)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = store_->ListBackups({.status = BackupStatus::kCompleted});
  META_ASSERT_OK(all);
  EXPECT_EQ(all->size(), size_t(kThreads * kEach));
  std::vector<std::string> list = Ids(*all);
  std::set<std::string> ids(list.begin(), list.end());
  EXPECT_EQ(ids.size(), size_t(kThreads * kEach));
}

TEST_P(MetaStoreConformanceTest, RacingStartsOfOneVolumeLetExactlyOneWin) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto replica = Open();
  ASSERT_NE(replica, nullptr);
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, conflicts{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      MetaStore& s = i % 2 ? *replica : *store_;
      auto b = s.CreateBackup(Start(v, t));
      if (b) {
        ++won;
      } else if (b.error().code() == ErrorCode::kConflict) {
        ++conflicts;
      } else {
        ++other;
        ADD_FAILURE() << b.error().message();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TEST_P(MetaStoreConformanceTest, BackupAndGcOfOneTargetNeverOverlapUnderRaces) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto replica = Open();
  ASSERT_NE(replica, nullptr);
  for (int round = 0; round < 5; ++round) {
    std::atomic<bool> backup_started{false}, gc_started{false};
    std::string backup_id = Uuid::Random().ToString();
    std::thread backup([&] {
      backup_started =
          store_->CreateBackup({.id = backup_id, .volume_id = v.id, .target_id = t.id}).has_value();
    });
    std::thread gc([&] {
      gc_started = replica->AcquireTargetLease(t.id, LeaseKind::kGc, "gc", seconds(60)).has_value();
    });
    backup.join();
    gc.join();
    EXPECT_FALSE(backup_started && gc_started) << "round " << round;
    EXPECT_TRUE(backup_started || gc_started) << "round " << round;
    if (backup_started) META_ASSERT_OK(store_->CompleteBackup(backup_id, 1, {}, 1));
    if (gc_started) META_ASSERT_OK(replica->ReleaseTargetLease(t.id, "gc"));
  }
}

}  // namespace
}  // namespace coffer::meta

// The conformance tests: backups and their fencing, listing and retention,
// import, GC runs.
#include "base/uuid.h"
#include "meta/meta_store_conformance.h"

namespace coffer::meta {
namespace {

using std::chrono::seconds;

// ---- backups ------------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, BackupGoesFromRunningToCompleted) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  NewBackup nb = Start(v, t);
  auto b = store_->CreateBackup(nb);
  META_ASSERT_OK(b);
  EXPECT_EQ(b->id, nb.id);
  EXPECT_EQ(b->status, BackupStatus::kRunning);
  EXPECT_EQ(b->attempt, 1);
  EXPECT_GT(b->started_at_us, kStartUs);
  EXPECT_EQ(b->heartbeat_at_us, b->started_at_us);
  EXPECT_FALSE(b->finished_at_us.has_value());
  META_EXPECT_ERROR(store_->CreateBackup(nb), ErrorCode::kConflict);  // the volume runs one

  META_ASSERT_OK(store_->SetBackupAgentJob(b->id, 1, "job-17"));
  Advance(seconds(5));
  META_ASSERT_OK(store_->HeartbeatBackup(b->id, 1));
  auto mid = store_->GetBackup(b->id);
  META_ASSERT_OK(mid);
  EXPECT_EQ(mid->agent_job_id, "job-17");
  EXPECT_GE(mid->heartbeat_at_us, b->started_at_us + 5'000'000);

  BackupStats s{.logical_bytes = 1000,
                .zero_bytes = 100,
                .new_bytes = 600,
                .stored_bytes = 400,
                .chunks = 9,
                .new_chunks = 5};
  auto done = store_->CompleteBackup(b->id, 1, s, 4321);
  META_ASSERT_OK(done);
  EXPECT_EQ(done->status, BackupStatus::kCompleted);
  EXPECT_EQ(done->stats.logical_bytes, 1000);
  EXPECT_EQ(done->stats.zero_bytes, 100);
  EXPECT_EQ(done->stats.new_bytes, 600);
  EXPECT_EQ(done->stats.stored_bytes, 400);
  EXPECT_EQ(done->stats.chunks, 9);
  EXPECT_EQ(done->stats.new_chunks, 5);
  EXPECT_EQ(done->duration_ms, 4321);
  ASSERT_TRUE(done->finished_at_us.has_value());
  EXPECT_GT(*done->finished_at_us, b->started_at_us);
  EXPECT_EQ(store_->GetBackup(b->id)->status, BackupStatus::kCompleted);

  // completed is final.
  META_EXPECT_ERROR(store_->CompleteBackup(b->id, 1, s, 1), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->FailBackup(b->id, 1, "late"), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->HeartbeatBackup(b->id, 1), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->NewBackupAttempt(b->id), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->CompleteBackup(Uuid::Random().ToString(), 1, s, 1),
                    ErrorCode::kNotFound);
  // The volume is free again; the same id is not.
  META_EXPECT_ERROR(store_->CreateBackup(nb), ErrorCode::kAlreadyExists);
  META_ASSERT_OK(store_->CreateBackup(Start(v, t)));
}

TEST_P(MetaStoreConformanceTest, FailedBackupKeepsItsReasonAndIsFinal) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto b = store_->CreateBackup(Start(v, t));
  META_ASSERT_OK(b);
  META_EXPECT_ERROR(store_->FailBackup(b->id, 1, ""), ErrorCode::kInvalidArgument);
  Advance(seconds(2));
  auto failed = store_->FailBackup(b->id, 1, "agent job 17 vanished");
  META_ASSERT_OK(failed);
  EXPECT_EQ(failed->status, BackupStatus::kFailed);
  EXPECT_EQ(failed->error, "agent job 17 vanished");
  EXPECT_GE(failed->duration_ms, 2000);
  META_EXPECT_ERROR(store_->CompleteBackup(b->id, 1, {}, 1), ErrorCode::kConflict);
}

TEST_P(MetaStoreConformanceTest, StaleAttemptCannotReportOrCommit) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto b = store_->CreateBackup(Start(v, t));
  META_ASSERT_OK(b);
  auto second = store_->NewBackupAttempt(b->id);
  META_ASSERT_OK(second);
  EXPECT_EQ(*second, 2);

  // The first job, declared dead, comes back.
  META_EXPECT_ERROR(store_->SetBackupAgentJob(b->id, 1, "old-job"), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->HeartbeatBackup(b->id, 1), ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->FailBackup(b->id, 1, "old job failed"), ErrorCode::kConflict);
  auto stale = store_->CompleteBackup(b->id, 1, {.logical_bytes = 1}, 1);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_NE(stale.error().message().find("stale"), std::string::npos) << stale.error().message();
  EXPECT_EQ(store_->GetBackup(b->id)->status, BackupStatus::kRunning);

  META_ASSERT_OK(store_->SetBackupAgentJob(b->id, 2, "new-job"));
  auto done = store_->CompleteBackup(b->id, 2, {.logical_bytes = 7}, 1);
  META_ASSERT_OK(done);
  EXPECT_EQ(done->attempt, 2);
  EXPECT_EQ(done->agent_job_id, "new-job");
  EXPECT_EQ(done->stats.logical_bytes, 7);
}

TEST_P(MetaStoreConformanceTest, ListBackupsFiltersAndOrdersNewestFirst) {
  Agent a = MakeAgent("a");
  BackupTarget t1 = MakeTarget("t1");
  BackupTarget t2 = MakeTarget("t2");
  Volume v1 = MakeVolume("v1", a);
  Volume v2 = MakeVolume("v2", a);
  Backup c1 = MakeCompletedBackup(v1, t1);
  Backup c2 = MakeCompletedBackup(v1, t2);
  Backup c3 = MakeCompletedBackup(v2, t1);
  auto f = store_->CreateBackup(Start(v2, t1));
  META_ASSERT_OK(f);
  META_ASSERT_OK(store_->FailBackup(f->id, 1, "boom"));
  auto r = store_->CreateBackup(Start(v1, t1));
  META_ASSERT_OK(r);

  auto all = store_->ListBackups({});
  META_ASSERT_OK(all);
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{r->id, f->id, c3.id, c2.id, c1.id}));

  auto by_volume = store_->ListBackups({.volume_id = v1.id});
  META_ASSERT_OK(by_volume);
  EXPECT_EQ(Ids(*by_volume), (std::vector<std::string>{r->id, c2.id, c1.id}));

  auto completed_v1 = store_->ListBackups({.volume_id = v1.id, .status = BackupStatus::kCompleted});
  META_ASSERT_OK(completed_v1);
  EXPECT_EQ(Ids(*completed_v1), (std::vector<std::string>{c2.id, c1.id}));

  EXPECT_EQ(Ids(*store_->ListBackups({.status = BackupStatus::kFailed})),
            std::vector<std::string>{f->id});
  EXPECT_EQ(Ids(*store_->ListBackups({.status = BackupStatus::kRunning})),
            std::vector<std::string>{r->id});
  EXPECT_EQ(Ids(*store_->ListBackups({.target_id = t2.id})), std::vector<std::string>{c2.id});
  EXPECT_EQ(Ids(*store_->ListBackups({.volume_id = v2.id, .target_id = t1.id, .limit = 1})),
            std::vector<std::string>{f->id});
  EXPECT_TRUE(store_->ListBackups({.volume_id = Uuid::Random().ToString()})->empty());
  META_EXPECT_ERROR(store_->ListBackups({.volume_id = "garbage"}), ErrorCode::kInvalidArgument);
}

TEST_P(MetaStoreConformanceTest, SilentRunningBackupsAreFoundForTheReconciler) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v1 = MakeVolume("v1", a);
  Volume v2 = MakeVolume("v2", a);
  Volume v3 = MakeVolume("v3", a);
  auto quiet = store_->CreateBackup(Start(v1, t));
  auto chatty = store_->CreateBackup(Start(v2, t));
  META_ASSERT_OK(quiet);
  META_ASSERT_OK(chatty);
  MakeCompletedBackup(v3, t);
  Advance(seconds(120));
  META_ASSERT_OK(store_->HeartbeatBackup(chatty->id, 1));
  const int64_t cutoff = clock_->load() - 60'000'000;  // silent for a minute
  auto silent = store_->ListSilentBackups(cutoff);
  META_ASSERT_OK(silent);
  ASSERT_EQ(Ids(*silent), std::vector<std::string>{quiet->id});
  // The reconciler fails it with the attempt it read, and only while it is
  // still silent: the chatty one was heard from, so it is refused.
  META_EXPECT_ERROR(store_->FailSilentBackup(chatty->id, 1, cutoff, "silent?"),
                    ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->FailSilentBackup(quiet->id, 2, cutoff, "stale attempt"),
                    ErrorCode::kConflict);
  META_ASSERT_OK(
      store_->FailSilentBackup(quiet->id, (*silent)[0].attempt, cutoff, "agent silent for 2 min"));
  EXPECT_EQ(store_->GetBackup(quiet->id)->status, BackupStatus::kFailed);
  EXPECT_EQ(store_->GetBackup(chatty->id)->status, BackupStatus::kRunning);
  EXPECT_TRUE(store_->ListSilentBackups(cutoff)->empty());
  // Heard from after it was listed (an approved commit): not failed.
  Advance(seconds(120));
  auto listed = store_->ListSilentBackups(clock_->load() - 60'000'000);
  META_ASSERT_OK(listed);
  ASSERT_EQ(Ids(*listed), std::vector<std::string>{chatty->id});
  META_ASSERT_OK(store_->HeartbeatBackup(chatty->id, 1));
  META_EXPECT_ERROR(store_->FailSilentBackup(chatty->id, 1, clock_->load() - 60'000'000, "late"),
                    ErrorCode::kConflict);
}

TEST_P(MetaStoreConformanceTest, DeleteAndImportBackups) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", a);
  auto running = store_->CreateBackup(Start(v, t));
  META_ASSERT_OK(running);
  META_EXPECT_ERROR(store_->DeleteBackup(running->id), ErrorCode::kConflict);
  META_ASSERT_OK(store_->CompleteBackup(running->id, 1, {}, 1));
  META_ASSERT_OK(store_->DeleteBackup(running->id));
  META_EXPECT_ERROR(store_->GetBackup(running->id), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->DeleteBackup(running->id), ErrorCode::kNotFound);

  // Index rebuild puts back what the target's manifests name.
  Backup found;
  found.id = Uuid::Random().ToString();
  found.volume_id = v.id;
  found.target_id = t.id;
  found.status = BackupStatus::kCompleted;
  found.stats.logical_bytes = 12345;
  found.started_at_us = kStartUs - 1'000'000;
  found.finished_at_us = kStartUs - 500'000;
  META_ASSERT_OK(store_->ImportBackup(found));
  auto got = store_->GetBackup(found.id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->status, BackupStatus::kCompleted);
  EXPECT_EQ(got->stats.logical_bytes, 12345);
  EXPECT_EQ(got->started_at_us, found.started_at_us);
  EXPECT_EQ(got->finished_at_us, found.finished_at_us);
  META_EXPECT_ERROR(store_->ImportBackup(found), ErrorCode::kAlreadyExists);
  found.id = Uuid::Random().ToString();
  found.status = BackupStatus::kRunning;
  META_EXPECT_ERROR(store_->ImportBackup(found), ErrorCode::kInvalidArgument);
  found.status = BackupStatus::kCompleted;
  found.volume_id = Uuid::Random().ToString();
  META_EXPECT_ERROR(store_->ImportBackup(found), ErrorCode::kInvalidArgument);
}

// ---- GC runs ----------------------------------------------------------------------

TEST_P(MetaStoreConformanceTest, GcRunsAreRecordedNewestFirst) {
  BackupTarget t = MakeTarget("t");
  auto first = store_->CreateGcRun(t.id);
  META_ASSERT_OK(first);
  EXPECT_EQ(first->status, GcRunStatus::kRunning);
  auto done = store_->FinishGcRun(
      first->id, {.status = GcRunStatus::kCompleted, .chunks_deleted = 12, .bytes_deleted = 3456});
  META_ASSERT_OK(done);
  EXPECT_EQ(done->status, GcRunStatus::kCompleted);
  EXPECT_EQ(done->chunks_deleted, 12);
  EXPECT_EQ(done->bytes_deleted, 3456);
  EXPECT_TRUE(done->finished_at_us.has_value());
  META_EXPECT_ERROR(store_->FinishGcRun(first->id, {.status = GcRunStatus::kFailed, .error = "x"}),
                    ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->FinishGcRun(first->id, {.status = GcRunStatus::kRunning}),
                    ErrorCode::kInvalidArgument);

  auto second = store_->CreateGcRun(t.id);
  META_ASSERT_OK(second);
  META_ASSERT_OK(store_->FinishGcRun(second->id,
                                     {.status = GcRunStatus::kFailed, .error = "S3 AccessDenied"}));
  auto runs = store_->ListGcRuns(t.id, 0);
  META_ASSERT_OK(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, second->id);
  EXPECT_EQ((*runs)[0].error, "S3 AccessDenied");
  EXPECT_EQ((*runs)[1].id, first->id);
  EXPECT_EQ(store_->ListGcRuns(t.id, 1)->size(), 1u);
  META_EXPECT_ERROR(store_->ListGcRuns(Uuid::Random().ToString(), 0), ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->CreateGcRun(Uuid::Random().ToString()), ErrorCode::kNotFound);
}

TEST_P(MetaStoreConformanceTest, FinishingAGcRunReleasesItsLeaseInTheSameStep) {
  BackupTarget t = MakeTarget("t");
  Volume v = MakeVolume("v", MakeAgent("a"));
  META_ASSERT_OK(store_->AcquireTargetLease(t.id, LeaseKind::kGc, "gc:1", seconds(60)));
  auto run = store_->CreateGcRun(t.id);
  META_ASSERT_OK(run);
  // A backup is refused while the run holds the target ...
  META_EXPECT_ERROR(store_->CreateBackup(Start(v, t)), ErrorCode::kConflict);
  // ... and admitted as soon as the run reads finished.
  META_ASSERT_OK(
      store_->FinishGcRun(run->id, {.status = GcRunStatus::kCompleted, .lease_holder = "gc:1"}));
  EXPECT_TRUE(store_->ListTargetLeases(t.id)->empty());
  META_ASSERT_OK(store_->CreateBackup(Start(v, t)));

  // Another holder's lease is left alone.
  BackupTarget u = MakeTarget("u");
  META_ASSERT_OK(store_->AcquireTargetLease(u.id, LeaseKind::kGc, "gc:2", seconds(60)));
  auto other = store_->CreateGcRun(u.id);
  META_ASSERT_OK(other);
  META_ASSERT_OK(store_->FinishGcRun(
      other->id, {.status = GcRunStatus::kFailed, .error = "x", .lease_holder = "gc:1"}));
  auto leases = store_->ListTargetLeases(u.id);
  META_ASSERT_OK(leases);
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_EQ((*leases)[0].holder, "gc:2");
}

// Restores are rows (DESIGN §4): made running, their progress recorded,
// ended once, listed newest first, and gone with their volume.
TEST_P(MetaStoreConformanceTest, RestoresAreRowsThatEndOnce) {
  Agent a = MakeAgent("a");
  BackupTarget t = MakeTarget("t");
  Volume source = MakeVolume("source", a);
  Backup b = MakeCompletedBackup(source, t);
  Volume first_into = MakeVolume("restored-1", a);
  Volume second_into = MakeVolume("restored-2", a);

  NewRestore nr{Uuid::Random().ToString(), b.id, first_into.id, a.id, "job-1"};
  auto r1 = store_->CreateRestore(nr);
  META_ASSERT_OK(r1);
  EXPECT_EQ(r1->state, RestoreState::kRunning);
  EXPECT_EQ(r1->agent_job_id, "job-1");
  EXPECT_EQ(r1->started_at_us, clock_->load());
  META_EXPECT_ERROR(store_->CreateRestore(nr), ErrorCode::kAlreadyExists);
  META_EXPECT_ERROR(
      store_->CreateRestore({Uuid::Random().ToString(), b.id, Uuid::Random().ToString(), a.id, ""}),
      ErrorCode::kNotFound);
  META_EXPECT_ERROR(store_->CreateRestore({"", b.id, first_into.id, a.id, ""}),
                    ErrorCode::kInvalidArgument);

  Advance(seconds(5));
  META_ASSERT_OK(store_->UpdateRestoreProgress(r1->id, 1000, 250));
  auto got = store_->GetRestore(r1->id);
  META_ASSERT_OK(got);
  EXPECT_EQ(got->total_bytes, 1000);
  EXPECT_EQ(got->done_bytes, 250);
  EXPECT_EQ(got->heartbeat_at_us, clock_->load());
  META_EXPECT_ERROR(store_->UpdateRestoreProgress(r1->id, -1, 0), ErrorCode::kInvalidArgument);
  // A volume a restore is writing cannot be deleted.
  META_EXPECT_ERROR(store_->DeleteVolume(first_into.id), ErrorCode::kConflict);

  META_EXPECT_ERROR(store_->FinishRestore(r1->id, RestoreState::kFailed, "", ""),
                    ErrorCode::kInvalidArgument);
  META_EXPECT_ERROR(store_->FinishRestore(r1->id, RestoreState::kRunning, "", ""),
                    ErrorCode::kInvalidArgument);
  auto done = store_->FinishRestore(r1->id, RestoreState::kCompleted, R"({"bytes":1000})", "");
  META_ASSERT_OK(done);
  EXPECT_EQ(done->state, RestoreState::kCompleted);
  EXPECT_EQ(done->result, R"({"bytes":1000})");
  EXPECT_EQ(done->finished_at_us, clock_->load());
  // The first word wins: a late failure or progress is refused.
  META_EXPECT_ERROR(store_->FinishRestore(r1->id, RestoreState::kFailed, "", "late"),
                    ErrorCode::kConflict);
  META_EXPECT_ERROR(store_->UpdateRestoreProgress(r1->id, 1, 1), ErrorCode::kConflict);

  Advance(seconds(1));
  auto r2 = store_->CreateRestore({Uuid::Random().ToString(), b.id, second_into.id, a.id, "j2"});
  META_ASSERT_OK(r2);
  META_ASSERT_OK(store_->FinishRestore(r2->id, RestoreState::kFailed, "", "agent gone"));
  auto all = store_->ListRestores({});
  META_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, r2->id);  // newest first
  EXPECT_EQ((*all)[0].error, "agent gone");
  auto of_first = store_->ListRestores({.volume_id = first_into.id});
  META_ASSERT_OK(of_first);
  ASSERT_EQ(of_first->size(), 1u);
  EXPECT_EQ((*of_first)[0].id, r1->id);
  auto failed = store_->ListRestores({.state = RestoreState::kFailed});
  META_ASSERT_OK(failed);
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].id, r2->id);
  META_EXPECT_ERROR(store_->GetRestore(Uuid::Random().ToString()), ErrorCode::kNotFound);

  // The volume goes, and its restores' rows with it.
  META_ASSERT_OK(store_->DeleteVolume(first_into.id));
  META_EXPECT_ERROR(store_->GetRestore(r1->id), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ListRestores({})->size(), 1u);
}

}  // namespace
}  // namespace coffer::meta

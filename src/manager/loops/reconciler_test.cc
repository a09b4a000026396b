// The reconciler against a fake agent (an in-process HTTP server that knows
// the jobs the test tells it about) and a SQLite metadata store on a clock
// the test moves: adopted, settled, gone and silent backups.
#include "manager/loops/reconciler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "agent_api/protocol.h"
#include "base/uuid.h"
#include "manager/testing/ops_testing.h"
#include "service/testing/served.h"

namespace coffer::manager {
namespace {

using testing_support::TempDir;

// A job as the fake agent reports it: `state`, attempt 1.
agent_api::JobReport FakeJob(agent_api::JobState state) {
  agent_api::JobReport j;
  j.state = state;
  j.attempt = 1;
  j.volume = {"v", "v", Backend::kFile, "/v", false, {}};
  j.created_at = "2026-12-07T00:00:00Z";
  return j;
}

class FakeAgent {
 public:
  FakeAgent()
      : served_("fake agent", [this](service::HttpServer& s) {
          s.Get(R"(/v1/storage/jobs/([0-9a-f-]+))",
                [this](service::Request& req, service::Response& res) {
                  std::lock_guard lock(mu_);
                  auto it = jobs_.find(req.params.at(0));
                  if (it == jobs_.end()) {
                    return service::SendError(res, service::ToApiError(NotFound("no job").error()));
                  }
                  res.Json(200, agent_api::ToJson(it->second));
                });
        }) {}
  std::string url() const { return served_.url(); }
  void SetJob(const std::string& id, agent_api::JobReport job) {
    std::lock_guard lock(mu_);
    job.id = id;
    jobs_[id] = std::move(job);
  }

 private:
  std::mutex mu_;
  std::map<std::string, agent_api::JobReport> jobs_;
  service::testing::ServedOnThread served_;  // last: it answers from the members above
};

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest()
      : meta_(testing_support::OpenTestMeta(dir_, [this] { return now_.load(); })),
        targets_(*meta_),
        retention_(*meta_, targets_),
        poller_(client_, std::chrono::hours(1)),
        metrics_(*meta_),
        orchestrator_(*meta_, targets_, retention_, client_, poller_, metrics_) {
    target_ = testing_support::CreateLocalTarget(targets_, dir_, "t").id;
    ReconcilerOptions o;
    o.orphan_after = std::chrono::seconds(5);
    o.silence_timeout = std::chrono::seconds(60);
    o.clock_us = [this] { return now_.load(); };
    reconciler_ = std::make_unique<Reconciler>(*meta_, orchestrator_, o);
  }

  // A volume on an agent at `url` with a running backup whose job is `job`
  // ("" : none recorded). Returns the backup.
  meta::Backup Running(const std::string& name, const std::string& url, const std::string& job) {
    meta::NewAgent a;
    a.name = "agent-" + name;
    a.url = url;
    a.token = meta::SecretString("agent-token-0123456789");
    auto agent = meta_->CreateAgent(a);
    EXPECT_TRUE(agent.has_value());
    meta::Volume v;
    v.name = name;
    v.agent_id = agent->id;
    v.locator = "/volumes/" + name;
    auto volume = meta_->CreateVolume(v);
    EXPECT_TRUE(volume.has_value());
    meta::NewBackup nb;
    nb.id = Uuid::Random().ToString();
    nb.volume_id = volume->id;
    nb.target_id = target_;
    auto b = meta_->CreateBackup(nb);
    EXPECT_TRUE(b.has_value()) << b.error().message();
    if (!job.empty()) {
      EXPECT_TRUE(meta_->SetBackupAgentJob(b->id, b->attempt, job).has_value());
      b->agent_job_id = job;
    }
    return *b;
  }
  meta::Backup Get(const std::string& id) { return *meta_->GetBackup(id); }
  void Advance(int seconds) { now_ += int64_t(seconds) * 1'000'000; }

  TempDir dir_;
  std::atomic<int64_t> now_{1'800'000'000'000'000};
  std::unique_ptr<meta::MetaStore> meta_;
  TargetService targets_;
  Retention retention_;
  AgentClient client_{AgentClientOptions{std::chrono::milliseconds(2000), ""}};
  JobPoller poller_;
  ManagerMetrics metrics_;
  Orchestrator orchestrator_;
  std::unique_ptr<Reconciler> reconciler_;
  std::string target_;
  FakeAgent agent_;
};

TEST_F(ReconcilerTest, RecentBackupsAreLeftAlone) {
  Running("fresh", agent_.url(), Uuid::Random().ToString());
  auto round = reconciler_->RunOnce();
  ASSERT_TRUE(round.has_value());
  EXPECT_TRUE(round->leader);
  EXPECT_EQ(round->adopted + round->failed + round->settled, 0);
}

TEST_F(ReconcilerTest, ARunningJobNobodyPollsIsAdopted) {
  const std::string job = Uuid::Random().ToString();
  meta::Backup b = Running("adopt", agent_.url(), job);
  agent_.SetJob(job, FakeJob(agent_api::JobState::kRunning));
  Advance(10);
  auto round = reconciler_->RunOnce();
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->adopted, 1);
  EXPECT_TRUE(orchestrator_.IsPolled(b.id));
  EXPECT_EQ(Get(b.id).status, meta::BackupStatus::kRunning);
  EXPECT_EQ(Get(b.id).heartbeat_at_us, now_.load());
}

TEST_F(ReconcilerTest, AFinishedJobIsSettled) {
  const std::string job = Uuid::Random().ToString();
  meta::Backup b = Running("settle", agent_.url(), job);
  agent_api::JobReport done_job = FakeJob(agent_api::JobState::kCompleted);
  agent_api::BackupReport& r = done_job.backup.emplace();
  r.backup_id = b.id;
  r.target_id = Uuid::Random().ToString();
  r.volume_name = "settle";
  r.snapshot = "none";
  r.logical_bytes = 4096;
  r.new_bytes = 1024;
  r.stored_bytes = 700;
  r.chunks = 2;
  r.new_chunks = 1;
  r.seconds = 1.5;
  agent_.SetJob(job, done_job);
  Advance(10);
  auto round = reconciler_->RunOnce();
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->settled, 1);
  meta::Backup done = Get(b.id);
  EXPECT_EQ(done.status, meta::BackupStatus::kCompleted);
  EXPECT_EQ(done.stats.logical_bytes, 4096);
  EXPECT_EQ(done.stats.new_bytes, 1024);
  EXPECT_EQ(done.duration_ms, 1500);
}

// A job the agent forgot is sent again as attempt 2; this fake agent takes
// no job, so the backup fails saying both.
TEST_F(ReconcilerTest, AJobTheAgentForgotIsSentAgainAndFailsWhenTheAgentRefuses) {
  meta::Backup b = Running("gone", agent_.url(), Uuid::Random().ToString());
  Advance(10);
  ASSERT_TRUE(reconciler_->RunOnce().has_value());
  meta::Backup failed = Get(b.id);
  EXPECT_EQ(failed.status, meta::BackupStatus::kFailed);
  EXPECT_EQ(failed.attempt, 2);
  EXPECT_NE(failed.error.find("no longer knows job"), std::string::npos) << failed.error;
  EXPECT_NE(failed.error.find("attempt 2 was not started: the agent did not take the job"),
            std::string::npos)
      << failed.error;
}

TEST_F(ReconcilerTest, AnUnreachableAgentFailsTheBackupOnlyAfterTheSilenceTimeout) {
  meta::Backup b = Running("silent", "http://127.0.0.1:9", Uuid::Random().ToString());
  Advance(30);
  ASSERT_TRUE(reconciler_->RunOnce().has_value());
  EXPECT_EQ(Get(b.id).status, meta::BackupStatus::kRunning);
  Advance(31);
  auto round = reconciler_->RunOnce();
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->failed, 1);
  meta::Backup failed = Get(b.id);
  EXPECT_EQ(failed.status, meta::BackupStatus::kFailed);
  EXPECT_NE(failed.error.find("has not answered"), std::string::npos) << failed.error;
}

TEST_F(ReconcilerTest, ABackupWithoutAJobFailsAfterTheSilenceTimeout) {
  meta::Backup b = Running("nojob", agent_.url(), "");
  Advance(30);
  ASSERT_TRUE(reconciler_->RunOnce().has_value());
  EXPECT_EQ(Get(b.id).status, meta::BackupStatus::kRunning);
  Advance(31);
  ASSERT_TRUE(reconciler_->RunOnce().has_value());
  meta::Backup failed = Get(b.id);
  EXPECT_EQ(failed.status, meta::BackupStatus::kFailed);
  EXPECT_NE(failed.error.find("no agent job was recorded"), std::string::npos) << failed.error;
}

TEST_F(ReconcilerTest, OnlyTheLeaderReconciles) {
  ReconcilerOptions o;
  o.is_leader = [] { return false; };
  o.clock_us = [this] { return now_.load(); };
  Reconciler follower(*meta_, orchestrator_, o);
  meta::Backup b = Running("follower", agent_.url(), Uuid::Random().ToString());
  Advance(120);
  auto round = follower.RunOnce();
  ASSERT_TRUE(round.has_value());
  EXPECT_FALSE(round->leader);
  EXPECT_EQ(Get(b.id).status, meta::BackupStatus::kRunning);
}

}  // namespace
}  // namespace coffer::manager

// The scheduler with a clock the test moves, a real SQLite metadata store,
// and a BackupStarter that records its calls and creates the backup row the
// way the orchestration does (so the store's "one running backup per
// volume" rule is the real one).
#include "manager/loops/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#include "base/uuid.h"
#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using namespace testing_support;
using namespace std::chrono;

#define ASSERT_OK(r) ASSERT_TRUE((r).has_value()) << (r).error().message()

int64_t At(int d, int h, int mi = 0, int s = 0) {
  const sys_days day{year(2026) / month(3) / std::chrono::day(unsigned(d))};
  return duration_cast<microseconds>(day.time_since_epoch() + hours(h) + minutes(mi) + seconds(s))
      .count();
}

class RecordingStarter : public BackupStarter {
 public:
  explicit RecordingStarter(meta::MetaStore& meta) : meta_(meta) {}
  Result<std::string> StartBackup(const std::string& volume_id, std::string_view reason) override {
    std::lock_guard lock(mu_);
    ++calls[volume_id];
    EXPECT_EQ(reason, "schedule");
    if (fail_with) return std::unexpected(*fail_with);
    COFFER_ASSIGN_OR_RETURN(meta::Volume v, meta_.GetVolume(volume_id));
    meta::NewBackup b{Uuid::Random().ToString(), v.id, *v.backup_target_id, ""};
    COFFER_ASSIGN_OR_RETURN(meta::Backup row, meta_.CreateBackup(b));
    last[volume_id] = row;
    return row.id;
  }
  // Completes the volume's running backup, as its agent job would.
  void Finish(const std::string& volume_id) {
    std::lock_guard lock(mu_);
    const meta::Backup& b = last.at(volume_id);
    auto done = meta_.CompleteBackup(b.id, b.attempt, {}, 1000);
    ASSERT_OK(done);
  }
  int Calls(const std::string& volume_id) {
    std::lock_guard lock(mu_);
    return calls[volume_id];
  }

  std::optional<Error> fail_with;
  std::map<std::string, int> calls;
  std::map<std::string, meta::Backup> last;

 private:
  meta::MetaStore& meta_;
  std::mutex mu_;
};

class SchedulerTest : public testing::Test {
 protected:
  SchedulerTest() : meta_(OpenTestMeta(dir_, [this] { return now_.load(); })), starter_(*meta_) {
    meta::NewBackupTarget t;
    t.name = "target";
    t.address = dir_ / "target";
    t.target_key = SecretKey::Random();
    auto made = meta_->CreateBackupTarget(t);
    EXPECT_TRUE(made.has_value()) << made.error().message();
    target_id_ = made->id;
  }
  SchedulerOptions Options() {
    SchedulerOptions o;
    o.clock_us = [this] { return now_.load(); };
    o.is_leader = [this] { return leader_.load(); };
    o.log = [](std::string_view) {};
    return o;
  }
  SchedulerTick Tick(Scheduler& s, int64_t at) {
    now_ = at;
    auto t = s.TickOnce();
    EXPECT_TRUE(t.has_value()) << t.error().message();
    return t ? *t : SchedulerTick{};
  }

  std::atomic<int64_t> now_{At(1, 1)};
  std::atomic<bool> leader_{true};
  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  RecordingStarter starter_;
  std::string target_id_;
};

TEST_F(SchedulerTest, StartsAtTheSlotAndNotBeforeOrTwice) {
  auto v = CreateVolume(*meta_, "daily", target_id_, "0 3 * * *");
  Scheduler s(*meta_, starter_, Options());
  EXPECT_EQ(Tick(s, At(1, 2, 59)).started, 0);
  EXPECT_EQ(Tick(s, At(1, 3, 0, 5)).started, 1);
  EXPECT_EQ(Tick(s, At(1, 3, 0, 20)).started, 0);
  starter_.Finish(v.id);
  EXPECT_EQ(Tick(s, At(1, 12)).started, 0);
  EXPECT_EQ(Tick(s, At(2, 3)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 2);
}

TEST_F(SchedulerTest, MissedSlotsRunOnce) {
  auto v = CreateVolume(*meta_, "hourly", target_id_, "0 * * * *");
  Scheduler s(*meta_, starter_, Options());
  // Created at 01:00; the manager comes up at 06:10: five slots passed.
  SchedulerTick t = Tick(s, At(1, 6, 10));
  EXPECT_TRUE(t.leader);
  EXPECT_EQ(t.started, 1);
  starter_.Finish(v.id);
  EXPECT_EQ(Tick(s, At(1, 6, 40)).started, 0);
  EXPECT_EQ(Tick(s, At(1, 7, 0, 1)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 2);
}

TEST_F(SchedulerTest, ARestartedSchedulerKnowsTheSlotFromTheNewestBackup) {
  auto v = CreateVolume(*meta_, "daily", target_id_, "0 3 * * *");
  {
    Scheduler first(*meta_, starter_, Options());
    EXPECT_EQ(Tick(first, At(1, 3, 0, 5)).started, 1);
    starter_.Finish(v.id);
  }
  // A new process (no memory) at 03:10 must not run the 03:00 slot again.
  Scheduler second(*meta_, starter_, Options());
  EXPECT_EQ(Tick(second, At(1, 3, 10)).started, 0);
  // Down from 03:10 on day 1 to 09:00 on day 4: three slots, one run.
  Scheduler third(*meta_, starter_, Options());
  EXPECT_EQ(Tick(third, At(4, 9)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 2);
}

TEST_F(SchedulerTest, ASlotWhileTheLastRunIsStillRunningIsSkipped) {
  auto v = CreateVolume(*meta_, "hourly", target_id_, "0 * * * *");
  Scheduler s(*meta_, starter_, Options());
  EXPECT_EQ(Tick(s, At(1, 2)).started, 1);
  // Still running at 03:00: the store refuses a second run, and the slot is
  // not retried on later ticks of that hour.
  SchedulerTick t = Tick(s, At(1, 3));
  EXPECT_EQ(t.started, 0);
  EXPECT_EQ(t.skipped, 1);
  EXPECT_EQ(Tick(s, At(1, 3, 30)).skipped, 0);
  EXPECT_EQ(starter_.Calls(v.id), 2);
  meta::BackupFilter running;
  running.volume_id = v.id;
  running.status = meta::BackupStatus::kRunning;
  EXPECT_EQ(meta_->ListBackups(running)->size(), 1u);
  starter_.Finish(v.id);
  EXPECT_EQ(Tick(s, At(1, 4)).started, 1);
}

// A daily slot at the GC's hour: the GC holds the target, the slot waits for
// it (tried every tick) and runs as soon as the GC is over, not a day later.
TEST_F(SchedulerTest, ASlotThatMeetsAGcRunsWhenTheGcEnds) {
  auto v = CreateVolume(*meta_, "daily", target_id_, "0 3 * * *");
  Scheduler s(*meta_, starter_, Options());
  now_ = At(1, 2, 59);
  ASSERT_OK(meta_->AcquireTargetLease(target_id_, meta::LeaseKind::kGc, "gc:run-1", hours(1)));
  SchedulerTick at_slot = Tick(s, At(1, 3, 0, 5));
  EXPECT_EQ(at_slot.started, 0);
  EXPECT_EQ(at_slot.waiting, 1);
  EXPECT_EQ(at_slot.skipped, 0);
  SchedulerTick later = Tick(s, At(1, 3, 10));
  EXPECT_EQ(later.waiting, 1);  // asked again, still held
  EXPECT_EQ(starter_.Calls(v.id), 2);
  ASSERT_OK(meta_->ReleaseTargetLease(target_id_, "gc:run-1"));
  SchedulerTick after = Tick(s, At(1, 3, 20));
  EXPECT_EQ(after.started, 1);
  EXPECT_EQ(after.waiting, 0);
  starter_.Finish(v.id);
  // Served: nothing more until the next day's slot.
  EXPECT_EQ(Tick(s, At(1, 3, 30)).started, 0);
  EXPECT_EQ(Tick(s, At(2, 3, 0, 5)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 4);
}

TEST_F(SchedulerTest, OtherStartErrorsAreNotRetriedEveryTick) {
  auto v = CreateVolume(*meta_, "hourly", target_id_, "0 * * * *");
  Scheduler s(*meta_, starter_, Options());
  starter_.fail_with = Error(ErrorCode::kUnavailable, "agent unreachable");
  EXPECT_EQ(Tick(s, At(1, 2)).failed, 1);
  EXPECT_EQ(Tick(s, At(1, 2, 1)).failed, 0);
  starter_.fail_with.reset();
  EXPECT_EQ(Tick(s, At(1, 3)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 2);
}

TEST_F(SchedulerTest, OnlyTheLeaderStartsBackups) {
  auto v = CreateVolume(*meta_, "hourly", target_id_, "0 * * * *");
  Scheduler s(*meta_, starter_, Options());
  leader_ = false;
  SchedulerTick t = Tick(s, At(1, 2, 5));
  EXPECT_FALSE(t.leader);
  EXPECT_EQ(Tick(s, At(1, 5, 5)).started, 0);
  EXPECT_EQ(starter_.Calls(v.id), 0);
  // Leadership gained: the missed slots run once.
  leader_ = true;
  EXPECT_EQ(Tick(s, At(1, 5, 10)).started, 1);
  EXPECT_EQ(starter_.Calls(v.id), 1);
}

TEST_F(SchedulerTest, AChangedCronAppliesFromNowOn) {
  auto v = CreateVolume(*meta_, "vol", target_id_, "0 3 * * *");
  Scheduler s(*meta_, starter_, Options());
  EXPECT_EQ(Tick(s, At(1, 3, 1)).started, 1);
  starter_.Finish(v.id);
  meta::VolumeSchedule sched{target_id_, "0 10 * * *", 0};
  ASSERT_OK(meta_->SetVolumeSchedule(v.id, sched));
  // 10:00 of day 1 was before the change: not a missed slot.
  EXPECT_EQ(Tick(s, At(1, 12)).started, 0);
  EXPECT_EQ(Tick(s, At(1, 13)).started, 0);
  EXPECT_EQ(Tick(s, At(2, 3, 1)).started, 0);
  EXPECT_EQ(Tick(s, At(2, 10, 1)).started, 1);
}

TEST_F(SchedulerTest, UnscheduledAndUnparsableVolumesAreLeftAlone) {
  auto none = CreateVolume(*meta_, "none", target_id_, "");
  auto bad = CreateVolume(*meta_, "bad", target_id_, "61 * * * *");
  auto good = CreateVolume(*meta_, "good", target_id_, "*/30 * * * *");
  std::vector<std::string> lines;
  SchedulerOptions o = Options();
  o.log = [&](std::string_view l) { lines.emplace_back(l); };
  Scheduler s(*meta_, starter_, o);
  EXPECT_EQ(Tick(s, At(1, 2)).started, 1);
  starter_.Finish(good.id);
  EXPECT_EQ(Tick(s, At(1, 3)).started, 1);
  EXPECT_EQ(starter_.Calls(none.id), 0);
  EXPECT_EQ(starter_.Calls(bad.id), 0);
  int bad_lines = 0;
  for (const auto& l : lines) bad_lines += l.find("bad (") != std::string::npos;
  EXPECT_EQ(bad_lines, 1) << "an unparsable cron is logged once";
}

TEST_F(SchedulerTest, TheLoopRunsOnItsThreadAndStopsAtOnce) {
  auto v = CreateVolume(*meta_, "vol", target_id_, "* * * * *");
  now_ = At(1, 2);
  SchedulerOptions o = Options();
  o.tick = milliseconds(5);
  Scheduler s(*meta_, starter_, o);
  s.Start();
  const auto deadline = steady_clock::now() + seconds(10);
  while (starter_.Calls(v.id) == 0 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  s.Stop();
  EXPECT_EQ(starter_.Calls(v.id), 1);

  // A long tick does not delay Stop: the condition variable wakes it.
  o.tick = hours(1);
  Scheduler slow(*meta_, starter_, o);
  slow.Start();
  std::this_thread::sleep_for(milliseconds(20));
  const auto start = steady_clock::now();
  slow.Stop();
  EXPECT_LT(steady_clock::now() - start, seconds(2));
}

}  // namespace
}  // namespace coffer::manager

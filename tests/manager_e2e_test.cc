// The manager end to end (issue 5): a manager and two agents as real
// processes over real HTTP; volumes backed up, changed, backed up again,
// restored into new volumes and compared bit for bit; dedup across backups
// and across volumes; a deleted backup and a GC, after which backups still
// dedup and restore. On SQLite and PostgreSQL, to a local and a moto S3
// target. And a backup the cron schedule starts on its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/manager_fixture.h"

namespace coffer::testing {
namespace {

class ManagerCycleTest : public ManagerTest {
 protected:
  // Waits for the target's newest GC run to finish; returns it.
  json WaitGc(const std::string& target_id, const std::string& run_id) {
    for (int i = 0; i < 600; ++i) {
      Reply r = manager_->Get("/v1/backup_targets/" + target_id + "/gc_runs");
      EXPECT_EQ(r.status, 200) << r.raw;
      for (const auto& run : r.body["gc_runs"]) {
        if (run["id"] == run_id && run["status"] != "running") return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "GC run " << run_id << " did not finish";
    return nullptr;
  }

  void Cycle(const json& target) {
    const std::string target_id = target["id"];
    json a1 = RegisterAgent(*agent1_, "agent-1");
    json a2 = RegisterAgent(*agent2_, "agent-2");
    const std::string img_a = agent1_->root() + "/a.img";
    const std::string img_b = agent2_->root() + "/b.img";
    MakeImage(img_a, "32M", 1);
    std::filesystem::copy_file(img_a, img_b);
    json va = CreateVolume("vol-a", a1["id"], img_a);
    json vb = CreateVolume("vol-b", a2["id"], img_b);
    Schedule(va["id"], target_id);
    Schedule(vb["id"], target_id);

    // The first backup stores the data; the same data on another volume
    // (another agent) stores nothing new.
    json first = BackUp(va["id"]);
    EXPECT_EQ(first["logical_bytes"], 32 << 20);
    EXPECT_GT(first["new_bytes"].get<int64_t>(), 8 << 20);
    EXPECT_GT(first["stored_bytes"].get<int64_t>(), 0);
    EXPECT_GT(first["chunks"].get<int64_t>(), 0);
    EXPECT_EQ(first["target_id"], target_id);
    json other = BackUp(vb["id"]);
    EXPECT_EQ(other["new_bytes"], 0) << other.dump();
    EXPECT_EQ(other["new_chunks"], 0) << other.dump();

    // A change of a few percent (clustered extents plus scattered writes in
    // hot zones, which touch more 1 MiB chunks) stores a fraction.
    Mutate(img_a, "2", 2);
    json second = BackUp(va["id"]);
    EXPECT_GT(second["new_bytes"].get<int64_t>(), 0);
    EXPECT_LT(second["new_bytes"].get<int64_t>(), first["new_bytes"].get<int64_t>() / 2)
        << second.dump();

    // Restore the second backup into a new volume on the other agent.
    const std::string restored = agent2_->root() + "/a-restored.img";
    json restore = Restore(second["id"], "vol-a-restored", a2["id"], restored);
    EXPECT_EQ(CompareFiles(img_a, restored), "");
    Reply rv = manager_->Get("/v1/volumes/" + restore["volume_id"].get<std::string>());
    ASSERT_EQ(rv.status, 200) << rv.raw;
    EXPECT_EQ(rv.body["name"], "vol-a-restored");
    EXPECT_EQ(rv.body["agent_id"], a2["id"]);
    EXPECT_EQ(rv.body["size_bytes"], 32 << 20);
    EXPECT_EQ(rv.body["restore"]["state"], "completed");

    // Listing and filtering.
    Reply list =
        manager_->Get("/v1/backups?volume_id=" + va["id"].get<std::string>() + "&status=completed");
    ASSERT_EQ(list.status, 200);
    ASSERT_EQ(list.body["backups"].size(), 2u);
    EXPECT_EQ(list.body["backups"][0]["id"], second["id"]);  // newest first

    // Delete the first backup (manifest, then row), sweep the target; the
    // next backups still dedup and restore.
    Reply del = manager_->Delete("/v1/backups/" + first["id"].get<std::string>());
    EXPECT_EQ(del.status, 204) << del.raw;
    EXPECT_EQ(manager_->Get("/v1/backups/" + first["id"].get<std::string>()).status, 404);
    Reply gc = manager_->Post("/v1/backup_targets/" + target_id + "/gc");
    ASSERT_EQ(gc.status, 202) << gc.raw;
    json run = WaitGc(target_id, gc.body["id"]);
    EXPECT_EQ(run["status"], "completed") << run.dump();

    json third = BackUp(va["id"]);
    EXPECT_EQ(third["new_bytes"], 0) << third.dump();
    Mutate(img_a, "1", 3);
    json fourth = BackUp(va["id"]);
    EXPECT_GT(fourth["new_bytes"].get<int64_t>(), 0);
    EXPECT_LT(fourth["new_bytes"].get<int64_t>(), first["new_bytes"].get<int64_t>() / 2);
    const std::string restored2 = agent1_->root() + "/a-restored-2.img";
    Restore(fourth["id"], "vol-a-restored-2", a1["id"], restored2);
    EXPECT_EQ(CompareFiles(img_a, restored2), "");
    // vol-b's backup survived the GC too.
    const std::string restored_b = agent1_->root() + "/b-restored.img";
    Restore(other["id"], "vol-b-restored", a1["id"], restored_b);
    EXPECT_EQ(CompareFiles(img_b, restored_b), "");
  }
};

TEST_F(ManagerCycleTest, SqliteLocalTarget) {
  StartCluster();
  Cycle(CreateLocalTarget("local"));
}

TEST_F(ManagerCycleTest, SqliteS3Target) {
  StartCluster();
  Cycle(CreateS3Target("s3", NewBucket()));
}

TEST_F(ManagerCycleTest, PostgresS3Target) {
  const std::string url = NewPostgresDatabase();
  ASSERT_FALSE(url.empty());
  StartCluster(url);
  Cycle(CreateS3Target("s3", NewBucket()));
}

TEST_F(ManagerCycleTest, PostgresLocalTarget) {
  const std::string url = NewPostgresDatabase();
  ASSERT_FALSE(url.empty());
  StartCluster(url);
  Cycle(CreateLocalTarget("local"));
}

// The scheduler end to end: a volume with a cron of every minute gets a
// backup started by the manager alone (no POST), at the next minute's slot,
// and that backup restores bit for bit. Waits up to a minute for the slot.
TEST_F(ManagerCycleTest, CronScheduleBacksUpOnItsOwn) {
  StartCluster();
  json a1 = RegisterAgent(*agent1_, "agent-1");
  json target = CreateLocalTarget("local");
  const std::string img = agent1_->root() + "/cron.img";
  MakeImage(img, "8M", 3);
  json volume = CreateVolume("vol-cron", a1["id"], img);
  const std::string volume_id = volume["id"];
  Reply r = manager_->Patch("/v1/volumes/" + volume_id + "/backup_schedule",
                            {{"backup_target_id", target["id"]}, {"backup_cron", "* * * * *"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_EQ(r.body["next_backup_runs"].size(), 5u) << r.raw;

  // Nothing started it but the scheduler: wait for the slot (at most a
  // minute away), then for the backup to finish, 90 s in all.
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(90);
  std::string backup_id;
  while (std::chrono::steady_clock::now() < deadline) {
    Reply list = manager_->Get("/v1/backups?volume_id=" + volume_id);
    ASSERT_EQ(list.status, 200) << list.raw;
    if (!list.body["backups"].empty()) {
      backup_id = list.body["backups"][0]["id"];
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(backup_id.empty()) << "no scheduled backup within 90 s\nmanager log:\n"
                                  << manager_->Log();
  const double left =
      90 - std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  json done = manager_->WaitBackup(backup_id, std::max(left, 0.0));
  EXPECT_EQ(done["status"], "completed") << done.dump();
  EXPECT_EQ(done["logical_bytes"], 8 << 20);
  EXPECT_EQ(done["target_id"], target["id"]);
  const std::string restored = agent1_->root() + "/cron-restored.img";
  Restore(done["id"], "vol-cron-restored", a1["id"], restored);
  EXPECT_EQ(CompareFiles(img, restored), "");
  // Stop the schedule so that no further slot starts a backup meanwhile.
  EXPECT_EQ(manager_->Patch("/v1/volumes/" + volume_id + "/backup_schedule", {{"backup_cron", ""}})
                .status,
            200);
}

}  // namespace
}  // namespace coffer::testing

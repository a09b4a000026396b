// Secrets never come back out of the manager, and a backup whose agent
// restarted in the middle of the job ends `failed` with a reason instead of
// staying `running`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "meta/postgres/testing/pg_server.h"
#include "tests/manager_fixture.h"

namespace coffer::testing {
namespace {

class ManagerFaultsTest : public ManagerTest {
 protected:
  // A started restore of a `size` image backed up through the manager.
  struct StartedRestore {
    std::string image, out, restore_id, new_volume;
    json agent, target;
  };
  StartedRestore StartRestore(const std::string& size, int seed) {
    StartedRestore r;
    r.agent = RegisterAgent(*agent1_, "agent-1");
    r.target = CreateLocalTarget("local");
    r.image = agent1_->root() + "/big.img";
    MakeImage(r.image, size, seed);
    json volume = CreateVolume("big", r.agent["id"], r.image);
    Schedule(volume["id"], r.target["id"]);
    json backup = BackUp(volume["id"]);
    EXPECT_EQ(backup["status"], "completed") << backup.dump();
    r.out = agent1_->root() + "/big-restored.img";
    Reply started = manager_->Post("/v1/backups/" + backup["id"].get<std::string>() + "/restore",
                                   {{"name", "big-restored"},
                                    {"agent_id", r.agent["id"]},
                                    {"backend", "file"},
                                    {"locator", r.out}});
    EXPECT_EQ(started.status, 202) << started.raw;
    if (started.status != 202) return r;
    r.restore_id = started.body["restore"]["id"];
    r.new_volume = started.body["id"];
    return r;
  }

  void RestoreWhoseAgentDied(const std::string& database_url);
  void RestoreSurvivesAManagerRestart(const std::string& database_url) {
    StartCluster(database_url);
    StartedRestore r = StartRestore("256M", 21);
    ASSERT_FALSE(r.restore_id.empty());
    const std::string &img = r.image, &out = r.out, &restore_id = r.restore_id,
                      &new_volume = r.new_volume;
    const json& target = r.target;
    const size_t log_before = manager_->Log().size();
    manager_->Restart(SIGKILL);
    // The new process knows it, from the database, and follows it to its end.
    Reply after = manager_->Get("/v1/restores/" + restore_id);
    ASSERT_EQ(after.status, 200) << after.raw;
    EXPECT_EQ(after.body["volume_id"], new_volume);
    json done = manager_->WaitRestore(restore_id, 120);
    EXPECT_EQ(done["state"], "completed") << done.dump() << "\n" << manager_->Log();
    EXPECT_EQ(done["result"]["bytes"], 256 << 20) << done.dump();
    EXPECT_EQ(CompareFiles(img, out), "");
    EXPECT_NE(manager_->Log().substr(log_before).find("restore " + restore_id + " completed"),
              std::string::npos)
        << "the restarted manager did not settle the restore:\n"
        << manager_->Log();
    Reply v = manager_->Get("/v1/volumes/" + new_volume);
    EXPECT_EQ(v.body["restore"]["id"], restore_id);
    EXPECT_EQ(v.body["restore"]["state"], "completed");
    Reply listed = manager_->Get("/v1/restores?volume_id=" + new_volume);
    ASSERT_EQ(listed.status, 200) << listed.raw;
    ASSERT_EQ(listed.body["restores"].size(), 1u);
    EXPECT_EQ(manager_->Get("/v1/restores?state=sideways").status, 400);
    // A restored volume that is complete can be backed up like any other.
    Schedule(new_volume, target["id"]);
    EXPECT_EQ(BackUp(new_volume)["status"], "completed");
  }
};

TEST_F(ManagerFaultsTest, CanarySecretsNeverLeak) {
  StartCluster();
  // The canaries: the S3 target's secret key, and the agents' tokens. None
  // may appear in any answer, log line or metric.
  const std::string canary = MotoKeys().secret_access_key;
  ASSERT_GE(canary.size(), 16u);
  json a1 = RegisterAgent(*agent1_, "agent-1");
  json a2 = RegisterAgent(*agent2_, "agent-2");
  json target = CreateS3Target("s3", NewBucket());
  EXPECT_EQ(target["s3_secret_access_key_set"], true);
  EXPECT_FALSE(target.contains("s3_secret_access_key"));
  const std::string img = agent1_->root() + "/v.img";
  MakeImage(img, "2M", 5);
  json volume = CreateVolume("vol", a1["id"], img);
  Schedule(volume["id"], target["id"]);
  json backup = BackUp(volume["id"]);
  Restore(backup["id"], "vol-restored", a2["id"], agent2_->root() + "/restored.img");
  const std::string tpath = "/v1/backup_targets/" + target["id"].get<std::string>();
  Reply patched = manager_->Patch(tpath, {{"s3_secret_access_key", canary}});
  EXPECT_EQ(patched.status, 200) << patched.raw;
  Reply gc = manager_->Post(tpath + "/gc");
  EXPECT_EQ(gc.status, 202) << gc.raw;
  // A failing call that carries the secret: the error must not echo it.
  Reply failing = manager_->Post("/v1/backup_targets", {{"name", "s3"},  // taken
                                                        {"address", "s3://nowhere/x"},
                                                        {"s3_endpoint", "http://127.0.0.1:9"},
                                                        {"s3_access_key_id", "AKIA"},
                                                        {"s3_secret_access_key", canary},
                                                        {"passphrase", "correct horse battery"}});
  EXPECT_GE(failing.status, 400);

  std::string everything = patched.raw + failing.raw + gc.raw;
  for (const char* path : {"/v1/backup_targets", "/v1/agents", "/v1/volumes", "/v1/backups",
                           "/v1/restores", "/metrics", "/v1/openapi.json"}) {
    Reply r = manager_->Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.raw;
    everything += r.raw;
  }
  everything += manager_->Get(tpath).raw + manager_->Get(tpath + "/gc_runs").raw;
  everything += manager_->Get("/v1/backups/" + backup["id"].get<std::string>()).raw;
  everything += manager_->Get("/v1/agents/" + a1["id"].get<std::string>()).raw;
  everything += manager_->Get("/v1/volumes/" + volume["id"].get<std::string>()).raw;
  const std::string log = manager_->Log();
  ASSERT_NE(log.find("GET /v1/backups"), std::string::npos) << "requests are logged";
  for (const std::string& secret : {canary, agent1_->token(), agent2_->token()}) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << "an API answer holds a secret";
    EXPECT_EQ(log.find(secret), std::string::npos) << "the manager's log holds a secret";
  }
  // The OpenAPI document names every route.
  Reply openapi = manager_->Get("/v1/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  EXPECT_EQ(openapi.body["openapi"], "3.0.3");
  for (const char* route :
       {"/healthz", "/metrics", "/v1/backup_targets", "/v1/backup_targets/{id}",
        "/v1/backup_targets/{id}/gc", "/v1/backup_targets/{id}/gc_runs", "/v1/agents",
        "/v1/agents/{id}", "/v1/volumes", "/v1/volumes/{id}", "/v1/volumes/{id}/backup_schedule",
        "/v1/volumes/{id}/backup", "/v1/backups", "/v1/backups/{id}", "/v1/backups/{id}/restore",
        "/v1/restores", "/v1/restores/{id}"}) {
    EXPECT_TRUE(openapi.body["paths"].contains(route)) << route;
  }
  // The metrics say something real.
  Reply metrics = manager_->Get("/metrics");
  EXPECT_NE(metrics.raw.find("coffer_backups{status=\"completed\"} 1"), std::string::npos)
      << metrics.raw;
  EXPECT_NE(
      metrics.raw.find("coffer_http_requests_total{method=\"GET\",route=\"/v1/backups/{id}\""),
      std::string::npos)
      << metrics.raw;
  EXPECT_NE(metrics.content_type.find("text/plain"), std::string::npos);
}

// Polls GET /v1/backups/{id} until its attempt is `attempt` (or it ends).
json WaitAttempt(const ManagerProc& manager, const std::string& id, int attempt) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = manager.Get("/v1/backups/" + id).body;
    // The new attempt's job is recorded a moment after its number.
    const json& job = last["agent_job_id"];
    if (last["attempt"] == attempt && job.is_string() && !job.get<std::string>().empty()) break;
    if (last["status"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

TEST_F(ManagerFaultsTest, AJobTheAgentLostIsSentAgainAsANewAttemptThreeTimesAtMost) {
  StartCluster();
  json agent = RegisterAgent(*agent1_, "agent-1");
  json target = CreateLocalTarget("local");
  const std::string img = agent1_->root() + "/slow.img";
  MakeImage(img, "1M", 6);
  // A pre-backup hook that waits for a marker file keeps the job running
  // until the agent under it is killed, however slow the machine.
  const std::string go = agent1_->root() + "/go";
  json volume = CreateVolume(
      "slow", agent["id"], img,
      {{"hooks", {{"pre_backup_command", "while [ ! -e " + go + " ]; do sleep 0.1; done"}}}});
  Schedule(volume["id"], target["id"]);
  Reply started = manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup");
  ASSERT_EQ(started.status, 202) << started.raw;
  const std::string id = started.body["id"];
  // Running, with live progress from the agent.
  Reply live = manager_->Get("/v1/backups/" + id);
  ASSERT_EQ(live.status, 200);
  EXPECT_EQ(live.body["status"], "running");
  EXPECT_EQ(live.body["attempt"], 1);
  EXPECT_EQ(live.body["progress"]["state"], "running") << live.raw;

  // No GC while a backup of the target runs (DESIGN §5).
  Reply gc = manager_->Post("/v1/backup_targets/" + target["id"].get<std::string>() + "/gc");
  EXPECT_EQ(gc.status, 409) << gc.raw;

  // The agent restarts: the manager finds the job gone and sends it again as
  // attempt 2, which the new agent process runs and echoes.
  const std::string first_job = live.body["agent_job_id"];
  agent1_->Restart(SIGKILL);
  json second = WaitAttempt(*manager_, id, 2);
  ASSERT_EQ(second["status"], "running") << second.dump();
  ASSERT_EQ(second["attempt"], 2) << second.dump();
  EXPECT_NE(second["agent_job_id"], first_job);
  Reply job = HttpCall(agent1_->port(), "GET",
                       "/v1/storage/jobs/" + second["agent_job_id"].get<std::string>(), "",
                       agent1_->token());
  ASSERT_EQ(job.status, 200) << job.raw;
  EXPECT_EQ(job.body["attempt"], 2);
  EXPECT_NE(manager_->Log().find("sending it again as attempt 2"), std::string::npos);

  // Lost twice more: after three attempts the backup fails, saying why.
  agent1_->Restart(SIGKILL);
  ASSERT_EQ(WaitAttempt(*manager_, id, 3)["attempt"], 3);
  agent1_->Restart(SIGKILL);
  json done = manager_->WaitBackup(id, 30);
  EXPECT_EQ(done["status"], "failed") << done.dump();
  EXPECT_NE(done["error"].get<std::string>().find("no longer knows job"), std::string::npos)
      << done.dump();
  EXPECT_NE(done["error"].get<std::string>().find("gave up after 3 attempts"), std::string::npos)
      << done.dump();
  EXPECT_NE(done["finished_at"], nullptr);

  // A job lost once and sent again completes, as its second attempt.
  Reply next = manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup");
  ASSERT_EQ(next.status, 202) << next.raw;
  const std::string next_id = next.body["id"];
  ASSERT_EQ(WaitAttempt(*manager_, next_id, 1)["status"], "running");
  agent1_->Restart(SIGKILL);
  ASSERT_EQ(WaitAttempt(*manager_, next_id, 2)["attempt"], 2);
  std::ofstream(go) << "go\n";
  json completed = manager_->WaitBackup(next_id, 60);
  EXPECT_EQ(completed["status"], "completed") << completed.dump();
  EXPECT_EQ(completed["attempt"], 2);
  EXPECT_EQ(completed["logical_bytes"], 1 << 20);
}

TEST_F(ManagerFaultsTest, ManagerRestartedMidJobFollowsTheJobAgain) {
  StartCluster();
  json agent = RegisterAgent(*agent1_, "agent-1");
  json target = CreateLocalTarget("local");
  const std::string img = agent1_->root() + "/slow.img";
  MakeImage(img, "1M", 7);
  json volume =
      CreateVolume("slow", agent["id"], img, {{"hooks", {{"pre_backup_command", "sleep 3"}}}});
  Schedule(volume["id"], target["id"]);
  Reply started = manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup");
  ASSERT_EQ(started.status, 202) << started.raw;
  const std::string id = started.body["id"];
  // The manager dies while the agent works; the new process's reconciler
  // finds the silent backup, asks the agent, and follows the job again.
  manager_->Restart(SIGKILL);
  json done = manager_->WaitBackup(id, 60);
  const std::string kStoredAs = "the agent stored this backup as ";
  if (done["status"] == "failed" && done["error"].get<std::string>().starts_with(kStoredAs)) {
    done = manager_
               ->Get("/v1/backups/" + done["error"].get<std::string>().substr(kStoredAs.size(), 36))
               .body;  // an agent that ignores backup_id (manager_fixture.cc)
  }
  EXPECT_EQ(done["status"], "completed") << done.dump() << "\n" << manager_->Log();
  EXPECT_EQ(done["logical_bytes"], 1 << 20);
}

// Restores are rows (issue 16, item 7): a restore started before the manager
// is killed is there after it comes back, followed to its end, and the
// volume it wrote says so; on SQLite and on PostgreSQL.
TEST_F(ManagerFaultsTest, ARestoreSurvivesAManagerRestartOnSqlite) {
  RestoreSurvivesAManagerRestart("");
}

TEST_F(ManagerFaultsTest, ARestoreSurvivesAManagerRestartOnPostgres) {
  const std::string url = NewPostgresDatabase();
  ASSERT_FALSE(url.empty());
  RestoreSurvivesAManagerRestart(url);
}

// An agent killed mid-restore: the restore fails with the reason, the new
// volume says so, and it cannot be backed up by mistake; on SQLite and on
// PostgreSQL.
void ManagerFaultsTest::RestoreWhoseAgentDied(const std::string& database_url) {
  StartCluster(database_url);
  StartedRestore r = StartRestore("512M", 22);
  ASSERT_FALSE(r.restore_id.empty());
  const std::string &out = r.out, &restore_id = r.restore_id, &new_volume = r.new_volume;
  const json& target = r.target;
  agent1_->Restart(SIGKILL);
  json done = manager_->WaitRestore(restore_id, 60);
  ASSERT_EQ(done["state"], "failed") << "the agent was killed mid-restore: " << done.dump();
  EXPECT_NE(done["error"].get<std::string>().find("no longer knows job"), std::string::npos)
      << done.dump();
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing half-written under its name
  Reply v = manager_->Get("/v1/volumes/" + new_volume);
  EXPECT_EQ(v.body["restore"]["state"], "failed") << v.raw;
  Schedule(new_volume, target["id"]);
  Reply refused = manager_->Post("/v1/volumes/" + new_volume + "/backup");
  EXPECT_EQ(refused.status, 409) << refused.raw;
  EXPECT_NE(refused.raw.find("holds no complete data"), std::string::npos) << refused.raw;
  // It can be deleted, and with it its restore's row.
  EXPECT_EQ(manager_->Delete("/v1/volumes/" + new_volume).status, 204);
  EXPECT_EQ(manager_->Get("/v1/restores/" + restore_id).status, 404);
}

TEST_F(ManagerFaultsTest, ARestoreWhoseAgentDiedFailsAndItsVolumeSaysSoOnSqlite) {
  RestoreWhoseAgentDied("");
}

TEST_F(ManagerFaultsTest, ARestoreWhoseAgentDiedFailsAndItsVolumeSaysSoOnPostgres) {
  const std::string url = NewPostgresDatabase();
  ASSERT_FALSE(url.empty());
  RestoreWhoseAgentDied(url);
}

// PostgreSQL stopped for a while under a manager that runs backups (issue
// 17): the manager stays up and says 503 while the database is gone, the
// backup that was running ends in a state, not `running`, and once the
// database is back everything goes on — new backups complete and every
// completed one restores.
TEST_F(ManagerFaultsTest, PostgresStoppedAndRestartedUnderRunningBackups) {
  auto pg = meta::pgtest::PgServer::Start();
  ASSERT_TRUE(pg) << pg.error().message();
  auto url = (*pg)->CreateDatabase();
  ASSERT_TRUE(url) << url.error().message();
  StartCluster(*url);
  json agent = RegisterAgent(*agent1_, "agent-1");
  json target = CreateLocalTarget("local");
  const std::string img = agent1_->root() + "/v.img";
  MakeImage(img, "64M", 31);
  json volume =
      CreateVolume("v", agent["id"], img, {{"hooks", {{"pre_backup_command", "sleep 2"}}}});
  const std::string vid = volume["id"];
  Schedule(vid, target["id"]);
  json first = BackUp(vid);
  ASSERT_EQ(first["status"], "completed") << first.dump();

  Reply started = manager_->Post("/v1/volumes/" + vid + "/backup");
  ASSERT_EQ(started.status, 202) << started.raw;
  const std::string running = started.body["id"];
  (*pg)->Halt();
  // While it is gone: the API says 503 with a reason, /readyz says the
  // database is unavailable, /healthz that the process lives, and it does.
  Reply listed = manager_->Get("/v1/backups");
  EXPECT_EQ(listed.status, 503) << listed.raw;
  EXPECT_EQ(listed.body["error"]["code"], "unavailable") << listed.raw;
  Reply ready = HttpCall(manager_->port(), "GET", "/readyz", "", "");
  EXPECT_EQ(ready.status, 503) << ready.raw;
  EXPECT_EQ(ready.body["error"]["message"], "the metadata database does not answer");
  EXPECT_EQ(HttpCall(manager_->port(), "GET", "/healthz", "", "").status, 200);
  std::this_thread::sleep_for(std::chrono::seconds(6));  // past the job's end
  ASSERT_TRUE(manager_->Alive()) << manager_->Log();
  ASSERT_TRUE((*pg)->Resume());

  // Back: the backup that ran meanwhile settles (completed or failed with a
  // reason), nothing stays running, and the next backup completes.
  json settled = manager_->WaitBackup(running, 120);
  EXPECT_NE(settled["status"], "running") << settled.dump();
  if (settled["status"] == "failed") {
    EXPECT_FALSE(settled["error"].get<std::string>().empty());
  }
  json after = BackUp(vid);
  EXPECT_EQ(after["status"], "completed") << after.dump() << "\n" << manager_->Log();
  Reply all = manager_->Get("/v1/backups?volume_id=" + vid);
  ASSERT_EQ(all.status, 200) << all.raw;
  for (const json& b : all.body["backups"]) {
    EXPECT_NE(b["status"], "running") << b.dump();
  }
  EXPECT_EQ(HttpCall(manager_->port(), "GET", "/readyz", "", "").status, 200);
}

// The manager's disk full under SQLite (issue 17): its data directory on a
// 4 MiB tmpfs, filled up. Writes answer 503 saying the disk is full and
// create nothing, reads still answer, the process stays up; once space
// returns everything works again and the database is intact.
TEST_F(ManagerFaultsTest, AFullDiskUnderSqliteIsAClearErrorAndHeals) {
  const std::string data = dir_ / "manager";
  std::filesystem::create_directories(data + "/data");
  ASSERT_EQ(mount("tmpfs", (data + "/data").c_str(), "tmpfs", 0, "size=4m"), 0)
      << "mounting a tmpfs needs root: " << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{data + "/data"};
  StartCluster();
  json agent = RegisterAgent(*agent1_, "agent-1");
  json target = CreateLocalTarget("local");
  const std::string img = agent1_->root() + "/v.img";
  MakeImage(img, "8M", 41);
  json volume = CreateVolume("v", agent["id"], img);
  const std::string vid = volume["id"];
  Schedule(vid, target["id"]);
  ASSERT_EQ(BackUp(vid)["status"], "completed");

  // Fill the file system to its last byte.
  const std::string filler = data + "/data/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    std::string block(64 * 1024, 'f');
    while (out.write(block.data(), std::streamsize(block.size()))) {
    }
  }
  for (int i = 0; i < 100; ++i) {  // and the blocks a smaller write could still take
    std::ofstream(filler + std::to_string(i)) << std::string(512, 'f');
  }
  Reply refused = manager_->Post(
      "/v1/volumes",
      {{"name", "w"}, {"agent_id", agent["id"]}, {"backend", "file"}, {"locator", img}});
  EXPECT_EQ(refused.status, 503) << refused.raw;
  EXPECT_NE(refused.raw.find("full"), std::string::npos) << refused.raw;
  Reply backup = manager_->Post("/v1/volumes/" + vid + "/backup");
  EXPECT_EQ(backup.status, 503) << backup.raw;
  Reply read = manager_->Get("/v1/volumes");
  EXPECT_EQ(read.status, 200) << read.raw;
  EXPECT_EQ(read.body["volumes"].size(), 1u);
  EXPECT_TRUE(manager_->Alive()) << manager_->Log();

  // Space returns: writes work again, without a restart.
  for (const auto& e : std::filesystem::directory_iterator(data + "/data")) {
    if (e.path().filename().string().starts_with("filler")) std::filesystem::remove(e.path());
  }
  EXPECT_EQ(CreateVolume("w", agent["id"], img)["name"], "w");
  EXPECT_EQ(BackUp(vid)["status"], "completed");
  // And the database is whole: a restarted manager opens it and finds every
  // row (its start runs the migrations and reads the schema).
  manager_->Restart(SIGTERM);
  Reply volumes = manager_->Get("/v1/volumes");
  ASSERT_EQ(volumes.status, 200) << volumes.raw;
  EXPECT_EQ(volumes.body["volumes"].size(), 2u);
  Reply backups = manager_->Get("/v1/backups?volume_id=" + vid);
  EXPECT_EQ(backups.body["backups"].size(), 2u) << backups.raw;
  manager_.reset();  // before the tmpfs goes
}

}  // namespace
}  // namespace coffer::testing

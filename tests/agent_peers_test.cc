// The agent end to end with real storage peers: an iSCSI LUN served by tgtd
// and NBD exports served by nbdkit, backed up and restored through the API;
// snapshot hooks that export a copy through nbdkit and stop it afterwards;
// failing and hanging hooks.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/agent_harness.h"
#include "tests/harness.h"
#include "volume/testing/peers.h"

namespace coffer::testing {
namespace {

class AgentPeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "volumes";
    std::filesystem::create_directories(root_);
    target_ = dir_ / "target";
    key_ = InitTargetForAgent(target_);
    agent_ = std::make_unique<AgentProcess>(dir_.path(), std::vector<std::string>{root_});
    ASSERT_NE(agent_->port(), 0);
  }

  json Backup(const std::string& backend, const std::string& locator, const std::string& name,
              json hooks = nullptr) {
    json volume = {{"name", name}, {"backend", backend}, {"locator", locator}};
    if (!hooks.is_null()) volume["hooks"] = hooks;
    return Run("/v1/storage/backup",
               {{"attempt", 1}, {"target", LocalTarget(target_, key_)}, {"volume", volume}});
  }
  json Restore(const std::string& backup_id, const std::string& backend,
               const std::string& locator) {
    return Run("/v1/storage/restore",
               {{"target", LocalTarget(target_, key_)},
                {"backup_id", backup_id},
                {"destination", {{"backend", backend}, {"locator", locator}}}});
  }
  json Run(const std::string& path, const json& request) {
    HttpReply r = agent_->Post(path, request);
    EXPECT_EQ(r.status, 202) << r.raw;
    if (r.status != 202) return r.body;
    return agent_->WaitJob(r.body["id"]);
  }
  static std::string Log(const json& job) {
    std::string all;
    for (const auto& l : job["log"]) all += l.get<std::string>() + "\n";
    return all;
  }
  // A file of `size` bytes, all 0xEE: what a restore must overwrite.
  std::string Filled(const std::string& name, size_t size) {
    std::string p = dir_ / name;
    std::ofstream(p, std::ios::binary) << std::string(size, '\xee');
    return p;
  }

  TempDir dir_;
  std::string root_, target_, key_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentPeersTest, IscsiLunBacksUpAndRestoresIntoAnotherLun) {
  auto started = std::chrono::steady_clock::now();
  auto tgtd = TgtdServer::Start(dir_.path());
  ASSERT_TRUE(tgtd.has_value()) << tgtd.error().message();
  std::cerr << "tgtd answered after " << (*tgtd)->started_seconds() << " s\n";
  std::string src = dir_ / "lun-src.img";
  MakeImage(src, "24M", 21);
  std::string dst = Filled("lun-dst.img", 24 << 20);
  const std::string iqn_src = "iqn.2026-11.dev.coffer:src", iqn_dst = "iqn.2026-11.dev.coffer:dst";
  ASSERT_TRUE((*tgtd)->AddTarget(1, iqn_src, src).has_value());
  ASSERT_TRUE((*tgtd)->AddTarget(2, iqn_dst, dst).has_value());

  json b = Backup("iscsi", (*tgtd)->Url(iqn_src), "lun");
  ASSERT_EQ(b["state"], "completed") << b.dump(2);
  EXPECT_EQ(b["result"]["logical_bytes"], 24u << 20);
  EXPECT_EQ(b["result"]["snapshot"], "none");
  json r = Restore(b["result"]["backup_id"], "iscsi", (*tgtd)->Url(iqn_dst));
  ASSERT_EQ(r["state"], "completed") << r.dump(2);
  EXPECT_EQ(CompareFiles(src, dst), "");
  std::cerr << "iSCSI round trip in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";
}

TEST_F(AgentPeersTest, NbdExportSkipsHolesAndRestoresIntoAWritableExport) {
  std::string src = dir_ / "nbd-src.img";
  MakeImage(src, "24M", 22, /*sparse=*/true);
  std::string dst = Filled("nbd-dst.img", 24 << 20);
  auto source = NbdkitServer::Start(dir_.path(), {"file", src}, /*read_only=*/true);
  ASSERT_TRUE(source.has_value()) << source.error().message();
  auto dest = NbdkitServer::Start(dir_.path(), {"file", dst});
  ASSERT_TRUE(dest.has_value()) << dest.error().message();

  json b = Backup("nbd", (*source)->uri(), "nbd-vol");
  ASSERT_EQ(b["state"], "completed") << b.dump(2);
  // The same image read as a file (SEEK_HOLE) reports the same zero bytes:
  // base:allocation let the NBD reader skip the same holes.
  std::string copy = root_ + "/same.img";
  std::filesystem::copy_file(src, copy);
  json f = Backup("file", copy, "file-vol");
  ASSERT_EQ(f["state"], "completed") << f.dump(2);
  uint64_t zeros = b["result"]["zero_bytes"];
  EXPECT_GT(zeros, 4u << 20);
  EXPECT_EQ(zeros, f["result"]["zero_bytes"].get<uint64_t>());
  EXPECT_EQ(b["result"]["chunks"], f["result"]["chunks"]);
  EXPECT_EQ(f["result"]["new_chunks"], 0u);  // the same chunks: nothing new

  json r = Restore(b["result"]["backup_id"], "nbd", (*dest)->uri());
  ASSERT_EQ(r["state"], "completed") << r.dump(2);
  EXPECT_EQ(r["result"]["zero_bytes"], zeros);
  EXPECT_EQ(CompareFiles(src, dst), "");

  // A read-only export cannot be a restore destination.
  json ro = Restore(b["result"]["backup_id"], "nbd", (*source)->uri());
  EXPECT_EQ(ro["state"], "failed");
  EXPECT_EQ(ro["error"]["code"], "permission-denied") << ro.dump(2);
}

// The hooks of DESIGN §6 with a real exporter: the pre-backup hook copies
// the image, serves the copy with nbdkit (which daemonizes once its socket
// is ready) and prints its URI; the post-backup hook stops it.
// A job reading from an NBD server that stopped answering (every read takes
// a minute) ends within seconds of a cancel, as cancelled, writing nothing.
TEST_F(AgentPeersTest, ACancelEndsAJobWhoseNbdServerDoesNotAnswer) {
  auto slow = NbdkitServer::Start(dir_.path(), {"--filter=delay", "pattern", "8M", "rdelay=60"});
  ASSERT_TRUE(slow.has_value()) << slow.error().message();
  json volume = {{"name", "slow"}, {"backend", "nbd"}, {"locator", (*slow)->uri()}};
  HttpReply started =
      agent_->Post("/v1/storage/backup",
                   {{"attempt", 1}, {"target", LocalTarget(target_, key_)}, {"volume", volume}});
  ASSERT_EQ(started.status, 202) << started.raw;
  const std::string id = started.body["id"];
  std::this_thread::sleep_for(std::chrono::seconds(1));  // blocked on the server by now
  const auto cancelled_at = std::chrono::steady_clock::now();
  HttpReply cancel = agent_->Post("/v1/storage/jobs/" + id + "/cancel", json::object());
  ASSERT_EQ(cancel.status, 202) << cancel.raw;
  json job = agent_->WaitJob(id, 20);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  EXPECT_EQ(job["state"], "cancelled") << job.dump();
  EXPECT_LT(seconds, 10.0) << job.dump();
  EXPECT_EQ(ManifestCount(target_), 0u);
}

TEST_F(AgentPeersTest, HooksExportASnapshotThroughNbdkitAndReleaseIt) {
  std::string src = dir_ / "live.img";
  MakeImage(src, "16M", 23);
  std::string d = dir_.path();
  json hooks = {{"pre_backup",
                 "set -e; echo \"snapshotting $COFFER_VOLUME_NAME ($COFFER_VOLUME_ID)\"; "
                 "cp " +
                     src + " " + d +
                     "/snap.img; "
                     "nbdkit -r -P " +
                     d + "/snap.pid -U " + d + "/snap.sock file " + d +
                     "/snap.img; "
                     "echo \"nbd+unix:///?socket=" +
                     d + "/snap.sock\""},
                {"post_backup", "echo \"releasing $COFFER_SNAPSHOT_LOCATOR\"; kill $(cat " + d +
                                    "/snap.pid); rm " + d + "/snap.img; echo released >&2"},
                {"timeout_seconds", 20}};
  json b = Backup("nbd", "nbd+unix:///?socket=" + d + "/live.sock", "hooked", hooks);
  ASSERT_EQ(b["state"], "completed") << b.dump(2);
  EXPECT_EQ(b["result"]["snapshot"], "hook");
  EXPECT_EQ(b["volume"]["locator"], "nbd+unix:///?socket=" + d + "/live.sock");
  std::string log = Log(b);
  EXPECT_NE(log.find("pre-backup hook stdout: snapshotting hooked (hooked)"), std::string::npos)
      << log;
  EXPECT_NE(log.find("pre-backup hook gave snapshot nbd+unix:///?socket=" + d + "/snap.sock"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("post-backup hook stdout: releasing nbd+unix:///?socket=" + d + "/snap.sock"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("post-backup hook stderr: released"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(d + "/snap.img"));

  std::string out = root_ + "/restored.img";
  json r = Restore(b["result"]["backup_id"], "file", out);
  ASSERT_EQ(r["state"], "completed") << r.dump(2);
  EXPECT_EQ(CompareFiles(src, out), "");
}

TEST_F(AgentPeersTest, AFailingPreHookFailsTheJobClearlyAndSkipsThePostHook) {
  std::string marker = dir_ / "post-ran";
  json b = Backup("nbd", "nbd://127.0.0.1:1/x", "v",
                  {{"pre_backup", "echo 'zfs: dataset tank/vm not found' >&2; exit 3"},
                   {"post_backup", "touch " + marker}});
  EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(b["error"]["message"],
            "pre-backup hook failed with exit code 3: zfs: dataset tank/vm not found");
  EXPECT_NE(Log(b).find("pre-backup hook stderr: zfs: dataset tank/vm not found"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(ManifestCount(target_), 0u);
}

TEST_F(AgentPeersTest, AHangingHookIsKilledAtItsTimeLimit) {
  auto t0 = std::chrono::steady_clock::now();
  json b = Backup("nbd", "nbd://127.0.0.1:1/x", "v",
                  {{"pre_backup", "echo waiting; sleep 600"}, {"timeout_seconds", 1}});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(b["error"]["code"], "unavailable");
  EXPECT_EQ(b["error"]["message"], "pre-backup hook did not finish within 1 s and was killed");
  EXPECT_NE(Log(b).find("pre-backup hook stdout: waiting"), std::string::npos);
}

// The snapshot the pre-backup hook gives cannot be read: the backup fails,
// and the post-backup hook still releases the snapshot.
TEST_F(AgentPeersTest, PostHookRunsAfterAFailedBackup) {
  std::string marker = dir_ / "released";
  json b = Backup("nbd", "nbd://127.0.0.1:1/x", "v",
                  {{"pre_backup", "echo nbd+unix:///?socket=" + dir_ / "nobody.sock"},
                   {"post_backup", "echo $COFFER_SNAPSHOT_LOCATOR > " + marker}});
  EXPECT_EQ(b["state"], "failed");
  EXPECT_NE(b["error"]["message"].get<std::string>().find("nobody.sock"), std::string::npos)
      << b.dump(2);
  EXPECT_EQ(ReadFile(marker), "nbd+unix:///?socket=" + dir_ / "nobody.sock" + "\n");
  // A hook's file locator is held to the volume roots like any other.
  MakeImage(root_ + "/f.img", "1M", 1);
  json escape = Backup("file", root_ + "/f.img", "f", {{"pre_backup", "echo /etc/passwd"}});
  EXPECT_EQ(escape["state"], "failed");
  EXPECT_NE(escape["error"]["message"].get<std::string>().find("outside the agent's volume roots"),
            std::string::npos)
      << escape.dump(2);
}

}  // namespace
}  // namespace coffer::testing

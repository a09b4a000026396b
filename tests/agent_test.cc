// The agent end to end: build/coffer agent on a loopback port, real HTTP,
// a local target made with the engine (so the test holds its key, as a
// manager would): file volumes backed up and restored bit for bit, auth,
// request validation, cancellation.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "store/s3/testing/moto_server.h"
#include "tests/agent_harness.h"
#include "tests/harness.h"
#include "volume/testing/peers.h"

namespace coffer::testing {
namespace {

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "volumes";
    std::filesystem::create_directories(root_);
    target_ = dir_ / "target";
    key_ = InitTargetForAgent(target_);
    agent_ = std::make_unique<AgentProcess>(dir_.path(), std::vector<std::string>{root_});
    ASSERT_NE(agent_->port(), 0);
  }

  json BackupRequest(const std::string& locator, const std::string& name, uint64_t attempt = 1) {
    return {{"attempt", attempt},
            {"target", LocalTarget(target_, key_)},
            {"volume",
             {{"id", "vol-" + name}, {"name", name}, {"backend", "file"}, {"locator", locator}}}};
  }
  json RestoreRequest(const std::string& backup_id, const std::string& locator) {
    return {{"target", LocalTarget(target_, key_)},
            {"backup_id", backup_id},
            {"destination", {{"backend", "file"}, {"locator", locator}}}};
  }
  // Starts a job and waits for it to end.
  json RunJob(const std::string& path, const json& request) {
    HttpReply r = agent_->Post(path, request);
    EXPECT_EQ(r.status, 202) << r.raw;
    if (r.status != 202) return r.body;
    // The job as it was when the answer was written: a job that fails at
    // once (a wrong key) may have ended already.
    const std::string state = r.body.value("state", "");
    EXPECT_TRUE(state == "running" || state == "completed" || state == "failed") << r.raw;
    return agent_->WaitJob(r.body["id"]);
  }

  TempDir dir_;
  std::string root_, target_, key_;
  std::unique_ptr<AgentProcess> agent_;
};

TEST_F(AgentTest, FileVolumeBacksUpAndRestoresBitExactThroughTheApi) {
  std::string img = root_ + "/vm.img";
  MakeImage(img, "24M", 5, /*sparse=*/true);
  json job = RunJob("/v1/storage/backup", BackupRequest(img, "vm", 7));
  ASSERT_EQ(job["state"], "completed") << job.dump(2);
  EXPECT_EQ(job["kind"], "backup");
  EXPECT_EQ(job["attempt"], 7);
  EXPECT_EQ(job["volume"]["name"], "vm");
  const json& res = job["result"];
  EXPECT_EQ(res["logical_bytes"], 24u << 20);
  EXPECT_GT(res["zero_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(res["new_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(res["snapshot"] == "reflink" || res["snapshot"] == "copy") << res.dump();
  EXPECT_TRUE(res["parent_id"].is_null());
  EXPECT_EQ(job["progress"]["done_bytes"], 24u << 20);
  EXPECT_EQ(job["progress"]["total_bytes"], 24u << 20);
  EXPECT_EQ(ManifestCount(target_), 1u);
  // The snapshot beside the image is gone.
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(root_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);

  // Again: an incremental backup with nothing new, under the id the caller
  // (the manager) chose for it.
  json again_request = BackupRequest(img, "vm", 8);
  const std::string chosen = "0f1e2d3c-4b5a-4697-8877-665544332211";
  again_request["backup_id"] = chosen;
  json again = RunJob("/v1/storage/backup", again_request);
  ASSERT_EQ(again["state"], "completed") << again.dump(2);
  EXPECT_EQ(again["result"]["backup_id"], chosen);
  EXPECT_EQ(again["result"]["parent_id"], res["backup_id"]);
  EXPECT_EQ(again["result"]["new_bytes"], 0u);

  std::string out = root_ + "/restored.img";
  json restore = RunJob("/v1/storage/restore", RestoreRequest(res["backup_id"], out));
  ASSERT_EQ(restore["state"], "completed") << restore.dump(2);
  EXPECT_EQ(restore["result"]["bytes"], 24u << 20);
  EXPECT_EQ(CompareFiles(img, out), "");

  // Listed, and the key never shows in any answer or in the agent's log.
  HttpReply list = agent_->Call("GET", "/v1/storage/jobs");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["jobs"].size(), 3u);
  HttpReply full = agent_->Call("GET", "/v1/storage/jobs/" + job["id"].get<std::string>());
  EXPECT_EQ(full.raw.find(key_), std::string::npos);
  EXPECT_EQ(ReadFile(agent_->log_path()).find(key_), std::string::npos);
  std::string log = full.body["log"].dump();
  EXPECT_NE(log.find("snapshot: "), std::string::npos) << log;
  EXPECT_NE(log.find("backup completed"), std::string::npos) << log;
}

TEST_F(AgentTest, RequestsWithoutTheRightTokenAre401) {
  std::string none, wrong = agent_->token(), other = "x";
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';  // same length, last byte differs
  for (const std::string* t : {&none, &wrong, &other}) {
    for (const char* path : {"/healthz", "/v1/storage/jobs"}) {
      HttpReply r = agent_->Call("GET", path, "", t);
      EXPECT_EQ(r.status, 401) << path << " with '" << *t << "'";
      EXPECT_EQ(r.body["error"]["code"], "unauthenticated");
    }
    HttpReply r =
        agent_->Call("POST", "/v1/storage/backup", BackupRequest(root_ + "/x.img", "x").dump(), t);
    EXPECT_EQ(r.status, 401);
  }
  EXPECT_EQ(agent_->Call("GET", "/healthz").status, 200);
}

TEST_F(AgentTest, BadRequestsAre400NamingTheField) {
  std::string img = root_ + "/vm.img";
  MakeImage(img, "1M", 1);
  auto expect_400 = [&](const std::string& body, const std::string& field,
                        const std::string& says) {
    HttpReply r = agent_->Call("POST", "/v1/storage/backup", body);
    EXPECT_EQ(r.status, 400) << body << " → " << r.raw;
    if (!field.empty()) {
      EXPECT_EQ(r.body["error"]["field"], field) << r.raw;
    }
    EXPECT_NE(r.raw.find(says), std::string::npos) << r.raw;
  };
  expect_400("{\"target\": ", "", "not valid JSON");
  expect_400("[1,2]", "", "must be a JSON object");
  json no_key = BackupRequest(img, "vm");
  no_key["target"].erase("key");
  expect_400(no_key.dump(), "target.key", "target.key: required");
  json bad_id = BackupRequest(img, "vm");
  bad_id["backup_id"] = "not-a-uuid";
  expect_400(bad_id.dump(), "backup_id", "full backup uuid");
  json short_key = BackupRequest(img, "vm");
  short_key["target"]["key"] = "abcd";
  expect_400(short_key.dump(), "target.key", "64 hex digits");
  json no_attempt = BackupRequest(img, "vm");
  no_attempt.erase("attempt");
  expect_400(no_attempt.dump(), "attempt", "attempt: required");
  json bad_backend = BackupRequest(img, "vm");
  bad_backend["volume"]["backend"] = "ceph";
  expect_400(bad_backend.dump(), "volume.backend", "unknown backend");
  expect_400(BackupRequest(root_ + "/../target/config", "vm").dump(), "volume.locator", "'..'");
  std::filesystem::create_symlink(target_ + "/config", root_ + "/escape.img");
  expect_400(BackupRequest(root_ + "/escape.img", "vm").dump(), "volume.locator",
             "outside the agent's volume roots");
  expect_400(BackupRequest(root_ + "/missing.img", "vm").dump(), "volume.locator", "missing.img");

  // Only a regular file or a block device is a file volume: a FIFO (whose
  // open would wait for a writer), a socket or a character device is
  // refused with the request, at once.
  const std::string fifo = root_ + "/vm.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_400(BackupRequest(fifo, "vm").dump(), "volume.locator", "is a FIFO");
  const std::string sock_path = root_ + "/vm.sock";
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  expect_400(BackupRequest(sock_path, "vm").dump(), "volume.locator", "is a socket");
  ::close(sock);
  const std::string chardev = root_ + "/zero.img";
  ASSERT_EQ(::mknod(chardev.c_str(), S_IFCHR | 0600, makedev(1, 5)), 0);  // as /dev/zero
  expect_400(BackupRequest(chardev, "vm").dump(), "volume.locator", "is a character device");

  // Restoring over an existing file is a conflict; a destination outside is 400.
  HttpReply exists = agent_->Post("/v1/storage/restore", RestoreRequest("abcd", img));
  EXPECT_EQ(exists.status, 409) << exists.raw;
  HttpReply outside = agent_->Post("/v1/storage/restore", RestoreRequest("abcd", dir_ / "x.img"));
  EXPECT_EQ(outside.status, 400) << outside.raw;
  EXPECT_EQ(outside.body["error"]["field"], "destination.locator");

  // Oversized bodies are refused before they are read; unknown jobs are 404.
  HttpReply big = agent_->Call("POST", "/v1/storage/backup", std::string(2 << 20, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(agent_->Call("GET", "/v1/storage/jobs/0000").status, 404);
  EXPECT_EQ(ManifestCount(target_), 0u);
}

TEST_F(AgentTest, AWrongTargetKeyFailsTheJobClearly) {
  std::string img = root_ + "/vm.img";
  MakeImage(img, "1M", 1);
  json req = BackupRequest(img, "vm");
  req["target"]["key"] = std::string(64, '7');
  json job = RunJob("/v1/storage/backup", req);
  EXPECT_EQ(job["state"], "failed");
  EXPECT_EQ(job["error"]["code"], "corruption");
  EXPECT_NE(job["error"]["message"].get<std::string>().find("does not match the given target key"),
            std::string::npos);
}

// A slow NBD volume (nbdkit's delay filter) keeps the backup running long
// enough to cancel it half-way.
TEST_F(AgentTest, CancelledBackupEndsCancelledWithoutAManifest) {
  auto slow =
      NbdkitServer::Start(dir_.path(), {"--filter=delay", "pattern", "256M", "delay-read=100ms"});
  ASSERT_TRUE(slow.has_value()) << slow.error().message();
  json req = BackupRequest((*slow)->uri(), "slow");
  req["volume"]["backend"] = "nbd";
  HttpReply started = agent_->Post("/v1/storage/backup", req);
  ASSERT_EQ(started.status, 202) << started.raw;
  std::string id = started.body["id"];
  // Wait until it reads, then cancel.
  for (int i = 0; i < 200; ++i) {
    json j = agent_->Call("GET", "/v1/storage/jobs/" + id).body;
    if (j["progress"]["done_bytes"].get<uint64_t>() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto t0 = std::chrono::steady_clock::now();
  HttpReply cancel = agent_->Call("POST", "/v1/storage/jobs/" + id + "/cancel");
  EXPECT_EQ(cancel.status, 202) << cancel.raw;
  json job = agent_->WaitJob(id, 20);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(job["state"], "cancelled") << job.dump(2);
  EXPECT_EQ(job["error"]["code"], "cancelled");
  EXPECT_LT(job["progress"]["done_bytes"].get<uint64_t>(), 256u << 20);
  EXPECT_EQ(ManifestCount(target_), 0u);
  // A finished job cannot be cancelled again.
  EXPECT_EQ(agent_->Call("DELETE", "/v1/storage/jobs/" + id).status, 409);
}

// On S3 (moto) a backup job asks nothing about the chunks it produces: the
// agent lists the target once and remembers its chunks, so a second volume
// holding the same data uploads none of them again and sends no HEAD; later
// jobs remember the chunks and the backups' summaries instead of reading
// them again. Restores stay bit for bit.
TEST_F(AgentTest, S3BackupJobsSendNoHeadAndUploadNoKnownChunkAgain) {
  auto moto = testing_tools::MotoServer::Start();
  ASSERT_TRUE(moto) << moto.error().message();
  ASSERT_TRUE((*moto)->CreateBucket("agent-known"));
  const std::string address = "s3://agent-known/t", endpoint = (*moto)->endpoint();
  const std::string key = InitS3TargetForAgent(address, endpoint);
  ASSERT_FALSE(key.empty());
  auto request = [&](const std::string& img, const std::string& name) {
    return json{
        {"attempt", 1},
        {"target", S3Target(address, endpoint, key)},
        {"volume", {{"id", "vol-" + name}, {"name", name}, {"backend", "file"}, {"locator", img}}}};
  };
  const std::string a = root_ + "/a.img", b = root_ + "/b.img";
  MakeImage(a, "12M", 9, /*sparse=*/false);
  std::filesystem::copy_file(a, b);

  json first = RunJob("/v1/storage/backup", request(a, "a"));
  ASSERT_EQ(first["state"], "completed") << first.dump(2);
  const json& r1 = first["result"];
  ASSERT_GT(r1["new_chunks"].get<uint64_t>(), 0u);
  // No chunk is asked about: the one HEAD is the job's lock, confirmed
  // before the manifest (DESIGN §5), as is the DELETE its release.
  EXPECT_EQ(r1["requests"]["head"], 1u) << r1.dump();
  EXPECT_EQ(r1["requests"]["delete"], 1u) << r1.dump();
  // One PUT per new chunk, one for the manifest and one for the lock.
  EXPECT_EQ(r1["requests"]["put"], r1["new_chunks"].get<uint64_t>() + 2) << r1.dump();
  EXPECT_NE(first.dump().find("known chunks: 0 listed in the target"), std::string::npos);

  json second = RunJob("/v1/storage/backup", request(b, "b"));
  ASSERT_EQ(second["state"], "completed") << second.dump(2);
  const json& r2 = second["result"];
  EXPECT_EQ(r2["new_bytes"], 0u) << r2.dump();
  EXPECT_EQ(r2["new_chunks"], 0u);
  EXPECT_EQ(r2["requests"]["head"], 1u) << r2.dump();  // the lock's
  // The chunks were remembered, not listed again: only the manifests are.
  EXPECT_EQ(r2["requests"]["list"], r1["requests"]["list"].get<uint64_t>() - 1) << r2.dump();
  EXPECT_EQ(r2["requests"]["put"], 2u) << r2.dump();  // the manifest and the lock only
  EXPECT_NE(second.dump().find("remembered from earlier jobs"), std::string::npos);

  // Again for `b`: the earlier backups' summaries are remembered too, so
  // finding the parent costs only the parent's manifest (one GET more than
  // the second job, which had no parent), not a GET per backup.
  json third = RunJob("/v1/storage/backup", request(b, "b"));
  ASSERT_EQ(third["state"], "completed") << third.dump(2);
  const json& r3 = third["result"];
  EXPECT_EQ(r3["parent_id"], r2["backup_id"]);
  EXPECT_EQ(r3["requests"]["get"], r2["requests"]["get"].get<uint64_t>() + 1) << r3.dump();
  EXPECT_EQ(r3["requests"]["put"], 2u) << r3.dump();

  const std::string out = root_ + "/b-restored.img";
  json restore =
      RunJob("/v1/storage/restore", {{"target", S3Target(address, endpoint, key)},
                                     {"backup_id", r2["backup_id"]},
                                     {"destination", {{"backend", "file"}, {"locator", out}}}});
  ASSERT_EQ(restore["state"], "completed") << restore.dump(2);
  EXPECT_EQ(CompareFiles(b, out), "");
}

// An agent killed mid-backup leaves its snapshot copy (the volume's full
// size) beside the volume; the next agent on those roots removes it at
// start. A copy whose process still runs is left alone.
TEST(AgentLeftoversTest, SnapshotsOfAGoneAgentAreRemovedAtStart) {
  TempDir dir;
  const std::string root = dir / "volumes";
  std::filesystem::create_directories(root + "/sub");
  // A pid that runs no process: one just reaped.
  pid_t gone = Spawn({"/bin/true"});
  int status = 0;
  ::waitpid(gone, &status, 0);
  const std::string dead =
      root + "/.vm.img.coffer-snapshot-" + std::to_string(gone) + "-0123456789ab";
  const std::string deep =
      root + "/sub/.db.img.coffer-snapshot-" + std::to_string(gone) + "-abcdef012345";
  const std::string old_style = root + "/.vm.img.coffer-snapshot-a1b2c3d4e5f6";
  const std::string live =
      root + "/.vm.img.coffer-snapshot-" + std::to_string(::getpid()) + "-0123456789ab";
  const std::string not_ours = root + "/.vm.img.coffer-snapshot-notes.txt";
  for (const auto& p : {dead, deep, old_style, live, not_ours}) WriteFile(p, "snapshot bytes");
  AgentProcess agent(dir.path(), {root});
  ASSERT_NE(agent.port(), 0);
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_FALSE(std::filesystem::exists(deep));
  EXPECT_FALSE(std::filesystem::exists(old_style));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(not_ours));
  const std::string log = ReadFile(agent.log_path());
  EXPECT_NE(log.find("removed leftover snapshot " + dead), std::string::npos) << log;
  EXPECT_NE(log.find("removed leftover snapshot " + deep), std::string::npos) << log;
}

// The commit gate (DESIGN §5): a backup sent with await_commit stops before
// its manifest until the manager approves its attempt; another attempt, or
// an abandon, ends it with nothing written.
TEST_F(AgentTest, TheCommitGateWaitsForTheManagersWord) {
  std::string img = root_ + "/vm.img";
  MakeImage(img, "4M", 3);
  auto start = [&](uint64_t attempt) {
    json req = BackupRequest(img, "vm", attempt);
    req["await_commit"] = true;
    HttpReply r = agent_->Post("/v1/storage/backup", req);
    EXPECT_EQ(r.status, 202) << r.raw;
    const std::string id = r.body["id"];
    // Wait until it asks.
    for (int i = 0; i < 600; ++i) {
      HttpReply j = agent_->Call("GET", "/v1/storage/jobs/" + id);
      if (j.body["awaiting_commit"] == true) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return id;
  };
  // Not waiting yet, a malformed answer: refused, nothing changes.
  const std::string approved = start(4);
  HttpReply bad = agent_->Call("POST", "/v1/storage/jobs/" + approved + "/commit", "{}");
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.body["error"]["field"], "attempt");
  EXPECT_EQ(ManifestCount(target_), 0u);  // still waiting: no manifest yet
  HttpReply ok = agent_->Post("/v1/storage/jobs/" + approved + "/commit", {{"attempt", 4}});
  EXPECT_EQ(ok.status, 200) << ok.raw;
  json done = agent_->WaitJob(approved);
  EXPECT_EQ(done["state"], "completed") << done.dump(2);
  EXPECT_EQ(ManifestCount(target_), 1u);
  HttpReply again = agent_->Post("/v1/storage/jobs/" + approved + "/commit", {{"attempt", 4}});
  EXPECT_EQ(again.status, 409) << again.raw;  // not waiting any more

  // The manager holds attempt 6 for this backup: attempt 5 is fenced.
  const std::string stale = start(5);
  HttpReply fenced = agent_->Post("/v1/storage/jobs/" + stale + "/commit", {{"attempt", 6}});
  EXPECT_EQ(fenced.status, 409) << fenced.raw;
  json stale_done = agent_->WaitJob(stale);
  EXPECT_EQ(stale_done["state"], "failed");
  EXPECT_EQ(stale_done["error"]["code"], "conflict");
  EXPECT_NE(stale_done["error"]["message"].get<std::string>().find("fenced"), std::string::npos)
      << stale_done.dump(2);

  // Abandoned with a reason.
  const std::string dropped = start(7);
  HttpReply abandon = agent_->Post("/v1/storage/jobs/" + dropped + "/abandon",
                                   {{"reason", "backup b was failed by the reconciler"}});
  EXPECT_EQ(abandon.status, 200) << abandon.raw;
  json dropped_done = agent_->WaitJob(dropped);
  EXPECT_EQ(dropped_done["state"], "failed");
  EXPECT_NE(dropped_done["error"]["message"].get<std::string>().find("failed by the reconciler"),
            std::string::npos)
      << dropped_done.dump(2);
  EXPECT_EQ(agent_->Post("/v1/storage/jobs/" + dropped + "/abandon", json::object()).status, 409);
  EXPECT_EQ(ManifestCount(target_), 1u);  // only the approved one
  // The target is whole, and no lock is left behind.
  EXPECT_FALSE(std::filesystem::exists(target_ + "/locks") &&
               !std::filesystem::is_empty(target_ + "/locks"));
}

// With a certificate the agent speaks HTTPS only; the token is still required.
TEST(AgentTlsTest, ServesHttpsWithTheConfiguredCertificate) {
  TempDir dir;
  std::string cert = dir / "cert.pem", key = dir / "key.pem";
  RunResult made = RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                               "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                               "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::filesystem::create_directories(dir / "volumes");
  AgentProcess agent(dir.path(), {dir / "volumes"}, {"--tls-cert", cert, "--tls-key", key});
  ASSERT_NE(agent.port(), 0);
  EXPECT_EQ(agent.Call("GET", "/healthz").status, 200);
  std::string wrong = "wrong-token-0000000000";
  EXPECT_EQ(agent.Call("GET", "/healthz", "", &wrong).status, 401);
  // Plain HTTP gets no HTTP answer.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(agent.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = "GET /healthz HTTP/1.0\r\nAuthorization: Bearer " + agent.token() + "\r\n\r\n";
  ASSERT_EQ(::write(fd, req.data(), req.size()), ssize_t(req.size()));
  char buf[64] = {};
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  EXPECT_FALSE(n > 0 && std::string(buf, size_t(n)).starts_with("HTTP/1.1 200"));
}

}  // namespace
}  // namespace coffer::testing

// The manager's error matrix (issue 5, DESIGN §7), the canary S3 secret that
// must never come back out, and an agent restarted in the middle of a job.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "agent_api/protocol.h"
#include "base/uuid.h"
#include "service/testing/served.h"
#include "tests/manager_fixture.h"

namespace coffer::testing {
namespace {

class ManagerErrorsTest : public ManagerTest {};

void ExpectError(const Reply& r, int status, const std::string& field = "") {
  EXPECT_EQ(r.status, status) << r.raw;
  ASSERT_TRUE(r.body.is_object()) << r.raw;
  ASSERT_TRUE(r.body.contains("error")) << r.raw;
  EXPECT_FALSE(r.body["error"]["message"].get<std::string>().empty());
  if (!field.empty()) {
    EXPECT_EQ(r.body["error"].value("field", ""), field) << r.raw;
  }
}

TEST_F(ManagerErrorsTest, ErrorMatrix) {
  StartCluster();
  json agent = RegisterAgent(*agent1_, "agent-1");
  const std::string img = agent1_->root() + "/v.img";
  MakeImage(img, "1M", 4);
  json volume = CreateVolume("vol", agent["id"], img);
  json target = CreateLocalTarget("local");
  const int port = manager_->port();

  // 401: no token, a wrong one; /healthz needs none.
  ExpectError(HttpCall(port, "GET", "/v1/agents", "", ""), 401);
  ExpectError(HttpCall(port, "GET", "/v1/agents", "", "not-the-token-at-all"), 401);
  ExpectError(HttpCall(port, "POST", "/v1/agents", "{}", "wrong"), 401);
  ExpectError(HttpCall(port, "GET", "/metrics", "", ""), 401);
  EXPECT_EQ(HttpCall(port, "GET", "/healthz", "", "").status, 200);

  // 400: malformed JSON, not an object, invalid fields (named).
  ExpectError(HttpCall(port, "POST", "/v1/agents", "{\"name\": ", manager_->token()), 400);
  ExpectError(HttpCall(port, "POST", "/v1/agents", "[1,2]", manager_->token()), 400);
  ExpectError(manager_->Post("/v1/agents", {{"name", "x"}, {"url", "ftp://h"}, {"token", "t"}}),
              400, "url");
  ExpectError(
      manager_->Post(
          "/v1/volumes",
          {{"name", "v2"}, {"agent_id", agent["id"]}, {"backend", "floppy"}, {"locator", img}}),
      400, "backend");
  ExpectError(manager_->Post("/v1/volumes", {{"name", "v2"},
                                             {"agent_id", Uuid::Random().ToString()},
                                             {"backend", "file"},
                                             {"locator", img}}),
              400, "agent_id");
  ExpectError(manager_->Post("/v1/volumes", {{"name", "v2"}, {"backend", "file"}}), 400,
              "agent_id");
  ExpectError(manager_->Post("/v1/backup_targets", {{"name", "t2"},
                                                    {"address", dir_ / "t2"},
                                                    {"passphrase", "long enough"},
                                                    {"gc_hour", 25}}),
              400, "gc_hour");
  ExpectError(manager_->Post("/v1/backup_targets",
                             {{"name", "t2"}, {"address", dir_ / "t2"}, {"colour", "red"}}),
              400, "colour");
  const std::string schedule =
      "/v1/volumes/" + volume["id"].get<std::string>() + "/backup_schedule";
  ExpectError(manager_->Patch(schedule, {{"backup_cron", "61 * * * *"}}), 400, "backup_cron");
  ExpectError(manager_->Patch(schedule, {{"backup_target_id", "no-such-target"}}), 400,
              "backup_target_id");
  ExpectError(manager_->Patch(schedule, {{"backup_retain_count", -1}}), 400, "backup_retain_count");
  ExpectError(manager_->Get("/v1/backups?status=sleeping"), 400, "status");
  // A volume without a target cannot be backed up.
  ExpectError(manager_->Post("/v1/volumes/" + volume["id"].get<std::string>() + "/backup"), 400,
              "backup_target_id");

  // A valid schedule answers with its next runs.
  Reply ok = manager_->Patch(schedule, {{"backup_target_id", target["id"]},
                                        {"backup_cron", "0 3 * * *"},
                                        {"backup_retain_count", 3}});
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["next_backup_runs"].size(), 5u);
  EXPECT_EQ(ok.body["backup_retain_count"], 3);
  // Cleared again: a test that runs across 03:00 UTC must not see the
  // scheduler start a backup under the requests below.
  Reply cleared = manager_->Patch(schedule, {{"backup_cron", ""}});
  ASSERT_EQ(cleared.status, 200) << cleared.raw;
  EXPECT_TRUE(cleared.body["next_backup_runs"].empty()) << cleared.raw;

  // 413: a body over the limit (1 MiB by default).
  std::string huge = "{\"name\": \"" + std::string(2 << 20, 'x') + "\"}";
  Reply big = HttpCall(port, "POST", "/v1/agents", huge, manager_->token());
  EXPECT_EQ(big.status, 413) << big.raw.substr(0, 200);

  // 404.
  ExpectError(manager_->Get("/v1/backups/" + Uuid::Random().ToString()), 404);
  ExpectError(manager_->Get("/v1/volumes/" + Uuid::Random().ToString()), 404);
  ExpectError(manager_->Delete("/v1/agents/" + Uuid::Random().ToString()), 404);
  ExpectError(manager_->Post("/v1/backup_targets/" + Uuid::Random().ToString() + "/gc"), 404);
  ExpectError(manager_->Get("/v1/restores/" + Uuid::Random().ToString()), 404);
  ExpectError(manager_->Get("/v1/no/such/route"), 404);

  // 409: names taken, rows still referenced.
  ExpectError(
      manager_->Post("/v1/agents",
                     {{"name", "agent-1"}, {"url", agent1_->url()}, {"token", agent1_->token()}}),
      409);
  ExpectError(manager_->Delete("/v1/agents/" + agent["id"].get<std::string>()), 409);
  json backup = BackUp(volume["id"]);
  const std::string target_path = "/v1/backup_targets/" + target["id"].get<std::string>();
  ExpectError(manager_->Delete(target_path), 409);
  ExpectError(manager_->Delete("/v1/volumes/" + volume["id"].get<std::string>()), 409);
  ExpectError(manager_->Post("/v1/backups/" + backup["id"].get<std::string>() + "/restore",
                             {{"name", "vol"},
                              {"agent_id", agent["id"]},
                              {"backend", "file"},
                              {"locator", agent1_->root() + "/r.img"}}),
              409);
  // A restore the agent refuses (outside its volume roots): 400, and no
  // volume is left behind.
  ExpectError(manager_->Post("/v1/backups/" + backup["id"].get<std::string>() + "/restore",
                             {{"name", "escaped"},
                              {"agent_id", agent["id"]},
                              {"backend", "file"},
                              {"locator", "/etc/coffer-escape.img"}}),
              400, "locator");
  Reply volumes = manager_->Get("/v1/volumes");
  EXPECT_EQ(volumes.body["volumes"].size(), 1u) << volumes.raw;

  // Forced, the target goes with its backup rows.
  EXPECT_EQ(manager_->Delete(target_path + "?force=true").status, 204);
  ExpectError(manager_->Get("/v1/backups/" + backup["id"].get<std::string>()), 404);
}

TEST_F(ManagerErrorsTest, UnreachableOrRefusingTargetIs422WithTheS3Code) {
  StartCluster();
  const std::string bucket = NewBucket(true);
  json base = {{"address", "s3://" + bucket},
               {"s3_endpoint", Moto(true)->endpoint()},
               {"s3_access_key_id", "AKIAWRONGWRONGWRONG1"},
               {"s3_secret_access_key", "wrong-secret"},
               {"passphrase", "correct horse battery"}};
  json wrong = base;
  wrong["name"] = "wrong-key";
  Reply r = manager_->Post("/v1/backup_targets", wrong);
  ExpectError(r, 422);
  EXPECT_EQ(r.body["error"].value("s3_error_code", ""), "InvalidAccessKeyId") << r.raw;

  json bad_secret = base;
  bad_secret["name"] = "bad-secret";
  bad_secret["s3_access_key_id"] = MotoKeys(true).access_key_id;
  r = manager_->Post("/v1/backup_targets", bad_secret);
  ExpectError(r, 422);
  EXPECT_EQ(r.body["error"].value("s3_error_code", ""), "SignatureDoesNotMatch") << r.raw;

  json unreachable = base;
  unreachable["name"] = "unreachable";
  unreachable["s3_endpoint"] = "http://127.0.0.1:9";  // discard: nothing listens
  ExpectError(manager_->Post("/v1/backup_targets", unreachable), 422);

  // PATCH with credentials the target refuses: 422, nothing changed.
  json target = CreateS3Target("good", NewBucket(true), true);
  const std::string path = "/v1/backup_targets/" + target["id"].get<std::string>();
  r = manager_->Patch(path, {{"s3_secret_access_key", "not-the-secret"}});
  ExpectError(r, 422);
  EXPECT_EQ(r.body["error"].value("s3_error_code", ""), "SignatureDoesNotMatch") << r.raw;
  // And a real update is kept.
  r = manager_->Patch(path, {{"name", "renamed"}, {"gc_hour", 5}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(manager_->Get(path).body["name"], "renamed");
  EXPECT_EQ(manager_->Get(path).body["gc_hour"], 5);
}

}  // namespace
}  // namespace coffer::testing

namespace coffer::testing {
namespace {

// An in-process stand-in for an agent of another version: it answers
// /healthz with the protocol it is given, and nothing else.
std::unique_ptr<service::testing::ServedOnThread> OtherAgent(int protocol) {
  return std::make_unique<service::testing::ServedOnThread>(
      "other agent", [protocol](service::HttpServer& s) {
        s.Get("/healthz", [protocol](service::Request&, service::Response& res) {
          res.Json(200, {{"status", "ok"}, {"protocol_version", protocol}, {"version", "9.9.9"}});
        });
      });
}

// An agent is asked what it speaks before it is registered: another
// protocol version, a refused token or no answer is a 422 naming the field,
// and nothing is stored.
TEST_F(ManagerErrorsTest, AgentsAreCheckedWhenTheyAreRegistered) {
  StartCluster();
  const std::string token = "an-agent-token-0123456789";
  auto other_agent = OtherAgent(agent_api::kProtocolVersion + 1);
  const auto& other = *other_agent;
  Reply r =
      manager_->Post("/v1/agents", {{"name", "other"}, {"url", other.url()}, {"token", token}});
  ExpectError(r, 422, "url");
  const std::string message = r.body["error"]["message"];
  EXPECT_NE(message.find("speaks agent protocol " +
                         std::to_string(agent_api::kProtocolVersion + 1) + " (coffer 9.9.9)"),
            std::string::npos)
      << message;

  r = manager_->Post("/v1/agents",
                     {{"name", "down"}, {"url", "http://127.0.0.1:9"}, {"token", token}});
  ExpectError(r, 422, "url");
  EXPECT_NE(r.raw.find("register the agent once it runs"), std::string::npos) << r.raw;

  r = manager_->Post("/v1/agents",
                     {{"name", "wrong-token"}, {"url", agent1_->url()}, {"token", token}});
  ExpectError(r, 422, "token");
  EXPECT_EQ(manager_->Get("/v1/agents").body["agents"].size(), 0u);

  // The real one is registered, and says what it speaks.
  r = manager_->Post("/v1/agents",
                     {{"name", "agent-1"}, {"url", agent1_->url()}, {"token", agent1_->token()}});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["protocol_version"], agent_api::kProtocolVersion);
  EXPECT_EQ(r.body["agent_version"], COFFER_VERSION);
  // Moving it to the other agent's URL is refused the same way; it stays.
  const std::string path = "/v1/agents/" + r.body["id"].get<std::string>();
  ExpectError(manager_->Patch(path, {{"url", other.url()}}), 422, "url");
  EXPECT_EQ(manager_->Get(path).body["url"], agent1_->url());
}

}  // namespace
}  // namespace coffer::testing

// The bad-input matrix (issue 17): every route of the manager that takes a
// body, and the agent's, with bodies over the limit, nested too deep, not
// UTF-8, with numbers out of range, wrong types, unknown or repeated keys,
// the wrong Content-Type; then the fields that name places — agent URLs,
// tokens, locators, target directories and S3 endpoints — pointed where
// they must not go. Each gets its 4xx with the field named, the service
// stays up, and nothing is created.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <tuple>

#include "service/http_client.h"
#include "tests/manager_fixture.h"

namespace coffer::testing {
namespace {

class ManagerBadInputTest : public ManagerTest {};

std::string Request(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& content_type, const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

std::string Describe(const Reply& r) { return std::to_string(r.status) + " " + r.raw; }

void Expect(const Reply& r, int status, const std::string& field, const std::string& says,
            const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << Describe(r);
  if (!r.body.is_object() || !r.body.contains("error")) {
    ADD_FAILURE() << what << ": no error body: " << Describe(r);
    return;
  }
  const json& e = r.body["error"];
  if (!field.empty()) {
    EXPECT_EQ(e.value("field", ""), field) << what << ": " << Describe(r);
  }
  EXPECT_NE(e.value("message", "").find(says), std::string::npos) << what << ": " << Describe(r);
}

TEST_F(ManagerBadInputTest, EveryBodyRouteRefusesBadBodiesAndCreatesNothing) {
  StartCluster();
  json agent = RegisterAgent(*agent1_, "agent-1");
  const std::string img = agent1_->root() + "/v.img";
  MakeImage(img, "1M", 4);
  json volume = CreateVolume("vol", agent["id"], img);
  json target = CreateLocalTarget("local");
  const int port = manager_->port();
  const std::string token = manager_->token();
  const std::string aid = agent["id"], vid = volume["id"], tid = target["id"];
  auto counts = [&] {
    return std::tuple(manager_->Get("/v1/agents").body["agents"].size(),
                      manager_->Get("/v1/volumes").body["volumes"].size(),
                      manager_->Get("/v1/backup_targets").body["backup_targets"].size(),
                      manager_->Get("/v1/backups").body["backups"].size());
  };
  const auto before = counts();

  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/agents"},
      {"PATCH", "/v1/agents/" + aid},
      {"POST", "/v1/volumes"},
      {"PATCH", "/v1/volumes/" + vid},
      {"PATCH", "/v1/volumes/" + vid + "/backup_schedule"},
      {"POST", "/v1/backup_targets"},
      {"PATCH", "/v1/backup_targets/" + tid},
  };
  const std::string json_type = "application/json";
  const std::string deep = "{\"name\":" + std::string(40, '[') + std::string(40, ']') + "}";
  for (const auto& [method, path] : routes) {
    const std::string at = method + " " + path;
    auto send = [&](const std::string& type, const std::string& body) {
      return RawCall(port, Request(method, path, token, type, body));
    };
    Expect(send(json_type, "{\"name\":\"" + std::string(1100000, 'x') + "\"}"), 413, "",
           "larger than the manager accepts", at + " over the limit");
    Expect(send(json_type, deep), 400, "", "nests deeper than 32", at + " nested");
    Expect(send(json_type, "{\"name\":\"\xff\xfe\"}"), 400, "", "not valid JSON", at + " utf-8");
    Expect(send(json_type, "{\"name\":1e400}"), 400, "", "number overflow", at + " 1e400");
    Expect(send(json_type, "{\"name\":\"a\",\"name\":\"b\"}"), 400, "", "the key 'name' twice",
           at + " duplicate key");
    Expect(send("text/plain", "{\"name\":\"a\"}"), 415, "", "Content-Type: application/json",
           at + " text/plain");
    Expect(send("application/x-www-form-urlencoded", "name=a"), 415, "", "Content-Type",
           at + " form");
    Expect(send("", "{\"name\":\"a\"}"), 415, "", "none was given", at + " no type");
    Expect(send(json_type, ""), 400, "", "the request has no body", at + " empty");
    Expect(send(json_type, "{\"colour\":\"red\"}"), 400, "colour", "unknown field",
           at + " unknown field");
  }
  // Wrong types and ranges, named.
  Expect(manager_->Post("/v1/agents", {{"name", 5}, {"url", "http://h:1"}, {"token", "t"}}), 400,
         "name", "", "name as a number");
  Expect(manager_->Post("/v1/agents", {{"name", std::string(300, 'n')},
                                       {"url", "http://127.0.0.1:1"},
                                       {"token", "0123456789abcdef"}}),
         400, "name", "", "a long name");
  Expect(manager_->Patch("/v1/backup_targets/" + tid, {{"gc_grace_seconds", -1}}), 400,
         "gc_grace_seconds", "", "negative grace");
  Expect(manager_->Patch("/v1/volumes/" + vid, {{"size_bytes", -4096}}), 400, "size_bytes", "",
         "negative size");
  Expect(
      manager_->Patch("/v1/volumes/" + vid + "/backup_schedule", {{"backup_retain_count", 1e300}}),
      400, "backup_retain_count", "", "huge retain count");
  for (const char* limit : {"1e400", "-1", "12abc", "", "99999999999999999999"}) {
    Expect(manager_->Get(std::string("/v1/backups?limit=") + limit), 400, "limit",
           "must be a whole number", std::string("limit=") + limit);
  }

  // Places: agents at metadata addresses or impossible ports, tokens that
  // would inject header lines.
  const std::string good_token = "0123456789abcdef0123";
  Expect(
      manager_->Post("/v1/agents",
                     {{"name", "meta"}, {"url", "http://169.254.169.254"}, {"token", good_token}}),
      400, "url", "link-local", "metadata agent");
  Expect(
      manager_->Post("/v1/agents",
                     {{"name", "meta6"}, {"url", "http://[fe80::1]:8081"}, {"token", good_token}}),
      400, "url", "link-local", "IPv6 link-local agent");
  Expect(manager_->Post("/v1/agents", {{"name", "mapped"},
                                       {"url", "http://[::ffff:169.254.169.254]"},
                                       {"token", good_token}}),
         400, "url", "link-local", "mapped IPv4 agent");
  Expect(
      manager_->Post("/v1/agents",
                     {{"name", "port"}, {"url", "http://127.0.0.1:99999"}, {"token", good_token}}),
      400, "url", "1 to 65535", "port 99999");
  Expect(manager_->Post("/v1/agents",
                        {{"name", "zero"}, {"url", "http://0.0.0.0:8081"}, {"token", good_token}}),
         400, "url", "0.0.0.0/8", "0.0.0.0");
  Expect(manager_->Post("/v1/agents", {{"name", "inject"},
                                       {"url", "http://127.0.0.1:1"},
                                       {"token", "0123456789abcdef\r\nX-Evil: 1"}}),
         400, "token", "control characters", "CRLF token");
  Expect(manager_->Patch("/v1/agents/" + aid, {{"url", "http://169.254.0.1:8081"}}), 400, "url",
         "link-local", "PATCH to a metadata URL");

  // Locators the manager can judge without the agent.
  for (const std::string& locator :
       {std::string("relative/v.img"), agent1_->root() + "/../etc/passwd",
        agent1_->root() + "/a/../../v.img", std::string("/x\0y", 4), std::string("")}) {
    Expect(manager_->Post(
               "/v1/volumes",
               {{"name", "escape"}, {"agent_id", aid}, {"backend", "file"}, {"locator", locator}}),
           400, "locator", "", "locator " + locator);
  }
  Expect(manager_->Patch("/v1/volumes/" + vid, {{"locator", "/a/../b"}}), 400, "locator", "'..'",
         "PATCH locator");
  Expect(manager_->Post(
             "/v1/volumes",
             {{"name", "nbd"}, {"agent_id", aid}, {"backend", "nbd"}, {"locator", "/dev/nbd0"}}),
         400, "locator", "NBD URI", "nbd locator");

  // Targets in the manager's own data directory, the system's, a link to
  // it, or behind a metadata endpoint.
  const std::string data_dir = std::string(dir_ / "manager") + "/data";
  std::filesystem::create_symlink("/etc", std::string(dir_ / "etc-link"));
  for (const std::string& address :
       {data_dir + "/t", std::string("/etc/coffer-target"), std::string("/"),
        std::string(dir_ / "etc-link") + "/t", std::string("file:///usr/lib/coffer-t")}) {
    Expect(manager_->Post("/v1/backup_targets",
                          {{"name", "bad"}, {"address", address}, {"passphrase", "long enough"}}),
           400, "address", "", "target at " + address);
    EXPECT_FALSE(std::filesystem::exists("/etc/coffer-target"));
  }
  Expect(manager_->Post("/v1/backup_targets", {{"name", "s3meta"},
                                               {"address", "s3://bucket/p"},
                                               {"s3_endpoint", "http://169.254.169.254"},
                                               {"s3_access_key_id", "AK"},
                                               {"s3_secret_access_key", "SK"},
                                               {"passphrase", "long enough"}}),
         400, "s3_endpoint", "link-local", "metadata endpoint");

  // A cron with stray spaces is stored as it will be read.
  Reply cron = manager_->Patch("/v1/volumes/" + vid + "/backup_schedule",
                               {{"backup_cron", "  0 3  * * *  "}});
  ASSERT_EQ(cron.status, 200) << cron.raw;
  EXPECT_EQ(cron.body["backup_cron"], "0 3 * * *");

  // Still up, and nothing was created.
  EXPECT_EQ(HttpCall(port, "GET", "/healthz", "", "").status, 200);
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(manager_->Get("/v1/volumes/" + vid).body["locator"], img);
}

// The agent's two body routes, with the same bodies (locators that escape
// its volume roots: agent_test's BadRequestsAre400NamingTheField and
// agent_peers_test).
TEST_F(ManagerBadInputTest, TheAgentRefusesBadBodies) {
  StartCluster();
  const int port = agent1_->port();
  const std::string token = agent1_->token();
  for (const std::string path : {"/v1/storage/backup", "/v1/storage/restore"}) {
    auto send = [&](const std::string& type, const std::string& body) {
      return RawCall(port, Request("POST", path, token, type, body));
    };
    Expect(send("application/json", "{\"a\":\"" + std::string(1100000, 'x') + "\"}"), 413, "",
           "larger than the agent accepts", path + " over the limit");
    Expect(send("application/json", "{\"a\":1e400}"), 400, "", "number overflow", path);
    Expect(send("application/json", "{\"a\":\"\xc0\xaf\"}"), 400, "", "not valid JSON", path);
    Expect(send("text/plain", "{}"), 415, "", "Content-Type", path);
    Expect(send("application/json", "{\"a\":1,\"a\":1}"), 400, "", "twice", path);
  }
  EXPECT_EQ(HttpCall(port, "GET", "/healthz", "", token).status, 200);
}

// The probe's slow clients, against the real binaries: forty connections
// that send half a head, and one chunked body that never ends, to each
// service; both keep answering /healthz, and the endless body gets its 413.
TEST_F(ManagerBadInputTest, SlowAndEndlessClientsDoNotTakeEitherServiceDown) {
  StartCluster();
  struct Service {
    std::string name;
    int port;
    std::string token;
  };
  for (const Service& svc : {Service{"manager", manager_->port(), manager_->token()},
                             Service{"agent", agent1_->port(), agent1_->token()}}) {
    std::vector<int> slow;
    for (int i = 0; i < 40; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(uint16_t(svc.port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
      const std::string half = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
      ASSERT_EQ(::send(fd, half.data(), half.size(), MSG_NOSIGNAL), ssize_t(half.size()));
      slow.push_back(fd);
    }
    service::HttpClient client("http://127.0.0.1:" + std::to_string(svc.port),
                               {std::chrono::milliseconds(3000), ""});
    auto health = client.Call("GET", "/healthz", svc.token);
    ASSERT_TRUE(health) << svc.name << ": " << health.error().message();
    EXPECT_EQ(health->status, 200) << svc.name;

    // 64 MiB of chunks, sent until the answer comes: the kernel's buffers
    // take a few MiB of it, the service none.
    const std::string path = svc.name == "manager" ? "/v1/volumes" : "/v1/storage/backup";
    const std::string head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                             svc.token +
                             "\r\nContent-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
    std::string endless = head;
    const std::string chunk = "10000\r\n" + std::string(65536, ' ') + "\r\n";
    for (int i = 0; i < 1024; ++i) endless += chunk;
    Reply refused = RawCall(svc.port, endless);
    EXPECT_EQ(refused.status, 413) << svc.name << ": " << refused.raw;
    for (int fd : slow) ::close(fd);
  }
}

}  // namespace
}  // namespace coffer::testing

#include "tests/manager_fixture.h"

#include <atomic>
#include <cstdio>

#include "meta/postgres/testing/pg_server.h"

namespace coffer::testing {
namespace {

// Buckets are made before authentication is switched on (moto then only
// accepts keys from its IAM): enough for every test of the binary.
constexpr int kBuckets = 16;

std::string BucketName(int n) {
  return "manager-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(n);
}

struct SharedMoto {
  std::unique_ptr<testing_tools::MotoServer> server;
  testing_tools::MotoServer::Keys keys;
  std::string error;
};

// Two servers: moto 5.2 with authentication on refuses the signature of
// every request whose query holds a '/' (listing under a prefix such as
// "manifests/"), botocore's own included, so backups run against one
// without authentication; the one with it is for credentials that must be
// refused.
SharedMoto& Shared(bool auth) {
  static auto start = [](bool with_auth) {
    SharedMoto s;
    auto started = testing_tools::MotoServer::Start();
    if (!started) {
      s.error = started.error().message();
      return s;
    }
    s.server = std::move(*started);
    for (int i = 1; i <= kBuckets; ++i) {
      if (auto st = s.server->CreateBucket(BucketName(i)); !st) {
        s.error = st.error().message();
        s.server.reset();
        return s;
      }
    }
    if (!with_auth) {
      s.keys = {"AKIAMANAGERE2ETEST01",
                "canary-" + std::to_string(::getpid()) + "-b4f1c3e9d2a7405f8e6b"};
      return s;
    }
    auto keys = s.server->EnableAuthentication();
    if (!keys) {
      s.error = keys.error().message();
      s.server.reset();
      return s;
    }
    s.keys = *keys;
    return s;
  };
  if (auth) {
    static SharedMoto with = start(true);
    return with;
  }
  static SharedMoto without = start(false);
  return without;
}

}  // namespace

testing_tools::MotoServer* ManagerTest::Moto(bool auth) {
  SharedMoto& s = Shared(auth);
  EXPECT_NE(s.server, nullptr) << s.error;
  return s.server.get();
}

const testing_tools::MotoServer::Keys& ManagerTest::MotoKeys(bool auth) {
  return Shared(auth).keys;
}

std::string ManagerTest::NewPostgresDatabase() {
  static std::unique_ptr<meta::pgtest::PgServer> server;
  static std::string error;
  if (!server && error.empty()) {
    auto started = meta::pgtest::PgServer::Start();
    if (started) {
      server = std::move(*started);
    } else {
      error = started.error().message();
    }
  }
  if (!server) {
    ADD_FAILURE() << "PostgreSQL: " << error;
    return "";
  }
  auto url = server->CreateDatabase();
  EXPECT_TRUE(url.has_value()) << url.error().message();
  return url ? *url : "";
}

void ManagerTest::StartCluster(const std::string& database_url, const Env& manager_env) {
  agent1_ = std::make_unique<AgentProc>(dir_ / "agent1", dir_ / "root1");
  agent2_ = std::make_unique<AgentProc>(dir_ / "agent2", dir_ / "root2");
  manager_ = std::make_unique<ManagerProc>(dir_ / "manager", database_url, manager_env);
}

std::string ManagerTest::NewBucket(bool auth) {
  static std::atomic<int> counters[2];
  EXPECT_NE(Moto(auth), nullptr);
  int i = ++counters[auth ? 1 : 0];
  EXPECT_LE(i, kBuckets) << "raise kBuckets";
  return BucketName(i);
}

json ManagerTest::RegisterAgent(const AgentProc& agent, const std::string& name) {
  Reply r = manager_->Post("/v1/agents",
                           {{"name", name}, {"url", agent.url()}, {"token", agent.token()}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

json ManagerTest::CreateVolume(const std::string& name, const std::string& agent_id,
                               const std::string& locator, const json& extra) {
  json body = {{"name", name}, {"agent_id", agent_id}, {"backend", "file"}, {"locator", locator}};
  body.update(extra);
  Reply r = manager_->Post("/v1/volumes", body);
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

json ManagerTest::CreateLocalTarget(const std::string& name) {
  Reply r = manager_->Post("/v1/backup_targets", {{"name", name},
                                                  {"address", dir_ / ("target-" + name)},
                                                  {"passphrase", "correct horse battery"},
                                                  {"gc_grace_seconds", 0}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

json ManagerTest::CreateS3Target(const std::string& name, const std::string& bucket, bool auth) {
  Reply r = manager_->Post("/v1/backup_targets",
                           {{"name", name},
                            {"address", "s3://" + bucket + (auth ? "" : "/coffer")},
                            {"s3_endpoint", Moto(auth)->endpoint()},
                            {"s3_region", "us-east-1"},
                            {"s3_access_key_id", MotoKeys(auth).access_key_id},
                            {"s3_secret_access_key", MotoKeys(auth).secret_access_key},
                            {"passphrase", "correct horse battery"},
                            {"gc_grace_seconds", 0}});
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

void ManagerTest::Schedule(const std::string& volume_id, const std::string& target_id, int retain) {
  Reply r = manager_->Patch("/v1/volumes/" + volume_id + "/backup_schedule",
                            {{"backup_target_id", target_id}, {"backup_retain_count", retain}});
  EXPECT_EQ(r.status, 200) << r.raw;
}

json ManagerTest::BackUp(const std::string& volume_id) {
  Reply r = manager_->Post("/v1/volumes/" + volume_id + "/backup");
  EXPECT_EQ(r.status, 202) << r.raw;
  if (r.status != 202) return r.body;
  json done = manager_->WaitBackup(r.body["id"].get<std::string>());
  // An agent that does not take the manager's backup id stores the manifest
  // under one of its own; the manager then fails the row it started with a
  // pointer to the row it recorded (orchestrator.h). Follow it, and say so.
  const std::string kStoredAs = "the agent stored this backup as ";
  if (done["status"] == "failed" && done["error"].is_string()) {
    const std::string error = done["error"];
    if (error.starts_with(kStoredAs)) {
      const std::string id = error.substr(kStoredAs.size(), 36);
      std::fprintf(stderr, "note: the agent ignores backup_id; backup %s was recorded as %s\n",
                   done["id"].get<std::string>().c_str(), id.c_str());
      done = manager_->Get("/v1/backups/" + id).body;
    }
  }
  EXPECT_EQ(done["status"], "completed") << done.dump() << "\nmanager log:\n" << manager_->Log();
  return done;
}

json ManagerTest::Restore(const std::string& backup_id, const std::string& name,
                          const std::string& agent_id, const std::string& locator) {
  Reply r = manager_->Post(
      "/v1/backups/" + backup_id + "/restore",
      {{"name", name}, {"agent_id", agent_id}, {"backend", "file"}, {"locator", locator}});
  EXPECT_EQ(r.status, 202) << r.raw;
  if (r.status != 202) return r.body;
  json done = manager_->WaitRestore(r.body["restore"]["id"].get<std::string>());
  EXPECT_EQ(done["state"], "completed") << done.dump();
  return done;
}

void ManagerTest::MakeImage(const std::string& path, const std::string& size, int seed) {
  RunResult r =
      RunProcess({MkimageBin(), "create", "--size", size, "--seed", std::to_string(seed), path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void ManagerTest::Mutate(const std::string& path, const std::string& percent, int seed) {
  RunResult r = RunProcess(
      {MkimageBin(), "mutate", "--percent", percent, "--seed", std::to_string(seed), path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace coffer::testing

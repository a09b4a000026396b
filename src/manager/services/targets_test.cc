// TargetService on real parts: a SQLite metadata store, local-directory
// targets, and S3 targets on moto_server (one server for the binary, with
// authentication on, so wrong credentials are refused as on AWS). With
// authentication on, moto rejects even a right signature for a listing whose
// prefix holds a '/' (see s3_store_test), and creating a target lists its
// prefix: the S3 targets here sit at their bucket's root.
#include "manager/services/targets.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "base/uuid.h"
#include "manager/testing/ops_testing.h"
#include "store/s3/testing/moto_server.h"

namespace coffer::manager {
namespace {

using namespace testing_support;
using testing_tools::MotoServer;

#define ASSERT_OK(r) ASSERT_TRUE((r).has_value()) << (r).error().message()

struct SharedMoto {
  std::unique_ptr<MotoServer> server;
  MotoServer::Keys keys;
  std::string error;
};

// Buckets are made before authentication is switched on; afterwards only
// `keys` sign acceptably.
SharedMoto& Moto() {
  static SharedMoto moto = [] {
    SharedMoto m;
    auto started = MotoServer::Start();
    if (!started) {
      m.error = started.error().message();
      return m;
    }
    for (const char* b : {"targets-a", "targets-b", "targets-c"}) {
      if (auto st = (*started)->CreateBucket(b); !st) m.error = st.error().message();
    }
    auto keys = (*started)->EnableAuthentication();
    if (!keys) {
      m.error = keys.error().message();
      return m;
    }
    m.keys = *keys;
    m.server = std::move(*started);
    return m;
  }();
  return moto;
}

#define REQUIRE_MOTO() ASSERT_TRUE(Moto().server != nullptr) << Moto().error

class TargetsTest : public testing::Test {
 protected:
  TargetsTest() : meta_(OpenTestMeta(dir_)), targets_(*meta_) {}

  CreateTargetRequest Local(const std::string& name) {
    CreateTargetRequest r;
    r.name = name;
    r.address = dir_ / name;
    r.passphrase = meta::SecretString("correct horse");
    return r;
  }
  CreateTargetRequest S3(const std::string& name, const std::string& address) {
    CreateTargetRequest r;
    r.name = name;
    r.address = address;
    r.s3_endpoint = Moto().server->endpoint();
    r.s3_region = "us-east-1";
    r.s3_access_key_id = Moto().keys.access_key_id;
    r.s3_secret_access_key = meta::SecretString(Moto().keys.secret_access_key);
    r.passphrase = meta::SecretString("correct horse");
    return r;
  }
  // The keys under the target's root.
  std::set<std::string> Objects(const std::string& target_id) {
    auto repo = targets_.OpenRepository(target_id);
    EXPECT_TRUE(repo.has_value()) << repo.error().message();
    std::set<std::string> keys;
    auto st = (*repo)->store().List("", [&](const ObjectInfo& o) -> Status {
      keys.insert(o.key);
      return {};
    });
    EXPECT_TRUE(st.has_value());
    return keys;
  }

  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  TargetService targets_;
};

void ExpectOnlyLayout(const std::set<std::string>& keys) {
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.contains("config"));
  EXPECT_TRUE((++keys.begin())->starts_with("keys/")) << *(++keys.begin());
}

TEST_F(TargetsTest, LocalTargetIsProbedInitialisedAndRegisteredUnderItsOwnUuid) {
  auto t = targets_.CreateTarget(Local("first"));
  ASSERT_OK(t);
  EXPECT_EQ(t->name, "first");
  EXPECT_EQ(t->gc_hour, 3);
  // The probe left nothing behind; the layout is config and one key slot.
  ExpectOnlyLayout(Objects(t->id));
  auto repo = targets_.OpenRepository(t->id);
  ASSERT_OK(repo);
  EXPECT_EQ((*repo)->config().target_id.ToString(), t->id);
  // The passphrase opens it without the manager (the recovery slot).
  auto store = OpenStore(t->address, {});
  ASSERT_OK(store);
  auto by_pass = Repository::Open(std::move(*store), "correct horse");
  ASSERT_OK(by_pass);
  EXPECT_EQ((*by_pass)->keys().target_key, (*repo)->keys().target_key);
  // The job gets the same key, as 64 hex digits.
  auto job = targets_.GetJobTarget(t->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->key, (*repo)->keys().target_key);
  EXPECT_EQ(agent_api::ToJson(agent_api::RestoreRequest{1, *job, "b", {}})["target"]["key"]
                .get<std::string>()
                .size(),
            64u);
  EXPECT_FALSE(job->s3_credentials.has_value());
}

TEST_F(TargetsTest, FileUrlAddressesWork) {
  auto r = Local("url");
  r.address = "file://" + (dir_ / "url-target");
  auto t = targets_.CreateTarget(r);
  ASSERT_OK(t);
  ExpectOnlyLayout(Objects(t->id));
}

TEST_F(TargetsTest, InvalidFieldsAreNamed) {
  struct Case {
    std::function<void(CreateTargetRequest&)> change;
    const char* field;
  };
  const Case cases[] = {
      {[](auto& r) { r.name = ""; }, "name: "},
      {[](auto& r) { r.name = std::string(129, 'n'); }, "name: "},
      {[](auto& r) { r.name = "tab\there"; }, "name: "},
      {[](auto& r) { r.address = ""; }, "address: "},
      {[](auto& r) { r.address = "relative/dir"; }, "address: "},
      {[](auto& r) { r.address = "ftp://host/x"; }, "address: "},
      {[](auto& r) { r.address = "s3:///prefix"; }, "address: "},
      {[](auto& r) { r.gc_hour = 24; }, "gc_hour: "},
      {[](auto& r) { r.gc_hour = -1; }, "gc_hour: "},
      {[](auto& r) { r.gc_grace_seconds = -5; }, "gc_grace_seconds: "},
      {[](auto& r) { r.passphrase = meta::SecretString(""); }, "passphrase: "},
      {[](auto& r) { r.passphrase = meta::SecretString("short"); }, "passphrase: "},
      {[](auto& r) { r.s3_endpoint = "http://127.0.0.1:9"; }, "s3_endpoint: "},
      {[](auto& r) { r.s3_region = "eu-west-1"; }, "s3_region: "},
      {[](auto& r) { r.s3_access_key_id = "AKIA"; }, "s3_access_key_id: "},
      {[](auto& r) {
         r.address = "s3://bucket/p";
         r.s3_secret_access_key = meta::SecretString("s");
       },
       "s3_access_key_id: "},
      {[](auto& r) {
         r.address = "s3://bucket/p";
         r.s3_access_key_id = "AKIA";
       },
       "s3_secret_access_key: "},
      {[](auto& r) {
         r.address = "s3://bucket/p";
         r.s3_access_key_id = "AKIA";
         r.s3_secret_access_key = meta::SecretString("s");
         r.s3_endpoint = "127.0.0.1:9000";
       },
       "s3_endpoint: "},
      {[](auto& r) {
         r.address = "s3://bad*bucket/p";
         r.s3_access_key_id = "AKIA";
         r.s3_secret_access_key = meta::SecretString("s");
         r.s3_endpoint = "http://127.0.0.1:9";
       },
       "address: "},
  };
  for (const auto& c : cases) {
    auto r = Local("bad");
    c.change(r);
    auto t = targets_.CreateTarget(r);
    ASSERT_FALSE(t.has_value()) << c.field;
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument) << t.error().message();
    EXPECT_TRUE(t.error().message().starts_with(c.field)) << t.error().message();
  }
  auto listed = meta_->ListBackupTargets();
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(TargetsTest, TakenNameOrLocationIsAlreadyExists) {
  ASSERT_OK(targets_.CreateTarget(Local("one")));
  auto same_name = Local("one");
  same_name.address = dir_ / "elsewhere";
  auto t = targets_.CreateTarget(same_name);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kAlreadyExists);
  auto same_place = Local("two");
  same_place.address = dir_ / "one/";  // the same directory, spelt differently
  t = targets_.CreateTarget(same_place);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kAlreadyExists) << t.error().message();
}

TEST_F(TargetsTest, ExistingTargetIsRefusedUnlessAdoptedWithItsPassphrase) {
  // A target made by the CLI, not known to this manager.
  auto store = OpenStore(dir_ / "cli", StoreOptions{.create = true});
  ASSERT_OK(store);
  auto made = Repository::Init(std::move(*store), "cli passphrase", {});
  ASSERT_OK(made);
  const std::string uuid = (*made)->config().target_id.ToString();

  auto r = Local("cli");
  r.passphrase = meta::SecretString("cli passphrase");
  auto t = targets_.CreateTarget(r);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(t.error().message().find(uuid), std::string::npos) << t.error().message();

  r.adopt = true;
  r.passphrase = meta::SecretString("wrong passphrase");
  t = targets_.CreateTarget(r);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kAuthFailed) << t.error().message();

  r.passphrase = meta::SecretString("cli passphrase");
  t = targets_.CreateTarget(r);
  ASSERT_OK(t);
  EXPECT_EQ(t->id, uuid);
  auto repo = targets_.OpenRepository(t->id);
  ASSERT_OK(repo);
  EXPECT_EQ((*repo)->keys().target_key, (*made)->keys().target_key);
}

TEST_F(TargetsTest, AddressThatCannotBeADirectoryIsRefused) {
  WriteImage(dir_ / "plain-file", 16, 1);
  auto r = Local("under-file");
  r.address = dir_ / "plain-file/target";
  auto t = targets_.CreateTarget(r);
  ASSERT_FALSE(t.has_value());
  // A location that cannot be used is the 422 class, like an unreachable one.
  EXPECT_EQ(t.error().code(), ErrorCode::kUnavailable) << t.error().message();
  EXPECT_NE(t.error().message().find("Not a directory"), std::string::npos) << t.error().message();
  EXPECT_TRUE(meta_->ListBackupTargets()->empty());
}

TEST_F(TargetsTest, UpdateRenamesAndRetimesWithoutProbing) {
  auto t = targets_.CreateTarget(Local("before"));
  ASSERT_OK(t);
  UpdateTargetRequest p;
  p.name = "after";
  p.gc_hour = 22;
  p.gc_grace_seconds = 3600;
  auto u = targets_.UpdateTarget(t->id, p);
  ASSERT_OK(u);
  EXPECT_EQ(u->name, "after");
  EXPECT_EQ(u->gc_hour, 22);
  EXPECT_EQ(u->gc_grace_seconds, 3600);
  p = {};
  p.gc_hour = 25;
  u = targets_.UpdateTarget(t->id, p);
  ASSERT_FALSE(u.has_value());
  EXPECT_TRUE(u.error().message().starts_with("gc_hour: "));
  p = {};
  p.s3_endpoint = "http://127.0.0.1:9";
  u = targets_.UpdateTarget(t->id, p);
  ASSERT_FALSE(u.has_value());
  EXPECT_TRUE(u.error().message().starts_with("s3_endpoint: ")) << u.error().message();
  EXPECT_EQ(targets_.UpdateTarget(Uuid::Random().ToString(), {}).error().code(),
            ErrorCode::kNotFound);
}

TEST_F(TargetsTest, S3TargetIsProbedInitialisedAndOpensWithStoredSecrets) {
  REQUIRE_MOTO();
  auto t = targets_.CreateTarget(S3("s3", "s3://targets-a"));
  ASSERT_OK(t);
  EXPECT_TRUE(t->has_s3_secret_access_key);
  ExpectOnlyLayout(Objects(t->id));
  auto job = targets_.GetJobTarget(t->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->address, "s3://targets-a");
  EXPECT_EQ(job->s3_endpoint, Moto().server->endpoint());
  ASSERT_TRUE(job->s3_credentials.has_value());
  EXPECT_EQ(job->s3_credentials->access_key_id, Moto().keys.access_key_id);
  EXPECT_EQ(job->s3_credentials->secret_access_key, Moto().keys.secret_access_key);
  auto again = targets_.CreateTarget(S3("s3-again", "s3://targets-a/"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kAlreadyExists);
}

TEST_F(TargetsTest, WrongS3CredentialsAreRefusedWithTheS3Code) {
  REQUIRE_MOTO();
  auto r = S3("bad-secret", "s3://targets-b");
  r.s3_secret_access_key = meta::SecretString("not-the-secret");
  auto t = targets_.CreateTarget(r);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(t.error().message().find("SignatureDoesNotMatch"), std::string::npos)
      << t.error().message();
  EXPECT_TRUE(t.error().message().starts_with("target s3://targets-b: ")) << t.error().message();

  r = S3("bad-key", "s3://targets-b");
  r.s3_access_key_id = "AKIAUNKNOWNKEY000000";
  t = targets_.CreateTarget(r);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(t.error().message().find("InvalidAccessKeyId"), std::string::npos)
      << t.error().message();
  EXPECT_TRUE(meta_->ListBackupTargets()->empty());
}

TEST_F(TargetsTest, MissingBucketIsUnavailable) {
  REQUIRE_MOTO();
  auto t = targets_.CreateTarget(S3("nobucket", "s3://no-such-bucket-here/p"));
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(t.error().message().find("NoSuchBucket"), std::string::npos) << t.error().message();
}

TEST_F(TargetsTest, UnreachableEndpointFailsWithinSeconds) {
  auto port = testing_tools::FreeLoopbackPort();
  ASSERT_OK(port);
  CreateTargetRequest r;
  r.name = "unreachable";
  r.address = "s3://bucket/p";
  r.s3_endpoint = "http://127.0.0.1:" + std::to_string(*port);
  r.s3_access_key_id = "AKIA";
  r.s3_secret_access_key = meta::SecretString("secret");
  r.passphrase = meta::SecretString("correct horse");
  const auto start = std::chrono::steady_clock::now();
  auto t = targets_.CreateTarget(r);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code(), ErrorCode::kUnavailable) << t.error().message();
  EXPECT_TRUE(t.error().message().starts_with("target s3://bucket/p: ")) << t.error().message();
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(TargetsTest, CredentialChangesAreProbedBeforeTheyAreSaved) {
  REQUIRE_MOTO();
  auto r = S3("s3-update", "s3://targets-c");
  r.s3_region = "";  // the manager's default, not the environment's
  auto t = targets_.CreateTarget(r);
  ASSERT_OK(t);
  auto job = targets_.GetJobTarget(t->id);
  ASSERT_OK(job);
  EXPECT_EQ(job->s3_region, "us-east-1");
  UpdateTargetRequest p;
  p.s3_secret_access_key = meta::SecretString("wrong");
  auto u = targets_.UpdateTarget(t->id, p);
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code(), ErrorCode::kPermissionDenied) << u.error().message();
  // Nothing was saved: the target still opens with the old secret.
  ASSERT_OK(targets_.OpenRepository(t->id));
  // The right secret again, and a new region name moto accepts.
  p.s3_secret_access_key = meta::SecretString(Moto().keys.secret_access_key);
  p.name = "s3-renamed";
  u = targets_.UpdateTarget(t->id, p);
  ASSERT_OK(u);
  EXPECT_EQ(u->name, "s3-renamed");
  // A connection that reaches another place is not this target.
  p = {};
  p.s3_endpoint = "http://127.0.0.1:" + std::to_string(*testing_tools::FreeLoopbackPort());
  u = targets_.UpdateTarget(t->id, p);
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code(), ErrorCode::kUnavailable) << u.error().message();
}

TEST_F(TargetsTest, DeleteBackupRemovesTheManifestFirstThenTheRow) {
  auto t = CreateLocalTarget(targets_, dir_, "del");
  auto v = CreateVolume(*meta_, "vol", t.id);
  WriteImage(dir_ / "img", 3 << 20, 1);
  auto b = RecordBackup(*meta_, targets_, v, dir_ / "img");
  EXPECT_TRUE(Objects(t.id).contains("manifests/" + b.id));
  ASSERT_OK(targets_.DeleteBackup(b.id));
  EXPECT_FALSE(Objects(t.id).contains("manifests/" + b.id));
  EXPECT_EQ(meta_->GetBackup(b.id).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(targets_.DeleteBackup(b.id).error().code(), ErrorCode::kNotFound);

  // A row whose manifest is already gone still goes.
  auto b2 = RecordBackup(*meta_, targets_, v, dir_ / "img");
  auto repo = targets_.OpenRepository(t.id);
  ASSERT_OK(repo);
  ASSERT_OK((*repo)->DeleteManifest(*Uuid::Parse(b2.id)));
  ASSERT_OK(targets_.DeleteBackup(b2.id));

  // A running backup is not deleted, neither its row nor its manifest.
  meta::NewBackup nb{Uuid::Random().ToString(), v.id, t.id, ""};
  ASSERT_OK(meta_->CreateBackup(nb));
  auto st = targets_.DeleteBackup(nb.id);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kConflict);
  ASSERT_OK(meta_->GetBackup(nb.id));
}

}  // namespace
}  // namespace coffer::manager

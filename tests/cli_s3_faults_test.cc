// End to end through build/coffer on S3 when things go wrong: a network that
// fails a tenth of the requests, wrong credentials, a missing bucket.
// Failures are quick, exit 1 with the S3 error code, and leave nothing
// behind: no object in the bucket, no file in the cache.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/s3/testing/fault_proxy.h"
#include "tests/cli_s3_fixture.h"

namespace coffer::testing {
namespace {

using nlohmann::json;
using testing_tools::FaultProxy;

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(CliS3Test, ABackupThroughAFaultyNetworkCompletesRestoresAndReportsRetries) {
  // 500s, 503 SlowDown, resets, stalls and cut responses on 10 % of requests.
  auto proxy = FaultProxy::Start(moto_->port(), FaultProxy::Random(0.10, 4),
                                 std::chrono::milliseconds(1500));
  ASSERT_TRUE(proxy.has_value()) << proxy.error().message();
  const auto t = S3Target("faulty", (*proxy)->endpoint());
  ASSERT_EQ(Coffer(Cat({"init"}, t)).exit_code, 0);
  std::string img = MakeImage("vm.img", "32M", 11);
  json b = CofferJson(Cat({"backup", img}, t));
  ASSERT_TRUE(b.contains("backup_id")) << b.dump();
  json r = CofferJson(Cat({"restore", b["backup_id"], dir_ / "out.img"}, t));
  EXPECT_EQ(CompareFiles(img, dir_ / "out.img"), "");
  json c = CofferJson(Cat({"check", "--read-data"}, t));
  EXPECT_EQ(c["ok"], true) << c.dump();
  uint64_t retries =
      b["retries"].get<uint64_t>() + r["retries"].get<uint64_t>() + c["retries"].get<uint64_t>();
  EXPECT_GT(retries, 0u);
  EXPECT_GT((*proxy)->total_faults(), 0u);
  // Every fault cost exactly one retry; init's are not in the JSON.
  EXPECT_LE(retries, (*proxy)->total_faults());
}

TEST_F(CliS3Test, AMissingBucketFailsAtOnceWithNoSuchBucketAndLeavesNothing) {
  const std::vector<std::string> t = {"--target", "s3://no-such-bucket-here/p", "--s3-endpoint",
                                      moto_->endpoint()};
  std::string img = MakeImage("vm.img", "1M", 1);
  for (std::vector<std::string> verb :
       {std::vector<std::string>{"init"}, {"backup", img}, {"ls"}, {"gc"}, {"key", "list"}}) {
    auto start = std::chrono::steady_clock::now();
    RunResult r = Coffer(Cat(verb, t));
    EXPECT_EQ(r.exit_code, 1) << verb[0] << ": " << r.err;
    EXPECT_NE(r.err.find("NoSuchBucket"), std::string::npos) << verb[0] << ": " << r.err;
    EXPECT_NE(r.err.find("no-such-bucket-here"), std::string::npos) << r.err;
    EXPECT_LT(SecondsSince(start), 5.0) << verb[0];
  }
  EXPECT_TRUE(CacheFiles().empty());
}

// moto checks signatures only once IAM authentication is on, for every later
// request: this test runs its own server. The target is made before that:
// moto (botocore underneath) then rejects even a right signature for a
// listing whose prefix holds a '/' (see s3_store_test), and opening a
// target lists keys/.
TEST_F(CliS3Test, WrongCredentialsFailAtOnceWithExit1AndTheS3Code) {
  auto server = testing_tools::MotoServer::Start();
  ASSERT_TRUE(server.has_value()) << server.error().message();
  auto& moto = **server;
  const std::string bucket = "coffer-auth";
  ASSERT_TRUE(moto.CreateBucket(bucket).has_value());
  const std::vector<std::string> t = {"--target", "s3://" + bucket + "/p", "--s3-endpoint",
                                      moto.endpoint()};
  RunResult made = Coffer(Cat({"init"}, t));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto keys = moto.EnableAuthentication();
  ASSERT_TRUE(keys.has_value()) << keys.error().message();
  const Env good = {{"AWS_ACCESS_KEY_ID", keys->access_key_id},
                    {"AWS_SECRET_ACCESS_KEY", keys->secret_access_key}};
  const auto before = Objects(bucket, "", moto.endpoint(), good);
  ASSERT_TRUE(before.contains("p/config"));
  std::string img = MakeImage("vm.img", "4M", 2);

  struct Case {
    std::string what;
    Env env;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"an unknown key", {{"AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000"}}, "InvalidAccessKeyId"},
      {"a wrong secret",
       {{"AWS_ACCESS_KEY_ID", keys->access_key_id}, {"AWS_SECRET_ACCESS_KEY", "wrong"}},
       "SignatureDoesNotMatch"},
      {"no key", {{"AWS_ACCESS_KEY_ID", ""}}, "AWS_ACCESS_KEY_ID is not set"},
  };
  for (std::vector<std::string> verb : {std::vector<std::string>{"init"},
                                        {"backup", img},
                                        {"ls"},
                                        {"restore", "0000", dir_ / "out.img"},
                                        {"gc", "--grace", "0"},
                                        {"key", "list"}}) {
    // init on a fresh prefix; the others on the target.
    auto target = verb[0] == "init"
                      ? std::vector<std::string>{"--target", "s3://" + bucket + "/fresh",
                                                 "--s3-endpoint", moto.endpoint()}
                      : t;
    for (const Case& c : cases) {
      auto start = std::chrono::steady_clock::now();
      RunResult r = Coffer(Cat(verb, target), c.env);
      EXPECT_EQ(r.exit_code, 1) << verb[0] << " with " << c.what << ": " << r.err;
      EXPECT_NE(r.err.find(c.says), std::string::npos)
          << verb[0] << " with " << c.what << ": " << r.err;
      EXPECT_LT(SecondsSince(start), 5.0) << verb[0] << " with " << c.what;
    }
  }
  EXPECT_EQ(Objects(bucket, "", moto.endpoint(), good), before)
      << "a failed verb changed the bucket";
  EXPECT_TRUE(CacheFiles().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.img"));
}

}  // namespace
}  // namespace coffer::testing

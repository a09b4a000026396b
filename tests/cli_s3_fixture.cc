#include "tests/cli_s3_fixture.h"

#include <atomic>
#include <filesystem>
#include <memory>

#include "store/s3/s3_store.h"

namespace coffer::testing {
namespace {

// Any key pair will do for moto until authentication is switched on.
constexpr const char* kAccessKey = "AKIAEXAMPLECLITEST";
constexpr const char* kSecretKey = "any-secret-moto-accepts";

}  // namespace

testing_tools::MotoServer* SharedMoto(std::string* error) {
  struct Shared {
    std::unique_ptr<testing_tools::MotoServer> server;
    std::string error;
  };
  static Shared shared = [] {
    Shared s;
    auto started = testing_tools::MotoServer::Start();
    if (started) {
      s.server = std::move(*started);
    } else {
      s.error = started.error().message();
    }
    return s;
  }();
  *error = shared.error;
  return shared.server.get();
}

std::vector<std::string> AwsCliEnv() {
  return {"AWS_ACCESS_KEY_ID=" + std::string(kAccessKey),
          "AWS_SECRET_ACCESS_KEY=" + std::string(kSecretKey),
          "AWS_DEFAULT_REGION=us-east-1",
          "AWS_CONFIG_FILE=/dev/null",
          "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
          "AWS_EC2_METADATA_DISABLED=true"};
}

void CliS3Test::SetUp() {
  std::string error;
  moto_ = SharedMoto(&error);
  ASSERT_NE(moto_, nullptr) << error;
  cache_ = dir_ / "cache";
  bucket_ = NewBucket();
}

RunResult CliS3Test::Coffer(std::vector<std::string> args, Env env) {
  args.insert(args.begin(), CofferBin());
  env.try_emplace("COFFER_PASSPHRASE", "correct horse");
  env.try_emplace("AWS_ACCESS_KEY_ID", kAccessKey);
  env.try_emplace("AWS_SECRET_ACCESS_KEY", kSecretKey);
  env.try_emplace("AWS_REGION", "us-east-1");
  env.try_emplace("XDG_CACHE_HOME", cache_);
  return RunProcess(args, env);
}

nlohmann::json CliS3Test::CofferJson(std::vector<std::string> args, int want_exit, Env env) {
  args.push_back("--json");
  RunResult r = Coffer(args, std::move(env));
  EXPECT_EQ(r.exit_code, want_exit) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
  return j;
}

std::vector<std::string> CliS3Test::S3Target(const std::string& prefix,
                                             std::string endpoint) const {
  if (endpoint.empty()) endpoint = moto_->endpoint();
  return {"--target", "s3://" + bucket_ + "/" + prefix, "--s3-endpoint", endpoint};
}

std::string CliS3Test::NewBucket() {
  static std::atomic<int> n{0};
  std::string name = "coffer-cli-" + std::to_string(n++);
  auto st = moto_->CreateBucket(name);
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return name;
}

std::map<std::string, uint64_t> CliS3Test::Objects(const std::string& bucket,
                                                   const std::string& prefix,
                                                   const std::string& endpoint, const Env& env) {
  S3StoreOptions o;
  o.client.bucket = bucket;
  o.client.endpoint = endpoint.empty() ? moto_->endpoint() : endpoint;
  o.client.region = "us-east-1";
  auto var = [&](const char* name, const char* fallback) {
    auto it = env.find(name);
    return it == env.end() ? std::string(fallback) : it->second;
  };
  o.client.credentials = {var("AWS_ACCESS_KEY_ID", kAccessKey),
                          var("AWS_SECRET_ACCESS_KEY", kSecretKey), ""};
  o.prefix = prefix;
  std::map<std::string, uint64_t> out;
  auto store = S3Store::Open(o, nullptr);
  EXPECT_TRUE(store.has_value()) << store.error().message();
  if (!store) return out;
  auto st = (*store)->List("", [&](const ObjectInfo& info) -> Status {
    out[info.key] = info.size;
    return {};
  });
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return out;
}

std::vector<std::string> CliS3Test::CacheFiles() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(cache_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().string());
  }
  return out;
}

std::string CliS3Test::MakeImage(const std::string& name, const std::string& size, int seed) {
  std::string path = dir_ / name;
  RunResult r =
      RunProcess({MkimageBin(), "create", "--size", size, "--seed", std::to_string(seed), path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return path;
}

void CliS3Test::Mutate(const std::string& path, const std::string& percent, int seed) {
  RunResult r = RunProcess(
      {MkimageBin(), "mutate", "--percent", percent, "--seed", std::to_string(seed), path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

void CliS3Test::ExpectRestoresTo(const std::vector<std::string>& target_args,
                                 const std::string& backup_id, const std::string& original) {
  std::string out = dir_ / ("restored-" + backup_id);
  std::vector<std::string> args = {"restore", backup_id, out};
  args.insert(args.begin() + 1, target_args.begin(), target_args.end());
  RunResult r = Coffer(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CompareFiles(original, out), "") << "backup " << backup_id;
  std::filesystem::remove(out);
}

}  // namespace coffer::testing

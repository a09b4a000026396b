// What the end-to-end tests of `coffer` on S3 share: one moto_server for the
// whole test binary (started on first use, on a free loopback port), a fresh
// bucket per test, the environment that gives `coffer` its S3 credentials,
// and a view of what a bucket holds.
//
// A missing moto_server fails the tests with the reason; they are never
// skipped.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/s3/testing/moto_server.h"
#include "tests/harness.h"

namespace coffer::testing {

// The shared server, or nullptr with the reason in *error.
testing_tools::MotoServer* SharedMoto(std::string* error);

class CliS3Test : public ::testing::Test {
 protected:
  void SetUp() override;

  // Runs build/coffer with the S3 credentials, the passphrase and a private
  // cache directory in the environment.
  RunResult Coffer(std::vector<std::string> args, Env env = {});
  // Adds --json, expects `want_exit`, parses stdout.
  nlohmann::json CofferJson(std::vector<std::string> args, int want_exit = 0, Env env = {});
  // --target s3://bucket/prefix --s3-endpoint <endpoint> (moto by default).
  std::vector<std::string> S3Target(const std::string& prefix, std::string endpoint = "") const;

  // Creates a bucket with a name not used before in this process.
  std::string NewBucket();
  // Keys (relative to `prefix`) and sizes of what `bucket` holds under
  // `prefix`, listed with Coffer's own S3 client; `env` may name other
  // credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
  std::map<std::string, uint64_t> Objects(const std::string& bucket, const std::string& prefix,
                                          const std::string& endpoint = "", const Env& env = {});
  // Files under the cache directory the coffer processes of this test use.
  std::vector<std::string> CacheFiles() const;

  std::string MakeImage(const std::string& name, const std::string& size, int seed);
  void Mutate(const std::string& path, const std::string& percent, int seed);
  // Restores `backup_id` from `target_args` and compares with `original`.
  void ExpectRestoresTo(const std::vector<std::string>& target_args, const std::string& backup_id,
                        const std::string& original);

  static double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  testing_tools::MotoServer* moto_ = nullptr;
  TempDir dir_;
  std::string bucket_;  // a fresh bucket for the test
  std::string cache_;   // XDG_CACHE_HOME of the coffer processes
};

// The environment the aws CLI needs to talk to moto and nothing else.
std::vector<std::string> AwsCliEnv();

}  // namespace coffer::testing

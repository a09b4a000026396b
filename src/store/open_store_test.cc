#include "store/open_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace coffer {
namespace {

TEST(OpenStoreTest, LocalTargetsCountTheirCalls) {
  std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                    "/coffer-open-store-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  StoreOptions options;
  options.create = true;
  options.metrics = std::make_shared<StoreMetrics>();
  auto store = OpenStore("file://" + dir, options);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  ASSERT_TRUE((*store)->Put("config", AsBytes("c")).has_value());
  ASSERT_TRUE(GetAll(**store, "config").has_value());
  EXPECT_EQ(options.metrics->requests(RequestKind::kPut), 1u);
  EXPECT_EQ(options.metrics->requests(RequestKind::kGet), 1u);
  std::filesystem::remove_all(dir);
}

TEST(OpenStoreTest, RejectsUnknownSchemesAndBadS3Addresses) {
  StoreOptions options;
  for (std::string bad : {"ftp://x/y", "s3://", "s3:///prefix", "s3://b/a//b"}) {
    auto store = OpenStore(bad, options);
    ASSERT_FALSE(store.has_value()) << bad;
    EXPECT_EQ(store.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(OpenStoreTest, S3WithoutCredentialsSaysWhichVariableIsMissing) {
  const char* saved = std::getenv("AWS_ACCESS_KEY_ID");
  std::string keep = saved ? saved : "";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  auto store = OpenStore("s3://bucket/prefix", StoreOptions{});
  if (saved) ::setenv("AWS_ACCESS_KEY_ID", keep.c_str(), 1);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(store.error().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(store.error().message().find("s3://bucket/prefix"), std::string::npos);
}

TEST(OpenStoreTest, S3TargetsOpenWithoutTouchingTheNetwork) {
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  StoreOptions options;
  options.s3_endpoint = "http://127.0.0.1:1";
  options.s3_region = "eu-west-1";
  options.retry.max_attempts = 2;
  options.retry.initial_backoff = std::chrono::milliseconds(1);
  options.metrics = std::make_shared<StoreMetrics>();
  auto store = OpenStore("s3://bucket/some/prefix/", options);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  EXPECT_EQ((*store)->Describe(), "s3://bucket/some/prefix");
  // Nothing listens there: kUnavailable, retried once, both attempts counted.
  auto head = (*store)->Head("config");
  ASSERT_FALSE(head.has_value());
  EXPECT_EQ(head.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(head.error().message().find("s3://bucket/some/prefix/config"), std::string::npos)
      << head.error().message();
  EXPECT_EQ(options.metrics->requests(RequestKind::kHead), 2u);
  EXPECT_EQ(options.metrics->retries(), 1u);
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

// The agent passes credentials with each job: they win over the environment,
// and half a pair is refused before any request.
TEST(OpenStoreTest, ExplicitS3CredentialsNeedNoEnvironment) {
  const char* saved = std::getenv("AWS_ACCESS_KEY_ID");
  std::string keep = saved ? saved : "";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  StoreOptions options;
  options.s3_endpoint = "http://127.0.0.1:1";
  options.s3_credentials = AwsCredentials{"AKIAEXPLICIT", "secret", ""};
  auto store = OpenStore("s3://bucket/prefix", options);
  options.s3_credentials = AwsCredentials{"AKIAEXPLICIT", "", ""};
  auto half = OpenStore("s3://bucket/prefix", options);
  if (saved) ::setenv("AWS_ACCESS_KEY_ID", keep.c_str(), 1);
  ASSERT_TRUE(store.has_value()) << store.error().message();
  ASSERT_FALSE(half.has_value());
  EXPECT_EQ(half.error().code(), ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace coffer

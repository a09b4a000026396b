#include "manager/api/http_util.h"

#include <gtest/gtest.h>

#include "manager/metrics.h"

namespace coffer::manager::api {
namespace {

TEST(HttpUtilTest, ErrorsMapToStatusesByWhoIsAtFault) {
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "gc_hour: too big")).status, 400);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "gc_hour: too big")).field, "gc_hour");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "volume.locator: no")).field,
            "volume.locator");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "Something: else")).field, "");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kNotFound, "x")).status, 404);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kAlreadyExists, "x")).status, 409);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kConflict, "x")).status, 409);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kUnavailable, "agent down")).status, 503);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kAuthFailed, "agent refused")).status, 502);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInternal, "x")).status, 500);
  ApiError e = ToApiError(
      Error(ErrorCode::kPermissionDenied,
            "target s3://b: PUT s3://b/probe: InvalidAccessKeyId: The key does not exist. "
            "(HTTP 403)"),
      true);
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.s3_error_code, "InvalidAccessKeyId");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kUnavailable, "connection refused"), true).status, 422);
}

TEST(HttpUtilTest, S3ErrorCodesAreFoundInMessages) {
  EXPECT_EQ(S3ErrorCode("GET s3://b: the bucket does not exist (NoSuchBucket) (HTTP 404)"),
            "NoSuchBucket");
  EXPECT_EQ(S3ErrorCode("PUT s3://b/k: SignatureDoesNotMatch: The request signature"),
            "SignatureDoesNotMatch");
  EXPECT_EQ(S3ErrorCode("PUT s3://b/k: AccessDenied (HTTP 403)"), "AccessDenied");
  EXPECT_EQ(S3ErrorCode("cannot connect to http://127.0.0.1:9: Couldn't connect"), "");
}

TEST(HttpUtilTest, FieldReaderNamesTheFirstBadField) {
  json body = {{"name", 3}, {"gc_hour", 30}, {"extra", true}};
  FieldReader f(body);
  std::string name;
  f.String("name", &name, true);
  int64_t hour = 0;
  f.Int("gc_hour", &hour, false, 0, 23);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().field, "name");
  EXPECT_EQ(f.error().status, 400);

  json nested = {{"hooks", {{"timeout_seconds", 0}}}};
  FieldReader outer(nested);
  FieldReader inner(*outer.Object("hooks", false), "hooks");
  int64_t t = 0;
  inner.Int("timeout_seconds", &t, false, 1, 86400);
  outer.Take(inner);
  ASSERT_FALSE(outer.ok());
  EXPECT_EQ(outer.error().field, "hooks.timeout_seconds");

  json unknown = {{"name", "x"}, {"colour", "red"}};
  FieldReader u(unknown);
  u.Only({"name"});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().field, "colour");
}

TEST(HttpUtilTest, MetricRoutesCarryNoIds) {
  EXPECT_EQ(RoutePattern("/v1/backups/6f0c9a52-1111-2222-3333-444455556666"), "/v1/backups/{id}");
  EXPECT_EQ(RoutePattern("/v1/backup_targets/abc/gc_runs"), "/v1/backup_targets/{id}/gc_runs");
  EXPECT_EQ(RoutePattern("/v1/volumes/x/backup_schedule"), "/v1/volumes/{id}/backup_schedule");
  EXPECT_EQ(RoutePattern("/healthz"), "/healthz");
  EXPECT_EQ(RoutePattern("/secret-token-in-path"), "/{id}");
}

}  // namespace
}  // namespace coffer::manager::api

#include "manager/api/http_util.h"

#include <gtest/gtest.h>

#include "manager/common/metrics.h"

namespace coffer::manager::api {
namespace {

TEST(HttpUtilTest, ErrorsMapToStatusesByWhoIsAtFault) {
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInvalidArgument, "x")).status, 400);
  EXPECT_EQ(ToApiError(FieldInvalid("gc_hour", "too big").error()).field, "gc_hour");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kNotFound, "x")).status, 404);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kConflict, "x")).status, 409);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kUnavailable, "agent down")).status, 503);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kAuthFailed, "agent refused")).status, 502);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInternal, "x")).status, 500);
  // A target that refuses is the caller's to fix: 422 with the S3 code
  // the S3 client read from the answer.
  ApiError e = ToApiError(Error(ErrorCode::kPermissionDenied,
                                "target s3://b: PUT s3://b/probe: InvalidAccessKeyId: The key "
                                "does not exist. (HTTP 403)")
                              .WithS3Code("InvalidAccessKeyId"),
                          true);
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(e.s3_error_code, "InvalidAccessKeyId");
  EXPECT_EQ(ToApiError(Error(ErrorCode::kUnavailable, "connection refused"), true).status, 422);
  EXPECT_EQ(ToApiError(Error(ErrorCode::kInternal, "x"), true).status, 500);
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

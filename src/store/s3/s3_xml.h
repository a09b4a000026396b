// The XML documents of the S3 API that Coffer reads and writes, over
// pugixml (the only code that includes it): error responses, ListObjectsV2
// pages, multi-object delete, multipart upload.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace coffer::s3xml {

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown", ...
  std::string message;  // the server's words
  std::string detail;   // extra fields worth showing: BucketName, Region, ServerTime, ...
};

// Parses an <Error> document; nothing when `body` is not one.
std::optional<S3ErrorBody> ParseError(std::string_view body);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t mtime = 0;
};

struct ListPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken when truncated
};

Result<ListPage> ParseListObjectsV2(std::string_view body);

// <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…</Delete>
std::string BuildDeleteRequest(const std::vector<std::string>& keys);

struct DeleteFailure {
  std::string key, code, message;
};
// The <Error> entries of a DeleteResult: the keys that were not deleted.
Result<std::vector<DeleteFailure>> ParseDeleteResult(std::string_view body);

Result<std::string> ParseUploadId(std::string_view body);

struct ListedUpload {
  std::string key, upload_id;
  int64_t initiated = 0;  // seconds since the epoch; 0 if the answer had no time
};

struct UploadsPage {
  std::vector<ListedUpload> uploads;
  bool truncated = false;
  std::string next_key_marker, next_upload_id_marker;  // when truncated
};

// A ListMultipartUploadsResult: the multipart uploads begun and neither
// completed nor aborted.
Result<UploadsPage> ParseListMultipartUploads(std::string_view body);

struct CompletedPart {
  int number = 0;
  std::string etag;
};
std::string BuildCompleteMultipart(const std::vector<CompletedPart>& parts);

// "2026-11-24T04:20:58.000Z" (ISO 8601, UTC) -> seconds since the epoch.
std::optional<int64_t> ParseIsoTime(std::string_view text);

// "Tue, 24 Nov 2026 04:20:58 GMT" (RFC 7231 HTTP date) -> seconds since the epoch.
std::optional<int64_t> ParseHttpDate(std::string_view text);

}  // namespace coffer::s3xml

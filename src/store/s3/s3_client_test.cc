// The S3 client's pure parts: error mapping, XML, addresses, configuration.
#include "store/s3/s3_client.h"

#include <gtest/gtest.h>

#include "store/s3/s3_store.h"
#include "store/s3/s3_xml.h"

namespace coffer {
namespace {

std::string ErrorXml(std::string_view code, std::string_view extra = "") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
         "</Code><Message>server words</Message>" + std::string(extra) +
         "<RequestId>1</RequestId></Error>";
}

TEST(S3ErrorTest, MapsS3CodesToErrorCodesAndNamesObjectAndCode) {
  struct Case {
    long status;
    std::string code;
    ErrorCode want;
  };
  for (const Case& c : std::vector<Case>{
           {404, "NoSuchKey", ErrorCode::kNotFound},
           {404, "NoSuchBucket", ErrorCode::kInvalidArgument},
           {403, "AccessDenied", ErrorCode::kPermissionDenied},
           {403, "InvalidAccessKeyId", ErrorCode::kPermissionDenied},
           {403, "SignatureDoesNotMatch", ErrorCode::kPermissionDenied},
           {400, "ExpiredToken", ErrorCode::kPermissionDenied},
           {503, "SlowDown", ErrorCode::kUnavailable},
           {500, "InternalError", ErrorCode::kUnavailable},
           {400, "RequestTimeout", ErrorCode::kUnavailable},
           {400, "BadDigest", ErrorCode::kUnavailable},
           {400, "IncompleteBody", ErrorCode::kUnavailable},
           {408, "Whatever", ErrorCode::kUnavailable},
           {429, "TooManyRequests", ErrorCode::kUnavailable},
           {502, "Anything", ErrorCode::kUnavailable},
           {416, "InvalidRange", ErrorCode::kInvalidArgument},
           {400, "InvalidArgument", ErrorCode::kInvalidArgument},
           {400, "AuthorizationHeaderMalformed", ErrorCode::kInvalidArgument},
           {301, "PermanentRedirect", ErrorCode::kInvalidArgument},
       }) {
    Error e = S3Error("GET", "s3://b/p/config", c.status, ErrorXml(c.code));
    EXPECT_EQ(e.code(), c.want) << c.code;
    EXPECT_NE(e.message().find(c.code), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("s3://b/p/config"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("GET"), std::string::npos) << e.message();
  }
}

TEST(S3ErrorTest, ClockSkewIsSaidPlainly) {
  Error e = S3Error("PUT", "s3://b/k", 403,
                    ErrorXml("RequestTimeTooSkewed",
                             "<RequestTime>20261124T000000Z</RequestTime>"
                             "<ServerTime>2026-11-24T01:00:00Z</ServerTime>"));
  EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(e.message().find("clock skew"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("RequestTimeTooSkewed"), std::string::npos);
  EXPECT_NE(e.message().find("ServerTime 2026-11-24T01:00:00Z"), std::string::npos);
}

TEST(S3ErrorTest, BodilessAnswersAreMappedByStatus) {
  // HEAD answers carry no XML.
  Error nf = S3Error("HEAD", "s3://b/k", 404, "");
  EXPECT_EQ(nf.code(), ErrorCode::kNotFound);
  EXPECT_NE(nf.message().find("HEAD s3://b/k"), std::string::npos);
  EXPECT_EQ(S3Error("HEAD", "s3://b/k", 403, "").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(S3Error("HEAD", "s3://b/k", 503, "").code(), ErrorCode::kUnavailable);
  EXPECT_EQ(S3Error("GET", "s3://b/k", 500, "<html>proxy error</html>").code(),
            ErrorCode::kUnavailable);
}

TEST(S3ErrorTest, MissingBucketMessageSaysSo) {
  Error e = S3Error("GET", "s3://nob/config", 404,
                    ErrorXml("NoSuchBucket", "<BucketName>nob</BucketName>"));
  EXPECT_NE(e.message().find("the bucket does not exist (NoSuchBucket)"), std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("BucketName nob"), std::string::npos);
}

TEST(S3XmlTest, ParsesAListPage) {
  auto page = s3xml::ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>tok/+=</NextContinuationToken>"
      "<Contents><Key>p/a &amp; b</Key><LastModified>2026-11-24T04:20:58.000Z</LastModified>"
      "<Size>12</Size></Contents>"
      "<Contents><Key>p/c</Key><LastModified>1970-01-01T00:01:40Z</LastModified>"
      "<Size>0</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a & b");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_EQ(page->objects[0].mtime, 1795494058);
  EXPECT_EQ(page->objects[1].mtime, 100);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok/+=");
  EXPECT_FALSE(s3xml::ParseListObjectsV2("<html/>").has_value());
}

TEST(S3XmlTest, BuildsAndParsesMultiObjectDelete) {
  std::string body = s3xml::BuildDeleteRequest({"a/b", "x<y&z"});
  EXPECT_NE(body.find("<Quiet>true</Quiet>"), std::string::npos);
  EXPECT_NE(body.find("<Key>x&lt;y&amp;z</Key>"), std::string::npos) << body;
  auto failures = s3xml::ParseDeleteResult(
      "<DeleteResult><Deleted><Key>a/b</Key></Deleted><Error><Key>x</Key>"
      "<Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>");
  ASSERT_TRUE(failures.has_value());
  ASSERT_EQ(failures->size(), 1u);
  EXPECT_EQ((*failures)[0].key, "x");
  EXPECT_EQ((*failures)[0].code, "AccessDenied");
}

TEST(S3XmlTest, MultipartDocuments) {
  auto id = s3xml::ParseUploadId(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>abc-123</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, "abc-123");
  EXPECT_FALSE(s3xml::ParseUploadId("<Error/>").has_value());
  std::string done = s3xml::BuildCompleteMultipart({{1, "\"e1\""}, {2, "\"e2\""}});
  EXPECT_NE(done.find("<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"),
            std::string::npos)
      << done;
}

TEST(S3XmlTest, ParsesAListOfUnfinishedUploads) {
  auto page = s3xml::ParseListMultipartUploads(
      "<?xml version=\"1.0\"?><ListMultipartUploadsResult><Bucket>b</Bucket>"
      "<IsTruncated>true</IsTruncated><NextKeyMarker>p/manifests/b</NextKeyMarker>"
      "<NextUploadIdMarker>u2</NextUploadIdMarker>"
      "<Upload><Key>p/manifests/a</Key><UploadId>u1</UploadId>"
      "<Initiated>2026-11-24T04:20:58.000Z</Initiated></Upload>"
      "<Upload><Key>p/manifests/b</Key><UploadId>u2</UploadId></Upload>"
      "</ListMultipartUploadsResult>");
  ASSERT_TRUE(page.has_value()) << page.error().message();
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "p/manifests/a");
  EXPECT_EQ(page->uploads[0].upload_id, "u1");
  EXPECT_EQ(page->uploads[0].initiated, 1795494058);
  EXPECT_EQ(page->uploads[1].initiated, 0);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_key_marker, "p/manifests/b");
  EXPECT_EQ(page->next_upload_id_marker, "u2");
  EXPECT_FALSE(s3xml::ParseListMultipartUploads("<ListBucketResult/>").has_value());
  EXPECT_FALSE(
      s3xml::ParseListMultipartUploads("<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
                                       "</ListMultipartUploadsResult>")
          .has_value());
  EXPECT_FALSE(
      s3xml::ParseListMultipartUploads("<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
                                       "</ListMultipartUploadsResult>")
          .has_value());
}

TEST(S3XmlTest, HttpDates) {
  EXPECT_EQ(s3xml::ParseHttpDate("Tue, 24 Nov 2026 04:20:58 GMT"), 1795494058);
  EXPECT_FALSE(s3xml::ParseHttpDate("yesterday").has_value());
}

TEST(S3AddressTest, SplitsBucketAndPrefix) {
  std::string bucket, prefix;
  ASSERT_TRUE(ParseS3Address("s3://bkt/a/b/", &bucket, &prefix).has_value());
  EXPECT_EQ(bucket, "bkt");
  EXPECT_EQ(prefix, "a/b");
  ASSERT_TRUE(ParseS3Address("s3://bkt", &bucket, &prefix).has_value());
  EXPECT_EQ(prefix, "");
  ASSERT_TRUE(ParseS3Address("s3://bkt/", &bucket, &prefix).has_value());
  EXPECT_EQ(prefix, "");
  EXPECT_FALSE(ParseS3Address("s3:///x", &bucket, &prefix).has_value());
  EXPECT_FALSE(ParseS3Address("s3://b/a//c", &bucket, &prefix).has_value());
}

TEST(S3ClientTest, RejectsBadEndpointsAndBuckets) {
  S3Config c;
  c.bucket = "ok-bucket";
  c.region = "us-east-1";
  for (std::string bad : {"ftp://host", "http://", "http://host/path"}) {
    c.endpoint = bad;
    auto r = S3Client::Create(c, nullptr);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(bad), std::string::npos);
  }
  c.endpoint = "";
  c.bucket = "bad/bucket";
  EXPECT_FALSE(S3Client::Create(c, nullptr).has_value());
  c.bucket = "dotted.bucket";
  c.addressing = S3Addressing::kVirtualHosted;
  EXPECT_FALSE(S3Client::Create(c, nullptr).has_value());
}

TEST(S3ClientTest, UnreachableEndpointIsUnavailableAndNamesTheObject) {
  S3Config c;
  c.bucket = "b";
  c.region = "us-east-1";
  c.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  auto client = S3Client::Create(c, nullptr);
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->Call(S3Call{"GET", RequestKind::kGet, "config"});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("s3://b/config"), std::string::npos) << r.error().message();
  EXPECT_EQ((*client)->metrics().failures(), 1u);
}

}  // namespace
}  // namespace coffer

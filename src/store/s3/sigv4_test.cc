#include "store/s3/sigv4.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/s3/testing/tools.h"

namespace coffer {
namespace {

std::string HeaderValue(const SignedRequest& s, std::string_view name) {
  for (const auto& [k, v] : s.headers) {
    if (k == name) return v;
  }
  return "";
}

std::string SignatureOf(const SignedRequest& s) {
  std::string auth = HeaderValue(s, "Authorization");
  size_t at = auth.find("Signature=");
  return at == std::string::npos ? "" : auth.substr(at + 10);
}

// --- AWS's published SigV4 test suite (service "service", us-east-1) ---

const AwsCredentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
constexpr int64_t kSuiteTime = 1440938160;  // 20150830T123600Z
constexpr std::string_view kEmptySha =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SignedRequest SuiteSign(std::string_view method, HeaderList query, HeaderList headers = {},
                        std::string_view body = "") {
  std::string hash = Sha256Hex(AsBytes(body));
  SigningRequest req{
      method, "example.amazonaws.com", "/", std::move(query), std::move(headers), hash, false};
  return SignV4(req, kSuiteCreds, "us-east-1", "service", kSuiteTime);
}

TEST(SigV4SuiteTest, GetVanilla) {
  SignedRequest s = SuiteSign("GET", {});
  EXPECT_EQ(HeaderValue(s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(HeaderValue(s, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptySha));
}

TEST(SigV4SuiteTest, PostVanilla) {
  EXPECT_EQ(SignatureOf(SuiteSign("POST", {})),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(SignatureOf(SuiteSign("GET", {{"Param2", "value2"}, {"Param1", "value1"}})),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencoded) {
  SignedRequest s = SuiteSign("POST", {}, {{"Content-Type", "application/x-www-form-urlencoded"}},
                              "Param1=value1");
  EXPECT_EQ(SignatureOf(s), "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
  EXPECT_NE(s.canonical_request.find("content-type;host;x-amz-date"), std::string::npos);
}

TEST(SigV4SuiteTest, GetHeaderValueTrim) {
  SignedRequest s =
      SuiteSign("GET", {}, {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}});
  EXPECT_NE(s.canonical_request.find("my-header1:value1\nmy-header2:\"a b c\"\n"),
            std::string::npos);
  EXPECT_EQ(SignatureOf(s), "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

// --- The S3 examples of the SigV4 documentation (examplebucket) ---

const AwsCredentials kS3DocCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 ""};
constexpr int64_t kS3DocTime = 1369353600;  // 20130524T000000Z

TEST(SigV4S3DocTest, GetObjectWithRange) {
  SigningRequest req{"GET", "examplebucket.s3.amazonaws.com", "/test.txt",
                     {},    {{"Range", "bytes=0-9"}},         kEmptySha};
  SignedRequest s = SignV4(req, kS3DocCreds, "us-east-1", "s3", kS3DocTime);
  EXPECT_EQ(HeaderValue(s, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3DocTest, PutObject) {
  std::string hash = Sha256Hex(AsBytes("Welcome to Amazon S3."));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  std::string path = "/" + UriEncode("test$file.text", true);
  EXPECT_EQ(path, "/test%24file.text");
  SigningRequest req{
      "PUT",
      "examplebucket.s3.amazonaws.com",
      path,
      {},
      {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      hash};
  EXPECT_EQ(SignatureOf(SignV4(req, kS3DocCreds, "us-east-1", "s3", kS3DocTime)),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3DocTest, GetBucketLifecycle) {
  SigningRequest req{"GET",    "examplebucket.s3.amazonaws.com", "/", {{"lifecycle", ""}}, {},
                     kEmptySha};
  EXPECT_EQ(SignatureOf(SignV4(req, kS3DocCreds, "us-east-1", "s3", kS3DocTime)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3DocTest, ListObjects) {
  SigningRequest req{"GET", "examplebucket.s3.amazonaws.com",
                     "/",   {{"max-keys", "2"}, {"prefix", "J"}},
                     {},    kEmptySha};
  EXPECT_EQ(SignatureOf(SignV4(req, kS3DocCreds, "us-east-1", "s3", kS3DocTime)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(UriEncodeTest, KeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(UriEncode("aZ09-._~", false), "aZ09-._~");
  EXPECT_EQ(UriEncode("a b+c=d/e", false), "a%20b%2Bc%3Dd%2Fe");
  EXPECT_EQ(UriEncode("a b+c=d/e", true), "a%20b%2Bc%3Dd/e");
  EXPECT_EQ(UriEncode("\xc3\xbc", true), "%C3%BC");
}

TEST(DigestTest, Md5Base64OfKnownInput) {
  EXPECT_EQ(Md5Base64(AsBytes("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Md5Base64(AsBytes("The quick brown fox jumps over the lazy dog")),
            "nhB9nTcrtoJr2B01QqQZ1g==");
}

// --- Equality with botocore's S3SigV4Auth for the same requests ---

struct BotoCase {
  std::string method, host, path;  // path raw: "/bucket/key"
  HeaderList query, headers;
  std::string body, token;
};

TEST(SigV4BotocoreTest, SignaturesEqualBotocores) {
  auto python = testing_tools::FindPythonWithBotocore();
  ASSERT_TRUE(python.has_value()) << python.error().message();
  const std::string script = std::string(COFFER_S3_TESTDATA_DIR) + "/botocore_sign.py";

  const std::string odd = "dir/a b+c=d~e/\xc3\xbc\xe2\x82\xac/x%y&z";
  std::vector<BotoCase> cases = {
      {"GET", "127.0.0.1:9000", "/bucket/chunks/ab/abcdef", {}, {}, "", ""},
      {"PUT",
       "127.0.0.1:9000",
       "/bucket/" + odd,
       {},
       {{"Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="}},
       "some body bytes",
       ""},
      {"GET",
       "bucket.s3.eu-west-1.amazonaws.com",
       "/",
       {{"list-type", "2"}, {"prefix", "pre fix/+=~\xc3\xa9"}, {"continuation-token", "a/b+c=="}},
       {},
       "",
       ""},
      {"POST",
       "localhost:4566",
       "/bucket",
       {{"delete", ""}},
       {{"Content-Type", "application/xml"}, {"X-Amz-Meta-Note", "  two   spaces  "}},
       "<Delete><Object><Key>k</Key></Object></Delete>",
       ""},
      {"HEAD",
       "s3.amazonaws.com",
       "/bucket/key~with~tilde",
       {},
       {{"Range", "bytes=5-10"}},
       "",
       "FQoGZXIvYXdzEXAMPLE//token+with/slashes=="},
      {"PUT",
       "127.0.0.1:9000",
       "/bucket/big",
       {{"partNumber", "3"}, {"uploadId", "VXBsb2FkIElE+/=="}},
       {},
       std::string(5000, 'x'),
       ""},
  };
  const AwsCredentials base{"AKIDBOTOCORE", "secret/with+slash=and~tilde", ""};
  const int64_t when = 1700000000 + 12345;
  const std::string region = "eu-west-1";

  nlohmann::json in = nlohmann::json::array();
  for (const BotoCase& c : cases) {
    in.push_back({{"method", c.method},
                  {"scheme", "http"},
                  {"host", c.host},
                  {"path", c.path},
                  {"query", c.query},
                  {"headers", c.headers},
                  {"body", c.body},
                  {"time", when},
                  {"access_key", base.access_key_id},
                  {"secret_key", base.secret_access_key},
                  {"token", c.token},
                  {"region", region}});
  }
  auto run = testing_tools::RunCommand({*python, script}, in.dump());
  ASSERT_TRUE(run.has_value()) << run.error().message();
  ASSERT_EQ(run->exit_code, 0) << run->output;
  nlohmann::json out = nlohmann::json::parse(run->output);
  ASSERT_EQ(out.size(), cases.size());

  for (size_t i = 0; i < cases.size(); ++i) {
    const BotoCase& c = cases[i];
    AwsCredentials creds = base;
    creds.session_token = c.token;
    std::string hash = Sha256Hex(AsBytes(c.body));
    std::string path = UriEncode(c.path, true);
    SigningRequest req{c.method, c.host, path, c.query, c.headers, hash};
    SignedRequest s = SignV4(req, creds, region, "s3", when);
    SCOPED_TRACE(c.method + " " + c.path + "\n" + s.canonical_request);
    EXPECT_EQ(HeaderValue(s, "Authorization"), out[i]["authorization"].get<std::string>());
    EXPECT_EQ(HeaderValue(s, "X-Amz-Date"), out[i]["x-amz-date"].get<std::string>());
    EXPECT_EQ(HeaderValue(s, "X-Amz-Content-Sha256"),
              out[i]["x-amz-content-sha256"].get<std::string>());
    if (!c.token.empty()) {
      EXPECT_EQ(HeaderValue(s, "X-Amz-Security-Token"),
                out[i]["x-amz-security-token"].get<std::string>());
    }
  }
}

}  // namespace
}  // namespace coffer

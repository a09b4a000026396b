// S3Store against moto_server (an independent S3 implementation), started
// once for this binary on a free loopback port; and interop with the aws CLI.
#include "store/s3/s3_store.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "store/local/local_store.h"
#include "store/open_store.h"
#include "store/retry/retry_store.h"
#include "store/s3/s3_xml.h"
#include "store/s3/testing/fault_proxy.h"
#include "store/s3/testing/moto_server.h"
#include "store/s3/testing/tools.h"
#include "store/store_conformance.h"

namespace coffer {
namespace {

using testing_tools::FaultProxy;
using testing_tools::MotoServer;

struct SharedMoto {
  std::unique_ptr<MotoServer> server;
  std::string error;
};

// One moto_server for the whole binary; a missing moto_server fails every
// test that needs it with the reason, it is never skipped.
SharedMoto& Moto() {
  static SharedMoto moto = [] {
    SharedMoto m;
    auto started = MotoServer::Start();
    if (started)
      m.server = std::move(*started);
    else
      m.error = started.error().message();
    return m;
  }();
  return moto;
}

#define REQUIRE_MOTO() ASSERT_TRUE(Moto().server != nullptr) << Moto().error

std::string NewBucket() {
  static std::atomic<int> n{0};
  std::string name = "coffer-test-" + std::to_string(n++);
  auto st = Moto().server->CreateBucket(name);
  EXPECT_TRUE(st.has_value()) << st.error().message();
  return name;
}

S3StoreOptions Options(const std::string& bucket, const std::string& prefix,
                       const std::string& endpoint = "") {
  S3StoreOptions o;
  o.client.bucket = bucket;
  o.client.endpoint = endpoint.empty() ? Moto().server->endpoint() : endpoint;
  o.client.region = "us-east-1";
  o.client.credentials = {"AKIAEXAMPLETEST", "any-secret-moto-accepts", ""};
  o.prefix = prefix;
  return o;
}

std::unique_ptr<S3Store> Open(const S3StoreOptions& o,
                              std::shared_ptr<StoreMetrics> metrics = nullptr) {
  auto s = S3Store::Open(o, std::move(metrics));
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

std::unique_ptr<ObjectStore> MakeConformanceStore(bool with_prefix) {
  if (!Moto().server) {
    ADD_FAILURE() << Moto().error;
    return nullptr;
  }
  static std::string shared_bucket = NewBucket();
  static std::atomic<int> n{0};
  auto s3 = with_prefix ? Open(Options(shared_bucket, "targets/t" + std::to_string(n++)))
                        : Open(Options(NewBucket(), ""));
  // Under RetryStore, as OpenStore stacks it: moto itself answers 500 to
  // some concurrent PUTs of one key ("I/O operation on closed file" in its
  // log; botocore's own client gets the same), and retrying is exactly
  // what Coffer does with a 500.
  RetryPolicy fast{10, std::chrono::milliseconds(5), std::chrono::milliseconds(50),
                   std::chrono::milliseconds(30'000)};
  return std::make_unique<RetryStore>(std::move(s3), fast);
}

INSTANTIATE_TEST_SUITE_P(
    S3, StoreConformanceTest,
    testing::Values(StoreFactory{"s3_under_prefix", [] { return MakeConformanceStore(true); }},
                    StoreFactory{"s3_bucket_root", [] { return MakeConformanceStore(false); }}),
    StoreFactoryName);

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + i * 131 + (i >> 11));
  return b;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(S3StoreTest, KeysLandUnderThePrefixAsInALocalDirectory) {
  REQUIRE_MOTO();
  std::string bucket = NewBucket();
  auto store = Open(Options(bucket, "/team/target-1/"));
  ASSERT_TRUE(store->Put("chunks/ab/abcdef", AsBytes("x")).has_value());
  ASSERT_TRUE(store->Put("config", AsBytes("y")).has_value());
  EXPECT_EQ(store->Describe(), "s3://" + bucket + "/team/target-1");
  std::set<std::string> keys;
  auto root = Open(Options(bucket, ""));
  ASSERT_TRUE(root->List("",
                         [&](const ObjectInfo& i) -> Status {
                           keys.insert(i.key);
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(keys,
            (std::set<std::string>{"team/target-1/chunks/ab/abcdef", "team/target-1/config"}));
}

TEST(S3StoreTest, LargeObjectsGoUpByMultipartUpload) {
  REQUIRE_MOTO();
  auto metrics = std::make_shared<StoreMetrics>();
  S3StoreOptions o = Options(NewBucket(), "m");
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  auto store = Open(o, metrics);
  Bytes big = Pattern((12 << 20) + 3, 7);
  ASSERT_TRUE(store->Put("manifests/big", big).has_value());
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartCreate), 1u);
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartPart), 3u);
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartComplete), 1u);
  EXPECT_EQ(metrics->requests(RequestKind::kPut), 0u);
  auto got = GetAll(*store, "manifests/big");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_TRUE(*got == big);
  Buffer part;
  ASSERT_TRUE(store->Get("manifests/big", &part, ByteRange{(5 << 20) - 10, 20}).has_value());
  ASSERT_EQ(part.size(), 20u);
  EXPECT_TRUE(std::equal(big.begin() + (5 << 20) - 10, big.begin() + (5 << 20) + 10, part.data()));
  auto head = store->Head("manifests/big");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->size, big.size());
}

TEST(S3StoreTest, AFailedMultipartUploadIsAborted) {
  REQUIRE_MOTO();
  // Every request for part 2 fails (the connection is reset, every time): the upload must be
  // aborted, leaving no parts behind.
  auto proxy = FaultProxy::Start(
      Moto().server->port(),
      [](const std::string& head) {
        return head.find("partNumber=2") != std::string::npos ? testing_tools::Fault::kReset
                                                              : testing_tools::Fault::kNone;
      },
      std::chrono::milliseconds(0));
  ASSERT_TRUE(proxy.has_value()) << proxy.error().message();
  auto metrics = std::make_shared<StoreMetrics>();
  std::string bucket = NewBucket();
  S3StoreOptions o = Options(bucket, "m", (*proxy)->endpoint());
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  auto store = Open(o, metrics);
  auto st = store->Put("manifests/big", Pattern(11 << 20, 1));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("s3://" + bucket + "/m/manifests/big"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartAbort), 1u);
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartComplete), 0u);

  auto client = S3Client::Create(Options(bucket, "").client, nullptr);
  ASSERT_TRUE(client.has_value());
  auto uploads = (*client)->Call(S3Call{"GET", RequestKind::kList, "", {{"uploads", ""}}});
  ASSERT_TRUE(uploads.has_value()) << uploads.error().message();
  EXPECT_EQ(uploads->body.find("<UploadId>"), std::string::npos) << uploads->body;
  EXPECT_FALSE(store->Head("manifests/big").has_value());
}

// A writer killed during a multipart upload leaves it unfinished: its parts
// are stored (and billed) but no object. Those under the target's prefix are
// the store's temporaries: counted when asked to look everywhere, aborted by
// age alone (a listing does not say who began an upload).
TEST(S3StoreTest, UnfinishedUploadsAreTheStoresTemporariesAndGoByAge) {
  REQUIRE_MOTO();
  const std::string bucket = NewBucket();
  auto client = S3Client::Create(Options(bucket, "").client, nullptr);
  ASSERT_TRUE(client.has_value());
  for (const char* key : {"m/manifests/a", "m/manifests/b", "other/manifests/c"}) {
    auto created =
        (*client)->Call(S3Call{"POST", RequestKind::kMultipartCreate, key, {{"uploads", ""}}});
    ASSERT_TRUE(created.has_value()) << created.error().message();
  }
  auto uploads_left = [&] {
    auto listed = (*client)->Call(S3Call{"GET", RequestKind::kList, "", {{"uploads", ""}}});
    EXPECT_TRUE(listed.has_value());
    auto page = s3xml::ParseListMultipartUploads(listed ? listed->body : "");
    return page ? page->uploads.size() : size_t(99);
  };
  ASSERT_EQ(uploads_left(), 3u);

  auto metrics = std::make_shared<StoreMetrics>();
  auto store = Open(Options(bucket, "m"), metrics);
  // A backup's quick look (dead writers only) costs no request.
  auto quick = store->CleanTemporaries({.dead_writers = true});
  ASSERT_TRUE(quick.has_value()) << quick.error().message();
  EXPECT_EQ(quick->kept + quick->removed, 0u);
  EXPECT_EQ(metrics->requests(RequestKind::kList), 0u);
  // check's count: both of the prefix, none of a provably dead writer.
  auto counted =
      store->CleanTemporaries({.dead_writers = true, .dry_run = true, .everywhere = true});
  ASSERT_TRUE(counted.has_value()) << counted.error().message();
  EXPECT_EQ(counted->kept, 2u);
  EXPECT_EQ(counted->removed, 0u);
  // gc's: younger than its age, kept; past it, aborted (a dry run only says
  // so). moto dates every upload 2010-11-10T20:48:33Z, so "young" here is
  // younger than a century.
  auto young = store->CleanTemporaries({.min_age = int64_t(100) * 365 * 86400, .everywhere = true});
  ASSERT_TRUE(young.has_value());
  EXPECT_EQ(young->kept, 2u);
  EXPECT_EQ(uploads_left(), 3u);
  auto dry = store->CleanTemporaries({.min_age = 0, .dry_run = true, .everywhere = true});
  ASSERT_TRUE(dry.has_value());
  EXPECT_EQ(dry->removed, 2u);
  EXPECT_EQ(uploads_left(), 3u);
  auto done = store->CleanTemporaries({.min_age = 0, .everywhere = true});
  ASSERT_TRUE(done.has_value()) << done.error().message();
  EXPECT_EQ(done->removed, 2u);
  EXPECT_EQ(metrics->requests(RequestKind::kMultipartAbort), 2u);
  EXPECT_EQ(uploads_left(), 1u) << "only the upload outside the prefix stays";
}

TEST(S3StoreTest, DeleteManySendsOneRequestPerThousandKeys) {
  REQUIRE_MOTO();
  auto metrics = std::make_shared<StoreMetrics>();
  auto store = Open(Options(NewBucket(), "d"), metrics);
  std::vector<std::string> keys;
  for (int i = 0; i < 1001; ++i) {
    keys.push_back("chunks/" + std::to_string(i % 10) + "/k" + std::to_string(i));
    ASSERT_TRUE(store->Put(keys.back(), AsBytes("z")).has_value());
  }
  ASSERT_TRUE(store->DeleteMany(keys).has_value());
  EXPECT_EQ(metrics->requests(RequestKind::kDeleteMany), 2u);
  int left = 0;
  ASSERT_TRUE(store
                  ->List("",
                         [&](const ObjectInfo&) -> Status {
                           ++left;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(left, 0);
  EXPECT_EQ(metrics->requests(RequestKind::kList), 1u);
}

TEST(S3StoreTest, AMissingBucketFailsAtOnceWithNoSuchBucket) {
  REQUIRE_MOTO();
  auto start = std::chrono::steady_clock::now();
  auto store = Open(Options("no-such-bucket", "p"));
  Buffer buf;
  auto get = store->Get("config", &buf);
  ASSERT_FALSE(get.has_value());
  // Not kNotFound: a missing bucket must never pass for a missing object.
  EXPECT_EQ(get.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(get.error().message().find("NoSuchBucket"), std::string::npos) << get.error().message();
  EXPECT_NE(get.error().message().find("s3://no-such-bucket/p/config"), std::string::npos);
  auto put = store->Put("config", AsBytes("x"));
  ASSERT_FALSE(put.has_value());
  EXPECT_NE(put.error().message().find("NoSuchBucket"), std::string::npos) << put.error().message();
  auto list = store->List("", [](const ObjectInfo&) -> Status { return {}; });
  ASSERT_FALSE(list.has_value());
  EXPECT_NE(list.error().message().find("NoSuchBucket"), std::string::npos);
  EXPECT_LT(SecondsSince(start), 5.0);
}

// moto accepts any key until IAM authentication is switched on; this test
// has its own server with it on, so only keys made in its IAM sign right.
TEST(S3StoreTest, WrongCredentialsFailAtOnceWithTheS3ErrorCode) {
  auto moto = MotoServer::Start();
  ASSERT_TRUE(moto.has_value()) << moto.error().message();
  ASSERT_TRUE((*moto)->CreateBucket("auth").has_value());
  auto keys = (*moto)->EnableAuthentication();
  ASSERT_TRUE(keys.has_value()) << keys.error().message();

  // No prefix and a listing prefix without '/': moto also rejects the
  // signature of a ListObjectsV2 whose prefix has a '/' (botocore's too).
  S3StoreOptions good = Options("auth", "", (*moto)->endpoint());
  good.client.credentials = {keys->access_key_id, keys->secret_access_key, ""};
  auto store = Open(good);
  // Moto checks signatures with botocore. It rebuilds the path decoded, so
  // it rejects even botocore's own signature for keys with '+', '=', ',',
  // ';', '%' or non-ASCII (sigv4_test compares those with botocore
  // directly); a space and '~' it gets right.
  for (std::string key : {"chunks/ab/abc", "odd/a b~c"}) {
    auto put = store->Put(key, AsBytes("data"));
    ASSERT_TRUE(put.has_value()) << key << ": " << put.error().message();
    auto got = GetAll(*store, key);
    ASSERT_TRUE(got.has_value()) << got.error().message();
  }
  int listed = 0;
  ASSERT_TRUE(store
                  ->List("odd",
                         [&](const ObjectInfo&) -> Status {
                           ++listed;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(listed, 1);

  struct Case {
    AwsCredentials creds;
    std::string code;
  };
  for (const Case& c : {Case{{"AKIANOSUCHKEY0000000", "whatever", ""}, "InvalidAccessKeyId"},
                        Case{{keys->access_key_id, "wrong-secret", ""}, "SignatureDoesNotMatch"}}) {
    S3StoreOptions bad = good;
    bad.client.credentials = c.creds;
    // Through the retry wrapper, as OpenStore stacks it: not retried.
    RetryStore retrying(Open(bad), RetryPolicy{});
    auto start = std::chrono::steady_clock::now();
    Buffer buf;
    auto st = retrying.Get("chunks/ab/abc", &buf);
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), ErrorCode::kPermissionDenied);
    EXPECT_NE(st.error().message().find(c.code), std::string::npos) << st.error().message();
    EXPECT_NE(st.error().message().find("s3://auth/chunks/ab/abc"), std::string::npos);
    auto put = retrying.Put("chunks/ab/new", AsBytes("x"));
    ASSERT_FALSE(put.has_value());
    EXPECT_NE(put.error().message().find(c.code), std::string::npos) << put.error().message();
    EXPECT_EQ(retrying.retries(), 0u);
    EXPECT_LT(SecondsSince(start), 5.0);
  }
}

TEST(S3StoreTest, RetriesAbsorbAProxyThatFailsTenPercentOfRequests) {
  REQUIRE_MOTO();
  auto proxy = FaultProxy::Start(Moto().server->port(), FaultProxy::Random(0.10, 20261124),
                                 std::chrono::milliseconds(4000));
  ASSERT_TRUE(proxy.has_value()) << proxy.error().message();
  auto metrics = std::make_shared<StoreMetrics>();
  S3StoreOptions o = Options(NewBucket(), "faulty", (*proxy)->endpoint());
  // Long enough that moto, slow on a loaded machine, is never taken for a
  // stall: every retry below must be one the proxy caused.
  o.client.http.stall_timeout = std::chrono::milliseconds(3000);
  RetryPolicy policy{12, std::chrono::milliseconds(10), std::chrono::milliseconds(200),
                     std::chrono::milliseconds(60'000)};
  RetryStore store(Open(o, metrics), policy, metrics);

  constexpr int kThreads = 4, kPerThread = 30;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "chunks/" + std::to_string(t) + "/o" + std::to_string(i);
        Bytes data = Pattern(20000 + i * 100, uint8_t(t * 31 + i));
        auto put = store.Put(key, data);
        EXPECT_TRUE(put.has_value()) << put.error().message();
        auto got = GetAll(store, key);
        EXPECT_TRUE(got.has_value()) << got.error().message();
        if (put && got && *got == data) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  std::set<std::string> listed;
  ASSERT_TRUE(store
                  .List("chunks/",
                        [&](const ObjectInfo& i) -> Status {
                          EXPECT_TRUE(listed.insert(i.key).second) << "listed twice: " << i.key;
                          return {};
                        })
                  .has_value());
  EXPECT_EQ(listed.size(), size_t(kThreads * kPerThread));
  std::vector<std::string> keys(listed.begin(), listed.end());
  ASSERT_TRUE(store.DeleteMany(keys).has_value());

  const auto& p = **proxy;
  std::cout << "fault proxy: " << p.requests() << " requests, " << p.total_faults()
            << " faults (500: " << p.faults(testing_tools::Fault::kInternalError500)
            << ", 503 SlowDown: " << p.faults(testing_tools::Fault::kSlowDown503)
            << ", reset: " << p.faults(testing_tools::Fault::kReset)
            << ", stall: " << p.faults(testing_tools::Fault::kStall)
            << ", truncated: " << p.faults(testing_tools::Fault::kTruncate)
            << "); retries: " << store.retries() << "\n";
  EXPECT_GT(p.total_faults(), 10u);
  for (auto f : {testing_tools::Fault::kInternalError500, testing_tools::Fault::kSlowDown503,
                 testing_tools::Fault::kReset, testing_tools::Fault::kStall,
                 testing_tools::Fault::kTruncate}) {
    EXPECT_GT(p.faults(f), 0u) << int(f);
  }
  EXPECT_EQ(store.retries(), p.total_faults());
  EXPECT_EQ(metrics->retries(), store.retries());
  EXPECT_EQ(metrics->total_requests(), p.requests());
}

std::map<std::string, Bytes> TargetObjects() {
  std::map<std::string, Bytes> objects;
  objects["config"] = Pattern(123, 1);
  objects["keys/0f1e2d3c"] = Pattern(300, 2);
  objects["chunks/ab/ab" + std::string(62, 'c')] = Pattern(100'000, 3);
  objects["chunks/00/00" + std::string(62, '1')] = Bytes{};
  objects["manifests/5f0c3c5e-8a4b-4c8e-9a0b-0123456789ab"] = Pattern(4096, 4);
  objects["gc"] = Pattern(8, 5);
  return objects;
}

void ExpectHolds(ObjectStore& store, const std::map<std::string, Bytes>& want) {
  std::set<std::string> keys;
  ASSERT_TRUE(store
                  .List("",
                        [&](const ObjectInfo& i) -> Status {
                          keys.insert(i.key);
                          return {};
                        })
                  .has_value());
  std::set<std::string> want_keys;
  for (const auto& [k, v] : want) want_keys.insert(k);
  EXPECT_EQ(keys, want_keys) << store.Describe();
  for (const auto& [k, v] : want) {
    auto got = GetAll(store, k);
    ASSERT_TRUE(got.has_value()) << got.error().message();
    EXPECT_TRUE(*got == v) << k << " in " << store.Describe();
  }
}

std::string FreshDir(const std::string& tag) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/coffer-s3-interop-" +
                    std::to_string(::getpid()) + "-" + tag;
  std::filesystem::remove_all(dir);
  return dir;
}

// The aws CLI (botocore) is an independent client: a target that either
// side writes, the other reads, with the same layout as a directory.
TEST(S3InteropTest, TheAwsCliAndCofferReadEachOthersTargets) {
  REQUIRE_MOTO();
  auto aws = testing_tools::FindExecutable("aws");
  ASSERT_TRUE(aws.has_value()) << aws.error().message();
  const std::string bucket = NewBucket();
  const std::vector<std::string> env = {
      "AWS_ACCESS_KEY_ID=AKIAEXAMPLETEST",     "AWS_SECRET_ACCESS_KEY=any-secret",
      "AWS_DEFAULT_REGION=us-east-1",          "AWS_CONFIG_FILE=/dev/null",
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"};
  auto run_aws = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {*aws, "--endpoint-url", Moto().server->endpoint()});
    auto r = testing_tools::RunCommand(args, "", env, 120);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    if (r) {
      EXPECT_EQ(r->exit_code, 0) << r->output;
    }
  };
  const auto objects = TargetObjects();

  // Coffer writes to the bucket; `aws s3 sync` brings it down; the copy
  // reads as a local target.
  auto s3_out = Open(Options(bucket, "written-by-coffer"));
  for (const auto& [k, v] : objects) ASSERT_TRUE(s3_out->Put(k, v).has_value());
  std::string down = FreshDir("down");
  run_aws({"s3", "sync", "s3://" + bucket + "/written-by-coffer", down});
  auto local_down = LocalStore::Open(down, false);
  ASSERT_TRUE(local_down.has_value()) << local_down.error().message();
  ExpectHolds(**local_down, objects);

  // A local target goes up with `aws s3 sync`; Coffer reads it from S3.
  std::string up = FreshDir("up");
  auto local_up = LocalStore::Open(up, true);
  ASSERT_TRUE(local_up.has_value());
  for (const auto& [k, v] : objects) ASSERT_TRUE((*local_up)->Put(k, v).has_value());
  run_aws({"s3", "sync", up, "s3://" + bucket + "/synced/by-cli"});
  auto s3_in = Open(Options(bucket, "synced/by-cli"));
  ExpectHolds(*s3_in, objects);

  // Single objects both ways with s3api/cp.
  // Beside `up`, not through it: `up` is gone before this file is removed.
  std::string file = (std::filesystem::path(up).parent_path() /
                      ("coffer-cli-object-" + std::to_string(::getpid())))
                         .string();
  run_aws({"s3", "cp", "s3://" + bucket + "/written-by-coffer/config", file});
  std::ifstream in(file, std::ios::binary);
  Bytes read_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(read_back == objects.at("config"));
  run_aws({"s3api", "put-object", "--bucket", bucket, "--key", "written-by-coffer/locks/abc",
           "--body", file});
  auto lock = GetAll(*s3_out, "locks/abc");
  ASSERT_TRUE(lock.has_value()) << lock.error().message();
  EXPECT_TRUE(*lock == objects.at("config"));

  std::filesystem::remove_all(down);
  std::filesystem::remove_all(up);
  std::filesystem::remove(file);
}

TEST(S3StoreTest, VirtualHostedAddressingWorks) {
  REQUIRE_MOTO();
  std::string bucket = NewBucket();
  // curl resolves any *.localhost name to the loopback address.
  S3StoreOptions o =
      Options(bucket, "vh", "http://localhost:" + std::to_string(Moto().server->port()));
  o.client.addressing = S3Addressing::kVirtualHosted;
  auto store = Open(o);
  ASSERT_TRUE(store->Put("config", AsBytes("virtual")).has_value());
  auto path_style = Open(Options(bucket, "vh"));
  auto got = GetAll(*path_style, "config");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(std::string(got->begin(), got->end()), "virtual");
  int n = 0;
  ASSERT_TRUE(store
                  ->List("",
                         [&](const ObjectInfo&) -> Status {
                           ++n;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

TEST(S3StoreTest, HttpsWithATrustedCertificate) {
  auto moto = MotoServer::Start(/*tls=*/true);
  ASSERT_TRUE(moto.has_value()) << moto.error().message();
  ASSERT_TRUE((*moto)->CreateBucket("tls").has_value());
  S3StoreOptions o = Options("tls", "p", (*moto)->endpoint());
  EXPECT_TRUE(o.client.endpoint.starts_with("https://"));
  o.client.http.ca_file = (*moto)->ca_file();
  auto store = Open(o);
  ASSERT_TRUE(store->Put("config", AsBytes("over tls")).has_value());
  auto got = GetAll(*store, "config");
  ASSERT_TRUE(got.has_value()) << got.error().message();
  EXPECT_EQ(std::string(got->begin(), got->end()), "over tls");

  // Without the certificate trusted, TLS fails for good, not retried.
  o.client.http.ca_file.clear();
  auto untrusting = Open(o);
  auto st = untrusting->Put("config", AsBytes("x"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument) << st.error().message();
  EXPECT_NE(st.error().message().find("s3://tls/p/config"), std::string::npos);
}

}  // namespace
}  // namespace coffer

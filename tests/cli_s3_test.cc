// End to end through build/coffer on s3://bucket/prefix against moto_server:
// every verb as on a directory, what the requests cost, dedup across volumes
// through the known-chunks cache, interop with `aws s3 sync`, and the
// bandwidth limits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "store/s3/s3_client.h"
#include "store/s3/s3_xml.h"
#include "store/s3/testing/tools.h"
#include "tests/cli_s3_fixture.h"

namespace coffer::testing {
namespace {

using nlohmann::json;

uint64_t U(const json& j, const char* key) { return j.at(key).get<uint64_t>(); }
uint64_t Requests(const json& j, const char* kind) {
  return j.at("requests").at(kind).get<uint64_t>();
}
uint64_t AllRequests(const json& j) {
  uint64_t n = 0;
  for (const auto& [kind, count] : j.at("requests").items()) n += count.get<uint64_t>();
  return n;
}

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(CliS3Test, EveryVerbWorksOnABucketAsOnADirectory) {
  const auto t = S3Target("vms/prod");
  ASSERT_EQ(Coffer(Cat({"init"}, t)).exit_code, 0);
  json added = CofferJson(Cat({"key", "add"}, t), 0, {{"COFFER_NEW_PASSPHRASE", "second one"}});
  json slots = CofferJson(Cat({"key", "list"}, t));
  ASSERT_EQ(slots.size(), 2u);

  std::string img = MakeImage("vm.img", "32M", 3);
  std::string first_copy = dir_ / "vm-first.img";
  ASSERT_EQ(RunProcess({"/bin/cp", img, first_copy}).exit_code, 0);
  json first = CofferJson(Cat({"backup", img, "--name", "vm"}, t));
  EXPECT_EQ(U(first, "logical_bytes"), 32u << 20);
  EXPECT_GT(U(first, "new_chunks"), 0u);
  Mutate(img, "2", 4);
  json second = CofferJson(Cat({"backup", img, "--name", "vm"}, t));
  EXPECT_EQ(second["parent_id"], first["backup_id"]);
  EXPECT_LT(U(second, "new_bytes"), U(first, "new_bytes") / 2);

  json ls = CofferJson(Cat({"ls"}, t));
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[1]["backup_id"], second["backup_id"]);
  ExpectRestoresTo(t, first["backup_id"], first_copy);
  // The second key slot opens the target too.
  std::string out = dir_ / "by-second-slot.img";
  RunResult by_second =
      Coffer(Cat({"restore", second["backup_id"], out}, t), {{"COFFER_PASSPHRASE", "second one"}});
  ASSERT_EQ(by_second.exit_code, 0) << by_second.err;
  EXPECT_EQ(CompareFiles(img, out), "");

  json check = CofferJson(Cat({"check", "--read-data"}, t));
  EXPECT_EQ(check["ok"], true) << check.dump();
  EXPECT_EQ(U(check, "chunks_read"), U(check, "chunks_stored"));
  EXPECT_GT(Requests(check, "get"), U(check, "chunks_read"));

  json forgot = CofferJson(Cat({"forget", first["backup_id"]}, t));
  EXPECT_EQ(forgot["forgotten"][0], first["backup_id"]);
  json gc = CofferJson(Cat({"gc", "--grace", "0"}, t));
  EXPECT_GT(U(gc, "chunks_deleted"), 0u);
  EXPECT_EQ(U(gc, "generation"), 1u);
  EXPECT_GE(Requests(gc, "delete_many"), 1u);  // one batched delete, not one per chunk
  json after = CofferJson(Cat({"check", "--read-data"}, t));
  EXPECT_EQ(after["ok"], true) << after.dump();
  EXPECT_EQ(U(after, "chunks_unreferenced"), 0u);
  ExpectRestoresTo(t, second["backup_id"], img);

  // After the sweep, the cache of this machine is stale: the next backup
  // learns the target's chunks again from a listing, and stores what the
  // sweep deleted.
  json third = CofferJson(Cat({"backup", first_copy, "--name", "vm-old"}, t));
  EXPECT_EQ(third["cache"]["file"], "stale");
  EXPECT_GT(U(third, "new_chunks"), 0u);
  ExpectRestoresTo(t, third["backup_id"], first_copy);
  // Only objects of the layout are in the bucket; no lock was left behind.
  for (const auto& [key, size] : Objects(bucket_, "vms/prod")) {
    EXPECT_TRUE(key == "config" || key == "gc" || key.starts_with("keys/") ||
                key.starts_with("chunks/") || key.starts_with("manifests/"))
        << key;
  }
}

TEST_F(CliS3Test, ASecondBackupCostsItsNewChunksPutsAndASmallConstant) {
  const auto t = S3Target("p");
  ASSERT_EQ(Coffer(Cat({"init"}, t)).exit_code, 0);
  std::string img = MakeImage("vm.img", "48M", 5);
  json first = CofferJson(Cat({"backup", img}, t));
  EXPECT_EQ(first["cache"]["file"], "missing");
  // No HEAD per chunk: the cache was rebuilt with one LIST of chunks/. The
  // one HEAD confirms the lock before the manifest (DESIGN §5).
  EXPECT_EQ(Requests(first, "head"), 1u);
  EXPECT_EQ(Requests(first, "put"), U(first, "new_chunks") + 2);  // + manifest, lock
  Mutate(img, "1", 6);
  json second = CofferJson(Cat({"backup", img}, t));
  EXPECT_EQ(second["cache"]["file"], "valid");
  EXPECT_GT(U(second, "new_chunks"), 0u);
  EXPECT_EQ(Requests(second, "head"), 1u);
  EXPECT_EQ(Requests(second, "put"), U(second, "new_chunks") + 2);
  // The constant: config and key slot, the lock (put, list, delete, and a
  // head before the manifest), the gc generation (before the known set and
  // before the manifest), the manifests' list, the parent.
  EXPECT_LE(AllRequests(second) - U(second, "new_chunks"), 17u) << second["requests"].dump();
  EXPECT_EQ(U(second, "retries"), 0u);
  // The summaries of earlier backups come from the local summary cache, so
  // the constant does not grow with the number of backups in the target.
  json third = CofferJson(Cat({"backup", img}, t));
  EXPECT_EQ(U(third, "new_chunks"), 0u);
  EXPECT_EQ(Requests(third, "get"), Requests(second, "get")) << third["requests"].dump();
  EXPECT_EQ(AllRequests(third), AllRequests(second) - U(second, "new_chunks"))
      << third["requests"].dump();
  ExpectRestoresTo(t, second["backup_id"], img);
}

TEST_F(CliS3Test, TwoVolumesSharingDataStoreItOnceThroughTheCache) {
  const auto t = S3Target("shared");
  ASSERT_EQ(Coffer(Cat({"init"}, t)).exit_code, 0);
  std::string a = MakeImage("a.img", "24M", 7);
  std::string b = dir_ / "b.img";
  ASSERT_EQ(RunProcess({"/bin/cp", a, b}).exit_code, 0);
  json ja = CofferJson(Cat({"backup", a, "--name", "a"}, t));
  const size_t chunks = Objects(bucket_, "shared/chunks").size();
  EXPECT_EQ(chunks, U(ja, "new_chunks"));
  json jb = CofferJson(Cat({"backup", b, "--name", "b"}, t));
  EXPECT_TRUE(jb["parent_id"].is_null());
  EXPECT_EQ(U(jb, "new_bytes"), 0u);
  EXPECT_EQ(U(jb, "new_chunks"), 0u);
  EXPECT_EQ(Requests(jb, "put"), 2u);   // the manifest and the lock
  EXPECT_EQ(Requests(jb, "head"), 1u);  // the lock's, before the manifest
  EXPECT_EQ(Objects(bucket_, "shared/chunks").size(), chunks);

  // A damaged cache file is not believed: the set is rebuilt from a listing.
  const std::string cache_file = jb["cache"]["path"];
  EXPECT_TRUE(cache_file.starts_with(cache_ + "/coffer/")) << cache_file;
  std::filesystem::resize_file(cache_file, std::filesystem::file_size(cache_file) - 5);
  json jd = CofferJson(Cat({"backup", b, "--name", "d"}, t));
  EXPECT_EQ(jd["cache"]["file"], "unreadable");
  EXPECT_EQ(U(jd, "new_chunks"), 0u);
  EXPECT_GE(Requests(jd, "list"), 4u);  // keys, locks, manifests and chunks

  // Without the cache, --head-unknown asks about each chunk instead, and
  // still stores nothing twice.
  json jc = CofferJson(Cat({"backup", b, "--name", "c", "--no-cache", "--head-unknown"}, t));
  EXPECT_EQ(U(jc, "new_chunks"), 0u);
  EXPECT_EQ(Requests(jc, "head"), U(jc, "chunks") - U(jc, "zero_chunks") + 1);  // + the lock
  EXPECT_TRUE(jc["cache"].is_null());
  EXPECT_EQ(Objects(bucket_, "shared/chunks").size(), chunks);
  ExpectRestoresTo(t, jb["backup_id"], b);
}

// The aws CLI is an independent client: a target copied either way with
// `aws s3 sync` stays usable, and each copy keeps its own cache.
TEST_F(CliS3Test, TargetsCopiedWithAwsS3SyncRestoreOnBothSides) {
  auto aws = testing_tools::FindExecutable("aws");
  ASSERT_TRUE(aws.has_value()) << aws.error().message();
  auto sync = [&](const std::string& from, const std::string& to) {
    auto r = testing_tools::RunCommand(
        {*aws, "--endpoint-url", moto_->endpoint(), "s3", "sync", "--only-show-errors", from, to},
        "", AwsCliEnv(), 120);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    ASSERT_EQ(r->exit_code, 0) << r->output;
  };
  std::string img = MakeImage("vm.img", "16M", 8);

  // A directory goes up, and restores through s3://.
  std::string local = dir_ / "local-target";
  const std::vector<std::string> tl = {"--target", local};
  ASSERT_EQ(Coffer({"init", "--target", local}).exit_code, 0);
  json up = CofferJson(Cat({"backup", img, "--name", "vm"}, tl));
  sync(local, "s3://" + bucket_ + "/up");
  const auto ts = S3Target("up");
  ExpectRestoresTo(ts, up["backup_id"], img);
  EXPECT_EQ(CofferJson(Cat({"check", "--read-data"}, ts))["ok"], true);

  // New data backed up to the bucket copy must not count as known in the
  // directory: both copies share the target uuid, not their chunks.
  std::string other = MakeImage("other.img", "8M", 9);
  json to_bucket = CofferJson(Cat({"backup", other, "--name", "other"}, ts));
  EXPECT_GT(U(to_bucket, "new_chunks"), 0u);
  json to_dir = CofferJson(Cat({"backup", other, "--name", "other"}, tl));
  EXPECT_EQ(U(to_dir, "new_chunks"), U(to_bucket, "new_chunks"));
  ExpectRestoresTo(tl, to_dir["backup_id"], other);

  // A target Coffer wrote to a bucket comes down, and restores as a directory.
  std::string down = dir_ / "down";
  sync("s3://" + bucket_ + "/up", down);
  ExpectRestoresTo({"--target", down}, to_bucket["backup_id"], other);
  ExpectRestoresTo({"--target", "file://" + down}, up["backup_id"], img);
}

// A writer killed during a multipart upload (a manifest above 64 MiB) leaves
// it unfinished: parts stored and billed, no object. check counts it, gc
// --dry-run says it would abort it, gc aborts it. moto dates every upload
// 2010-11-10, so this one is past any grace.
TEST_F(CliS3Test, UnfinishedUploadsAreCountedByCheckAndAbortedByGc) {
  const auto ts = S3Target("t");
  ASSERT_EQ(Coffer(Cat({"init"}, ts)).exit_code, 0);
  std::string img = MakeImage("vm.img", "8M", 10);
  json backup = CofferJson(Cat({"backup", img, "--name", "vm"}, ts));

  S3Config config;
  config.bucket = bucket_;
  config.endpoint = moto_->endpoint();
  config.region = "us-east-1";
  config.credentials = {"AKIAEXAMPLECLITEST", "any-secret-moto-accepts", ""};
  auto client = S3Client::Create(config, nullptr);
  ASSERT_TRUE(client.has_value()) << client.error().message();
  const std::string key = "t/manifests/00000000-0000-4000-8000-00000000000a";
  ASSERT_TRUE(
      (*client)->Call(S3Call{"POST", RequestKind::kMultipartCreate, key, {{"uploads", ""}}}));
  auto uploads = [&] {
    auto listed = (*client)->Call(S3Call{"GET", RequestKind::kList, "", {{"uploads", ""}}});
    auto page = s3xml::ParseListMultipartUploads(listed ? listed->body : "");
    return page ? page->uploads.size() : size_t(99);
  };
  ASSERT_EQ(uploads(), 1u);

  json check = CofferJson(Cat({"check"}, ts));
  EXPECT_EQ(check["ok"], true);
  EXPECT_EQ(check["temporaries"], 1);
  EXPECT_EQ(check["temporaries_of_dead_writers"], 0) << "S3 does not say who began an upload";
  json dry = CofferJson(Cat({"gc", "--dry-run"}, ts));
  EXPECT_EQ(dry["temporaries_deleted"], 1);
  EXPECT_EQ(uploads(), 1u) << "a dry run aborted it";
  json gc = CofferJson(Cat({"gc"}, ts));
  EXPECT_EQ(gc["temporaries_deleted"], 1);
  EXPECT_EQ(Requests(gc, "multipart_abort"), 1u);
  EXPECT_EQ(uploads(), 0u);
  ExpectRestoresTo(ts, backup["backup_id"], img);
}

TEST_F(CliS3Test, BandwidthLimitsAreHonoured) {
  const auto t = S3Target("slow");
  ASSERT_EQ(Coffer(Cat({"init"}, t)).exit_code, 0);
  // 2 MiB that neither compress nor dedup.
  std::string img = dir_ / "random.img";
  {
    std::mt19937_64 rng(42);
    std::string data(2 << 20, '\0');
    for (auto& c : data) c = char(rng());
    std::ofstream(img, std::ios::binary) << data;
  }
  auto start = std::chrono::steady_clock::now();
  json b = CofferJson(Cat({"backup", img, "--limit-upload", "1M"}, t));
  double up = SecondsSince(start);
  ASSERT_GE(U(b, "stored_bytes"), 2u << 20);
  // A tenth of a second's worth may pass at once (the token bucket's burst).
  double want = double(U(b, "stored_bytes")) / (1 << 20) - 0.1;
  EXPECT_GE(up, want * 0.95) << "2 MiB went up faster than 1 MiB/s";
  // The wall time includes start-up, the key derivation and moto's own
  // pace, all slow under a sanitizer on a loaded machine: a loose bound.
  EXPECT_LT(up, want * 2 + 10) << "far slower than the limit";

  std::string out = dir_ / "out.img";
  start = std::chrono::steady_clock::now();
  ASSERT_EQ(Coffer(Cat({"restore", b["backup_id"], out, "--limit-download", "1M"}, t)).exit_code,
            0);
  double down = SecondsSince(start);
  EXPECT_GE(down, want * 0.95) << "2 MiB came down faster than 1 MiB/s";
  EXPECT_EQ(CompareFiles(img, out), "");

  for (std::vector<std::string> bad : {std::vector<std::string>{"--limit-upload", "10X"},
                                       {"--limit-download", "fast"},
                                       {"--limit-upload", "-1M"},
                                       {"--s3-connections", "0"}}) {
    RunResult r = Coffer(Cat(Cat({"ls"}, t), bad));
    EXPECT_EQ(r.exit_code, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_NE(r.err.find(bad[0]), std::string::npos) << r.err;
  }
}

TEST_F(CliS3Test, HelpNamesTheS3AndCacheFlags) {
  RunResult help = Coffer({"help", "backup"});
  ASSERT_EQ(help.exit_code, 0);
  for (const char* flag : {"--s3-endpoint", "--s3-region", "--s3-connections", "--limit-upload",
                           "--limit-download", "--cache-dir", "--no-cache", "--head-unknown"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  RunResult restore = Coffer({"help", "restore"});
  EXPECT_NE(restore.out.find("--limit-download"), std::string::npos);
}

}  // namespace
}  // namespace coffer::testing

// The known-chunks cache: its file is trusted only when whole and current,
// and a backup that uses it neither asks about nor stores what it knows.
#include "engine/known_chunks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/format/chunk_object.h"
#include "core/hash/blake3.h"
#include "engine/backup.h"
#include "engine/gc.h"
#include "engine/restore.h"
#include "store/mem/mem_store.h"
#include "store/metrics/metrics_store.h"
#include "volume/file_volume.h"

namespace coffer {
namespace {

namespace fs = std::filesystem;

ChunkId IdOf(uint64_t n) {
  ChunkId id{};
  std::mt19937_64 rng(n);
  for (auto& b : id) b = uint8_t(rng());
  return id;
}

class KnownChunksTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("coffer-known-chunks-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    target_ = Uuid::Random();
    path_ = KnownChunkCache::PathFor((dir_ / "cache").string(), target_, "/some/target");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Saves a cache of ids 0..n-1 at `generation`.
  void SaveIds(size_t n, uint64_t generation) {
    KnownChunkCache c(path_);
    c.Load(target_, generation);
    std::vector<ChunkId> ids;
    for (size_t i = 0; i < n; ++i) ids.push_back(IdOf(i));
    c.Add(ids);
    ASSERT_TRUE(c.Save().has_value());
  }
  std::string ReadRaw() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteRaw(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }

  fs::path dir_;
  Uuid target_;
  std::string path_;
};

TEST_F(KnownChunksTest, SavedIdsLoadBackForTheSameTargetAndGeneration) {
  KnownChunkCache c(path_);
  EXPECT_EQ(c.Load(target_, 3), CacheState::kMissing);
  std::vector<ChunkId> ids = {IdOf(5), IdOf(1), IdOf(5), IdOf(9)};  // any order, duplicates
  c.Add(ids);
  c.Add(std::vector<ChunkId>{IdOf(1), IdOf(2)});
  EXPECT_EQ(c.size(), 4u);
  ASSERT_TRUE(c.Save().has_value());

  KnownChunkCache again(path_);
  EXPECT_EQ(again.Load(target_, 3), CacheState::kValid);
  EXPECT_EQ(again.size(), 4u);
  for (uint64_t n : {1, 2, 5, 9}) EXPECT_TRUE(again.Contains(IdOf(n))) << n;
  EXPECT_FALSE(again.Contains(IdOf(3)));
  // Private to the user: the directories it made are 0700, the file 0600.
  struct stat st;
  ASSERT_EQ(::stat(fs::path(path_).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary file is left beside it.
  auto dir = fs::directory_iterator(fs::path(path_).parent_path());
  EXPECT_EQ(std::distance(dir, fs::directory_iterator()), 1);
}

TEST_F(KnownChunksTest, AnotherGcGenerationMakesTheCacheStaleAndEmpty) {
  SaveIds(10, 1);
  KnownChunkCache c(path_);
  EXPECT_EQ(c.Load(target_, 2), CacheState::kStale);
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.Contains(IdOf(0)));
}

TEST_F(KnownChunksTest, AnotherTargetsFileIsNotUsed) {
  SaveIds(10, 0);
  KnownChunkCache c(path_);
  EXPECT_EQ(c.Load(Uuid::Random(), 0), CacheState::kUnreadable);
  EXPECT_EQ(c.size(), 0u);
}

TEST_F(KnownChunksTest, DamagedFilesAreNeverTrusted) {
  SaveIds(100, 7);
  const std::string good = ReadRaw();
  ASSERT_EQ(good.size(), 48u + 100 * 32 + 32);
  std::vector<std::pair<std::string, std::string>> cases;
  cases.push_back({"truncated by a byte", good.substr(0, good.size() - 1)});
  cases.push_back({"truncated to the header", good.substr(0, 48)});
  cases.push_back({"a byte appended", good + "x"});
  cases.push_back({"empty", ""});
  std::string flipped = good;
  flipped[48 + 50 * 32 + 3] ^= 0x10;  // an id: the checksum catches it
  cases.push_back({"an id flipped", flipped});
  std::string count = good;
  count[40 + 7] = char(0x7f);  // a count of 2^62 ids must not be believed
  cases.push_back({"a huge count", count});
  std::string magic = good;
  magic[0] = 'X';
  cases.push_back({"another magic", magic});
  for (const auto& [what, bytes] : cases) {
    WriteRaw(bytes);
    KnownChunkCache c(path_);
    EXPECT_EQ(c.Load(target_, 7), CacheState::kUnreadable) << what;
    EXPECT_EQ(c.size(), 0u) << what;
  }
  WriteRaw(good);
  KnownChunkCache c(path_);
  EXPECT_EQ(c.Load(target_, 7), CacheState::kValid);
}

TEST_F(KnownChunksTest, UnsortedIdsWithAValidChecksumAreNotTrusted) {
  // A binary search over unsorted ids would miss some: such a file (not one
  // Coffer writes) is rejected even when its checksum matches.
  SaveIds(3, 0);
  std::string raw = ReadRaw();
  std::string a = raw.substr(48, 32), b = raw.substr(80, 32);
  raw.replace(48, 32, b);
  raw.replace(80, 32, a);
  uint8_t sum[kBlake3OutLen];
  Blake3Hash(AsBytes(std::string_view(raw).substr(0, raw.size() - 32)), sum);
  raw.replace(raw.size() - 32, 32, reinterpret_cast<const char*>(sum), 32);
  WriteRaw(raw);
  KnownChunkCache c(path_);
  EXPECT_EQ(c.Load(target_, 0), CacheState::kUnreadable);
}

TEST_F(KnownChunksTest, EachLocationOfATargetHasItsOwnFile) {
  std::string root = (dir_ / "cache").string();
  std::string local = KnownChunkCache::PathFor(root, target_, "/srv/target");
  std::string bucket = KnownChunkCache::PathFor(root, target_, "http://s3:9000 s3://b/p");
  EXPECT_NE(local, bucket);
  EXPECT_EQ(local, KnownChunkCache::PathFor(root + "/", target_, "/srv/target"));
  EXPECT_EQ(fs::path(local).parent_path(), fs::path(root) / target_.ToString());
}

TEST_F(KnownChunksTest, DefaultRootFollowsXdgThenHome) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::string keep_xdg = xdg ? xdg : "", keep_home = home ? home : "";
  ::setenv("XDG_CACHE_HOME", "/x/cache", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(KnownChunkCache::DefaultRoot(), "/x/cache/coffer");
  ::setenv("XDG_CACHE_HOME", "relative", 1);  // the spec says: ignore a relative one
  EXPECT_EQ(KnownChunkCache::DefaultRoot(), "/home/u/.cache/coffer");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(KnownChunkCache::DefaultRoot(), "/home/u/.cache/coffer");
  ::unsetenv("HOME");
  EXPECT_EQ(KnownChunkCache::DefaultRoot(), "");
  if (xdg) ::setenv("XDG_CACHE_HOME", keep_xdg.c_str(), 1);
  if (home) ::setenv("HOME", keep_home.c_str(), 1);
}

// Backups through the cache, on an in-memory target whose requests are
// counted.
class CachedBackupTest : public KnownChunksTest {
 protected:
  void SetUp() override {
    KnownChunksTest::SetUp();
    metrics_ = std::make_shared<StoreMetrics>();
    auto mem = std::make_unique<MemStore>();
    mem_ = mem.get();
    InitOptions opts;
    opts.chunker = {4096, 16384, 65536};
    opts.segment_size = 1 << 20;
    auto repo =
        Repository::Init(std::make_unique<MetricsStore>(std::move(mem), metrics_), "pw", opts);
    ASSERT_TRUE(repo.has_value()) << repo.error().message();
    repo_ = std::move(*repo);
    path_ = KnownChunkCache::PathFor((dir_ / "cache").string(), repo_->config().target_id, "mem");
  }

  static Bytes Random(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = uint8_t(rng());
    return b;
  }
  std::string Write(const std::string& name, const Bytes& data) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    return p;
  }
  size_t StoredChunks() {
    size_t n = 0;
    EXPECT_TRUE(mem_->List("chunks/",
                           [&](const ObjectInfo&) -> Status {
                             ++n;
                             return {};
                           })
                    .has_value());
    return n;
  }
  // A backup as the CLI does it on S3: prepare the cache, no Head, save.
  std::pair<BackupResult, CacheState> Backup(const std::string& path, const std::string& name) {
    KnownChunkCache cache(path_);
    auto state = cache.Prepare(*repo_);
    EXPECT_TRUE(state.has_value()) << state.error().message();
    auto src = OpenFileVolume(path);
    EXPECT_TRUE(src.has_value());
    BackupOptions o;
    o.volume_name = name;
    o.known_chunks = &cache;
    o.head_unknown_chunks = false;
    auto r = RunBackup(*repo_, **src, o);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(cache.Save().has_value());
    return {*r, *state};
  }

  std::shared_ptr<StoreMetrics> metrics_;
  MemStore* mem_ = nullptr;
  std::unique_ptr<Repository> repo_;
};

TEST_F(CachedBackupTest, TwoVolumesSharingDataStoreItOnceWithoutAskingTheStore) {
  Bytes shared = Random(2 << 20, 1);
  auto [a, a_state] = Backup(Write("a", shared), "a");
  EXPECT_EQ(a_state, CacheState::kMissing);
  const size_t chunks = StoredChunks();
  EXPECT_EQ(a.summary.new_chunks, chunks);

  Bytes b_data = shared;
  Bytes extra = Random(512 << 10, 2);
  b_data.insert(b_data.end(), extra.begin(), extra.end());
  uint64_t puts_before = metrics_->requests(RequestKind::kPut);
  uint64_t heads_before = metrics_->requests(RequestKind::kHead);  // init's, of the config
  auto [b, b_state] = Backup(Write("b", b_data), "b");
  EXPECT_EQ(b_state, CacheState::kValid);
  EXPECT_EQ(b.summary.parent_id, Uuid());  // another volume: no parent to learn from
  // The shared 2 MiB are known from the cache: not new, not stored again.
  EXPECT_LE(b.summary.new_bytes, (512u << 10) + 65536);
  EXPECT_EQ(StoredChunks(), chunks + b.summary.new_chunks);
  EXPECT_EQ(metrics_->requests(RequestKind::kHead), heads_before);
  // One Put per new chunk, plus the manifest.
  EXPECT_EQ(metrics_->requests(RequestKind::kPut) - puts_before, b.summary.new_chunks + 1);
}

TEST_F(CachedBackupTest, ALostCacheIsRebuiltFromTheListingSoNothingIsStoredTwice) {
  Bytes data = Random(1 << 20, 3);
  auto [a, a_state] = Backup(Write("a", data), "a");
  ASSERT_GT(a.summary.new_chunks, 0u);
  fs::remove(path_);
  uint64_t lists_before = metrics_->requests(RequestKind::kList);
  auto [b, b_state] = Backup(Write("b", data), "b");
  EXPECT_EQ(b_state, CacheState::kMissing);
  EXPECT_EQ(b.summary.new_bytes, 0u);
  EXPECT_EQ(b.summary.new_chunks, 0u);
  EXPECT_GT(metrics_->requests(RequestKind::kList), lists_before);
}

TEST_F(CachedBackupTest, AfterASweepTheCacheIsDroppedAndSweptChunksAreStoredAgain) {
  Bytes data = Random(1 << 20, 4);
  auto [a, a_state] = Backup(Write("a", data), "a");
  ASSERT_TRUE(repo_->DeleteManifest(a.summary.backup_id).has_value());
  auto gc = RunGc(*repo_, {.grace = std::chrono::seconds(0)});
  ASSERT_TRUE(gc.has_value()) << gc.error().message();
  ASSERT_EQ(gc->chunks_deleted, a.summary.new_chunks);
  ASSERT_EQ(StoredChunks(), 0u);

  // The file still lists every chunk of `a`: believing it would write a
  // backup whose chunks are gone.
  auto [b, b_state] = Backup(Write("b", data), "b");
  EXPECT_EQ(b_state, CacheState::kStale);
  EXPECT_EQ(b.summary.new_chunks, a.summary.new_chunks);
  EXPECT_EQ(StoredChunks(), a.summary.new_chunks);
  auto m = repo_->LoadManifest(b.summary.backup_id);
  ASSERT_TRUE(m.has_value());
  auto w = CreateFileVolume((dir_ / "out").string(), m->summary.source_size, {});
  ASSERT_TRUE(w.has_value());
  auto r = RunRestore(*repo_, *m, **w, {});
  ASSERT_TRUE(r.has_value()) << r.error().message();

  KnownChunkCache after(path_);
  EXPECT_EQ(after.Load(repo_->config().target_id, gc->generation), CacheState::kValid);
  EXPECT_EQ(after.size(), a.summary.new_chunks);
}

// The summary cache: finding a backup's parent reads the manifests not seen
// before and no others; a backup forgotten from the target leaves the cache;
// a damaged entry or file is read from the store again, never believed.
TEST_F(CachedBackupTest, SummaryCacheReadsOnlyManifestsNotSeenBefore) {
  const std::string spath =
      SummaryCache::PathFor((dir_ / "cache").string(), repo_->config().target_id);
  auto backup = [&](const std::string& name, uint64_t seed) {
    SummaryCache summaries(spath);
    summaries.Load(repo_->config().target_id);
    auto src = OpenFileVolume(Write(name + std::to_string(seed), Random(256 << 10, seed)));
    EXPECT_TRUE(src.has_value());
    BackupOptions o;
    o.volume_name = name;
    o.summary_cache = &summaries;
    const uint64_t gets = metrics_->requests(RequestKind::kGet);
    auto r = RunBackup(*repo_, **src, o);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    summaries.Put(r->summary.backup_id, r->manifest_head);
    EXPECT_TRUE(summaries.Save().has_value());
    return std::make_pair(*r, metrics_->requests(RequestKind::kGet) - gets);
  };
  // Five backups of other volumes: the cache learns each as it is written.
  std::vector<Uuid> ids;
  for (uint64_t i = 0; i < 5; ++i)
    ids.push_back(backup("other" + std::to_string(i), i).first.summary.backup_id);
  // A backup of `vm` reads no summary from the store, then one of its
  // parent. Each reads the GC generation twice too: at its start and before
  // its manifest (DESIGN §5).
  auto [first, first_gets] = backup("vm", 10);
  EXPECT_EQ(first_gets, 2u);
  auto [second, second_gets] = backup("vm", 11);
  EXPECT_EQ(second.summary.parent_id, first.summary.backup_id);
  EXPECT_EQ(second_gets, 3u);  // the parent's whole manifest and the generation

  // Without the cache every backup's summary is read again.
  uint64_t gets = metrics_->requests(RequestKind::kGet);
  auto all = repo_->ListSummaries();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 7u);
  EXPECT_EQ(metrics_->requests(RequestKind::kGet) - gets, 7u);

  // A forgotten backup leaves the cache; the others are still served from it.
  ASSERT_TRUE(repo_->DeleteManifest(ids[0]).has_value());
  SummaryCache summaries(spath);
  ASSERT_TRUE(summaries.Load(repo_->config().target_id));
  EXPECT_EQ(summaries.size(), 7u);
  gets = metrics_->requests(RequestKind::kGet);
  auto listed = repo_->ListSummaries(&summaries);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->size(), 6u);
  EXPECT_EQ(summaries.size(), 6u);
  EXPECT_FALSE(summaries.Find(ids[0]).has_value());
  EXPECT_EQ(metrics_->requests(RequestKind::kGet) - gets, 0u);
  for (size_t i = 0; i < listed->size(); ++i)
    EXPECT_EQ((*listed)[i].backup_id, (*all)[i + 1].backup_id);

  // An entry that no longer authenticates is read from the store instead.
  Bytes bad(summaries.Find(ids[1])->begin(), summaries.Find(ids[1])->end());
  bad[bad.size() - 5] ^= 1;
  summaries.Put(ids[1], bad);
  gets = metrics_->requests(RequestKind::kGet);
  listed = repo_->ListSummaries(&summaries);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->size(), 6u);
  EXPECT_EQ(metrics_->requests(RequestKind::kGet) - gets, 1u);
  gets = metrics_->requests(RequestKind::kGet);
  ASSERT_TRUE(repo_->ListSummaries(&summaries).has_value());  // repaired
  EXPECT_EQ(metrics_->requests(RequestKind::kGet) - gets, 0u);

  // A damaged file, or another target's, is not used at all.
  ASSERT_TRUE(summaries.Save().has_value());
  std::string raw;
  {
    std::ifstream in(spath, std::ios::binary);
    raw.assign(std::istreambuf_iterator<char>(in), {});
  }
  raw[60] ^= 1;
  std::ofstream(spath, std::ios::binary | std::ios::trunc) << raw;
  SummaryCache damaged(spath);
  EXPECT_FALSE(damaged.Load(repo_->config().target_id));
  EXPECT_EQ(damaged.size(), 0u);
  ASSERT_TRUE(summaries.Save().has_value());
  SummaryCache other(spath);
  EXPECT_FALSE(other.Load(Uuid::Random()));
  EXPECT_EQ(other.size(), 0u);
}

}  // namespace
}  // namespace coffer

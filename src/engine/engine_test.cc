// Engine tests on an in-memory store and real files: round trips, dedup,
// gc and check. The CLI-level behaviour is covered in tests/.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "base/direct_io.h"
#include "engine/backup.h"
#include "engine/check.h"
#include "engine/gc.h"
#include "engine/lock.h"
#include "engine/restore.h"
#include "store/mem/mem_store.h"
#include "volume/file_volume.h"

namespace coffer {
namespace {

// A volume whose every read may wait, as an NBD export's or an iSCSI LUN's
// does: a backup reads it ahead whatever the page cache holds.
class MayAlwaysWait : public VolumeReader {
 public:
  explicit MayAlwaysWait(std::unique_ptr<VolumeReader> inner) : inner_(std::move(inner)) {}
  const std::string& name() const override { return inner_->name(); }
  uint64_t size() const override { return inner_->size(); }
  Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
    return inner_->ReadAt(offset, out, len);
  }
  Result<Extent> NextData(uint64_t offset) override { return inner_->NextData(offset); }

 private:
  std::unique_ptr<VolumeReader> inner_;
};

class EngineTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-engine-test-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    // Small segments so small test volumes exercise every path.
    InitRepository(1 << 20);
  }
  // A new target in memory, with small chunks, as repo_ (and mem_).
  void InitRepository(uint64_t segment_size) {
    auto store = std::make_unique<MemStore>();
    mem_ = store.get();
    InitOptions opts;
    opts.chunker = {4096, 16384, 65536};
    opts.segment_size = segment_size;
    opts.argon2 = DefaultArgon2Params();
    auto repo = Repository::Init(std::move(store), "pw", opts);
    ASSERT_TRUE(repo.has_value()) << repo.error().message();
    repo_ = std::move(*repo);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const Bytes& data) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    return p;
  }
  Bytes Read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  BackupResult Backup(const std::string& path, const std::string& name,
                      BackupTuning* tuning = nullptr) {
    auto src = OpenFileVolume(path);
    EXPECT_TRUE(src.has_value());
    BackupOptions o;
    o.volume_name = name;
    o.tuning = tuning;
    auto r = RunBackup(*repo_, **src, o);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return *r;
  }
  Bytes Restore(const Uuid& id) {
    auto m = repo_->LoadManifest(id);
    EXPECT_TRUE(m.has_value());
    std::string out = (dir_ / ("restore-" + id.ToString())).string();
    auto w = CreateFileVolume(out, m->summary.source_size, {});
    EXPECT_TRUE(w.has_value());
    auto r = RunRestore(*repo_, *m, **w, {});
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return Read(out);
  }

  static Bytes Mixed(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes b(n, 0);
    for (size_t i = 0; i < n; i += 8192) {
      int kind = int(rng() % 3);
      size_t end = std::min(n, i + 8192);
      for (size_t j = i; j < end; ++j) {
        b[j] = kind == 0 ? 0 : (kind == 1 ? uint8_t(rng()) : uint8_t('a' + j % 13));
      }
    }
    return b;
  }

  // For the commit checks: data_ written to image_ (3 MiB, random) on first
  // use, backed up as "vm" with `before_commit` as the gate.
  Result<BackupResult> Commit(std::function<Status()> before_commit = {}) {
    if (image_.empty()) {
      data_.resize(3 << 20);
      std::mt19937_64 rng(7);
      for (auto& b : data_) b = uint8_t(rng());
      image_ = Write("commit.img", data_);
    }
    auto src = OpenFileVolume(image_);
    EXPECT_TRUE(src.has_value());
    BackupOptions o;
    o.volume_name = "vm";
    o.before_commit = std::move(before_commit);
    return RunBackup(*repo_, **src, o);
  }
  void WriteImage(const Bytes& data) { Write("commit.img", data); }
  std::vector<std::string> ChunkKeys() {
    std::vector<std::string> keys;
    EXPECT_TRUE(mem_->List("chunks/",
                           [&](const ObjectInfo& i) -> Status {
                             keys.push_back(i.key);
                             return {};
                           })
                    .has_value());
    return keys;
  }
  // What a sweep does: raise the generation, then delete `keys`.
  Status Sweep(const std::vector<std::string>& keys) {
    COFFER_RETURN_IF_ERROR(repo_->RaiseGcGeneration());
    return mem_->DeleteMany(keys);
  }
  void ExpectCheckClean() {
    auto report = RunCheck(*repo_, {.read_data = true});
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->errors.empty()) << report->errors.front();
  }

  std::filesystem::path dir_;
  MemStore* mem_ = nullptr;
  std::unique_ptr<Repository> repo_;
  Bytes data_;
  std::string image_;
};

TEST_F(EngineTest, RoundTripsBitExact) {
  for (size_t size : {size_t(0), size_t(1), size_t(4095), size_t(3 << 20) + 17}) {
    Bytes data = Mixed(size, size);
    auto r = Backup(Write("v" + std::to_string(size), data), "v" + std::to_string(size));
    EXPECT_EQ(r.summary.source_size, size);
    EXPECT_EQ(Restore(r.summary.backup_id), data) << size;
  }
}

TEST_F(EngineTest, SecondBackupStoresOnlyChangedChunks) {
  Bytes data = Mixed(4 << 20, 1);
  std::string p = Write("img", data);
  auto first = Backup(p, "img");
  EXPECT_GT(first.summary.new_bytes, 0u);
  for (size_t i = 0; i < 3000; ++i) data[2000000 + i] ^= 0x5a;
  Write("img", data);
  auto second = Backup(p, "img");
  EXPECT_EQ(second.summary.parent_id, first.summary.backup_id);
  EXPECT_GT(second.summary.new_bytes, 0u);
  EXPECT_LE(second.summary.new_bytes, 4u * 65536);  // only the chunks around the change
  EXPECT_EQ(Restore(second.summary.backup_id), data);
  EXPECT_NE(Restore(first.summary.backup_id), data);
}

// A backup with a parent confirms the parent's cuts instead of scanning for
// them; its chunks must be exactly those of a backup without one, whatever
// changed: rewritten bytes, an insertion that shifts everything after it,
// zeros that extend a zero run into a chunk, a volume that grew.
TEST_F(EngineTest, ParentCutsGiveTheChunksOfAFreshBackup) {
  Bytes data = Mixed(6 << 20, 21);
  std::string p = Write("img", data);
  auto first = Backup(p, "img");
  auto entries = [&](const BackupResult& r) {
    auto m = repo_->LoadManifest(r.summary.backup_id);
    EXPECT_TRUE(m.has_value());
    std::vector<std::tuple<bool, uint32_t, ChunkId>> out;
    for (const ManifestEntry& e : m->entries) out.emplace_back(e.zero, e.length, e.id);
    return out;
  };
  std::mt19937_64 rng(5);
  for (int round = 0; round < 4; ++round) {
    switch (round) {
      case 0:  // scattered rewrites
        for (int k = 0; k < 20; ++k) data[rng() % data.size()] ^= 0xff;
        break;
      case 1:  // an insertion: every later offset moves
        data.insert(data.begin() + 1000003, 777, uint8_t(0x42));
        break;
      case 2:  // zeros that make a zero run reach into the middle of a chunk
        for (size_t i = 3 << 20; i < (3 << 20) + 100000; ++i) data[i] = 0;
        break;
      case 3:  // the volume grows: its last segment ends later
        data.resize(data.size() + 300000, uint8_t(0x17));
        break;
    }
    Write("img", data);
    BackupTuning with_parent_tuning, fresh_tuning;
    auto with_parent = Backup(p, "img", &with_parent_tuning);
    ASSERT_FALSE(with_parent.summary.parent_id.IsNil());
    // Another name: no parent.
    auto fresh = Backup(p, "fresh-" + std::to_string(round), &fresh_tuning);
    ASSERT_TRUE(fresh.summary.parent_id.IsNil());
    EXPECT_EQ(entries(with_parent), entries(fresh)) << "round " << round;
    // Most chunks did not change, and were cut without a scan; after an
    // insertion, only those before it.
    if (round == 1) {
      EXPECT_GT(with_parent_tuning.parent_cuts, 0u);
    } else {
      EXPECT_GT(with_parent_tuning.parent_cuts * 2, entries(fresh).size()) << "round " << round;
    }
    EXPECT_EQ(fresh_tuning.parent_cuts, 0u);
    EXPECT_EQ(Restore(with_parent.summary.backup_id), data) << "round " << round;
  }
  (void)first;
}

// A volume of one segment and four workers: one cuts it, the other three
// seal the chunks it hands over. Every chunk is stored once, whole and
// counted, and the volume restores bit for bit.
TEST_F(EngineTest, WorkersOutOfSegmentsSealChunksForTheOneCutting) {
  ASSERT_NO_FATAL_FAILURE(InitRepository(64 << 20));
  Bytes data = Mixed(16 << 20, 9);
  auto src = OpenFileVolume(Write("one-segment", data));
  ASSERT_TRUE(src.has_value());
  BackupOptions o;
  o.volume_name = "one-segment";
  o.workers = 4;
  BackupTuning tuning;
  o.tuning = &tuning;
  auto r = RunBackup(*repo_, **src, o);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  // How many depends on the threads' speeds (under ASan the helpers can
  // take every one); that some were handed over does not.
  EXPECT_GT(tuning.handed_over, 0u) << "no chunk was sealed by a helper";
  EXPECT_LE(tuning.handed_over, r->summary.new_chunks);
  uint64_t objects = 0, bytes = 0;
  ASSERT_TRUE(mem_->List("chunks/",
                         [&](const ObjectInfo& i) -> Status {
                           ++objects;
                           bytes += i.size;
                           return {};
                         })
                  .has_value());
  EXPECT_EQ(objects, r->summary.new_chunks);
  EXPECT_EQ(bytes, r->summary.stored_bytes);
  auto deep = RunCheck(*repo_, {.read_data = true});
  ASSERT_TRUE(deep.has_value());
  EXPECT_TRUE(deep->errors.empty());
  EXPECT_EQ(Restore(r->summary.backup_id), data);
}

TEST_F(EngineTest, TwoVolumesSharingDataStoreItOnce) {
  Bytes data = Mixed(2 << 20, 9);
  auto a = Backup(Write("a", data), "a");
  auto b = Backup(Write("b", data), "b");
  EXPECT_EQ(b.summary.parent_id, Uuid());
  EXPECT_EQ(b.summary.new_bytes, 0u);
  EXPECT_EQ(b.summary.stored_bytes, 0u);
  EXPECT_EQ(Restore(b.summary.backup_id), data);
}

TEST_F(EngineTest, BackupTakesTheIdItIsGiven) {
  std::string p = Write("given", Mixed(1 << 20, 5));
  auto src = OpenFileVolume(p);
  ASSERT_TRUE(src.has_value());
  BackupOptions o;
  o.volume_name = "given";
  o.backup_id = Uuid::Random();
  auto r = RunBackup(*repo_, **src, o);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->summary.backup_id, o.backup_id);
  auto ids = repo_->ListBackupIds();
  ASSERT_TRUE(ids.has_value());
  EXPECT_EQ(*ids, std::vector<Uuid>{o.backup_id});
}

TEST_F(EngineTest, ForgetAndGcFreeExactlyWhatIsUnreferenced) {
  auto a = Backup(Write("a", Mixed(1 << 20, 3)), "a");
  auto b = Backup(Write("b", Mixed(1 << 20, 4)), "b");
  auto before = RunCheck(*repo_, {});
  ASSERT_TRUE(before.has_value());
  uint64_t chunks_a_only = before->chunks_stored;
  ASSERT_TRUE(repo_->DeleteManifest(a.summary.backup_id).has_value());
  auto young = RunGc(*repo_, {.grace = std::chrono::hours(1)});
  ASSERT_TRUE(young.has_value());
  EXPECT_EQ(young->chunks_deleted, 0u);
  EXPECT_GT(young->chunks_young, 0u);
  auto gc = RunGc(*repo_, {.grace = std::chrono::seconds(0)});
  ASSERT_TRUE(gc.has_value());
  EXPECT_EQ(gc->chunks_deleted, young->chunks_young);
  EXPECT_EQ(gc->generation, 1u);
  auto after = RunCheck(*repo_, {.read_data = true});
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->errors.empty());
  EXPECT_EQ(after->chunks_unreferenced, 0u);
  EXPECT_EQ(after->chunks_stored, chunks_a_only - gc->chunks_deleted);
  EXPECT_EQ(Restore(b.summary.backup_id), Mixed(1 << 20, 4));
}

TEST_F(EngineTest, CheckReadDataFindsATamperedChunk) {
  auto r = Backup(Write("a", Mixed(1 << 20, 5)), "a");
  std::string victim;
  ASSERT_TRUE(mem_->List("chunks/",
                         [&](const ObjectInfo& i) -> Status {
                           victim = i.key;
                           return {};
                         })
                  .has_value());
  auto obj = GetAll(*mem_, victim);
  ASSERT_TRUE(obj.has_value());
  (*obj)[obj->size() / 2] ^= 1;
  ASSERT_TRUE(mem_->Put(victim, *obj).has_value());
  auto structural = RunCheck(*repo_, {});
  ASSERT_TRUE(structural.has_value());
  EXPECT_TRUE(structural->errors.empty());
  auto deep = RunCheck(*repo_, {.read_data = true});
  ASSERT_TRUE(deep.has_value());
  ASSERT_EQ(deep->errors.size(), 1u);
  EXPECT_TRUE(deep->integrity_error);
  EXPECT_NE(deep->errors[0].find(victim.substr(10)), std::string::npos);
  EXPECT_NE(deep->errors[0].find("offset"), std::string::npos);
}

TEST_F(EngineTest, WrongPassphraseIsAuthFailed) {
  auto store = std::make_unique<MemStore>();
  auto repo = Repository::Init(std::move(store), "right", {});
  ASSERT_TRUE(repo.has_value());
  // Move the objects into a fresh store and reopen with the wrong passphrase.
  auto copy = std::make_unique<MemStore>();
  ASSERT_TRUE((*repo)
                  ->store()
                  .List("",
                        [&](const ObjectInfo& i) -> Status {
                          COFFER_ASSIGN_OR_RETURN(Bytes b, GetAll((*repo)->store(), i.key));
                          return copy->Put(i.key, b);
                        })
                  .has_value());
  auto wrong = Repository::Open(std::move(copy), "wrong");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kAuthFailed);
}

// A store that says what it is like (StoreProperties) in front of the
// fixture's MemStore: counts HEADs of chunks and the most Gets in flight.
class PropertiesProbe : public ObjectStore {
 public:
  PropertiesProbe(ObjectStore& inner, StoreProperties p) : inner_(inner), p_(p) {}
  std::string Describe() const override { return "probe"; }
  StoreProperties properties() const override { return p_; }
  Status Put(std::string_view key, ByteView data) override { return inner_.Put(key, data); }
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override {
    const int now = ++in_flight_;
    int seen = most_in_flight_.load();
    while (now > seen && !most_in_flight_.compare_exchange_weak(seen, now)) {
    }
    // Long enough that the fetchers pile up, whatever the machine.
    if (key.starts_with("chunks/")) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto st = inner_.Get(key, out, range);
    --in_flight_;
    return st;
  }
  Result<ObjectInfo> Head(std::string_view key) override {
    if (key.starts_with("chunks/")) ++chunk_heads_;
    return inner_.Head(key);
  }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_.List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return inner_.Delete(key); }

  std::atomic<int> in_flight_{0}, most_in_flight_{0}, chunk_heads_{0};

 private:
  ObjectStore& inner_;
  const StoreProperties p_;
};

// The engine takes its defaults from the store, not from where the target
// lives: a billed store with 12 connections gets 12 fetches at once and no
// HEAD per chunk; a local one a stat per unknown chunk.
TEST_F(EngineTest, TheStoresPropertiesSetTheEnginesDefaults) {
  Bytes data = Mixed(2 << 20, 31);
  std::string p = Write("img", data);
  auto probe = std::make_unique<PropertiesProbe>(*mem_, StoreProperties{12, true});
  PropertiesProbe& s3_like = *probe;
  auto repo = Repository::Open(std::move(probe), "pw");
  ASSERT_TRUE(repo.has_value()) << repo.error().message();
  auto src = OpenFileVolume(p);
  ASSERT_TRUE(src.has_value());
  BackupOptions o;
  o.volume_name = "img";
  auto r = RunBackup(**repo, **src, o);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(s3_like.chunk_heads_.load(), 0);  // unknown chunks were simply stored
  ASSERT_GE(r->summary.chunk_count - r->zero_chunks, 24u);
  auto m = (*repo)->LoadManifest(r->summary.backup_id);
  ASSERT_TRUE(m.has_value());
  std::string out = (dir_ / "restored").string();
  auto w = CreateFileVolume(out, m->summary.source_size, {});
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(RunRestore(**repo, *m, **w, {}).has_value());
  EXPECT_EQ(s3_like.most_in_flight_.load(), 12);
  EXPECT_EQ(Read(out), data);

  // A store that says nothing (a local directory): a stat per unknown chunk.
  auto plain = std::make_unique<PropertiesProbe>(*mem_, StoreProperties{});
  PropertiesProbe& local_like = *plain;
  auto repo2 = Repository::Open(std::move(plain), "pw");
  ASSERT_TRUE(repo2.has_value());
  Write("other", Mixed(1 << 20, 32));
  auto src2 = OpenFileVolume((dir_ / "other").string());
  ASSERT_TRUE(src2.has_value());
  o.volume_name = "other";
  ASSERT_TRUE(RunBackup(**repo2, **src2, o).has_value());
  EXPECT_GT(local_like.chunk_heads_.load(), 0);
}

// The checks before a manifest (DESIGN §5), the gate playing a sweep or the
// manager's refusal just before they run.
TEST_F(EngineTest, WithoutASweepNothingIsConfirmed) {
  auto r = Commit();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->commit.generation_at_start, r->commit.generation_at_commit);
  EXPECT_EQ(r->commit.chunks_confirmed, 0u);
  EXPECT_EQ(r->commit.chunks_restored, 0u);
}

// The race of DESIGN §5 forced: the backup skips chunks an old forgotten
// backup left (they are stored), then a sweep deletes them before the
// manifest. The backup notices the generation moved, finds them missing,
// and stores them again from the source.
TEST_F(EngineTest, ChunksSweptDuringTheBackupAreStoredAgainFromTheSource) {
  auto old = Commit();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());  // forgotten
  const std::vector<std::string> orphans = ChunkKeys();
  ASSERT_GT(orphans.size(), 10u);
  // Delete half, so that some folders are listed and the rest asked about.
  std::vector<std::string> swept(orphans.begin(), orphans.begin() + orphans.size() / 2);
  auto r = Commit([&] { return Sweep(swept); });
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->summary.new_chunks, 0u);  // every chunk was skipped as stored
  EXPECT_EQ(r->commit.generation_at_commit, r->commit.generation_at_start + 1);
  EXPECT_EQ(r->commit.chunks_confirmed, orphans.size());
  EXPECT_EQ(r->commit.chunks_restored, swept.size());
  EXPECT_EQ(ChunkKeys().size(), orphans.size());
  ExpectCheckClean();
  EXPECT_EQ(Restore(r->summary.backup_id), data_);
}

// When the source no longer holds the swept chunk's bytes, nothing is
// committed: the backup fails with the reason and leaves no manifest.
TEST_F(EngineTest, ASweptChunkTheSourceNoLongerHoldsFailsTheBackup) {
  auto old = Commit();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());
  auto r = Commit([&]() -> Status {
    Bytes changed = data_;
    for (auto& b : changed) b ^= 0xff;
    WriteImage(changed);
    return Sweep(ChunkKeys());
  });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("was swept by a GC"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("no manifest was written"), std::string::npos);
  EXPECT_TRUE(repo_->ListBackupIds()->empty());
  ExpectCheckClean();
}

// A gate that says no (the manager fenced the attempt) ends the backup
// before any check or manifest.
TEST_F(EngineTest, AGateThatRefusesWritesNoManifest) {
  auto r = Commit([]() -> Status { return Conflict("fenced: attempt 1 is stale"); });
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(repo_->ListBackupIds()->empty());
}

// A GC whose exclusive lock was broken while it was paused deletes nothing
// once a backup holds the target.
TEST_F(EngineTest, AGcThatLostTheTargetDeletesNothing) {
  auto old = Commit();
  ASSERT_TRUE(old.has_value());
  ASSERT_TRUE(repo_->DeleteManifest(old->summary.backup_id).has_value());
  const size_t chunks = ChunkKeys().size();
  auto gc_lock = TargetLock::Acquire(repo_->store(), true, "gc");
  ASSERT_TRUE(gc_lock.has_value());
  // A backup on another host judged the GC's lock stale and took the target.
  ASSERT_TRUE(mem_->Delete((*gc_lock)->key()).has_value());
  const std::string other = R"({"exclusive":false,"purpose":"backup","host":"b",)"
                            R"("host_id":"host-b","pid":1,"stale_after":1800})";
  ASSERT_TRUE(mem_->Put("locks/other", AsBytes(other)).has_value());
  auto r = RunGc(*repo_, {.grace = std::chrono::seconds(0), .lock = gc_lock->get()});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("gc stopped before deleting anything"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(ChunkKeys().size(), chunks);
  EXPECT_EQ(*repo_->GcGeneration(), 0u);
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

// Regression: the worker's cached NextData answer was reused for an offset
// before the query that produced it. Filling the window looks ahead past a
// hole to a later extent; going back to the chunk position then took that
// later extent's start as the end of the hole, and every data extent in
// between was recorded as zeros.
TEST_F(EngineTest, SparseSourceKeepsDataBetweenHolesTheWindowLookedPast) {
  Bytes data(3 << 20, 0);
  std::mt19937_64 rng(9);
  std::vector<std::pair<size_t, size_t>> extents = {{0, 64 << 10},
                                                    {256 << 10, 320 << 10},
                                                    {700 << 10, 720 << 10},
                                                    {(1 << 20) + 5, 1200 << 10},
                                                    {2 << 20, (2 << 20) + 4096}};
  std::string path = (dir_ / "sparse").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_EQ(::ftruncate(fd, off_t(data.size())), 0);
  for (auto [a, b] : extents) {
    for (size_t i = a; i < b; ++i) data[i] = uint8_t(rng() | 1);
    ASSERT_EQ(::pwrite(fd, data.data() + a, b - a, off_t(a)), ssize_t(b - a));
  }
  ::close(fd);
  auto r = Backup(path, "sparse");
  EXPECT_EQ(Restore(r.summary.backup_id), data);
}

// A sparse volume of data runs at odd offsets, zero runs and holes, so that
// the windows move on many times, in one segment and in segments smaller
// than a window (each read ahead then reads the start of the worker's next
// segment): whatever the read ahead (none, smaller than a chunk, larger),
// the chunks are the same and the volume restores bit for bit, and a read
// ahead is used whenever there is one.
TEST_F(EngineTest, ReadingAheadChangesNoChunk) {
  const size_t size = (6 << 20) + 12345;
  Bytes data(size, 0);
  std::mt19937_64 rng(77);
  std::string path = (dir_ / "ahead").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, off_t(size)), 0);
  // Data runs between holes of 8 KiB to 400 KiB, with zero runs, text and
  // random bytes in them.
  for (size_t at = size_t(rng() % 5000); at < size;) {
    size_t len = std::min(size - at, size_t(20000 + rng() % 700000));
    Bytes run = Mixed(len, rng());
    std::copy(run.begin(), run.end(), data.begin() + ptrdiff_t(at));
    ASSERT_EQ(::pwrite(fd, run.data(), len, off_t(at)), ssize_t(len));
    at += len + 8192 + rng() % 400000;
  }
  ::close(fd);
  auto entries = [&](const BackupResult& r) {
    auto m = repo_->LoadManifest(r.summary.backup_id);
    EXPECT_TRUE(m.has_value());
    std::vector<std::tuple<bool, uint32_t, ChunkId>> out;
    for (const ManifestEntry& e : m->entries) out.emplace_back(e.zero, e.length, e.id);
    return out;
  };
  std::vector<std::tuple<bool, uint32_t, ChunkId>> expected;
  for (uint64_t segment : {uint64_t(64) << 20, uint64_t(1) << 20}) {
    ASSERT_NO_FATAL_FAILURE(InitRepository(segment));
    for (size_t ahead :
         {size_t(0), size_t(4096), size_t(12288), size_t(200 << 10), size_t(4 << 20)}) {
      auto file = OpenFileVolume(path);
      ASSERT_TRUE(file.has_value());
      MayAlwaysWait src(std::move(*file));
      BackupOptions o;
      o.volume_name = "ahead-" + std::to_string(ahead);  // no parent: every chunk is cut
      o.read_ahead = ahead;
      o.workers = 3;
      BackupTuning tuning;
      o.tuning = &tuning;
      auto r = RunBackup(*repo_, src, o);
      ASSERT_TRUE(r.has_value()) << r.error().message();
      if (ahead == 0) {
        EXPECT_EQ(tuning.read_ahead_used, 0u);
        expected = entries(*r);
      } else {
        EXPECT_GT(tuning.read_ahead_used, 0u) << segment << " " << ahead;
        EXPECT_EQ(entries(*r), expected) << segment << " " << ahead;
      }
      EXPECT_EQ(Restore(r->summary.backup_id), data) << segment << " " << ahead;
    }
    EXPECT_GT(expected.size(), 100u);
  }
  // The file itself, just written, is in the page cache: the worker copies
  // each window from it when it needs it, and nothing is read ahead (where
  // the kernel can tell). The chunks are the same.
  BackupTuning cached_tuning;
  auto cached = Backup(path, "cached", &cached_tuning);
  if (CacheStateKnown()) {
    EXPECT_EQ(cached_tuning.read_ahead_used, 0u);
  }
  EXPECT_EQ(entries(cached), expected);
  EXPECT_EQ(Restore(cached.summary.backup_id), data);
}

// A source whose reads fail from some offset on, as a disk does: the error
// reaches the caller whether the worker read the bytes or its read ahead
// did, and no backup is recorded.
TEST_F(EngineTest, AReadThatFailsAheadFailsTheBackup) {
  ASSERT_NO_FATAL_FAILURE(InitRepository(64 << 20));
  // Every read may wait, so what lies past the first window is read ahead.
  class FailingFrom : public MayAlwaysWait {
   public:
    FailingFrom(std::unique_ptr<VolumeReader> inner, uint64_t from)
        : MayAlwaysWait(std::move(inner)), from_(from) {}
    Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
      if (offset + len > from_) {
        return std::unexpected(Error(
            ErrorCode::kInternal,
            "reading " + name() + " at offset " + std::to_string(offset) + ": Input/output error"));
      }
      return MayAlwaysWait::ReadAt(offset, out, len);
    }

   private:
    uint64_t from_;
  };
  std::string path = Write("failing", Mixed(12 << 20, 3));
  // In the first window (read by the worker), and far past it (read ahead).
  for (uint64_t from : {uint64_t(100000), uint64_t(9 << 20) + 17}) {
    for (size_t ahead : {size_t(0), size_t(4 << 20)}) {
      auto src = OpenFileVolume(path);
      ASSERT_TRUE(src.has_value());
      FailingFrom failing(std::move(*src), from);
      BackupOptions o;
      o.volume_name = "failing";
      o.read_ahead = ahead;
      auto r = RunBackup(*repo_, failing, o);
      ASSERT_FALSE(r.has_value()) << from << " " << ahead;
      EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
      EXPECT_NE(r.error().message().find("Input/output error"), std::string::npos)
          << r.error().message();
    }
  }
  auto backups = repo_->ListSummaries(nullptr);
  ASSERT_TRUE(backups.has_value());
  EXPECT_TRUE(backups->empty());
}

// A restore opens each chunk once, into memory placed for its first offset,
// and writes it at every offset: copies of one run of data at offsets of
// every alignment restore exactly, from fewer chunks than the volume names.
TEST_F(EngineTest, ChunksUsedAtManyOffsetsRestoreAtEachOfThem) {
  std::mt19937_64 rng(42);
  Bytes run(300000);
  for (auto& b : run) b = uint8_t(rng());
  Bytes data;
  for (size_t gap : {size_t(0), size_t(7), size_t(4095), size_t(4096), size_t(513), size_t(1)}) {
    for (size_t i = 0; i < gap; ++i) data.push_back(uint8_t(rng()));
    data.insert(data.end(), run.begin(), run.end());
  }
  auto b = Backup(Write("copies", data), "copies");
  auto m = repo_->LoadManifest(b.summary.backup_id);
  ASSERT_TRUE(m.has_value());
  std::string out = (dir_ / "copies-restored").string();
  auto w = CreateFileVolume(out, m->summary.source_size, {});
  ASSERT_TRUE(w.has_value());
  auto r = RunRestore(*repo_, *m, **w, {});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(Read(out), data);
  EXPECT_LT(r->chunks_fetched, m->entries.size() / 2) << "the copies share chunks";
}

// The restore's buffers are sized from the chunk maximum, which need not be
// a multiple of the block: such a target restores too (and under ASan,
// proves the aligned allocations well-formed).
TEST_F(EngineTest, AChunkMaximumOffTheBlockSizeRestores) {
  InitOptions opts;
  opts.chunker = {4096, 16384, 70001};
  opts.argon2 = DefaultArgon2Params();
  opts.segment_size = 1 << 20;
  auto repo = Repository::Init(std::make_unique<MemStore>(), "pw", opts);
  ASSERT_TRUE(repo.has_value()) << repo.error().message();
  repo_ = std::move(*repo);
  Bytes data = Mixed((2 << 20) + 333, 11);
  auto b = Backup(Write("odd", data), "odd");
  EXPECT_EQ(Restore(b.summary.backup_id), data);
}

// Passes everything on to a file writer, calling `before` with the number
// of each write (from 1) first: a write it fails is not passed on.
class HookedWriter final : public VolumeWriter {
 public:
  HookedWriter(VolumeWriter& inner, std::function<Status(int)> before)
      : inner_(inner), before_(std::move(before)) {}
  const std::string& name() const override { return inner_.name(); }
  Status WriteAt(uint64_t offset, ByteView data) override {
    COFFER_RETURN_IF_ERROR(before_(++writes_));
    return inner_.WriteAt(offset, data);
  }
  Status WriteZeros(uint64_t offset, uint64_t len) override {
    return inner_.WriteZeros(offset, len);
  }
  Status Commit() override {
    committed = true;
    return inner_.Commit();
  }
  int writes() const { return writes_; }
  bool committed = false;

 private:
  VolumeWriter& inner_;
  std::function<Status(int)> before_;
  int writes_ = 0;  // only the restore's one writing thread calls WriteAt
};

// A cancel stops the writing thread too: a volume of one block repeated is
// a few chunks fetched at once and many writes after, and a cancel during
// those writes must not end in a commit.
TEST_F(EngineTest, ACancelWhileOnlyWritesRemainCommitsNothing) {
  std::mt19937_64 rng(7);
  Bytes block(65536);
  for (auto& b : block) b = uint8_t(rng());
  Bytes data;
  for (int i = 0; i < 64; ++i) data.insert(data.end(), block.begin(), block.end());
  auto b = Backup(Write("repeated", data), "repeated");
  auto m = repo_->LoadManifest(b.summary.backup_id);
  ASSERT_TRUE(m.has_value());
  std::string out = (dir_ / "cancelled").string();
  auto w = CreateFileVolume(out, m->summary.source_size, {});
  ASSERT_TRUE(w.has_value());
  std::atomic<bool> cancel{false};
  HookedWriter writer(**w, [&cancel](int n) -> Status {
    if (n == 1) {
      // Let the fetching threads run out of chunks first (they have a slot
      // each for all of them), so that only the writer is left to notice.
      // Were they slower than this, they would notice instead: the test
      // would still pass, it would only prove less.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      cancel = true;
    }
    return {};
  });
  RestoreOptions o;
  o.cancel = &cancel;
  o.threads = 16;  // more slots than the volume has distinct chunks
  std::set<ChunkId> distinct;
  for (const ManifestEntry& e : m->entries) distinct.insert(e.id);
  ASSERT_LT(distinct.size(), 16u);
  auto r = RunRestore(*repo_, *m, writer, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled) << r.error().message();
  EXPECT_EQ(writer.writes(), 1);
  EXPECT_FALSE(writer.committed);
  w->reset();
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A write that fails stops the restore with that error, whatever the number
// of threads fetching meanwhile: no further write, no commit, no hang.
TEST_F(EngineTest, AFailedWriteStopsTheRestoreWithItsError) {
  Bytes data = Mixed(3 << 20, 9);
  auto b = Backup(Write("v", data), "v");
  auto m = repo_->LoadManifest(b.summary.backup_id);
  ASSERT_TRUE(m.has_value());
  for (unsigned threads : {1u, 3u, 8u}) {
    std::string out = (dir_ / ("failed-" + std::to_string(threads))).string();
    auto w = CreateFileVolume(out, m->summary.source_size, {});
    ASSERT_TRUE(w.has_value());
    // The fifth write fails as a full disk would.
    HookedWriter failing(**w, [](int n) -> Status {
      if (n == 5) return ResourceExhausted("writing: disk full");
      return {};
    });
    RestoreOptions o;
    o.threads = threads;
    auto r = RunRestore(*repo_, *m, failing, o);
    ASSERT_FALSE(r.has_value()) << threads;
    EXPECT_EQ(r.error().code(), ErrorCode::kResourceExhausted) << threads;
    EXPECT_NE(r.error().message().find("disk full"), std::string::npos) << r.error().message();
    EXPECT_EQ(failing.writes(), 5) << threads;
    EXPECT_FALSE(failing.committed) << threads;
    w->reset();  // an uncommitted file writer removes its temporary
    EXPECT_FALSE(std::filesystem::exists(out)) << threads;
  }
  std::vector<std::string> left;
  for (auto& e : std::filesystem::directory_iterator(dir_)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"v"});
}

}  // namespace
}  // namespace coffer

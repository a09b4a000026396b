// The engine entry points the agent relies on: opening a target with its key
// (no passphrase) and cancelling a running backup or restore.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

#include "engine/backup.h"
#include "engine/restore.h"
#include "store/mem/mem_store.h"

namespace coffer {
namespace {

// A volume of pseudo-random bytes that sets `cancel` after its first read, so
// the cancel lands while the pipeline is running.
class CancellingVolume final : public VolumeReader {
 public:
  CancellingVolume(uint64_t size, std::atomic<bool>* cancel) : size_(size), cancel_(cancel) {}
  const std::string& name() const override { return name_; }
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, uint8_t* out, size_t len) override {
    for (size_t i = 0; i < len; ++i) {
      uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull;
      out[i] = uint8_t(x >> 56);
    }
    reads_++;
    cancel_->store(true);
    return {};
  }
  Result<Extent> NextData(uint64_t offset) override { return Extent{offset, size_ - offset}; }
  int reads() const { return reads_; }

 private:
  std::string name_ = "cancelling-volume";
  uint64_t size_;
  std::atomic<bool>* cancel_;
  std::atomic<int> reads_{0};
};

// Records writes and never commits anything real.
class NullWriter final : public VolumeWriter {
 public:
  const std::string& name() const override { return name_; }
  Status WriteAt(uint64_t, ByteView) override { return {}; }
  Status WriteZeros(uint64_t, uint64_t) override { return {}; }
  Status Commit() override {
    committed = true;
    return {};
  }
  bool committed = false;

 private:
  std::string name_ = "null-writer";
};

class AgentSupportTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = std::make_unique<MemStore>();
    mem_ = store.get();
    InitOptions opts;
    opts.chunker = {4096, 16384, 65536};
    opts.segment_size = 1 << 20;
    auto repo = Repository::Init(std::move(store), "pw", opts);
    ASSERT_TRUE(repo.has_value()) << repo.error().message();
    repo_ = std::move(*repo);
  }
  size_t Manifests() {
    size_t n = 0;
    auto st = mem_->List(kManifestPrefix, [&](const ObjectInfo&) -> Status {
      ++n;
      return {};
    });
    EXPECT_TRUE(st.has_value());
    return n;
  }

  MemStore* mem_ = nullptr;
  std::unique_ptr<Repository> repo_;
};

// A view of the same MemStore, so a second Repository can open it.
class SharedStore final : public ObjectStore {
 public:
  explicit SharedStore(ObjectStore& inner) : inner_(inner) {}
  std::string Describe() const override { return inner_.Describe(); }
  Status Put(std::string_view key, ByteView data) override { return inner_.Put(key, data); }
  Status Get(std::string_view key, Buffer* out, std::optional<ByteRange> range) override {
    return inner_.Get(key, out, range);
  }
  Result<ObjectInfo> Head(std::string_view key) override { return inner_.Head(key); }
  Status List(std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_.List(prefix, fn);
  }
  Status Delete(std::string_view key) override { return inner_.Delete(key); }

 private:
  ObjectStore& inner_;
};

TEST_F(AgentSupportTest, OpenWithKeyOpensWithTheTargetKeyAlone) {
  auto repo =
      Repository::OpenWithKey(std::make_unique<SharedStore>(*mem_), repo_->keys().target_key);
  ASSERT_TRUE(repo.has_value()) << repo.error().message();
  EXPECT_EQ((*repo)->config().target_id, repo_->config().target_id);
  EXPECT_TRUE((*repo)->keys().meta_key == repo_->keys().meta_key);
  EXPECT_TRUE((*repo)->unlocked_slot().IsNil());
}

TEST_F(AgentSupportTest, OpenWithKeyRejectsAWrongKeyAsCorruption) {
  auto repo = Repository::OpenWithKey(std::make_unique<SharedStore>(*mem_), SecretKey::Random());
  ASSERT_FALSE(repo.has_value());
  EXPECT_EQ(repo.error().code(), ErrorCode::kCorruption);
  EXPECT_NE(repo.error().message().find("does not match"), std::string::npos);
}

TEST_F(AgentSupportTest, OpenWithKeyOnAnEmptyStoreIsNotFound) {
  MemStore empty;
  auto repo = Repository::OpenWithKey(std::make_unique<SharedStore>(empty), SecretKey::Random());
  ASSERT_FALSE(repo.has_value());
  EXPECT_EQ(repo.error().code(), ErrorCode::kNotFound);
}

TEST_F(AgentSupportTest, CancelledBackupStopsAndWritesNoManifest) {
  std::atomic<bool> cancel{false};
  CancellingVolume volume(64ull << 20, &cancel);
  BackupOptions o;
  o.volume_name = "v";
  o.workers = 2;
  o.cancel = &cancel;
  auto r = RunBackup(*repo_, volume, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(Manifests(), 0u);
  // Stopped promptly: far fewer reads than the 64 one-MiB segments need.
  EXPECT_LT(volume.reads(), 16);
}

TEST_F(AgentSupportTest, CancelBeforeStartReadsNothing) {
  std::atomic<bool> cancel{true};
  CancellingVolume volume(1 << 20, &cancel);
  BackupOptions o;
  o.volume_name = "v";
  o.cancel = &cancel;
  auto r = RunBackup(*repo_, volume, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_EQ(volume.reads(), 0);
  EXPECT_EQ(Manifests(), 0u);
}

TEST_F(AgentSupportTest, CancelledRestoreDoesNotCommit) {
  std::atomic<bool> never{false}, cancel{false};
  CancellingVolume volume(4 << 20, &never);
  BackupOptions o;
  o.volume_name = "v";
  auto b = RunBackup(*repo_, volume, o);
  ASSERT_TRUE(b.has_value()) << b.error().message();
  auto m = repo_->LoadManifest(b->summary.backup_id);
  ASSERT_TRUE(m.has_value());
  cancel = true;
  NullWriter writer;
  RestoreOptions ro;
  ro.cancel = &cancel;
  auto r = RunRestore(*repo_, *m, writer, ro);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_FALSE(writer.committed);
}

}  // namespace
}  // namespace coffer

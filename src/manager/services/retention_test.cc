// Retention on real parts: a SQLite metadata store, a local target and
// backups made with the engine.
#include "manager/services/retention.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/uuid.h"
#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using namespace testing_support;

#define ASSERT_OK(r) ASSERT_TRUE((r).has_value()) << (r).error().message()

class RetentionTest : public testing::Test {
 protected:
  RetentionTest() : meta_(OpenTestMeta(dir_)), targets_(*meta_), retention_(*meta_, targets_) {
    target_ = CreateLocalTarget(targets_, dir_, "target");
  }

  // `n` backups of `volume`, each of a different image, oldest first.
  std::vector<meta::Backup> Backups(const meta::Volume& volume, int n) {
    std::vector<meta::Backup> out;
    for (int i = 0; i < n; ++i) {
      const std::string image = dir_ / (volume.name + "-" + std::to_string(i) + ".img");
      WriteImage(image, 512 << 10, uint64_t(seed_++));
      out.push_back(RecordBackup(*meta_, targets_, volume, image));
    }
    return out;
  }
  std::string ManifestPath(const std::string& backup_id) {
    return dir_ / ("target/manifests/" + backup_id);
  }
  bool HasManifest(const std::string& backup_id) {
    return std::filesystem::exists(ManifestPath(backup_id));
  }
  bool HasRow(const std::string& backup_id) { return meta_->GetBackup(backup_id).has_value(); }

  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  TargetService targets_;
  Retention retention_;
  meta::BackupTarget target_;
  int seed_ = 1;
};

TEST_F(RetentionTest, KeepsTheNewestNAndDeletesTheRestManifestAndRow) {
  const int n = 2;
  auto volume = CreateVolume(*meta_, "vol", target_.id, "", n);
  auto backups = Backups(volume, n + 2);
  for (const auto& b : backups) ASSERT_TRUE(HasManifest(b.id)) << b.id;

  auto result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_TRUE(result->errors.empty());
  // Newest first: backups[1], then backups[0].
  EXPECT_EQ(result->deleted, (std::vector<std::string>{backups[1].id, backups[0].id}));
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(HasManifest(backups[i].id)) << i;
    EXPECT_FALSE(HasRow(backups[i].id)) << i;
  }
  for (int i = 2; i < 4; ++i) {
    EXPECT_TRUE(HasManifest(backups[i].id)) << i;
    EXPECT_TRUE(HasRow(backups[i].id)) << i;
  }
  // The survivors still open: deleting a manifest touched no other.
  auto repo = targets_.OpenRepository(target_.id);
  ASSERT_OK(repo);
  for (int i = 2; i < 4; ++i) ASSERT_OK((*repo)->LoadManifest(*Uuid::Parse(backups[i].id)));
  // Applying again deletes nothing more.
  result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_TRUE(result->deleted.empty());
}

TEST_F(RetentionTest, ARowStaysWhenItsManifestCannotBeDeleted) {
  auto volume = CreateVolume(*meta_, "vol", target_.id, "", 1);
  auto backups = Backups(volume, 2);
  // Something the local store cannot unlink stands where the oldest
  // manifest was: a directory with a file in it.
  const std::string path = ManifestPath(backups[0].id);
  std::filesystem::remove(path);
  std::filesystem::create_directories(path + "/in-the-way");

  auto result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_TRUE(result->deleted.empty());
  ASSERT_EQ(result->errors.size(), 1u);
  EXPECT_TRUE(result->errors[0].starts_with(backups[0].id + ": ")) << result->errors[0];
  EXPECT_TRUE(HasRow(backups[0].id)) << "the row went before its manifest";

  // Once the manifest is gone, the row goes too.
  std::filesystem::remove_all(path);
  result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_EQ(result->deleted, std::vector<std::string>{backups[0].id});
  EXPECT_FALSE(HasRow(backups[0].id));
  EXPECT_TRUE(HasRow(backups[1].id));
}

TEST_F(RetentionTest, ZeroKeepsEverything) {
  auto volume = CreateVolume(*meta_, "vol", target_.id, "", 0);
  auto backups = Backups(volume, 3);
  auto result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_TRUE(result->deleted.empty());
  for (const auto& b : backups) EXPECT_TRUE(HasRow(b.id) && HasManifest(b.id));
}

TEST_F(RetentionTest, OnlyCompletedBackupsOfThatVolumeCount) {
  auto volume = CreateVolume(*meta_, "vol", target_.id, "", 1);
  auto other = CreateVolume(*meta_, "other", target_.id, "", 1);
  auto others = Backups(other, 2);
  auto backups = Backups(volume, 1);
  // A failed backup and a running one of the volume, newer than the
  // completed one: neither counts towards the one kept, neither is deleted.
  meta::NewBackup failed{Uuid::Random().ToString(), volume.id, target_.id, ""};
  auto f = meta_->CreateBackup(failed);
  ASSERT_OK(f);
  ASSERT_OK(meta_->FailBackup(f->id, f->attempt, "agent gone"));
  meta::NewBackup running{Uuid::Random().ToString(), volume.id, target_.id, ""};
  ASSERT_OK(meta_->CreateBackup(running));

  auto result = retention_.Apply(volume.id);
  ASSERT_OK(result);
  EXPECT_TRUE(result->deleted.empty());
  EXPECT_TRUE(HasRow(backups[0].id));
  EXPECT_TRUE(HasRow(failed.id));
  EXPECT_TRUE(HasRow(running.id));
  // The other volume is untouched until its own Apply.
  EXPECT_TRUE(HasRow(others[0].id));
  result = retention_.Apply(other.id);
  ASSERT_OK(result);
  EXPECT_EQ(result->deleted, std::vector<std::string>{others[0].id});
}

// The policy alone, without a store: newest first by start time (then id),
// only completed backups counted or forgotten.
TEST(KeepLastTest, KeepsTheNewestCompletedAndForgetsTheRest) {
  auto backup = [](std::string id, int64_t started, meta::BackupStatus status) {
    meta::Backup b;
    b.id = std::move(id);
    b.started_at_us = started;
    b.status = status;
    return b;
  };
  using S = meta::BackupStatus;
  std::vector<meta::Backup> all = {backup("a", 100, S::kCompleted), backup("b", 300, S::kCompleted),
                                   backup("c", 200, S::kFailed),    backup("d", 400, S::kRunning),
                                   backup("e", 300, S::kCompleted), backup("f", 50, S::kCompleted)};
  RetentionDecision two = KeepLast(all, 2);
  EXPECT_EQ(two.keep, (std::vector<std::string>{"e", "b"}));  // same start: the larger id first
  EXPECT_EQ(two.forget, (std::vector<std::string>{"a", "f"}));
  EXPECT_TRUE(KeepLast(all, 0).forget.empty());  // 0 keeps everything
  EXPECT_EQ(KeepLast(all, 0).keep.size(), 4u);
  EXPECT_TRUE(KeepLast(all, 9).forget.empty());
  EXPECT_EQ(KeepLast(all, 1).forget, (std::vector<std::string>{"b", "a", "f"}));
  EXPECT_TRUE(KeepLast({}, 3).keep.empty());
}

TEST_F(RetentionTest, UnknownVolumeIsNotFound) {
  auto result = retention_.Apply(Uuid::Random().ToString());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace coffer::manager

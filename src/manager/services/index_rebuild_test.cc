// Index rebuild on real parts: a SQLite metadata store, a local target,
// backups made with the engine, rows deleted, rows rebuilt from manifests.
#include "manager/services/index_rebuild.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "base/uuid.h"
#include "manager/testing/ops_testing.h"

namespace coffer::manager {
namespace {

using namespace testing_support;

#define ASSERT_OK(r) ASSERT_TRUE((r).has_value()) << (r).error().message()

class IndexRebuildTest : public testing::Test {
 protected:
  IndexRebuildTest() : meta_(OpenTestMeta(dir_)), targets_(*meta_) {
    target_ = CreateLocalTarget(targets_, dir_, "target", "correct horse");
    a_ = CreateVolume(*meta_, "vol-a", target_.id);
    b_ = CreateVolume(*meta_, "vol-b", target_.id);
  }
  meta::Backup Backup(const meta::Volume& v) {
    const std::string image = dir_ / ("img-" + std::to_string(seed_));
    WriteImage(image, 512 << 10, uint64_t(seed_++));
    return RecordBackup(*meta_, targets_, v, image);
  }
  void DeleteRows(const std::vector<meta::Backup>& backups) {
    for (const auto& b : backups) ASSERT_OK(meta_->DeleteBackup(b.id));
  }
  std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  std::vector<std::string> Ids(const std::vector<meta::Backup>& backups) {
    std::vector<std::string> ids;
    for (const auto& b : backups) ids.push_back(b.id);
    return Sorted(ids);
  }
  // The rebuilt row says what the original said.
  void ExpectSameRow(const meta::Backup& original) {
    auto row = meta_->GetBackup(original.id);
    ASSERT_OK(row);
    EXPECT_EQ(row->status, meta::BackupStatus::kCompleted);
    EXPECT_EQ(row->volume_id, original.volume_id);
    EXPECT_EQ(row->target_id, original.target_id);
    EXPECT_EQ(row->stats.logical_bytes, original.stats.logical_bytes);
    EXPECT_EQ(row->stats.zero_bytes, original.stats.zero_bytes);
    EXPECT_EQ(row->stats.new_bytes, original.stats.new_bytes);
    EXPECT_EQ(row->stats.stored_bytes, original.stats.stored_bytes);
    EXPECT_EQ(row->stats.chunks, original.stats.chunks);
    EXPECT_EQ(row->stats.new_chunks, original.stats.new_chunks);
    EXPECT_LE(row->started_at_us, original.finished_at_us.value_or(0));
    EXPECT_GE(row->started_at_us, original.started_at_us - 1'000'000);
    ASSERT_TRUE(row->finished_at_us.has_value());
    EXPECT_GE(*row->finished_at_us, row->started_at_us);
  }

  TempDir dir_;
  std::unique_ptr<meta::MetaStore> meta_;
  TargetService targets_;
  meta::BackupTarget target_;
  meta::Volume a_, b_;
  int seed_ = 1;
};

TEST_F(IndexRebuildTest, RebuildsDeletedRowsWithTheStoredKey) {
  std::vector<meta::Backup> all = {Backup(a_), Backup(a_), Backup(b_)};
  // One row survives; the other two are lost.
  DeleteRows({all[0], all[2]});
  auto report = RebuildIndex(*meta_, targets_, {target_.id, std::nullopt, false});
  ASSERT_OK(report);
  EXPECT_EQ(report->manifests, 3);
  EXPECT_EQ(Sorted(report->inserted), Ids({all[0], all[2]}));
  EXPECT_EQ(report->already_present, 1);
  EXPECT_TRUE(report->unmatched.empty());
  for (const auto& b : all) ExpectSameRow(b);

  // Again: nothing to do.
  report = RebuildIndex(*meta_, targets_, {target_.id, std::nullopt, false});
  ASSERT_OK(report);
  EXPECT_TRUE(report->inserted.empty());
  EXPECT_EQ(report->already_present, 3);
}

TEST_F(IndexRebuildTest, RebuildsWithAPassphraseAndRefusesAWrongOne) {
  std::vector<meta::Backup> all = {Backup(a_), Backup(b_)};
  DeleteRows(all);
  auto wrong =
      RebuildIndex(*meta_, targets_, {target_.id, meta::SecretString("wrong horse"), false});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code(), ErrorCode::kAuthFailed) << wrong.error().message();
  auto report =
      RebuildIndex(*meta_, targets_, {target_.id, meta::SecretString("correct horse"), false});
  ASSERT_OK(report);
  EXPECT_EQ(Sorted(report->inserted), Ids(all));
  for (const auto& b : all) ExpectSameRow(b);
}

TEST_F(IndexRebuildTest, APassphraseStillWorksWhenTheMasterKeyIsLost) {
  std::vector<meta::Backup> all = {Backup(a_)};
  DeleteRows(all);
  // The same database opened with another master key: no secret unwraps.
  meta::MetaStoreOptions other;
  other.master_key = SecretKey::Random();
  auto lost = meta::OpenMetaStore("sqlite://" + (dir_ / "meta.db"), std::move(other));
  ASSERT_OK(lost);
  TargetService lost_targets(**lost);
  auto by_db_key = RebuildIndex(**lost, lost_targets, {target_.id, std::nullopt, false});
  ASSERT_FALSE(by_db_key.has_value());
  EXPECT_EQ(by_db_key.error().code(), ErrorCode::kAuthFailed) << by_db_key.error().message();
  auto report =
      RebuildIndex(**lost, lost_targets, {target_.id, meta::SecretString("correct horse"), false});
  ASSERT_OK(report);
  EXPECT_EQ(report->inserted, std::vector<std::string>{all[0].id});
  ExpectSameRow(all[0]);
}

TEST_F(IndexRebuildTest, VolumesMatchByIdThenByNameAndTheRestIsReported) {
  auto of_a = Backup(a_);
  auto of_b = Backup(b_);
  DeleteRows({of_a, of_b});
  // vol-a is recreated under a new id with the same name; vol-b is gone.
  ASSERT_OK(meta_->DeleteVolume(a_.id));
  ASSERT_OK(meta_->DeleteVolume(b_.id));
  auto renewed = CreateVolume(*meta_, "vol-a", target_.id);
  auto report = RebuildIndex(*meta_, targets_, {target_.id, std::nullopt, false});
  ASSERT_OK(report);
  EXPECT_EQ(report->inserted, std::vector<std::string>{of_a.id});
  EXPECT_EQ(meta_->GetBackup(of_a.id)->volume_id, renewed.id);
  ASSERT_EQ(report->unmatched.size(), 1u);
  EXPECT_EQ(report->unmatched[0].backup_id, of_b.id);
  EXPECT_EQ(report->unmatched[0].volume_id, b_.id);
  EXPECT_EQ(report->unmatched[0].volume_name, "vol-b");
  EXPECT_EQ(report->unmatched[0].reason, "no volume with this id or name");
  EXPECT_EQ(meta_->GetBackup(of_b.id).error().code(), ErrorCode::kNotFound);
}

TEST_F(IndexRebuildTest, DryRunInsertsNothing) {
  auto b = Backup(a_);
  DeleteRows({b});
  auto report = RebuildIndex(*meta_, targets_, {target_.id, std::nullopt, true});
  ASSERT_OK(report);
  EXPECT_EQ(report->inserted, std::vector<std::string>{b.id});
  EXPECT_EQ(meta_->GetBackup(b.id).error().code(), ErrorCode::kNotFound);
}

TEST_F(IndexRebuildTest, ATamperedManifestIsReportedNotInserted) {
  auto good = Backup(a_);
  auto bad = Backup(b_);
  DeleteRows({good, bad});
  const std::string path = dir_ / ("target/manifests/" + bad.id);
  std::string bytes(std::filesystem::file_size(path), '\0');
  {
    std::ifstream in(path, std::ios::binary);
    in.read(bytes.data(), std::streamsize(bytes.size()));
  }
  bytes[bytes.size() / 2] ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
  auto report = RebuildIndex(*meta_, targets_, {target_.id, std::nullopt, false});
  ASSERT_OK(report);
  EXPECT_EQ(report->inserted, std::vector<std::string>{good.id});
  ASSERT_EQ(report->unmatched.size(), 1u);
  EXPECT_EQ(report->unmatched[0].backup_id, bad.id);
  EXPECT_TRUE(report->unmatched[0].reason.starts_with("the manifest does not open"))
      << report->unmatched[0].reason;
}

TEST_F(IndexRebuildTest, UnknownTargetIsNotFound) {
  auto r = RebuildIndex(*meta_, targets_, {Uuid::Random().ToString(), std::nullopt, false});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace coffer::manager

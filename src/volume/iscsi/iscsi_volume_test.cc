// The iSCSI backend against a real tgtd on loopback: capacity, parallel
// reads at byte offsets, holes through GET LBA STATUS, unaligned parallel
// writes whose partial blocks are shared, zeroing, and the refusals.
#include "volume/iscsi/iscsi_volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "volume/testing/peers.h"

namespace coffer {
namespace {

using testing::TgtdServer;

constexpr const char* kIqn = "iqn.2026-11.dev.coffer:unit";
constexpr const char* kIqn2 = "iqn.2026-11.dev.coffer:unit2";

class IscsiVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-iscsi-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = TgtdServer::Start(dir_.string());
    ASSERT_TRUE(s.has_value()) << s.error().message();
    tgtd_ = std::move(*s);
  }
  void TearDown() override {
    tgtd_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `size` bytes: random data in the first and last quarter, a hole between.
  std::string Image(const std::string& name, size_t size, Bytes* content) {
    std::string path = dir_ / name;
    content->assign(size, 0);
    std::mt19937_64 rng(size);
    for (size_t i = 0; i < size / 4; ++i) (*content)[i] = uint8_t(rng());
    for (size_t i = size - size / 4; i < size; ++i) (*content)[i] = uint8_t(rng());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_EQ(::ftruncate(fd, off_t(size)), 0);
    EXPECT_EQ(::pwrite(fd, content->data(), size / 4, 0), ssize_t(size / 4));
    EXPECT_EQ(::pwrite(fd, content->data() + size - size / 4, size / 4, off_t(size - size / 4)),
              ssize_t(size / 4));
    ::close(fd);
    return path;
  }

  std::filesystem::path dir_;
  std::unique_ptr<TgtdServer> tgtd_;
};

TEST_F(IscsiVolumeTest, ParallelByteOffsetReadsReturnTheLunsBytes) {
  Bytes content;
  ASSERT_TRUE(tgtd_->AddTarget(1, kIqn, Image("lun.img", 8 << 20, &content)).has_value());
  auto v = OpenIscsiVolume(tgtd_->Url(kIqn));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ((*v)->size(), 8u << 20);
  Bytes got(content.size());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t off = uint64_t(t) * 777773; off < got.size(); off += 3 * 777773) {
        size_t n = size_t(std::min<uint64_t>(777773, got.size() - off));
        if (!(*v)->ReadAt(off, got.data() + off, n)) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(got == content);
  // Without thin provisioning the whole LUN counts as data.
  auto e = (*v)->NextData(12345);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->offset, 12345u);
  EXPECT_EQ(e->length, (8u << 20) - 12345);
}

TEST_F(IscsiVolumeTest, ThinLunsReportTheirHoles) {
  Bytes content;
  ASSERT_TRUE(
      tgtd_->AddTarget(1, kIqn, Image("thin.img", 8 << 20, &content), /*thin=*/true).has_value());
  auto v = OpenIscsiVolume(tgtd_->Url(kIqn));
  ASSERT_TRUE(v.has_value()) << v.error().message();
  uint64_t pos = 0, data = 0;
  while (true) {
    auto e = (*v)->NextData(pos);
    ASSERT_TRUE(e.has_value()) << e.error().message();
    for (uint64_t i = pos; i < (e->length ? e->offset : content.size()); ++i) {
      ASSERT_EQ(content[i], 0) << "a hole hid data at " << i;
    }
    if (e->length == 0) break;
    data += e->length;
    pos = e->offset + e->length;
  }
  EXPECT_LE(data, 5u << 20) << "the 4 MiB hole in the middle was not reported";
}

TEST_F(IscsiVolumeTest, UnalignedParallelWritesSharingBlocksLoseNothing) {
  Bytes old;
  std::string img = Image("dest.img", 4 << 20, &old);
  ASSERT_TRUE(tgtd_->AddTarget(1, kIqn, img).has_value());
  auto w = OpenIscsiVolumeForRestore(tgtd_->Url(kIqn), 4 << 20);
  ASSERT_TRUE(w.has_value()) << w.error().message();
  Bytes want(4 << 20, 0);
  std::mt19937_64 rng(11);
  std::vector<std::pair<uint64_t, uint64_t>> pieces;  // adjacent, odd sizes, some < 1 block
  for (uint64_t off = 0; off < want.size();) {
    uint64_t n = std::min<uint64_t>(rng() % 3 == 0 ? 1 + rng() % 700 : 1 + rng() % 150000,
                                    want.size() - off);
    pieces.emplace_back(off, n);
    off += n;
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i % 3 == 2) continue;  // zero pieces
    for (uint64_t j = 0; j < pieces[i].second; ++j) want[pieces[i].first + j] = uint8_t(rng() | 1);
  }
  for (size_t i = 2; i < pieces.size(); i += 3) {
    ASSERT_TRUE((*w)->WriteZeros(pieces[i].first, pieces[i].second).has_value());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = size_t(t); i < pieces.size(); i += 4) {
        if (i % 3 == 2) continue;
        auto [off, n] = pieces[i];
        if (auto st = (*w)->WriteAt(off, ByteView(want.data() + off, n)); !st) {
          ADD_FAILURE() << st.error().message();
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  ASSERT_TRUE((*w)->Commit().has_value());
  std::ifstream in(img, std::ios::binary);
  Bytes got((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(got.size(), want.size());
  size_t diff = 0;
  while (diff < got.size() && got[diff] == want[diff]) ++diff;
  EXPECT_EQ(diff, got.size()) << "first difference at " << diff;
}

TEST_F(IscsiVolumeTest, RefusesSmallLunsBadUrlsAndUnknownTargets) {
  Bytes content;
  ASSERT_TRUE(tgtd_->AddTarget(1, kIqn, Image("small.img", 1 << 20, &content)).has_value());
  auto w = OpenIscsiVolumeForRestore(tgtd_->Url(kIqn), 2 << 20);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), ErrorCode::kInvalidArgument);

  auto bad = OpenIscsiVolume("iscsi://127.0.0.1/no-lun");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument) << bad.error().message();

  auto unknown = OpenIscsiVolume(tgtd_->Url(kIqn2));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find(kIqn2), std::string::npos) << unknown.error().message();
}

TEST(IscsiUrlTest, PasswordsNeverShow) {
  EXPECT_EQ(RedactIscsiUrl("iscsi://user%secret@host:3260/iqn.x:y/1"),
            "iscsi://user%***@host:3260/iqn.x:y/1");
  EXPECT_EQ(RedactIscsiUrl("iscsi://host/iqn.x%3Ay/1"), "iscsi://host/iqn.x%3Ay/1");
}

}  // namespace
}  // namespace coffer

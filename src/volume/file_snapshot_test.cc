#include "volume/file_snapshot.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace coffer {
namespace {

class FileSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-snapshot-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string Read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  std::filesystem::path dir_;
};

TEST_F(FileSnapshotTest, ClonesOrCopiesSparselyAndRemovesTheSnapshot) {
  std::string src = dir_ / "vm.img";
  int fd = ::open(src.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
  ASSERT_EQ(::pwrite(fd, "head", 4, 0), 4);
  ASSERT_EQ(::pwrite(fd, "tail", 4, (64 << 20) - 4), 4);
  ::close(fd);
  std::string snap_path;
  {
    auto snap = SnapshotFile(src, false);
    ASSERT_TRUE(snap.has_value()) << snap.error().message();
    snap_path = (*snap)->path();
    EXPECT_NE(snap_path, src);
    EXPECT_EQ(std::filesystem::path(snap_path).parent_path(), dir_);
    EXPECT_TRUE((*snap)->method() == "reflink" || (*snap)->method() == "copy");
    // A later write to the source does not reach the snapshot.
    fd = ::open(src.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, "HEAD", 4, 0), 4);
    ::close(fd);
    std::string got = Read(snap_path);
    ASSERT_EQ(got.size(), 64u << 20);
    EXPECT_EQ(got.substr(0, 4), "head");
    EXPECT_EQ(got.substr(got.size() - 4), "tail");
    struct stat st;
    ASSERT_EQ(::stat(snap_path.c_str(), &st), 0);
    EXPECT_LT(uint64_t(st.st_blocks) * 512, 1u << 20) << "the copy is not sparse";
  }
  EXPECT_FALSE(std::filesystem::exists(snap_path));
}

// Many small data extents between holes, at unaligned places: the copy must
// match byte for byte.
TEST_F(FileSnapshotTest, CopyMatchesAFragmentedSparseFileExactly) {
  std::string src = dir_ / "frag.img";
  int fd = ::open(src.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(::ftruncate(fd, 8 << 20), 0);
  uint64_t x = 1;
  for (uint64_t off = 1000; off < (8u << 20) - 70000; off += 70000 + (x % 50000)) {
    std::string data(5000 + x % 9000, char('a' + x % 26));
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), off_t(off)), ssize_t(data.size()));
  }
  ::close(fd);
  auto snap = SnapshotFile(src, false);
  ASSERT_TRUE(snap.has_value()) << snap.error().message();
  EXPECT_TRUE(Read((*snap)->path()) == Read(src));
}

TEST_F(FileSnapshotTest, QuiescentVolumesAreReadInPlace) {
  std::string src = dir_ / "vm.img";
  std::ofstream(src) << "data";
  auto snap = SnapshotFile(src, true);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ((*snap)->path(), src);
  EXPECT_EQ((*snap)->method(), "none");
  snap->reset();
  EXPECT_TRUE(std::filesystem::exists(src));
}

TEST_F(FileSnapshotTest, MissingSourcesAndNonFilesAreRefused) {
  auto missing = SnapshotFile(dir_ / "nope.img", false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto dir = SnapshotFile(dir_.string(), false);
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code(), ErrorCode::kInvalidArgument);
}

// The agent's paths are resolved and checked first; a link put in them
// later is refused, and a directory swapped during the backup can neither
// keep the snapshot from being removed nor make another file go instead.
TEST_F(FileSnapshotTest, WithoutSymlinksTheSnapshotStaysWhereItWasMade) {
  namespace fs = std::filesystem;
  const fs::path real = fs::canonical(dir_);
  fs::create_directories(real / "vols" / "sub");
  fs::create_directories(real / "elsewhere");
  std::ofstream(real / "vols" / "sub" / "vm.img") << "volume";
  fs::create_directory_symlink(real / "vols" / "sub", real / "vols" / "link");
  EXPECT_FALSE(SnapshotFile((real / "vols" / "link" / "vm.img").string(), false, true));

  auto snap = SnapshotFile((real / "vols" / "sub" / "vm.img").string(), false, true);
  ASSERT_TRUE(snap.has_value()) << snap.error().message();
  const std::string name = fs::path((*snap)->path()).filename().string();
  EXPECT_EQ(Read((*snap)->path()), "volume");
  fs::rename(real / "vols" / "sub", real / "vols" / "moved");
  fs::create_directory_symlink(real / "elsewhere", real / "vols" / "sub");
  std::ofstream(real / "elsewhere" / name) << "not the snapshot";
  snap->reset();
  EXPECT_FALSE(fs::exists(real / "vols" / "moved" / name));
  EXPECT_EQ(Read((real / "elsewhere" / name).string()), "not the snapshot");
}

}  // namespace
}  // namespace coffer

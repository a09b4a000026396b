#include "volume/file_volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/direct_io.h"

namespace coffer {
namespace {

class FileVolumeTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-volume-test-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(FileVolumeTest, ReadsBytesAndReportsHolesOfASparseFile) {
  std::string p = Path("sparse.img");
  int fd = ::open(p.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
  std::string data(1 << 20, 'x');
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 32 << 20), ssize_t(data.size()));
  ::close(fd);

  auto r = OpenFileVolume(p);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)->size(), uint64_t(64) << 20);
  auto ext = (*r)->NextData(0);
  ASSERT_TRUE(ext.has_value());
  // File systems may round extents; the data must be inside what is reported.
  EXPECT_LE(ext->offset, uint64_t(32) << 20);
  EXPECT_GE(ext->offset + ext->length, uint64_t(33) << 20);
  EXPECT_GT(ext->offset, 0u) << "the leading 32 MiB hole was not reported";
  auto tail = (*r)->NextData(ext->offset + ext->length);
  ASSERT_TRUE(tail.has_value());
  EXPECT_EQ(tail->length, 0u);
  Bytes got(16);
  ASSERT_TRUE((*r)->ReadAt((32 << 20) + 5, got.data(), got.size()).has_value());
  EXPECT_EQ(got, Bytes(16, 'x'));
}

// What the page cache does not hold is read with O_DIRECT and left out of
// it; what it holds is copied from it. Either way, any range reads the same
// bytes into any address.
TEST_F(FileVolumeTest, ColdBlocksAreReadDirectAndStayOutOfThePageCache) {
  const std::string p = Path("cold.img");
  const size_t size = (6 << 20) + 777;
  std::vector<uint8_t> want(size);
  for (size_t i = 0; i < size; ++i) want[i] = uint8_t((i * 2654435761u) >> 11);
  int fd = ::open(p.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, want.data(), size, 0), ssize_t(size));
  ASSERT_EQ(::fsync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  // The second MiB is cached, the rest is not.
  std::vector<uint8_t> warm(1 << 20);
  ASSERT_EQ(::pread(fd, warm.data(), warm.size(), 1 << 20), ssize_t(warm.size()));
  const int probe = ::open(p.c_str(), O_RDONLY | O_DIRECT);
  if (probe < 0) {
    ::close(fd);
    GTEST_SKIP() << "no O_DIRECT in " << dir_;
  }
  ::close(probe);

  auto r = OpenFileVolume(p);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  // Only the cached MiB is read without waiting (a backup reads the rest
  // ahead of its work); a kernel that cannot tell says every read may wait.
  const bool known = CacheStateKnown();
  EXPECT_EQ((*r)->MayWait(1 << 20, 1 << 20), !known);
  EXPECT_EQ((*r)->MayWait((1 << 20) + 4095, 5000), !known);
  EXPECT_TRUE((*r)->MayWait((1 << 20) + 4096, 1 << 20));
  EXPECT_TRUE((*r)->MayWait(0, 4096));
  Buffer out(size + 8192);  // starts on a 4 KiB boundary
  ASSERT_TRUE((*r)->ReadAt(0, out.data(), size).has_value());
  EXPECT_TRUE(std::equal(out.data(), out.data() + size, want.begin()));

  // Resident pages, from mincore on a mapping that touches none of them.
  auto resident = [&](uint64_t from, uint64_t to) {
    const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_NE(m, MAP_FAILED);
    std::vector<unsigned char> in((size + page - 1) / page);
    EXPECT_EQ(::mincore(m, size, in.data()), 0);
    ::munmap(m, size);
    size_t n = 0;
    for (uint64_t i = from / page; i < (to + page - 1) / page; ++i) n += in[i] & 1;
    return n;
  };
  EXPECT_EQ(resident(0, 1 << 20), 0u) << "the cold first MiB went through the cache";
  EXPECT_EQ(resident(2 << 20, size - 4096), 0u) << "the cold tail went through the cache";
  EXPECT_EQ(resident(1 << 20, 2 << 20), size_t(256)) << "the cached MiB was dropped";

  // Unaligned ranges, into the buffer as far from a boundary as the offset
  // and into one that is not: the same bytes.
  for (uint64_t offset : {uint64_t(1), uint64_t(4095), uint64_t((1 << 20) - 3), uint64_t(5000)}) {
    for (size_t shift : {size_t(offset % 4096), size_t(7)}) {
      const size_t len = size - size_t(offset) - 100;
      std::memset(out.data(), 0, size + 8192);
      ASSERT_TRUE((*r)->ReadAt(offset, out.data() + shift, len).has_value());
      EXPECT_TRUE(std::equal(out.data() + shift, out.data() + shift + len,
                             want.begin() + ptrdiff_t(offset)))
          << "offset " << offset << ", shift " << shift;
    }
  }

  // A source that shrinks under the reader is an error, cached or not.
  ASSERT_EQ(::ftruncate(fd, 3 << 20), 0);
  for (bool cold : {true, false}) {
    if (cold) {
      ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    }
    auto shrank = (*r)->ReadAt(0, out.data(), size);
    ASSERT_FALSE(shrank.has_value()) << cold;
    EXPECT_EQ(shrank.error().code(), ErrorCode::kInternal) << cold;
    EXPECT_NE(shrank.error().message().find("the source shrank"), std::string::npos)
        << shrank.error().message();
  }
  ::close(fd);
}

TEST_F(FileVolumeTest, MissingOrUnreadableSourceIsAClearError) {
  auto r = OpenFileVolume(Path("nope.img"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("nope.img"), std::string::npos);
  auto d = OpenFileVolume(dir_.string());
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message().find("is a directory: a file volume is a regular file or a block "
                                     "device"),
            std::string::npos)
      << d.error().message();
}

TEST_F(FileVolumeTest, WriterPublishesOnlyOnCommitAndKeepsZerosSparse) {
  std::string p = Path("out.img");
  {
    auto w = CreateFileVolume(p, 8 << 20, {});
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->WriteAt(4096, AsBytes("hello")).has_value());
    ASSERT_TRUE((*w)->WriteZeros(1 << 20, 6 << 20).has_value());
    EXPECT_FALSE(std::filesystem::exists(p));
    ASSERT_TRUE((*w)->Commit().has_value());
  }
  ASSERT_TRUE(std::filesystem::exists(p));
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "zero ranges were not left as holes";
  // Nothing else is left in the directory.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(FileVolumeTest, AnAbandonedWriterLeavesNothingBehind) {
  std::string p = Path("out.img");
  {
    auto w = CreateFileVolume(p, 1 << 20, {});
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->WriteAt(0, AsBytes("partial")).has_value());
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 0);
}

TEST_F(FileVolumeTest, AnExistingDestinationNeedsForce) {
  std::string p = Path("exists.img");
  std::ofstream(p) << "precious";
  auto w = CreateFileVolume(p, 10, {});
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(w.error().message().find("--force"), std::string::npos);
  std::ifstream in(p);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  auto forced = CreateFileVolume(p, 10, {.force = true});
  ASSERT_TRUE(forced.has_value());
  ASSERT_TRUE((*forced)->WriteAt(0, AsBytes("0123456789")).has_value());
  ASSERT_TRUE((*forced)->Commit().has_value());
  EXPECT_EQ(std::filesystem::file_size(p), 10u);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(FileVolumeTest, ADestinationMadeDuringTheRestoreIsLeftAlone) {
  std::string p = Path("new.img");
  auto w = CreateFileVolume(p, 10, {});
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE((*w)->WriteAt(0, AsBytes("0123456789")).has_value());
  std::ofstream(p) << "theirs";  // another process, after the check
  auto committed = (*w)->Commit();
  ASSERT_FALSE(committed.has_value());
  EXPECT_EQ(committed.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(committed.error().message().find("created by something else during the restore"),
            std::string::npos)
      << committed.error().message();
  w->reset();
  EXPECT_EQ(ReadAll(p), "theirs");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);  // no temporary
}

// The agent's locators are resolved and checked before the job opens them;
// a link put in the path since must not be followed out of the roots.
TEST_F(FileVolumeTest, WithoutSymlinksALinkAnywhereInThePathIsRefused) {
  const std::filesystem::path real = std::filesystem::canonical(dir_);
  std::filesystem::create_directories(real / "vols");
  std::filesystem::create_directories(real / "elsewhere");
  std::ofstream(real / "elsewhere" / "secret.img") << "not yours";
  std::filesystem::create_directory_symlink(real / "elsewhere", real / "vols" / "link");
  const std::string through = (real / "vols" / "link" / "secret.img").string();

  auto plain = OpenFileVolume(through);  // the CLI follows links, as users expect
  EXPECT_TRUE(plain.has_value());
  auto refused = OpenFileVolume(through, {.no_symlinks = true});
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("symbolic links"), std::string::npos)
      << refused.error().message();
  std::filesystem::create_symlink(real / "elsewhere" / "secret.img", real / "vols" / "last.img");
  EXPECT_FALSE(OpenFileVolume((real / "vols" / "last.img").string(), {.no_symlinks = true}));

  auto dest =
      CreateFileVolume((real / "vols" / "link" / "new.img").string(), 4, {.no_symlinks = true});
  ASSERT_FALSE(dest.has_value());
  EXPECT_NE(dest.error().message().find("opening the directory of"), std::string::npos)
      << dest.error().message();
  EXPECT_FALSE(std::filesystem::exists(real / "elsewhere" / "new.img"));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(real / "elsewhere"), {}), 1);
}

TEST_F(FileVolumeTest, TheRestoreEndsInTheDirectoryItBeganIn) {
  const std::filesystem::path real = std::filesystem::canonical(dir_);
  std::filesystem::create_directories(real / "vols" / "sub");
  std::filesystem::create_directories(real / "elsewhere");
  const std::string p = (real / "vols" / "sub" / "new.img").string();
  auto w = CreateFileVolume(p, 4, {.no_symlinks = true});
  ASSERT_TRUE(w.has_value()) << w.error().message();
  ASSERT_TRUE((*w)->WriteAt(0, AsBytes("data")).has_value());
  // Swapped after the restore began: sub now leads elsewhere.
  std::filesystem::rename(real / "vols" / "sub", real / "vols" / "moved");
  std::filesystem::create_directory_symlink(real / "elsewhere", real / "vols" / "sub");
  ASSERT_TRUE((*w)->Commit().has_value());
  EXPECT_EQ(ReadAll((real / "vols" / "moved" / "new.img").string()), "data");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(real / "elsewhere"), {}), 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(real / "vols" / "moved"), {}), 1);
}

}  // namespace
}  // namespace coffer

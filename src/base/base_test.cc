#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/direct_io.h"
#include "base/error.h"
#include "base/fd.h"
#include "base/open_files.h"
#include "base/parallel.h"
#include "base/shared_library.h"
#include "base/text.h"
#include "base/uuid.h"

namespace coffer {
namespace {

TEST(TextTest, ParseSizeAcceptsBinaryUnits) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("256K"), 256u << 10);
  EXPECT_EQ(*ParseSize("1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("4MiB"), 4u << 20);
  EXPECT_EQ(*ParseSize("2G"), 2ull << 30);
}

TEST(TextTest, ParseSizeRejectsGarbage) {
  for (auto bad : {"", "M", "12Q", "-1", "1.5M", "99999999999999999999T"}) {
    auto r = ParseSize(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(TextTest, ParseDurationAcceptsTheDocumentedForms) {
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_EQ(ParseDuration("90s")->count(), 90);
  EXPECT_EQ(ParseDuration("30m")->count(), 1800);
  EXPECT_EQ(ParseDuration("24h")->count(), 86400);
  EXPECT_EQ(ParseDuration("7d")->count(), 7 * 86400);
}

TEST(TextTest, ParseDurationNeedsAUnit) {
  for (auto bad : {"", "10", "5w", "h", "1.5h", "-3d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(TextTest, FormatsBytesAndTimes) {
  EXPECT_EQ(FormatBytes(100), "100 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.00 GiB");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795493058), "2026-11-24T04:04:18Z");
}

TEST(BytesTest, HexRoundTripsAndRejectsOddOrNonHex) {
  Bytes b = {0x00, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "00abff");
  EXPECT_EQ(*HexDecode("00ABff"), b);
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
}

TEST(BytesTest, ReaderFailsCleanlyOnShortInput) {
  Bytes out;
  ByteWriter w(&out);
  w.U32(7);
  w.String("hello");
  ByteReader r(out);
  EXPECT_EQ(r.U32(), 7u);
  EXPECT_EQ(r.String(), "hello");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.U64(), 0u);
  EXPECT_FALSE(r.ok());
}

TEST(UuidTest, RandomUuidsAreVersion4AndRoundTrip) {
  Uuid a = Uuid::Random(), b = Uuid::Random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.bytes[6] >> 4, 4);
  auto parsed = Uuid::Parse(a.ToString());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, a);
  EXPECT_FALSE(Uuid::Parse("not-a-uuid").has_value());
}

TEST(ErrorTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoError(ENOENT, "x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ErrnoError(ENOSPC, "x").code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(ErrnoError(EACCES, "/etc/shadow").message(), "/etc/shadow: Permission denied");
}

TEST(OpenFilesTest, TheSoftLimitRisesToTheHardOneCappedAndNeverFalls) {
  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const uint64_t want = std::min<uint64_t>(saved.rlim_max, kOpenFileLimitCap);
  struct rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_max, 64);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  EXPECT_EQ(RaiseOpenFileLimit(), want);
  struct rlimit now;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(uint64_t(now.rlim_cur), want);
  EXPECT_EQ(now.rlim_max, saved.rlim_max);
  // Above the cap already: left alone.
  if (saved.rlim_max > kOpenFileLimitCap) {
    struct rlimit high = saved;
    high.rlim_cur = kOpenFileLimitCap + 1;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &high), 0);
    EXPECT_EQ(RaiseOpenFileLimit(), kOpenFileLimitCap + 1);
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
}

// WriteDirect writes block-aligned memory as it is and copies anything else
// through its scratch buffer: both give the same file, with the last block
// padded with zeros; ReadCached then takes it from the page cache only.
TEST(DirectIoTest, AlignedAndUnalignedSourcesWriteTheSameBlocks) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir =
      std::string(tmp ? tmp : "/tmp") + "/coffer-direct-io-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const size_t size = (2 << 20) + 1000;  // two scratch buffers and a partial block
  std::unique_ptr<uint8_t, decltype(&std::free)> arena(
      static_cast<uint8_t*>(std::aligned_alloc(kDirectBlock, DirectRoundUp(size) + kDirectBlock)),
      &std::free);
  ASSERT_NE(arena, nullptr);
  for (size_t shift : {size_t(0), size_t(1), size_t(4095)}) {
    uint8_t* src = arena.get() + shift;
    for (size_t i = 0; i < size; ++i) src[i] = uint8_t(i * 31 + shift);
    const std::string path = dir + "/f" + std::to_string(shift);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
    if (fd < 0 && errno == EINVAL) GTEST_SKIP() << "no O_DIRECT on " << dir;
    ASSERT_GE(fd, 0);
    auto wrote = WriteDirect(fd, 4096, ByteView(src, size), path);
    ::close(fd);
    ASSERT_TRUE(wrote.has_value()) << wrote.error().message();
    if (!*wrote) GTEST_SKIP() << "O_DIRECT refused on " << dir;
    std::vector<uint8_t> got(4096 + DirectRoundUp(size));
    fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pread(fd, got.data(), got.size(), 0), ssize_t(got.size())) << shift;
    for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(got[i], 0) << "before the offset, " << shift;
    EXPECT_TRUE(std::equal(src, src + size, got.begin() + 4096)) << shift;
    for (size_t i = 4096 + size; i < got.size(); ++i) ASSERT_EQ(got[i], 0) << "padding, " << shift;
    // All of it is in the page cache now (the pread above put it there).
    std::vector<uint8_t> cached(size);
    EXPECT_EQ(ReadCached(fd, 4096, size, cached.data()), size) << shift;
    EXPECT_TRUE(std::equal(src, src + size, cached.begin())) << shift;
    // Out of the cache, it reads nothing, and starts no read-ahead either:
    // a moment later the range is still not cached.
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    if (ReadCached(fd, 4096, 65536, cached.data()) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      EXPECT_EQ(ReadCached(fd, 4096, 65536, cached.data()), 0u) << "read-ahead, " << shift;
    }
    ::close(fd);
  }
  std::filesystem::remove_all(dir);
}

// ReadDirect gives the same bytes for any range into any address: whole
// blocks straight into the destination where it sits as far from a block
// boundary as the offset does, everything through the scratch buffer where
// it does not. A range past the end of the file is an error.
TEST(DirectIoTest, ReadDirectReadsAnyRangeIntoAnyAddress) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path =
      std::string(tmp ? tmp : "/tmp") + "/coffer-read-direct-" + std::to_string(::getpid());
  const size_t size = (3 << 20) + 1000;
  std::vector<uint8_t> want(size);
  for (size_t i = 0; i < size; ++i) want[i] = uint8_t((i * 2654435761u) >> 13);
  { std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(want.data()), size); }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT);
  if (fd < 0 && errno == EINVAL) {
    std::filesystem::remove(path);
    GTEST_SKIP() << "no O_DIRECT for " << path;
  }
  ASSERT_GE(fd, 0);
  std::unique_ptr<uint8_t, decltype(&std::free)> arena(
      static_cast<uint8_t*>(
          std::aligned_alloc(kDirectBlock, DirectRoundUp(size) + 2 * kDirectBlock)),
      &std::free);
  ASSERT_NE(arena, nullptr);
  struct Case {
    uint64_t offset, length;
  };
  const Case cases[] = {{0, size},           {0, 1},
                        {1, 4094},           {4095, 2},
                        {4096, 4096},        {5000, (2 << 20) + 3},
                        {8191, 1 << 20},     {size - 1000, 1000},
                        {size - 5000, 5000}, {(1 << 20) + 17, (2 << 20) - 17}};
  for (const Case& c : cases) {
    // Three destinations: as far from a block boundary as the offset (the
    // whole blocks go straight in), on a boundary, and one byte past it.
    for (size_t shift : {size_t(c.offset % kDirectBlock), size_t(0), size_t(1)}) {
      uint8_t* out = arena.get() + shift;
      std::memset(out, 0xee, size_t(c.length));
      auto read = ReadDirect(fd, c.offset, c.length, out, path);
      ASSERT_TRUE(read.has_value()) << read.error().message();
      if (!*read) {
        ::close(fd);
        std::filesystem::remove(path);
        GTEST_SKIP() << "O_DIRECT refused for " << path;
      }
      EXPECT_TRUE(std::equal(out, out + c.length, want.begin() + ptrdiff_t(c.offset)))
          << "offset " << c.offset << ", length " << c.length << ", shift " << shift;
    }
  }
  for (size_t shift : {size_t(0), size_t(size - 10) % kDirectBlock}) {
    auto past = ReadDirect(fd, size - 10, 4096, arena.get() + shift, path);
    ASSERT_FALSE(past.has_value()) << shift;
    EXPECT_EQ(past.error().code(), ErrorCode::kCorruption);
    EXPECT_NE(past.error().message().find("shrank"), std::string::npos) << past.error().message();
  }
  auto past_blocks = ReadDirect(fd, 0, size + 8192, arena.get(), path);
  ASSERT_FALSE(past_blocks.has_value());
  EXPECT_EQ(past_blocks.error().code(), ErrorCode::kCorruption);
  ::close(fd);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

TEST(OpenWithoutSymlinksTest, OpensRealPathsAndRefusesLinksAndDotDot) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::canonical(fs::temp_directory_path()) /
                       ("coffer-nosymlinks-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "a" / "b");
  std::ofstream(dir / "a" / "b" / "f") << "x";
  fs::create_directory_symlink(dir / "a", dir / "link");
  fs::create_symlink(dir / "a" / "b" / "f", dir / "a" / "b" / "flink");

  UniqueFd file(OpenWithoutSymlinks((dir / "a" / "b" / "f").string(), O_RDONLY));
  EXPECT_GE(file.get(), 0) << std::strerror(errno);
  UniqueFd root(OpenWithoutSymlinks("/", O_RDONLY | O_DIRECTORY));
  EXPECT_GE(root.get(), 0) << std::strerror(errno);
  UniqueFd made(
      OpenWithoutSymlinks((dir / "a" / "new").string(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  EXPECT_GE(made.get(), 0) << std::strerror(errno);
  EXPECT_TRUE(fs::exists(dir / "a" / "new"));

  errno = 0;
  EXPECT_EQ(OpenWithoutSymlinks((dir / "link" / "b" / "f").string(), O_RDONLY), -1);
  EXPECT_EQ(errno, ELOOP);  // a link in the middle
  errno = 0;
  EXPECT_EQ(OpenWithoutSymlinks((dir / "a" / "b" / "flink").string(), O_RDONLY), -1);
  EXPECT_EQ(errno, ELOOP);  // a link at the end
  errno = 0;
  EXPECT_EQ(OpenWithoutSymlinks((dir / "a" / ".." / "a" / "b" / "f").string(), O_RDONLY), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(OpenWithoutSymlinks("relative/f", O_RDONLY), -1);
  EXPECT_EQ(errno, EINVAL);
  fs::remove_all(dir);
}

TEST(SplitPathTest, CutsAtTheLastSlash) {
  auto parts = [](const std::string& p) {
    PathParts r = SplitPath(p);
    return r.dir + "|" + r.name;
  };
  EXPECT_EQ(parts("/vols/sub/vm.img"), "/vols/sub|vm.img");
  EXPECT_EQ(parts("/vm.img"), "/|vm.img");
  EXPECT_EQ(parts("vm.img"), ".|vm.img");
  EXPECT_EQ(parts("sub/vm.img"), "sub|vm.img");
  EXPECT_EQ(parts("/vols/"), "/vols|");
}

TEST(SharedLibraryTest, BindsFunctionsOfALoadedLibrary) {
  auto libc = SharedLibrary::Open("libc.so.6", "libc6", "Tests");
  ASSERT_TRUE(libc.has_value()) << libc.error().message();
  decltype(&::getpid) get_pid = nullptr;
  ASSERT_TRUE(libc->Find("getpid", &get_pid).has_value());
  EXPECT_EQ(get_pid(), ::getpid());
}

TEST(SharedLibraryTest, AMissingLibraryOrFunctionIsNamed) {
  auto missing = SharedLibrary::Open("libcoffer-none.so.9", "coffer-none", "Imaginary volumes");
  ASSERT_FALSE(missing.has_value());
  const std::string& m = missing.error().message();
  EXPECT_NE(m.find("Imaginary volumes need libcoffer-none.so.9"), std::string::npos) << m;
  EXPECT_NE(m.find("on Debian it is in the package coffer-none"), std::string::npos) << m;
  // A build that could not tell the package says so in general terms.
  auto unknown = SharedLibrary::Open("libcoffer-none.so.9", "", "Imaginary volumes");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find(
                "could not be loaded (libcoffer-none.so.9: cannot open shared object file"),
            std::string::npos)
      << unknown.error().message();
  EXPECT_NE(unknown.error().message().find("; install the package that provides it"),
            std::string::npos)
      << unknown.error().message();

  auto libc = SharedLibrary::Open("libc.so.6", "libc6", "Tests");
  ASSERT_TRUE(libc.has_value());
  void (*none)() = nullptr;
  auto found = libc->Find("coffer_no_such_function", &none);
  ASSERT_FALSE(found.has_value());
  EXPECT_NE(found.error().message().find("libc.so.6 has no function coffer_no_such_function"),
            std::string::npos)
      << found.error().message();
  EXPECT_EQ(none, nullptr);
}

// A table whose Bind fails on its first call, as a missing function would
// in an older library; `binds` counts its calls.
int binds = 0;
struct Libc {
  decltype(&::getpid) getpid = nullptr;
  static Status Bind(const SharedLibrary& lib, Libc& table) {
    if (++binds == 1) return Internal("not yet");
    return lib.Find("getpid", &table.getpid);
  }
};

// A failed load is not remembered (a daemon finds a library installed after
// it started), and a successful one is not repeated.
TEST(SharedLibraryTest, ATableIsBoundByTheFirstLoadThatSucceeds) {
  LibraryTable<Libc> libc("libc.so.6", "libc6", "Tests");
  auto first = libc.Load();
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().message(), "not yet");
  ASSERT_TRUE(libc.Load().has_value());
  ASSERT_TRUE(libc.Load().has_value());
  EXPECT_EQ(binds, 2);
  EXPECT_EQ(libc->getpid(), ::getpid());
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

TEST(ForEachIndexTest, RunsEveryStepOnceAndShortLoopsOnTheCaller) {
  std::vector<std::atomic<int>> runs(1000);
  ASSERT_TRUE(ForEachIndex(runs.size(), 8, 16, [&](size_t i) -> Status {
                ++runs[i];
                return {};
              }).has_value());
  for (size_t i = 0; i < runs.size(); ++i) ASSERT_EQ(runs[i].load(), 1) << i;

  const auto caller = std::this_thread::get_id();
  size_t elsewhere = 0;  // only the caller runs: no race on it
  ASSERT_TRUE(ForEachIndex(16, 8, 16, [&](size_t) -> Status {
                elsewhere += std::this_thread::get_id() != caller;
                return {};
              }).has_value());
  EXPECT_EQ(elsewhere, 0u);
  EXPECT_TRUE(ForEachIndex(0, 8, 16, [](size_t) -> Status { return Internal("never"); }));
}

// The error of a step on a thread other than the caller's is the one
// returned, and an exception becomes an internal error.
TEST(ForEachIndexTest, ErrorsAndExceptionsFromAnyThreadAreReturned) {
  const auto caller = std::this_thread::get_id();
  auto st = ForEachIndex(64, 4, 16, [&](size_t i) -> Status {
    if (std::this_thread::get_id() != caller) return NotFound("step " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // leaves steps to the others
    return {};
  });
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.error().message().rfind("step ", 0), 0u) << st.error().message();

  auto thrown = ForEachIndex(64, 4, 16, [&](size_t i) -> Status {
    if (i == 5) throw std::runtime_error("boom");
    return {};
  });
  ASSERT_FALSE(thrown.has_value());
  EXPECT_EQ(thrown.error().code(), ErrorCode::kInternal);
  EXPECT_NE(thrown.error().message().find("boom"), std::string::npos) << thrown.error().message();
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

TEST(ErrorCodeTest, EveryCodeIsFoundByItsName) {
  for (int c = 0; c <= int(ErrorCode::kInternal); ++c) {
    auto parsed = ParseErrorCode(ErrorCodeName(ErrorCode(c)));
    ASSERT_TRUE(parsed.has_value()) << c;
    EXPECT_EQ(int(*parsed), c);
  }
  EXPECT_FALSE(ParseErrorCode("unknown").has_value());
  EXPECT_FALSE(ParseErrorCode("").has_value());
}

}  // namespace
}  // namespace coffer

// The NBD backend against a real nbdkit: sizes, holes from base:allocation,
// parallel reads, unaligned parallel writes, and the refusals.
#include "volume/nbd/nbd_volume.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "volume/testing/peers.h"

namespace coffer {
namespace {

using testing::NbdkitServer;

class NbdVolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("coffer-nbd-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A sparse file: 8 MiB with random data in [1M, 1.5M) and [5M+3, 6M).
  std::string SparseImage(Bytes* content) {
    std::string path = dir_ / "sparse.img";
    content->assign(8 << 20, 0);
    std::mt19937_64 rng(7);
    for (auto [a, b] : {std::pair<size_t, size_t>{1 << 20, 3 << 19}, {(5 << 20) + 3, 6 << 20}}) {
      for (size_t i = a; i < b; ++i) (*content)[i] = uint8_t(rng() | 1);
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_EQ(::ftruncate(fd, 8 << 20), 0);
    for (auto [a, b] : {std::pair<size_t, size_t>{1 << 20, 3 << 19}, {(5 << 20) + 3, 6 << 20}}) {
      EXPECT_EQ(::pwrite(fd, content->data() + a, b - a, off_t(a)), ssize_t(b - a));
    }
    ::close(fd);
    return path;
  }

  std::unique_ptr<NbdkitServer> Serve(const std::vector<std::string>& args, bool ro = false) {
    auto s = NbdkitServer::Start(dir_.string(), args, ro);
    EXPECT_TRUE(s.has_value()) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }

  std::filesystem::path dir_;
};

TEST_F(NbdVolumeTest, HolesAreSkippedWithBaseAllocation) {
  Bytes content;
  auto server = Serve({"file", SparseImage(&content)});
  ASSERT_TRUE(server);
  auto v = OpenNbdVolume(server->uri());
  ASSERT_TRUE(v.has_value()) << v.error().message();
  EXPECT_EQ((*v)->size(), 8u << 20);
  // Every byte outside the reported data extents must be zero, and the
  // extents must cover far less than the whole export.
  uint64_t pos = 0, data_bytes = 0;
  while (true) {
    auto e = (*v)->NextData(pos);
    ASSERT_TRUE(e.has_value()) << e.error().message();
    for (uint64_t i = pos; i < (e->length ? e->offset : (8u << 20)); ++i) {
      ASSERT_EQ(content[i], 0) << "a hole hid data at " << i;
    }
    if (e->length == 0) break;
    data_bytes += e->length;
    pos = e->offset + e->length;
  }
  EXPECT_LT(data_bytes, 3u << 20);
  EXPECT_GE(data_bytes, (3u << 19) - (1u << 20) + (1u << 20) - 3);
}

TEST_F(NbdVolumeTest, ParallelReadsReturnTheExportsBytes) {
  Bytes content;
  auto server = Serve({"file", SparseImage(&content)}, true);
  ASSERT_TRUE(server);
  auto v = OpenNbdVolume(server->uri());
  ASSERT_TRUE(v.has_value()) << v.error().message();
  Bytes got(content.size());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t off = uint64_t(t) * 333331; off < got.size(); off += 4 * 333331) {
        size_t n = size_t(std::min<uint64_t>(333331, got.size() - off));
        if (!(*v)->ReadAt(off, got.data() + off, n)) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(got == content);
}

TEST_F(NbdVolumeTest, RestoreWritesUnalignedRangesAndZerosFromManyThreads) {
  std::string img = dir_ / "dest.img";
  {
    Bytes ff(4 << 20, 0xFF);  // old contents that zero ranges must overwrite
    int fd = ::open(img.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_EQ(::write(fd, ff.data(), ff.size()), ssize_t(ff.size()));
    ::close(fd);
  }
  auto server = Serve({"file", img});
  ASSERT_TRUE(server);
  auto w = OpenNbdVolumeForRestore(server->uri(), 4 << 20);
  ASSERT_TRUE(w.has_value()) << w.error().message();
  Bytes want(4 << 20, 0);
  std::mt19937_64 rng(3);
  std::vector<std::pair<uint64_t, uint64_t>> pieces;  // odd-sized, adjacent
  for (uint64_t off = 0; off < want.size();) {
    uint64_t n = std::min<uint64_t>(1 + rng() % 200000, want.size() - off);
    pieces.emplace_back(off, n);
    off += n;
  }
  for (size_t i = 0; i < pieces.size(); i += 2) {  // every other piece is data
    for (uint64_t j = 0; j < pieces[i].second; ++j) want[pieces[i].first + j] = uint8_t(rng());
  }
  for (size_t i = 1; i < pieces.size(); i += 2) {
    ASSERT_TRUE((*w)->WriteZeros(pieces[i].first, pieces[i].second).has_value());
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = size_t(t) * 2; i < pieces.size(); i += 8) {
        auto [off, n] = pieces[i];
        if (!(*w)->WriteAt(off, ByteView(want.data() + off, n))) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  ASSERT_TRUE((*w)->Commit().has_value());
  auto r = OpenNbdVolume(server->uri());
  ASSERT_TRUE(r.has_value());
  Bytes got(want.size());
  ASSERT_TRUE((*r)->ReadAt(0, got.data(), got.size()).has_value());
  EXPECT_TRUE(got == want);
}

TEST_F(NbdVolumeTest, RefusesReadOnlyAndTooSmallExportsAndMissingServers) {
  auto ro = Serve({"memory", "1M"}, true);
  ASSERT_TRUE(ro);
  auto w = OpenNbdVolumeForRestore(ro->uri(), 1 << 20);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), ErrorCode::kPermissionDenied) << w.error().message();

  auto small = Serve({"memory", "1M"});
  ASSERT_TRUE(small);
  w = OpenNbdVolumeForRestore(small->uri(), 2 << 20);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(w.error().message().find("less than"), std::string::npos);

  auto none = OpenNbdVolume("nbd+unix:///?socket=" + (dir_ / "nobody.sock").string());
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message().find("nobody.sock"), std::string::npos);
  auto bad = OpenNbdVolume("http://example.invalid/");
  ASSERT_FALSE(bad.has_value());
}

}  // namespace
}  // namespace coffer

namespace coffer {
namespace {

using testing::NbdkitServer;

class NbdUnresponsiveTest : public NbdVolumeTest {
 protected:
  // A server whose every read takes a minute (nbdkit's delay filter).
  std::unique_ptr<NbdkitServer> SlowServer() {
    return Serve({"--filter=delay", "pattern", "8M", "rdelay=60"});
  }

  // A socket that accepts connections (the kernel's backlog) and never
  // answers: a server that hung before its handshake.
  std::string SilentSocket() {
    const std::string path = (dir_ / "silent.sock").string();
    silent_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(::bind(silent_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(silent_, 8), 0);
    return "nbd+unix:///?socket=" + path;
  }
  ~NbdUnresponsiveTest() override {
    if (silent_ >= 0) ::close(silent_);
  }

  int silent_ = -1;
};

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST_F(NbdUnresponsiveTest, ACancelEndsAReadTheServerDoesNotAnswer) {
  auto server = SlowServer();
  ASSERT_TRUE(server);
  std::atomic<bool> cancel{false};
  NbdOptions o;
  o.cancel = &cancel;
  auto v = OpenNbdVolume(server->uri(), o);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(6 << 20);
  Status st = (*v)->ReadAt(0, buf.data(), buf.size());
  canceller.join();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kCancelled) << st.error().message();
  EXPECT_LT(SecondsSince(start), 5.0);  // not the minute the server takes
  // Later calls fail at once too: no new connection is opened.
  Status again = (*v)->ReadAt(0, buf.data(), buf.size());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kCancelled);
}

TEST_F(NbdUnresponsiveTest, AReadTheServerDoesNotAnswerTimesOut) {
  auto server = SlowServer();
  ASSERT_TRUE(server);
  NbdOptions o;
  o.timeout = std::chrono::seconds(1);
  auto v = OpenNbdVolume(server->uri(), o);
  ASSERT_TRUE(v.has_value()) << v.error().message();
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(4096);
  Status st = (*v)->ReadAt(0, buf.data(), buf.size());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message().find("did not answer within 1 s"), std::string::npos)
      << st.error().message();
  EXPECT_LT(SecondsSince(start), 5.0);
}

TEST_F(NbdUnresponsiveTest, AHandshakeThatNeverComesIsCancelledOrTimesOut) {
  const std::string uri = SilentSocket();
  NbdOptions o;
  o.timeout = std::chrono::seconds(1);
  auto start = std::chrono::steady_clock::now();
  auto timed_out = OpenNbdVolume(uri, o);
  ASSERT_FALSE(timed_out.has_value());
  EXPECT_EQ(timed_out.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(timed_out.error().message().find("did not complete the handshake within 1 s"),
            std::string::npos)
      << timed_out.error().message();
  EXPECT_LT(SecondsSince(start), 5.0);

  std::atomic<bool> cancel{false};
  NbdOptions c;
  c.cancel = &cancel;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  start = std::chrono::steady_clock::now();
  auto cancelled = OpenNbdVolume(uri, c);
  canceller.join();
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_EQ(cancelled.error().code(), ErrorCode::kCancelled);
  EXPECT_LT(SecondsSince(start), 5.0);
}

}  // namespace
}  // namespace coffer

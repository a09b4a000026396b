// When the world misbehaves under build/coffer (issue 17): a directory
// target that fills up, or turns read-only, in the middle of a backup, and
// hosts whose clocks are 20 minutes apart. Each ends in a completed backup
// or a clear failure, and every backup stored before still restores bit for
// bit. (S3 that fails a tenth of its requests: cli_s3_faults_test.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/harness.h"

namespace coffer::testing {
namespace {

class CliWorldTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& m : mounts_) umount2(m.c_str(), MNT_DETACH);
  }
  // A directory target on a tmpfs of `size` ("48m").
  std::string SmallTarget(const std::string& size) {
    std::string dir = dir_ / ("fs-" + std::to_string(mounts_.size()));
    std::filesystem::create_directories(dir);
    EXPECT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()), 0)
        << "mounting a tmpfs needs root: " << std::strerror(errno);
    mounts_.push_back(dir);
    std::string target = dir + "/target";
    EXPECT_EQ(Coffer({"init", "--target", target}).exit_code, 0);
    return target;
  }
  RunResult Coffer(std::vector<std::string> args, Env env = {}) {
    return RunCoffer(std::move(args), std::move(env));
  }
  std::string Image(const std::string& name, const std::string& size, int seed) {
    return MakeImageFile(dir_ / name, size, seed);
  }
  // Backs `img` up, restores it and compares; returns the backup id.
  std::string BackupAndCheck(const std::string& target, const std::string& img,
                             const std::vector<std::string>& prefix = {},
                             Env env = {{"COFFER_PASSPHRASE", "pw"}}) {
    std::vector<std::string> args = prefix;
    args.insert(args.end(), {CofferBin(), "backup", "--target", target, img});
    RunResult r = RunProcess(args, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 36);
  }
  void ExpectRestores(const std::string& target, const std::string& id, const std::string& img) {
    std::string out = dir_ / ("restored-" + id);
    RunResult r = Coffer({"restore", "--target", target, id, out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CompareFiles(img, out), "");
    std::filesystem::remove(out);
  }
  // Files anywhere in the target, temporaries included.
  static size_t Files(const std::string& target) {
    size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(target, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      n += it->is_regular_file(ec);
    }
    return n;
  }
  size_t Backups(const std::string& target) {
    RunResult ls = Coffer({"ls", "--target", target, "--json"});
    EXPECT_EQ(ls.exit_code, 0) << ls.err;
    return nlohmann::json::parse(ls.out, nullptr, false).size();
  }

  TempDir dir_;
  std::vector<std::string> mounts_;
};

TEST_F(CliWorldTest, ATargetThatFillsUpMidBackupFailsClearlyAndLosesNothing) {
  const std::string target = SmallTarget("40m");
  const std::string small = Image("small", "8M", 51);
  const std::string id = BackupAndCheck(target, small);
  const std::string big = Image("big", "256M", 52);
  RunResult full = Coffer({"backup", "--target", target, big});
  EXPECT_EQ(full.exit_code, 1) << full.err;
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  EXPECT_EQ(Backups(target), 1u);
  ExpectRestores(target, id, small);
  RunResult check = Coffer({"check", "--target", target, "--read-data"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // Room made by a GC of what the failed backup left: the next small one fits.
  RunResult gc = Coffer({"gc", "--target", target, "--grace", "0"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  const std::string again = BackupAndCheck(target, Image("small2", "8M", 53));
  ExpectRestores(target, again, dir_ / "small2");
}

TEST_F(CliWorldTest, ATargetThatTurnsReadOnlyMidBackupFailsClearlyAndLosesNothing) {
  const std::string target = SmallTarget("600m");
  const std::string mount_point = mounts_.back();
  const std::string small = Image("small", "8M", 61);
  const std::string id = BackupAndCheck(target, small);
  const std::string big = Image("big", "384M", 62);
  // Mid-backup: once it has written a few objects (temporaries count: a
  // batch of chunks is published under its names only when it is whole).
  const size_t before = Files(target);
  pid_t pid =
      Spawn({CofferBin(), "backup", "--target", target, big}, {{"COFFER_PASSPHRASE", "pw"}});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Files(target) < before + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // A file system cannot be remounted read-only while a file on it is open
  // for writing (EBUSY): stop the backup, try, and let it run a little
  // until it is between two objects.
  bool read_only = false;
  for (int attempt = 0; attempt < 5000 && !read_only; ++attempt) {
    ::kill(pid, SIGSTOP);
    read_only = mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    ::kill(pid, SIGCONT);
    if (!read_only) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(read_only) << "no moment without a file open for writing: " << std::strerror(errno);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << "a backup onto a read-only target must fail";
  EXPECT_EQ(Backups(target), 1u);
  // Writable again (a restore or check takes a lock, which is a write):
  // the first backup restores, check is clean.
  ASSERT_EQ(mount(nullptr, mount_point.c_str(), nullptr, MS_REMOUNT, nullptr), 0)
      << std::strerror(errno);
  ExpectRestores(target, id, small);
  RunResult check = Coffer({"check", "--target", target, "--read-data"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  // The next backup completes without manual unlocking (the
  // failed process could not remove its lock; it is provably gone).
  const std::string id2 = BackupAndCheck(target, big);
  ExpectRestores(target, id2, big);
}

// Two hosts 20 minutes apart (libfaketime): a backup from the fast clock,
// a GC from the true one meanwhile, and a restore from a clock behind. The
// GC neither deletes what the backup names nor breaks its lock (20 minutes
// is under the locks' 30-minute stale_after), and everything restores.
// libfaketime is preloaded; under ASan the sanitizer's runtime must then
// not insist on coming first.
Env Skewed() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return {{"COFFER_PASSPHRASE", "pw"},
          {"ASAN_OPTIONS", std::string(asan ? asan : "") + (asan && *asan ? ":" : "") +
                               "verify_asan_link_order=0"}};
}

TEST_F(CliWorldTest, ClocksTwentyMinutesApartLoseNothing) {
  const std::string target = dir_ / "target";
  ASSERT_EQ(Coffer({"init", "--target", target}).exit_code, 0);
  const std::string first = Image("first", "16M", 71);
  const std::string ahead = "/usr/bin/faketime";  // Debian's faketime (make deps)
  const std::string id1 = BackupAndCheck(target, first, {ahead, "-f", "+20m"}, Skewed());
  const std::string big = Image("big", "256M", 72);
  pid_t pid =
      Spawn({ahead, "-f", "+20m", CofferBin(), "backup", "--target", target, big}, Skewed());
  const size_t before = ChunkFiles(target).size();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ChunkFiles(target).size() < before + 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The GC on the true clock meets the backup's lock: it waits or says who
  // holds the target; either way it deletes nothing the backup needs.
  RunResult gc = Coffer({"gc", "--target", target, "--grace", "0", "--lock-wait", "0"});
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the skewed backup failed";
  if (gc.exit_code != 0) {
    EXPECT_NE(gc.err.find("lock"), std::string::npos) << gc.err;
  }
  RunResult ls = Coffer({"ls", "--target", target, "--json"});
  auto list = nlohmann::json::parse(ls.out);
  ASSERT_EQ(list.size(), 2u) << ls.out;
  // A GC now, from the true clock, and a restore from one 20 minutes behind.
  EXPECT_EQ(Coffer({"gc", "--target", target, "--grace", "0"}).exit_code, 0);
  for (const auto& b : list) {
    const std::string id = b["backup_id"];
    const std::string img = id == id1 ? first : big;
    std::string out = dir_ / ("restored-" + id);
    RunResult r = RunProcess(
        {ahead, "-f", "-20m", CofferBin(), "restore", "--target", target, id, out}, Skewed());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CompareFiles(img, out), "");
  }
  RunResult check = Coffer({"check", "--target", target, "--read-data"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace coffer::testing

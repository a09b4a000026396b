// End to end through build/coffer: what goes wrong, and that nothing is lost
// when it does — tampered chunks, wrong passphrases, kill -9 mid-backup, a
// full disk on restore, bad input and usage errors, locks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/harness.h"

namespace coffer::testing {
namespace {

using nlohmann::json;

class CliFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = dir_ / "target";
    ASSERT_EQ(Coffer({"init", "--target", target_}).exit_code, 0);
  }
  RunResult Coffer(std::vector<std::string> args, Env env = {}) {
    return RunCoffer(std::move(args), std::move(env));
  }
  std::string Image(const std::string& name, const std::string& size, int seed) {
    return MakeImageFile(dir_ / name, size, seed);
  }
  std::string Backup(const std::string& img) {
    RunResult r = Coffer({"backup", "--target", target_, img});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 36);
  }

  TempDir dir_;
  std::string target_;
};

TEST_F(CliFaultTest, AFlippedByteInAChunkFailsRestoreWithExit4NamingChunkAndOffset) {
  std::string img = Image("img", "16M", 1);
  std::string id = Backup(img);
  auto chunks = ChunkFiles(target_);
  ASSERT_FALSE(chunks.empty());
  std::string victim = chunks[chunks.size() / 2];
  std::string chunk_id = std::filesystem::path(victim).filename();
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char c;
    f.seekg(100);
    f.get(c);
    f.seekp(100);
    f.put(char(c ^ 0x01));
  }
  std::string out = dir_ / "out";
  RunResult r = Coffer({"restore", "--target", target_, id, out});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find(chunk_id), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("volume offset"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed restore left DEST behind";
  for (auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().string().find("coffer-partial"), std::string::npos) << e.path();
  }

  RunResult structural = Coffer({"check", "--target", target_});
  EXPECT_EQ(structural.exit_code, 0) << structural.out;
  RunResult deep = Coffer({"check", "--target", target_, "--read-data"});
  EXPECT_EQ(deep.exit_code, 4) << deep.out << deep.err;
  EXPECT_NE(deep.out.find(chunk_id), std::string::npos) << deep.out;
  EXPECT_NE(deep.out.find("offset"), std::string::npos) << deep.out;
}

TEST_F(CliFaultTest, ADeletedChunkIsAnIntegrityErrorForCheckAndRestore) {
  std::string id = Backup(Image("img", "8M", 2));
  auto chunks = ChunkFiles(target_);
  ASSERT_FALSE(chunks.empty());
  std::string chunk_id = std::filesystem::path(chunks[0]).filename();
  std::filesystem::remove(chunks[0]);
  RunResult check = Coffer({"check", "--target", target_});
  EXPECT_EQ(check.exit_code, 4);
  EXPECT_NE(check.out.find(chunk_id), std::string::npos) << check.out;
  RunResult r = Coffer({"restore", "--target", target_, id, dir_ / "out"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.err;
}

TEST_F(CliFaultTest, ATamperedManifestIsAnIntegrityError) {
  std::string id = Backup(Image("img", "4M", 3));
  std::string manifest = target_ + "/manifests/" + id;
  std::string bytes = ReadFile(manifest);
  bytes[bytes.size() - 5] ^= 0x10;
  WriteFile(manifest, bytes);
  RunResult r = Coffer({"restore", "--target", target_, id, dir_ / "out"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find(id), std::string::npos) << r.err;
  EXPECT_EQ(Coffer({"check", "--target", target_}).exit_code, 4);
  // GC refuses to sweep when it cannot read every manifest.
  RunResult gc = Coffer({"gc", "--target", target_, "--grace", "0"});
  EXPECT_EQ(gc.exit_code, 4);
  EXPECT_NE(gc.err.find("before deleting anything"), std::string::npos) << gc.err;
  EXPECT_FALSE(ChunkFiles(target_).empty());
}

TEST_F(CliFaultTest, WrongPassphraseExits3AndChangesNothing) {
  Backup(Image("img", "1M", 4));
  for (const char* verb : {"ls", "check", "gc"}) {
    RunResult r = Coffer({verb, "--target", target_}, {{"COFFER_PASSPHRASE", "nope"}});
    EXPECT_EQ(r.exit_code, 3) << verb;
    EXPECT_NE(r.err.find("wrong passphrase"), std::string::npos) << r.err;
  }
  std::string pwfile = dir_ / "pw";
  WriteFile(pwfile, "pw\n");
  RunResult from_file =
      Coffer({"ls", "--target", target_, "--passphrase-file", pwfile}, {{"COFFER_PASSPHRASE", ""}});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  RunResult none = Coffer({"ls", "--target", target_}, {{"COFFER_PASSPHRASE", ""}});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no passphrase"), std::string::npos) << none.err;
}

TEST_F(CliFaultTest, KillDashNineDuringBackupLosesNothing) {
  std::string early = Image("early", "8M", 5);
  std::string early_id = Backup(early);
  std::string big = Image("big", "512M", 6);
  size_t before = ChunkFiles(target_).size();

  // Kill the backup once it has stored some chunks, before it finishes.
  bool killed_mid_backup = false;
  for (int attempt = 0; attempt < 3 && !killed_mid_backup; ++attempt) {
    pid_t pid =
        Spawn({CofferBin(), "backup", "--target", target_, big}, {{"COFFER_PASSPHRASE", "pw"}});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (ChunkFiles(target_).size() < before + 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    killed_mid_backup = WIFSIGNALED(status);
  }
  ASSERT_TRUE(killed_mid_backup) << "the backup finished before it could be killed";

  RunResult ls = Coffer({"ls", "--target", target_, "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(nlohmann::json::parse(ls.out).size(), 1u) << "a killed backup must not exist";
  RunResult check = Coffer({"check", "--target", target_, "--read-data"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  std::string out = dir_ / "early-restored";
  ASSERT_EQ(Coffer({"restore", "--target", target_, early_id, out}).exit_code, 0);
  EXPECT_EQ(CompareFiles(early, out), "");
  // The next backup completes (the dead process's lock is stale) and restores.
  std::string big_id = Backup(big);
  ASSERT_EQ(big_id.size(), 36u);
  std::string big_out = dir_ / "big-restored";
  ASSERT_EQ(Coffer({"restore", "--target", target_, big_id, big_out}).exit_code, 0);
  EXPECT_EQ(CompareFiles(big, big_out), "");
}

TEST_F(CliFaultTest, AFullDiskOnRestoreIsAClearErrorAndLeavesNothing) {
  std::string id = Backup(Image("img", "48M", 7));
  std::string small = dir_ / "small-fs";
  std::filesystem::create_directories(small);
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=16m"), 0)
      << "mounting a 16 MiB tmpfs needs root: " << std::strerror(errno);
  RunResult r = Coffer({"restore", "--target", target_, id, small + "/out.img"});
  std::vector<std::string> left;
  for (auto& e : std::filesystem::directory_iterator(small)) left.push_back(e.path());
  umount(small.c_str());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("out.img"), std::string::npos) << r.err;
  // Found when the restore reserves its room, before any chunk is fetched.
  EXPECT_NE(r.err.find("reserving room"), std::string::npos) << r.err;
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST_F(CliFaultTest, BadSourcesAndDestinationsAreClearErrors) {
  RunResult missing = Coffer({"backup", "--target", target_, dir_ / "no-such.img"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no-such.img: No such file or directory"), std::string::npos)
      << missing.err;
  RunResult directory = Coffer({"backup", "--target", target_, dir_.path()});
  EXPECT_EQ(directory.exit_code, 1);
  EXPECT_NE(directory.err.find("is a directory: a file volume is a regular file or a block device"),
            std::string::npos)
      << directory.err;
  // A FIFO is refused at once, not waited on for a writer that never comes.
  const std::string fifo = dir_ / "vm.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunResult pipe = Coffer({"backup", "--target", target_, fifo});
  EXPECT_EQ(pipe.exit_code, 1);
  EXPECT_NE(pipe.err.find("is a FIFO"), std::string::npos) << pipe.err;
  RunResult chardev = Coffer({"backup", "--target", target_, "/dev/null"});
  EXPECT_EQ(chardev.exit_code, 1);
  EXPECT_NE(chardev.err.find("/dev/null is a character device"), std::string::npos) << chardev.err;

  std::string img = Image("img", "1M", 8);
  std::string id = Backup(img);
  std::string dest = dir_ / "precious";
  WriteFile(dest, "do not overwrite");
  RunResult exists = Coffer({"restore", "--target", target_, id, dest});
  EXPECT_EQ(exists.exit_code, 1);
  EXPECT_NE(exists.err.find("--force"), std::string::npos) << exists.err;
  EXPECT_EQ(ReadFile(dest), "do not overwrite");
  RunResult forced = Coffer({"restore", "--target", target_, id, dest, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(CompareFiles(img, dest), "");

  RunResult nowhere = Coffer({"ls", "--target", dir_ / "not-a-target"});
  EXPECT_EQ(nowhere.exit_code, 1);
  RunResult empty_dir = Coffer({"ls", "--target", dir_.path()});
  EXPECT_EQ(empty_dir.exit_code, 1);
  EXPECT_NE(empty_dir.err.find("coffer init"), std::string::npos) << empty_dir.err;
  RunResult twice = Coffer({"init", "--target", target_});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("already holds"), std::string::npos) << twice.err;
  RunResult unknown = Coffer({"restore", "--target", target_, "ffffffff", dir_ / "o"});
  EXPECT_EQ(unknown.exit_code, 1);
}

TEST_F(CliFaultTest, UsageErrorsExit2) {
  EXPECT_EQ(Coffer({}).exit_code, 2);
  EXPECT_EQ(Coffer({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Coffer({"backup", "--target", target_}).exit_code, 2);  // no SOURCE
  RunResult grace = Coffer({"gc", "--target", target_, "--grace", "10"});
  EXPECT_EQ(grace.exit_code, 2);
  EXPECT_NE(grace.err.find("unit"), std::string::npos) << grace.err;
  RunResult chunks = Coffer({"init", "--target", dir_ / "t2", "--chunk-avg", "1000000"});
  EXPECT_EQ(chunks.exit_code, 2);
  EXPECT_NE(chunks.err.find("avg"), std::string::npos) << chunks.err;
  RunResult help = Coffer({"help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* verb : {"init", "backup", "restore", "ls", "check", "forget", "gc", "key"}) {
    EXPECT_NE(help.out.find(verb), std::string::npos) << verb;
  }
  RunResult json_error = Coffer({"ls", "--target", dir_ / "nothing", "--json"});
  EXPECT_EQ(json_error.exit_code, 1);
  auto j = nlohmann::json::parse(json_error.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json_error.out;
  EXPECT_EQ(j["error"]["exit_code"], 1);
}

TEST_F(CliFaultTest, GcWaitsForNoBackupAndStaleLocksCanBeBroken) {
  Backup(Image("img", "1M", 9));
  // A shared lock of a live process on this host (this test) blocks gc.
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::filesystem::create_directories(target_ + "/locks");
  std::string live = target_ + "/locks/00000000-0000-4000-8000-000000000001";
  WriteFile(live, std::string(R"({"exclusive":false,"purpose":"backup","host":")") + host +
                      R"(","pid":)" + std::to_string(getpid()) + R"(,"created_at":1})");
  RunResult gc = Coffer({"gc", "--target", target_, "--grace", "0"});
  EXPECT_EQ(gc.exit_code, 1);
  EXPECT_NE(gc.err.find("locked"), std::string::npos) << gc.err;
  // Backups share the lock and go on.
  EXPECT_EQ(Coffer({"backup", "--target", target_, dir_ / "img"}).exit_code, 0);
  // unlock removes only stale locks; --all removes this one too.
  RunResult unlock = Coffer({"unlock", "--target", target_, "--json"});
  EXPECT_EQ(nlohmann::json::parse(unlock.out)["removed"], 0);
  RunResult all = Coffer({"unlock", "--target", target_, "--all", "--json"});
  EXPECT_EQ(nlohmann::json::parse(all.out)["removed"], 1);
  EXPECT_EQ(Coffer({"gc", "--target", target_, "--grace", "0"}).exit_code, 0);
}

}  // namespace
}  // namespace coffer::testing

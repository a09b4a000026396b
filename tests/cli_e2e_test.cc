// End to end through build/coffer on a local directory target: round trips,
// incremental backups, dedup across volumes, sparse files, forget + gc, key
// slots, JSON output.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/harness.h"

namespace coffer::testing {
namespace {

using nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = dir_ / "target";
    auto r = Coffer({"init", "--target", target_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  RunResult Coffer(std::vector<std::string> args, Env env = {}) {
    args.insert(args.begin(), CofferBin());
    if (!env.contains("COFFER_PASSPHRASE")) env["COFFER_PASSPHRASE"] = "correct horse";
    return RunProcess(args, env);
  }
  json CofferJson(std::vector<std::string> args, int want_exit = 0) {
    args.push_back("--json");
    RunResult r = Coffer(args);
    EXPECT_EQ(r.exit_code, want_exit) << r.err;
    auto j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return j;
  }
  void MakeImage(const std::string& path, const std::string& size, int seed, bool sparse = false) {
    std::vector<std::string> args = {MkimageBin(),         "create", "--size", size, "--seed",
                                     std::to_string(seed), path};
    if (sparse) args.insert(args.begin() + 2, "--sparse");
    RunResult r = RunProcess(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void Mutate(const std::string& path, const std::string& percent, int seed) {
    RunResult r = RunProcess(
        {MkimageBin(), "mutate", "--percent", percent, "--seed", std::to_string(seed), path});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  json Backup(const std::string& source, const std::string& name = "") {
    std::vector<std::string> args = {"backup", "--target", target_, source};
    if (!name.empty()) args.insert(args.end(), {"--name", name});
    return CofferJson(args);
  }
  void ExpectRestoresTo(const std::string& backup_id, const std::string& original) {
    std::string out = dir_ / ("restored-" + backup_id);
    RunResult r = Coffer({"restore", "--target", target_, backup_id, out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CompareFiles(original, out), "") << "backup " << backup_id;
    unlink(out.c_str());
  }

  TempDir dir_;
  std::string target_;
};

TEST_F(CliTest, RoundTripsAreBitExactForEverySize) {
  for (const char* size : {"0", "1", "4095", "1048577"}) {
    std::string img = dir_ / (std::string("img-") + size);
    MakeImage(img, size, 7);
    json b = Backup(img);
    EXPECT_EQ(b["logical_bytes"].get<uint64_t>(), std::stoull(size));
    ExpectRestoresTo(b["backup_id"], img);
  }
}

TEST_F(CliTest, LargeMixedImageRoundTripsBitExact) {
  std::string img = dir_ / "big.img";
  MakeImage(img, "288M", 11);  // random, text, zeros and repeated regions
  json b = Backup(img);
  EXPECT_EQ(b["logical_bytes"].get<uint64_t>(), 288ull << 20);
  EXPECT_GT(b["zero_bytes"].get<uint64_t>(), 50ull << 20);
  // Repeated regions and compression: less is stored than was read.
  EXPECT_LT(b["stored_bytes"].get<uint64_t>(), b["logical_bytes"].get<uint64_t>() * 3 / 4);
  EXPECT_LT(b["new_bytes"].get<uint64_t>(),
            b["logical_bytes"].get<uint64_t>() - b["zero_bytes"].get<uint64_t>());
  ExpectRestoresTo(b["backup_id"], img);
}

TEST_F(CliTest, BackupJsonHasTheDocumentedFields) {
  std::string img = dir_ / "img";
  MakeImage(img, "4M", 3);
  json b = Backup(img, "vm-1");
  for (const char* k : {"backup_id", "name", "logical_bytes", "zero_bytes", "new_bytes",
                        "stored_bytes", "chunks", "new_chunks", "seconds"}) {
    EXPECT_TRUE(b.contains(k)) << k;
  }
  EXPECT_EQ(b["name"], "vm-1");
  EXPECT_EQ(b["backup_id"].get<std::string>().size(), 36u);
  json ls = CofferJson({"ls", "--target", target_});
  ASSERT_TRUE(ls.is_array());
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["backup_id"], b["backup_id"]);
  EXPECT_EQ(ls[0]["name"], "vm-1");
  EXPECT_EQ(ls[0]["logical_bytes"], 4u << 20);
  EXPECT_TRUE(std::regex_match(ls[0]["created_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  // Without --json, backup prints the id alone on stdout.
  RunResult plain = Coffer({"backup", "--target", target_, img});
  ASSERT_EQ(plain.exit_code, 0);
  EXPECT_TRUE(std::regex_match(plain.out, std::regex("[0-9a-f-]{36}\n"))) << plain.out;
}

TEST_F(CliTest, SecondBackupOfAChangedImageStoresOnlyTheChangedChunks) {
  std::string img = dir_ / "vm.img";
  MakeImage(img, "128M", 5);
  std::string first_copy = dir_ / "vm-first.img";
  ASSERT_EQ(RunProcess({"/bin/cp", "--sparse=always", img, first_copy}).exit_code, 0);
  json first = Backup(img, "vm");
  // Overwrite three 64 KiB regions in place.
  int fd = open(img.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string noise(65536, 0);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = char((i * 2654435761u) >> 13);
  for (off_t off : {off_t(10 << 20) + 123, off_t(50) << 20, off_t(100 << 20) + 7}) {
    ASSERT_EQ(pwrite(fd, noise.data(), noise.size(), off), ssize_t(noise.size()));
  }
  close(fd);
  json second = Backup(img, "vm");
  EXPECT_EQ(second["parent_id"], first["backup_id"]);
  // Each region touches at most three chunks (the chunks it overlaps, and a
  // cut that moved); nothing else is new.
  EXPECT_GE(second["new_chunks"].get<uint64_t>(), 3u);
  EXPECT_LE(second["new_chunks"].get<uint64_t>(), 9u);
  EXPECT_LE(second["new_bytes"].get<uint64_t>(), 9ull * (4 << 20));
  ExpectRestoresTo(second["backup_id"], img);
  ExpectRestoresTo(first["backup_id"], first_copy);
}

TEST_F(CliTest, AClusteredOnePercentChangeStoresAFractionOfTheImage) {
  std::string img = dir_ / "vm.img";
  MakeImage(img, "256M", 15);
  json first = Backup(img, "vm");
  Mutate(img, "1", 16);  // 64 KiB-2 MiB extents and scattered 4 KiB writes
  json second = Backup(img, "vm");
  EXPECT_GT(second["new_bytes"].get<uint64_t>(), (256ull << 20) / 100);
  EXPECT_LT(second["new_bytes"].get<uint64_t>(), first["new_bytes"].get<uint64_t>() / 4);
  ExpectRestoresTo(second["backup_id"], img);
}

TEST_F(CliTest, TwoVolumesSharingDataStoreItOnce) {
  std::string a = dir_ / "a.img", b = dir_ / "b.img", c = dir_ / "c.img";
  MakeImage(a, "64M", 21);
  ASSERT_EQ(RunProcess({"/bin/cp", a, b}).exit_code, 0);
  ASSERT_EQ(RunProcess({"/bin/cp", a, c}).exit_code, 0);
  int fd = open(c.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string noise(1 << 20, 0);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = char((i * 2654435761u) >> 11);
  ASSERT_EQ(pwrite(fd, noise.data(), noise.size(), 20 << 20), ssize_t(noise.size()));
  close(fd);
  json ja = Backup(a, "a");
  json jb = Backup(b, "b");
  json jc = Backup(c, "c");
  EXPECT_TRUE(jb["parent_id"].is_null());
  // An identical volume adds nothing but its manifest.
  EXPECT_EQ(jb["new_bytes"], 0);
  EXPECT_EQ(jb["new_chunks"], 0);
  EXPECT_LT(jb["stored_bytes"].get<uint64_t>(), 64u << 10);
  // One changed MiB adds the chunks around it, nothing else: those it
  // overlaps (chunks are at least 256 KiB, so at most 5; the gear table,
  // and with it where the cuts fall, is random per target) and those after
  // it until the cuts fall back in step. That is mostly within the next
  // chunk, but not always: FastCDC's mask depends on the distance from the
  // chunk's start, so a cut of the original can fail the test from a new
  // start. Over 200 targets, 1-5 new chunks; CI once saw 7.
  EXPECT_GT(jc["new_chunks"].get<uint64_t>(), 0u);
  EXPECT_LE(jc["new_chunks"].get<uint64_t>(), 10u);
  EXPECT_LT(jc["new_bytes"].get<uint64_t>(), 16u << 20) << "a quarter of the volume or more";
  ExpectRestoresTo(jb["backup_id"], b);
  ExpectRestoresTo(jc["backup_id"], c);
  ExpectRestoresTo(ja["backup_id"], a);
}

// libcurl, libpq, libnbd and libiscsi are loaded only by the commands that
// need them (base/shared_library.h): a backup to and a restore from a local
// directory map none of them, so they cost it no memory, and a machine
// without them can still run it. The dynamic linker names every library it
// loads on stderr under LD_DEBUG=files.
TEST_F(CliTest, LocalBackupsAndRestoresLoadNoNetworkLibraries) {
  const std::string image = dir_ / "disk.img", restored = dir_ / "restored.img";
  MakeImage(image, "1M", 7);
  const Env debug = {{"LD_DEBUG", "files"}};
  RunResult backup = Coffer({"backup", "--target", target_, "--json", image}, debug);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  auto id = json::parse(backup.out, nullptr, false);
  ASSERT_TRUE(id.contains("backup_id")) << backup.out;
  RunResult restore =
      Coffer({"restore", "--target", target_, id["backup_id"].get<std::string>(), restored}, debug);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(CompareFiles(image, restored), "");
  for (const RunResult* r : {&backup, &restore}) {
    // The linker's list is there: the libraries every command needs are in it.
    EXPECT_NE(r->err.find("libsodium.so"), std::string::npos) << r->err.substr(0, 2000);
    for (const char* lib : {"libcurl.so", "libpq.so", "libnbd.so", "libiscsi.so"}) {
      EXPECT_EQ(r->err.find(lib), std::string::npos) << lib << " was loaded";
    }
  }
}

TEST_F(CliTest, SparseInputIsSkippedAndOutputIsSparse) {
  std::string img = dir_ / "sparse.img";
  int fd = open(img.c_str(), O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 512 << 20), 0);
  std::string data(1 << 20, 'd');
  for (uint64_t off : {uint64_t(0), uint64_t(100) << 20, uint64_t(511) << 20}) {
    ASSERT_EQ(pwrite(fd, data.data(), data.size(), off_t(off)), ssize_t(data.size()));
  }
  close(fd);
  json b = Backup(img);
  EXPECT_GE(b["zero_bytes"].get<uint64_t>(), 500ull << 20);
  std::string out = dir_ / "out.img";
  RunResult r = Coffer({"restore", "--target", target_, b["backup_id"], out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CompareFiles(img, out), "");
  EXPECT_LT(AllocatedBytes(out), 16ull << 20) << "zero ranges were written instead of skipped";
}

// Regression: the read window looked past holes into later extents, and the
// data between was recorded as zeros (found by the agent's tests).
TEST_F(CliTest, AMixedSparseImageRoundTripsBitExact) {
  std::string img = dir_ / "mixed-sparse.img";
  MakeImage(img, "96M", 43, /*sparse=*/true);
  json b = Backup(img);
  EXPECT_GT(b["zero_bytes"].get<uint64_t>(), 10u << 20);
  ExpectRestoresTo(b["backup_id"], img);
}

TEST_F(CliTest, ForgetAndGcFreeExactlyWhatIsNoLongerReferenced) {
  std::string a = dir_ / "a.img", b = dir_ / "b.img";
  MakeImage(a, "32M", 31);
  MakeImage(b, "32M", 32);
  json ja = Backup(a, "a");
  json jb = Backup(b, "b");
  json before = CofferJson({"check", "--target", target_});
  EXPECT_EQ(before["chunks_unreferenced"], 0);
  json forgot = CofferJson({"forget", "--target", target_, ja["backup_id"]});
  EXPECT_EQ(forgot["forgotten"][0], ja["backup_id"]);
  json mid = CofferJson({"check", "--target", target_});
  uint64_t garbage = mid["chunks_unreferenced"];
  EXPECT_GT(garbage, 0u);

  // Within the grace period nothing is deleted; a dry run deletes nothing.
  json young = CofferJson({"gc", "--target", target_});
  EXPECT_EQ(young["chunks_deleted"], 0);
  EXPECT_EQ(young["chunks_in_grace"], garbage);
  json dry = CofferJson({"gc", "--target", target_, "--grace", "0", "--dry-run"});
  EXPECT_EQ(dry["chunks_deleted"], garbage);
  EXPECT_EQ(CofferJson({"check", "--target", target_})["chunks_unreferenced"], garbage);

  json gc = CofferJson({"gc", "--target", target_, "--grace", "0"});
  EXPECT_EQ(gc["chunks_deleted"], garbage);
  EXPECT_EQ(gc["generation"], 1);
  json after = CofferJson({"check", "--target", target_, "--read-data"});
  EXPECT_EQ(after["ok"], true);
  EXPECT_EQ(after["chunks_unreferenced"], 0);
  EXPECT_EQ(after["chunks_stored"].get<uint64_t>(),
            before["chunks_stored"].get<uint64_t>() - garbage);
  EXPECT_EQ(after["chunks_read"], after["chunks_referenced"]);
  ExpectRestoresTo(jb["backup_id"], b);
  // The forgotten backup is gone.
  RunResult r = Coffer({"restore", "--target", target_, ja["backup_id"], dir_ / "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no backup"), std::string::npos) << r.err;
}

// A backup killed before its batch was published leaves temporary files
// that nothing names; gc removes those older than its grace period and
// than an hour (a live writer's are seconds old).
TEST_F(CliTest, GcRemovesTemporariesOfDeadWritersOlderThanTheGrace) {
  std::string a = dir_ / "a.img";
  MakeImage(a, "4M", 33);
  Backup(a, "a");
  std::filesystem::create_directories(target_ + "/chunks/ab");
  const std::string old_tmp = target_ + "/chunks/ab/.tmp-0123456789abcdef";
  const std::string new_tmp = target_ + "/chunks/ab/.tmp-fedcba9876543210";
  WriteFile(old_tmp, "half a chunk");
  WriteFile(new_tmp, "a chunk being written");
  const auto two_days_ago = std::filesystem::file_time_type::clock::now() - std::chrono::hours(48);
  std::filesystem::last_write_time(old_tmp, two_days_ago);

  json dry = CofferJson({"gc", "--target", target_, "--dry-run"});
  EXPECT_EQ(dry["temporaries_deleted"], 1);  // would be
  EXPECT_TRUE(std::filesystem::exists(old_tmp)) << "a dry run deleted something";
  json gc = CofferJson({"gc", "--target", target_});
  EXPECT_EQ(gc["temporaries_deleted"], 1);
  EXPECT_FALSE(std::filesystem::exists(old_tmp));
  EXPECT_TRUE(std::filesystem::exists(new_tmp)) << "a young temporary may still be written";
  // Even with no grace at all, a temporary under an hour old stays.
  json no_grace = CofferJson({"gc", "--target", target_, "--grace", "0"});
  EXPECT_EQ(no_grace["temporaries_deleted"], 0);
  EXPECT_TRUE(std::filesystem::exists(new_tmp));
  std::filesystem::last_write_time(
      new_tmp, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(61));
  RunResult plain = Coffer({"gc", "--target", target_, "--grace", "0"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("removed 1 temporary objects"), std::string::npos) << plain.out;
  EXPECT_FALSE(std::filesystem::exists(new_tmp));
  EXPECT_EQ(CofferJson({"check", "--target", target_})["ok"], true);
}

TEST_F(CliTest, KeySlotsCanBeAddedAndRemovedButNeverTheLast) {
  // Without a new passphrase and without a terminal, nothing is added.
  RunResult none = Coffer({"key", "add", "--target", target_});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("COFFER_NEW_PASSPHRASE"), std::string::npos) << none.err;
  RunResult add =
      Coffer({"key", "add", "--target", target_}, {{"COFFER_NEW_PASSPHRASE", "battery staple"}});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  json slots = CofferJson({"key", "list", "--target", target_});
  ASSERT_EQ(slots.size(), 2u);
  std::string old_slot;
  for (const auto& s : slots) {
    if (s["current"]) old_slot = s["slot_id"];
  }
  ASSERT_FALSE(old_slot.empty());
  // The new passphrase opens the target; remove the old slot with it.
  Env with_new = {{"COFFER_PASSPHRASE", "battery staple"}};
  RunResult rm = Coffer({"key", "remove", "--target", target_, old_slot}, with_new);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  RunResult old = Coffer({"ls", "--target", target_});
  EXPECT_EQ(old.exit_code, 3);
  EXPECT_NE(old.err.find("wrong passphrase"), std::string::npos) << old.err;
  EXPECT_EQ(Coffer({"ls", "--target", target_}, with_new).exit_code, 0);
  RunResult last = Coffer({"key", "list", "--target", target_, "--json"}, with_new);
  std::string last_slot = json::parse(last.out)[0]["slot_id"];
  RunResult refuse = Coffer({"key", "remove", "--target", target_, last_slot}, with_new);
  EXPECT_EQ(refuse.exit_code, 1);
  EXPECT_NE(refuse.err.find("last"), std::string::npos) << refuse.err;
}

// Attaches a file to a loop device for the test's lifetime (needs root, as
// the suite has on CI).
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& file) {
    RunResult r = RunProcess({"/sbin/losetup", "--find", "--show", file});
    if (r.exit_code == 0) path_ = r.out.substr(0, r.out.find('\n'));
    error_ = r.err;
  }
  ~LoopDevice() {
    if (!path_.empty()) RunProcess({"/sbin/losetup", "-d", path_});
  }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_, error_;
};

TEST_F(CliTest, BlockDevicesAreBackedUpAndRestoredInPlace) {
  std::string img = dir_ / "disk.img";
  MakeImage(img, "48M", 41);
  LoopDevice source(img);
  ASSERT_FALSE(source.path().empty())
      << "losetup failed (the suite needs root): " << source.error();
  json b = Backup(source.path(), "loop-disk");
  EXPECT_EQ(b["logical_bytes"], 48u << 20);
  ExpectRestoresTo(b["backup_id"], img);

  // In place onto another device: only with --force, then bit-exact.
  std::string other = dir_ / "other.img";
  WriteFile(other, std::string(48 << 20, '\x5a'));
  LoopDevice dest(other);
  ASSERT_FALSE(dest.path().empty()) << dest.error();
  RunResult refused = Coffer({"restore", "--target", target_, b["backup_id"], dest.path()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  RunResult r = Coffer({"restore", "--target", target_, b["backup_id"], dest.path(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CompareFiles(img, dest.path()), "");
}

// Mounts a ramfs for the test's lifetime (needs root, as the suite has on
// CI). ramfs has no O_DIRECT: open(2) refuses the flag with EINVAL.
class RamFs {
 public:
  explicit RamFs(std::string dir) : dir_(std::move(dir)) {
    std::filesystem::create_directory(dir_);
    RunResult r = RunProcess({"/bin/mount", "-t", "ramfs", "-o", "mode=0700", "coffer-test", dir_});
    mounted_ = r.exit_code == 0;
    error_ = r.err;
  }
  // Unmounted before the fixture's TempDir goes: left mounted, its removal
  // would empty the ramfs and leave the mount behind.
  ~RamFs() {
    if (!mounted_) return;
    RunResult r = RunProcess({"/bin/umount", dir_});
    if (r.exit_code != 0) {
      ADD_FAILURE() << "umount " << dir_ << ": " << r.err;
      RunProcess({"/bin/umount", "-l", dir_});
    }
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string operator/(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_, error_;
  bool mounted_ = false;
};

// Where the file system refuses O_DIRECT, the reads, the chunk objects and
// the restored file all go through the page cache instead: every step
// succeeds and every byte comes back.
TEST_F(CliTest, WhereODirectIsRefusedEverythingGoesThroughThePageCache) {
  RamFs fs(dir_ / "ramfs");
  ASSERT_TRUE(fs.mounted()) << "mount -t ramfs failed (the suite needs root): " << fs.error();
  std::string img = fs / "disk.img";
  MakeImage(img, "24M", 43);
  // The premise: were it to take O_DIRECT, this test would no longer cover
  // the fallback.
  errno = 0;
  int fd = ::open(img.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  ASSERT_LT(fd, 0) << "ramfs took O_DIRECT";
  ASSERT_EQ(errno, EINVAL);

  target_ = fs / "target";
  ASSERT_EQ(Coffer({"init", "--target", target_}).exit_code, 0);
  std::string first_copy = dir_ / "first.img";
  std::filesystem::copy_file(img, first_copy);
  json b1 = Backup(img, "ramfs-disk");
  Mutate(img, "5", 44);
  json b2 = Backup(img, "ramfs-disk");
  EXPECT_GT(b2["new_bytes"].get<uint64_t>(), 0u);
  EXPECT_LT(b2["new_bytes"].get<uint64_t>(), b1["new_bytes"].get<uint64_t>());
  for (const auto& [id, want] : {std::pair{b1["backup_id"], first_copy}, {b2["backup_id"], img}}) {
    std::string out = fs / ("restored-" + id.get<std::string>());
    RunResult r = Coffer({"restore", "--target", target_, id, out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CompareFiles(want, out), "") << "backup " << id;
  }
  // Nothing half-made is left: each object's first open, refused, made a
  // file that the store removed before opening it again without the flag.
  for (const auto& e : std::filesystem::recursive_directory_iterator(target_)) {
    EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << e.path();
  }
  json check = CofferJson({"check", "--target", target_, "--read-data"});
  EXPECT_TRUE(check["errors"].empty()) << check["errors"];
  EXPECT_GT(check["chunks_read"].get<uint64_t>(), 0u);
}

TEST_F(CliTest, BackupIdPrefixesResolveWhenUnique) {
  std::string img = dir_ / "img";
  MakeImage(img, "1M", 1);
  json b = Backup(img);
  std::string id = b["backup_id"];
  std::string out = dir_ / "out";
  RunResult r = Coffer({"restore", "--target", target_, id.substr(0, 8), out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(CompareFiles(img, out), "");
}

}  // namespace
}  // namespace coffer::testing
